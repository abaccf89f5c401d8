#!/bin/sh

test_description='git send-email with --smtp-server set to sendmail'
. "$(dirname "$0")/test-lib.sh"
. "$SRC/t/lib-callers.sh"

need_programs git
[ -x "$(git --exec-path)/git-send-email" ] ||
	test_skip_all "git send-email (git-email) is not installed"
callers_setup

GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE='2024-01-02 03:04:05 +0000'
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export GIT_CONFIG_NOSYSTEM GIT_AUTHOR_DATE GIT_COMMITTER_DATE

test_expect_success 'a repository with two patches' '
	git init -q repo &&
	git -C repo config user.name "A U Thor" &&
	git -C repo config user.email author@example.org &&
	echo one >repo/file &&
	git -C repo add file &&
	git -C repo commit -q -m "Add the file" &&
	printf "two\n.\n" >repo/file &&
	git -C repo commit -q -a -m "Change the file" -m "The file now ends in a line of one dot." &&
	printf "three\n" >>repo/file &&
	git -C repo commit -q -a -m "Change it again" &&
	git -C repo format-patch -q -2 -o ../patches &&
	ls patches >actual &&
	printf "%s\n" 0001-Change-the-file.patch 0002-Change-it-again.patch >expect &&
	test_cmp expect actual
'

# git runs "sendmail -i RECIPIENTS" (Bcc on the command line only), and
# adds -f when an envelope sender is set.
test_expect_success 'send-email: -i and the recipients, Bcc not in the header' '
	argv_reset &&
	(cd repo && git send-email --smtp-server="$MAILER" --confirm=never \
		--quiet --suppress-cc=all --to=alice@example.org \
		--cc=carol@example.org --bcc=dave@example.org \
		../patches/0001-Change-the-file.patch) &&
	argv_expect -i alice@example.org carol@example.org dave@example.org &&
	wait_received 1 &&
	expect_envelope 1 root@example.com alice@example.org carol@example.org \
		dave@example.org &&
	cat >expect <<-\EOF &&
	From: A U Thor <author@example.org>
	To: alice@example.org
	Cc: carol@example.org
	Subject: [PATCH 1/2] Change the file
	Date: *
	Message-Id: *
	X-Mailer: *
	MIME-Version: 1.0
	Content-Transfer-Encoding: 8bit
	EOF
	received_headers 1 >actual &&
	test_cmp expect actual &&
	sed -n "/^\$/,\$p" patches/0001-Change-the-file.patch | sed 1d >expect &&
	received_body 1 >actual &&
	test_cmp expect actual
'

test_expect_success 'send-email --envelope-sender=auto: -f the author' '
	argv_reset &&
	(cd repo && git send-email --smtp-server="$MAILER" --confirm=never \
		--quiet --suppress-cc=all --envelope-sender=auto \
		--to=alice@example.org --bcc=dave@example.org \
		../patches/0002-Change-it-again.patch) &&
	argv_expect -f author@example.org -i alice@example.org dave@example.org &&
	wait_received 2 &&
	expect_envelope 2 author@example.org alice@example.org dave@example.org &&
	received_headers 2 >actual &&
	! grep -i "^bcc:" actual &&
	grep "^From: A U Thor <author@example.org>$" actual
'

test_expect_success 'send-email of a series: one call each, threaded' '
	argv_reset &&
	(cd repo && git send-email --smtp-server="$MAILER" --confirm=never \
		--quiet --suppress-cc=all --to=alice@example.org ../patches) &&
	printf "[-i] [alice@example.org] \n[-i] [alice@example.org] \n" >expect &&
	test_cmp expect "$ARGV_LOG" &&
	wait_received 4 &&
	expect_envelope 3 root@example.com alice@example.org &&
	expect_envelope 4 root@example.com alice@example.org &&
	# two runners deliver them, in either order
	first=$(grep -l "^Subject: \[PATCH 1/2\]" "$(received_msg 3)" "$(received_msg 4)") &&
	second=$(grep -l "^Subject: \[PATCH 2/2\]" "$(received_msg 3)" "$(received_msg 4)") &&
	id=$(sed -n "s/^Message-Id: //p" "$first" | tr -d "\r") &&
	test -n "$id" &&
	grep "^In-Reply-To: $id" "$second"
'

test_done
