#!/bin/sh

test_description='the test library and the scripted smarthost'
. "$(dirname "$0")/test-lib.sh"

# A small SMTP client (Python's smtplib), so that the harness is tested
# without sendq. It prints one line per reply, "STAGE CODE TEXT", and exits
# 0 when the message was accepted, 1 when something was refused, 3 when the
# server hung up.
cat >client.py <<'EOF'
import argparse, smtplib, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--tls", default="starttls")
p.add_argument("--ca", required=True)
p.add_argument("--user")
p.add_argument("--password")
p.add_argument("--mech", default="PLAIN")
p.add_argument("--cmd", action="append", default=[])
p.add_argument("--ehlo-only", action="store_true")
p.add_argument("--from", dest="sender")
p.add_argument("--mail-opt", action="append", default=[])
p.add_argument("--rcpt-opt", action="append", default=[])
p.add_argument("--to", action="append", default=[])
p.add_argument("--wire", help="DATA bytes as sent, dot-stuffed, no final dot")
a = p.parse_args()

def say(stage, reply):
    code, text = reply
    print(stage, code, text.decode().replace("\n", " | "))

ctx = ssl.create_default_context(cafile=a.ca)
status = 0
try:
    if a.tls == "implicit":
        s = smtplib.SMTP_SSL("localhost", a.port, context=ctx)
    else:
        s = smtplib.SMTP("localhost", a.port)
    s.ehlo("client.example")
    if a.tls == "starttls":
        say("STARTTLS", s.starttls(context=ctx))
        s.ehlo("client.example")
    if a.ehlo_only:
        print(" ".join(sorted(s.esmtp_features)))
        s.quit()
        sys.exit(0)
    if a.user:
        s.user, s.password = a.user, a.password
        auth = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[a.mech]
        try:
            say("AUTH", s.auth(a.mech, auth, initial_response_ok=True))
        except smtplib.SMTPAuthenticationError as e:
            say("AUTH", (e.smtp_code, e.smtp_error))
            status = 1
    for c in a.cmd:
        reply = s.docmd(c)
        say(c.split()[0], reply)
        status = status or (reply[0] >= 400)
    if a.sender is not None:
        r = s.mail(a.sender, a.mail_opt)
        say("MAIL", r)
        ok = r[0] == 250
        accepted = 0
        for rcpt in a.to if ok else []:
            r = s.rcpt(rcpt, a.rcpt_opt)
            say("RCPT", r)
            accepted += r[0] == 250
            status = status or r[0] != 250
        if ok and accepted:
            r = s.docmd("DATA")
            say("DATA", r)
            if r[0] == 354:
                with open(a.wire, "rb") as f:
                    s.send(f.read() + b".\r\n")
                r = s.getreply()
                say("EOD", r)
                status = status or r[0] != 250
        else:
            status = 1
    s.quit()
except smtplib.SMTPConnectError as e:
    say("GREETING", (e.smtp_code, e.smtp_error))
    sys.exit(1)
except smtplib.SMTPServerDisconnected as e:
    print("disconnected")
    sys.exit(3)
except smtplib.SMTPNotSupportedError as e:
    print("not supported:", e)
    sys.exit(1)
sys.exit(1 if status else 0)
EOF

# Two messages in one session.
cat >two.py <<EOF
import smtplib, ssl, sys
s = smtplib.SMTP("localhost", int(sys.argv[1]))
s.starttls(context=ssl.create_default_context(cafile="$CA_DIR/ca.pem"))
s.login("test", "test-password-1")
s.sendmail("a@example.com", ["b@example.com"], b"Subject: 1\r\n\r\none\r\n")
s.sendmail("a@example.com", ["b@example.com"], b"Subject: 2\r\n\r\ntwo\r\n")
s.quit()
EOF

# PIPELINING by hand, on a server without TLS: AUTH to DATA in one write,
# then the message and QUIT in another. Prints the last line of each reply.
cat >pipe.py <<'EOF'
import base64, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode()
        if line[3:4] != "-":
            return line.strip()
print(reply())
s.sendall(b"EHLO pipe.example\r\n")
reply()
auth = base64.b64encode(b"\0test\0test-password-1")
s.sendall(b"AUTH PLAIN " + auth + b"\r\nMAIL FROM:<p@example.com>\r\n"
          b"RCPT TO:<q@example.com>\r\nRCPT TO:<r@example.com>\r\nDATA\r\n")
