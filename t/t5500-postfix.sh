#!/bin/sh

test_description='relaying through a real Postfix with STARTTLS and SASL'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-postfix.sh"

postfix_prereq
start_postfix

# Retries are due one second after a failure, so that queue runs in a
# wait_for loop see them again soon.
conf() { postfix_write_conf queue.retry_first=1s queue.retry_max=1s "$@"; }
sm() { "$SENDMAIL" -C "$SENDQ_INI" "$@"; }

# The message as delivered, in parts that stay the same from run to run:
#   show.py headers FILE   From, To, Cc, Bcc, Subject as they arrived
#   show.py body FILE      a single part: its decoded bytes; a multipart:
#                          "TYPE FILENAME LENGTH SHA256" per leaf part
#   show.py maxline FILE   the longest line, in octets
cat >show.py <<'EOF'
import email, hashlib, sys
from email import policy

what, path = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
out = sys.stdout.buffer
if what == "maxline":
    out.write(b"%d\n" % max(len(l) for l in raw.split(b"\n")))
    sys.exit(0)
m = email.message_from_bytes(raw, policy=policy.compat32)
if what == "headers":
    for k, v in m._headers:
        if k.lower() in ("from", "to", "cc", "bcc", "subject"):
            out.write(k.encode() + b": " +
                      v.encode("ascii", "surrogateescape") + b"\n")
elif not m.is_multipart():
    out.write(m.get_payload(decode=True))
else:
    for p in m.walk():
        if p.is_multipart():
            continue
        data = p.get_payload(decode=True)
        out.write(("%s %s %d %s\n" % (p.get_content_type(),
                   p.get_filename() or "-", len(data),
                   hashlib.sha256(data).hexdigest())).encode())
EOF
show() { "$PYTHON" show.py "$@"; }

# queue_lines: what mailq says, without its title line and the line that
# carries the queue id and arrival time.
queue_lines() { sm -bp | sed -e 1,2d -e 's/^ *//'; }

conf
echo "Mail queue is empty" >empty

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

test_expect_success '-t: To and Cc get it, Bcc gets it without the Bcc field' '
	mailbox_clear &&
	cat >msg <<-\EOF &&
	From: Sender <sender@example.com>
	To: Bob <bob@example.com>
	Cc: carol@example.com
	Bcc: dave@example.com
	Subject: with copies

	to bob, a copy to carol, a blind copy to dave
	EOF
	sm -t -odi -f sender@example.com <msg &&
	grep -v "^Bcc:" msg >expect &&
	for u in bob carol dave; do
		wait_for "test \$(mailbox_count $u) = 1" &&
		f=$(mailbox_msg $u) &&
		{ show headers "$f" && echo && show body "$f"; } >actual &&
		test_cmp expect actual &&
		grep "^X-Original-To: $u@example.com$" "$f" || return 1
	done &&
	test "$(mailbox_count alice)" = 0 &&
	sm -bp >actual &&
	test_cmp empty actual
'

test_expect_success 'an 8-bit UTF-8 body and a UTF-8 subject arrive unchanged' '
	mailbox_clear &&
	cat >msg <<-\EOF &&
	From: Sender <sender@example.com>
	To: alice@example.com
	Subject: Grüße aus Köln ☃
	MIME-Version: 1.0
	Content-Type: text/plain; charset=utf-8
	Content-Transfer-Encoding: 8bit

	Größenordnung: 10⁶ Ω
	日本語のテキスト
	EOF
	sm -odi -f sender@example.com alice@example.com <msg &&
	wait_for "test \$(mailbox_count alice) = 1" &&
	f=$(mailbox_msg alice) &&
	{ show headers "$f" && echo && show body "$f"; } >actual &&
	sed -e "/^MIME-Version:/d" -e "/^Content-/d" msg >expect &&
	test_cmp expect actual &&
	grep "^Content-Transfer-Encoding: 8bit$" "$f"
'

test_expect_success 'a 10 MB attachment arrives intact' '
	mailbox_clear &&
	head -c 10485760 /dev/urandom >data.bin &&
	"$PYTHON" - >msg <<-\EOF &&
	import base64
	data = base64.encodebytes(open("data.bin", "rb").read()).decode()
	print("From: Sender <sender@example.com>\nTo: alice@example.com\n"
	      "Subject: big\nMIME-Version: 1.0\n"
	      "Content-Type: multipart/mixed; boundary=b0undary\n\n"
	      "--b0undary\nContent-Type: text/plain\n\nsee the attachment\n"
	      "--b0undary\nContent-Type: application/octet-stream\n"
	      "Content-Disposition: attachment; filename=data.bin\n"
	      "Content-Transfer-Encoding: base64\n\n" + data +
	      "--b0undary--")
	EOF
	sm -odi -f sender@example.com alice@example.com <msg &&
	wait_for "test \$(mailbox_count alice) = 1" 30 &&
	show body "$(mailbox_msg alice)" >actual &&
	{
		echo "text/plain - 18 $(printf "see the attachment" | sha256sum | cut -d" " -f1)" &&
		echo "application/octet-stream data.bin 10485760 $(sha256sum <data.bin | cut -d" " -f1)"
	} >expect &&
	test_cmp expect actual
'

test_expect_success 'a 5,000-character line arrives intact, no line over 998' '
	mailbox_clear &&
	"$PYTHON" -c "print(\"\".join(\"%09d \" % i for i in range(500)).rstrip())" >long &&
	test "$(wc -c <long)" = 5000 &&
	{ echo before && cat long && echo after; } >body &&
	{ printf "From: Sender <sender@example.com>\nTo: alice@example.com\nSubject: long\n\n" && cat body; } >msg &&
	sm -odi -f sender@example.com alice@example.com <msg &&
	wait_for "test \$(mailbox_count alice) = 1" &&
	f=$(mailbox_msg alice) &&
	show body "$f" >actual &&
	test_cmp body actual &&
	test "$(show maxline "$f")" -le 998
'

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
