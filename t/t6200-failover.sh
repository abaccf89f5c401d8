#!/bin/sh

test_description='several smarthosts: failover to the next on trouble before DATA, never after a 5xx'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"
. "$SRC/t/lib-auth.sh"

msg() {
	printf 'From: Alice <sender@example.net>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

# count DIR: messages a server stored.
count() { find "$1" -name '*.eml' | wc -l | tr -d ' '; }

: >primary.script
: >backup.script
start_smtpd --script "$TRASH/primary.script"
P1=$SMTPD_PORT S1=$SMTPD_SPOOL L1=$SMTPD_LOG PID1=$SMTPD_PID
start_smtpd --script "$TRASH/backup.script"
P2=$SMTPD_PORT S2=$SMTPD_SPOOL L2=$SMTPD_LOG

# conf: [smarthost] is the first server, [smarthost backup] the second.
conf() {
	SMTPD_PORT=$P1 write_conf smarthost.helo=client.example \
		"[smarthost backup]" "host = localhost" "port = $P2" \
		"ca_file = $CA_DIR/ca.pem" "user = test" \
		"password = test-password-1" "helo = client.example" "$@"
}
conf

test_expect_success 'both up: the first smarthost takes the mail' '
	msg one | sm -odi -f sender@example.net a@example.org &&
	test "$(count "$S1")" = 1 &&
	test "$(count "$S2")" = 0 &&
	test "$(queued)" = 0
'

test_expect_success 'the first answers 451 to MAIL: the backup takes it in the same run' '
	echo "MAIL * 451 4.3.0 try later" >primary.script &&
	msg two | sm -odi -f sender@example.net a@example.org &&
	test "$(count "$S1")" = 1 &&
	test "$(count "$S2")" = 1 &&
	test "$(queued)" = 0 &&
	grep -q "^[0-9]* < 451 4.3.0 try later" "$L1"
'

test_expect_success 'the first refuses the login: the backup takes it' '
	echo "AUTH * 535 5.7.8 bad credentials" >primary.script &&
	msg three | sm -odi -f sender@example.net a@example.org &&
	test "$(count "$S1")" = 1 &&
	test "$(count "$S2")" = 2
'

test_expect_success 'a 452 to one RCPT: only that recipient goes to the backup' '
	echo "RCPT b@example.org 452 4.2.2 mailbox full" >primary.script &&
	msg four | sm -odi -f sender@example.net a@example.org b@example.org &&
	test "$(count "$S1")" = 2 &&
	test "$(count "$S2")" = 3 &&
	SMTPD_SPOOL=$S1 envelope 2 >actual &&
	printf "MAIL FROM:<sender@example.net>\nRCPT TO:<a@example.org>\n" >expect &&
	test_cmp expect actual &&
	SMTPD_SPOOL=$S2 envelope 3 >actual &&
	printf "MAIL FROM:<sender@example.net>\nRCPT TO:<b@example.org>\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'both put it off: deferred, and mailq names the relay that said so' '
	echo "MAIL * 451 4.3.0 primary busy" >primary.script &&
	echo "MAIL * 451 4.3.0 backup busy" >backup.script &&
	msg five | sm -odi -f sender@example.net a@example.org &&
	test "$(queued)" = 1 &&
	mailq_reasons >actual &&
	echo "451 localhost[127.0.0.1]:$P2 said: 4.3.0 backup busy" >expect &&
	test_cmp expect actual
'

test_expect_success 'a queue run with the first one back delivers it there' '
	: >primary.script && : >backup.script &&
	sm -qI"$(ls queue/q)" &&
	test "$(queued)" = 0 &&
	test "$(count "$S1")" = 3 &&
	test "$(count "$S2")" = 3
'

test_expect_success 'a 5xx from the first is final: bounced, the backup is not tried' '
	echo "RCPT a@example.org 550 5.1.1 no such user" >primary.script &&
	conns=$(SMTPD_LOG=$L2 smtpd_connections) &&
	msg six | test_must_fail sm -odi -f sender@example.net a@example.org &&
	test "$(queued)" = 0 &&
	test "$(SMTPD_LOG=$L2 smtpd_connections)" = "$conns" &&
	test "$(count "$S2")" = 3 &&
	test "$(count "$S1")" = 4 &&
	SMTPD_SPOOL=$S1 envelope 4 >actual &&
	printf "MAIL FROM:<>\nRCPT TO:<sender@example.net>\n" >expect &&
	test_cmp expect actual &&
	grep "^Diagnostic-Code: " "$S1/0004.eml" | tr -d "\r" >actual &&
	echo "Diagnostic-Code: smtp; 550 localhost[127.0.0.1]:$P1 said: 5.1.1 no such user" >expect &&
	test_cmp expect actual
'

test_expect_success 'the first is down: the backup takes the mail' '
	: >primary.script &&
	stop_smtpd "$PID1" &&
	msg seven | sm -odi -f sender@example.net a@example.org &&
	test "$(queued)" = 0 &&
	test "$(count "$S2")" = 4
'

test_expect_success 'all down: deferred, the reason names the last one tried' '
	echo "GREETING * 421 4.3.2 backup closed" >backup.script &&
	msg eight | sm -odi -f sender@example.net a@example.org &&
	test "$(queued)" = 1 &&
	mailq_reasons >actual &&
	echo "421 localhost:$P2: 4.3.2 backup closed" >expect &&
	test_cmp expect actual
'

test_done
