#!/bin/sh

test_description='command line: recipients, --, -t, Bcc, -i and the dot, -f/-r, -F, -C, -v, ignored and unknown options'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf smarthost.helo=client.example

# A message whose header sendq leaves alone.
complete() {
	printf 'From: Alice <alice@example.net>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

# rcpts N: the recipients of the Nth message, one a line.
rcpts() { received_field "$1" rcpt_tos; }

test_expect_success 'recipients from the arguments, one of them a list' '
	complete args | sm -odi a@example.org "b@example.org, Cee <c@example.org>" &&
	printf "%s\n" "MAIL FROM:<root@example.com>" "RCPT TO:<a@example.org>" \
		"RCPT TO:<b@example.org>" "RCPT TO:<c@example.org>" >expect &&
	envelope 1 >actual &&
	test_cmp expect actual &&
	complete args | crlf >expect &&
	test_cmp expect "$(received_msg 1)"
'

test_expect_success '-- ends the options' '
	complete dashdash | sm -odi -- a@example.org b@example.org &&
	printf "%s\n" a@example.org b@example.org >expect &&
	rcpts 2 >actual &&
	test_cmp expect actual
'

test_expect_success 'an option after the first recipient is refused as a recipient' '
	complete late | test_expect_code 64 sm -odi a@example.org -oQ/tmp 2>err &&
	echo "sendmail: recipient: \"-oQ/tmp\": not an address" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = 2
'

test_expect_success '-t: To, Cc and Bcc added to the arguments, each once, Bcc removed' '
	printf "%s\n" "From: Alice <alice@example.net>" \
		"To: a@example.org, \"Bee\" <b@EXAMPLE.org>" \
		"Cc: c@example.org," " a@example.org" "Bcc: d@example.org," \
		"	\"Eee\" <e@example.org>" "Subject: union" "" body >msg &&
	sm -odi -t b@example.org x@example.org <msg &&
	printf "%s\n" b@example.org x@example.org a@example.org c@example.org \
		d@example.org e@example.org >expect &&
	rcpts 3 >actual &&
	test_cmp expect actual &&
	crlf >expect <<-\EOF &&
	From: Alice <alice@example.net>
	To: a@example.org, "Bee" <b@EXAMPLE.org>
	Cc: c@example.org,
	 a@example.org
	Subject: union

	body
	EOF
	masked 3 >actual &&
	test_cmp expect actual
'

test_expect_success '-t alone: only the header recipients; a Bcc-only message' '
	printf "From: a@example.net\nBcc: hidden@example.org\nSubject: bcc only\n\nbody\n" |
	sm -odi -t &&
	echo hidden@example.org >expect &&
	rcpts 4 >actual &&
	test_cmp expect actual &&
	printf "From: a@example.net\nSubject: bcc only\n\nbody\n" | crlf >expect &&
	masked 4 >actual &&
	test_cmp expect actual
'

test_expect_success 'without -t the header names no recipient, and Bcc is removed too' '
	printf "From: a@example.net\nTo: to@example.org\nCc: cc@example.org\nBcc: bcc@example.org\nSubject: no -t\n\nbody\n" |
	sm -odi only@example.org &&
	echo only@example.org >expect &&
	rcpts 5 >actual &&
	test_cmp expect actual &&
	printf "From: a@example.net\nTo: to@example.org\nCc: cc@example.org\nSubject: no -t\n\nbody\n" |
	crlf >expect &&
	masked 5 >actual &&
	test_cmp expect actual
'

cat >dots <<\END
Subject: dots

.leading dot
..two dots
. dot and space
...
.
after the lone dot
END

test_expect_success 'without -i a lone dot ends the message and ".." loses a dot' '
	sm -odi a@example.org <dots &&
	n=$(received_count) &&
	crlf >expect <<-\EOF &&
	Subject: dots
	From: root <root@example.com>

	.leading dot
	.two dots
	. dot and space
	..
	EOF
	masked $n >actual &&
	test_cmp expect actual
'

test_expect_success 'without -i a lone dot with CRLF ends the message too' '
	printf "Subject: crlf dot\r\n\r\nbefore\r\n.\r\nafter\r\n" |
	sm -odi a@example.org &&
	n=$(received_count) &&
	printf "Subject: crlf dot\nFrom: root <root@example.com>\n\nbefore\n" |
	crlf >expect &&
	masked $n >actual &&
	test_cmp expect actual
'

for flag in -i -oi -ti
do
	test_expect_success "$flag: every line is kept, dots and all" '
		before=$(received_count) &&
		sed "1i To: a@example.org" dots | sm -odi $flag a@example.org &&
		test "$(received_count)" = $((before + 1)) &&
		{ echo "To: a@example.org" && sed "1a From: root <root@example.com>" dots; } |
		crlf >expect &&
		masked $((before + 1)) >actual &&
		test_cmp expect actual
	'
done

test_expect_success '-f and -r, separate and attached; a bare name is qualified' '
	complete sender >msg &&
	n=$(received_count) &&
	sm -odi -f s1@example.net a@example.org <msg &&
	sm -odi -fs2@example.net a@example.org <msg &&
	sm -odi -r s3@example.net a@example.org <msg &&
	sm -odi -rs4@example.net a@example.org <msg &&
	sm -odi -f "<s5@example.net>" a@example.org <msg &&
	sm -odi -f s6 a@example.org <msg &&
	printf "%s\n" s1@example.net s2@example.net s3@example.net \
		s4@example.net s5@example.net s6@example.com >expect &&
	for i in 1 2 3 4 5 6; do received_field $((n + i)) mail_from; done >actual &&
	test_cmp expect actual &&
	complete sender | crlf >expect &&
	test_cmp expect "$(received_msg $((n + 6)))"
'

test_expect_success '-f <>, -f<> and -f "": the null sender' '
	complete null >msg &&
	n=$(received_count) &&
	sm -odi -f "<>" a@example.org <msg &&
	sm -odi "-f<>" a@example.org <msg &&
	sm -odi -f "" a@example.org <msg &&
	printf "MAIL FROM:<>\nRCPT TO:<a@example.org>\n" >expect &&
	for i in 1 2 3; do
		envelope $((n + i)) >actual && test_cmp expect actual || exit 1
	done
'

test_expect_success '-F: the name in the From field that sendq writes' '
	n=$(received_count) &&
	printf "Subject: full name\n\nbody\n" |
	sm -odi -F "Jane Q. Doe" -f jane@example.net a@example.org &&
	printf "Subject: full name\n\nbody\n" | sm -odi "-FBackup Job" a@example.org &&
	printf "Subject: full name\nFrom: \"Jane Q. Doe\" <jane@example.net>\n\nbody\n" |
	crlf >expect &&
	masked $((n + 1)) >actual &&
	test_cmp expect actual &&
	printf "Subject: full name\nFrom: Backup Job <root@example.com>\n\nbody\n" |
	crlf >expect &&
	masked $((n + 2)) >actual &&
	test_cmp expect actual
'

test_expect_success '-F does not touch a From field that is there' '
	complete keepfrom | sm -odi -F "Other Name" a@example.org &&
	n=$(received_count) &&
	complete keepfrom | crlf >expect &&
	test_cmp expect "$(received_msg $n)"
'

test_expect_success '-C: another configuration file, relative or absolute' '
	mkdir -p other &&
	n=$(received_count) &&
	sed "s/^domain = .*/domain = other.example/" "$SENDQ_INI" >other/o.ini &&
	chmod 600 other/o.ini &&
	(cd other && complete conf | "$SENDMAIL" -C o.ini -odi a@example.org) &&
	complete conf | "$SENDMAIL" -C"$TRASH/other/o.ini" -odi a@example.org &&
	received_field $((n + 1)) mail_from >actual &&
	received_field $((n + 2)) mail_from >>actual &&
	printf "%s\n" root@other.example root@other.example >expect &&
	test_cmp expect actual
'

test_expect_success '-v: the SMTP conversation on stderr, AUTH hidden' '
	n=$(received_count) &&
	complete verbose | sm -v a@example.org >out 2>err &&
	test ! -s out &&
	test "$(received_count)" = $((n + 1)) &&
	q=$(printf %04d $((n + 1))) &&
	sed -n -e "s/ SIZE=[0-9]*//" -e "/^\(>>>\|<<<\) /p" err >actual &&
	cat >expect <<-EOF &&
	<<< 220 localhost ESMTP sendq test smarthost
	>>> EHLO client.example
	<<< 250-localhost
	<<< 250-SIZE 33554432
	<<< 250-8BITMIME
	<<< 250-SMTPUTF8
	<<< 250-STARTTLS
	<<< 250-PIPELINING
	<<< 250-ENHANCEDSTATUSCODES
	<<< 250-DSN
	<<< 250 HELP
	>>> STARTTLS
	<<< 220 2.0.0 Ready to start TLS
	>>> EHLO client.example
	<<< 250-localhost
	<<< 250-SIZE 33554432
	<<< 250-8BITMIME
	<<< 250-SMTPUTF8
	<<< 250-AUTH LOGIN PLAIN
	<<< 250-PIPELINING
	<<< 250-ENHANCEDSTATUSCODES
	<<< 250-DSN
	<<< 250 HELP
	>>> AUTH ***
	<<< 235 2.7.0 Authentication successful
	>>> MAIL FROM:<root@example.com>
	<<< 250 2.1.0 OK
	>>> RCPT TO:<a@example.org>
	<<< 250 2.1.5 OK
	>>> DATA
	<<< 354 End data with <CR><LF>.<CR><LF>
	>>> .
	<<< 250 2.0.0 OK: queued as $q
	>>> QUIT
	<<< 221 2.0.0 Bye
	EOF
	test_cmp expect actual &&
	! grep -e test-password-1 -e AHRlc3QAdGVzdC1wYXNzd29yZC0x \
		-e dGVzdC1wYXNzd29yZC0x -e "^body" err
'

test_expect_success 'an unknown option: a warning, and the mail still goes out' '
	n=$(received_count) &&
	complete unknown | sm -odi -K a@example.org 2>err &&
	echo "sendmail: option -K ignored" >expect &&
	test_cmp expect err &&
	test "$(received_count)" = $((n + 1)) &&
	complete unknown | crlf >expect &&
	test_cmp expect "$(received_msg $((n + 1)))"
'

test_expect_success 'classic options are accepted quietly; -X never opens its file' '
	n=$(received_count) &&
	complete ignored |
	sm -odi -B8BITMIME -B 7BIT -N success,failure -R hdrs -V envid.1 \
		-oem -oee -oep -h 5 -h5 -L tag -Ltag -G -U \
		-X "$TRASH/x-log" -X"$TRASH/x-log2" -O DeliveryMode=q \
		-OQueueDirectory="$TRASH/o-queue" -oQ"$TRASH/oq-queue" \
		-- a@example.org >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(received_count)" = $((n + 1)) &&
	echo a@example.org >expect &&
	rcpts $((n + 1)) >actual &&
	test_cmp expect actual &&
	complete ignored | crlf >expect &&
	test_cmp expect "$(received_msg $((n + 1)))" &&
	test ! -e "$TRASH/x-log" &&
	test ! -e "$TRASH/x-log2" &&
	test ! -e "$TRASH/o-queue" &&
	test ! -e "$TRASH/oq-queue" &&
	test "$(queued)" = 0
'

test_done
