#!/bin/sh

test_description='mail user agents in batch mode: bsd-mailx, s-nail, mutt'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-callers.sh"

have_mailx= have_snail= have_mutt=
command -v bsd-mailx >/dev/null 2>&1 && have_mailx=t
command -v s-nail >/dev/null 2>&1 && have_snail=t
command -v mutt >/dev/null 2>&1 && have_mutt=t
[ -n "$have_mailx$have_snail$have_mutt" ] ||
	test_skip_all "none of bsd-mailx, s-nail, mutt is installed"
callers_setup

# Each sends the same message: To two people, Cc one, Bcc one, from
# sender@example.org, with a body holding a line of one dot (which only
# -i keeps from ending the message).
printf 'Hello,\n.\n..two dots\nbye\n' >body.dot
printf 'Hello,\n..two dots\nbye\n' >body
n=0

# run_if FLAG DESC BODY: a test for an agent that may be missing.
run_if() {
	if [ -n "$1" ]; then
		test_expect_success "$2" "$3"
	fi
}

# bsd-mailx hands the whole message to "sendmail -i -t" and relies on the
# mail program to remove its Bcc header; -r becomes -f.
[ -z "$have_mailx" ] || n=$((n + 1)) mailx_n=$n
run_if "$have_mailx" 'bsd-mailx: -i -t, Bcc removed, -r as -f' '
	argv_reset &&
	printf "set sendmail=%s\n" "$MAILER" >mailrc &&
	MAILRC=$TRASH/mailrc bsd-mailx -s "From mailx" -c carol@example.org \
		-b dave@example.org -r sender@example.org \
		alice@example.org bob@example.org <body.dot &&
	argv_expect -i -t -f sender@example.org &&
	wait_received $mailx_n &&
	expect_envelope $mailx_n sender@example.org alice@example.org \
		bob@example.org carol@example.org dave@example.org &&
	cat >expect <<-\EOF &&
	From: sender@example.org
	To: alice@example.org, bob@example.org
	Subject: From mailx
	Cc: carol@example.org
	MIME-Version: 1.0
	Content-Type: text/plain; charset="ANSI_X3.4-1968"
	Content-Transfer-Encoding: 8bit
	Date: *
	Message-ID: *
	EOF
	received_headers $mailx_n >actual &&
	test_cmp expect actual &&
	received_body $mailx_n >actual &&
	test_cmp body.dot actual
'

# s-nail (v15 compatible settings) names every recipient after "--" and
# writes no Bcc header; its variable for the program is "mta".
[ -z "$have_snail" ] || n=$((n + 1)) snail_n=$n
run_if "$have_snail" 's-nail: -i -f ADDR -- recipients' '
	argv_reset &&
	s-nail -:/ -Sv15-compat -Smta="$MAILER" -s "From s-nail" \
		-c carol@example.org -b dave@example.org -r sender@example.org \
		alice@example.org bob@example.org <body.dot &&
	argv_expect -i -f sender@example.org -- alice@example.org \
		bob@example.org carol@example.org dave@example.org &&
	wait_received $snail_n &&
	expect_envelope $snail_n sender@example.org alice@example.org \
		bob@example.org carol@example.org dave@example.org &&
	cat >expect <<-\EOF &&
	Date: *
	From: sender@example.org
	To: alice@example.org, bob@example.org
	Cc: carol@example.org
	Subject: From s-nail
	Message-ID: *
	User-Agent: *
	EOF
	received_headers $snail_n >actual &&
	test_cmp expect actual &&
	received_body $snail_n >actual &&
	test_cmp body.dot actual
'

# mutt: its default sendmail setting is "/usr/sbin/sendmail -oem -oi";
# use_envelope_from adds -f. Its batch mode ends the body at a line of
# one dot by itself, so that line is not sent.
[ -z "$have_mutt" ] || n=$((n + 1)) mutt_n=$n
run_if "$have_mutt" 'mutt: -oem -oi -f ADDR -- recipients' '
	argv_reset &&
	cat >muttrc <<-EOF &&
	set sendmail="$MAILER -oem -oi"
	set from="sender@example.org"
	set realname="Sender Name"
	set use_envelope_from=yes
	set hostname=example.net
	EOF
	mutt -n -F muttrc -s "From mutt" -c carol@example.org \
		-b dave@example.org alice@example.org bob@example.org <body &&
	argv_expect -oem -oi -f sender@example.org -- alice@example.org \
		bob@example.org carol@example.org dave@example.org &&
	wait_received $mutt_n &&
	expect_envelope $mutt_n sender@example.org alice@example.org \
		bob@example.org carol@example.org dave@example.org &&
	cat >expect <<-\EOF &&
	Date: *
	From: Sender Name <sender@example.org>
	To: alice@example.org, bob@example.org
	Cc: carol@example.org
	Subject: From mutt
	Message-ID: *
	MIME-Version: 1.0
	Content-Type: text/plain; charset=us-ascii
	Content-Disposition: inline
	EOF
	received_headers $mutt_n >actual &&
	test_cmp expect actual &&
	received_body $mutt_n >actual &&
	test_cmp body actual
'

# A bare login name in To: (mailx and s-nail pass it as typed). Sendmail
# and Postfix qualify it in the header, as sendq does in the envelope; a
# header "To: bob" is not an RFC 5322 address.
[ -z "$have_mailx" ] || n=$((n + 1)) bare_n=$n
if [ -n "$have_mailx" ]; then
test_expect_success 'bsd-mailx: a bare name in To: is qualified in the header' '
	argv_reset &&
	echo hi | MAILRC=$TRASH/mailrc bsd-mailx -s "bare" bob &&
	argv_expect -i -t &&
	wait_received $bare_n &&
	expect_envelope $bare_n root@example.com bob@example.com &&
	received_headers $bare_n >actual &&
	grep "^To: bob@example.com$" actual
'
fi

test_done
