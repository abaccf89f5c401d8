#!/bin/sh

test_description='the queue runner daemon: sendmail -q<interval>'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-queue.sh"

: >script
start_smtpd --script "$TRASH/script"
write_conf queue.retry_first=1s queue.retry_max=1s

# start_daemon INTERVAL: starts sendmail -qINTERVAL in the background,
# its pid in daemon.pid, stopped (and its exit status checked) when the
# test ends; returns once it holds the runner lock.
start_daemon() {
	"$SENDMAIL" -C "$SENDQ_INI" -q$1 </dev/null >daemon.out 2>&1 &
	echo $! >daemon.pid
	test_when_finished "stop_daemon"
	wait_for "! flock -n -s \"$QDIR/runner.lock\" true" 10
}

# stop_daemon: SIGTERM (after a SIGCONT, should it be stopped); it must
# be gone within 5 seconds and leave the lock free.
stop_daemon() {
	_pid=$(cat daemon.pid) &&
	kill -CONT $_pid 2>/dev/null
	kill -TERM $_pid &&
	wait_for "! kill -0 $_pid 2>/dev/null" 5 &&
	flock -n "$QDIR/runner.lock" true &&
	rm -f daemon.pid
}

test_expect_success 'a new message is picked up at once, not at the next interval' '
	start_daemon 1h &&
	r=$(received_count) &&
	queue_msg prompt a@example.com &&
	wait_for "test \$(received_count) = $((r + 1))" 5 &&
	wait_for "test \$(queue_count) = 0" 5 &&
	queue_msg again b@example.com &&
	wait_for "test \$(received_count) = $((r + 2))" 5
'

test_expect_success 'a submitter with a daemon running starts no runner of its own' '
	start_daemon 1h &&
	r=$(received_count) n=$(smtpd_connections) &&
	kill -STOP $(cat daemon.pid) &&
	printf "Subject: bg\n\nbody\n" | "$SENDMAIL" -C "$SENDQ_INI" -odb c@example.com &&
	# what a runner of its own would have done by now
	sleep 2 &&
	test "$(smtpd_connections)" = "$n" &&
	test "$(queue_count)" = 1 &&
	kill -CONT $(cat daemon.pid) &&
	wait_for "test \$(received_count) = $((r + 1))" 5 &&
	test "$(received_field $((r + 1)) rcpt_tos)" = c@example.com
'

test_expect_success 'a second daemon refuses to start while one runs' '
	start_daemon 1h &&
	test_expect_code 75 "$SENDMAIL" -C "$SENDQ_INI" -q1h 2>err &&
	grep "another queue runner holds" err
'

test_expect_success 'the daemon retries a deferred message at its interval' '
	echo "RCPT d@example.com 451 4.3.0 later x1" >script &&
	r=$(received_count) &&
	queue_msg retry d@example.com &&
	start_daemon 2s &&
	wait_for "test \$(received_count) = $((r + 1))" 15 &&
	test "$(queue_count)" = 0 &&
	grep -c "^[0-9]* > RCPT TO:<d@example.com>" "$SMTPD_LOG" >out &&
	echo 2 >expect &&
	test_cmp expect out
'

test_expect_success 'SIGTERM stops the daemon with status 0' '
	"$SENDMAIL" -C "$SENDQ_INI" -q1h </dev/null >daemon.out 2>&1 &
	pid=$! &&
	wait_for "! flock -n -s \"$QDIR/runner.lock\" true" 10 &&
	kill -TERM $pid &&
	wait $pid &&
	flock -n "$QDIR/runner.lock" true
'

test_done
