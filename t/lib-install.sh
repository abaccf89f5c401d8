# lib-install.sh: a second sendq, built and installed with "make install"
# into the trash directory with the real set-group-id bit and group, for
# the shared-queue tests (t9xxx); sourced after test-lib.sh.
#
# It needs root, and takes existing system accounts so that the install
# creates no user or group (it adds only missing ones): the runner is
# INST_USER (group INST_GROUP, the group sendmail is set-group-id to);
# the callers are nobody (nogroup), www-data and daemon, in neither group.
# Nothing outside the trash directory changes.
#
#	install_prereqs || test_skip_all "$install_skip"
#	install_sendq		build and install once per script
#	install_conf		the installed config, for the last smarthost
#	start_runner		the queue runner daemon, as INST_USER
#	as_user nobody CMD...	runs CMD as that user, no supplementary groups

INST_USER=backup INST_GROUP=backup
INST_ROOT=$TRASH/root
INST_SBIN=$INST_ROOT/usr/sbin
INST_SENDMAIL=$INST_SBIN/sendmail
INST_MAILQ=$INST_SBIN/mailq
INST_RUNNER=$INST_ROOT/usr/libexec/sendq/sendq-runner
INST_CONF=$INST_ROOT/etc/sendq.ini
INST_PASSWORD=$INST_ROOT/etc/sendq.password
INST_SPOOL=$INST_ROOT/spool
INST_Q=$INST_SPOOL/q
export INST_USER INST_GROUP INST_ROOT INST_SENDMAIL INST_MAILQ INST_RUNNER \
	INST_CONF INST_PASSWORD INST_SPOOL INST_Q

# install_prereqs: 0 when this machine can run the tests; else 1 with
# the reason in $install_skip.
install_prereqs() {
	install_skip=
	if [ "$(id -u)" != 0 ]; then
		install_skip='needs root: installs a set-group-id sendmail and runs as other users'
	elif ! command -v setpriv >/dev/null 2>&1; then
		install_skip='setpriv (util-linux) not found'
	elif ! command -v gcc >/dev/null 2>&1; then
		install_skip='gcc not found'
	elif [ "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/self/status)" != 0 ]; then
		install_skip='no_new_privs is set: set-group-id bits have no effect here'
	elif [ "$(stat -f -c %T "$TRASH" 2>/dev/null)" = nfs ]; then
		install_skip='the trash directory is on NFS'
	else
		for _li_u in "$INST_USER" nobody www-data daemon; do
			id "$_li_u" >/dev/null 2>&1 ||
				{ install_skip="no user $_li_u"; return 1; }
		done
		getent group "$INST_GROUP" >/dev/null ||
			{ install_skip="no group $INST_GROUP"; return 1; }
		for _li_u in nobody www-data daemon; do
			! id -Gn "$_li_u" | tr ' ' '\n' | grep -qx "$INST_GROUP" ||
				{ install_skip="$_li_u is in group $INST_GROUP"; return 1; }
		done
		# Every directory above the trash must let the callers through.
		_li_d=$(dirname "$TRASH")
		while :; do
			case $(stat -c %A "$_li_d") in
			?????????[xt]) ;;
			*) install_skip="$_li_d is not searchable by others"; return 1 ;;
			esac
			[ "$_li_d" != / ] || break
			_li_d=$(dirname "$_li_d")
		done
		# A nosuid mount ignores the set-group-id bit.
		if findmnt -n -o OPTIONS -T "$TRASH" 2>/dev/null | tr ',' '\n' | grep -qx nosuid; then
			install_skip='the trash directory is on a nosuid mount'
		fi
	fi
	[ -z "$install_skip" ]
}

