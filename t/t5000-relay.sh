#!/bin/sh

test_description='relaying: a smarthost that is down, 4xx and 5xx replies, bounces, 100 recipients a transaction'
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

# queue_id: the id of the one message in the queue.
queue_id() { ls "$TRASH/queue/q"; }

# A port where nothing listens: a smarthost started and stopped.
start_smtpd
down_port=$SMTPD_PORT
stop_smtpd
write_conf

test_expect_success 'a smarthost that is down: exit 0, the message stays queued' '
	msg down | sm -odi -f sender@example.net a@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(queued)" = 1 &&
	mailq_masked >actual &&
	cat >expect <<-EOF &&
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID                  126 DATE                  sender@example.net
	                                                    (connect to localhost:$down_port: Connection refused)
	                                                    a@example.org

	-- 1 Kbytes in 1 Request.
	EOF
	test_cmp expect actual
'

: >script
start_smtpd --script "$TRASH/script"
write_conf

test_expect_success 'once it is back, the queued message is delivered' '
	sm -qI"$(queue_id)" &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 1 &&
	printf "%s\n" "MAIL FROM:<sender@example.net>" "RCPT TO:<a@example.org>" >expect &&
	envelope 1 >actual &&
	test_cmp expect actual &&
	msg down | crlf >expect &&
	test_cmp expect "$(received_msg 1)"
'

# bounce_summary N: what matters in the Nth message, a bounce: its
# envelope, its header fields and the lines of the report that name the
# recipient, the reply and the original message.
bounce_summary() {
	envelope "$1" &&
	tr -d '\r' <"$(received_msg "$1")" | grep -E \
		-e '^(From|To|Subject|Auto-Submitted|Content-Type|Final-Recipient|Action|Status|Diagnostic-Code): ' \
		-e '^<' -e '^Message-ID: <[^>]*@example.net>' -e 'report-type'
}

test_expect_success 'a recipient refused with 5xx: exit 69 with -odi, the others get it, a bounce' '
	echo "RCPT bob@example.org 550 5.1.1 No such user" >script &&
	msg reject | test_expect_code 69 sm -odi -f sender@example.net \
		a@example.org bob@example.org c@example.org &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 3 &&
	printf "%s\n" "MAIL FROM:<sender@example.net>" \
		"RCPT TO:<a@example.org>" "RCPT TO:<c@example.org>" >expect &&
	envelope 2 >actual &&
	test_cmp expect actual &&
	msg reject | crlf >expect &&
	test_cmp expect "$(received_msg 2)" &&
	bounce_summary 3 >actual &&
	cat >expect <<-\EOF &&
	MAIL FROM:<>
	RCPT TO:<sender@example.net>
	From: Mail Delivery System <MAILER-DAEMON@example.com>
	To: <sender@example.net>
	Subject: Undelivered Mail Returned to Sender
	Auto-Submitted: auto-replied
	Content-Type: multipart/report; report-type=delivery-status;
	Content-Type: text/plain; charset=us-ascii
	<bob@example.org>: 550 5.1.1 No such user
	Content-Type: message/delivery-status
	Final-Recipient: rfc822; bob@example.org
	Action: failed
	Status: 5.1.1
	Diagnostic-Code: smtp; 550 5.1.1 No such user
	Content-Type: text/rfc822-headers
	From: Alice <alice@example.net>
	Message-ID: <reject@example.net>
	Subject: reject
	EOF
	test_cmp expect actual
'

test_expect_success 'every recipient refused: exit 69, nothing delivered, one bounce' '
	echo "RCPT *@example.org 554 5.7.1 Relay denied" >script &&
	msg all | test_expect_code 69 sm -odi -f sender@example.net \
		a@example.org b@example.org &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 4 &&
	envelope 4 >actual &&
	printf "%s\n" "MAIL FROM:<>" "RCPT TO:<sender@example.net>" >expect &&
	test_cmp expect actual &&
	tr -d "\r" <"$(received_msg 4)" | grep "^Final-Recipient: " >actual &&
	printf "Final-Recipient: rfc822; %s\n" a@example.org b@example.org >expect &&
	test_cmp expect actual
'

test_expect_success 'a message refused after its data with 5xx: exit 69, a bounce' '
	echo "EOD a@example.org 554 5.6.0 Content rejected" >script &&
	msg content | test_expect_code 69 sm -odi -f sender@example.net a@example.org &&
	: >script &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 5 &&
	bounce_summary 5 | grep -e "^Diagnostic-Code" -e "^RCPT" >actual &&
	printf "%s\n" "RCPT TO:<sender@example.net>" \
		"Diagnostic-Code: smtp; 554 5.6.0 Content rejected" >expect &&
	test_cmp expect actual
'

test_expect_success 'a recipient deferred with 4xx stays queued, alone, and no bounce' '
	echo "RCPT later@example.org 452 4.2.2 Mailbox full" >script &&
	msg defer | sm -odi -f sender@example.net a@example.org later@example.org 2>err &&
	test ! -s err &&
	test "$(received_count)" = 6 &&
	echo a@example.org >expect &&
	received_field 6 rcpt_tos >actual &&
	test_cmp expect actual &&
	test "$(queued)" = 1 &&
	mailq_masked >actual &&
	cat >expect <<-EOF &&
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID                  128 DATE                  sender@example.net
	                                                    (452 4.2.2 Mailbox full)
	                                                    later@example.org

	-- 1 Kbytes in 1 Request.
	EOF
	test_cmp expect actual
'

test_expect_success 'the next run sends it to the deferred recipient only' '
	: >script &&
	sm -qI"$(queue_id)" &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 7 &&
	printf "%s\n" "MAIL FROM:<sender@example.net>" "RCPT TO:<later@example.org>" >expect &&
	envelope 7 >actual &&
	test_cmp expect actual &&
	msg defer | crlf >expect &&
	test_cmp expect "$(received_msg 7)"
'

test_expect_success 'a connection lost at the end of data: queued, not bounced' '
	echo "EOD * drop" >script &&
	msg dropped | sm -odi a@example.org &&
	: >script &&
	test "$(received_count)" = 7 &&
	test "$(queued)" = 1 &&
	sm -qI"$(queue_id)" &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 8 &&
	msg dropped | crlf >expect &&
	test_cmp expect "$(received_msg 8)"
'

test_expect_success '150 recipients: one connection, 100 and then 50 a transaction' '
	n=0 && rcpts= &&
	while [ $n -lt 150 ]; do
		n=$((n + 1)) && rcpts="$rcpts r$n@example.org" || exit 1
	done &&
	msg many | sm -odi $rcpts &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 10 &&
	for i in $rcpts; do echo $i; done >expect &&
	{ received_field 9 rcpt_tos && received_field 10 rcpt_tos; } >actual &&
	test_cmp expect actual &&
	test "$(received_field 9 connection)" = "$(received_field 10 connection)" &&
	test "$(received_field 9 transaction)" = 1 &&
	test "$(received_field 10 transaction)" = 2 &&
	msg many | crlf >expect &&
	test_cmp expect "$(received_msg 9)" &&
	test_cmp expect "$(received_msg 10)"
'

test_done
