# lib-postfix.sh: a real Postfix as the smarthost, for t/t55xx scripts.
#
#   . "$(dirname "$0")/test-lib.sh"
#   . "$SRC/t/lib-postfix.sh"
#   postfix_prereq		# or skips the whole script, saying why
#   start_postfix && postfix_write_conf
#
# The instance lives in $TRASH/postfix and nowhere else: its own
# config_directory (main.cf, master.cf, the SASL files), queue and data
# directories, and a log in $TRASH/postfix.log. The host's /etc/postfix is
# never read for settings and its own instance, if any, is never touched.
# It listens on a free port of 127.0.0.1 as a submission server: STARTTLS
# with the test CA's server.pem, AUTH only after STARTTLS (PLAIN and LOGIN
# from a Cyrus sasldb holding test / test-password-1, what write_conf
# writes), every recipient refused before login. It delivers what it
# accepts for POSTFIX_USERS at example.com into one Maildir each (virtual
# delivery); any other recipient is refused at RCPT with 550 5.1.1, and
# anything else is never relayed.
#
# The master runs as a daemon: it is stopped with the script's servers
# (test-lib's exit trap), and a watchdog stops it should the script be
# killed outright. Postfix's master needs root.

POSTFIX_USERS='alice bob carol dave erin sender'
PF_DIR=$TRASH/postfix
PF_ETC=$PF_DIR/etc
PF_LOG=$TRASH/postfix.log
PF_MAIL=$PF_DIR/mail/example.com
export PF_DIR PF_ETC PF_LOG PF_MAIL

# postfix_prereq: skips the script unless a Postfix can be started here.
postfix_prereq() {
	[ "$(id -u)" = 0 ] ||
		test_skip_all "Postfix's master needs root (Debian package postfix)"
	for _pf_p in postfix postconf postsuper saslpasswd2; do
		command -v "$_pf_p" >/dev/null 2>&1 ||
			PATH=$PATH:/usr/sbin command -v "$_pf_p" >/dev/null 2>&1 ||
			test_skip_all "no $_pf_p (Debian packages postfix, sasl2-bin)"
	done
	PATH=$PATH:/usr/sbin
	id postfix >/dev/null 2>&1 ||
		test_skip_all "no postfix user (Debian package postfix)"
	getent group postdrop >/dev/null 2>&1 ||
		test_skip_all "no postdrop group (Debian package postfix)"
	_pf_sasl=$(ls /usr/lib/*/sasl2/libsasldb.so* /usr/lib/sasl2/libsasldb.so* \
		2>/dev/null | head -n 1)
	[ -n "$_pf_sasl" ] ||
		test_skip_all "no Cyrus SASL sasldb plugin (libsasl2-modules-db)"
	_pf_sasl=$(ls /usr/lib/*/sasl2/libplain.so* /usr/lib/sasl2/libplain.so* \
		2>/dev/null | head -n 1)
	[ -n "$_pf_sasl" ] ||
		test_skip_all "no Cyrus SASL PLAIN plugin (libsasl2-modules)"
	mkdir -p "$TRASH/postfix.probe" && : >"$TRASH/postfix.probe/main.cf"
	postconf -c "$TRASH/postfix.probe" -a 2>/dev/null | grep -qx cyrus ||
		test_skip_all "this Postfix has no Cyrus SASL support"
	rm -rf "$TRASH/postfix.probe"
	return 0
}

# _pf_free_port: a port of 127.0.0.1 that nobody listens on just now.
_pf_free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

