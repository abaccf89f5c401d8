#include "session.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "buf.h"
#include "log.h"
#include "spool.h"
#include "submit.h"

/*
 * The dialogue reads through its own buffer, so that pipelined commands
 * are taken from it one line at a time; replies collect in another
 * buffer, written out only before a read that would block (and at the
 * end). A line is the bytes up to LF, with a CR before the LF dropped;
 * a client that ends lines with a bare LF is understood too.
 *
 * DATA is read here, not by msg_in: the lone "." ends it and one leading
 * dot is removed from every other line. The lines, each given a CRLF,
 * are written to an anonymous memory file, which then goes through
 * submit_message as a caller's stdin would (with -i semantics), so that a
 * message from -bs is normalised, completed and queued by exactly the
 * code a command-line submission uses.
 */

struct session {
	const struct conf *c;
	const struct opts *o;
	const struct session_hooks *h;
	int in, out;
	int timeout_ms;
	char *domain;

	char ibuf[65536];
	size_t ipos, ilen;
	int eof;		/* in has ended */
	int err;		/* errno of the first failure; ETIMEDOUT */
	const char *errwhat;	/* "input" or "output" */
	int truncated;		/* the input ended inside DATA */
	struct buf line;	/* the line just read */
	struct buf reply;	/* replies not yet written */

	/* the transaction */
	int mail;		/* MAIL accepted */
	char *sender;		/* as given; "" for <> */
	struct addr_list rcpt;	/* as given */
	size_t rcpt_tried;	/* RCPT commands in this transaction */
};

/* Keeps the first failure: the session ends on it. */
static void
session_fail(struct session *s, int err, const char *what)
{
	if (s->err == 0) {
		s->err = err;
		s->errwhat = what;
	}
}

static void session_reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
session_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		session_fail(s, ENOMEM, "output");
		return;
	}
	if (buf_append(&s->reply, p, (size_t)n) == -1 ||
	    buf_append(&s->reply, "\r\n", 2) == -1)
		session_fail(s, errno, "output");
	free(p);
}

static int
session_flush(struct session *s)
{
	size_t off = 0;
	ssize_t n;

	while (off < s->reply.len) {
		n = write(s->out, s->reply.data + off, s->reply.len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			session_fail(s, errno, "output");
			return -1;
		}
		off += (size_t)n;
	}
	buf_reset(&s->reply);
	return 0;
}

/* Refills ibuf, writing pending replies first: the client may be waiting
 * for them before it sends more. 1, 0 at the end of input, -1 (s->err). */
static int
session_fill(struct session *s)
{
	struct pollfd p;
	ssize_t n;
	int r;

	if (s->eof)
		return 0;
	if (s->err || session_flush(s) == -1)
		return -1;
	p.fd = s->in;
	p.events = POLLIN;
	for (;;) {
		r = poll(&p, 1, s->timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			session_fail(s, errno, "input");
			return -1;
		}
		if (r == 0) {
			session_fail(s, ETIMEDOUT, "input");
			return -1;
		}
		n = read(s->in, s->ibuf, sizeof(s->ibuf));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			session_fail(s, errno, "input");
			return -1;
		}
		if (n == 0) {
			s->eof = 1;
			return 0;
		}
		s->ipos = 0;
		s->ilen = (size_t)n;
		return 1;
	}
}

/*
 * Reads one line into s->line, without its LF and the CR before it.
 * Returns 1; 2 when the line was longer than max (its bytes past max are
 * dropped); 0 at the end of input with no bytes of a line read; -1 on an
 * error (s->err). A last line without LF is returned as a line.
 */
static int
session_getline(struct session *s, size_t max)
{
	int toolong = 0, r, any = 0;

	buf_reset(&s->line);
	for (;;) {
		char *p, *lf;
		size_t n;

		if (s->ipos == s->ilen) {
			if ((r = session_fill(s)) == -1)
				return -1;
			if (r == 0)
				return any ? 1 + toolong : 0;
		}
		any = 1;
		p = s->ibuf + s->ipos;
		lf = memchr(p, '\n', s->ilen - s->ipos);
		n = lf ? (size_t)(lf - p) : s->ilen - s->ipos;
		s->ipos += n + (lf != NULL);
		if (!toolong) {
			/* max + 1 leaves room for the CR that a CRLF end
			 * brings, removed below. */
			if (s->line.len + n > max + 1) {
				toolong = 1;
			} else if (buf_append(&s->line, p, n) == -1) {
				session_fail(s, errno, "input");
				return -1;
			}
		}
		if (lf)
			break;
	}
	if (!toolong && s->line.len > 0 && s->line.data[s->line.len - 1] == '\r')
		s->line.data[--s->line.len] = '\0';
	if (s->line.len > max)
		toolong = 1;
	return 1 + toolong;
}

