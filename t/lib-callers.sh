# lib-callers.sh: shared by the t8NNN scripts, which run real mail programs
# (or replay exactly what a daemon's mailer does) against the build tree's
# sendmail and check what the test smarthost receives. Source it after
# test-lib.sh.
#
#   need_programs PROG...   skip the whole script unless each PROG is found
#   callers_setup [write_conf args...]
#                           starts the smarthost, writes sendq.ini and makes
#                           $MAILER, the sendmail a caller is pointed at
#   argv_reset              forgets the calls logged so far
#   argv_expect ARG...      the one call logged so far had exactly these
#                           arguments (after argv_reset); test_cmp'd
#   wait_received N         waits (30 s at most) until the smarthost holds N
#                           messages, and checks there are not more
#   received_headers N      the header of message N, one field a line,
#                           unfolded, CRLF as LF, with the values of Date,
#                           Message-ID and the other fields that change
#                           from run to run replaced by "*"
#   received_body N         the body of message N, CRLF as LF
#   expect_envelope N FROM RCPT...
#                           message N's envelope is exactly MAIL FROM:<FROM>
#                           and these RCPT TO:<RCPT> (test_cmp'd; an
#                           argument may carry parameters after a space;
#                           SIZE=, which depends on the Date, is left out)
#
# $MAILER is a small script in $TRASH/bin/sendmail (so that a caller that
# looks for "sendmail" in PATH finds it too): it appends its arguments to
# $TRASH/argv, each in [brackets], one call a line, then runs
# "$SENDMAIL -C $SENDQ_INI ARGS...". The paths are written into it, so it
# works under callers that clear the environment. Delivery is sendq's own
# default (a detached runner), so every test waits for what arrives.

MAILER=$TRASH/bin/sendmail
ARGV_LOG=$TRASH/argv
export MAILER ARGV_LOG

need_programs() {
	for _lc_p; do
		command -v "$_lc_p" >/dev/null 2>&1 ||
			test_skip_all "$_lc_p is not installed"
	done
}

callers_setup() {
	start_smtpd || return 1
	write_conf "$@" || return 1
	mkdir -p "$TRASH/bin" || return 1
	cat >"$MAILER" <<-EOF || return 1
	#!/bin/sh
	for a; do printf '[%s] ' "\$a"; done >>'$ARGV_LOG'
	echo >>'$ARGV_LOG'
	exec '$SENDMAIL' -C '$SENDQ_INI' "\$@"
	EOF
	chmod 755 "$MAILER"
	# Callers that drop privileges (or run as another user) must reach it.
	chmod 755 "$TRASH" "$TRASH/bin"
}

argv_reset() { : >"$ARGV_LOG"; }

argv_expect() {
	for _lc_a; do printf '[%s] ' "$_lc_a"; done >"$TRASH/argv.expect"
	echo >>"$TRASH/argv.expect"
	test_cmp "$TRASH/argv.expect" "$ARGV_LOG"
}

wait_received() {
	_lc_want=$1
	wait_for '[ "$(received_count)" -ge "$_lc_want" ]' 30 || return 1
	[ "$(received_count)" -eq "$_lc_want" ] || {
		echo "wait_received: $(received_count) messages, want $_lc_want" >&2
		return 1
	}
}

received_headers() {
	awk '
	{ sub(/\r$/, "") }
	/^$/ { exit }
	/^[ \t]/ { sub(/^[ \t]+/, " "); line = line $0; next }
	{ if (line != "") print line; line = $0 }
	END { if (line != "") print line }' "$(received_msg "$1")" |
	sed -E 's/^(Date|Message-I[Dd]|Received|X-Mailer|User-Agent): .*/\1: */'
}

received_body() {
	sed -e '1,/^\r*$/d' -e 's/\r$//' "$(received_msg "$1")"
}

expect_envelope() {
	_lc_n=$1 _lc_verb="MAIL FROM"
	shift
	for _lc_r; do
		case $_lc_r in
		*" "*) printf '%s:<%s> %s\n' "$_lc_verb" "${_lc_r%% *}" "${_lc_r#* }" ;;
		*) printf '%s:<%s>\n' "$_lc_verb" "$_lc_r" ;;
		esac
		_lc_verb="RCPT TO"
	done >"$TRASH/envelope.expect"
	received_envelope "$_lc_n" | sed 's/ SIZE=[0-9]*//' >"$TRASH/envelope.actual" &&
	test_cmp "$TRASH/envelope.expect" "$TRASH/envelope.actual"
}
