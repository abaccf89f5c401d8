#!/bin/sh

test_description='the whole sendmail interface: every Sendmail 8 and Postfix option honoured or accepted, never refused; modes; argv[0]'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf smarthost.timeout=20 aliases.root=ops@example.org

# msg SUBJECT: a message with a To field (a recipient only with -t).
msg() {
	printf 'From: Alice <alice@example.net>\nTo: hdr@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

# Each row: the arguments (shell words, before the queue-only -odq is
# added in front), then "|" the envelope sender, then "|" the recipients.
# Every row must queue its message quietly: exit 0, nothing on stdout or
# stderr. The whole table is then delivered by one queue run.
cat >table <<-EOF
a@example.org|root@example.com|a@example.org
-i a@example.org|root@example.com|a@example.org
-oi a@example.org|root@example.com|a@example.org
-oi- a@example.org|root@example.com|a@example.org
-oif a@example.org|root@example.com|a@example.org
-o i a@example.org|root@example.com|a@example.org
-t|root@example.com|hdr@example.org
-t a@example.org|root@example.com|a@example.org hdr@example.org
-ti|root@example.com|hdr@example.org
-it|root@example.com|hdr@example.org
-tif s@example.net|s@example.net|hdr@example.org
-tiFCron|root@example.com|hdr@example.org
-f s@example.net a@example.org|s@example.net|a@example.org
-fs@example.net a@example.org|s@example.net|a@example.org
"-f<s@example.net>" a@example.org|s@example.net|a@example.org
-r s@example.net a@example.org|s@example.net|a@example.org
-rs@example.net a@example.org|s@example.net|a@example.org
-f www-data a@example.org|www-data@example.com|a@example.org
-f "<>" a@example.org||a@example.org
-f "" a@example.org||a@example.org
-F "Cron Daemon" a@example.org|root@example.com|a@example.org
-FCronDaemon a@example.org|root@example.com|a@example.org
-F "" a@example.org|root@example.com|a@example.org
-bm a@example.org|root@example.com|a@example.org
-b m a@example.org|root@example.com|a@example.org
-- a@example.org|root@example.com|a@example.org
root|root@example.com|ops@example.org
bob|root@example.com|bob@example.com
"a@example.org, Bee <b@example.org>"|root@example.com|a@example.org b@example.org
-B 8BITMIME a@example.org|root@example.com|a@example.org
-B8BITMIME a@example.org|root@example.com|a@example.org
-B 7BIT a@example.org|root@example.com|a@example.org
-B bogus a@example.org|root@example.com|a@example.org
-N success,failure a@example.org|root@example.com|a@example.org
-Nnever a@example.org|root@example.com|a@example.org
-R hdrs a@example.org|root@example.com|a@example.org
-Rfull a@example.org|root@example.com|a@example.org
-V envid.1 a@example.org|root@example.com|a@example.org
-Venvid.2 a@example.org|root@example.com|a@example.org
-oem a@example.org|root@example.com|a@example.org
-oep a@example.org|root@example.com|a@example.org
-oeq a@example.org|root@example.com|a@example.org
-oew a@example.org|root@example.com|a@example.org
-oee a@example.org|root@example.com|a@example.org
-em a@example.org|root@example.com|a@example.org
-e q a@example.org|root@example.com|a@example.org
-h 5 a@example.org|root@example.com|a@example.org
-h5 a@example.org|root@example.com|a@example.org
-L tag a@example.org|root@example.com|a@example.org
-Ltag a@example.org|root@example.com|a@example.org
-Am a@example.org|root@example.com|a@example.org
-Ac a@example.org|root@example.com|a@example.org
-G a@example.org|root@example.com|a@example.org
-U a@example.org|root@example.com|a@example.org
-n a@example.org|root@example.com|a@example.org
-m a@example.org|root@example.com|a@example.org
-c a@example.org|root@example.com|a@example.org
-s a@example.org|root@example.com|a@example.org
-x a@example.org|root@example.com|a@example.org
-X $TRASH/x-log a@example.org|root@example.com|a@example.org
-X$TRASH/x-log a@example.org|root@example.com|a@example.org
-XV a@example.org|root@example.com|a@example.org
-D $TRASH/d-log a@example.org|root@example.com|a@example.org
-d0.1 a@example.org|root@example.com|a@example.org
-O DeliveryMode=q a@example.org|root@example.com|a@example.org
-OQueueDirectory=$TRASH/o-queue a@example.org|root@example.com|a@example.org
-oQ$TRASH/oq-queue a@example.org|root@example.com|a@example.org
-o7 -o8 -om -oA$TRASH/aliases a@example.org|root@example.com|a@example.org
-MrESMTP a@example.org|root@example.com|a@example.org
-p smtp:host a@example.org|root@example.com|a@example.org
-Q reason a@example.org|root@example.com|a@example.org
-FCronDaemon -i -B8BITMIME -oem root|root@example.com|ops@example.org
-FCronDaemon -i -oem -oi -t -f cron@example.net|cron@example.net|hdr@example.org
-oem -oi -B8BITMIME -N success -R hdrs -- a@example.org b@example.org|root@example.com|a@example.org b@example.org
-f s@example.net -i -- a@example.org|s@example.net|a@example.org
-oi -f s@example.net -t|s@example.net|hdr@example.org
EOF

test_expect_success 'every row of the option table queues its message quietly' '
	n=0 &&
	while IFS="|" read -r args from rcpts; do
		n=$((n + 1)) &&
		eval "set -- $args" &&
		if msg "case $n end" | sm -odq "$@" >out 2>err &&
			test ! -s out && test ! -s err
		then :; else
			echo "row $n ($args): refused or not quiet:" &&
			cat out err && return 1
		fi
	done <table &&
	test "$(queued)" = "$n"
'

# envelopes: "case N|sender|recipients" for every received message whose
# Subject is "case N end", sorted by N.
envelopes() {
	"$PYTHON" - "$SMTPD_SPOOL" <<-\PY
	import glob, json, re, sys
	rows = []
	for eml in glob.glob(sys.argv[1] + "/*.eml"):
	    m = re.search(rb"^Subject: case (\d+) end\r$", open(eml, "rb").read(), re.M)
	    if m:
	        env = json.load(open(eml[:-4] + ".env"))
	        rows.append((int(m.group(1)), env["mail_from"], " ".join(env["rcpt_tos"])))
	for n, f, r in sorted(rows):
	    print("case %d|%s|%s" % (n, f, r))
	PY
}

test_expect_success 'one queue run delivers them all, each with its envelope' '
	sm -q &&
	test "$(queued)" = 0 &&
	n=0 &&
	while IFS="|" read -r args from rcpts; do
		n=$((n + 1)) &&
		echo "case $n|$from|$rcpts" || return 1
	done <table >expect &&
	envelopes >actual &&
	test_cmp expect actual
'

test_expect_success 'files named by -X, -D, -O, -oQ and -oA are never touched' '
	test ! -e "$TRASH/x-log" &&
	test ! -e "$TRASH/d-log" &&
	test ! -e "$TRASH/o-queue" &&
	test ! -e "$TRASH/oq-queue" &&
	test ! -e "$TRASH/aliases"
'

test_expect_success '-F names the From that sendq writes' '
	n=$(received_count) &&
	printf "Subject: fullname\n\nbody\n" | sm -odi -FCronDaemon -f cron@example.net a@example.org &&
	grep "^From: CronDaemon <cron@example.net>" "$(received_msg $((n + 1)))"
'

test_expect_success '-N, -R and -V reach the smarthost as NOTIFY, RET and ENVID' '
	n=$(received_count) &&
	msg dsn | sm -odi -N success,failure -R hdrs -V envid.7 a@example.org &&
	printf "%s\n" "MAIL FROM:<root@example.com> RET=HDRS ENVID=envid.7" \
		"RCPT TO:<a@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.org" >expect &&
	envelope $((n + 1)) | sed "s/ BODY=[A-Z0-9]*//" >actual &&
	test_cmp expect actual
'

test_expect_success '-odi: delivered before exit; -odq and -odd: only queued' '
	n=$(received_count) &&
	msg odi | sm -odi a@example.org >out 2>err &&
	test ! -s out && test ! -s err &&
	test "$(received_count)" = $((n + 1)) &&
	test "$(queued)" = 0 &&
	msg odq | sm -odq a@example.org &&
	msg odd | sm -odd a@example.org &&
	msg oddq | sm -o dq a@example.org &&
	test "$(queued)" = 3 &&
	test "$(received_count)" = $((n + 1)) &&
	sm -q &&
	test "$(received_count)" = $((n + 4))
'

test_expect_success '-odb (the default): delivered in the background' '
	n=$(received_count) &&
	msg odb | sm -odb a@example.org >out 2>err &&
	msg default | sm a@example.org >>out 2>>err &&
	test ! -s out && test ! -s err &&
	wait_for "test \$(received_count) = $((n + 2)) && test \$(queued) = 0" 20
'

test_expect_success '-v: waits and shows the conversation on stderr only' '
	n=$(received_count) &&
	msg verbose | sm -v a@example.org >out 2>err &&
	test ! -s out &&
	grep "^<<< 250" err &&
	test "$(received_count)" = $((n + 1))
'

test_expect_success '-qI, -qR, -qS: a run over the matching messages only' '
	n=$(received_count) &&
	msg qr | sm -odq qr-one@example.org &&
	msg qs | sm -odq -f qs-sender@example.net a@example.org &&
	msg qi | sm -odq a@example.org &&
	test "$(queued)" = 3 &&
	sm -qRqr-one &&
	test "$(received_count)" = $((n + 1)) &&
	test "$(received_field $((n + 1)) rcpt_tos)" = qr-one@example.org &&
	sm -qSqs-sender &&
	test "$(received_count)" = $((n + 2)) &&
	test "$(received_field $((n + 2)) mail_from)" = qs-sender@example.net &&
	id=$(sm -bp | sed -n "s/^\([0-9A-F]\{18\}\) .*/\1/p") &&
	sm -v -qI"$id" 2>err &&
	test "$(received_count)" = $((n + 3)) &&
	test "$(queued)" = 0
'

test_expect_success '-bp and mailq (argv[0]) list the queue' '
	mkdir -p bin &&
	ln -sf "$SENDMAIL" bin/mailq &&
	ln -sf "$SENDMAIL" bin/newaliases &&
	echo "Mail queue is empty" >expect &&
	sm -bp >actual &&
	test_cmp expect actual &&
	bin/mailq -C "$SENDQ_INI" >actual &&
	test_cmp expect actual &&
	msg listed | sm -odq -f lister@example.net listed@example.org &&
	bin/mailq -C "$SENDQ_INI" >out &&
	grep "lister@example.net" out &&
	grep "listed@example.org" out &&
	sm -bp >out2 &&
	test_cmp out out2 &&
	sm -q
'

test_expect_success '-bv: each recipient and what it resolves to; nothing sent' '
	n=$(received_count) &&
	sm -bv root bob "x@example.org, Why <y@example.org>" >out 2>err &&
	cat >expect <<-\EOF &&
	root -> ops@example.org
	bob -> bob@example.com
	x@example.org -> x@example.org
	y@example.org -> y@example.org
	EOF
	test_cmp expect out &&
	test ! -s err &&
	test "$(queued)" = 0 &&
	test "$(received_count)" = $n
'

test_expect_success '-bi, -I and newaliases: good aliases pass quietly' '
	sm -bi >out 2>err &&
	sm -I >>out 2>>err &&
	bin/newaliases -C "$SENDQ_INI" >>out 2>>err &&
	test ! -s out && test ! -s err
'

test_expect_success '-bi, -I and newaliases: a bad alias is FILE:LINE and exit 78' '
	cp "$SENDQ_INI" bad.ini &&
	printf "%s\n" "bad = |/bin/sh" >>bad.ini &&
	line=$(wc -l <bad.ini) &&
	echo "sendmail: $TRASH/bad.ini:$line: alias bad: pipes, files and :include: are not supported" >expect &&
	test_expect_code 78 "$SENDMAIL" -C bad.ini -bi 2>err &&
	test_cmp expect err &&
	test_expect_code 78 "$SENDMAIL" -C bad.ini -I 2>err &&
	test_cmp expect err &&
	test_expect_code 78 bin/newaliases -C "$TRASH/bad.ini" 2>err &&
	test_cmp expect err
'

test_expect_success 'modes that need a mail server: exit 64 with a clear error' '
	for m in d t D h H P l; do
		test_expect_code 64 sm -b$m </dev/null >out 2>err &&
		echo "sendmail: -b$m: needs a mail server; sendq only relays" >expect &&
		test_cmp expect err &&
		test ! -s out || return 1
	done &&
	test "$(queued)" = 0
'

test_expect_success '-C, attached or separate, relative or absolute' '
	n=$(received_count) &&
	msg c-attached | "$SENDMAIL" -C"$SENDQ_INI" -odq a@example.org &&
	msg c-relative | "$SENDMAIL" -C sendq.ini -odq a@example.org &&
	test "$(queued)" = 2 &&
	"$SENDMAIL" -Csendq.ini -q &&
	test "$(received_count)" = $((n + 2))
'

test_expect_success 'an unknown option: a warning, and the message still queued' '
	msg unknown | sm -odq -K a@example.org >out 2>err &&
	echo "sendmail: option -K ignored" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 1 &&
	empty_queue
'

test_expect_success 'an option that needs a value and has none: exit 64' '
	for o in -f -r -F -B -N -R -V -X -C; do
		test_expect_code 64 sm $o </dev/null 2>err &&
		echo "sendmail: option $o needs a value" >expect &&
		test_cmp expect err || return 1
	done &&
	test "$(queued)" = 0
'

test_expect_success '-bs is honoured (see t1500)' '
	printf "QUIT\r\n" | sm -bs >out 2>err &&
	printf "220 example.com ESMTP sendq\r\n221 2.0.0 example.com closing\r\n" >expect &&
	test_cmp expect out &&
	test ! -s err
'

test_done
