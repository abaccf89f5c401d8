#!/bin/sh

test_description='sendq.ini: keys that work, configurations that are refused, aliases'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"

start_smtpd
write_conf smarthost.helo=client.example sender.domain=corp.example \
	"aliases.root=ops@example.org, Oncall <oncall@example.org>" \
	aliases.postmaster=root "aliases.webmaster=postmaster, web" \
	aliases.abuse=webmaster

printf 'Subject: config\n\nbody\n' >msg

# refused NAME MESSAGE: sendmail -C NAME.ini (the file is stdin) exits with
# 78 and says exactly "sendmail: FILE:LINE: MESSAGE" (MESSAGE holds the
# line number), and queues nothing.
refused() {
	cat >"$1.ini" &&
	chmod 600 "$1.ini" &&
	test_expect_code 78 "$SENDMAIL" -C "$TRASH/$1.ini" -odi a@example.org \
		<msg 2>err &&
	echo "sendmail: $TRASH/$1.ini:$2" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
}

test_expect_success 'helo and domain are used; aliases are expanded' '
	sm -odi root <msg &&
	printf "%s\n" "MAIL FROM:<root@corp.example>" \
		"RCPT TO:<ops@example.org>" "RCPT TO:<oncall@example.org>" >expect &&
	envelope 1 >actual &&
	test_cmp expect actual &&
	test "$(received_field 1 ehlo)" = client.example &&
	check_stamps 1 corp.example &&
	printf "Subject: config\nFrom: root <root@corp.example>\n\nbody\n" | crlf >expect &&
	masked 1 >actual &&
	test_cmp expect actual
'

test_expect_success 'aliases: chains, a name without an entry, case, and duplicates' '
	sm -odi abuse Nobody ops@example.org <msg &&
	printf "%s\n" "MAIL FROM:<root@corp.example>" \
		"RCPT TO:<ops@example.org>" "RCPT TO:<oncall@example.org>" \
		"RCPT TO:<web@corp.example>" "RCPT TO:<Nobody@corp.example>" >expect &&
	envelope 2 >actual &&
	test_cmp expect actual &&
	sm -bv abuse POSTMASTER >actual &&
	cat >expect <<-\EOF &&
	abuse -> ops@example.org
	abuse -> oncall@example.org
	abuse -> web@corp.example
	POSTMASTER -> ops@example.org
	POSTMASTER -> oncall@example.org
	EOF
	test_cmp expect actual
'

test_expect_success 'aliases apply to -t recipients too; the header is only qualified' '
	printf "To: root\nCc: webmaster\nSubject: t\n\nbody\n" | sm -odi -t &&
	printf "%s\n" ops@example.org oncall@example.org web@corp.example >expect &&
	received_field 3 rcpt_tos >actual &&
	test_cmp expect actual &&
	printf "To: root@corp.example\nCc: webmaster@corp.example\nSubject: t\nFrom: root <root@corp.example>\n\nbody\n" |
	crlf >expect &&
	masked 3 >actual &&
	test_cmp expect actual
'

test_expect_success 'a configuration file that does not exist: 78' '
	test_expect_code 78 "$SENDMAIL" -C "$TRASH/none.ini" -odi a@example.org \
		<msg 2>err &&
	echo "sendmail: $TRASH/none.ini: No such file or directory" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success 'refused: an unknown key' '
	printf "[smarthost]\nhost = localhost\nhots = localhost\n[queue]\ndir = %s\n" \
		"$TRASH/queue" | refused key "3: unknown key \"hots\" in [smarthost]"
'

test_expect_success 'refused: an unknown section' '
	printf "[smarthost]\nhost = localhost\n[queue]\ndir = %s\n\n[smarthosts]\nhost = x\n" \
		"$TRASH/queue" | refused section "6: unknown section [smarthosts]"
'

test_expect_success 'refused: a bad port' '
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\nport = 0\n" \
		"$TRASH/queue" |
	refused port0 "5: malformed port \"0\": not a number from 1 to 65535" &&
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\nport = 65536\n" \
		"$TRASH/queue" |
	refused port65536 "5: malformed port \"65536\": not a number from 1 to 65535" &&
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\nport = 587x\n" \
		"$TRASH/queue" |
	refused port587x "5: malformed port \"587x\": not a number from 1 to 65535"
'

test_expect_success 'refused: a bad tls' '
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\ntls = ssl\n" \
		"$TRASH/queue" |
	refused tls "5: malformed tls \"ssl\": not starttls, implicit or none"
'

test_expect_success 'refused: a missing host' '
	printf "[queue]\ndir = %s\n\n[smarthost]\nport = 25\n" "$TRASH/queue" |
	refused nohost "4: host is required in [smarthost]" &&
	printf "[queue]\ndir = %s\n" "$TRASH/queue" >nosection.ini &&
	test_expect_code 78 "$SENDMAIL" -C "$TRASH/nosection.ini" -odi \
		a@example.org <msg 2>err &&
	echo "sendmail: $TRASH/nosection.ini: host is required in [smarthost]" >expect &&
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success 'refused: a user without a password' '
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\nuser = test\n" \
		"$TRASH/queue" |
	refused nopass "5: user without password or password_file"
'

test_expect_success 'refused: credentials with tls = none' '
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\ntls = none\nuser = test\npassword = test-password-1\n" \
		"$TRASH/queue" |
	refused cleartext "5: credentials with tls = none: AUTH would be sent in cleartext" &&
	! grep test-password-1 err
'

test_expect_success 'refused: a key given twice' '
	printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\nport = 587\nport = 588\n" \
		"$TRASH/queue" |
	refused dup "6: duplicate key \"port\" in [smarthost] (first on line 5)"
'

test_expect_success 'refused: a line over 1024 bytes' '
	{
		printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\n" "$TRASH/queue" &&
		awk "BEGIN { printf \"helo = \"; while (n++ < 1018) printf \"a\"; print \"\" }"
	} | refused long "5: line longer than 1024 bytes"
'

test_expect_success 'a line of exactly 1024 bytes is read' '
	{
		printf "[queue]\ndir = %s\n[smarthost]\nhost = localhost\n" "$TRASH/queue" &&
		awk "BEGIN { printf \"; \"; while (n++ < 1022) printf \"a\"; print \"\" }"
	} >ok1024.ini &&
	"$SENDMAIL" -C "$TRASH/ok1024.ini" -bv a@example.org >out &&
	echo "a@example.org -> a@example.org" >expect &&
	test_cmp expect out
'

test_expect_success 'every problem is reported, each with its line' '
	printf "[smarthost]\nhost = localhost\nport = x\ntls = maybe\n[queue]\ndir = %s\nspeed = 9\n" \
		"$TRASH/queue" >many.ini &&
	test_expect_code 78 "$SENDMAIL" -C "$TRASH/many.ini" -odi a@example.org \
		<msg 2>err &&
	cat >expect <<-EOF &&
	sendmail: $TRASH/many.ini:3: malformed port "x": not a number from 1 to 65535
	sendmail: $TRASH/many.ini:4: malformed tls "maybe": not starttls, implicit or none
	sendmail: $TRASH/many.ini:7: unknown key "speed" in [queue]
	EOF
	test_cmp expect err &&
	test "$(queued)" = 0
'

test_expect_success 'nothing was delivered by a refused configuration' '
	test "$(received_count)" = 3
'

test_done
