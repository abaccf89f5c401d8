#!/bin/sh

test_description='the shared queue as installed: set-group-id sendmail, two users, the runner daemon'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-install.sh"

install_prereqs || test_skip_all "$install_skip"
install_sendq
cat >script <<-\EOF
RCPT *@hold.example 451 4.3.0 try later
RCPT *@fail.example 550 5.1.1 no such user
EOF
start_smtpd --script "$TRASH/script"
install_conf
start_runner || { echo "Bail out! the queue runner did not start"; exit 1; }
mkdir -m 1777 "$TRASH/tmp"

# submit USER SUBJECT ARGS...: inst_msg piped to the installed sendmail.
submit() {
	_u=$1 _s=$2; shift 2
	inst_msg "$_u" "$_s" | as_user "$_u" "$INST_SENDMAIL" "$@"
}

test_expect_success 'the install: set-group-id sendmail, the queue closed to others' '
	cat >expect <<-EOF &&
	2755 root:$INST_GROUP $INST_SENDMAIL
	755 root:root $INST_RUNNER
	750 $INST_USER:$INST_GROUP $INST_SPOOL
	770 $INST_USER:$INST_GROUP $INST_Q
	644 root:root $INST_CONF
	640 root:$INST_GROUP $INST_PASSWORD
	EOF
	stat -c "%a %U:%G %n" "$INST_SENDMAIL" "$INST_RUNNER" "$INST_SPOOL" \
		"$INST_Q" "$INST_CONF" "$INST_PASSWORD" >actual &&
	test_cmp expect actual
'

test_expect_success 'the daemon delivers what both users queue, each as sender' '
	submit nobody one a@example.com &&
	wait_for "test \$(received_count) = 1" &&
	submit www-data two b@example.com &&
	wait_for "test \$(received_count) = 2" &&
	printf "%s\n" "MAIL FROM:<nobody@example.com> SIZE=124" \
		"RCPT TO:<a@example.com>" \
		"MAIL FROM:<www-data@example.com> SIZE=126" \
		"RCPT TO:<b@example.com>" >expect &&
	{ received_envelope 1 && received_envelope 2; } >actual &&
	test_cmp expect actual &&
	inst_msg nobody one | crlf >expect &&
	test_cmp expect "$(received_msg 1)" &&
	inst_msg www-data two | crlf >expect &&
	test_cmp expect "$(received_msg 2)" &&
	test -z "$(inst_ids)"
'

test_expect_success 'a held message: owned by its sender, group read-write, nobody else' '
	submit nobody held-n n@hold.example &&
	NOBODY_ID=$(inst_ids) &&
	test -n "$NOBODY_ID" &&
	submit www-data held-w w@hold.example &&
	WWW_ID=$(inst_ids | grep -vx "$NOBODY_ID") &&
	test -n "$WWW_ID" &&
	echo "NOBODY_ID=$NOBODY_ID WWW_ID=$WWW_ID" >"$TRASH/ids" &&
	wait_for "inst_tried $NOBODY_ID && inst_tried $WWW_ID" &&
	printf "660 %s:%s\n" nobody "$INST_GROUP" www-data "$INST_GROUP" >expect &&
	stat -c "%a %U:%G" "$INST_Q/$NOBODY_ID" "$INST_Q/$WWW_ID" >actual &&
	test_cmp expect actual
'
. "$TRASH/ids" 2>/dev/null || :

test_expect_success 'a user cannot list the queue, nor read or change its files' '
	cp "$INST_Q/$WWW_ID" before-w &&
	cp "$INST_Q/$NOBODY_ID" before-n &&
	test_must_fail as_user nobody ls "$INST_SPOOL" &&
	test_must_fail as_user nobody ls "$INST_Q" &&
	test_must_fail as_user nobody cat "$INST_Q/$WWW_ID" &&
	test_must_fail as_user nobody sh -c "echo x >>\"\$1\"" sh "$INST_Q/$WWW_ID" &&
	test_must_fail as_user nobody rm -f "$INST_Q/$WWW_ID" &&
	test_must_fail as_user nobody mv "$INST_Q/$WWW_ID" "$TRASH/tmp/stolen" &&
	test_must_fail as_user nobody ln "$INST_Q/$WWW_ID" "$TRASH/tmp/stolen" &&
	test_must_fail as_user www-data cat "$INST_Q/$NOBODY_ID" &&
	test_must_fail as_user www-data rm -f "$INST_Q/$NOBODY_ID" &&
	test_must_fail as_user www-data touch "$INST_Q/FFFFFFFFFFFFFFFFFF" &&
	test ! -e "$TRASH/tmp/stolen" &&
	test ! -e "$INST_Q/FFFFFFFFFFFFFFFFFF" &&
	cmp before-w "$INST_Q/$WWW_ID" &&
	cmp before-n "$INST_Q/$NOBODY_ID"
