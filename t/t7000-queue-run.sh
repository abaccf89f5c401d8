#!/bin/sh

test_description='queue runs: sendmail -q, -qI/-qR/-qS, mailq, one connection per pass'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-queue.sh"

: >script
start_smtpd --script "$TRASH/script"
write_conf

test_expect_success 'mailq: an empty queue, before and after it exists' '
	echo "Mail queue is empty" >expect &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out &&
	test_cmp expect out &&
	mkdir -p "$QDIR/q" &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out &&
	test_cmp expect out
'

test_expect_success 'mailq lists id, size, arrival, sender and recipients' '
	queue_msg one a@example.com b@example.com &&
	queue_msg two -f alice@sender.example c@example.com &&
	queue_msg three -f "" d@example.com &&
	test "$(queue_count)" = 3 &&
	mailq_masked >out &&
	cat >expect <<-\EOF &&
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID                  139 DATE                  root@example.com
	                                                    a@example.com
	                                                    b@example.com

	QUEUEID                  139 DATE                  alice@sender.example
	                                                    c@example.com

	QUEUEID                  145 DATE                  MAILER-DAEMON
	                                                    d@example.com

	-- 1 Kbytes in 3 Requests.
	EOF
	test_cmp expect out &&
	test "$(received_count)" = 0
'

test_expect_success 'sendmail -q delivers every due message in one pass' '
	run_queue &&
	test "$(queue_count)" = 0 &&
	printf "%s\n" one three two >expect &&
	received_subjects >out &&
	test_cmp expect out &&
	test "$(smtpd_connections)" = 1 &&
	test "$(smtpd_logins)" = 1 &&
	echo "Mail queue is empty" >expect &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out &&
	test_cmp expect out
'

test_expect_success 'a deferred run exits 0; mailq shows the last error' '
	echo "MAIL * 451 4.3.0 try later" >script &&
	queue_msg four -f bob@sender.example e@example.com f@example.com &&
	queue_msg five g@example.com &&
	run_queue &&
	test "$(queue_count)" = 2 &&
	test "$(received_count)" = 3 &&
	mailq_masked >out &&
	cat >expect <<-\EOF &&
	-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------
	QUEUEID                  142 DATE                  bob@sender.example
	                                                    (451 4.3.0 try later)
	                                                    e@example.com
	                                                    (451 4.3.0 try later)
	                                                    f@example.com

	QUEUEID                  142 DATE                  root@example.com
	                                                    (451 4.3.0 try later)
	                                                    g@example.com

	-- 1 Kbytes in 2 Requests.
	EOF
	test_cmp expect out &&
	for id in $(queue_ids); do
		test "$(records $id a | wc -l)" = 1 || return 1
	done
'

test_expect_success 'the next run leaves alone what is not due yet' '
	: >script &&
	n=$(smtpd_connections) &&
	run_queue &&
	test "$(smtpd_connections)" = "$n" &&
	test "$(queue_count)" = 2
'

test_expect_success '-qS, -qR, -qI: only the matching messages, due or not' '
	queue_msg six -f carol@other.example h@example.com &&
	id6=$(queue_ids | tail -n 1) &&
	run_queue -qSBOB@sender &&
	printf "%s\n" five six >expect &&
	for id in $(queue_ids); do
		sed -n "s/^Subject: \(.*\)\r$/\1/p" "$QDIR/q/$id" || return 1
	done | sort >out &&
	test_cmp expect out &&
	run_queue -qRg@example &&
	test "$(queue_ids)" = "$id6" &&
	run_queue -qInot-an-id &&
	test "$(queue_count)" = 1 &&
	run_queue -qI$(echo "$id6" | cut -c 10-18) &&
	test "$(queue_count)" = 0 &&
	printf "%s\n" five four one six three two >expect &&
	received_subjects >out &&
	test_cmp expect out
'

