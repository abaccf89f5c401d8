#!/bin/sh

test_description='sendmail -bs: SMTP on stdin and stdout, as Symfony Mailer and swaks use it'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"
. "$SRC/t/lib-bs.sh"

start_smtpd
write_conf smarthost.timeout=20 aliases.root=ops@example.org \
	aliases.webmaster=root

# A message whose header sendq leaves alone, with CRLF line ends.
complete() {
	printf 'From: Alice <alice@example.net>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <%s@example.net>\r\nSubject: %s\r\n\r\nbody\r\n' "$1" "$1"
}

test_expect_success 'greeting, EHLO, QUIT; nothing on stderr, exit 0' '
	printf "EHLO client.example\r\nQUIT\r\n" | sm -bs >out 2>err &&
	{
		echo "220 example.com ESMTP sendq" &&
		bs_ehlo client.example &&
		echo "221 2.0.0 example.com closing"
	} | crlf >expect &&
	test_cmp expect out &&
	test ! -s err &&
	test "$(queued)" = 0
'

test_expect_success 'one message, step by step: queued before its 250, received as sent' '
	complete one >msg &&
	printf ".\r\n" >>msg &&
	cat >script <<-\EOF &&
	CMD EHLO client.example
	CMD MAIL FROM:<alice@example.net>
	CMD RCPT TO:<bob@example.org>
	CMD DATA
	RAW msg
	READ
	CMD QUIT
	EOF
	bs_dialogue script -odi >out 2>err &&
	{
		echo "220 example.com ESMTP sendq" &&
		bs_ehlo client.example &&
		cat <<-\EOF
		250 2.1.0 Sender OK
		250 2.1.5 Recipient OK
		354 End data with <CR><LF>.<CR><LF>
		250 2.0.0 Queued as QUEUEID
		221 2.0.0 example.com closing
		exit 0
		EOF
	} >expect &&
	bs_ids <out >actual &&
	test_cmp expect actual &&
	test ! -s err &&
	test "$(received_count)" = 1 &&
	complete one >expect &&
	test_cmp expect "$(received_msg 1)" &&
	printf "%s\n" "MAIL FROM:<alice@example.net>" "RCPT TO:<bob@example.org>" >expect &&
	envelope 1 >actual &&
	test_cmp expect actual &&
	test "$(queued)" = 0
'

test_expect_success 'the 250 comes only once the message is in the queue' '
	complete durable >msg &&
	printf ".\r\n" >>msg &&
	cat >script <<-EOF &&
	CMD HELO client.example
	CMD MAIL FROM:<alice@example.net>
	CMD RCPT TO:<bob@example.org>
	CMD DATA
	RAW msg
	READ
	SH ls "$TRASH/queue/q"
	CMD QUIT
	EOF
	bs_dialogue script -odq >out &&
	id=$(sed -n "s/^250 2.0.0 Queued as //p" out) &&
	test -n "$id" &&
	sed -n "/^250 2.0.0 Queued as/{n;p;}" out >actual &&
	echo "$id" >expect &&
	test_cmp expect actual &&
	sm -q &&
	test "$(received_count)" = 2 &&
	test "$(queued)" = 0 &&
	complete durable >expect &&
	test_cmp expect "$(received_msg 2)"
'

