#!/bin/sh

test_description='delivery modes: -odb (the default), -odi, -odq and sendmail -q'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf smarthost.timeout=20

msg() {
	printf 'From: Alice <alice@example.net>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

# mailq_masked: sendmail -bp with the queue id and the arrival time
# replaced.
mailq_masked() {
	sm -bp >.mailq &&
	sed -e 's/^[0-9A-F]\{18\} /QUEUEID            /' \
	    -e 's/[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]\{8\}/DATE               /' \
		.mailq
}

test_expect_success '-odi: delivered before sendmail exits' '
	msg odi | sm -odi a@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = 1 &&
	test "$(queued)" = 0 &&
	msg odi | crlf >expect &&
	test_cmp expect "$(received_msg 1)"
'

# The smarthost is stopped (SIGSTOP) while sendmail runs: the connection
# is accepted by the kernel but nothing is answered, so a sendmail that
# waited for delivery would hang. It must exit at once, with the message
# queued, and the background runner delivers it once the server goes on.
test_expect_success '-odb: exit 0 at once, the message arrives later' '
	kill -STOP "$SMTPD_PID" &&
	test_when_finished "kill -CONT $SMTPD_PID" &&
	msg odb | sm -odb a@example.org b@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(queued)" = 1 &&
	test "$(received_count)" = 1 &&
	kill -CONT "$SMTPD_PID" &&
	wait_for "test \$(received_count) = 2 && test \$(queued) = 0" 20 &&
	printf "%s\n" a@example.org b@example.org >expect &&
	received_field 2 rcpt_tos >actual &&
	test_cmp expect actual &&
	msg odb | crlf >expect &&
	test_cmp expect "$(received_msg 2)"
'

test_expect_success '-odb is the default, and does not hold the caller'"'"'s pipes' '
	out=$(msg default | sm a@example.org 2>&1) &&
	test -z "$out" &&
	wait_for "test \$(received_count) = 3 && test \$(queued) = 0" 20 &&
	msg default | crlf >expect &&
	test_cmp expect "$(received_msg 3)"
'

test_expect_success '-odq: only queued; mailq shows it' '
	msg odq | sm -odq -f sender@example.net a@example.org b@example.org &&
	test "$(queued)" = 1 &&
	mailq_masked >actual &&
	cat >expect <<-\EOF &&
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID                  124 DATE                  sender@example.net
	                                                    a@example.org
	                                                    b@example.org

	-- 1 Kbytes in 1 Request.
	EOF
	test_cmp expect actual &&
	test "$(received_count)" = 3 &&
	test "$(queued)" = 1
'

test_expect_success 'sendmail -q delivers the message never tried' '
	sm -q >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = 4 &&
	test "$(queued)" = 0 &&
	printf "%s\n" "MAIL FROM:<sender@example.net>" \
		"RCPT TO:<a@example.org>" "RCPT TO:<b@example.org>" >expect &&
	envelope 4 >actual &&
	test_cmp expect actual &&
	msg odq | crlf >expect &&
	test_cmp expect "$(received_msg 4)" &&
	sm -bp >actual &&
	echo "Mail queue is empty" >expect &&
	test_cmp expect actual
'

test_expect_success '-v waits for delivery even without -odi' '
	msg verbose | sm -v a@example.org 2>err &&
	test "$(received_count)" = 5 &&
	test "$(queued)" = 0 &&
	grep "^<<< 250 2.0.0 OK: queued as 0005" err
'

test_done
