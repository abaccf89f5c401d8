#!/bin/sh

test_description='daemons that mail: Debian cron, BusyBox crond, sudo, at'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-callers.sh"

# None of these daemons can run a job here without their spool under /var
# and their configuration under /etc (Debian cron: /etc/crontab and
# /var/spool/cron; BusyBox crond: /var/spool/cron and /var/run; sudo:
# /etc/sudoers; atd: /var/spool/cron/atjobs), and cron's granularity is a
# minute. So each test replays what the daemon's mailer does, taken from
# its source for the version in Debian 12: the exact argv and the exact
# message it writes on the pipe. Where the daemon is installed, a first
# test checks that the installed binary still carries that argv and
# those header lines.
callers_setup aliases.root=ops@example.net

# --- Debian cron 3.0pl1-162 (do_command.c) ---------------------------------
# popen("/usr/sbin/sendmail -FCronDaemon -i -B8BITMIME -oem  MAILTO"),
# MAILTO defaulting to the crontab's owner; the message starts with
# cron's own From, To, Subject, MIME and X-Cron-Env lines.
if [ -x /usr/sbin/cron ]; then
test_expect_success 'the installed cron mails with this argv and header' '
	for s in "%s -FCronDaemon -i -B8BITMIME -oem  %s" "root (Cron Daemon)" \
		"From: %s" "To: %s" "Subject: Cron <%s@%s> %s%s" \
		"MIME-Version: 1.0" "X-Cron-Env: <%s>" \
		"Content-Type: text/plain; charset=%s" \
		"Content-Transfer-Encoding: 8bit"
	do
		grep -a -q -F -e "$s" /usr/sbin/cron || { echo "missing: $s"; exit 1; }
	done
'
fi

# An 8-bit job output, as cron declares with -B8BITMIME.
printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> /usr/local/bin/backup\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/root>\nX-Cron-Env: <PATH=/usr/bin:/bin>\nX-Cron-Env: <LOGNAME=root>\n\nbackup done: 12 files, caf\303\251\n.\nend\n' >cron.msg
sed '1,/^$/d' cron.msg >cron.body
cat >cron.headers <<\EOF
From: root@example.com (Cron Daemon)
To: root@example.com
Subject: Cron <root@host> /usr/local/bin/backup
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
X-Cron-Env: <SHELL=/bin/sh>
X-Cron-Env: <HOME=/root>
X-Cron-Env: <PATH=/usr/bin:/bin>
X-Cron-Env: <LOGNAME=root>
Date: *
Message-ID: *
EOF

test_expect_success 'Debian cron: MAILTO unset, to root and its alias' '
	argv_reset &&
	"$MAILER" -FCronDaemon -i -B8BITMIME -oem root <cron.msg &&
	argv_expect -FCronDaemon -i -B8BITMIME -oem root &&
	wait_received 1 &&
	expect_envelope 1 "root@example.com BODY=8BITMIME" ops@example.net &&
	received_body 1 >actual &&
	test_cmp cron.body actual &&
	grep -v "^From: " cron.headers >expect &&
	received_headers 1 | grep -v "^From: " >actual &&
	test_cmp expect actual
'

# cron's From is kept (never replaced by one made of -F) and qualified.
test_expect_success 'Debian cron: its "From: root (Cron Daemon)" is qualified' '
	received_headers 1 >actual &&
	test_cmp cron.headers actual
'

test_expect_success 'Debian cron: MAILTO=ops@example.org' '
	argv_reset &&
	sed "s/^To: root/To: ops@example.org/" cron.msg |
	"$MAILER" -FCronDaemon -i -B8BITMIME -oem ops@example.org &&
	argv_expect -FCronDaemon -i -B8BITMIME -oem ops@example.org &&
	wait_received 2 &&
	expect_envelope 2 "root@example.com BODY=8BITMIME" ops@example.org &&
	received_headers 2 >actual &&
	grep "^To: ops@example.org$" actual
'

