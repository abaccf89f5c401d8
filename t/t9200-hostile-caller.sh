#!/bin/sh

test_description='a hostile caller of the set-group-id sendmail: -C, -X, -O, environment, stdio, rlimits'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-install.sh"

install_prereqs || test_skip_all "$install_skip"
install_sendq
echo "RCPT *@hold.example 451 4.3.0 try later" >script
start_smtpd --script "$TRASH/script"
install_conf
start_runner || { echo "Bail out! the queue runner did not start"; exit 1; }

# Places the callers may write to, and their own config and queue.
mkdir -m 1777 "$TRASH/tmp" "$TRASH/keys" "$TRASH/mark"
mkdir -m 700 "$TRASH/home"
chown nobody:nogroup "$TRASH/home"
{
	printf '[smarthost]\nhost = localhost\nport = %s\ntls = starttls\n' "$SMTPD_PORT"
	printf 'ca_file = %s\nuser = test\npassword = test-password-1\n' "$CA_DIR/ca.pem"
	printf '[sender]\ndomain = example.com\n[queue]\ndir = %s\n' "$TRASH/home/queue"
} >"$TRASH/home/own.ini"
chown nobody:nogroup "$TRASH/home/own.ini"
chmod 600 "$TRASH/home/own.ini"

# submit USER SUBJECT ARGS...: inst_msg piped to the installed sendmail.
submit() {
	_u=$1 _s=$2; shift 2
	inst_msg "$_u" "$_s" | as_user "$_u" "$INST_SENDMAIL" "$@"
}

# subjects: the subject of each message received so far, in order, one a
# line ("(none)" for a message without one).
subjects() {
	for _f in $(find "$SMTPD_SPOOL" -name '*.eml' | sort); do
		awk 'BEGIN { s = "(none)" } /^\r?$/ { exit }
		/^Subject: / { s = substr($0, 10); sub(/\r$/, "", s) }
		END { print s }' "$_f"
	done
}

# sync_daemon: queues a message and waits until it arrives; whatever was
# queued before it (and not held) has been delivered by then.
sync_daemon() {
	_sync=sync-$(received_count)
	submit www-data "$_sync" s@example.com &&
	wait_for "subjects | grep -qx $_sync"
}

# The proxies libcurl would take from the environment: all a dead end.
POISON="SSLKEYLOGFILE=$TRASH/keys/sslkeys http_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 smtp_proxy=http://127.0.0.1:9 smtps_proxy=http://127.0.0.1:9 NO_PROXY= no_proxy= CURL_HOME=$TRASH/tmp HOME=$TRASH/tmp"

test_expect_success '-C with the installed config: exit 75, nothing queued' '
	n=$(received_count) &&
	test_expect_code 75 submit nobody c-installed -C "$INST_CONF" x@example.com 2>err &&
	echo "sendmail: queue: $INST_SPOOL: Permission denied" >expect &&
	test_cmp expect err &&
	sync_daemon &&
	test "$(received_count)" = $((n + 1))
'

test_expect_success '-C pointing [queue] dir at the shared spool: exit 75, nothing queued' '
	n=$(received_count) &&
	printf "[smarthost]\nhost = localhost\n[queue]\ndir = %s\n" "$INST_SPOOL" \
		>"$TRASH/tmp/spool.ini" &&
	test_expect_code 75 submit nobody c-spool -C "$TRASH/tmp/spool.ini" x@example.com 2>err &&
	echo "sendmail: queue: $INST_SPOOL: Permission denied" >expect &&
	test_cmp expect err &&
	sync_daemon &&
	test "$(received_count)" = $((n + 1))
'

test_expect_success '-C with the caller'"'"'s own config and queue works as the caller' '
	n=$(received_count) &&
	submit nobody own-queued -C "$TRASH/home/own.ini" -odq o@example.com &&
	id=$(inst_ids "$TRASH/home/queue/q") &&
	test -n "$id" &&
	echo "600 nobody:nogroup" >expect &&
	stat -c "%a %U:%G" "$TRASH/home/queue/q/$id" >actual &&
	test_cmp expect actual &&
	as_user nobody "$INST_SENDMAIL" -C "$TRASH/home/own.ini" -q &&
	test "$(received_count)" = $((n + 1)) &&
	size=$(inst_msg nobody own-queued | crlf | wc -c) &&
	echo "MAIL FROM:<nobody@example.com> SIZE=$size" >expect &&
	echo "RCPT TO:<o@example.com>" >>expect &&
	received_envelope $((n + 1)) >actual &&
	test_cmp expect actual &&
	test -z "$(inst_ids "$TRASH/home/queue/q")"
'

