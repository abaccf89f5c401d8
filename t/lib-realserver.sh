# lib-realserver.sh: what the tests against real smarthosts (t5500
# Postfix, t5600 Exim) share. Sourced once the server runs and the script
# has defined conf() (writing sendq.ini for it, retries due a second after
# a failure) and set RCPT_FIELD (the header field the server adds with the
# recipient's address). It writes the config, and
# realserver_shared_tests defines the tests that read alike for both.

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

# realserver_shared_tests: -t with Cc and Bcc, 8-bit text, a 10 MB
# attachment and a 5,000-character line, through the server.
realserver_shared_tests() {
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
		grep "^$RCPT_FIELD: $u@example.com$" "$f" || return 1
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
}
