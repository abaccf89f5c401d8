#!/bin/sh

test_description='relaying through a real Postfix with STARTTLS and SASL'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-postfix.sh"

postfix_prereq
start_postfix

# Retries are due one second after a failure, so that queue runs in a
# wait_for loop see them again soon.
conf() { postfix_write_conf queue.retry_first=1s queue.retry_max=1s "$@"; }
RCPT_FIELD=X-Original-To
. "$SRC/t/lib-realserver.sh"

test_expect_success 'a message goes through Postfix over STARTTLS with AUTH' '
	mailbox_clear &&
	mark=$(postfix_log_mark) &&
	printf "From: Sender <sender@example.com>\nTo: alice@example.com\nSubject: plain\n\nhello from sendq\n" >msg &&
	sm -odi -f sender@example.com alice@example.com <msg &&
	wait_for "test \$(mailbox_count alice) = 1" &&
	f=$(mailbox_msg alice) &&
	show headers "$f" >actual &&
	sed -n "1,3p" msg >expect &&
	test_cmp expect actual &&
	show body "$f" >actual &&
	echo "hello from sendq" >expect &&
	test_cmp expect actual &&
	grep "^Return-Path: <sender@example.com>$" "$f" &&
	grep "^	(Authenticated sender: test@example.test)$" "$f" &&
	grep "^	by mx.example.test (Postfix) with ESMTPSA id " "$f" &&
	echo "ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8" >expect &&
	postfix_sessions $mark >actual &&
	test_cmp expect actual &&
	sm -bp >actual &&
	test_cmp empty actual
'

realserver_shared_tests

test_expect_success 'a wrong password defers: queued, not bounced' '
	mailbox_clear &&
	mark=$(postfix_log_mark) &&
	test_when_finished conf &&
	conf smarthost.password=wrong-password &&
	printf "From: Sender <sender@example.com>\nTo: alice@example.com\nSubject: wrong password\n\nkept\n" >msg &&
	sm -odi -f sender@example.com alice@example.com <msg &&
	sm -qRalice@example.com &&
	sm -qRalice@example.com &&
	cat >expect <<-\EOF &&
	(535 5.7.8 Error: authentication failed: authentication failure)
	alice@example.com

	-- 1 Kbytes in 1 Request.
	EOF
	queue_lines >actual &&
	test_cmp expect actual &&
	printf "ehlo=2 starttls=1 auth=0/1 commands=3/4\n%.0s" 1 2 3 >expect &&
	postfix_sessions $mark >actual &&
	test_cmp expect actual &&
	test "$(mailbox_count alice)" = 0 &&
	test "$(mailbox_count sender)" = 0
'

test_expect_success '... and bounces once the queue lifetime is over' '
	test_when_finished conf &&
	conf smarthost.password=wrong-password queue.lifetime=2s &&
	wait_for "sm -qRalice@example.com &&
		test \"\$(queue_lines | sed -n 2p)\" = sender@example.com" &&
	# The bounce cannot go out either, with this password: it waits.
	cat >expect <<-\EOF &&
	(535 5.7.8 Error: authentication failed: authentication failure)
	sender@example.com

	-- 2 Kbytes in 1 Request.
	EOF
	queue_lines >actual &&
	test_cmp expect actual &&
	test "$(mailbox_count sender)" = 0 &&
	conf &&
	sm -qRsender@example.com &&
	wait_for "test \$(mailbox_count sender) = 1" &&
	f=$(mailbox_msg sender) &&
	grep -E "^(Final-Recipient|Action):" "$f" >actual &&
	cat >expect <<-\EOF &&
	Final-Recipient: rfc822; alice@example.com
	Action: failed
	EOF
	test_cmp expect actual &&
	grep "^Diagnostic-Code: smtp; 554 gave up after [0-9]* tries: 535 5.7.8 Error: authentication failed" "$f" &&
	grep "^Subject: wrong password$" "$f" &&
	test "$(mailbox_count alice)" = 0 &&
	sm -bp >actual &&
	test_cmp empty actual
'

test_expect_success 'a refused recipient bounces, the others get the message' '
	mailbox_clear &&
	printf "From: Sender <sender@example.com>\nTo: alice@example.com, nobody@example.com, bob@example.com\nSubject: one refused\n\nhi\n" >msg &&
	test_expect_code 69 sm -odi -f sender@example.com \
		alice@example.com nobody@example.com bob@example.com <msg &&
	wait_for "test \$(mailbox_count alice) = 1" &&
	wait_for "test \$(mailbox_count bob) = 1" &&
	wait_for "test \$(mailbox_count sender) = 1" &&
	f=$(mailbox_msg sender) &&
	grep -E "^(Final-Recipient|Action|Status):" "$f" >actual &&
	cat >expect <<-\EOF &&
	Final-Recipient: rfc822; nobody@example.com
	Action: failed
	Status: 5.1.1
	EOF
	test_cmp expect actual &&
	grep "^Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table" "$f" &&
	sm -bp >actual &&
	test_cmp empty actual
'

test_expect_success 'Postfix stopped: queued; started again: the next run delivers' '
	mailbox_clear &&
	stop_postfix &&
	printf "From: Sender <sender@example.com>\nTo: alice@example.com\nSubject: later\n\nwaited\n" >msg &&
	sm -odi -f sender@example.com alice@example.com <msg &&
	sm -bp >actual &&
	grep "^ *alice@example.com$" actual &&
	restart_postfix &&
	wait_for "sm -q && test \$(mailbox_count alice) = 1" 20 &&
	show body "$(mailbox_msg alice)" >actual &&
	echo waited >expect &&
	test_cmp expect actual &&
	sm -bp >actual &&
	test_cmp empty actual
'

test_expect_success '100 queued messages go over one connection, one login' '
	mailbox_clear &&
	mark=$(postfix_log_mark) &&
	i=1 &&
	while [ $i -le 100 ]; do
		printf "From: Sender <sender@example.com>\nTo: erin@example.com\nSubject: number %03d\n\nbody %d\n" $i $i |
			sm -odq -f sender@example.com erin@example.com || return 1
		i=$((i + 1))
	done &&
	test "$(mailbox_count erin)" = 0 &&
	sm -q &&
	wait_for "test \$(mailbox_count erin) = 100" 30 &&
	wait_for "postfix_sessions $mark | grep ." &&
	echo "ehlo=2 starttls=1 auth=1 mail=100 rcpt=100 data=100 quit=1 commands=305" >expect &&
	postfix_sessions $mark >actual &&
	test_cmp expect actual &&
	seq -f "Subject: number %03g" 1 100 >expect &&
	for f in $(mailbox_files erin); do grep "^Subject:" "$f"; done | sort >actual &&
	test_cmp expect actual &&
	sm -bp >actual &&
	test_cmp empty actual
'

test_done