test_expect_success '-C cannot borrow the runner'"'"'s password file' '
	test_when_finished "rm -f \"$TRASH\"/home/queue/q/*" &&
	n=$(received_count) &&
	sed "s|^password = .*|password_file = $INST_PASSWORD|" "$TRASH/home/own.ini" \
		>"$TRASH/tmp/borrow.ini" &&
	chmod 644 "$TRASH/tmp/borrow.ini" &&
	# Deferred (queued, so exit 0) or refused: either way, not sent.
	{ submit nobody borrow -C "$TRASH/tmp/borrow.ini" -v -odi \
		o@example.com >out 2>&1 || :; } &&
	cat out &&
	grep -F "$INST_PASSWORD: Permission denied" out &&
	! grep test-password-1 out &&
	test "$(received_count)" = $n
'

test_expect_success '-X FILE never creates or appends to FILE' '
	echo kept >"$TRASH/tmp/existing" &&
	chown nobody "$TRASH/tmp/existing" &&
	n=$(received_count) &&
	for f in "$TRASH/tmp/x.log" "$TRASH/tmp/existing" "$INST_SPOOL/x.log" \
		"$INST_Q/x.log" "$INST_Q/FFFFFFFFFFFFFFFFFF"
	do
		submit nobody "x-$n" -X "$f" x@example.com 2>>err || return 1
		submit nobody "x-$n" -X"$f" x@example.com 2>>err || return 1
		n=$((n + 2))
	done &&
	wait_for "test \$(received_count) = $n" &&
	test ! -e "$TRASH/tmp/x.log" &&
	test ! -e "$INST_SPOOL/x.log" &&
	test ! -e "$INST_Q/x.log" &&
	test ! -e "$INST_Q/FFFFFFFFFFFFFFFFFF" &&
	echo kept >expect &&
	test_cmp expect "$TRASH/tmp/existing"
'

test_expect_success '-O QueueDirectory= and -oQ are ignored' '
	n=$(received_count) &&
	submit nobody oq1 -O QueueDirectory="$TRASH/tmp/qd1" q@example.com &&
	submit nobody oq2 -oQ"$TRASH/tmp/qd2" q@example.com &&
	submit nobody oq3 -O "QueueDirectory=$INST_SPOOL/other" q@example.com &&
	wait_for "test \$(received_count) = $((n + 3))" &&
	test ! -e "$TRASH/tmp/qd1" &&
	test ! -e "$TRASH/tmp/qd2" &&
	test ! -e "$INST_SPOOL/other"
'

test_expect_success 'a poisoned environment: no key log, no proxy' '
	n=$(received_count) &&
	inst_msg nobody env1 | as_user nobody env $POISON "$INST_SENDMAIL" p@example.com &&
	wait_for "test \$(received_count) = $((n + 1))" &&
	inst_msg nobody env2 | as_user nobody env $POISON "$INST_SENDMAIL" \
		-C "$TRASH/home/own.ini" -odi p@example.com &&
	test "$(received_count)" = $((n + 2)) &&
	printf "%s\n" env1 env2 >expect &&
	subjects | tail -n 2 >actual &&
	test_cmp expect actual &&
	test "$(received_field $((n + 2)) tls)" = yes &&
	test -z "$(ls "$TRASH/keys")"
'

cat >preload.c <<EOF
#include <fcntl.h>
#include <unistd.h>

/* Writes the path of the program it was loaded into. */
__attribute__((constructor)) static void
mark(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int fd = open("$TRASH/mark/marker", O_WRONLY | O_CREAT | O_APPEND, 0666);

	if (fd != -1 && n > 0) {
		exe[n++] = '\n';
		if (write(fd, exe, (size_t)n) != n) {
			/* nothing to do */
		}
	}
	if (fd != -1)
		close(fd);
}
EOF

test_expect_success 'LD_PRELOAD does not reach the set-group-id sendmail' '
	gcc -shared -fPIC -o "$TRASH/preload.so" preload.c &&
	chmod 755 "$TRASH/preload.so" &&
	as_user nobody env LD_PRELOAD="$TRASH/preload.so" true &&
	grep -q true "$TRASH/mark/marker" &&
	rm "$TRASH/mark/marker" &&
	n=$(received_count) &&
	inst_msg nobody preload | as_user nobody env LD_PRELOAD="$TRASH/preload.so" \
		LD_LIBRARY_PATH="$TRASH" "$INST_SENDMAIL" l@example.com &&
	wait_for "test \$(received_count) = $((n + 1))" &&
	as_user nobody env LD_PRELOAD="$TRASH/preload.so" "$INST_MAILQ" >/dev/null &&
	as_user nobody env LD_PRELOAD="$TRASH/preload.so" "$INST_SENDMAIL" -q &&
	test ! -e "$TRASH/mark/marker"