# install_sendq: copies the sources to $TRASH/build and installs them with
# paths in $INST_ROOT. Outside a test body, a failure ends the script.
install_sendq() {
	chmod 755 "$TRASH"
	rm -rf "$TRASH/build" "$INST_ROOT"
	mkdir -p "$TRASH/build/src" &&
	cp "$SRC/Makefile" "$SRC/sendmail.c" "$TRASH/build/" &&
	cp "$SRC"/src/*.c "$SRC"/src/*.h "$TRASH/build/src/" &&
	cp -R "$SRC/etc" "$SRC/man" "$TRASH/build/" &&
	# Not the flags of a make that runs the suite (make check SANITIZE=1):
	# the set-group-id program is tested as it is installed. (make puts
	# SANITIZE=1 in the environment too, not only in MAKEFLAGS.)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
	make -C "$TRASH/build" -j4 install PREFIX="$INST_ROOT/usr" \
		SYSCONFDIR="$INST_ROOT/etc" SPOOLDIR="$INST_SPOOL" \
		SENDQ_USER="$INST_USER" SENDQ_GROUP="$INST_GROUP" \
		>"$TRASH/install.log" 2>&1 || {
		cat "$TRASH/install.log" >&2
		[ -n "$_tl_in_test" ] && return 1
		echo "Bail out! make install failed"
		exit 1
	}
}

# install_conf [line...]: the installed config (mode 0644, as it must be
# for callers to read it) for the last started smarthost, its password in
# $INST_PASSWORD (0640 root:INST_GROUP, for the runner alone); the lines
# given are added at the end.
install_conf() {
	printf 'test-password-1\n' >"$INST_PASSWORD" &&
	chown "root:$INST_GROUP" "$INST_PASSWORD" &&
	chmod 640 "$INST_PASSWORD" &&
	{
		printf '[smarthost]\nhost = localhost\nport = %s\n' "$SMTPD_PORT"
		printf 'tls = starttls\nca_file = %s\n' "$CA_DIR/ca.pem"
		printf 'user = test\npassword_file = %s\n' "$INST_PASSWORD"
		printf '[sender]\ndomain = example.com\n'
		for _li_l; do printf '%s\n' "$_li_l"; done
	} >"$INST_CONF" &&
	chmod 644 "$INST_CONF"
}

# as_user USER CMD...: CMD as USER with USER's primary group and no other.
as_user() {
	_li_u=$1; shift
	setpriv --reuid="$_li_u" --regid="$(id -g "$_li_u")" --clear-groups -- "$@"
}

# start_runner [VAR=value...]: the queue runner daemon, as the installed
# systemd unit runs it (sendmail -q1h as INST_USER), with the environment
# given added; its stderr goes to $TRASH/runner.log. Stopped at exit (or
# by stop_runner). Sets RUNNER_PID.
start_runner() {
	env "$@" setpriv --reuid="$INST_USER" --regid="$INST_GROUP" \
		--init-groups -- "$INST_SENDMAIL" -q1h \
		</dev/null >>"$TRASH/runner.log" 2>&1 &
	RUNNER_PID=$!
	echo "$RUNNER_PID" >>"$_tl_pids"
	export RUNNER_PID
	# Stops the daemon should this script die without its exit trap.
	(
		trap '' HUP INT TERM
		while kill -0 $$ 2>/dev/null && _tl_alive "$RUNNER_PID"; do
			sleep 1
		done
		! _tl_alive "$RUNNER_PID" || kill -TERM "$RUNNER_PID"
	) </dev/null >/dev/null 2>&1 &
	# Up once it holds its lock.
	wait_for 'runner_locked || ! _tl_alive "$RUNNER_PID"' 10 2>/dev/null
	runner_locked || {
		cat "$TRASH/runner.log" >&2
		return 1
	}
}

runner_locked() {
	[ -e "$INST_SPOOL/runner.lock" ] &&
		! flock -n -s "$INST_SPOOL/runner.lock" true 2>/dev/null
}

# stop_runner: SIGTERM; fails unless it exited with 0.
stop_runner() {
	{ grep -vx "$RUNNER_PID" "$_tl_pids" || :; } >"$_tl_pids.new" 2>/dev/null
	mv "$_tl_pids.new" "$_tl_pids"
	_tl_stop "$RUNNER_PID"
}

# inst_ids [DIR]: the queue ids in $INST_Q (or DIR), oldest first.
inst_ids() { ls "${1:-$INST_Q}" 2>/dev/null | grep -x '[0-9A-F]\{18\}' || :; }

# inst_tried ID: the runner has recorded an attempt on queue file ID.
inst_tried() { grep -aq '^a[0-9]*:' "$INST_Q/$1"; }

# mask_mailq: mailq output on stdin with each queue id as QUEUEID
# (QUEUEID! in failed/) and each arrival time as DATE.
mask_mailq() {
	sed -e 's/^[0-9A-F]\{18\}!/QUEUEID!           /' \
	    -e 's/^[0-9A-F]\{18\}/QUEUEID           /' \
	    -e 's/ [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]  / DATE                 /'
}

# inst_msg USER SUBJECT: a message from USER@example.com that needs no
# header added, so that its size is the same every run and it arrives
# exactly as given (with CRLF line ends).
inst_msg() {
	printf 'From: %s@example.com\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.com>\nSubject: %s\n\nbody of %s\n' \
		"$1" "$2" "$2" "$2"
}

# crlf: stdin with CRLF line ends, as a message arrives.
crlf() { sed 's/$/\r/'; }

# queue_content FILE: the content of queue file FILE (its M records),
# after checking that every record is whole, I comes first and Z is there;
# fails on a damaged file.
queue_content() {
	"$PYTHON" - "$1" <<-\PY
	import sys
	d = open(sys.argv[1], "rb").read()
	assert d.startswith(b"SENDQ1\n"), "magic"
	i, out, types = 7, [], []
	while i < len(d):
	    t, c = d[i:i + 1], d.index(b":", i)
	    n = int(d[i + 1:c])
	    assert d[c + 1 + n:c + 2 + n] == b"\n", "record end"
	    if t == b"M":
	        out.append(d[c + 1:c + 1 + n])
	    types.append(t)
	    i = c + 2 + n
	assert types[0] == b"I" and b"Z" in types, "I first, Z present"
	sys.stdout.buffer.write(b"".join(out))
	PY
}
