#include "submit.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "log.h"
#include "msg.h"

/* Who is calling: from the real uid, never from LOGNAME or USER. */
struct submit_user {
	char *name;
	char *gecos;
	uid_t uid;
};

static int
submit_whoami(struct submit_user *u)
{
	struct passwd *pw;
	char num[32];

	u->uid = getuid();
	errno = 0;
	pw = getpwuid(u->uid);
	if (pw) {
		size_t n = strcspn(pw->pw_gecos ? pw->pw_gecos : "", ",");

		u->name = strdup(pw->pw_name);
		u->gecos = strndup(pw->pw_gecos ? pw->pw_gecos : "", n);
	} else {
		snprintf(num, sizeof(num), "uid%lu", (unsigned long)u->uid);
		u->name = strdup(num);
		u->gecos = strdup("");
	}
	return u->name && u->gecos ? 0 : -1;
}

/* Adds every address of one argv recipient (which may be a list, as
 * Sendmail allows) or header address to out, after aliases. */
static int
submit_rcpt(const struct conf *c, const char *domain, const char *raw,
    struct addr_list *out, const char *where)
{
	const char *why;
	int rc;

	if (addr_check(raw, &why) == -1) {
		log_err(where, "<%s>: %s", raw, why);
		return EX_DATAERR;
	}
	rc = alias_expand(c, raw, domain, out);
	if (rc == -1) {
		if (errno == ELOOP)
			log_err(where, "<%s>: aliases nest too deep", raw);
		else
			log_errno(where, "<%s>", raw);
		return errno == ELOOP ? EX_CONFIG : EX_OSERR;
	}
	return 0;
}

static int
submit_list(const struct conf *c, const char *domain,
    const struct addr_list *in, struct addr_list *out, const char *where)
{
	size_t i;
	int rc;

	for (i = 0; i < in->n; i++)
		if ((rc = submit_rcpt(c, domain, in->v[i], out, where)) != 0)
			return rc;
	return 0;
}

/* Recipients named on the command line. */
static int
submit_argv_rcpts(const struct opts *o, struct addr_list *raw)
{
	size_t i;

	for (i = 0; i < o->nrcpt; i++) {
		const char *a = o->rcpt[i];

		/* An argument that starts with '-' here came after the
		 * first address or after "--": refuse it rather than take
		 * it for an address (the PHPMailer class of injection). */
		if (addr_parse_list(a, strlen(a), raw) == -1 || a[0] == '-') {
			log_err("recipient", "\"%s\": not an address", a);
			return EX_USAGE;
		}
	}
	return 0;
}

/* The envelope sender: -f, else the caller at the sender domain. */
static int
submit_sender(const struct opts *o, const struct submit_user *u,
    const char *domain, char **out)
{
	const char *why;

	if (o->from == NULL) {
		*out = addr_qualify(u->name, domain);
	} else if (o->from[0] == '\0') {
		*out = strdup("");
	} else {
		if (addr_check(o->from, &why) == -1) {
			log_err("sender", "<%s>: %s", o->from, why);
			return EX_USAGE;
		}
		*out = addr_qualify(o->from, domain);
	}
	if (*out == NULL) {
		log_errno(NULL, "sender");
		return EX_OSERR;
	}
	return 0;
}

struct submit_ctx {
	const struct conf *c;
	const struct opts *o;
	struct submit_user user;
	char *domain;
	char *sender;
	struct addr_list rcpt;
	struct msg_in in;
	struct msg_head head;
	struct spool_new sp;
	int spooling;
};

static int
submit_put(void *ctx, const void *p, size_t n)
{
	return spool_put_content(ctx, p, n);
}

/* What -N, -R and -V may hold (RFC 3461); anything else is dropped with
 * a warning rather than refused, as the message must still go. */
static const char *
submit_dsn(const char *v, const char *what, int (*ok)(const char *))
{
	if (v == NULL)
		return NULL;
	if (ok(v))
		return v;
	log_err(NULL, "%s \"%s\" ignored: not a DSN value", what, v);
	return NULL;
}

