# test-lib.sh: sourced by every t/tNNNN-name.sh; POSIX sh; prints TAP.
#
#   test_description='what this script covers'
#   . "$(dirname "$0")/test-lib.sh"
#   start_smtpd && write_conf
#   test_expect_success 'a message goes out' '
#   	printf "To: a@example.com\n\nhi\n" | "$SENDMAIL" -C sendq.ini -t -odi &&
#   	test "$(received_count)" = 1
#   '
#   test_done
#
# Each script works in t/trash.NAME (also HOME and TMPDIR), removed when all
# passed, kept otherwise. A test body runs in a subshell with set -e and
# stdin from /dev/null; its output is shown when it fails (always, on
# stderr, with -v or TEST_VERBOSE=1). -i stops at the first failure; -d
# keeps the trash. Servers (t/smtpd.py) listen on free ports, so scripts
# run in parallel under prove -j, and are stopped however the script exits.

SRC=$(cd "$(dirname "$0")/.." && pwd -P) || exit 1
TEST_NAME=$(basename "$0" .sh)
TRASH=$SRC/t/trash.$TEST_NAME
SENDMAIL=$SRC/sendmail
RUNNER=$SRC/sendq-runner
PYTHON=/usr/bin/python3
CA_DIR=$TRASH/ca
SENDQ_INI=$TRASH/sendq.ini
export SRC TRASH SENDMAIL RUNNER PYTHON CA_DIR SENDQ_INI

_tl_verbose=${TEST_VERBOSE:-} _tl_immediate='' _tl_debug=''
for _tl_arg; do
	case $_tl_arg in -v|--verbose) _tl_verbose=t ;;
	-i|--immediate) _tl_immediate=t ;; -d|--debug) _tl_debug=t ;; esac
done

# A predictable environment: C locale, UTC, none of the caller's settings.
LC_ALL=C LANG=C TZ=UTC HOME=$TRASH TMPDIR=$TRASH
export LC_ALL LANG TZ HOME TMPDIR
unset EMAIL MAIL MAILRC NAME REPLYTO LANGUAGE

test_count=0 test_failed=0 _tl_done='' _tl_in_test='' _tl_smtpd_n=0
_tl_pids=$TRASH/.smtpd-pids
_tl_out=$TRASH/.test-output _tl_wf=$TRASH/.when-finished

rm -rf "$TRASH"
mkdir -p "$TRASH" && cd "$TRASH" || { echo "Bail out! no $TRASH"; exit 1; }

_tl_exit() {
	_tl_rc=$?; _tl_stop_all
	[ -n "$_tl_done" ] || echo "# exited early ($_tl_rc); trash kept: $TRASH"
}
trap _tl_exit EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

test_description() { printf '# %s\n' "$*"; }
_tl_bug() { echo "Bail out! test-lib: $*"; exit 1; }

# _tl_run BODY: runs BODY, then its test_when_finished commands; _tl_rc is
# 0 when all succeeded.
_tl_run() {
	test_count=$((test_count + 1))
	rm -f "$_tl_wf"
	: >"$_tl_out"
	_tl_to=$_tl_out
	[ -z "$_tl_verbose" ] || _tl_to=/dev/stderr
	# A plain command, not a condition, so that set -e holds inside.
	(_tl_in_test=t; set -e; eval "$1") </dev/null >"$_tl_to" 2>&1
	_tl_rc=$?
	[ -f "$_tl_wf" ] || return 0
	(_tl_wf_rc=0; eval "$(cat "$_tl_wf")"; exit $_tl_wf_rc) \
		</dev/null >>"$_tl_out" 2>&1 ||
		{ echo "test_when_finished: cleanup failed" >>"$_tl_out"; _tl_rc=1; }
	rm -f "$_tl_wf"
}

# test_expect_success DESC BODY
test_expect_success() {
	[ $# -eq 2 ] || _tl_bug "test_expect_success wants 2 arguments"
	_tl_run "$2"
	if [ $_tl_rc -eq 0 ]; then
		echo "ok $test_count - $1"
		return 0
	fi
	test_failed=$((test_failed + 1))
	echo "not ok $test_count - $1"
	printf '%s\n' "$2" | sed 's/^/#	/'
	[ ! -s "$_tl_out" ] || { echo "# output:"; sed 's/^/# /' "$_tl_out"; }
	[ -z "$_tl_immediate" ] || test_done
}

# test_expect_failure DESC BODY: a known breakage, reported as TODO.
test_expect_failure() {
	[ $# -eq 2 ] || _tl_bug "test_expect_failure wants 2 arguments"
	_tl_run "$2"
	if [ $_tl_rc -eq 0 ]; then
		echo "ok $test_count - $1 # TODO known breakage vanished"
	else
		echo "not ok $test_count - $1 # TODO known breakage"
	fi
}

# test_when_finished CMD...: runs CMD after the current test, passed or
# failed; the last registered runs first. A failing cleanup fails the test.
test_when_finished() {
	[ -n "$_tl_in_test" ] || _tl_bug "test_when_finished outside a test"
	{ printf '{ %s\n} || _tl_wf_rc=1\n' "$*"; cat "$_tl_wf" 2>/dev/null || :; } \
		>"$_tl_wf.new" && mv "$_tl_wf.new" "$_tl_wf"
}

# test_must_fail CMD...: CMD must run and exit non-zero, not by a signal.
test_must_fail() {
	if "$@"; then _tl_code=0; else _tl_code=$?; fi
	case $_tl_code in
	0) echo "test_must_fail: command succeeded: $*" >&2 ;;
	126|127) echo "test_must_fail: cannot run: $*" >&2 ;;
	*) [ $_tl_code -le 128 ] && return 0
	   echo "test_must_fail: died by signal $((_tl_code - 128)): $*" >&2 ;;
	esac
	return 1
}