'

test_expect_success 'closed stdout and stderr: the message arrives intact' '
	n=$(received_count) &&
	inst_msg nobody closed12 >msg &&
	as_user nobody "$INST_SENDMAIL" c@example.com <msg >&- 2>&- &&
	wait_for "test \$(received_count) = $((n + 1))" &&
	crlf <msg >expect &&
	test_cmp expect "$(received_msg $((n + 1)))"
'

test_expect_success 'closed stdout and stderr: the queue file is whole' '
	inst_msg nobody held12 >msg &&
	before=$(inst_ids) &&
	as_user nobody "$INST_SENDMAIL" h@hold.example <msg >&- 2>&- &&
	id=$(inst_ids | grep -vx "${before:-none}") &&
	test -n "$id" &&
	wait_for "inst_tried $id" &&
	queue_content "$INST_Q/$id" >actual &&
	crlf <msg >expect &&
	test_cmp expect actual
'

test_expect_success 'closed stdin: an empty message, queued as from a plain run' '
	n=$(received_count) &&
	as_user nobody "$INST_SENDMAIL" e@example.com <&- &&
	wait_for "test \$(received_count) = $((n + 1))" &&
	sed -e "s/^Date: .*\r\$/Date: DATE\r/" -e "s/^Message-ID: .*\r\$/Message-ID: ID\r/" \
		"$(received_msg $((n + 1)))" >actual &&
	printf "Date: DATE\nMessage-ID: ID\nFrom: nobody <nobody@example.com>\n\n" |
		crlf >expect &&
	test_cmp expect actual &&
	as_user nobody "$INST_SENDMAIL" e@example.com <&- >&- 2>&- &&
	wait_for "test \$(received_count) = $((n + 2))"
'

# A message of about 4 KiB, and the shell's file size limits (in blocks
# of 512 bytes) from far too small to enough.
{ inst_msg nobody big; i=0; while [ $i -lt 60 ]; do
	echo "line $i of a message that is larger than the file size limit allows"
	i=$((i + 1)); done; } >big.msg

test_expect_success 'RLIMIT_FSIZE: refused with 75 and nothing delivered, or delivered whole' '
	subjects >before &&
	: >accepted &&
	for blocks in 1 2 4 6 8 9 10 12 16 64; do
		sed "s/^Subject: big/Subject: big-$blocks/" big.msg >msg.$blocks &&
		if (ulimit -f $blocks && as_user nobody "$INST_SENDMAIL" f@example.com \
			<msg.$blocks 2>err.$blocks)
		then
			echo big-$blocks >>accepted
		else
			rc=$? &&
			test $rc = 75 || { echo "-f $blocks: exit $rc"; return 1; }
			grep "File too large" err.$blocks || return 1
		fi
	done &&
	! grep -x big-1 accepted &&
	grep -x big-64 accepted &&
	sync_daemon &&
	subjects | sed "1,$(wc -l <before)d" | grep -v "^sync-" >actual &&
	test_cmp accepted actual &&
	for s in $(cat accepted); do
		f=$(grep -l "^Subject: $s" "$SMTPD_SPOOL"/*.eml) &&
		crlf <msg.${s#big-} | cmp - "$f" || return 1
	done &&
	for id in $(inst_ids); do
		grep -aq "^R[0-9]*:h@hold.example$" "$INST_Q/$id" ||
		test ! -s "$INST_Q/$id" || return 1
	done
'

test_expect_success 'RLIMIT_NOFILE: exit 0 exactly when the message arrives' '
	subjects >before &&
	: >accepted &&
	for fds in 3 4 5 6 7 8 10 16 64; do
		inst_msg nobody "nofile-$fds" >msg &&
		if (ulimit -n $fds && as_user nobody "$INST_SENDMAIL" n@example.com \
			<msg 2>>err)
		then
			echo nofile-$fds >>accepted
		fi
	done &&
	grep -x nofile-64 accepted &&
	sync_daemon &&
	subjects | sed "1,$(wc -l <before)d" | grep -v "^sync-" >actual &&
	test_cmp accepted actual
'

test_expect_success 'a working directory the caller cannot enter' '
	n=$(received_count) &&
	mkdir -m 700 private &&
	(cd private && inst_msg nobody cwd | as_user nobody "$INST_SENDMAIL" w@example.com) &&
	wait_for "test \$(received_count) = $((n + 1))"
'

test_expect_success 'the daemon saw no poison and stops on SIGTERM' '
	test ! -e "$TRASH/mark/marker" &&
	test -z "$(ls "$TRASH/keys")" &&
	stop_runner
'

test_done
