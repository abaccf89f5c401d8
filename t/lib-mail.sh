# lib-mail.sh: helpers for the tests that send mail through ./sendmail
# and look at what the smarthost received (t0xxx, t1xxx, t2xxx, t3xxx,
# t5xxx, t6xxx); sourced after test-lib.sh.

# sm ARGS...: sendmail with the test configuration.
sm() { "$SENDMAIL" -C "$SENDQ_INI" "$@"; }

# crlf: stdin to stdout with every LF preceded by a CR, to write the
# expected wire form of a message.
crlf() { sed 's/$/\r/'; }

# envelope N: the Nth message's "MAIL FROM:" and "RCPT TO:" lines, without
# the SIZE parameter (it changes with the Date that sendq adds).
envelope() { received_envelope "$1" | sed 's/ SIZE=[0-9]*//'; }

# masked N: the Nth received message without its Date and Message-ID
# fields, the two that change from run to run.
masked() { sed -e '/^Date: /d' -e '/^Message-ID: /d' "$(received_msg "$1")"; }

# queued: how many files are under the queue directory (q/ and anything
# else) besides the runner's lock and token cache: 0 means nothing was
# queued, and no temporary file was left.
queued() { find "$TRASH/queue" -type f ! -name runner.lock ! -name 'oauth2*.cache' | wc -l | tr -d ' '; }

# empty_queue: forgets every queued message.
empty_queue() { rm -rf "$TRASH/queue"/*; }

# check_stamps N [DOMAIN]: the header of the Nth message has exactly one
# Date and one Message-ID, in the form sendq writes them (RFC 5322 date,
# message id at DOMAIN, default example.com).
check_stamps() {
	tr -d '\r' <"$(received_msg "$1")" | sed '/^$/q' >.stamps
	_lm_dom=$(printf '%s' "${2:-example.com}" | sed 's/\./\\./g')
	_lm_day='(Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
	_lm_mon='(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
	_lm_ok=t
	[ "$(grep -c '^Date: ' .stamps)" = 1 ] || _lm_ok=
	[ "$(grep -ci '^Message-ID: ' .stamps)" = 1 ] || _lm_ok=
	grep -Eq "^Date: $_lm_day, [0-9]{1,2} $_lm_mon [0-9]{4} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-6][0-9] [+-][0-9]{4}\$" .stamps || _lm_ok=
	grep -Eq "^Message-ID: <[A-Za-z0-9.!#\$%&'*+/=?^_\`{|}~-]+@$_lm_dom>\$" .stamps || _lm_ok=
	[ -n "$_lm_ok" ] && return 0
	echo "check_stamps: bad Date or Message-ID in message $1:" >&2
	cat .stamps >&2
	return 1
}

# stamped N: the Nth received message with the value of each Date and
# Message-ID field replaced by DATE and MSGID (the CR kept), to check
# where they are without what they say.
stamped() {
	sed -e 's/^Date: [^\r]*/Date: DATE/' -e 's/^Message-ID: [^\r]*/Message-ID: MSGID/' \
		"$(received_msg "$1")"
}
