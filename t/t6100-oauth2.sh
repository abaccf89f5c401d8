#!/bin/sh

test_description='OAuth2 (XOAUTH2, OAUTHBEARER): token command, refresh, cache, expiry, revoked and down endpoints; password_command'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-mail.sh"
. "$SRC/t/lib-auth.sh"

msg() {
	printf 'From: Alice <sender@example.net>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\nSubject: %s\n\nbody\n' "$1" "$1"
}

CACHE=$TRASH/queue/oauth2.cache

# inq: messages in q/ (the token cache lives beside it).
inq() { ls "$TRASH/queue/q" | wc -l | tr -d " "; }

echo at-1 >token
start_smtpd --oauth-token-file "$TRASH/token"

test_expect_success 'password_command: the first line of its output is the password' '
	printf "#!/bin/sh\necho test-password-1\necho second line\n" >pw.sh &&
	chmod 700 pw.sh &&
	write_conf smarthost.password= "smarthost.password_command=$TRASH/pw.sh" &&
	msg pwcmd | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	test "$(received_field 1 auth_user)" = test
'

test_expect_success 'password_command that fails: deferred, its stderr in mailq' '
	printf "#!/bin/sh\necho vault is sealed >&2\nexit 3\n" >pw.sh &&
	msg pwfail | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 1 &&
	mailq_reasons >actual &&
	echo "password_command: $TRASH/pw.sh exited with status 3: vault is sealed" >expect &&
	test_cmp expect actual &&
	empty_queue
'

test_expect_success 'oauth2_token_command with auth = xoauth2' '
	write_conf smarthost.password= smarthost.auth=xoauth2 \
		"smarthost.oauth2_token_command=/bin/cat $TRASH/token" &&
	msg cmd | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 2 &&
	grep "^[0-9]* > AUTH" "$SMTPD_LOG" | sed "s/^[0-9]* > //" | tail -n 1 >actual &&
	echo "AUTH XOAUTH2 ***" >expect &&
	test_cmp expect actual &&
	! grep -q at-1 "$SMTPD_LOG"
'

# Own refresh from here on.
printf 'rt-1 at-1 3600\n' >grants
start_oauth "$TRASH/grants" --client-id sendq-test --client-secret s3cret
printf 'rt-1\n' >refresh && chmod 600 refresh
printf 's3cret\n' >secret && chmod 600 secret
oauth_conf() {
	write_conf smarthost.password= "smarthost.auth=${1:-xoauth2}" \
		"smarthost.oauth2_token_url=$OAUTH_URL" \
		smarthost.oauth2_client_id=sendq-test \
		"smarthost.oauth2_client_secret_file=$TRASH/secret" \
		"smarthost.oauth2_refresh_token_file=$TRASH/refresh"
}

test_expect_success 'refresh: a new token from the endpoint, then cached (0600)' '
	oauth_conf &&
	msg refresh | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 3 &&
	test "$(oauth_requests)" = 1 &&
	echo "POST /token grant=refresh_token client=sendq-test refresh=rt-1 -> 200" >expect &&
	test_cmp expect "$OAUTH_LOG" &&
	test "$(stat -c %a "$CACHE")" = 600 &&
	test "$(sed -n 2p "$CACHE")" = at-1 &&
	msg cached | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 4 &&
	test "$(oauth_requests)" = 1
'

test_expect_success 'a token about to expire is refreshed first' '
	printf "rt-1 at-2 3600\n" >grants &&
	echo at-2 >token &&
	printf "%s\nat-1\n" $(( $(date +%s) + 30 )) >"$CACHE" &&
	msg expiring | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 5 &&
	test "$(oauth_requests)" = 2 &&
	test "$(sed -n 2p "$CACHE")" = at-2 &&
	! grep -q "auth failed" "$SMTPD_LOG"
'

test_expect_success 'the server refuses the cached token: one refresh, one retry' '
	printf "rt-1 at-3 3600\n" >grants &&
	echo at-3 >token &&
	msg refused | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 6 &&
	test "$(oauth_requests)" = 3 &&
	grep "^[0-9]* \* auth" "$SMTPD_LOG" | tail -n 2 | sed "s/^[0-9]* //" >actual &&
	printf "* auth failed test\n* auth ok test\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'oauthbearer works the same way' '
	oauth_conf oauthbearer &&
	msg bearer | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 7 &&
	grep "^[0-9]* > AUTH" "$SMTPD_LOG" | sed "s/^[0-9]* > //" | tail -n 1 >actual &&
	echo "AUTH OAUTHBEARER ***" >expect &&
	test_cmp expect actual
'

test_expect_success 'a revoked refresh token: deferred, the endpoint error in mailq' '
	oauth_conf &&
	: >grants &&
	rm -f "$CACHE" &&
	msg revoked | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 7 &&
	test "$(inq)" = 1 &&
	mailq_reasons >actual &&
	echo "OAuth2: $OAUTH_URL: HTTP 400: invalid_grant: Token has been expired or revoked." >expect &&
	test_cmp expect actual
'

test_expect_success 'the refresh token works again: a queue run delivers' '
	printf "rt-1 at-3 3600\n" >grants &&
	sm -qI"$(ls queue/q)" &&
	test "$(inq)" = 0 &&
	test "$(received_count)" = 8
'

test_expect_success 'the endpoint is down: deferred, the reason in mailq' '
	rm -f "$CACHE" &&
	stop_smtpd "$OAUTH_PID" &&
	msg down | sm -odi -f sender@example.net a@example.org &&
	test "$(received_count)" = 8 &&
	test "$(inq)" = 1 &&
	mailq_reasons >actual &&
	grep "^OAuth2: $OAUTH_URL: Failed to connect to localhost port $OAUTH_PORT" actual
'

test_done