'

# The mailq rows of the two held messages.
mailq_head() {
	echo "-Queue ID-          --Size-- ----Arrival Time----  -Sender/Recipient-------"
}
mailq_row() {
	printf "%-19s %8s %-20s  %s@example.com\n" QUEUEID "$2" DATE "$1"
	printf "%52s(451 4.3.0 try later)\n%52s%s\n\n" "" "" "$3"
}

test_expect_success 'mailq shows each user their own messages, root all' '
	{ mailq_head && mailq_row nobody 133 n@hold.example &&
	  echo "-- 1 Kbytes in 1 Request."; } >expect.nobody &&
	{ mailq_head && mailq_row www-data 135 w@hold.example &&
	  echo "-- 1 Kbytes in 1 Request."; } >expect.www-data &&
	{ mailq_head && mailq_row nobody 133 n@hold.example &&
	  mailq_row www-data 135 w@hold.example &&
	  echo "-- 1 Kbytes in 2 Requests."; } >expect.root &&
	as_user nobody "$INST_MAILQ" >raw &&
	mask_mailq <raw >actual && test_cmp expect.nobody actual &&
	as_user nobody "$INST_SENDMAIL" -bp >raw &&
	mask_mailq <raw >actual && test_cmp expect.nobody actual &&
	as_user www-data "$INST_MAILQ" >raw &&
	mask_mailq <raw >actual && test_cmp expect.www-data actual &&
	"$INST_MAILQ" >raw &&
	mask_mailq <raw >actual && test_cmp expect.root actual
'

test_expect_success 'an argv[0] of the caller'"'"'s choosing changes nothing' '
	as_user nobody "$PYTHON" -c "import os, sys; os.execv(sys.argv[1], sys.argv[2:])" \
		"$INST_SENDMAIL" mailq >raw &&
	mask_mailq <raw >actual && test_cmp expect.nobody actual &&
	as_user nobody "$PYTHON" -c "import os, sys; os.execv(sys.argv[1], sys.argv[2:])" \
		"$INST_SENDMAIL" sendq-runner -q >out 2>&1 &&
	test ! -s out &&
	as_user nobody "$INST_MAILQ" >raw &&
	mask_mailq <raw >actual && test_cmp expect.nobody actual
'

test_expect_success 'a user with no message sees an empty queue' '
	echo "Mail queue is empty" >expect &&
	as_user daemon "$INST_MAILQ" >actual &&
	test_cmp expect actual
'

test_expect_success 'failed/ is listed to its owners too' '
	test_when_finished "rm -rf \"$INST_SPOOL/failed\"" &&
	submit nobody nullsender -f "<>" x@fail.example &&
	wait_for "test -n \"\$(inst_ids \"$INST_SPOOL/failed\")\"" &&
	{ mailq_head && mailq_row nobody 133 n@hold.example &&
	  printf "%-19s %8s %-20s  %s\n" "QUEUEID!" 145 DATE MAILER-DAEMON &&
	  printf "%52s(550 5.1.1 no such user)\n%52s%s\n\n" "" "" x@fail.example &&
	  echo "-- 1 Kbytes in 2 Requests."; } >expect &&
	as_user nobody "$INST_MAILQ" >raw &&
	mask_mailq <raw >actual && test_cmp expect actual &&
	as_user www-data "$INST_MAILQ" >raw &&
	mask_mailq <raw >actual && test_cmp expect.www-data actual
'

test_expect_success 'the credentials: unreadable by users, never shown' '
	test_must_fail as_user nobody cat "$INST_PASSWORD" &&
	test_must_fail as_user www-data cat "$INST_PASSWORD" &&
	submit nobody verbose -v -odi v@hold.example >out 2>&1 &&
	as_user nobody "$INST_SENDMAIL" -v -bv v@example.com >>out 2>&1 &&
	as_user nobody "$INST_MAILQ" -v >>out 2>&1 &&
	"$INST_MAILQ" -v >>out 2>&1 &&
	! grep -a test-password-1 out &&
	! grep -a test-password-1 "$TRASH/runner.log" &&
	! grep -a -r test-password-1 "$INST_SPOOL"
'

