#ifndef SENDQ_SESSION_H
#define SENDQ_SESSION_H

#include "conf.h"
#include "opts.h"
#include "priv.h"

/*
 * sendmail -bs: an SMTP server dialogue on a pair of descriptors, as
 * Symfony Mailer, SwiftMailer and Laravel speak it through a pipe. It is
 * a local pipe, so there is no AUTH and no STARTTLS. Each message goes
 * through the same intake as a command-line submission (submit_message)
 * and is in the queue, durably, before its 250 reply.
 */

/* What EHLO advertises as SIZE; a message over it is refused (552). */
#define SESSION_SIZE_MAX (100UL * 1024 * 1024)
/* A message line, without its line end; a longer one refuses the
 * message (552), which no queue file ever holds. */
#define SESSION_LINE_MAX (1024 * 1024)
/* A command line, without its line end (500 past it). */
#define SESSION_CMD_MAX 4096
/* Recipients of one transaction (452 past it, as RFC 5321 4.5.3.1.8). */
#define SESSION_RCPT_MAX 1000
/* Seconds to wait for a command or a message line, Sendmail's default. */
#define SESSION_TIMEOUT 3600

struct session_hooks {
	/* Called with the queue id once a message is committed, before its
	 * 250 is sent: starts delivery. May be NULL. */
	void (*queued)(void *arg, const char *id);
	void *arg;
	/* Seconds to wait for input; 0 means SESSION_TIMEOUT. */
	unsigned timeout;
	/* Creates queue files in a set-group-id run, or NULL. */
	struct priv_broker *broker;
};

/*
 * Speaks SMTP, reading commands from in and writing replies to out, until
 * QUIT or the end of the input. Replies are written before each read
 * that could block, so a client may pipeline. The envelope sender is
 * MAIL FROM as given (qualified with the sender domain when it is a bare
 * name); recipients go through aliases as argv recipients do. From o
 * only -F, -N, -R and -V apply to the messages; -t, -i and argv
 * recipients have no meaning here. Problems with one message are SMTP
 * replies, with the cause printed on stderr when it is local.
 *
 * Returns 0 after QUIT or when the input ends between transactions;
 * EX_IOERR when in or out fails, the input ends inside DATA, or no input
 * comes within the timeout (the reason printed once).
 */
int session_run(const struct conf *c, const struct opts *o, int in, int out,
    const struct session_hooks *h);

#endif