test_expect_success 'several transactions in one session, all pipelined' '
	{
		printf "EHLO pipe.example\r\n" &&
		printf "MAIL FROM:<a1@example.net>\r\nRCPT TO:<x1@example.org>\r\nRCPT TO:<y1@example.org>\r\nDATA\r\n" &&
		complete first && printf ".\r\n" &&
		printf "MAIL FROM:<a2@example.net>\r\nRCPT TO:<x2@example.org>\r\nRSET\r\n" &&
		printf "MAIL FROM:<a3@example.net> BODY=7BIT SIZE=1000\r\nRCPT TO:<x3@example.org>\r\nDATA\r\n" &&
		complete third && printf ".\r\nQUIT\r\n"
	} >in &&
	sm -bs -odi <in >out 2>err &&
	{
		echo "220 example.com ESMTP sendq" &&
		bs_ehlo pipe.example &&
		cat <<-\EOF
		250 2.1.0 Sender OK
		250 2.1.5 Recipient OK
		250 2.1.5 Recipient OK
		354 End data with <CR><LF>.<CR><LF>
		250 2.0.0 Queued as QUEUEID
		250 2.1.0 Sender OK
		250 2.1.5 Recipient OK
		250 2.0.0 OK
		250 2.1.0 Sender OK
		250 2.1.5 Recipient OK
		354 End data with <CR><LF>.<CR><LF>
		250 2.0.0 Queued as QUEUEID
		221 2.0.0 example.com closing
		EOF
	} | crlf >expect &&
	bs_ids <out >actual &&
	test_cmp expect actual &&
	test ! -s err &&
	test "$(received_count)" = 4 &&
	printf "%s\n" "MAIL FROM:<a1@example.net>" "RCPT TO:<x1@example.org>" \
		"RCPT TO:<y1@example.org>" >expect &&
	envelope 3 >actual &&
	test_cmp expect actual &&
	printf "%s\n" "MAIL FROM:<a3@example.net>" "RCPT TO:<x3@example.org>" >expect &&
	envelope 4 >actual &&
	test_cmp expect actual &&
	complete first >expect &&
	test_cmp expect "$(received_msg 3)" &&
	complete third >expect &&
	test_cmp expect "$(received_msg 4)"
'

test_expect_success 'dot-stuffing undone, a bare LF client understood, CRLF on the wire' '
	n=$(received_count) &&
	{
		printf "MAIL FROM:<alice@example.net>\nRCPT TO:<bob@example.org>\nDATA\n" &&
		printf "From: alice@example.net\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n" &&
		printf "Message-ID: <dots@example.net>\nSubject: dots\n\n" &&
		printf "..\n...two\n..leading\n.single\nplain\r\n . \n.\nQUIT\n"
	} >in &&
	sm -bs -odi <in >out 2>err &&
	test ! -s err &&
	test "$(received_count)" = $((n + 1)) &&
	{
		printf "From: alice@example.net\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n" &&
		printf "Message-ID: <dots@example.net>\nSubject: dots\n\n" &&
		printf ".\n..two\n.leading\nsingle\nplain\n . \n"
	} | crlf >expect &&
	test_cmp expect "$(received_msg $((n + 1)))"
'

