#!/bin/sh

test_description='-oe: how an error found while the caller waits is reported'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf "aliases.alice=alice@corp.example"

printf 'Subject: refused\n\nbody\n' >msg
echo "sendmail: no recipients given (use -t to take them from the header)" >reason

# notice N: the body of the Nth message received, as text lines
notice() { tr -d '\r' <"$(received_msg "$1")" | sed '1,/^$/d'; }

test_expect_success '-oep (the default) prints the error and exits 64' '
	test_expect_code 64 sm -odi -oep <msg 2>err &&
	test_cmp reason err &&
	test_expect_code 64 sm -odi <msg 2>err &&
	test_cmp reason err &&
	test "$(queued)" = 0
'

test_expect_success '-oeq keeps quiet: the exit status alone says it' '
	test_expect_code 64 sm -odi -oeq <msg 2>err &&
	test_cmp /dev/null err &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 0
'

test_expect_success '-oem mails the error to the sender instead, and exits 64' '
	test_expect_code 64 sm -oem -f alice <msg >out 2>err &&
	test_cmp /dev/null out &&
	test_cmp /dev/null err &&
	wait_for "test \$(received_count) = 1 && test \$(queued) = 0" 20 &&
	printf "%s\n" "MAIL FROM:<>" "RCPT TO:<alice@corp.example>" >expect &&
	received_envelope 1 | sed "s/ SIZE=[0-9]*//" >actual &&
	test_cmp expect actual &&
	grep "^Subject: Returned mail: your message was not queued" "$(received_msg 1)" &&
	{
		echo "sendmail could not queue a message you sent; it was not sent." &&
		echo "The reason:" && echo && cat reason
	} >expect &&
	notice 1 >actual &&
	test_cmp expect actual
'

test_expect_success '-oee mails it too, and exits 0 (as cron wants never to hear)' '
	sm -oee -f alice <msg 2>err &&
	test_cmp /dev/null err &&
	wait_for "test \$(received_count) = 2 && test \$(queued) = 0" 20 &&
	notice 2 | tail -n 1 >actual &&
	test_cmp reason actual
'

test_expect_success '-oem with nothing wrong: the message goes, no notice' '
	printf "Subject: fine\n\nbody\n" | sm -oem -odi bob@example.org 2>err &&
	test_cmp /dev/null err &&
	test "$(received_count)" = 3 &&
	grep "^Subject: fine" "$(received_msg 3)"
'

test_expect_success '-oem for the null sender: nowhere to mail, so it is printed' '
	test_expect_code 64 sm -oem -f "<>" <msg 2>err &&
	test_cmp reason err &&
	test "$(queued)" = 0
'

test_done
