# lib-exim.sh: a real Exim as the smarthost, for t/t56xx scripts.
#
#   . "$(dirname "$0")/test-lib.sh"
#   . "$SRC/t/lib-exim.sh"
#   exim_prereq			# or skips the whole script, saying why
#   start_exim && exim_write_conf
#
# Debian's Exim (exim4-daemon-light) cannot be installed next to Postfix:
# both are the system's MTA, and exim4-config conflicts with postfix. So
# the suite runs the Exim binary unpacked from its package, never
# installed: $EXIM if set, else t/.exim/usr/sbin/exim4, fetched once with
# "apt-get download exim4-daemon-light" and "dpkg-deb -x". That binary
# looks up its compiled-in user, Debian-exim, before it reads any
# configuration; the daemon runs in a private mount namespace (unshare -m)
# where /etc/passwd and /etc/group are copies from $TRASH/exim that have
# that user, so the host's files are never changed.
#
# Everything else lives in $TRASH/exim: exim.conf (given with -C, which
# root may do), spool, logs ($EXIM_LOG is the main log), the TLS key and
# one Maildir per user. It listens on a free port of 127.0.0.1 as a
# submission server: STARTTLS with the test CA's server.pem, AUTH PLAIN
# and LOGIN for test / test-password-1 offered only once TLS is up, every
# recipient refused before login. It delivers what it accepts for
# EXIM_USERS at example.com; any other recipient is refused at RCPT with
# 550 5.1.1.

EXIM_USERS='alice bob carol dave erin sender'
EX_DIR=$TRASH/exim
EXIM_LOG=$EX_DIR/log/mainlog
EX_MAIL=$EX_DIR/mail
export EX_DIR EXIM_LOG EX_MAIL

# _ex_fetch: unpacks exim4-daemon-light into $SRC/t/.exim.
_ex_fetch() {
	_ex_tmp=$SRC/t/.exim.tmp.$$
	rm -rf "$_ex_tmp" && mkdir -p "$_ex_tmp/root" &&
		(cd "$_ex_tmp" && apt-get download exim4-daemon-light) \
			>"$TRASH/exim.fetch" 2>&1 &&
		dpkg-deb -x "$_ex_tmp"/exim4-daemon-light_*.deb "$_ex_tmp/root" &&
		[ -x "$_ex_tmp/root/usr/sbin/exim4" ] &&
		{ mv "$_ex_tmp/root" "$SRC/t/.exim" 2>/dev/null ||
			[ -x "$SRC/t/.exim/usr/sbin/exim4" ]; }
	_ex_rc=$?
	rm -rf "$_ex_tmp"
	return $_ex_rc
}

# exim_prereq: skips the script unless an Exim can be started here.
exim_prereq() {
	[ "$(id -u)" = 0 ] ||
		test_skip_all "the Exim daemon needs root (exim4-daemon-light)"
	command -v unshare >/dev/null 2>&1 ||
		test_skip_all "no unshare (util-linux)"
	unshare -m true 2>/dev/null ||
		test_skip_all "no private mount namespace (unshare -m) here"
	if [ -z "${EXIM:-}" ]; then
		EXIM=$SRC/t/.exim/usr/sbin/exim4
		[ -x "$EXIM" ] || _ex_fetch ||
			test_skip_all "cannot fetch exim4-daemon-light with apt-get download"
	fi
	[ -x "$EXIM" ] || test_skip_all "no Exim binary at $EXIM"
	export EXIM
}

_ex_free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# _ex_free_id: a uid and gid that the host does not use.
_ex_free_id() {
	_ex_id=64999
	while getent passwd $_ex_id >/dev/null || getent group $_ex_id >/dev/null
	do
		_ex_id=$((_ex_id - 1))
	done
	echo $_ex_id
}

_ex_write_config() {
	mkdir -p "$EX_DIR/spool" "$EX_DIR/log" "$EX_DIR/mail" "$EX_DIR/tls"
	if [ ! -f "$EX_DIR/passwd" ]; then
		_ex_id=$(_ex_free_id)
		{ getent passwd; echo "Debian-exim:x:$_ex_id:$_ex_id::/nonexistent:/usr/sbin/nologin"; } >"$EX_DIR/passwd"
		{ getent group; echo "Debian-exim:x:$_ex_id:"; } >"$EX_DIR/group"
		chmod 644 "$EX_DIR/passwd" "$EX_DIR/group"
		echo "$_ex_id" >"$EX_DIR/uid"
	fi
	_ex_id=$(cat "$EX_DIR/uid")
	cp "$CA_DIR/server.pem" "$CA_DIR/server.key" "$EX_DIR/tls/"
	chown -R "$_ex_id:$_ex_id" "$EX_DIR/spool" "$EX_DIR/log" \
		"$EX_DIR/mail" "$EX_DIR/tls"
	chmod 755 "$TRASH" "$EX_DIR"
	_ex_users=$(echo $EXIM_USERS | sed 's/ / : /g')
	cat >"$EX_DIR/exim.conf" <<-EOF
	primary_hostname = mx.example.test
	exim_path = $EXIM
	spool_directory = $EX_DIR/spool
	log_file_path = $EX_DIR/log/%slog
	pid_file_path = $EX_DIR/exim.pid
	keep_environment =
	local_interfaces = 127.0.0.1
	daemon_smtp_ports = $EX_PORT
	domainlist local_domains = example.com
	host_lookup =
	rfc1413_hosts =
	tls_advertise_hosts = *
	tls_certificate = $EX_DIR/tls/server.pem
	tls_privatekey = $EX_DIR/tls/server.key
	log_selector = +smtp_connection +tls_cipher
	message_size_limit = 40M
	smtputf8_advertise_hosts = *
	deliver_drop_privilege = true
	smtp_accept_queue_per_connection = 0
	acl_smtp_rcpt = acl_check_rcpt

	begin acl
	acl_check_rcpt:
	  deny    message = 5.7.0 authentication required
	          !authenticated = *
	  deny    message = 5.1.1 <\$local_part@\$domain>: no such user here
	          domains = +local_domains
	          !verify = recipient
	  accept  domains = +local_domains
	  deny    message = 5.7.1 relaying denied

	begin routers
	mailbox:
	  driver = accept
	  domains = +local_domains
	  local_parts = $_ex_users
	  transport = maildir

	begin transports
	maildir:
	  driver = appendfile
	  directory = $EX_MAIL/\${local_part_data}
	  maildir_format
	  create_directory
	  envelope_to_add
	  return_path_add
	  user = Debian-exim

	begin authenticators
	plain:
	  driver = plaintext
	  public_name = PLAIN
	  server_prompts = :
	  server_condition = \${if and {{eq{\$auth2}{test}}{eq{\$auth3}{test-password-1}}}}
	  server_set_id = \$auth2
	  server_advertise_condition = \${if def:tls_in_cipher}
	login:
	  driver = plaintext
	  public_name = LOGIN
	  server_prompts = Username:: : Password::
	  server_condition = \${if and {{eq{\$auth1}{test}}{eq{\$auth2}{test-password-1}}}}
	  server_set_id = \$auth1
	  server_advertise_condition = \${if def:tls_in_cipher}
	EOF
}