static int
submit_ok_notify(const char *v)
{
	char *d = strdup(v), *tok, *save = NULL;
	int ok = 1, never = 0, n = 0;

	if (d == NULL)
		return 0;
	for (tok = strtok_r(d, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		n++;
		if (strcasecmp(tok, "never") == 0)
			never = 1;
		else if (strcasecmp(tok, "success") && strcasecmp(tok, "failure") &&
		    strcasecmp(tok, "delay"))
			ok = 0;
	}
	free(d);
	return ok && n > 0 && (!never || n == 1);
}

static int
submit_ok_ret(const char *v)
{
	return strcasecmp(v, "full") == 0 || strcasecmp(v, "hdrs") == 0;
}

static int
submit_ok_envid(const char *v)
{
	size_t n = 0;

	for (; *v; v++, n++)
		if ((unsigned char)*v < 0x21 || (unsigned char)*v > 0x7e)
			return 0;
	return n > 0 && n <= 100;
}

static int
submit_put_user(struct spool_new *sp, const struct submit_user *u)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = buf_printf(&b, "%lu %s", (unsigned long)u->uid, u->name);
	if (rc == 0)
		rc = spool_put(sp, 'U', b.data, b.len);
	buf_free(&b);
	return rc;
}

/* The envelope records, then the content. Returns 0, or -1 with errno
 * for a queue failure, or a sysexits code for bad input. */
static int
submit_spool(struct submit_ctx *s)
{
	const struct opts *o = s->o;
	struct msg_origin og;
	char num[32];
	char *chunk;
	const char *v;
	ssize_t n;
	size_t i;
	int rc = -1;

	snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
	if (spool_put_str(&s->sp, 'T', num) == -1 ||
	    submit_put_user(&s->sp, &s->user) == -1 ||
	    spool_put_str(&s->sp, 'F', s->sender) == -1)
		return -1;
	if ((v = submit_dsn(o->envid, "-V", submit_ok_envid)) &&
	    spool_put_str(&s->sp, 'E', v) == -1)
		return -1;
	if ((v = submit_dsn(o->notify, "-N", submit_ok_notify)) &&
	    spool_put_str(&s->sp, 'N', v) == -1)
		return -1;
	if ((v = submit_dsn(o->ret, "-R", submit_ok_ret)) &&
	    spool_put_str(&s->sp, 'Y', v) == -1)
		return -1;
	for (i = 0; i < s->rcpt.n; i++)
		if (spool_put_str(&s->sp, 'R', s->rcpt.v[i]) == -1)
			return -1;
	/* Only a background message may be taken by a runner that stays
	 * after a burst: -odq waits for a queue run, and -odi and -v for
	 * the runner whose outcome the caller waits to see. */
	if ((o->delivery != OPTS_DELIVER_BACKGROUND || o->verbose) &&
	    spool_put_str(&s->sp, 'Q', "") == -1)
		return -1;

	memset(&og, 0, sizeof(og));
	og.domain = s->domain;
	og.user = s->user.name;
	og.fullname = o->fullname ? o->fullname : s->user.gecos;
	og.from = s->sender[0] ? s->sender : NULL;
	og.now = time(NULL);
	og.id = s->sp.id;
	if (msg_head_complete(&s->head, &og) == -1 ||
	    msg_head_write(&s->head, submit_put, &s->sp) != 0)
		return -1;

	if ((chunk = malloc(SPOOL_CHUNK)) == NULL)
		return -1;
	while ((n = msg_in_read(&s->in, chunk, SPOOL_CHUNK)) > 0)
		if (spool_put_content(&s->sp, chunk, (size_t)n) == -1)
			goto out;
	if (n == -1) {
		errno = s->in.err;
		log_errno("input", "reading the message");
		rc = EX_IOERR;
		goto out;
	}
	if (s->in.nul) {
		log_err("input", "the message holds NUL bytes; not queued");
		rc = EX_DATAERR;
		goto out;
	}
	if (s->in.eightbit && spool_put_str(&s->sp, 'B', "8BITMIME") == -1)
		goto out;
	rc = 0;
out:
	free(chunk);
	return rc;
}

