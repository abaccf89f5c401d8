#!/bin/sh

test_description='the queue file through the programs: its layout, a 10 MB round trip, damaged files moved aside'
. "$(dirname "$0")/test-lib.sh"

echo "MAIL a@example.com 451 4.3.0 try later" >script
start_smtpd --script "$TRASH/script" && write_conf
QDIR=$TRASH/queue

qids() { ls "$QDIR/q" | grep -x '[0-9A-F]\{18\}' || :; }

# A message that needs no header added, so that what is queued and what
# arrives are exactly what was given (with CRLF line ends).
printf 'From: A <a@example.com>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <layout@example.com>\r\nSubject: layout \303\251\r\n\r\nbody\r\n' >layout.msg

test_expect_success 'the layout: magic, one record each, content, end record' '
	"$SENDMAIL" -C "$SENDQ_INI" -odq -f a@example.com -N failure,delay \
		-R hdrs -V env42 b@example.com c@example.com <layout.msg &&
	id=$(qids) &&
	test -n "$id" &&
	u="$(id -u) $(id -un)" &&
	size=$(wc -c <layout.msg) &&
	{
		printf "SENDQ1\nI18:%s\nT10:TIME\nU%d:%s\n" "$id" ${#u} "$u" &&
		printf "F13:a@example.com\nE5:env42\nN13:failure,delay\nY4:hdrs\n" &&
		printf "R13:b@example.com\nR13:c@example.com\nQ0:\nM%d:" "$size" &&
		cat layout.msg &&
		printf "\nB8:8BITMIME\nL2:36\nZ%d:%d 2\n" $((${#size} + 2)) "$size"
	} >expect &&
	sed "s/^T10:[0-9]\{10\}$/T10:TIME/" "$QDIR/q/$id" >actual &&
	test_cmp expect actual &&
	test "$(stat -c %a "$QDIR/q/$id")" = 600
'

test_expect_success 'a deferral appends one record per recipient and one attempt' '
	id=$(qids) &&
	cp "$QDIR/q/$id" before &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test "$(received_count)" = 0 &&
	cmp -n "$(wc -c <before)" before "$QDIR/q/$id" &&
	tail -c +$(($(wc -c <before) + 1)) "$QDIR/q/$id" |
		sed "s/^a21:[0-9]\{10\} [0-9]\{10\}$/a21:WHEN NEXT/" >actual &&
	cat >expect <<-\EOF &&
	w21:0 451 4.3.0 try later
	w21:1 451 4.3.0 try later
	a21:WHEN NEXT
	EOF
	test_cmp expect actual
'

test_expect_success 'once sent, the file is gone and the message arrives as queued' '
	: >script &&
	"$SENDMAIL" -C "$SENDQ_INI" -qI &&
	test "$(received_count)" = 1 &&
	cmp layout.msg "$(received_msg 1)" &&
	printf "%s\n" "MAIL FROM:<a@example.com> SIZE=$(wc -c <layout.msg) BODY=8BITMIME RET=HDRS ENVID=env42" \
		"RCPT TO:<b@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.com" \
		"RCPT TO:<c@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;c@example.com" >expect &&
	received_envelope 1 >actual &&
	test_cmp expect actual &&
	test -z "$(qids)"
'

# 10 MB: lines of every length up to 998, leading dots, a lone dot, 8-bit
# bytes, no NUL.
awk 'BEGIN {
	printf "From: A <a@example.com>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	printf "Message-ID: <big@example.com>\r\nSubject: big\r\n\r\n"
	line = ""
	for (i = 0; i < 998; i++) line = line sprintf("%c", 33 + i % 94)
	total = 0; n = 0
	while (total < 10 * 1024 * 1024) {
		n++
		len = (n * 37) % 999
		s = substr(line, 1 + n % 50, len)
		if (n % 97 == 0) s = "." s
		if (n % 1009 == 0) s = "."
		if (n % 13 == 0) s = s "\303\251\377"
		printf "%s\r\n", s
		total += length(s) + 2
	}
}' >big.msg

test_expect_success 'a 10 MB message goes through byte for byte' '
	test "$(wc -c <big.msg)" -gt 10485760 &&
	"$SENDMAIL" -C "$SENDQ_INI" -odq -i -f a@example.com d@example.com <big.msg &&
	id=$(qids) &&
	test "$(grep -ac "^M[0-9]*:" "$QDIR/q/$id")" -ge 160 &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test "$(received_count)" = 2 &&
	cmp big.msg "$(received_msg 2)" &&
	test -z "$(qids)"
'

# damage ID: a queue file with bytes the runner must refuse.
queue_one() {
	"$SENDMAIL" -C "$SENDQ_INI" -odq -f a@example.com e@example.com <layout.msg &&
	qids
}

test_expect_success 'a wrong id record: moved to corrupt/, not sent' '
	id=$(queue_one) &&
	case $id in *0) other=${id%?}1 ;; *) other=${id%?}0 ;; esac &&
	mv "$QDIR/q/$id" "$QDIR/q/$other" &&
	cp "$QDIR/q/$other" saved &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test -z "$(qids)" &&
	cmp saved "$QDIR/corrupt/$other" &&
	test "$(received_count)" = 2 &&
	echo "Mail queue is empty" >expect &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >actual &&
	test_cmp expect actual
'

test_expect_success 'an unknown version: moved to corrupt/, not sent' '
	id=$(queue_one) &&
	sed "1s/^SENDQ1$/SENDQ2/" "$QDIR/q/$id" >tmp &&
	cat tmp >"$QDIR/q/$id" &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test -z "$(qids)" &&
	cmp tmp "$QDIR/corrupt/$id" &&
	test "$(received_count)" = 2
'

test_expect_success 'garbage under a queue id: moved aside; other names left alone' '
	printf "not a queue file\n" >"$QDIR/q/0123456789ABCDEF01" &&
	printf "notes\n" >"$QDIR/q/README" &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test -f "$QDIR/corrupt/0123456789ABCDEF01" &&
	test -f "$QDIR/q/README" &&
	rm "$QDIR/q/README" &&
	test "$(received_count)" = 2
'

test_expect_success 'a file cut before its end record is not sent, and goes after a day' '
	id=$(queue_one) &&
	size=$(wc -c <"$QDIR/q/$id") &&
	head -c $((size - 3)) "$QDIR/q/$id" >tmp &&
	cat tmp >"$QDIR/q/$id" &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test "$(received_count)" = 2 &&
	test -f "$QDIR/q/$id" &&
	echo "Mail queue is empty" >expect &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >actual &&
	test_cmp expect actual &&
	touch -d "2 days ago" "$QDIR/q/$id" &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test -z "$(qids)" &&
	test ! -e "$QDIR/corrupt/$id" &&
	test "$(received_count)" = 2
'

test_expect_success 'a record cut after the end record is ignored, and overwritten' '
	id=$(queue_one) &&
	printf "s12:0 250 O" >>"$QDIR/q/$id" &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test "$(received_count)" = 3 &&
	test -z "$(qids)" &&
	sed "1,/^\r$/d" layout.msg >expect &&
	sed "1,/^\r$/d" "$(received_msg 3)" >actual &&
	test_cmp expect actual
'

test_expect_success 'the corrupt/ files stay where they are' '
	ls "$QDIR/corrupt" | wc -l >actual &&
	echo 3 >expect &&
	test_cmp expect actual
'

test_done