_pf_write_config() {
	_pf_uid=$(id -u postfix) _pf_gid=$(id -g postfix)
	# postfix check wants the config directory (all of it) and the queue
	# directory owned by root, and the data directory by mail_owner.
	mkdir -p "$PF_ETC" "$PF_DIR/queue" "$PF_DIR/data" "$PF_DIR/mail"
	chown postfix:postfix "$PF_DIR/data" "$PF_DIR/mail"
	chmod 755 "$TRASH" "$PF_DIR" "$PF_ETC" "$PF_DIR/queue"
	cat >"$PF_ETC/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $PF_DIR/queue
	data_directory = $PF_DIR/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = mx.example.test
	mydomain = example.test
	myorigin = \$myhostname
	mydestination =
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.1/32
	relayhost =
	relay_domains =
	alias_maps =
	alias_database =
	local_recipient_maps =
	local_transport = error:5.1.1 no local delivery here
	default_transport = error:5.7.1 no relaying from this test server
	biff = no
	maillog_file = $PF_LOG
	maillog_file_prefixes = $TRASH
	message_size_limit = 41943040
	virtual_mailbox_limit = 0
	virtual_mailbox_domains = example.com
	virtual_mailbox_base = $PF_DIR/mail
	virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
	virtual_minimum_uid = 1
	virtual_uid_maps = static:$_pf_uid
	virtual_gid_maps = static:$_pf_gid
	smtpd_banner = \$myhostname ESMTP
	smtpd_error_sleep_time = 0
	smtpd_tls_security_level = may
	smtpd_tls_cert_file = $CA_DIR/server.pem
	smtpd_tls_key_file = $CA_DIR/server.key
	smtpd_tls_auth_only = yes
	smtpd_tls_loglevel = 1
	smtpd_tls_received_header = yes
	smtpd_sasl_auth_enable = yes
	smtpd_sasl_type = cyrus
	smtpd_sasl_path = smtpd
	cyrus_sasl_config_path = $PF_ETC
	smtpd_sasl_local_domain = example.test
	smtpd_sasl_security_options = noanonymous
	smtpd_sasl_authenticated_header = yes
	smtpd_relay_restrictions = permit_sasl_authenticated, reject
	smtpd_recipient_restrictions = reject_unlisted_recipient,
	    permit_sasl_authenticated, reject
	EOF
	# Nothing chrooted: the daemons find everything under $TRASH.
	cat >"$PF_ETC/master.cf" <<-EOF
	127.0.0.1:$PF_PORT inet n - n - - smtpd
	cleanup unix n - n - 0 cleanup
	qmgr unix n - n 300 1 qmgr
	tlsmgr unix - - n 1000? 1 tlsmgr
	rewrite unix - - n - - trivial-rewrite
	bounce unix - - n - 0 bounce
	defer unix - - n - 0 bounce
	trace unix - - n - 0 bounce
	verify unix - - n - 1 verify
	flush unix n - n 1000? 0 flush
	proxymap unix - - n - - proxymap
	showq unix n - n - - showq
	error unix - - n - - error
	retry unix - - n - - error
	discard unix - - n - - discard
	virtual unix - n n - - virtual
	anvil unix - - n - 1 anvil
	scache unix - - n - 1 scache
	postlog unix-dgram n - n - 1 postlogd
	EOF
	for _pf_u in $POSTFIX_USERS; do
		printf '%s@example.com example.com/%s/\n' "$_pf_u" "$_pf_u"
	done >"$PF_ETC/vmailbox"
	# Debian's Postfix looks in cyrus_sasl_config_path/sasl, upstream's in
	# cyrus_sasl_config_path itself.
	mkdir -p "$PF_ETC/sasl"
	cat >"$PF_ETC/sasl/smtpd.conf" <<-EOF
	pwcheck_method: auxprop
	auxprop_plugin: sasldb
	mech_list: PLAIN LOGIN
	sasldb_path: $PF_ETC/sasldb2
	EOF
	cp "$PF_ETC/sasl/smtpd.conf" "$PF_ETC/smtpd.conf"
	rm -f "$PF_ETC/sasldb2"
	printf 'test-password-1' |
		saslpasswd2 -f "$PF_ETC/sasldb2" -p -c -u example.test test
	chown root:postfix "$PF_ETC/sasldb2"
	chmod 640 "$PF_ETC/sasldb2"
}

# _pf_master_pid: the running master's pid, or nothing.
_pf_master_pid() {
	_pf_mp=$(tr -d ' \n' <"$PF_DIR/queue/pid/master.pid" 2>/dev/null) || :
	[ -n "$_pf_mp" ] && _tl_alive "$_pf_mp" && echo "$_pf_mp"
	return 0
}

# _pf_listening: the master's port accepts connections.
_pf_listening() {
	"$PYTHON" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		"$PF_PORT" 2>/dev/null
}

# _pf_start_master: starts the configured instance and waits until it
# listens. Returns 1, the log and postfix's words on stderr, if not.
_pf_start_master() {
	postfix -c "$PF_ETC" start >"$TRASH/postfix.start" 2>&1 &&
		wait_for '[ -n "$(_pf_master_pid)" ] && _pf_listening' 10 ||
	{
		cat "$TRASH/postfix.start" "$PF_LOG" >&2 2>/dev/null
		_pf_kill_master
		return 1
	}
	PF_PID=$(_pf_master_pid)
	echo "$PF_PID" >>"$_tl_pids"
	export PF_PID
	_pf_watchdog
}

_pf_kill_master() {
	_pf_mp=$(_pf_master_pid)
	[ -z "$_pf_mp" ] || _tl_stop "$_pf_mp" || :
}