test_expect_success 'sendmail -q -v tells each attempt on stderr' '
	queue_msg seven i@example.com &&
	run_queue -v 2>err &&
	grep "^sendq-runner: i@example.com: sent: 250 2.0.0 OK: queued as 0007$" err &&
	echo "RCPT j@example.com 451 4.2.0 later" >script &&
	queue_msg eight j@example.com &&
	run_queue -v 2>err &&
	grep "^sendq-runner: j@example.com: deferred: 451 4.2.0 later$" err &&
	: >script &&
	clear_queue
'

test_expect_success 'per_connection = 3: seven messages, three connections' '
	write_conf queue.per_connection=3 &&
	n=$(smtpd_connections) l=$(smtpd_logins) r=$(received_count) &&
	for i in 1 2 3 4 5 6 7; do
		queue_msg pc$i k$i@example.com || return 1
	done &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_count)" = $((r + 7)) &&
	test $(($(smtpd_connections) - n)) = 3 &&
	test $(($(smtpd_logins) - l)) = 3 &&
	for i in $(received_since $r); do
		received_field $i transaction || return 1
	done >out &&
	printf "%s\n" 1 2 3 1 2 3 1 >expect &&
	test_cmp expect out
'

test_expect_success 'a pass over 100 messages: one connection, one login' '
	write_conf &&
	n=$(smtpd_connections) l=$(smtpd_logins) r=$(received_count) &&
	i=0 &&
	while [ $i -lt 100 ]; do
		i=$((i + 1)) &&
		queue_msg bulk$i m$i@example.com || return 1
	done &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_count)" = $((r + 100)) &&
	conns=$(($(smtpd_connections) - n)) logins=$(($(smtpd_logins) - l)) &&
	echo "100 messages: $conns connection(s), $logins login(s)" >saving &&
	test $conns = 1 &&
	test $logins = 1
'
# One connection per message would have been 100 connections and 100
# logins: say what this pass used.
[ -f saving ] && echo "# $(cat saving) instead of 100 and 100"

test_expect_success '150 recipients: two transactions, all delivered' '
	r=$(received_count) &&
	i=0 &&
	while [ $i -lt 150 ]; do
		i=$((i + 1)) &&
		echo "r$i@example.com" || return 1
	done >rcpts &&
	queue_msg many $(cat rcpts) &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_count)" = $((r + 2)) &&
	received_field $((r + 1)) rcpt_tos >out &&
	test "$(wc -l <out)" = 100 &&
	received_field $((r + 2)) rcpt_tos >>out &&
	test_cmp rcpts out &&
	test "$(received_field $((r + 1)) connection)" = \
		"$(received_field $((r + 2)) connection)"
'

test_expect_success 'a damaged queue file goes to corrupt/, the others go on' '
	r=$(received_count) &&
	queue_msg before n@example.com &&
	printf "this is not a queue file\n" >"$QDIR/q/0123456789ABCDEF01" &&
	queue_msg after o@example.com &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test -f "$QDIR/corrupt/0123456789ABCDEF01" &&
	test "$(received_count)" = $((r + 2))
'

# partial_copy ID NEWID: a copy of queue file ID without its end record,
# as a submitter that died leaves it.
partial_copy() {
	sed -e "s/^I18:$1\$/I18:$2/" -e '/^Z[0-9]*:/d' "$QDIR/q/$1" >"$QDIR/q/$2"
}

test_expect_success 'a partial file is removed after a day, not before' '
	r=$(received_count) &&
	queue_msg partial p@example.com &&
	id=$(queue_ids) &&
	partial_copy $id 0000000000000AAAAA &&
	partial_copy $id 0000000000000BBBBB &&
	rm "$QDIR/q/$id" &&
	touch -d "25 hours ago" "$QDIR/q/0000000000000AAAAA" &&
	run_queue &&
	test "$(queue_ids)" = 0000000000000BBBBB &&
	echo "Mail queue is empty" >expect &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out &&
	test_cmp expect out &&
	test "$(received_count)" = $r &&
	touch -d "2 days ago" "$QDIR/q/0000000000000BBBBB" &&
	run_queue &&
	test "$(queue_count)" = 0
'

test_done