static void
session_reset(struct session *s)
{
	free(s->sender);
	s->sender = NULL;
	addr_list_free(&s->rcpt);
	addr_list_init(&s->rcpt);
	s->mail = 0;
	s->rcpt_tried = 0;
}

/* The verb is the first word; *arg is what follows its one space ("" if
 * nothing). Returns 1 if line starts with verb. */
static int
session_is(const char *line, const char *verb, const char **arg)
{
	size_t n = strlen(verb);

	if (strncasecmp(line, verb, n) != 0 || (line[n] != ' ' && line[n] != '\0'))
		return 0;
	line += n;
	line += strspn(line, " ");
	*arg = line;
	return 1;
}

/*
 * Splits "<path> PARAMS" (after "FROM:" or "TO:") in place: *addr gets the
 * address without brackets or source route ("" for "<>"), *params what
 * follows. A path without brackets is taken up to the first space, as
 * Sendmail does. Returns 0 or -1 when it is not a path.
 */
static int
session_path(char *p, char **addr, char **params)
{
	char *end;
	int quoted = 0;

	p += strspn(p, " ");
	if (*p != '<') {
		if (*p == '\0')
			return -1;
		*addr = p;
		end = p + strcspn(p, " ");
	} else {
		for (end = ++p; *end; end++) {
			if (quoted && *end == '\\' && end[1])
				end++;
			else if (*end == '"')
				quoted = !quoted;
			else if (*end == '>' && !quoted)
				break;
		}
		if (*end != '>')
			return -1;
		*end++ = '\0';
		if (*end != ' ' && *end != '\0')
			return -1;
		/* "<@a,@b:user@c>": the source route is ignored (RFC 5321
		 * 4.1.1.3, appendix C). */
		if (*p == '@') {
			char *colon = strchr(p, ':');

			if (colon == NULL)
				return -1;
			p = colon + 1;
		}
		*addr = p;
	}
	if (*end) {
		*end++ = '\0';
		end += strspn(end, " ");
	}
	*params = end;
	return 0;
}

/* MAIL parameters. Returns 0, or -1 with the reply sent. */
static int
session_mail_params(struct session *s, char *params)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(params, " ", &save); tok;
	    tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : NULL;

		if (eq)
			*eq = '\0';
		if (strcasecmp(tok, "BODY") == 0) {
			if (v == NULL || (strcasecmp(v, "7BIT") != 0 &&
			    strcasecmp(v, "8BITMIME") != 0)) {
				session_reply(s, "501 5.5.4 BODY must be 7BIT or 8BITMIME");
				return -1;
			}
		} else if (strcasecmp(tok, "SIZE") == 0) {
			unsigned long long n;
			char *e;

			if (v == NULL || *v < '0' || *v > '9') {
				session_reply(s, "501 5.5.4 Bad SIZE parameter");
				return -1;
			}
			errno = 0;
			n = strtoull(v, &e, 10);
			if (*e != '\0') {
				session_reply(s, "501 5.5.4 Bad SIZE parameter");
				return -1;
			}
			if (errno == ERANGE || n > SESSION_SIZE_MAX) {
				session_reply(s, "552 5.3.4 Message size exceeds "
				    "fixed limit of %lu bytes", SESSION_SIZE_MAX);
				return -1;
			}
		} else if (strcasecmp(tok, "SMTPUTF8") == 0 && v == NULL) {
			/* the intake takes UTF-8 either way */
		} else {
			session_reply(s, "555 5.5.4 Unsupported MAIL parameter");
			return -1;
		}
	}
	return 0;
}

