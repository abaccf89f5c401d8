#!/bin/sh

test_description='bounces (RFC 3464), failed/, the retry schedule and the queue lifetime'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-queue.sh"

cat >script <<\EOF
RCPT *@bad.example 550 5.1.1 <no such user>
RCPT *@later.example 451 4.3.0 try later
RCPT *@fussy.example 451 4.7.1 greylisted
RCPT alice@unreachable.example 550 5.1.2 bounce refused
EOF
start_smtpd --script "$TRASH/script"
write_conf "aliases.root=ops@example.com, Oncall <oncall@example.com>"

# dsn_shape FILE: the MIME structure of a stored message and the fields
# of its delivery-status part, one a line.
cat >shape.py <<\EOF
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=email.policy.compat32)
print(m.get_content_type(), m.get_param("report-type"))
for part in m.get_payload():
    print("part:", part.get_content_type())
    if part.get_content_type() == "message/delivery-status":
        for block in part.get_payload():
            for k, v in block.items():
                if k not in ("Arrival-Date", "X-Sendq-Queue-ID"):
                    print(" ", k + ":", v)
            print(" --")
    elif part.get_content_type() == "text/rfc822-headers":
        for line in part.get_payload().splitlines():
            print(" ", line)
EOF
dsn_shape() { "$PYTHON" "$TRASH/shape.py" "$1"; }

test_expect_success 'a refused recipient: an RFC 3464 report to the sender' '
	r=$(received_count) &&
	queue_msg shape -f alice@sender.example good@rcpt.example \
		bob@bad.example carol@bad.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_since $r | wc -l)" = 2 &&
	test "$(received_field $((r + 1)) rcpt_tos)" = good@rcpt.example &&
	printf "%s\n" "MAIL FROM:<> SIZE=$(received_field $((r + 2)) size)" \
		"RCPT TO:<alice@sender.example>" >expect &&
	received_envelope $((r + 2)) >out &&
	test_cmp expect out &&
	dsn_shape "$(received_msg $((r + 2)))" >out &&
	cat >expect <<-\EOF &&
	multipart/report delivery-status
	part: text/plain
	part: message/delivery-status
	  Reporting-MTA: dns; example.com
	 --
	  Final-Recipient: rfc822; bob@bad.example
	  Action: failed
	  Status: 5.1.1
	  Diagnostic-Code: smtp; 550 5.1.1 <no such user>
	 --
	  Final-Recipient: rfc822; carol@bad.example
	  Action: failed
	  Status: 5.1.1
	  Diagnostic-Code: smtp; 550 5.1.1 <no such user>
	 --
	part: text/rfc822-headers
	  From: Sender <sender@sender.example>
	  Date: Mon, 1 Jan 2024 00:00:00 +0000
	  Message-ID: <shape@sender.example>
	  Subject: shape
	EOF
	test_cmp expect out &&
	grep "^To: <alice@sender.example>" "$(received_msg $((r + 2)))" &&
	grep "^Subject: Undelivered Mail Returned to Sender" "$(received_msg $((r + 2)))" &&
	grep "^Auto-Submitted: auto-replied" "$(received_msg $((r + 2)))"
'

test_expect_success 'a local sender gets its bounce through the aliases' '
	r=$(received_count) &&
	queue_msg local dave@bad.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_since $r | wc -l)" = 1 &&
	printf "%s\n" "MAIL FROM:<> SIZE=$(received_field $((r + 1)) size)" \
		"RCPT TO:<ops@example.com>" "RCPT TO:<oncall@example.com>" >expect &&
	received_envelope $((r + 1)) >out &&
	test_cmp expect out &&
	grep "^Final-Recipient: rfc822; dave@bad.example" "$(received_msg $((r + 1)))"
'

test_expect_success 'a null-sender message that fails is kept in failed/, not bounced' '
	r=$(received_count) &&
	queue_msg nullsender -f "" erin@bad.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(failed_count)" = 1 &&
	test "$(received_since $r)" = "" &&
	mailq_masked >out &&
	cat >expect <<-\EOF &&
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID!                 160 DATE                  MAILER-DAEMON
	                                                    (550 5.1.1 <no such user>)
	                                                    erin@bad.example

	-- 1 Kbytes in 1 Request.
	EOF
	test_cmp expect out &&
	run_queue &&
	test "$(received_since $r)" = "" &&
	test "$(failed_count)" = 1