test_expect_success 'bad sequences and bad commands: the right replies, nothing queued' '
	n=$(received_count) &&
	cat >in <<-\EOF &&
	RCPT TO:<bob@example.org>
	DATA
	EHLO
	HELO
	MAIL alice@example.net
	MAIL FROM:<alice@example.net
	MAIL FROM:<alice@example.net> BODY=BINARYMIME
	MAIL FROM:<alice@example.net> SIZE=104857601
	MAIL FROM:<alice@example.net> SIZE=ten
	MAIL FROM:<alice@example.net> RET=HDRS
	MAIL FROM:<alice@@example.net>
	MAIL FROM:<-oQ/tmp@example.net>
	MAIL FROM:<alice@example.net>
	MAIL FROM:<carol@example.net>
	DATA
	RCPT bob@example.org
	RCPT TO:<>
	RCPT TO:<bob@example.org> NOTIFY=NEVER
	RCPT TO:<bob smith@example.org>
	DATA
	DATA now
	RSET
	DATA
	VRFY
	VRFY root
	EXPN root
	AUTH PLAIN AHRlc3QAdGVzdAB0ZXN0
	STARTTLS
	BDAT 10 LAST
	FOO bar
	NOOPS
	NOOP
	help
	quit
	EOF
	sm -bs <in >out 2>err &&
	cat >expect <<-\EOF &&
	220 example.com ESMTP sendq
	503 5.5.1 Need MAIL before RCPT
	503 5.5.1 Need MAIL before DATA
	501 5.5.4 Syntax: EHLO hostname
	501 5.5.4 Syntax: HELO hostname
	501 5.5.4 Syntax: MAIL FROM:<address>
	501 5.5.4 Syntax: MAIL FROM:<address>
	501 5.5.4 BODY must be 7BIT or 8BITMIME
	552 5.3.4 Message size exceeds fixed limit of 104857600 bytes
	501 5.5.4 Bad SIZE parameter
	555 5.5.4 Unsupported MAIL parameter
	553 5.1.7 Bad sender address: more than one @
	553 5.1.7 Bad sender address: address starts with -
	250 2.1.0 Sender OK
	503 5.5.1 Sender already given
	503 5.5.1 Need RCPT before DATA
	501 5.5.4 Syntax: RCPT TO:<address>
	501 5.1.3 The null address is no recipient
	555 5.5.4 Unsupported RCPT parameter
	553 5.1.3 Bad recipient address: space or control character in address
	554 5.5.1 No valid recipients
	501 5.5.4 Syntax: DATA
	250 2.0.0 OK
	503 5.5.1 Need MAIL before DATA
	501 5.5.4 Syntax: VRFY address
	252 2.5.2 Cannot VRFY; send the message and delivery will be attempted
	502 5.5.1 EXPN not offered on a local pipe
	502 5.5.1 AUTH not offered on a local pipe
	502 5.5.1 STARTTLS not offered on a local pipe
	502 5.5.1 BDAT not offered on a local pipe
	500 5.5.2 Command not recognised
	500 5.5.2 Command not recognised
	250 2.0.0 OK
	214-2.0.0 sendq on a local pipe: no AUTH, no STARTTLS
	214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA
	214 2.0.0   RSET NOOP QUIT VRFY HELP
	221 2.0.0 example.com closing
	EOF
	tr -d "\r\047" <out >actual &&
	test_cmp expect actual &&
	test ! -s err &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = $n
'

test_expect_success 'senders and recipients: qualified, aliased, <> and source routes' '
	n=$(received_count) &&
	{
		printf "MAIL FROM:<www-data>\r\nRCPT TO:<root>\r\nRCPT TO:<bob>\r\n" &&
		printf "RCPT TO:<webmaster>\r\nRCPT TO:<@relay.example:carol@example.org>\r\n" &&
		printf "RCPT TO:dave@example.org\r\nRCPT TO:<\"e,v\"@example.org>\r\nDATA\r\n" &&
		complete aliases && printf ".\r\n" &&
		printf "MAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" &&
		complete null && printf ".\r\nQUIT\r\n"
	} >in &&
	sm -bs -odi <in >out 2>err &&
	test ! -s err &&
	test "$(grep -c "^250 2.0.0 Queued as" out)" = 2 &&
	printf "%s\n" "MAIL FROM:<www-data@example.com>" \
		"RCPT TO:<ops@example.org>" "RCPT TO:<bob@example.com>" \
		"RCPT TO:<carol@example.org>" "RCPT TO:<dave@example.org>" \
		"RCPT TO:<\"e,v\"@example.org>" >expect &&
	envelope $((n + 1)) >actual &&
	test_cmp expect actual &&
	printf "%s\n" "MAIL FROM:<>" "RCPT TO:<bob@example.org>" >expect &&
	envelope $((n + 2)) >actual &&
	test_cmp expect actual
'

test_expect_success 'a From field is added from MAIL FROM when the message has none' '
	n=$(received_count) &&
	printf "MAIL FROM:<app@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: bare\r\n\r\nhi\r\n.\r\nQUIT\r\n" |
	sm -bs -odi -F "The App" >out 2>err &&
	test ! -s err &&
	grep "^From: The App <app@example.net>" "$(received_msg $((n + 1)))"
'

