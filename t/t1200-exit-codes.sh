#!/bin/sh

test_description='exit codes: what is refused is refused before anything is queued'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf

printf 'Subject: refused\n\nbody\n' >msg

test_expect_success 'no recipients: 64' '
	test_expect_code 64 sm -odi <msg 2>err &&
	echo "sendmail: no recipients given (use -t to take them from the header)" >expect &&
	test_cmp expect err &&
	test_expect_code 64 sm -odi -t <msg 2>err &&
	echo "sendmail: no recipients in the arguments or the header" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success 'an option-like recipient after --: 64, nothing queued' '
	test_expect_code 64 sm -odi -- -oQ/tmp <msg 2>err &&
	echo "sendmail: recipient: \"-oQ/tmp\": not an address" >expect &&
	test_cmp expect err &&
	test_expect_code 64 sm -odi -- a@example.org -X/tmp/x.php <msg 2>err &&
	echo "sendmail: recipient: \"-X/tmp/x.php\": not an address" >expect &&
	test_cmp expect err &&
	test ! -e /tmp/x.php &&
	test "$(queued)" = 0
'

test_expect_success 'a recipient with a line feed in it: 64, nothing queued' '
	test_expect_code 64 sm -odi "$(printf "a\nb")" <msg 2>err &&
	printf "sendmail: recipient: \"a\nb\": not an address\n" >expect &&
	test_cmp expect err &&
	test_expect_code 64 sm -odi "$(printf "a@example.org\nRCPT TO:<b@example.org>")" <msg &&
	test "$(queued)" = 0
'

test_expect_success 'a sender that looks like an option: 64, nothing queued' '
	test_expect_code 64 sm -odi -f -oQ/tmp a@example.org <msg 2>err &&
	echo "sendmail: sender: <-oQ/tmp>: address starts with '"'-'"'" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success 'a NUL byte in the message: 65, nothing queued' '
	printf "Subject: nul\n\nbefore\000after\n" >nul &&
	test_expect_code 65 sm -odi a@example.org <nul 2>err &&
	echo "sendmail: input: the message holds NUL bytes; not queued" >expect &&
	test_cmp expect err &&
	printf "Subject: nul\000\n\nbody\n" >nul &&
	test_expect_code 65 sm -odi a@example.org <nul &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 0
'

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	test_expect_success 'a queue directory the caller cannot write: 75, nothing queued' '
		mkdir -p roq &&
		chmod 755 "$TRASH" roq &&
		sed "s|^dir = .*|dir = $TRASH/roq|" "$SENDQ_INI" |
			grep -v -e "^user" -e "^password" >ro.ini &&
		chmod 644 ro.ini &&
		test_expect_code 75 setpriv --reuid=nobody --regid=nogroup \
			--clear-groups "$SENDMAIL" -C "$TRASH/ro.ini" -odi \
			a@example.org <msg 2>err &&
		echo "sendmail: queue: $TRASH/roq: Permission denied" >expect &&
		test_cmp expect err &&
		test -z "$(find roq -mindepth 1)" &&
		test "$(received_count)" = 0
	'
else
	echo "# skipped the unwritable queue test: needs root and setpriv"
fi

test_done