/* Header, sender and recipients: all that can be refused before the
 * queue is touched. */
static int
submit_prepare(struct submit_ctx *s, int fd)
{
	const struct opts *o = s->o;
	struct addr_list raw;
	const char *bad = NULL;
	int rc;

	if (submit_whoami(&s->user) == -1 ||
	    (s->domain = conf_domain(s->c)) == NULL) {
		log_errno(NULL, "start-up");
		return EX_OSERR;
	}
	if ((rc = submit_sender(o, &s->user, s->domain, &s->sender)) != 0)
		return rc;

	addr_list_init(&raw);
	if ((rc = submit_argv_rcpts(o, &raw)) != 0)
		goto out;
	if ((rc = submit_list(s->c, s->domain, &raw, &s->rcpt, "recipient")) != 0)
		goto out;

	msg_in_init(&s->in, fd, o->dot_ends);
	if (msg_head_read(&s->in, &s->head) == -1) {
		if (errno == E2BIG) {
			log_err("input", "message header over %d bytes; not queued",
			    MSG_HEAD_MAX);
			rc = EX_DATAERR;
		} else if (errno == EIO) {
			errno = s->in.err;
			log_errno("input", "reading the message");
			rc = EX_IOERR;
		} else {
			log_errno("input", "reading the message");
			rc = EX_OSERR;
		}
		goto out;
	}
	if (o->extract) {
		addr_list_free(&raw);
		addr_list_init(&raw);
		if (msg_head_rcpts(&s->head, &raw, &bad) == -1) {
			if (bad)
				log_err("header", "%s: not an address list", bad);
			else
				log_errno("header", "recipients");
			rc = bad ? EX_DATAERR : EX_OSERR;
			goto out;
		}
		if ((rc = submit_list(s->c, s->domain, &raw, &s->rcpt, "header")) != 0)
			goto out;
	}
	if (s->rcpt.n == 0) {
		log_err(NULL, o->extract ?
		    "no recipients in the arguments or the header" :
		    "no recipients given (use -t to take them from the header)");
		rc = EX_USAGE;
	}
out:
	addr_list_free(&raw);
	return rc;
}

/* A new queue file: from the broker in a set-group-id run. */
static int
submit_create(struct spool_new *sp, const struct conf *c,
    struct priv_broker *broker)
{
	char id[SPOOL_ID_MAX];
	int fd;

	if (broker == NULL)
		return spool_create(sp, c->queue_dir);
	if (priv_broker_create(broker, &fd, id, sizeof(id)) == -1)
		return -1;
	return spool_adopt(sp, broker->qdirfd, fd, id);
}

int
submit_message(const struct conf *c, const struct opts *o, int fd,
    struct priv_broker *broker, char id[SPOOL_ID_MAX])
{
	struct submit_ctx s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.o = o;
	addr_list_init(&s.rcpt);
	if ((rc = submit_prepare(&s, fd)) != 0)
		goto out;

	if (submit_create(&s.sp, c, broker) == -1) {
		log_errno("queue", "%s", c->queue_dir);
		rc = EX_TEMPFAIL;
		goto out;
	}
	rc = submit_spool(&s);
	if (rc == -1) {
		log_errno("queue", "%s", c->queue_dir);
		rc = EX_TEMPFAIL;
	}
	if (rc != 0) {
		spool_abort(&s.sp);
		goto out;
	}
	if (spool_commit(&s.sp) == -1) {
		log_errno("queue", "%s", c->queue_dir);
		rc = EX_TEMPFAIL;
		goto out;
	}
	memcpy(id, s.sp.id, SPOOL_ID_MAX);
	log_mail(LOG_INFO, "%s: from=<%s>, size=%llu, nrcpt=%zu, uid=%lu (queue active)",
	    id, s.sender, (unsigned long long)s.sp.size, s.rcpt.n,
	    (unsigned long)s.user.uid);
out:
	msg_head_free(&s.head);
	addr_list_free(&s.rcpt);
	free(s.user.name);
	free(s.user.gecos);
	free(s.domain);
	free(s.sender);
	return rc;
}