test_expect_success 'a line over 1 MiB refuses that message only; the session goes on' '
	n=$(received_count) &&
	"$PYTHON" -c "import sys; sys.stdout.buffer.write(b\"x\" * (1024 * 1024 + 1) + b\"\\r\\n\")" >long &&
	"$PYTHON" -c "import sys; sys.stdout.buffer.write(b\"y\" * (1024 * 1024) + b\"\\r\\n\")" >longest &&
	{
		printf "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" &&
		printf "Subject: long\r\n\r\n" && cat long && printf "after\r\n.\r\n" &&
		printf "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" &&
		printf "Subject: longest\r\n\r\n" && cat longest && printf ".\r\n" &&
		printf "QUIT\r\n"
	} >in &&
	sm -bs -odq <in >out 2>err &&
	cat >expect <<-\EOF &&
	220 example.com ESMTP sendq
	250 2.1.0 Sender OK
	250 2.1.5 Recipient OK
	354 End data with <CR><LF>.<CR><LF>
	552 5.3.4 A line of the message is longer than 1048576 bytes; not queued
	250 2.1.0 Sender OK
	250 2.1.5 Recipient OK
	354 End data with <CR><LF>.<CR><LF>
	250 2.0.0 Queued as QUEUEID
	221 2.0.0 example.com closing
	EOF
	tr -d "\r" <out | bs_ids >actual &&
	test_cmp expect actual &&
	test ! -s err &&
	test "$(queued)" = 1 &&
	empty_queue
'

test_expect_success 'a command line over 4096 bytes is refused, the session goes on' '
	"$PYTHON" -c "import sys; sys.stdout.buffer.write(b\"NOOP \" + b\"z\" * 4100 + b\"\\r\\nNOOP\\r\\nQUIT\\r\\n\")" >in &&
	sm -bs <in >out &&
	printf "%s\n" "220 example.com ESMTP sendq" "500 5.5.2 Line too long" \
		"250 2.0.0 OK" "221 2.0.0 example.com closing" | crlf >expect &&
	test_cmp expect out
'

test_expect_success 'NUL bytes: the message is refused (554), a command too (500)' '
	{
		printf "NO\000OP\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" &&
		printf "Subject: nul\r\n\r\nnul \000 here\r\n.\r\nQUIT\r\n"
	} >in &&
	sm -bs -odq <in >out 2>err &&
	cat >expect <<-\EOF &&
	220 example.com ESMTP sendq
	500 5.5.2 NUL byte in command
	250 2.1.0 Sender OK
	250 2.1.5 Recipient OK
	354 End data with <CR><LF>.<CR><LF>
	554 5.6.0 Message holds NUL bytes; not queued
	221 2.0.0 example.com closing
	EOF
	tr -d "\r" <out >actual &&
	test_cmp expect actual &&
	test "$(queued)" = 0
'

test_expect_success 'at most 1000 recipients per message (452 past them)' '
	{
		printf "MAIL FROM:<a@example.net>\r\n" &&
		i=0 && while [ $i -lt 1001 ]; do
			printf "RCPT TO:<r%d@example.org>\r\n" $i; i=$((i + 1))
		done &&
		printf "DATA\r\nSubject: many\r\n\r\nmany\r\n.\r\nQUIT\r\n"
	} >in &&
	sm -bs -odq <in >out 2>err &&
	test ! -s err &&
	test "$(grep -c "^250 2.1.5 " out)" = 1000 &&
	test "$(grep -c "^452 4.5.3 Too many recipients" out)" = 1 &&
	grep "^250 2.0.0 Queued as" out &&
	sm -bp >mailq &&
	test "$(grep -c "r[0-9]*@example.org" mailq)" = 1000 &&
	! grep "r1000@example.org" mailq &&
	empty_queue
'

test_expect_success 'the input ending inside DATA: nothing queued, exit 74' '
	printf "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: cut\r\n\r\nhalf" >in &&
	test_expect_code 74 sm -bs -odq <in >out 2>err &&
	echo "sendmail: -bs: the input ended inside DATA; message not queued" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success 'the input ending between transactions, without QUIT: exit 0' '
	printf "EHLO x\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n" >in &&
	sm -bs -odq <in >out 2>err &&
	test ! -s err &&
	test "$(queued)" = 0
'