# test_expect_code N CMD...: CMD must exit with status N.
test_expect_code() {
	_tl_want=$1; shift
	if "$@"; then _tl_code=0; else _tl_code=$?; fi
	[ "$_tl_code" -eq "$_tl_want" ] && return 0
	echo "test_expect_code: want $_tl_want, got $_tl_code: $*" >&2
	return 1
}

# test_cmp EXPECTED ACTUAL
test_cmp() { diff -u "$@"; }

# test_skip_all REASON: before any test; skips the whole script.
test_skip_all() {
	[ $test_count -eq 0 ] || _tl_bug "test_skip_all after a test"
	_tl_finish "1..0 # SKIP $*"
}

test_done() {
	[ $test_failed -eq 0 ] && _tl_finish "1..$test_count"
	_tl_done=t
	printf '1..%s\n# failed %s of %s; trash directory kept: %s\n' \
		$test_count $test_failed $test_count "$TRASH"
	_tl_stop_all
	exit 1
}

_tl_finish() {
	_tl_done=t
	echo "$1"
	_tl_stop_all
	[ -n "$_tl_debug" ] || { cd "$SRC/t" && rm -rf "$TRASH"; }
	exit 0
}

# wait_for CONDITION [SECONDS]: until the shell CONDITION holds, for at most
# SECONDS (default 10); fails with a message on timeout.
wait_for() {
	_tl_tries=$((${2:-10} * 10))
	until eval "$1"; do
		_tl_tries=$((_tl_tries - 1))
		[ $_tl_tries -gt 0 ] || {
			echo "wait_for: not true after ${2:-10} s: $1" >&2
			return 1
		}
		sleep 0.1
	done
}

# --- the test smarthost --------------------------------------------------

# ensure_ca: the test PKI in $CA_DIR (t/mkca.sh), made once per script.
ensure_ca() { [ -f "$CA_DIR/server.pem" ] || sh "$SRC/t/mkca.sh" "$CA_DIR"; }

