#!/bin/sh

test_description='Symfony Mailer and swaks: sendmail -bs and -t'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-callers.sh"

need_programs php
SYMFONY=/usr/share/php/Symfony/Component/Mailer/autoload.php
[ -f "$SYMFONY" ] || test_skip_all "php-symfony-mailer is not installed"
callers_setup

# send.php COMMAND N: sends N messages (1 by default) through one
# SendmailTransport built with COMMAND, the way a Symfony application
# configured with "sendmail://default?command=..." does.
cat >send.php <<EOF
<?php
require '$SYMFONY';
require '/usr/share/php/Symfony/Component/Mime/autoload.php';
use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

\$mailer = new Mailer(new SendmailTransport(\$argv[1]));
for (\$i = 1; \$i <= (\$argv[2] ?? 1); \$i++) {
	\$mailer->send((new Email())
		->from('Shop <shop@example.org>')
		->to('alice@example.org', 'Bob <bob@example.org>')
		->cc('carol@example.org')
		->bcc('dave@example.org')
		->subject("Order \$i")
		->text("Thanks.\n.\n..two dots\nbye\n"));
}
EOF

printf 'Thanks.\n.\n..two dots\nbye\n' >expect.body
# Over SMTP Symfony ends the data with "\r\n.\r\n" after a body that
# already ends in CRLF: any server stores one more empty line.
printf 'Thanks.\n.\n..two dots\nbye\n\n' >expect.body-smtp
cat >expect.headers <<\EOF
From: Shop <shop@example.org>
To: alice@example.org, Bob <bob@example.org>
Cc: carol@example.org
Subject: Order 1
Message-ID: *
MIME-Version: 1.0
Date: *
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
EOF

# check_message N [I [BODY]]: message N is the Ith one send.php writes,
# with the body in the file BODY (expect.body).
check_message() {
	expect_envelope "$1" shop@example.org alice@example.org \
		bob@example.org carol@example.org dave@example.org &&
	sed "s/^Subject: Order 1/Subject: Order ${2:-1}/" expect.headers >expect &&
	received_headers "$1" >actual &&
	test_cmp expect actual &&
	received_body "$1" >actual &&
	test_cmp "${3:-expect.body}" actual
}

# -t mode: Symfony drops -t (it has the recipients), adds -f and the
# recipients after --, and without -i doubles the dots itself, trusting
# sendmail to undo it as Sendmail does.
test_expect_success 'Symfony, -t mode' '
	argv_reset &&
	php send.php "$MAILER -t" &&
	argv_expect -fshop@example.org -- alice@example.org bob@example.org \
		carol@example.org dave@example.org &&
	wait_received 1 &&
	check_message 1
'

test_expect_success 'Symfony, -t -i mode (dots left alone)' '
	argv_reset &&
	php send.php "$MAILER -t -i" &&
	argv_expect -i -fshop@example.org -- alice@example.org bob@example.org \
		carol@example.org dave@example.org &&
	wait_received 2 &&
	check_message 2
'

# -bs, Symfony's default: one SMTP session on a pipe, Bcc recipients in
# RCPT only (Symfony removes the Bcc header itself).
test_expect_success 'Symfony, -bs mode (the default transport)' '
	argv_reset &&
	php send.php "$MAILER -bs" &&
	argv_expect -bs &&
	wait_received 3 &&
	check_message 3 1 expect.body-smtp
'

test_expect_success 'Symfony, -bs mode: two messages in one session' '
	argv_reset &&
	php send.php "$MAILER -bs" 2 &&
	argv_expect -bs &&
	wait_received 5 &&
	# each is queued and handed to a runner of its own: either may
	# arrive first
	if grep -q "^Subject: Order 1" "$(received_msg 4)"; then
		check_message 4 1 expect.body-smtp &&
		check_message 5 2 expect.body-smtp
	else
		check_message 4 2 expect.body-smtp &&
		check_message 5 1 expect.body-smtp
	fi
'

test_swaks=test_expect_success
command -v swaks >/dev/null 2>&1 || test_swaks=:
$test_swaks 'swaks --pipe "sendmail -bs"' '
	argv_reset &&
	swaks --pipe "$MAILER -bs" --helo client.example.org \
		--from sender@example.org --to alice@example.org,bob@example.org \
		--header "Subject: from swaks" --body "$(printf "one\n.\ntwo")" \
		>swaks.out 2>&1 &&
	argv_expect -bs &&
	grep "^<-  250" swaks.out &&
	grep "^<-  221" swaks.out &&
	! grep "^<[-*]* *[45][0-9][0-9]" swaks.out &&
	wait_received 6 &&
	expect_envelope 6 sender@example.org alice@example.org bob@example.org &&
	cat >expect <<-\EOF &&
	Date: *
	To: alice@example.org,bob@example.org
	From: sender@example.org
	Subject: from swaks
	Message-Id: *
	X-Mailer: *
	EOF
	received_headers 6 >actual &&
	test_cmp expect actual &&
	# swaks ends its body with an empty line, then "\r\n.\r\n"
	printf "one\n.\ntwo\n\n\n" >expect &&
	received_body 6 >actual &&
	test_cmp expect actual
'

test_done