'

test_expect_success 'a bounce that cannot be delivered goes to failed/ too' '
	rm -rf "$QDIR/failed" &&
	r=$(received_count) &&
	queue_msg twice -f alice@unreachable.example frank@bad.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(failed_count)" = 1 &&
	test "$(received_since $r)" = "" &&
	mailq_masked >out &&
	grep "^QUEUEID! .* MAILER-DAEMON$" out &&
	grep "^ *(550 5.1.2 bounce refused)$" out &&
	grep "^ *alice@unreachable.example$" out &&
	rm -rf "$QDIR/failed"
'

test_expect_success '-N never: no bounce, and the message is gone' '
	r=$(received_count) &&
	queue_msg never -f alice@sender.example -N never grace@bad.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(failed_count)" = 0 &&
	test "$(received_since $r)" = ""
'

test_expect_success '-N failure,delay: the bounce is sent' '
	r=$(received_count) &&
	queue_msg notify -f alice@sender.example -N failure,delay heidi@bad.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_since $r | wc -l)" = 1 &&
	test "$(received_field $((r + 1)) mail_from)" = ""
'

# gaps ID: NEXT - WHEN of each attempt recorded in queue file ID.
gaps() { records "$1" a | awk "{ print \$2 - \$1 }"; }

test_expect_success 'retries back off from retry_first to retry_max, with jitter' '
	write_conf queue.retry_first=10s queue.retry_max=25s &&
	test_when_finished "write_conf" &&
	queue_msg backoff -f alice@sender.example ivan@later.example &&
	id=$(queue_ids) &&
	run_queue &&
	n=$(smtpd_connections) &&
	run_queue &&
	test "$(smtpd_connections)" = "$n" &&
	run_queue -qI$id &&
	run_queue -qI$id &&
	run_queue -qI$id &&
	gaps $id >out &&
	awk "NR == 1 && (\$1 < 8 || \$1 > 12) { exit 1 }
	     NR == 2 && (\$1 < 16 || \$1 > 24) { exit 1 }
	     NR >= 3 && (\$1 < 20 || \$1 > 30) { exit 1 }
	     END { exit NR != 4 }" out &&
	mailq_masked >out &&
	grep "^ *(451 4.3.0 try later)$" out &&
	clear_queue
'

test_expect_success 'lifetime = 0: the first deferral gives up, and bounces' '
	write_conf queue.lifetime=0 &&
	test_when_finished "write_conf" &&
	r=$(received_count) &&
	queue_msg expired -f alice@sender.example judy@later.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_since $r | wc -l)" = 1 &&
	dsn_shape "$(received_msg $((r + 1)))" >out &&
	grep "^  Final-Recipient: rfc822; judy@later.example$" out &&
	grep "^  Diagnostic-Code: smtp; 554 gave up after 1 tries: 451 4.3.0 try later$" out
'

test_expect_success 'a message past its lifetime bounces with the last error' '
	write_conf queue.lifetime=2s queue.retry_first=1s queue.retry_max=1s &&
	test_when_finished "write_conf" &&
	r=$(received_count) &&
	queue_msg aging -f alice@sender.example kim@fussy.example &&
	run_queue &&
	test "$(queue_count)" = 1 &&
	wait_for "run_queue && test \$(queue_count) = 0" 15 &&
	test "$(received_since $r | wc -l)" = 1 &&
	msg=$(received_msg $((r + 1))) &&
	grep "^Diagnostic-Code: smtp; 554 gave up after [0-9]* tries: 451 4.7.1 greylisted" "$msg"
'

test_expect_success 'the smarthost down at the greeting is never a bounce' '
	echo "GREETING * 554 5.3.2 not today" >script &&
	r=$(received_count) &&
	queue_msg greeting -f alice@sender.example lee@rcpt.example &&
	run_queue &&
	test "$(queue_count)" = 1 &&
	mailq_masked >out &&
	grep "^ *(554 5.3.2 not today)$" out &&
	: >script &&
	run_queue -qSalice@sender.example &&
	test "$(queue_count)" = 0 &&
	test "$(received_since $r | wc -l)" = 1
'

test_done