# _pf_watchdog: stops the master when this script dies without its exit
# trap (SIGKILL), so that no Postfix outlives the test.
_pf_watchdog() {
	(
		trap '' HUP INT TERM
		while kill -0 $$ 2>/dev/null && _tl_alive "$PF_PID"; do
			sleep 1
		done
		if _tl_alive "$PF_PID" &&
			[ "$(cat "/proc/$PF_PID/comm" 2>/dev/null)" = master ]
		then
			kill -TERM "$PF_PID"
		fi
	) </dev/null >/dev/null 2>&1 &
}

# start_postfix: writes the instance into $TRASH/postfix and starts it on
# a free port. Sets and exports PF_PORT and PF_PID. Outside a test body, a
# server that does not start ends the script.
start_postfix() {
	ensure_ca >"$TRASH/postfix.start" 2>&1 || { _pf_failed; return 1; }
	_pf_try=0
	while :; do
		PF_PORT=$(_pf_free_port) && export PF_PORT &&
			_pf_write_config >"$TRASH/postfix.start" 2>&1 &&
			_pf_start_master 2>"$TRASH/postfix.err" && break
		# Another script may have taken the port meanwhile.
		_pf_try=$((_pf_try + 1))
		[ $_pf_try -lt 3 ] || { _pf_failed; return 1; }
	done
	SMTPD_PORT=$PF_PORT
	export SMTPD_PORT
}

_pf_failed() {
	echo "start_postfix: Postfix did not start:" >&2
	cat "$TRASH/postfix.start" "$TRASH/postfix.err" >&2 2>/dev/null
	[ -n "$_tl_in_test" ] && return 1
	echo "Bail out! start_postfix failed"
	exit 1
}

# stop_postfix: stops the instance (postfix stop, then waits for the
# master to exit); its queue and mailboxes stay. Fails if it would not
# stop.
stop_postfix() {
	_pf_mp=$(_pf_master_pid)
	[ -n "$_pf_mp" ] || { echo "stop_postfix: not running" >&2; return 1; }
	postfix -c "$PF_ETC" stop >>"$TRASH/postfix.start" 2>&1 || :
	{ grep -vx "$_pf_mp" "$_tl_pids" || :; } >"$_tl_pids.new" 2>/dev/null
	mv "$_tl_pids.new" "$_tl_pids"
	wait_for '! _tl_alive "$_pf_mp"' 10 || {
		kill -KILL "$_pf_mp" 2>/dev/null
		return 1
	}
	# Nothing answers on the port any more.
	! _pf_listening
}

# restart_postfix: starts the stopped instance again, same port.
restart_postfix() { _pf_start_master; }

# postfix_write_conf [write_conf arguments]: $SENDQ_INI for this server.
postfix_write_conf() { write_conf "smarthost.port=$PF_PORT" "$@"; }

# mailbox_files USER: the messages delivered to USER@example.com, one path
# a line, oldest first.
mailbox_files() {
	[ -d "$PF_MAIL/$1/new" ] || return 0
	ls -tr "$PF_MAIL/$1/new" | sed "s|^|$PF_MAIL/$1/new/|"
}

# mailbox_count USER: how many messages USER@example.com has.
mailbox_count() { mailbox_files "$1" | wc -l | tr -d ' '; }

# mailbox_msg USER [N]: the path of USER's Nth message (default: the only
# one; fails unless there is exactly one).
mailbox_msg() {
	if [ $# -eq 1 ]; then
		[ "$(mailbox_count "$1")" = 1 ] || {
			echo "mailbox_msg: $1 has $(mailbox_count "$1") messages" >&2
			return 1
		}
		set -- "$1" 1
	fi
	mailbox_files "$1" | sed -n "$2p" | grep .
}

# mailbox_clear: empties every mailbox.
mailbox_clear() { rm -f "$PF_MAIL"/*/new/* "$PF_MAIL"/*/cur/*; }

# postfix_log_mark: the number of lines in Postfix's log so far, for
# postfix_sessions.
postfix_log_mark() { wc -l <"$PF_LOG" | tr -d ' '; }

# postfix_sessions [MARK]: one line per SMTP session Postfix closed (after
# line MARK of its log), its command counts as smtpd logs them:
#   ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8
# ("auth=0/1": one AUTH, refused). Sessions with no command at all (the
# helper's own probes of the port) are left out.
postfix_sessions() {
	sed -n "$((${1:-0} + 1)),\$p" "$PF_LOG" |
	sed -n 's/.* postfix\/smtpd\[[0-9]*\]: disconnect from [^ ]* //p' |
	grep -vx 'commands=0/0' || :
}

# postfix_queue_empty: Postfix holds nothing it has not delivered yet.
postfix_queue_empty() {
	[ -z "$(find "$PF_DIR/queue/incoming" "$PF_DIR/queue/active" \
		"$PF_DIR/queue/deferred" -type f 2>/dev/null)" ]
}
