#ifndef SENDQ_OPTS_H
#define SENDQ_OPTS_H

#include <stddef.h>

/*
 * The sendmail command line, as Sendmail 8 and Postfix callers write it.
 * Parsing never fails on an option it does not know: real callers pass
 * odd flags, and refusing them loses mail. It fails only on what cannot
 * be understood at all (a flag that needs a value and has none, a mode
 * that needs a mail server).
 */

enum opts_mode {
	OPTS_MODE_SEND,		/* read a message and queue it */
	OPTS_MODE_QUEUE,	/* -q: run the queue */
	OPTS_MODE_LIST,		/* -bp, mailq */
	OPTS_MODE_ALIASES,	/* -bi, newaliases */
	OPTS_MODE_VERIFY,	/* -bv */
	OPTS_MODE_SMTP		/* -bs */
};

enum opts_delivery {
	OPTS_DELIVER_BACKGROUND,	/* -odb, the default */
	OPTS_DELIVER_INTERACTIVE,	/* -odi: deliver before exiting */
	OPTS_DELIVER_QUEUE		/* -odq, -odd: only queue */
};

struct opts {
	enum opts_mode mode;
	enum opts_delivery delivery;
	int extract;		/* -t */
	int dot_ends;		/* without -i/-oi: a lone "." ends input */
	int verbose;		/* -v */
	const char *from;	/* -f/-r; "" for the null sender */
	const char *fullname;	/* -F */
	const char *conf;	/* -C */
	const char *body;	/* -B */
	const char *notify;	/* -N */
	const char *ret;	/* -R */
	const char *envid;	/* -V */
	const char *queue_arg;	/* -q's value, "" for a bare -q */
	char errmode;		/* -oe/-e letter: m, p, q, w or e; 0 = default */
	char *const *rcpt;	/* recipients: the arguments left */
	size_t nrcpt;
};

/*
 * Parses argv (argv[0] decides: "mailq" lists, "newaliases" checks
 * aliases). Strings in o point into argv. Warnings about ignored options
 * go to stderr through log_err. Returns 0, or EX_USAGE with the reason
 * printed.
 */
int opts_parse(struct opts *o, int argc, char *const argv[]);

#endif
