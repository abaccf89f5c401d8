# lib-auth.sh: helpers for the smarthost auth, routing and TLS option
# tests (t61xx-t64xx); sourced after test-lib.sh and lib-mail.sh.

# start_oauth GRANTS [lib-oauth.py options...]: starts the test token
# endpoint (t/lib-oauth.py) with the test CA's localhost certificate.
# Sets OAUTH_PORT, OAUTH_PID, OAUTH_URL, OAUTH_LOG.
start_oauth() {
	_la_grants=$1; shift
	OAUTH_LOG=$TRASH/oauth.log
	_la_pf=$TRASH/oauth.port
	rm -f "$_la_pf"
	ensure_ca || return 1
	"$PYTHON" "$SRC/t/lib-oauth.py" --cert "$CA_DIR/server.pem" \
		--key "$CA_DIR/server.key" --grants "$_la_grants" \
		--log "$OAUTH_LOG" --port-file "$_la_pf" --parent-pid $$ "$@" \
		</dev/null >>"$TRASH/oauth.err" 2>&1 &
	OAUTH_PID=$!
	echo "$OAUTH_PID" >>"$_tl_pids"
	wait_for '[ -s "$_la_pf" ] || ! _tl_alive "$OAUTH_PID"' 10 2>/dev/null
	[ -s "$_la_pf" ] || { cat "$TRASH/oauth.err" >&2; return 1; }
	OAUTH_PORT=$(cat "$_la_pf")
	OAUTH_URL=https://localhost:$OAUTH_PORT/token
	export OAUTH_PORT OAUTH_PID OAUTH_URL OAUTH_LOG
}

# oauth_requests: how many token requests the endpoint answered.
oauth_requests() { [ -f "$OAUTH_LOG" ] && wc -l <"$OAUTH_LOG" | tr -d ' ' || echo 0; }

# mailq_reasons: the "(...)" lines of mailq, without their indentation.
mailq_reasons() { sm -bp | sed -n 's/^ *(\(.*\))$/\1/p'; }

# pubkey_pin PEM: the base64 SHA-256 of a certificate's public key, as
# pin_sha256 takes it.
pubkey_pin() {
	openssl x509 -in "$1" -pubkey -noout |
	openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64
}

# make_client_cert NAME CN: NAME.pem and NAME.key in $CA_DIR, a client
# certificate for CN issued by the test CA.
make_client_cert() {
	(
	cd "$CA_DIR" &&
	umask 077 &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
		-out "$1.key" 2>/dev/null &&
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null &&
	printf 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n' >"$1.ext" &&
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
		-CAcreateserial -CAserial "$1.srl" -sha256 -days 3650 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null &&
	rm -f "$1.csr" "$1.ext" "$1.srl"
	)
}
