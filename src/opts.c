#include "opts.h"

#include <string.h>
#include <sysexits.h>

#include "log.h"

/*
 * Options that take a value, attached ("-fuser") or as the next argument
 * ("-f user"): the union of Sendmail 8's and Postfix's. -q and -o are
 * handled apart: -q takes only an attached value, -o prefers one.
 */
static const char OPTS_WITH_VALUE[] = "ABCDFLMNOQRVXbdefhpr";

/* Flags both MTAs know that mean nothing for a null client. */
static const char OPTS_IGNORED[] = "GUcmnsx";

static const char *
opts_basename(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* "<a@b>" -> "a@b"; "<>" and "" -> "" (the null sender). */
static const char *
opts_sender(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* -o values: "i", "em", "db", "Qdir", ... Unknown ones are ignored,
 * quietly: -oQ and friends are Sendmail configuration, never honoured. */
static void
opts_o(struct opts *o, const char *v)
{
	switch (v[0]) {
	case 'i':
		/* "-oi-" and "-oif" turn it off again, as in Sendmail */
		o->dot_ends = v[1] == '-' || v[1] == 'f' || v[1] == 'F';
		break;
	case 'e':
		if (v[1])
			o->errmode = v[1];
		break;
	case 'd':
		if (v[1] == 'i')
			o->delivery = OPTS_DELIVER_INTERACTIVE;
		else if (v[1] == 'b')
			o->delivery = OPTS_DELIVER_BACKGROUND;
		else if (v[1] == 'q' || v[1] == 'd')
			o->delivery = OPTS_DELIVER_QUEUE;
		break;
	default:
		break;
	}
}

static int
opts_b(struct opts *o, const char *v)
{
	switch (v[0]) {
	case 'm':
		o->mode = OPTS_MODE_SEND;
		return 0;
	case 'p':
		o->mode = OPTS_MODE_LIST;
		return 0;
	case 'i':
		o->mode = OPTS_MODE_ALIASES;
		return 0;
	case 's':
		o->mode = OPTS_MODE_SMTP;
		return 0;
	case 'v':
		o->mode = OPTS_MODE_VERIFY;
		return 0;
	}
	log_err(NULL, "-b%s: needs a mail server; sendq only relays", v);
	return EX_USAGE;
}

static int
opts_value(struct opts *o, int c, char *v)
{
	switch (c) {
	case 'f':
	case 'r':
		o->from = opts_sender(v);
		break;
	case 'F':
		o->fullname = v;
		break;
	case 'C':
		o->conf = v;
		break;
	case 'B':
		o->body = v;
		break;
	case 'N':
		o->notify = v;
		break;
	case 'R':
		o->ret = v;
		break;
	case 'V':
		o->envid = v;
		break;
	case 'b':
		return opts_b(o, v);
	case 'o':
		opts_o(o, v);
		break;
	case 'e':
		o->errmode = v[0];
		break;
	default:
		/* -X names a traffic log file and -D (Sendmail 8.16) a
		 * debug log: the argument is taken so that it is not a
		 * recipient, and never opened. -O, -h, -L, -A,
		 * -M, -p, -Q, -d: Sendmail internals, ignored. */
		break;
	}
	return 0;
}

int
opts_parse(struct opts *o, int argc, char *const argv[])
{
	const char *prog = argc > 0 ? opts_basename(argv[0]) : "sendmail";
	int i, rc;

	memset(o, 0, sizeof(*o));
	o->dot_ends = 1;
	if (strcmp(prog, "mailq") == 0)
		o->mode = OPTS_MODE_LIST;
	else if (strcmp(prog, "newaliases") == 0)
		o->mode = OPTS_MODE_ALIASES;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		size_t j;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		/* Option parsing stops at the first address, as in
		 * Sendmail: "sendmail user -oi" has two recipients. */
		if (a[0] != '-' || a[1] == '\0')
			break;
		for (j = 1; a[j]; j++) {
			int c = (unsigned char)a[j];
			char *v;

			if (c == 'q') {
				o->mode = OPTS_MODE_QUEUE;
				o->queue_arg = a + j + 1;
				break;
			}
			if (c == 'o' && a[j + 1] == '\0' && i + 1 < argc) {
				opts_o(o, argv[++i]);
				break;
			}
			if (c == 'o') {
				opts_o(o, a + j + 1);
				break;
			}
			if (strchr(OPTS_WITH_VALUE, c)) {
				if (a[j + 1])
					v = a + j + 1;
				else if (i + 1 < argc)
					v = argv[++i];
				else {
					log_err(NULL, "option -%c needs a value", c);
					return EX_USAGE;
				}
				if ((rc = opts_value(o, c, v)) != 0)
					return rc;
				break;
			}
			switch (c) {
			case 't':
				o->extract = 1;
				break;
			case 'i':
				o->dot_ends = 0;
				break;
			case 'v':
				o->verbose = 1;
				break;
			case 'I':
				/* Sendmail and Postfix: newaliases */
				o->mode = OPTS_MODE_ALIASES;
				break;
			default:
				if (!strchr(OPTS_IGNORED, c))
					log_err(NULL, "option -%c ignored", c);
				break;
			}
		}
	}
	o->rcpt = argv + i;
	o->nrcpt = i < argc ? (size_t)(argc - i) : 0;
	return 0;
}
