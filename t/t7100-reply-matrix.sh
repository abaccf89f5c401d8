#!/bin/sh

test_description='each reply at each stage of the SMTP session ends in the right state'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-queue.sh"

: >script
start_smtpd --script "$TRASH/script"
write_conf

# Every case queues one message from alice@sender.example to good@ and
# then bad@rcpt.example, and makes one queue run against a smarthost
# whose script answers REPLY at STAGE. The rule matches what it must:
# the message's own MAIL, bad@'s RCPT, and for DATA and EOD the message
# (good@ is among its recipients), never the bounce that follows it.
rule_pattern() {
	case $1 in
	MAIL) echo alice@sender.example ;;
	RCPT) echo bad@rcpt.example ;;
	DATA|EOD) echo good@rcpt.example ;;
	*) echo '*' ;;
	esac
}

# run_case STAGE ACTION: sets r (the server's message count before).
run_case() {
	case $2 in
	drop) echo "$1 $(rule_pattern $1) drop" ;;
	*) echo "$1 $(rule_pattern $1) $2 ${2%??}.9.9 scripted $1" ;;
	esac >script &&
	clear_queue &&
	r=$(received_count) &&
	queue_msg "$1-$2" -f alice@sender.example \
		good@rcpt.example bad@rcpt.example &&
	run_queue
}

# mailq_of PENDING...: the listing (size, id and time masked) of the one
# queued message with the recipients PENDING, each with $reply, or with
# REPLY when given as ADDR=REPLY.
mailq_of() {
	echo "-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------"
	echo "QUEUEID SIZE DATE alice@sender.example"
	for _p; do
		case $_p in
		*=*) printf '%52s(%s)\n%52s%s\n' "" "${_p#*=}" "" "${_p%%=*}" ;;
		*) printf '%52s(%s)\n%52s%s\n' "" "$reply" "" "$_p" ;;
		esac
	done
	echo
	echo "-- 1 Kbytes in 1 Request."
}

# mailq_now: the listing with size, id and time masked, and the text of
# a lost connection (which names the port and what failed) as DROPPED.
mailq_now() {
	mailq_masked | sed -e 's/^QUEUEID *[0-9]* DATE */QUEUEID SIZE DATE /' \
		-e 's/^\( *\)(.*conn[a-z]* [a-z]*.*)$/\1(DROPPED)/'
}

# The message is still queued for everyone in PENDING, the others were
# delivered (among the messages stored after $r), one attempt is
# recorded, and no bounce went out.
expect_deferred() {
	test "$(queue_count)" = 1 &&
	test "$(failed_count)" = 0 &&
	mailq_of "$@" >expect &&
	mailq_now >out &&
	test_cmp expect out &&
	test "$(records "$(queue_ids)" a | wc -l)" = 1 &&
	test "$(records "$(queue_ids)" b | wc -l)" = 0 &&
	for n in $(received_since $r); do
		test "$(received_field $n mail_from)" = alice@sender.example ||
			return 1
	done
}

# The message is gone, delivered to DELIVERED (or to nobody when empty),
# and one bounce to alice carries the reply for each of FAILED.
expect_bounced() {
	_delivered=$1; shift
	test "$(queue_count)" = 0 &&
	test "$(failed_count)" = 0 &&
	set -- $(received_since $r) &&
	if [ -n "$_delivered" ]; then
		test "$(received_field $1 rcpt_tos)" = "$_delivered" &&
		shift
	fi &&
	test $# = 1 &&
	test "$(received_field $1 mail_from)" = "" &&
	test "$(received_field $1 rcpt_tos)" = alice@sender.example &&
	grep "^Diagnostic-Code: smtp; " "$(received_msg $1)" >diag &&
	for _f in $_failed; do
		echo "Diagnostic-Code: smtp; $reply"
	done >expect &&
	tr -d "\r" <diag >out &&
	test_cmp expect out
}

for stage in GREETING EHLO AUTH MAIL RCPT DATA EOD; do
	for action in 421 451 452 550 554 drop; do
		case $action in
		drop) reply=DROPPED ;;
		*) reply="$action ${action%??}.9.9 scripted $stage" ;;
		esac
		case $stage.$action in
		# Before MAIL, any trouble is the smarthost's, never the
		# recipients': retried until the queue lifetime ends.
		GREETING.*|EHLO.*|AUTH.*|*.4*|*.drop)
			want=deferred ;;
		RCPT.5*)
			want="bad@ bounced, good@ delivered" ;;
		*.5*)
			want=bounced ;;
		esac
		case $stage.$action in
		RCPT.45*)
			want="bad@ deferred, good@ delivered" ;;
		RCPT.421|RCPT.drop)
			# The connection is gone: good@ was accepted but
			# never got the message.
			want="deferred, good@ never sent" ;;
		esac
		case $want in
		deferred)
			check='expect_deferred good@rcpt.example bad@rcpt.example' ;;
		"deferred, good@ never sent")
			check='expect_deferred good@rcpt.example=DROPPED bad@rcpt.example' ;;
		"bad@ deferred, good@ delivered")
			check='expect_deferred bad@rcpt.example &&
				test "$(received_field $((r + 1)) rcpt_tos)" = good@rcpt.example' ;;
		"bad@ bounced, good@ delivered")
			check='_failed=bad expect_bounced good@rcpt.example' ;;
		bounced)
			check='_failed="good bad" expect_bounced ""' ;;
		esac
		test_expect_success "$action at $stage: $want" "
			run_case $stage $action &&
			$check
		"
	done
done

# (After the final dot sendq waits 10 minutes, as RFC 5321 says: so the
# server hangs at RCPT.)
test_expect_success 'a timeout: retried' '
	write_conf smarthost.timeout=1 &&
	test_when_finished "write_conf" &&
	echo "RCPT good@rcpt.example hang" >script &&
	clear_queue &&
	r=$(received_count) &&
	queue_msg hang -f alice@sender.example good@rcpt.example &&
	run_queue &&
	test "$(queue_count)" = 1 &&
	test "$(records "$(queue_ids)" a | wc -l)" = 1 &&
	test "$(records "$(queue_ids)" w | wc -l)" = 1 &&
	test "$(received_since $r)" = ""
'

test_expect_success 'after a 250 at the final dot, a drop at QUIT sends nothing again' '
	echo "QUIT * drop" >script &&
	clear_queue &&
	r=$(received_count) &&
	queue_msg once -f alice@sender.example good@rcpt.example &&
	queue_msg twice -f alice@sender.example good@rcpt.example &&
	run_queue &&
	test "$(queue_count)" = 0 &&
	test "$(received_since $r | wc -l)" = 2 &&
	grep "^[0-9]* \* drop$" "$SMTPD_LOG" &&
	run_queue -qIA &&
	run_queue -qRgood &&
	test "$(received_since $r | wc -l)" = 2
'

test_expect_success 'a 4xx leaves the message for its retry; then it goes' '
	echo "MAIL alice@sender.example 451 4.3.0 later x1" >script &&
	write_conf queue.retry_first=1s queue.retry_max=1s &&
	test_when_finished "write_conf" &&
	clear_queue &&
	r=$(received_count) &&
	queue_msg retried -f alice@sender.example good@rcpt.example &&
	run_queue &&
	test "$(queue_count)" = 1 &&
	wait_for "run_queue && test \$(queue_count) = 0" 10 &&
	test "$(received_since $r | wc -l)" = 1
'

test_done
