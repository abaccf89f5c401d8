#!/bin/sh

test_description='PHP mail() through sendmail_path'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-callers.sh"

need_programs php
callers_setup aliases.root=ops@example.net

# php -n: no php.ini, so that nothing of the machine's (sendmail_from,
# mail.add_x_header) changes the message. PHP runs sendmail_path and the
# fifth argument of mail() through "sh -c", as on a real server.
php_mail() {
	php -n -d "sendmail_path=$MAILER -t -i" -r '
		if ($argc > 5)
			$ok = mail($argv[1], $argv[2], $argv[3], $argv[4], $argv[5]);
		else
			$ok = mail($argv[1], $argv[2], $argv[3], $argv[4]);
		exit($ok ? 0 : 1);' -- "$@"
}

test_expect_success 'mail() without a fifth argument' '
	argv_reset &&
	php_mail "alice@example.org, Bob <bob@example.org>" "Order 42" \
		"$(printf "Thanks.\n.\nA lone dot above.")" \
		"$(printf "From: Shop <shop@example.org>\r\nCc: carol@example.org\r\nBcc: dave@example.org\r\nReply-To: help@example.org")" &&
	argv_expect -t -i &&
	wait_received 1 &&
	expect_envelope 1 root@example.com alice@example.org bob@example.org \
		carol@example.org dave@example.org &&
	cat >expect <<-\EOF &&
	To: alice@example.org, Bob <bob@example.org>
	Subject: Order 42
	From: Shop <shop@example.org>
	Cc: carol@example.org
	Reply-To: help@example.org
	Date: *
	Message-ID: *
	EOF
	received_headers 1 >actual &&
	test_cmp expect actual &&
	printf "Thanks.\n.\nA lone dot above.\n" >expect &&
	received_body 1 >actual &&
	test_cmp expect actual
'

test_expect_success 'mail() with -f as the fifth argument sets the envelope sender' '
	argv_reset &&
	php_mail alice@example.org "Bounce here" "body" \
		"From: Shop <shop@example.org>" "-fbounces@example.org" &&
	argv_expect -t -i -fbounces@example.org &&
	wait_received 2 &&
	expect_envelope 2 bounces@example.org alice@example.org &&
	cat >expect <<-\EOF &&
	To: alice@example.org
	Subject: Bounce here
	From: Shop <shop@example.org>
	Date: *
	Message-ID: *
	EOF
	received_headers 2 >actual &&
	test_cmp expect actual
'

test_expect_success 'mail() with "-f address" as two words' '
	argv_reset &&
	php_mail alice@example.org "Two words" "body" \
		"From: shop@example.org" "-f bounces@example.org" &&
	argv_expect -t -i -f bounces@example.org &&
	wait_received 3 &&
	expect_envelope 3 bounces@example.org alice@example.org
'

test_expect_success 'mail() with no From: sendq writes a qualified one' '
	argv_reset &&
	php_mail root "No From" "body" "X-Priority: 3" &&
	argv_expect -t -i &&
	wait_received 4 &&
	expect_envelope 4 root@example.com ops@example.net &&
	cat >expect <<-\EOF &&
	To: root@example.com
	Subject: No From
	X-Priority: 3
	Date: *
	Message-ID: *
	From: root <root@example.com>
	EOF
	received_headers 4 >actual &&
	test_cmp expect actual
'

# Sendmail and Postfix complete a bare name in a From: the caller wrote;
# the issue of record asks for the same (qualified, never replaced).
test_expect_success 'mail() with "From: webmaster": the From is qualified' '
	argv_reset &&
	php_mail alice@example.org "Bare From" "body" "From: webmaster" &&
	wait_received 5 &&
	expect_envelope 5 root@example.com alice@example.org &&
	received_headers 5 >actual &&
	grep "^From: webmaster@example.com$" actual
'

# CVE-2016-10033: a crafted sender that PHP's escaping splits into extra
# sendmail options, -oQ and a -X log file that would become a web shell.
# sendq refuses the broken sender (mail() returns false), queues nothing
# and writes no file.
test_expect_success 'mail() with the CVE-2016-10033 sender: refused, no file' '
	argv_reset &&
	test_expect_code 1 php_mail alice@example.org "CVE" "<?php echo 1; ?>" \
		"From: a@example.org" \
		"-f\"attacker\\\" -oQ$TRASH/q -X$TRASH/shell.php some\"@example.org" \
		2>err &&
	argv_expect -t -i "-fattacker\\" "-oQ$TRASH/q" "-X$TRASH/shell.php" \
		"some\"@example.org" &&
	echo "sendmail: sender: <attacker\\>: special character in address" >expect &&
	test_cmp expect err &&
	test ! -e "$TRASH/shell.php" &&
	test ! -e "$TRASH/q"
'

test_expect_success 'mail() reports a refused message as false' '
	argv_reset &&
	test_expect_code 1 php_mail "a@@example.org" "Refused" "body" "" 2>err &&
	echo "sendmail: header: To: not an address list" >expect &&
	test_cmp expect err &&
	test "$(received_count)" = 5 &&
	test -d "$TRASH/queue/q" &&
	test -z "$(ls -A "$TRASH/queue/q")"
'

test_done
