#!/bin/sh

test_description='per-sender routes (senders = ...) and rewrite_from'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"
. "$SRC/t/lib-auth.sh"

# msg FROM SUBJECT [EXTRA-HEADER]: a message with a fixed Date and
# Message-ID.
msg() {
	printf 'From: Bill <%s>\n' "$1"
	[ -z "${3:-}" ] || printf '%s\n' "$3"
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' \
		"$2" "$2"
}

count() { find "$1" -name '*.eml' | wc -l | tr -d ' '; }

start_smtpd
P1=$SMTPD_PORT S1=$SMTPD_SPOOL
start_smtpd
P2=$SMTPD_PORT S2=$SMTPD_SPOOL

# conf [LINES...]: [smarthost] is server 1; [smarthost billing], server 2,
# serves the billing senders; LINES go into [smarthost billing].
conf() {
	SMTPD_PORT=$P1 write_conf \
		"[smarthost billing]" "host = localhost" "port = $P2" \
		"ca_file = $CA_DIR/ca.pem" "user = test" \
		"password = test-password-1" \
		"senders = *@billing.example.com, ops@example.com" "$@"
}
conf

test_expect_success 'a sender that matches no route goes to [smarthost]' '
	msg alice@example.net one | sm -odi -f alice@example.net a@example.org &&
	test "$(count "$S1")" = 1 &&
	test "$(count "$S2")" = 0
'

test_expect_success 'senders match by glob, ignoring case' '
	msg x@billing.example.com two | sm -odi -f X@Billing.Example.COM a@example.org &&
	msg ops@example.com three | sm -odi -f ops@example.com a@example.org &&
	test "$(count "$S1")" = 1 &&
	test "$(count "$S2")" = 2 &&
	SMTPD_SPOOL=$S2 envelope 1 >actual &&
	printf "MAIL FROM:<X@Billing.Example.COM>\nRCPT TO:<a@example.org>\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'the null sender takes the default route' '
	msg mailer-daemon@example.com four | sm -odi -f "<>" a@example.org &&
	test "$(count "$S1")" = 2
'

test_expect_success 'rewrite_from = envelope: MAIL FROM is the account, the header stays' '
	conf "from = billing@example.com" "rewrite_from = envelope" &&
	msg x@billing.example.com five | sm -odi -f x@billing.example.com a@example.org &&
	test "$(count "$S2")" = 3 &&
	SMTPD_SPOOL=$S2 envelope 3 >actual &&
	printf "MAIL FROM:<billing@example.com>\nRCPT TO:<a@example.org>\n" >expect &&
	test_cmp expect actual &&
	SMTPD_SPOOL=$S2 masked 3 >actual &&
	msg x@billing.example.com five | sed -e "/^Date: /d" -e "/^Message-ID: /d" | crlf >expect &&
	test_cmp expect actual
'

test_expect_success 'rewrite_from = header: From is the account, the original is Reply-To' '
	conf "from = billing@example.com" "rewrite_from = header" &&
	msg x@billing.example.com six | sm -odi -f x@billing.example.com a@example.org &&
	SMTPD_SPOOL=$S2 envelope 4 >actual &&
	printf "MAIL FROM:<x@billing.example.com>\nRCPT TO:<a@example.org>\n" >expect &&
	test_cmp expect actual &&
	SMTPD_SPOOL=$S2 masked 4 >actual &&
	printf "From: billing@example.com\nReply-To: Bill <x@billing.example.com>\nSubject: six\n\nbody\n" | crlf >expect &&
	test_cmp expect actual
'

test_expect_success 'rewrite_from = header keeps a Reply-To that is there' '
	msg x@billing.example.com seven "Reply-To: desk@example.com" |
		sm -odi -f x@billing.example.com a@example.org &&
	SMTPD_SPOOL=$S2 masked 5 >actual &&
	printf "From: billing@example.com\nReply-To: desk@example.com\nSubject: seven\n\nbody\n" | crlf >expect &&
	test_cmp expect actual
'

test_expect_success 'rewrite_from = both, with the account from user' '
	conf "rewrite_from = both" &&
	sed -i "s/^user = test$/user = test@example.com/" "$SENDQ_INI" &&
	msg x@billing.example.com eight | sm -odi -f x@billing.example.com a@example.org &&
	test "$(queued)" = 1 &&
	sm -bp | grep -q "535" &&
	conf "from = billing@example.com" "rewrite_from = both" &&
	sm -qI"$(ls queue/q)" &&
	test "$(queued)" = 0 &&
	SMTPD_SPOOL=$S2 envelope 6 >actual &&
	printf "MAIL FROM:<billing@example.com>\nRCPT TO:<a@example.org>\n" >expect &&
	test_cmp expect actual &&
	SMTPD_SPOOL=$S2 masked 6 >actual &&
	printf "From: billing@example.com\nReply-To: Bill <x@billing.example.com>\nSubject: eight\n\nbody\n" | crlf >expect &&
	test_cmp expect actual
'

test_expect_success 'a long or 8-bit message is rewritten and re-encoded together' '
	{ msg x@billing.example.com nine | sed "\$d" && printf "%01200d\n" 0; } |
		sm -odi -f x@billing.example.com a@example.org &&
	SMTPD_SPOOL=$S2 masked 7 | tr -d "\r" | sed -n "1,2p" >actual &&
	printf "From: billing@example.com\nReply-To: Bill <x@billing.example.com>\n" >expect &&
	test_cmp expect actual &&
	SMTPD_SPOOL=$S2 masked 7 | awk "length > 1000" >long &&
	test ! -s long
'

test_expect_success 'a bounce is not rewritten: its null sender stays' '
	msg mailer-daemon@example.com ten | sm -odi -f "<>" ops@example.com &&
	test "$(count "$S1")" = 3
'

test_done
