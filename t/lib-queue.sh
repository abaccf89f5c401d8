# lib-queue.sh: helpers for the queue tests (t7xxx); sourced after
# test-lib.sh.

QDIR=$TRASH/queue

# queue_msg SUBJECT [sendmail arguments...]: queues a message (-odq) with
# a fixed Date and Message-ID, so that its size is the same every run.
queue_msg() {
	_lq_subj=$1; shift
	printf 'From: Sender <sender@sender.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@sender.example>\nSubject: %s\n\nbody of %s\n' \
		"$_lq_subj" "$_lq_subj" "$_lq_subj" |
	"$SENDMAIL" -C "$SENDQ_INI" -odq "$@"
}

# queue_ids: the ids in DIR/q, oldest first; queue_count: how many.
queue_ids() { ls "$QDIR/q" 2>/dev/null | grep -x '[0-9A-F]\{18\}' || :; }
queue_count() { queue_ids | wc -l | tr -d ' '; }
failed_count() { ls "$QDIR/failed" 2>/dev/null | wc -l | tr -d ' '; }

# clear_queue: empties q/, failed/ and corrupt/.
clear_queue() { rm -rf "$QDIR/q"/* "$QDIR/failed" "$QDIR/corrupt"; }

# mailq_masked: sendmail -bp with each queue id as QUEUEID (QUEUEID! in
# failed/) and each arrival time as DATE.
mailq_masked() {
	"$SENDMAIL" -C "$SENDQ_INI" -bp >.mailq.raw || return 1
	sed -e 's/^[0-9A-F]\{18\}!/QUEUEID!           /' \
	    -e 's/^[0-9A-F]\{18\}/QUEUEID           /' \
	    -e 's/ [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]  / DATE                 /' \
		.mailq.raw
}

# records ID TYPE: the DATA of every TYPE record the runner appended to
# queue file ID (s, f, w, a, b), one a line. The file is in q/ or failed/.
records() {
	_lq_f=$QDIR/q/$1
	[ -f "$_lq_f" ] || _lq_f=$QDIR/failed/$1
	sed -n "s/^$2[0-9]*://p" "$_lq_f"
}

# received_subjects: the Subject of every message the last server stored,
# sorted.
received_subjects() {
	for _lq_m in "$SMTPD_SPOOL"/*.eml; do
		[ -f "$_lq_m" ] || continue
		sed -n 's/^Subject: \(.*\)\r$/\1/p' "$_lq_m" | head -n 1
	done | sort
}

# received_since N: the numbers of the messages stored after the Nth.
received_since() {
	_lq_n=$(($1 + 1))
	while [ -f "$(received_msg $_lq_n)" ]; do
		echo $_lq_n
		_lq_n=$((_lq_n + 1))
	done
}

# run_queue [sendmail -q arguments]: one queue run, which must exit 0.
run_queue() { "$SENDMAIL" -C "$SENDQ_INI" -q "$@"; }
