#!/bin/sh
# demo.sh: "make demo". Sends one message through ./sendmail -t to a
# throwaway smarthost on 127.0.0.1 (STARTTLS with a certificate from a CA
# made on the spot, AUTH PLAIN) and shows what the smarthost received.
# Runs from the top of a built tree; leaves nothing behind.
set -u

cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd -P)
PYTHON=/usr/bin/python3

if [ ! -x "$SRC/sendmail" ]; then
	echo "demo: ./sendmail is not built (run make)" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/sendq-demo.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

fail() {
	echo "demo: $*" >&2
	if [ -s "$dir/smtpd.err" ]; then
		sed 's/^/demo: smtpd: /' "$dir/smtpd.err" >&2
	fi
	exit 1
}

sh "$SRC/t/mkca.sh" "$dir/ca" || fail "cannot make the test CA"

"$PYTHON" "$SRC/t/smtpd.py" --port-file "$dir/port" --spool "$dir/spool" \
	--log "$dir/smtpd.log" --tls starttls \
	--cert "$dir/ca/server.pem" --key "$dir/ca/server.key" \
	--auth-user demo --auth-password demo-password --parent-pid $$ \
	</dev/null >"$dir/smtpd.err" 2>&1 &
pid=$!
tries=100
while [ ! -s "$dir/port" ]; do
	kill -0 "$pid" 2>/dev/null || fail "the smarthost did not start"
	tries=$((tries - 1))
	[ $tries -gt 0 ] || fail "the smarthost did not start within 10 s"
	sleep 0.1
done
port=$(cat "$dir/port")

mkdir -p "$dir/queue"
cat >"$dir/sendq.ini" <<EOF
[smarthost]
host = localhost
port = $port
tls = starttls
ca_file = $dir/ca/ca.pem
user = demo
password = demo-password
[sender]
domain = example.com
[queue]
dir = $dir/queue
EOF
chmod 600 "$dir/sendq.ini"

echo "--- a smarthost listens on 127.0.0.1:$port (STARTTLS, AUTH); the config:"
sed 's/^password = .*/password = .../' "$dir/sendq.ini"
echo "--- running: ./sendmail -C sendq.ini -t -odi"
printf '%s\n' \
	"To: demo@example.com" \
	"Subject: sendq demo" \
	"" \
	"Hello from sendq." \
	"This message was queued, then relayed over STARTTLS with AUTH." |
	"$SRC/sendmail" -C "$dir/sendq.ini" -t -odi
rc=$?
echo "--- ./sendmail exited with $rc"

env=$dir/spool/0001.env
msg=$dir/spool/0001.eml
if [ ! -f "$msg" ]; then
	echo "--- the SMTP session, as the smarthost logged it:"
	cat "$dir/smtpd.log" 2>/dev/null
	fail "the smarthost received nothing"
fi

echo "--- the SMTP session, as the smarthost logged it (AUTH hidden):"
sed -n 's/^[0-9]* \([<>]\) /\1 /p' "$dir/smtpd.log"
echo "--- the smarthost received (envelope):"
"$PYTHON" "$SRC/t/smtpd.py" --show "$env"
tls=$("$PYTHON" "$SRC/t/smtpd.py" --show "$env" tls_version)
user=$("$PYTHON" "$SRC/t/smtpd.py" --show "$env" auth_user)
echo "(over ${tls:-no TLS}, authenticated as ${user:-nobody})"
echo "--- the smarthost received (message, exactly as on the wire):"
cat "$msg"
echo "--- end of message"
[ $rc -eq 0 ] || exit "$rc"
