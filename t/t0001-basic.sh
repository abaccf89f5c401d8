#!/bin/sh

test_description='one message from sendmail to the smarthost over STARTTLS with AUTH'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf

test_expect_success 'a message is queued, relayed and removed from the queue' '
	printf "To: Rcpt <rcpt@example.org>\nSubject: hello\n\nfirst line\nsecond line\n" |
	sm -odi rcpt@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = 1 &&
	crlf >expect <<-\EOF &&
	To: Rcpt <rcpt@example.org>
	Subject: hello
	From: root <root@example.com>

	first line
	second line
	EOF
	masked 1 >actual &&
	test_cmp expect actual &&
	check_stamps 1 &&
	test "$(queued)" = 0
'

test_expect_success 'the envelope: the caller at the sender domain, the recipient' '
	printf "%s\n" "MAIL FROM:<root@example.com>" "RCPT TO:<rcpt@example.org>" >expect &&
	envelope 1 >actual &&
	test_cmp expect actual
'

test_expect_success 'the message went over TLS, after AUTH, with one login' '
	test "$(received_field 1 tls)" = yes &&
	test "$(received_field 1 auth_user)" = test &&
	test "$(smtpd_connections)" = 1 &&
	test "$(smtpd_logins)" = 1 &&
	sed -n "s/^1 > \([A-Z][A-Z]*\).*/\1/p" "$SMTPD_LOG" >verbs &&
	printf "%s\n" EHLO STARTTLS EHLO AUTH MAIL RCPT DATA QUIT >expect &&
	test_cmp expect verbs
'

test_expect_success 'a message with Date, Message-ID and From arrives unchanged' '
	crlf >msg <<-\EOF &&
	From: Alice <alice@example.net>
	To: rcpt@example.org
	Date: Mon, 1 Jan 2024 00:00:00 +0000
	Message-ID: <fixed.1@example.net>
	Subject: complete

	body
	EOF
	sm -odi rcpt@example.org <msg &&
	test "$(received_count)" = 2 &&
	test_cmp msg "$(received_msg 2)"
'

test_expect_success 'mailq: the queue is empty again' '
	sm -bp >actual &&
	echo "Mail queue is empty" >expect &&
	test_cmp expect actual
'

test_done
