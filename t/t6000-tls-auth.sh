#!/bin/sh

test_description='TLS and AUTH: no cleartext fallback, verified certificates, implicit TLS, bad passwords'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

msg() {
	printf 'From: Alice <alice@example.net>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

# mailq_masked: sendmail -bp with the queue id and the arrival time
# replaced.
mailq_masked() {
	sm -bp >.mailq &&
	sed -e 's/^[0-9A-F]\{18\}/QUEUEID           /' \
	    -e 's/[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]\{8\}/DATE               /' \
		.mailq
}

# client_commands: the commands the last server received, as its log has
# them, without the connection number (and without the "[message: N
# bytes]" lines).
client_commands() { sed -n 's/^[0-9]* > \([^[]\)/\1/p' "$SMTPD_LOG"; }

# mailq_one NAME REPLY: the listing of one queued message, msg NAME, from
# sender@example.net to a@example.org, with REPLY as its last error.
mailq_one() {
	_size=$(msg "$1" | crlf | wc -c) &&
	cat <<-EOF
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID             $(printf %8d $_size) DATE                  sender@example.net
	                                                    ($2)
	                                                    a@example.org

	-- 1 Kbytes in 1 Request.
	EOF
}

start_smtpd --no-starttls --auth-cleartext
write_conf smarthost.helo=client.example

test_expect_success 'a server without STARTTLS: nothing is sent in clear, the message waits' '
	msg clear | sm -odi -f sender@example.net a@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = 0 &&
	test "$(queued)" = 1 &&
	echo "EHLO client.example" >expect &&
	client_commands | grep -v "^QUIT$" >actual &&
	test_cmp expect actual &&
	! grep -e "auth" -e "test-password-1" -e "dGVzdC1wYXNzd29yZC0x" \
		-e "AHRlc3QAdGVzdC1wYXNzd29yZC0x" "$SMTPD_LOG" &&
	mailq_masked >actual &&
	mailq_one clear "localhost:$SMTPD_PORT: server does not offer STARTTLS (never sending in clear)" >expect &&
	test_cmp expect actual
'

test_expect_success 'a queue run does not send it in clear either' '
	sm -qI"$(ls queue/q)" &&
	test "$(received_count)" = 0 &&
	test "$(queued)" = 1 &&
	client_commands | grep -v "^QUIT$" >actual &&
	printf "EHLO client.example\nEHLO client.example\n" >expect &&
	test_cmp expect actual
'
stop_smtpd
empty_queue

start_smtpd --cert "$CA_DIR/other.pem" --key "$CA_DIR/other.key"
write_conf smarthost.helo=client.example

test_expect_success 'STARTTLS with an untrusted certificate: not delivered, the message waits' '
	msg untrusted | sm -odi -f sender@example.net a@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = 0 &&
	test "$(queued)" = 1 &&
	printf "EHLO client.example\nSTARTTLS\n" >expect &&
	client_commands >actual &&
	test_cmp expect actual &&
	grep "^1 \* tls failed: .*UNKNOWN_CA" "$SMTPD_LOG" &&
	mailq_masked >actual &&
	mailq_one untrusted "TLS: certificate verify failed: SSL certificate problem: unable to get local issuer certificate" >expect &&
	test_cmp expect actual
'
stop_smtpd
empty_queue

start_smtpd --tls implicit --cert "$CA_DIR/other.pem" --key "$CA_DIR/other.key"
write_conf smarthost.helo=client.example smarthost.tls=implicit

test_expect_success 'implicit TLS with an untrusted certificate: not delivered either' '
	msg untrusted | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 0 &&
	test "$(queued)" = 1 &&
	client_commands >actual &&
	test ! -s actual
'
stop_smtpd
empty_queue

start_smtpd --tls implicit
write_conf smarthost.helo=client.example smarthost.tls=implicit

test_expect_success 'implicit TLS: delivered, encrypted from the first byte, with AUTH' '
	msg implicit | sm -odi -f sender@example.net a@example.org &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 1 &&
	test "$(received_field 1 tls)" = yes &&
	test "$(received_field 1 auth_user)" = test &&
	grep "^1 \* connect TLSv1" "$SMTPD_LOG" &&
	client_commands | sed "s/ .*//" >actual &&
	printf "%s\n" EHLO AUTH MAIL RCPT DATA QUIT >expect &&
	test_cmp expect actual &&
	msg implicit | crlf >expect &&
	test_cmp expect "$(received_msg 1)"
'

test_expect_success 'tls = starttls against an implicit TLS server: not delivered' '
	write_conf smarthost.helo=client.example smarthost.timeout=2 &&
	msg mismatch | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	test "$(queued)" = 1
'
stop_smtpd
empty_queue

start_smtpd
write_conf smarthost.helo=client.example smarthost.password=wrong-password

test_expect_success 'a wrong password: the message waits, and is not bounced' '
	msg badpass | sm -odi -f sender@example.net a@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = 0 &&
	test "$(queued)" = 1 &&
	test -z "$(ls queue/failed 2>/dev/null)" &&
	client_commands >actual &&
	printf "%s\n" "EHLO client.example" STARTTLS "EHLO client.example" \
		"AUTH PLAIN ***" >expect &&
	test_cmp expect actual &&
	grep "^1 \* auth failed test$" "$SMTPD_LOG" &&
	mailq_masked >actual &&
	mailq_one badpass "535 5.7.8 Authentication credentials invalid" >expect &&
	test_cmp expect actual
'

test_expect_success 'with the right password from a password_file, it goes out' '
	printf "test-password-1\nsecond line\n" >password &&
	chmod 600 password &&
	write_conf smarthost.helo=client.example smarthost.password= \
		smarthost.password_file="$TRASH/password" &&
	sm -qI"$(ls queue/q)" &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 1 &&
	test "$(received_field 1 auth_user)" = test &&
	msg badpass | crlf >expect &&
	test_cmp expect "$(received_msg 1)"
'

test_expect_success '-v shows neither the password nor its base64' '
	msg verbose | sm -odi -v a@example.org >out 2>err &&
	test "$(received_count)" = 2 &&
	grep "^>>> AUTH \*\*\*$" err &&
	! grep -e test-password-1 -e AHRlc3QAdGVzdC1wYXNzd29yZC0x \
		-e dGVzdC1wYXNzd29yZC0x -e "^>>> AUTH [^*]" out err
'
stop_smtpd

start_smtpd --no-auth
write_conf smarthost.helo=client.example smarthost.user= smarthost.password=

test_expect_success 'no user in the configuration: no AUTH, still over TLS' '
	msg noauth | sm -odi a@example.org &&
	test "$(received_count)" = 1 &&
	test "$(received_field 1 tls)" = yes &&
	test -z "$(received_field 1 auth_user)" &&
	client_commands | sed "s/ .*//" >actual &&
	printf "%s\n" EHLO STARTTLS EHLO MAIL RCPT DATA QUIT >expect &&
	test_cmp expect actual
'
stop_smtpd

test_done
