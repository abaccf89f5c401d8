#!/bin/sh

test_description='faults injected with strace: a queue that cannot be written is refused, never half-written'
. "$(dirname "$0")/test-lib.sh"

command -v strace >/dev/null 2>&1 || test_skip_all "strace is not installed"
strace -o /dev/null true 2>/dev/null || test_skip_all "strace cannot trace here"
strace -o /dev/null -e inject=getpid:error=EIO:when=1 true 2>/dev/null ||
	test_skip_all "this strace cannot inject faults"

# Under make check SANITIZE=1: LeakSanitizer stops the world with ptrace,
# which fails in a traced process and turns its exit status into 1. Leaks
# are left to the other scripts. (The runner, which sendmail starts with
# an empty environment, is only traced where its status is not checked.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS

start_smtpd && write_conf
QDIR=$TRASH/queue

# A small message, and one of several content records (each 64 KiB).
printf 'Subject: small\n\nsmall body\n' >small.msg
{
	printf 'Subject: large\n\n'
	awk 'BEGIN { for (i = 0; i < 4000; i++)
		printf "line %05d of a message big enough for several writes\n", i }'
} >large.msg

submit() { "$SENDMAIL" -C "$SENDQ_INI" -odq a@example.com; }

# trace SYSCALLS MSG: a normal submission of MSG under strace, the calls of
# SYSCALLS (comma-separated) in "trace".
trace() {
	strace -f -o trace -s 32 -e trace="$1" \
		"$SENDMAIL" -C "$SENDQ_INI" -odq a@example.com <"$2" &&
	rm -f "$QDIR"/q/*
}

# file_fd: the descriptor of the new queue file in "trace".
file_fd() { sed -n "s/.*O_CREAT|O_EXCL.*= \([0-9]*\)$/\1/p" trace; }

# nth SYSCALL REGEX: the number (for when=) of the first call of SYSCALL
# in "trace" whose line matches REGEX.
nth() {
	awk -v sc="$1" -v re="$2" '
	$2 ~ "^" sc "\\(" { n++; if ($0 ~ re) { print n; found = 1; exit } }
	END { if (!found) exit 1 }' trace
}

# inject SPEC MSG: a submission of MSG with strace's -e inject=SPEC (more
# than one SPEC separated by spaces); its exit status in "code", its
# stderr in "err".
inject() {
	_spec='' && for _s in $1; do _spec="$_spec -e inject=$_s"; done
	# shellcheck disable=SC2086
	if strace -f -o strace.log $_spec "$SENDMAIL" -C "$SENDQ_INI" -odq \
		a@example.com <"$2" 2>err
	then code=0; else code=$?; fi
}

# nothing_queued: q/ holds no file, mailq says so, and a queue run sends
# nothing.
nothing_queued() {
	ls -A "$QDIR/q" >left &&
	test_cmp /dev/null left &&
	echo "Mail queue is empty" >expect.q &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out.q &&
	test_cmp expect.q out.q &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test "$(received_count)" = "$delivered"
}

# cmp_body MSG EML: the body of what was received (CRLF made LF) is the
# body that was sent.
cmp_body() {
	sed '1,/^$/d' "$1" >body.sent &&
	tr -d '\r' <"$2" | sed '1,/^$/d' >body.got &&
	test_cmp body.sent body.got
}

# refused ERROR: the fault fired; exit 75 and one line on stderr, with
# ERROR.
refused() {
	grep "(INJECTED)" strace.log &&
	test "$code" = 75 &&
	echo "sendmail: queue: $QDIR: $1" >expect.err &&
	test_cmp expect.err err
}

delivered=0

test_expect_success 'a normal submission, traced, is queued and delivered' '
	trace write,fsync,close,openat,flock small.msg &&
	grep "openat(3, \"[0-9A-F]\{18\}\", O_WRONLY|O_CREAT|O_EXCL" trace &&
	test "$(grep -c "^[0-9]* *fsync(" trace)" = 2 &&
	submit <small.msg &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	delivered=1 &&
	test "$(received_count)" = 1 &&
	nothing_queued
'
delivered=1

test_expect_success 'write fails with ENOSPC: exit 75, nothing queued' '
	trace write small.msg &&
	n=$(nth write "SENDQ1") &&
	inject "write:error=ENOSPC:when=$n" small.msg &&
	refused "No space left on device" &&
	nothing_queued
'

test_expect_success 'ENOSPC in the middle of a large message' '
	trace write large.msg &&
	n=$(nth write "SENDQ1") &&
	inject "write:error=ENOSPC:when=$((n + 2))" large.msg &&
	refused "No space left on device" &&
	nothing_queued
'

test_expect_success 'a short write, then EDQUOT' '
	trace write large.msg &&
	n=$(nth write "SENDQ1") &&
	inject "write:retval=100:when=$n write:error=EDQUOT:when=$((n + 1))" \
		large.msg &&
	refused "Disk quota exceeded" &&
	nothing_queued
'

test_expect_success 'fsync of the queue file fails with EIO' '
	trace fsync small.msg &&
	inject "fsync:error=EIO:when=1" small.msg &&
	refused "Input/output error" &&
	nothing_queued
'

test_expect_success 'fsync of the directory (the second fsync) fails with EIO' '
	trace openat,fsync small.msg &&
	fd=$(file_fd) &&
	sed -n "s/^[0-9]* *fsync(\([0-9]*\)).*/\1/p" trace >fds &&
	test "$(sed -n 1p fds)" = "$fd" &&
	test "$(sed -n 2p fds)" != "$fd" &&
	inject "fsync:error=EIO:when=2" small.msg &&
	refused "Input/output error" &&
	nothing_queued
'

test_expect_success 'the queue file cannot be created (EACCES)' '
	trace openat small.msg &&
	n=$(nth openat "O_CREAT.O_EXCL") &&
	inject "openat:error=EACCES:when=$n" small.msg &&
	refused "Permission denied" &&
	nothing_queued
'

test_expect_success 'the queue directory cannot be opened (EACCES)' '
	trace openat small.msg &&
	n=$(nth openat "/queue/q\", O_RDONLY") &&
	inject "openat:error=EACCES:when=$n" small.msg &&
	refused "Permission denied" &&
	nothing_queued
'

test_expect_success 'the lock cannot be taken (ENOLCK)' '
	trace flock small.msg &&
	inject "flock:error=ENOLCK:when=1" small.msg &&
	refused "No locks available" &&
	nothing_queued
'

test_expect_success 'ENOSPC, and the cleanup fails too: what is left is never delivered' '
	trace write large.msg &&
	n=$(nth write "SENDQ1") &&
	inject "write:error=ENOSPC:when=$((n + 1)) ftruncate:error=EIO unlinkat:error=EIO" \
		large.msg &&
	refused "No space left on device" &&
	ls "$QDIR/q" >left &&
	test "$(wc -l <left)" = 1 &&
	f=$QDIR/q/$(cat left) &&
	head -c 7 "$f" >magic &&
	printf "SENDQ1\n" >expect &&
	test_cmp expect magic &&
	! grep "^Z[0-9]*:" "$f" &&
	echo "Mail queue is empty" >expect.q &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out.q &&
	test_cmp expect.q out.q &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test "$(received_count)" = "$delivered" &&
	test -f "$f" &&
	test ! -e "$QDIR/corrupt" &&
	touch -d "2 days ago" "$f" &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	test ! -e "$f" &&
	test "$(received_count)" = "$delivered"
'

# close(2) after both fsyncs cannot lose what is on disk: the message
# stands, and the caller is told so.
test_expect_success 'close of the committed file fails: queued all the same' '
	trace openat,fsync,close small.msg &&
	fd=$(file_fd) &&
	n=$(awk "\$2 ~ /^close\\(/ { n++ }
		\$2 ~ /^fsync\\(/ && ++f == 2 { print n + 1; exit }" trace) &&
	inject "close:error=EIO:when=$n" small.msg &&
	grep "close($fd) *= -1 EIO .*(INJECTED)" strace.log &&
	test "$code" = 0 &&
	test_cmp /dev/null err &&
	test "$(ls "$QDIR/q" | wc -l)" = 1 &&
	"$SENDMAIL" -C "$SENDQ_INI" -q &&
	delivered=$((delivered + 1)) &&
	test "$(received_count)" = "$delivered" &&
	cmp_body small.msg "$(received_msg $delivered)" &&
	nothing_queued
'
delivered=$(received_count)

test_expect_success 'RLIMIT_FSIZE of one block: exit 75, nothing queued' '
	echo "(INJECTED) by the limit" >strace.log &&
	sh -c "ulimit -f 1; exec \"\$SENDMAIL\" -C \"\$SENDQ_INI\" -odq a@example.com" \
		<large.msg 2>err && code=0 || code=$?
	refused "File too large" &&
	nothing_queued
'

# The runner: the record of a 250 cannot be written. The message went
# out, but nothing says so: it stays queued and goes again (the one
# duplicate that a lost record allows), whole both times.
runner_fault() {
	submit <small.msg &&
	id=$(ls "$QDIR/q") &&
	_spec='' && for _s in $1; do _spec="$_spec -e inject=$_s"; done
	# shellcheck disable=SC2086
	strace -f -o strace.log $_spec "$SENDMAIL" -C "$SENDQ_INI" -q 2>err || :
	grep "(INJECTED)" strace.log &&
	test "$(received_count)" = $((delivered + 1)) &&
	cmp_body small.msg "$(received_msg $((delivered + 1)))" &&
	test -f "$QDIR/q/$id" &&
	! grep "^s[0-9]*:" "$QDIR/q/$id" &&
	"$SENDMAIL" -C "$SENDQ_INI" -bp >out.q &&
	grep "^$id " out.q &&
	"$SENDMAIL" -C "$SENDQ_INI" -qI &&
	test "$(received_count)" = $((delivered + 2)) &&
	cmp_body small.msg "$(received_msg $((delivered + 2)))" &&
	delivered=$((delivered + 2)) &&
	nothing_queued
}

# A message sent to all its recipients is removed at once: the unlink is
# its record. Only when that fails is the outcome written.
test_expect_success 'runner: the delivered message cannot be removed, nor its outcome written' '
	runner_fault "unlinkat:error=EIO:when=1 pwrite64:error=ENOSPC:when=1"
'
delivered=$(received_count)

# The failed fsync may or may not have kept the record: the message goes
# at most once more, and is never lost.
test_expect_success 'runner: cannot remove it, and the outcome fsync fails' '
	submit <small.msg &&
	strace -f -o strace.log -e inject=unlinkat:error=EIO:when=1 \
		-e inject=fsync:error=EIO:when=1 \
		"$SENDMAIL" -C "$SENDQ_INI" -q 2>err || : &&
	test "$(grep -c "(INJECTED)" strace.log)" = 2 &&
	test "$(received_count)" = $((delivered + 1)) &&
	"$SENDMAIL" -C "$SENDQ_INI" -qI &&
	n=$(received_count) &&
	test "$n" -ge $((delivered + 1)) && test "$n" -le $((delivered + 2)) &&
	cmp_body small.msg "$(received_msg "$n")" &&
	delivered=$n &&
	nothing_queued
'
delivered=$(received_count)

test_expect_success 'runner: cannot remove it: the outcome is written, and it is never sent again' '
	submit <small.msg &&
	id=$(ls "$QDIR/q") &&
	strace -f -o strace.log -e inject=unlinkat:error=EIO:when=1 \
		"$SENDMAIL" -C "$SENDQ_INI" -q 2>err || : &&
	grep "(INJECTED)" strace.log &&
	test "$(received_count)" = $((delivered + 1)) &&
	test -f "$QDIR/q/$id" &&
	grep "^s[0-9]*:0 250 " "$QDIR/q/$id" &&
	"$SENDMAIL" -C "$SENDQ_INI" -qI &&
	test "$(received_count)" = $((delivered + 1)) &&
	delivered=$((delivered + 1)) &&
	nothing_queued
'
delivered=$(received_count)

test_done