_ex_listening() {
	"$PYTHON" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		"$EX_PORT" 2>/dev/null
}

# _ex_start_daemon: starts Exim in the foreground (-bdf) of a process of
# its own, in its own mount namespace, and waits until it listens.
_ex_start_daemon() {
	unshare -m sh -c 'mount --bind "$1/passwd" /etc/passwd &&
		mount --bind "$1/group" /etc/group &&
		exec "$2" -C "$1/exim.conf" -bdf' sh "$EX_DIR" "$EXIM" \
		</dev/null >>"$TRASH/exim.err" 2>&1 &
	EX_PID=$!
	echo "$EX_PID" >>"$_tl_pids"
	echo "$EX_PID" >"$EX_DIR/daemon.pid"
	export EX_PID
	# Stops the daemon should this script die without its exit trap.
	(
		trap '' HUP INT TERM
		while kill -0 $$ 2>/dev/null && _tl_alive "$EX_PID"; do
			sleep 1
		done
		! _tl_alive "$EX_PID" || kill -TERM "$EX_PID"
	) </dev/null >/dev/null 2>&1 &
	wait_for '_ex_listening || ! _tl_alive "$EX_PID"' 10 2>/dev/null
	_ex_listening || {
		cat "$TRASH/exim.err" "$EX_DIR/log/paniclog" >&2 2>/dev/null
		_tl_stop "$EX_PID" || :
		return 1
	}
}

# start_exim: writes the instance into $TRASH/exim and starts it on a
# free port. Sets and exports EX_PORT and EX_PID. Outside a test body, a
# server that does not start ends the script.
start_exim() {
	ensure_ca >"$TRASH/exim.err" 2>&1 || { _ex_failed; return 1; }
	_ex_try=0
	while :; do
		EX_PORT=$(_ex_free_port) && export EX_PORT &&
			_ex_write_config >>"$TRASH/exim.err" 2>&1 &&
			_ex_start_daemon 2>>"$TRASH/exim.err" && break
		_ex_try=$((_ex_try + 1))
		[ $_ex_try -lt 3 ] || { _ex_failed; return 1; }
	done
}

_ex_failed() {
	echo "start_exim: Exim did not start:" >&2
	cat "$TRASH/exim.err" >&2 2>/dev/null
	[ -n "$_tl_in_test" ] && return 1
	echo "Bail out! start_exim failed"
	exit 1
}

# stop_exim: stops the daemon; its spool and mailboxes stay.
stop_exim() {
	_ex_p=$(cat "$EX_DIR/daemon.pid")
	{ grep -vx "$_ex_p" "$_tl_pids" || :; } >"$_tl_pids.new" 2>/dev/null
	mv "$_tl_pids.new" "$_tl_pids"
	_tl_stop "$_ex_p" && ! _ex_listening
}

# restart_exim: starts the stopped daemon again, same port.
restart_exim() { _ex_start_daemon; }

# exim_write_conf [write_conf arguments]: $SENDQ_INI for this server.
exim_write_conf() { write_conf "smarthost.port=$EX_PORT" "$@"; }

# mailbox_files, mailbox_count, mailbox_msg, mailbox_clear: as in
# lib-postfix.sh, for Exim's Maildirs.
mailbox_files() {
	[ -d "$EX_MAIL/$1/new" ] || return 0
	ls -tr "$EX_MAIL/$1/new" | sed "s|^|$EX_MAIL/$1/new/|"
}
mailbox_count() { mailbox_files "$1" | wc -l | tr -d ' '; }
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
mailbox_clear() { rm -f "$EX_MAIL"/*/new/* "$EX_MAIL"/*/cur/*; }

# exim_log_mark: lines in Exim's main log so far.
exim_log_mark() { wc -l <"$EXIM_LOG" | tr -d ' '; }

# exim_log [MARK]: Exim's main log after line MARK, without timestamps.
exim_log() {
	sed -n "$((${1:-0} + 1)),\$p" "$EXIM_LOG" |
	sed 's/^[0-9-]* [0-9:]* //'
}

# exim_connections [MARK]: SMTP sessions that ended with QUIT.
exim_connections() {
	exim_log "$@" | grep -c '^SMTP connection from .* closed by QUIT$' || :
}
