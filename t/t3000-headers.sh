#!/bin/sh

test_description='the message: header completion, line ends, cron and PHP as they call sendmail'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf "aliases.root=ops@example.org, oncall@example.org"

# last: the number of the last message received.
last() { received_count; }

test_expect_success 'Date, Message-ID and From are added when missing, after the rest' '
	printf "Subject: bare\nTo: a@example.org\n\nbody\n" | sm -odi a@example.org &&
	crlf >expect <<-\EOF &&
	Subject: bare
	To: a@example.org
	Date: DATE
	Message-ID: MSGID
	From: root <root@example.com>

	body
	EOF
	stamped $(last) >actual &&
	test_cmp expect actual &&
	check_stamps $(last)
'

test_expect_success 'two messages get two Message-IDs' '
	printf "Subject: one\n\nbody\n" | sm -odi a@example.org &&
	printf "Subject: two\n\nbody\n" | sm -odi a@example.org &&
	n=$(last) &&
	grep "^Message-ID: " "$(received_msg $n)" >one &&
	grep "^Message-ID: " "$(received_msg $((n - 1)))" >two &&
	test_must_fail cmp one two
'

test_expect_success 'a Date that is there is kept; the others are added' '
	printf "Date: Tue, 2 Jan 2024 03:04:05 +0100\nSubject: d\n\nbody\n" |
	sm -odi a@example.org &&
	crlf >expect <<-\EOF &&
	Date: Tue, 2 Jan 2024 03:04:05 +0100
	Subject: d
	Message-ID: MSGID
	From: root <root@example.com>

	body
	EOF
	sed "s/^Message-ID: [^\r]*/Message-ID: MSGID/" "$(received_msg $(last))" >actual &&
	test_cmp expect actual
'

test_expect_success 'a Message-ID that is there is kept, whatever its case' '
	printf "message-id: <mine@example.net>\nSubject: m\n\nbody\n" |
	sm -odi a@example.org &&
	crlf >expect <<-\EOF &&
	message-id: <mine@example.net>
	Subject: m
	Date: DATE
	From: root <root@example.com>

	body
	EOF
	stamped $(last) >actual &&
	test_cmp expect actual
'

test_expect_success 'a From that is there is kept, with -F or without' '
	printf "FROM: Someone <someone@example.net>\nSubject: f\n\nbody\n" >msg &&
	sm -odi a@example.org <msg &&
	sm -odi -F "Ignored Name" -f other@example.net a@example.org <msg &&
	crlf >expect <<-\EOF &&
	FROM: Someone <someone@example.net>
	Subject: f
	Date: DATE
	Message-ID: MSGID

	body
	EOF
	stamped $(last) >actual &&
	test_cmp expect actual &&
	stamped $(($(last) - 1)) >actual &&
	test_cmp expect actual &&
	received_field $(last) mail_from >actual &&
	echo other@example.net >expect &&
	test_cmp expect actual
'

test_expect_success 'From is written from -F and -f' '
	printf "Subject: f\n\nbody\n" | sm -odi -F "Build Robot" -f robot@ci.example a@example.org &&
	printf "Subject: f\nFrom: Build Robot <robot@ci.example>\n\nbody\n" | crlf >expect &&
	masked $(last) >actual &&
	test_cmp expect actual
'

test_expect_success 'a complete message is passed on byte for byte' '
	printf "From: a@example.net\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@example.net>\r\nX-Long: %s\r\n\r\n\r\nbody with trailing space \r\n\ttab\r\n\r\n" \
		"$(awk "BEGIN { while (n++ < 900) printf \"v\" }")" >msg &&
	sm -odi a@example.org <msg &&
	test_cmp msg "$(received_msg $(last))"
'

test_expect_success 'an mbox From line, Return-Path and Content-Length are dropped' '
	printf "From someone Mon Jan  1 00:00:00 2024\nReturn-Path: <x@example.net>\nContent-Length: 5\nSubject: dropped\n\nbody\n" |
	sm -odi a@example.org &&
	printf "Subject: dropped\nFrom: root <root@example.com>\n\nbody\n" | crlf >expect &&
	masked $(last) >actual &&
	test_cmp expect actual
'

# The same message with each kind of line end; each must reach the
# smarthost with CRLF and nothing else.
crlf >expect.ends <<\EOF
Subject: line ends
From: root <root@example.com>

one
two

three
EOF

test_expect_success 'LF input becomes CRLF' '
	printf "Subject: line ends\n\none\ntwo\n\nthree\n" | sm -odi a@example.org &&
	masked $(last) >actual &&
	test_cmp expect.ends actual
'

test_expect_success 'CRLF input stays CRLF' '
	printf "Subject: line ends\r\n\r\none\r\ntwo\r\n\r\nthree\r\n" | sm -odi a@example.org &&
	masked $(last) >actual &&
	test_cmp expect.ends actual
'

test_expect_success 'mixed LF and CRLF input becomes CRLF' '
	printf "Subject: line ends\r\n\none\r\ntwo\n\r\nthree\n" | sm -odi a@example.org &&
	masked $(last) >actual &&
	test_cmp expect.ends actual