int
submit_verify(const struct conf *c, const struct opts *o)
{
	struct addr_list raw, one;
	char *domain;
	size_t i, j;
	int rc;

	if ((domain = conf_domain(c)) == NULL) {
		log_errno(NULL, "start-up");
		return EX_OSERR;
	}
	addr_list_init(&raw);
	rc = submit_argv_rcpts(o, &raw);
	for (i = 0; rc == 0 && i < raw.n; i++) {
		addr_list_init(&one);
		rc = submit_rcpt(c, domain, raw.v[i], &one, "recipient");
		for (j = 0; rc == 0 && j < one.n; j++)
			printf("%s -> %s\n", raw.v[i], one.v[j]);
		addr_list_free(&one);
	}
	if (rc == 0 && raw.n == 0) {
		log_err(NULL, "-bv: no recipients given");
		rc = EX_USAGE;
	}
	addr_list_free(&raw);
	free(domain);
	return rc;
}

int
submit_notice(const struct conf *c, const struct opts *o,
    struct priv_broker *broker, const char *text, size_t len,
    char id[SPOOL_ID_MAX])
{
	struct submit_user u;
	struct addr_list to;
	struct spool_new sp;
	struct buf b;
	char date[64], t[32], *domain = NULL, *sender = NULL;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;
	int rc = -1;

	memset(&u, 0, sizeof(u));
	addr_list_init(&to);
	buf_init(&b, 0);
	/* Where the message would have come from, through the aliases;
	 * the null sender's errors have nowhere to go. */
	if (submit_whoami(&u) == -1 || (domain = conf_domain(c)) == NULL ||
	    submit_sender(o, &u, domain, &sender) != 0 || sender[0] == '\0')
		goto out;
	if (addr_is_local(sender) || strcasecmp(strrchr(sender, '@') + 1,
	    domain) == 0) {
		char *local = strndup(sender, strcspn(sender, "@"));

		if (local == NULL || alias_expand(c, local, domain, &to) == -1) {
			free(local);
			goto out;
		}
		free(local);
	} else if (addr_list_add(&to, sender) == -1)
		goto out;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (submit_create(&sp, c, broker) == -1)
		goto out;
	buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: Returned mail: your message was not queued\r\n"
	    "Date: %s\r\nMessage-ID: <%s.notice@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n\r\n"
	    "sendmail could not queue a message you sent; it was not sent.\r\n"
	    "The reason:\r\n\r\n", domain, sender, date, sp.id, domain);
	/* the error lines, each with CRLF, nothing else of the input */
	for (i = 0; i < len; i++) {
		if (text[i] == '\n')
			buf_puts(&b, "\r\n");
		else if ((unsigned char)text[i] >= 0x20 || text[i] == '\t')
			buf_putc(&b, text[i]);
	}
	snprintf(t, sizeof(t), "%lld", (long long)now);
	if (spool_put_str(&sp, 'T', t) == -1 ||
	    submit_put_user(&sp, &u) == -1 || spool_put_str(&sp, 'F', "") == -1)
		goto abort;
	for (i = 0; i < to.n; i++)
		if (spool_put_str(&sp, 'R', to.v[i]) == -1)
			goto abort;
	memcpy(id, sp.id, SPOOL_ID_MAX);
	if (spool_put_content(&sp, b.data, b.len) == -1 || spool_commit(&sp) == -1)
		goto abort;
	rc = 0;
	goto out;
abort:
	spool_abort(&sp);
out:
	buf_free(&b);
	addr_list_free(&to);
	free(u.name);
	free(u.gecos);
	free(domain);
	free(sender);
	return rc;
}
