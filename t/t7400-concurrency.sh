#!/bin/sh

test_description='runners at the same time never send a message twice'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-queue.sh"

start_smtpd
write_conf queue.per_connection=5

# Every Subject received once: nothing lost, nothing twice.
check_each_once() {
	received_subjects >out &&
	test_cmp expect out &&
	test "$(queue_count)" = 0
}

test_expect_success 'two sendmail -q at once: each message sent once' '
	i=0 &&
	while [ $i -lt 40 ]; do
		i=$((i + 1)) &&
		queue_msg q$i a$i@example.com &&
		echo q$i || return 1
	done | sort >expect &&
	{ run_queue & p1=$!; run_queue & p2=$!; wait $p1 && wait $p2; } &&
	check_each_once
'

# expect_subjects PREFIX: PREFIX1 to PREFIX20, sorted.
expect_subjects() {
	i=0
	while [ $i -lt 20 ]; do
		i=$((i + 1))
		echo $1$i
	done | sort >expect
}

test_expect_success '20 background submissions: each message sent once' '
	rm -f "$SMTPD_SPOOL"/* &&
	expect_subjects bg &&
	i=0 &&
	while [ $i -lt 20 ]; do
		i=$((i + 1)) &&
		{
			printf "Subject: bg%s\n\nbody\n" $i |
			"$SENDMAIL" -C "$SENDQ_INI" -odb b$i@example.com &
		} || return 1
	done &&
	wait &&
	wait_for "test \$(received_count) -ge 20 && test \$(queue_count) = 0" 30 &&
	check_each_once
'

test_expect_success 'background submissions and queue runs mixed' '
	rm -f "$SMTPD_SPOOL"/* &&
	expect_subjects mix &&
	i=0 &&
	while [ $i -lt 20 ]; do
		i=$((i + 1)) &&
		{
			printf "Subject: mix%s\n\nbody\n" $i |
			"$SENDMAIL" -C "$SENDQ_INI" -odb m$i@example.com &
		} &&
		{ [ $((i % 5)) != 0 ] || run_queue & } || return 1
	done &&
	wait &&
	wait_for "test \$(received_count) -ge 20 && test \$(queue_count) = 0" 30 &&
	check_each_once
'

test_done