'

test_expect_success 'a bare CR is a line end too' '
	printf "Subject: line ends\r\rone\rtwo\r\n\rthree\r" | sm -odi a@example.org &&
	masked $(last) >actual &&
	test_cmp expect.ends actual
'

test_expect_success 'a missing final line end is added' '
	printf "Subject: line ends\n\none\ntwo\n\nthree" | sm -odi a@example.org &&
	masked $(last) >actual &&
	test_cmp expect.ends actual &&
	printf "Subject: line ends\n\none\ntwo\n\nthree" | sm -odi -i a@example.org &&
	masked $(last) >actual &&
	test_cmp expect.ends actual
'

test_expect_success 'a message that is only a header gets its blank line' '
	printf "Subject: no body" | sm -odi a@example.org &&
	printf "Subject: no body\nFrom: root <root@example.com>\n\n" | crlf >expect &&
	masked $(last) >actual &&
	test_cmp expect actual
'

# Debian's cron: /usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem MAILTO,
# with a header it writes itself and the output of the job as the body.
test_expect_success 'cron: the exact envelope and message' '
	cat >cron.msg <<-\EOF &&
	From: root (Cron Daemon)
	To: root
	Subject: Cron <root@host> /usr/local/bin/job
	MIME-Version: 1.0
	Content-Type: text/plain; charset=UTF-8
	Content-Transfer-Encoding: 8bit
	X-Cron-Env: <SHELL=/bin/sh>
	X-Cron-Env: <HOME=/root>

	job output: café
	.
	done
	EOF
	n=$(last) &&
	sm -i -FCronDaemon -B8BITMIME -oem root <cron.msg >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	wait_for "test \$(received_count) = $((n + 1)) && test \$(queued) = 0" 20 &&
	printf "%s\n" "MAIL FROM:<root@example.com> BODY=8BITMIME" \
		"RCPT TO:<ops@example.org>" "RCPT TO:<oncall@example.org>" >expect &&
	envelope $(last) >actual &&
	test_cmp expect actual &&
	sed -e "8a Date: DATE\nMessage-ID: MSGID" \
		-e "s/^From: root (Cron Daemon)/From: root@example.com (Cron Daemon)/" \
		-e "s/^To: root$/To: root@example.com/" cron.msg | crlf >expect &&
	stamped $(last) >actual &&
	test_cmp expect actual
'

test_expect_success 'cron without a From field: -F names the sender' '
	printf "To: root\nSubject: Cron <root@host> job\n\noutput\n" |
	sm -odi -i -FCronDaemon -B8BITMIME -oem root &&
	crlf >expect <<-\EOF &&
	To: root@example.com
	Subject: Cron <root@host> job
	Date: DATE
	Message-ID: MSGID
	From: CronDaemon <root@example.com>

	output
	EOF
	stamped $(last) >actual &&
	test_cmp expect actual &&
	printf "%s\n" "MAIL FROM:<root@example.com>" \
		"RCPT TO:<ops@example.org>" "RCPT TO:<oncall@example.org>" >expect &&
	envelope $(last) >actual &&
	test_cmp expect actual
'

# PHP mail(): sh -c "/usr/sbin/sendmail -t -i" (sendmail_path), a CRLF
# header from PHP 8, the body as the script gave it, Bcc in the extra
# headers, and the fifth argument "-fADDR" when the script sets it.
test_expect_success 'PHP mail(): the exact envelope and message' '
	printf "To: Customer <customer@example.org>\r\nSubject: Your order\r\nFrom: Shop <shop@example.net>\r\nBcc: archive@example.net\r\nX-Mailer: PHP/8.2.7\r\n\r\nLine one\n.\n..\nLast line" >php.msg &&
	n=$(last) &&
	sh -c "\"$SENDMAIL\" -C \"$SENDQ_INI\" -t -i" <php.msg >out 2>err &&
	sh -c "\"$SENDMAIL\" -C \"$SENDQ_INI\" -t -i -fbounce@example.net" <php.msg &&
	test ! -s out &&
	test ! -s err &&
	wait_for "test \$(received_count) = $((n + 2)) && test \$(queued) = 0" 20 &&
	for i in $((n + 1)) $((n + 2)); do
		received_field $i mail_from &&
		received_field $i rcpt_tos || exit 1
	done | sort >actual &&
	printf "%s\n" archive@example.net archive@example.net bounce@example.net \
		customer@example.org customer@example.org root@example.com >expect &&
	test_cmp expect actual &&
	crlf >expect <<-\EOF &&
	To: Customer <customer@example.org>
	Subject: Your order
	From: Shop <shop@example.net>
	X-Mailer: PHP/8.2.7
	Date: DATE
	Message-ID: MSGID

	Line one
	.
	..
	Last line
	EOF
	stamped $((n + 1)) >actual &&
	test_cmp expect actual &&
	stamped $((n + 2)) >actual &&
	test_cmp expect actual
'

test_done