# --- BusyBox crond 1.35 (miscutils/crond.c) -------------------------------
# execlp("sendmail", "sendmail", "-ti") from PATH, stdin the job's output
# file, which starts "To: MAILTO\nSubject: cron: COMMAND\n\n". No From.
if busybox crond --help >/dev/null 2>&1; then
test_expect_success 'the installed BusyBox crond mails with this header' '
	for s in "Subject: cron: %s" "To: %s"; do
		grep -a -q -F -e "$s" "$(command -v busybox)" ||
			{ echo "missing: $s"; exit 1; }
	done
'
fi

test_expect_success 'BusyBox crond: sendmail -ti from PATH' '
	argv_reset &&
	printf "To: root\nSubject: cron: /usr/local/bin/backup\n\nbackup done\n" |
	PATH=$TRASH/bin:$PATH sendmail -ti &&
	argv_expect -ti &&
	wait_received 3 &&
	expect_envelope 3 root@example.com ops@example.net &&
	cat >expect <<-\EOF &&
	To: root@example.com
	Subject: cron: /usr/local/bin/backup
	Date: *
	Message-ID: *
	From: root <root@example.com>
	EOF
	received_headers 3 >actual &&
	test_cmp expect actual &&
	echo "backup done" >expect &&
	received_body 3 >actual &&
	test_cmp expect actual
'

# --- sudo 1.9.13 (lib/eventlog/eventlog.c) --------------------------------
# Debian's sudoers: mailerpath /usr/sbin/sendmail, mailerflags "-t",
# mailto root; the mailer gets argv "sendmail -t" and a message that starts
# "To: root\nFrom: USER\nAuto-Submitted: auto-generated\nSubject: ...".
if command -v sudo >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
test_expect_success 'the installed sudo mails with this argv' '
	sudo -V >sudo.out 2>&1 &&
	grep "^Path to mail program: /usr/sbin/sendmail$" sudo.out &&
	grep "^Flags for mail program: -t$" sudo.out &&
	grep "^Address to send mail to: root$" sudo.out
'
fi

test_expect_success 'sudo: -t with From: root' '
	argv_reset &&
	printf "To: root\nFrom: root\nAuto-Submitted: auto-generated\nSubject: *** SECURITY information for host ***\n\nhost : Jan  2 03:04:05 : root : a password is required ; TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/id\n\n" |
	"$MAILER" -t &&
	argv_expect -t &&
	wait_received 4 &&
	expect_envelope 4 root@example.com ops@example.net &&
	received_headers 4 >actual &&
	grep -v "^From: " actual >actual.nofrom &&
	cat >expect <<-\EOF &&
	To: root@example.com
	Auto-Submitted: auto-generated
	Subject: *** SECURITY information for host ***
	Date: *
	Message-ID: *
	EOF
	test_cmp expect actual.nofrom &&
	test "$(grep -c "^From: " actual)" = 1
'

test_expect_success 'sudo: its "From: root" is qualified' '
	received_headers 4 >actual &&
	grep "^From: root@example.com$" actual
'

# --- at 3.2.5 (atd.c) -----------------------------------------------------
# execl("/usr/sbin/sendmail", "sendmail", "-i", MAILNAME), stdin the job's
# output file, which starts "Subject: Output from your job %8lu\nTo: USER".
if [ -x /usr/sbin/atd ]; then
test_expect_success 'the installed atd mails with this header' '
	grep -a -q -F "Subject: Output from your job " /usr/sbin/atd &&
	grep -a -q -F "/usr/sbin/sendmail" /usr/sbin/atd
'
fi

test_expect_success 'at: -i and the user, From written by sendq' '
	argv_reset &&
	printf "Subject: Output from your job        7\nTo: root\n\nreport ready\n" |
	"$MAILER" -i root &&
	argv_expect -i root &&
	wait_received 5 &&
	expect_envelope 5 root@example.com ops@example.net &&
	cat >expect <<-\EOF &&
	Subject: Output from your job        7
	To: root@example.com
	Date: *
	Message-ID: *
	From: root <root@example.com>
	EOF
	received_headers 5 >actual &&
	test_cmp expect actual &&
	echo "report ready" >expect &&
	received_body 5 >actual &&
	test_cmp expect actual
'

test_done