static void
session_mail(struct session *s, const char *arg)
{
	char *copy, *addr, *params;
	const char *why;

	if (s->mail) {
		session_reply(s, "503 5.5.1 Sender already given");
		return;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0) {
		session_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if ((copy = strdup(arg + 5)) == NULL) {
		session_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	if (session_path(copy, &addr, &params) == -1) {
		session_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		goto out;
	}
	if (addr[0] != '\0' && addr_check(addr, &why) == -1) {
		session_reply(s, "553 5.1.7 Bad sender address: %s", why);
		goto out;
	}
	if (session_mail_params(s, params) == -1)
		goto out;
	if ((s->sender = strdup(addr)) == NULL) {
		session_reply(s, "451 4.3.0 Out of memory");
		goto out;
	}
	s->mail = 1;
	session_reply(s, "250 2.1.0 Sender OK");
out:
	free(copy);
}

static void
session_rcpt(struct session *s, const char *arg)
{
	struct addr_list scratch;
	char *copy, *addr, *params;
	const char *why;

	if (!s->mail) {
		session_reply(s, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	s->rcpt_tried++;
	if (strncasecmp(arg, "TO:", 3) != 0) {
		session_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if ((copy = strdup(arg + 3)) == NULL) {
		session_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	if (session_path(copy, &addr, &params) == -1) {
		session_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		goto out;
	}
	if (*params) {
		session_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		goto out;
	}
	if (addr[0] == '\0') {
		session_reply(s, "501 5.1.3 The null address is no recipient");
		goto out;
	}
	if (addr_check(addr, &why) == -1) {
		session_reply(s, "553 5.1.3 Bad recipient address: %s", why);
		goto out;
	}
	if (s->rcpt.n >= SESSION_RCPT_MAX) {
		session_reply(s, "452 4.5.3 Too many recipients");
		goto out;
	}
	/* Expanded now only to find a broken alias table while the client
	 * can still be told; submit_message expands again. */
	addr_list_init(&scratch);
	if (alias_expand(s->c, addr, s->domain, &scratch) == -1) {
		if (errno == ELOOP)
			session_reply(s, "451 4.3.5 Aliases nest too deep");
		else
			session_reply(s, "451 4.3.0 Local error in aliases");
	} else if (addr_list_add(&s->rcpt, addr) == -1) {
		session_reply(s, "451 4.3.0 Out of memory");
	} else {
		session_reply(s, "250 2.1.5 Recipient OK");
	}
	addr_list_free(&scratch);
out:
	free(copy);
}

/* Writes all of b to fd. 0 or -1 with errno. */
static int
session_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Why a message read in DATA is not queued. */
enum session_refusal {
	SESSION_OK,
	SESSION_LONG_LINE,
	SESSION_TOO_BIG,
	SESSION_NUL,
	SESSION_LOCAL		/* buffering failed: s->err-like errno kept */
};

/* The message into submit_message; replies 250 or the reason. */
static void
session_queue(struct session *s, int fd)
{
	char id[SPOOL_ID_MAX];
	struct opts o = *s->o;
	int rc;

	o.mode = OPTS_MODE_SEND;
	o.extract = 0;
	o.dot_ends = 0;
	o.from = s->sender;
	o.rcpt = s->rcpt.v;
	o.nrcpt = s->rcpt.n;
	if (lseek(fd, 0, SEEK_SET) == -1) {
		log_errno("-bs", "message buffer");
		session_reply(s, "451 4.3.0 Local error; message not queued");
		return;
	}
	rc = submit_message(s->c, &o, fd, s->h ? s->h->broker : NULL, id);
	switch (rc) {
	case 0:
		if (s->h && s->h->queued)
			s->h->queued(s->h->arg, id);
		session_reply(s, "250 2.0.0 Queued as %s", id);
		break;
	case EX_DATAERR:
	case EX_USAGE:
		session_reply(s, "554 5.6.0 Message refused (header too large "
		    "or malformed); not queued");
		break;
	default:
		session_reply(s, "451 4.3.0 Local error; message not queued");
		break;
	}
}

/*
 * DATA: reads to the lone dot, then queues or refuses. Returns 0, or -1
 * when the input failed or ended inside the message (nothing queued).
 */
static int
session_data(struct session *s)
{
	enum session_refusal why = SESSION_OK;
	unsigned long long size = 0;
	struct buf pending;
	int fd, r;

	if ((fd = memfd_create("sendq-bs", MFD_CLOEXEC)) == -1) {
		log_errno("-bs", "message buffer");
		session_reply(s, "451 4.3.0 Local error; try again later");
		return 0;
	}
	buf_init(&pending, 0);
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	for (;;) {
		const char *p;
		size_t n;

		r = session_getline(s, SESSION_LINE_MAX);
		if (r <= 0)
			break;
		p = s->line.data;
		n = s->line.len;
		if (r == 1 && n == 1 && p[0] == '.')
			break;
		if (why != SESSION_OK)
			continue;
		if (r == 2) {
			why = SESSION_LONG_LINE;
			continue;
		}
		if (p[0] == '.') {
			p++;
			n--;
		}
		if (memchr(p, '\0', n) != NULL) {
			why = SESSION_NUL;
			continue;
		}
		size += n + 2;
		if (size > SESSION_SIZE_MAX) {
			why = SESSION_TOO_BIG;
			continue;
		}
		if (buf_append(&pending, p, n) == -1 ||
		    buf_append(&pending, "\r\n", 2) == -1) {
			why = SESSION_LOCAL;
			continue;
		}
		if (pending.len >= 65536) {
			if (session_write_all(fd, pending.data, pending.len) == -1)
				why = SESSION_LOCAL;
			buf_reset(&pending);
		}
	}
	if (r <= 0) {
		s->truncated = r == 0;
		goto out;
	}
	if (why == SESSION_OK &&
	    session_write_all(fd, pending.data, pending.len) == -1)
		why = SESSION_LOCAL;
	switch (why) {
	case SESSION_OK:
		session_queue(s, fd);
		break;
	case SESSION_LONG_LINE:
		session_reply(s, "552 5.3.4 A line of the message is longer "
		    "than %d bytes; not queued", SESSION_LINE_MAX);
		break;
	case SESSION_TOO_BIG:
		session_reply(s, "552 5.3.4 Message size exceeds fixed limit "
		    "of %lu bytes; not queued", SESSION_SIZE_MAX);
		break;
	case SESSION_NUL:
		session_reply(s, "554 5.6.0 Message holds NUL bytes; not queued");
		break;
	case SESSION_LOCAL:
		log_errno("-bs", "message buffer");
		session_reply(s, "451 4.3.0 Local error; message not queued");
		break;
	}
out:
	buf_free(&pending);
	close(fd);
	session_reset(s);
	return r <= 0 ? -1 : 0;
}

static void
session_ehlo(struct session *s, const char *arg, int extended)
{
	char *name;

	if (*arg == '\0') {
		session_reply(s, "501 5.5.4 Syntax: %s hostname",
		    extended ? "EHLO" : "HELO");
		return;
	}
	session_reset(s);
	if ((name = strndup(arg, 255)) == NULL) {
		session_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	log_sanitize(name);
	if (!extended) {
		session_reply(s, "250 %s Hello %s", s->domain, name);
	} else {
		session_reply(s, "250-%s Hello %s", s->domain, name);
		session_reply(s, "250-8BITMIME");
		session_reply(s, "250-SMTPUTF8");
		session_reply(s, "250-SIZE %lu", SESSION_SIZE_MAX);
		session_reply(s, "250-PIPELINING");
		session_reply(s, "250-ENHANCEDSTATUSCODES");
		session_reply(s, "250 HELP");
	}
	free(name);
}

/* Verbs of RFC 5321 and its extensions that this pipe does not offer. */
static const char *const SESSION_NOT_OFFERED[] = {
	"AUTH", "STARTTLS", "EXPN", "BDAT", "ETRN", "TURN", "ATRN", "SEND",
	"SOML", "SAML", "VERB", "ONEX", "XCLIENT", "XFORWARD", NULL
};

/* One command. Returns 1 after QUIT, 0 to go on, -1 on input failure. */
static int
session_command(struct session *s, const char *line)
{
	const char *arg;
	size_t i;

	if (session_is(line, "EHLO", &arg)) {
		session_ehlo(s, arg, 1);
	} else if (session_is(line, "HELO", &arg)) {
		session_ehlo(s, arg, 0);
	} else if (session_is(line, "MAIL", &arg)) {
		session_mail(s, arg);
	} else if (session_is(line, "RCPT", &arg)) {
		session_rcpt(s, arg);
	} else if (session_is(line, "DATA", &arg)) {
		if (*arg)
			session_reply(s, "501 5.5.4 Syntax: DATA");
		else if (!s->mail)
			session_reply(s, "503 5.5.1 Need MAIL before DATA");
		else if (s->rcpt.n == 0 && s->rcpt_tried > 0)
			session_reply(s, "554 5.5.1 No valid recipients");
		else if (s->rcpt.n == 0)
			session_reply(s, "503 5.5.1 Need RCPT before DATA");
		else
			return session_data(s);
	} else if (session_is(line, "RSET", &arg)) {
		session_reset(s);
		session_reply(s, "250 2.0.0 OK");
	} else if (session_is(line, "NOOP", &arg)) {
		session_reply(s, "250 2.0.0 OK");
	} else if (session_is(line, "QUIT", &arg)) {
		session_reply(s, "221 2.0.0 %s closing", s->domain);
		return 1;
	} else if (session_is(line, "VRFY", &arg)) {
		if (*arg == '\0')
			session_reply(s, "501 5.5.4 Syntax: VRFY address");
		else
			session_reply(s, "252 2.5.2 Cannot VRFY; send the "
			    "message and delivery will be attempted");
	} else if (session_is(line, "HELP", &arg)) {
		session_reply(s, "214-2.0.0 sendq on a local pipe: no AUTH, no STARTTLS");
		session_reply(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA");
		session_reply(s, "214 2.0.0   RSET NOOP QUIT VRFY HELP");
	} else {
		for (i = 0; SESSION_NOT_OFFERED[i]; i++)
			if (session_is(line, SESSION_NOT_OFFERED[i], &arg))
				break;
		if (SESSION_NOT_OFFERED[i])
			session_reply(s, "502 5.5.1 %s not offered on a local pipe",
			    SESSION_NOT_OFFERED[i]);
		else
			session_reply(s, "500 5.5.2 Command not recognised");
	}
	return 0;
}

int
session_run(const struct conf *c, const struct opts *o, int in, int out,
    const struct session_hooks *h)
{
	struct session *s;
	int rc = 0, r;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_errno("-bs", "start-up");
		return EX_OSERR;
	}
	s->c = c;
	s->o = o;
	s->h = h;
	s->in = in;
	s->out = out;
	s->timeout_ms = (int)((h && h->timeout ? h->timeout : SESSION_TIMEOUT) *
	    1000U);
	buf_init(&s->line, 0);
	buf_init(&s->reply, 0);
	addr_list_init(&s->rcpt);
	if ((s->domain = conf_domain(c)) == NULL) {
		log_errno("-bs", "start-up");
		free(s);
		return EX_OSERR;
	}
	session_reply(s, "220 %s ESMTP sendq", s->domain);
	for (;;) {
		r = session_getline(s, SESSION_CMD_MAX);
		if (r <= 0)
			break;
		if (r == 2) {
			session_reply(s, "500 5.5.2 Line too long");
			continue;
		}
		if (memchr(s->line.data, '\0', s->line.len) != NULL) {
			session_reply(s, "500 5.5.2 NUL byte in command");
			continue;
		}
		r = session_command(s, s->line.data);
		if (r != 0)
			break;
	}
	if (s->truncated) {
		log_err("-bs", "the input ended inside DATA; message not queued");
		rc = EX_IOERR;
	}
	if (s->err == ETIMEDOUT) {
		/* The client may still read a 421. */
		s->err = 0;
		session_reply(s, "421 4.4.2 %s Timeout; closing", s->domain);
		session_flush(s);
		log_err("-bs", "no input for %d seconds; closing",
		    s->timeout_ms / 1000);
		rc = EX_IOERR;
	} else if (session_flush(s) == -1 || s->err) {
		errno = s->err;
		log_errno("-bs", "%s", s->errwhat);
		rc = EX_IOERR;
	}
	session_reset(s);
	buf_free(&s->line);
	buf_free(&s->reply);
	free(s->domain);
	free(s);
	return rc;
}
