#!/bin/sh

test_description='TLS options: pin_sha256, client certificates, SASL EXTERNAL, tls_min'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"
. "$SRC/t/lib-auth.sh"

command -v openssl >/dev/null || test_skip_all "openssl is not installed"

msg() {
	printf 'From: Alice <sender@example.net>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

start_smtpd
make_client_cert client sendq-client || exit 1
PIN=$(pubkey_pin "$CA_DIR/server.pem")
OTHER_PIN=$(pubkey_pin "$CA_DIR/other.pem")

test_expect_success 'pin_sha256 matching the server key: delivered' '
	write_conf "smarthost.pin_sha256=$PIN" &&
	msg pinned | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	test "$(queued)" = 0
'

test_expect_success 'one of several pins matching is enough' '
	write_conf "smarthost.pin_sha256=$OTHER_PIN, sha256//$PIN" &&
	msg pinned2 | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 2
'

test_expect_success 'a wrong pin: nothing sent, deferred with the reason' '
	write_conf "smarthost.pin_sha256=$OTHER_PIN" &&
	logins=$(smtpd_logins) &&
	msg wrongpin | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 2 &&
	test "$(smtpd_logins)" = "$logins" &&
	test "$(queued)" = 1 &&
	mailq_reasons >actual &&
	echo "TLS: localhost:$SMTPD_PORT: the server'"'"'s public key does not match pin_sha256" >expect &&
	test_cmp expect actual &&
	empty_queue
'

test_expect_success 'tls_min = 1.3: the session is TLS 1.3' '
	write_conf smarthost.tls_min=1.3 &&
	msg tls13 | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 3 &&
	test "$(received_field 3 tls_version)" = TLSv1.3
'
stop_smtpd

start_smtpd --require-client-cert "$CA_DIR/ca.pem"

test_expect_success 'a required client certificate, presented: delivered' '
	write_conf "smarthost.client_cert=$CA_DIR/client.pem" \
		"smarthost.client_key=$CA_DIR/client.key" &&
	msg cert | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	grep -q "^[0-9]* \* tls client sendq-client$" "$SMTPD_LOG"
'

test_expect_success 'a required client certificate, missing: nothing sent, deferred' '
	write_conf &&
	msg nocert | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	test "$(queued)" = 1 &&
	mailq_reasons >actual &&
	grep "^localhost:$SMTPD_PORT: \|^TLS: " actual &&
	empty_queue
'

test_expect_success 'client_cert and client_key in one file' '
	cat "$CA_DIR/client.pem" "$CA_DIR/client.key" >both.pem &&
	chmod 600 both.pem &&
	write_conf "smarthost.client_cert=$TRASH/both.pem" &&
	msg onefile | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 2
'
stop_smtpd

start_smtpd --require-client-cert "$CA_DIR/ca.pem" --auth-external

test_expect_success 'auth = external logs in with the certificate, no password' '
	write_conf smarthost.user= smarthost.password= smarthost.auth=external \
		"smarthost.client_cert=$CA_DIR/client.pem" \
		"smarthost.client_key=$CA_DIR/client.key" &&
	msg external | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	test "$(received_field 1 auth_user)" = sendq-client &&
	grep "^[0-9]* > AUTH" "$SMTPD_LOG" | sed "s/^[0-9]* > //" >actual &&
	echo "AUTH EXTERNAL ***" >expect &&
	test_cmp expect actual
'

test_done