for i in range(5):
    print(reply())
s.sendall(b"Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
print(reply())
print(reply())
EOF

client() {
	"$PYTHON" "$TRASH/client.py" --port "$SMTPD_PORT" --ca "$CA_DIR/ca.pem" "$@"
}

# Over the wire: a leading dot (stuffed), a line of two dots, a bare LF, a
# bare CR, a bare LF before a dot (not an end of data), an 8-bit byte.
printf 'Subject: t\r\n\r\n..leading dot\r\n...two\r\nbare\nLF\r\nbare\rCR\r\nx\n.\r\nutf8 \303\251\r\n' >wire
printf 'Subject: t\r\n\r\n.leading dot\r\n..two\r\nbare\nLF\r\nbare\rCR\r\nx\n.\r\nutf8 \303\251\r\n' >expect.eml

start_smtpd

test_expect_success 'STARTTLS and AUTH PLAIN: the exact bytes are stored' '
	client --user test --password test-password-1 \
		--from a@example.com --to b@example.com --to c@example.com \
		--wire wire >out &&
	cat >expect <<-EOF &&
	STARTTLS 220 2.0.0 Ready to start TLS
	AUTH 235 2.7.0 Authentication successful
	MAIL 250 2.1.0 OK
	RCPT 250 2.1.5 OK
	RCPT 250 2.1.5 OK
	DATA 354 End data with <CR><LF>.<CR><LF>
	EOD 250 2.0.0 OK: queued as 0001
	EOF
	test_cmp expect out &&
	test "$(received_count)" = 1 &&
	cmp expect.eml "$(received_msg 1)" &&
	printf "%s\n" "MAIL FROM:<a@example.com>" "RCPT TO:<b@example.com>" \
		"RCPT TO:<c@example.com>" >expect &&
	received_envelope 1 >out &&
	test_cmp expect out &&
	test "$(received_field 1 tls)" = yes &&
	test "$(received_field 1 auth_user)" = test &&
	test "$(received_field 1 ehlo)" = client.example &&
	test "$(received_field 1 connection)" = 1
'

test_expect_success 'AUTH LOGIN works too, with a second message' '
	client --user test --password test-password-1 --mech LOGIN \
		--from "" --to b@example.com --wire wire >out &&
	grep "^AUTH 235 " out &&
	test "$(received_count)" = 2 &&
	test "$(received_field 2 mail_from)" = "" &&
	cmp expect.eml "$(received_msg 2)"
'

test_expect_success 'AUTH is neither offered nor accepted before STARTTLS' '
	client --tls none --ehlo-only >out &&
	echo "8bitmime dsn enhancedstatuscodes help pipelining size smtputf8 starttls" >expect &&
	test_cmp expect out &&
	test_expect_code 1 client --tls none \
		--cmd "AUTH PLAIN AHRlc3QAdGVzdC1wYXNzd29yZC0x" >out &&
	echo "AUTH 538 5.7.11 Encryption required for requested authentication mechanism" >expect &&
	test_cmp expect out
'

test_expect_success 'no MAIL without AUTH; a wrong password is refused' '
	test_expect_code 1 client --from a@example.com --to b@example.com \
		--wire wire >out &&
	grep "^MAIL 530 5.7.0 Authentication required" out &&
	test_expect_code 1 client --user test --password wrong \
		--from a@example.com --to b@example.com --wire wire >out &&
	grep "^AUTH 535 5.7.8 " out &&
	grep "^MAIL 530 " out &&
	test "$(received_count)" = 2
'

test_expect_success 'DSN, 8BITMIME and SMTPUTF8 parameters are kept as sent' '
	client --user test --password test-password-1 \
		--mail-opt BODY=8BITMIME --mail-opt SMTPUTF8 --mail-opt RET=HDRS \
		--mail-opt ENVID=Q123abc --rcpt-opt NOTIFY=FAILURE,DELAY \
		--rcpt-opt "ORCPT=rfc822;b@example.com" \
		--from a@example.com --to b@example.com --wire wire &&
	printf "%s\n" \
		"MAIL FROM:<a@example.com> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=Q123abc" \
		"RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com" \
		>expect &&
	received_envelope 3 >out &&
	test_cmp expect out &&
	test_expect_code 1 client --user test --password test-password-1 \
		--mail-opt XFOO=1 --from a@example.com --to b@example.com \
		--wire wire >out &&
	grep "^MAIL 555 " out
'

test_expect_success 'the log counts connections and logins, and hides AUTH' '
	test "$(smtpd_connections)" = 8 &&
	test "$(smtpd_logins)" = 4 &&
	test "$(grep -c "auth failed test" "$SMTPD_LOG")" = 1 &&
	grep "^1 > AUTH PLAIN \*\*\*$" "$SMTPD_LOG" &&
	grep "^2 > \*\*\*$" "$SMTPD_LOG" &&
	! grep "test-password-1" "$SMTPD_LOG" &&
	! grep "dGVzdC1wYXNzd29yZC0x" "$SMTPD_LOG" &&
	grep "^1 > \[message: " "$SMTPD_LOG"
'

test_expect_success 'two messages over one connection' '
	"$PYTHON" "$TRASH/two.py" "$SMTPD_PORT" &&
	test "$(received_count)" = 5 &&
	test "$(received_field 4 connection)" = 9 &&
	test "$(received_field 5 connection)" = 9 &&
	test "$(received_field 4 transaction)" = 1 &&
	test "$(received_field 5 transaction)" = 2 &&
	printf "Subject: 2\r\n\r\ntwo\r\n" >expect &&
	cmp expect "$(received_msg 5)"
'

test_expect_success 'SIGTERM stops the server cleanly' '
	stop_smtpd &&
	test_must_fail client --tls none --ehlo-only 2>err
'

start_smtpd --no-starttls --auth-cleartext

test_expect_success '--no-starttls: no STARTTLS, and AUTH only if allowed' '
	client --tls none --ehlo-only >out &&
	echo "8bitmime auth dsn enhancedstatuscodes help pipelining size smtputf8" >expect &&
	test_cmp expect out &&
	test_expect_code 1 client --tls none --cmd STARTTLS >out &&
	echo "STARTTLS 454 4.0.0 TLS not available" >expect &&
	test_cmp expect out &&
	client --tls none --user test --password test-password-1 \
		--from a@example.com --to b@example.com --wire wire &&
	test "$(received_field 1 tls)" = no
'

test_expect_success 'PIPELINING: commands sent together, message with QUIT' '
	"$PYTHON" "$TRASH/pipe.py" "$SMTPD_PORT" >out &&
	cat >expect <<-\EOF &&
	220 localhost ESMTP sendq test smarthost
	235 2.7.0 Authentication successful
	250 2.1.0 OK
	250 2.1.5 OK
	250 2.1.5 OK
	354 End data with <CR><LF>.<CR><LF>
	250 2.0.0 OK: queued as 0002
	221 2.0.0 Bye
	EOF
	test_cmp expect out &&
	printf "%s\n" "MAIL FROM:<p@example.com>" "RCPT TO:<q@example.com>" \
		"RCPT TO:<r@example.com>" >expect &&
	received_envelope 2 >out &&
	test_cmp expect out
'

test_expect_success 'lines of up to 998 octets pass, longer ones are refused' '
	{
		printf "Subject: long\r\n\r\n" &&
		awk "BEGIN { while (n++ < 998) printf \"x\"; printf \"\r\n\" }" &&
		awk "BEGIN { while (n++ < 998) printf \".\"; printf \"\r\n\" }"
	} >expect.long &&
	sed "s/^\./../" expect.long >wire.long &&
	client --tls none --user test --password test-password-1 \
		--from a@example.com --to b@example.com --wire wire.long &&
	cmp expect.long "$(received_msg 3)" &&
	awk "BEGIN { while (n++ < 1000) printf \"y\"; printf \"\r\n\" }" >wire.toolong &&
	test_expect_code 1 client --tls none --user test \
		--password test-password-1 --from a@example.com \
		--to b@example.com --wire wire.toolong >out &&
	grep "^EOD 500 " out &&
	test "$(received_count)" = 3
'
stop_smtpd

cat >script <<EOF
# refuse one recipient, always
RCPT bob@example.com 550 5.1.1 No such user
# the first MAIL from try@ is deferred, the second accepted
MAIL try@example.com 451 4.3.0 try later x1
MAIL drop@example.com drop
DATA data-drop@example.com drop
EOD eod@example.com 452 4.3.1 full
EHLO bye.example 421 4.3.2 bye
EOF
start_smtpd --no-auth --script "$TRASH/script"

test_expect_success 'a scripted 550 refuses one recipient, the other gets it' '
	test_expect_code 1 client --from a@example.com --to bob@example.com \
		--to carol@example.com --wire wire >out &&
	grep "^RCPT 550 5.1.1 No such user$" out &&
	grep "^EOD 250 " out &&
	printf "%s\n" "MAIL FROM:<a@example.com>" "RCPT TO:<carol@example.com>" \
		>expect &&
	received_envelope 1 >out &&
	test_cmp expect out &&
	test "$(received_field 1 auth_user)" = ""
'

test_expect_success 'xN: a rule fires only N times' '
	test_expect_code 1 client --from try@example.com --to a@example.com \
		--wire wire >out &&
	grep "^MAIL 451 4.3.0 try later$" out &&
	client --from try@example.com --to a@example.com --wire wire &&
	test "$(received_count)" = 2
'

test_expect_success 'a connection dropped at MAIL or at DATA stores nothing' '
	test_expect_code 3 client --from drop@example.com --to a@example.com \
		--wire wire &&
	test_expect_code 3 client --from data-drop@example.com \
		--to a@example.com --wire wire >out &&
	grep "^RCPT 250 " out &&
	! grep "^DATA" out &&
	test "$(received_count)" = 2 &&
	test "$(grep -c "^[0-9]* \* drop$" "$SMTPD_LOG")" = 2
'

test_expect_success 'a refusal after the final dot stores nothing' '
	test_expect_code 1 client --from eod@example.com --to a@example.com \
		--wire wire >out &&
	grep "^EOD 452 4.3.1 full$" out &&
	test "$(received_count)" = 2
'

test_expect_success 'a 421 reply closes the connection' '
	test_expect_code 3 "$PYTHON" -c "
import smtplib, sys
s = smtplib.SMTP(\"localhost\", $SMTPD_PORT, local_hostname=\"bye.example\")
print(s.ehlo())
try:
    s.noop()
except smtplib.SMTPServerDisconnected:
    sys.exit(3)
" >out &&
	grep "421" out
'

test_expect_success 'the script is read again when it changes' '
	echo "GREETING * 421 4.3.2 busy x1" >>"$TRASH/script" &&
	test_expect_code 1 client --tls none --ehlo-only >out &&
	echo "GREETING 421 4.3.2 busy" >expect &&
	test_cmp expect out &&
	client --tls none --ehlo-only
'
stop_smtpd

start_smtpd --tls implicit

test_expect_success 'implicit TLS' '
	client --tls implicit --user test --password test-password-1 \
		--from a@example.com --to b@example.com --wire wire >out &&
	grep "^EOD 250 " out &&
	test "$(received_field 1 tls)" = yes &&
	test "$(received_field 1 auth_user)" = test &&
	cmp expect.eml "$(received_msg 1)" &&
	grep "^1 \* connect TLSv1" "$SMTPD_LOG"
'

test_expect_success 'a certificate from another CA is not trusted' '
	test_must_fail "$PYTHON" "$TRASH/client.py" --port "$SMTPD_PORT" \
		--ca "$CA_DIR/other-ca.pem" --tls implicit --ehlo-only 2>err &&
	grep CERTIFICATE_VERIFY_FAILED err
'

stop_smtpd

start_smtpd --cert "$CA_DIR/other.pem" --key "$CA_DIR/other.key"

test_expect_success 'STARTTLS with an untrusted certificate fails, and is logged' '
	test_must_fail client --ehlo-only 2>err &&
	grep CERTIFICATE_VERIFY_FAILED err &&
	grep "^1 \* tls failed: .*UNKNOWN_CA" "$SMTPD_LOG" &&
	test ! -s "$TRASH/smtpd.$_tl_smtpd_n.err"
'
stop_smtpd

test_expect_success 'test_cmp fails on a difference, test_must_fail sees it' '
	echo one >a && echo two >b &&
	test_must_fail test_cmp a b >out &&
	grep "^-one" out &&
	test_cmp a a
'

test_expect_success 'test_must_fail refuses a success and a signal' '
	! test_must_fail true 2>err &&
	! test_must_fail sh -c "kill -TERM \$\$" 2>err &&
	grep signal err
'

# The library run on scripts of its own, in a copy of t/ under the trash.
mkdir -p sub/t
cp "$SRC/t/test-lib.sh" "$SRC/t/smtpd.py" "$SRC/t/mkca.sh" sub/t/

test_expect_success 'a failing test: TAP, set -e, exit status, trash kept' '
	cat >sub/t/tfail.sh <<-\EOF &&
	. "$(dirname "$0")/test-lib.sh"
	start_smtpd --tls none --no-auth
	echo "$SMTPD_PID" >"$SRC/pid"
	test_expect_success "passes" "true"
	test_expect_success "fails" "echo some output; false; touch \"\$SRC/reached\""
	test_expect_failure "known breakage" "false"
	test_expect_failure "fixed breakage" "true"
	test_done
	EOF
	test_expect_code 1 sh sub/t/tfail.sh >out &&
	cat >expect <<-EOF &&
	ok 1 - passes
	not ok 2 - fails
	#	echo some output; false; touch "\$SRC/reached"
	# output:
	# some output
	not ok 3 - known breakage # TODO known breakage
	ok 4 - fixed breakage # TODO known breakage vanished
	1..4
	# failed 1 of 4; trash directory kept: $TRASH/sub/t/trash.tfail
	EOF
	test_cmp expect out &&
	test ! -e sub/reached &&
	test -d sub/t/trash.tfail &&
	! kill -0 "$(cat sub/pid)" 2>/dev/null
'

test_expect_success 'a passing script removes its trash directory' '
	cat >sub/t/tpass.sh <<-\EOF &&
	. "$(dirname "$0")/test-lib.sh"
	test_expect_success "passes" "test \"\$(pwd)\" = \"\$TRASH\" && test \"\$HOME\" = \"\$TRASH\""
	test_done
	EOF
	sh sub/t/tpass.sh >out &&
	printf "%s\n" "ok 1 - passes" "1..1" >expect &&
	test_cmp expect out &&
	test ! -e sub/t/trash.tpass
'

test_expect_success 'a script that dies early leaves no server running' '
	cat >sub/t/tdie.sh <<-\EOF &&
	. "$(dirname "$0")/test-lib.sh"
	start_smtpd
	echo "$SMTPD_PID" >"$SRC/pid"
	exit 3
	EOF
	test_expect_code 3 sh sub/t/tdie.sh >out &&
	grep "exited early (3); trash kept" out &&
	! kill -0 "$(cat sub/pid)" 2>/dev/null
'

test_expect_success 'test_skip_all' '
	cat >sub/t/tskip.sh <<-\EOF &&
	. "$(dirname "$0")/test-lib.sh"
	test_skip_all "no reason"
	EOF
	sh sub/t/tskip.sh >out &&
	echo "1..0 # SKIP no reason" >expect &&
	test_cmp expect out &&
	test ! -e sub/t/trash.tskip
'

test_expect_success 'test_when_finished runs after the test' '
	test_when_finished "rm -f cleanup-me" &&
	: >cleanup-me
'

test_expect_success 'test_when_finished did its job' '
	test ! -e cleanup-me
'

test_expect_success 'wait_for gives up after its timeout' '
	test_must_fail wait_for false 1 2>err &&
	grep "not true after 1 s" err &&
	wait_for "test -e $TRASH/wire" 1
'

test_expect_success 'write_conf writes the defaults and applies changes' '
	write_conf smarthost.timeout=5 smarthost.user= smarthost.password= \
		aliases.root=ops@example.com "; the end" &&
	cat >expect <<-EOF &&
	[smarthost]
	host = localhost
	port = $SMTPD_PORT
	tls = starttls
	ca_file = $CA_DIR/ca.pem
	timeout = 5
	[sender]
	domain = example.com
	[queue]
	dir = $TRASH/queue
	[aliases]
	root = ops@example.com
	; the end
	EOF
	test_cmp expect "$SENDQ_INI" &&
	test -d "$TRASH/queue"
'

test_done
