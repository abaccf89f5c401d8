#!/bin/sh
# mkca.sh DIR: a throwaway PKI for the test smarthost.
#
#   ca.pem, ca.key          a test CA (what sendq is told to trust)
#   server.pem, server.key  a certificate for "localhost" (DNS:localhost,
#                           IP:127.0.0.1) signed by that CA
#   other-ca.pem            an unrelated self-signed CA
#   other.pem, other.key    a "localhost" certificate signed by the other CA,
#                           for the untrusted-certificate cases
#
# EC keys on prime256v1 keep this well under a second.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: mkca.sh DIR" >&2
	exit 64
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

umask 077
tmp=mkca.tmp.$$
trap 'rm -f "$tmp".*' EXIT

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
		-out "$1" 2>/dev/null
}

# ca NAME SUBJECT: a self-signed CA certificate NAME.pem with key NAME.key
ca() {
	newkey "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days 3650 \
		-subj "$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$1.pem" 2>/dev/null
}

# leaf NAME CA: a certificate for localhost, NAME.pem/NAME.key, signed by CA
leaf() {
	newkey "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=localhost" \
		-out "$tmp.csr" 2>/dev/null
	cat >"$tmp.ext" <<-EOF
	basicConstraints = critical,CA:FALSE
	keyUsage = critical,digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = DNS:localhost,IP:127.0.0.1
	EOF
	openssl x509 -req -in "$tmp.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -CAserial "$tmp.srl" -sha256 -days 3650 \
		-extfile "$tmp.ext" -out "$1.pem" 2>/dev/null
}

ca ca "/CN=sendq test CA"
leaf server ca
ca other-ca "/CN=sendq unrelated CA"
leaf other other-ca

# Certificates are public; the keys stay 0600.
chmod 644 ca.pem server.pem other-ca.pem other.pem
