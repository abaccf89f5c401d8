# lib-bs.sh: talking SMTP to "sendmail -bs" through pipes; sourced after
# test-lib.sh and lib-mail.sh.
#
#   bs_dialogue SCRIPT ARGS...
#       runs "$SENDMAIL -C $SENDQ_INI -bs ARGS..." and plays SCRIPT, one
#       step a line, waiting for each reply before the next step (so a
#       sendmail that kept a reply in its buffer while waiting for input
#       would make the step time out). Prints the replies, one line each,
#       "TIMEOUT" when one does not come within 20 s, then "exit N".
#       Steps:
#           CMD text    send "text" CRLF, then read one reply
#           SEND text   send "text" CRLF, read nothing (pipelining)
#           READ        read one reply
#           RAW file    send the bytes of file as they are
#           SH command  run a shell command (its output goes with the replies)
#           CLOSE       close sendmail's standard input
#   bs_ids         stdin to stdout, queue ids replaced by QUEUEID
#   bs_ehlo NAME   the EHLO reply sendq gives, for test_cmp

bs_dialogue() {
	_bs_script=$1; shift
	"$PYTHON" "$SRC/t/lib-bs.py" "$_bs_script" \
		"$SENDMAIL" -C "$SENDQ_INI" -bs "$@"
}

bs_ids() { sed "s/Queued as [0-9A-F]\{18\}/Queued as QUEUEID/"; }

bs_ehlo() {
	printf '%s\n' "250-example.com Hello $1" 250-8BITMIME 250-SMTPUTF8 \
		"250-SIZE 104857600" 250-PIPELINING 250-ENHANCEDSTATUSCODES \
		"250 HELP"
}