_tl_alive() {
	# A zombie still answers kill -0: look at its state too.
	kill -0 "$1" 2>/dev/null &&
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# _tl_stop PID: SIGTERM, 5 s to exit, then SIGKILL. Fails if it had to be
# killed, or (when it is this shell's child) did not exit with 0.
_tl_stop() {
	_tl_sp=$1 _tl_code=0
	kill -TERM "$_tl_sp" 2>/dev/null || :
	if ! wait_for '! _tl_alive "$_tl_sp"' 5 2>/dev/null; then
		kill -KILL "$_tl_sp" 2>/dev/null || :
		_tl_code=1
	fi
	# 127: not a child of this shell (started in a test body)
	if wait "$_tl_sp" 2>/dev/null; then :; else
		[ $? -eq 127 ] || _tl_code=1
	fi
	return $_tl_code
}

_tl_stop_all() {
	[ -f "$_tl_pids" ] || return 0
	for _tl_p in $(cat "$_tl_pids"); do _tl_stop "$_tl_p" || :; done
	rm -f "$_tl_pids"
}

# start_smtpd [smtpd.py options...]: starts a smarthost on a free port that
# offers STARTTLS with $CA_DIR/server.pem and wants AUTH as test /
# test-password-1 (what write_conf writes); the options given come after
# these and win (--tls none, --no-auth, --script FILE, ...). Sets and
# exports SMTPD_PORT, SMTPD_PID, SMTPD_SPOOL (the messages), SMTPD_LOG.
# Outside a test body, a server that does not start ends the script.
start_smtpd() {
	_tl_smtpd_n=$((_tl_smtpd_n + 1))
	SMTPD_SPOOL=$TRASH/spool/$_tl_smtpd_n
	SMTPD_LOG=$TRASH/smtpd.$_tl_smtpd_n.log
	_tl_err=$TRASH/smtpd.$_tl_smtpd_n.err
	_tl_pf=$TRASH/smtpd.$_tl_smtpd_n.port
	mkdir -p "$SMTPD_SPOOL"
	ensure_ca >"$_tl_err" 2>&1 || { _tl_start_failed; return 1; }
	"$PYTHON" "$SRC/t/smtpd.py" --tls starttls \
		--cert "$CA_DIR/server.pem" --key "$CA_DIR/server.key" \
		--auth-user test --auth-password test-password-1 \
		"$@" --port-file "$_tl_pf" --spool "$SMTPD_SPOOL" \
		--log "$SMTPD_LOG" --parent-pid $$ </dev/null >>"$_tl_err" 2>&1 &
	SMTPD_PID=$!
	echo "$SMTPD_PID" >>"$_tl_pids"
	wait_for '[ -s "$_tl_pf" ] || ! _tl_alive "$SMTPD_PID"' 10 2>/dev/null
	[ -s "$_tl_pf" ] || { _tl_stop "$SMTPD_PID" || :; _tl_start_failed; return 1; }
	SMTPD_PORT=$(cat "$_tl_pf")
	export SMTPD_PORT SMTPD_PID SMTPD_SPOOL SMTPD_LOG
}

_tl_start_failed() {
	echo "start_smtpd: the smarthost did not start:" >&2
	cat "$_tl_err" >&2
	[ -n "$_tl_in_test" ] && return 1
	echo "Bail out! start_smtpd failed"
	exit 1
}

# stop_smtpd [PID]: stops the last started server (or PID); fails unless it
# exited cleanly.
stop_smtpd() {
	_tl_sp=${1:-$SMTPD_PID}
	{ grep -vx "$_tl_sp" "$_tl_pids" || :; } >"$_tl_pids.new" 2>/dev/null
	mv "$_tl_pids.new" "$_tl_pids"
	_tl_stop "$_tl_sp"
}

# write_conf [section.key=value | line]...: writes $SENDQ_INI for the last
# started server: host localhost, its port, tls starttls, ca_file
# $CA_DIR/ca.pem, user test, password test-password-1, [sender] domain
# example.com, [queue] dir $TRASH/queue. "section.key=value" sets a key
# (an empty value removes it); any other argument is a line added at the end.
write_conf() {
	mkdir -p "$TRASH/queue"
	for _tl_arg in "smarthost.host=localhost" \
		"smarthost.port=${SMTPD_PORT:-25}" "smarthost.tls=starttls" \
		"smarthost.ca_file=$CA_DIR/ca.pem" "smarthost.user=test" \
		"smarthost.password=test-password-1" \
		"sender.domain=example.com" "queue.dir=$TRASH/queue" -- "$@"
	do
		printf '%s\n' "$_tl_arg"
	done | awk '
	!args && $0 == "--" { args = 1; next }
	!args || /^[A-Za-z_]+\.[^=[:space:]]+=/ {
		dot = index($0, "."); eq = index($0, "=")
		sec = substr($0, 1, dot - 1); key = substr($0, dot + 1, eq - dot - 1)
		if (!(sec in seen)) { seen[sec] = 1; order[++nsec] = sec }
		if (!((sec, key) in val)) keys[sec, ++nkeys[sec]] = key
		val[sec, key] = substr($0, eq + 1)
		next
	}
	{ extra[++nextra] = $0 }
	END {
		for (s = 1; s <= nsec; s++) {
			sec = order[s]; out = ""
			for (k = 1; k <= nkeys[sec]; k++)
				if (val[sec, keys[sec, k]] != "")
					out = out keys[sec, k] " = " val[sec, keys[sec, k]] "\n"
			if (out != "") printf "[%s]\n%s", sec, out
		}
		for (e = 1; e <= nextra; e++) print extra[e]
	}' >"$SENDQ_INI" && chmod 600 "$SENDQ_INI"
}

# received_count: how many messages the last started server stored.
received_count() { find "$SMTPD_SPOOL" -name '*.eml' | wc -l | tr -d ' '; }

# received_msg N, received_env N: the Nth message (the DATA bytes as
# received) and its envelope (JSON).
received_msg() { printf '%s/%04d.eml\n' "$SMTPD_SPOOL" "$1"; }
received_env() { printf '%s/%04d.env\n' "$SMTPD_SPOOL" "$1"; }

# received_envelope N: "MAIL FROM:<a> PARAMS" and "RCPT TO:<b> PARAMS"
# lines; received_field N FIELD: one field (tls, auth_user, ehlo, ...).
received_envelope() { "$PYTHON" "$SRC/t/smtpd.py" --show "$(received_env "$1")"; }
received_field() { "$PYTHON" "$SRC/t/smtpd.py" --show "$(received_env "$1")" "$2"; }

# smtpd_connections, smtpd_logins: counted in the last server's log.
smtpd_connections() { grep -c '^[0-9]* \* connect' "$SMTPD_LOG" || :; }
smtpd_logins() { grep -c '^[0-9]* \* auth ok' "$SMTPD_LOG" || :; }