test_expect_success '-t and recipient arguments have no meaning with -bs' '
	printf "QUIT\r\n" | sm -bs -t someone@example.org >out 2>err &&
	echo "sendmail: -bs: recipients come from RCPT; arguments and -t ignored" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success '8-bit text with BODY=8BITMIME reaches the smarthost as 8BITMIME' '
	n=$(received_count) &&
	{
		printf "EHLO x\r\nMAIL FROM:<a@example.net> BODY=8BITMIME SMTPUTF8\r\n" &&
		printf "RCPT TO:<b@example.org>\r\nDATA\r\n" &&
		printf "From: a@example.net\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n" &&
		printf "Message-ID: <8bit@example.net>\r\nSubject: 8bit\r\n\r\ncaf\303\251\r\n.\r\nQUIT\r\n"
	} >in &&
	sm -bs -odi <in >out 2>err &&
	test ! -s err &&
	printf "%s\n" "MAIL FROM:<a@example.net> BODY=8BITMIME" \
		"RCPT TO:<b@example.org>" >expect &&
	envelope $((n + 1)) >actual &&
	test_cmp expect actual &&
	printf "From: a@example.net\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <8bit@example.net>\r\nSubject: 8bit\r\n\r\ncaf\303\251\r\n" >expect &&
	test_cmp expect "$(received_msg $((n + 1)))"
'

test_expect_success 'the default -odb: the background runner delivers each message' '
	n=$(received_count) &&
	{
		printf "EHLO x\r\n" &&
		for i in 1 2; do
			printf "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" &&
			complete "bg$i" && printf ".\r\n"
		done &&
		printf "QUIT\r\n"
	} >in &&
	sm -bs <in >out 2>err &&
	test ! -s err &&
	test "$(grep -c "^250 2.0.0 Queued as" out)" = 2 &&
	wait_for "test \$(received_count) = $((n + 2)) && test \$(queued) = 0" 20 &&
	grep -l "^Subject: bg1" "$SMTPD_SPOOL"/*.eml &&
	grep -l "^Subject: bg2" "$SMTPD_SPOOL"/*.eml
'

if command -v swaks >/dev/null 2>&1; then
	test_expect_success 'swaks --pipe speaks to sendmail -bs' '
		n=$(received_count) &&
		swaks --pipe "$SENDMAIL -C $SENDQ_INI -bs -odi" \
			--helo swaks.example --from sw@example.net \
			--to one@example.org,two@example.org \
			--header "Subject: swaks" --body "$(printf ".dot first\nline two")" \
			>out 2>err &&
		test ! -s err &&
		test "$(received_count)" = $((n + 1)) &&
		printf "%s\n" "MAIL FROM:<sw@example.net>" "RCPT TO:<one@example.org>" \
			"RCPT TO:<two@example.org>" >expect &&
		envelope $((n + 1)) >actual &&
		test_cmp expect actual &&
		test "$(received_field $((n + 1)) ehlo)" != swaks.example &&
		tr -d "\r" <"$(received_msg $((n + 1)))" | sed "1,/^$/d" | head -n 2 >actual &&
		printf ".dot first\nline two\n" >expect &&
		test_cmp expect actual &&
		grep "^Subject: swaks" "$(received_msg $((n + 1)))"
	'
	test_expect_success 'swaks --pipeline: the whole envelope in one write' '
		n=$(received_count) &&
		swaks --pipe "$SENDMAIL -C $SENDQ_INI -bs -odi" --pipeline \
			--from pl@example.net --to p1@example.org,p2@example.org \
			--header "Subject: pipelined" --body "pipelined" >out 2>err &&
		grep "^<-  250 2.0.0 Queued as" out &&
		test ! -s err &&
		test "$(received_count)" = $((n + 1)) &&
		printf "%s\n" "MAIL FROM:<pl@example.net>" "RCPT TO:<p1@example.org>" \
			"RCPT TO:<p2@example.org>" >expect &&
		envelope $((n + 1)) >actual &&
		test_cmp expect actual
	'
else
	test_count=$((test_count + 2))
	echo "ok $((test_count - 1)) # skip swaks is not installed"
	echo "ok $test_count # skip swaks is not installed"
fi

test_done