test_expect_success 'a password in a config that others can read is refused' '
	cp "$INST_CONF" conf.saved &&
	test_when_finished "cp conf.saved \"$INST_CONF\"" &&
	sed "s/^password_file = .*/password = other-secret/" conf.saved >"$INST_CONF" &&
	inst_msg nobody refused | test_expect_code 78 \
		as_user nobody "$INST_SENDMAIL" r@example.com 2>err &&
	echo "sendmail: $INST_CONF: holds the smarthost password but has mode 0644; make it unreadable by others (chmod o-rw)" >expect &&
	test_cmp expect err &&
	test_expect_code 78 setpriv --reuid="$INST_USER" --regid="$INST_GROUP" \
		--init-groups -- "$INST_RUNNER" -q 2>err &&
	sed "s/^sendmail:/sendq-runner:/" expect >expect.runner &&
	test_cmp expect.runner err
'

test_expect_success 'a password file that others can read is refused' '
	test_when_finished "chmod 640 \"$INST_PASSWORD\"" &&
	chmod 644 "$INST_PASSWORD" &&
	n=$(received_count) &&
	before=$(inst_ids) &&
	submit nobody loose l@example.com &&
	id=$(inst_ids | grep -vx "$before") &&
	test -n "$id" &&
	wait_for "inst_tried $id" &&
	test "$(received_count)" = $n &&
	"$INST_MAILQ" >out &&
	cat out &&
	grep -F "$INST_PASSWORD: holds the smarthost password but has mode 0644" out &&
	chmod 640 "$INST_PASSWORD" &&
	setpriv --reuid="$INST_USER" --regid="$INST_GROUP" --init-groups -- \
		"$INST_RUNNER" -qI$id &&
	test "$(received_count)" = $((n + 1)) &&
	test -z "$(inst_ids | grep -x $id)"
'

# plant SUBJECT: a valid queue file, owned by nobody and group read-write
# as sendmail leaves one, made by the build's own sendmail as nobody and
# put in $INST_SPOOL (outside q/) by root. Sets PLANT_ID.
plant() {
	mkdir -p "$TRASH/stage" && chown nobody "$TRASH/stage" &&
	printf "[smarthost]\nhost = localhost\n[queue]\ndir = %s/stage\n" "$TRASH" >stage.ini &&
	printf "[sender]\ndomain = example.com\n" >>stage.ini &&
	inst_msg nobody "$1" |
	as_user nobody "$TRASH/build/sendmail" -C "$TRASH/stage.ini" -odq p@example.com &&
	PLANT_ID=$(inst_ids "$TRASH/stage/q") &&
	test -n "$PLANT_ID" &&
	mv "$TRASH/stage/q/$PLANT_ID" "$INST_SPOOL/$PLANT_ID" &&
	chgrp "$INST_GROUP" "$INST_SPOOL/$PLANT_ID" &&
	chmod 660 "$INST_SPOOL/$PLANT_ID"
}

test_expect_success 'sendmail -q by a user wakes the daemon' '
	plant woken &&
	n=$(received_count) &&
	ln "$INST_SPOOL/$PLANT_ID" "$INST_Q/$PLANT_ID" &&
	rm "$INST_SPOOL/$PLANT_ID" &&
	as_user www-data "$INST_SENDMAIL" -q &&
	wait_for "test \$(received_count) = $((n + 1))" &&
	inst_msg nobody woken | crlf >expect &&
	test_cmp expect "$(received_msg $((n + 1)))"
'

test_expect_success 'what the runner cannot trust is quarantined, not delivered' '
	n=$(received_count) &&
	printf "SENDQ1\nI18:0000000000000000B1\ngarbage\n" >"$INST_Q/0000000000000000B1" &&
	chown "nobody:$INST_GROUP" "$INST_Q/0000000000000000B1" &&
	chmod 660 "$INST_Q/0000000000000000B1" &&
	plant symlinked && sym=$PLANT_ID &&
	ln -s "$INST_SPOOL/$sym" "$INST_Q/$sym" &&
	plant hardlinked && hard=$PLANT_ID &&
	ln "$INST_SPOOL/$hard" "$INST_Q/$hard" &&
	as_user nobody "$INST_SENDMAIL" -q &&
	printf "%s\n" 0000000000000000B1 $sym $hard | sort >expect &&
	wait_for "inst_ids \"$INST_SPOOL/corrupt\" >actual && cmp -s expect actual" &&
	test "$(received_count)" = "$n" &&
	test -z "$(inst_ids | grep -e "^0000" -e "$sym" -e "$hard")" &&
	test -L "$INST_SPOOL/corrupt/$sym" &&
	test "$(stat -c %a "$INST_SPOOL/corrupt")" = 750
'

test_expect_success 'the held messages are still there, untouched by the others' '
	head -c $(wc -c <before-w) "$INST_Q/$WWW_ID" | cmp before-w - &&
	head -c $(wc -c <before-n) "$INST_Q/$NOBODY_ID" | cmp before-n -
'

test_expect_success 'the daemon stops on SIGTERM' '
	stop_runner &&
	! runner_locked
'

test_done
