#include "deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "bounce.h"
#include "log.h"
#include "mime.h"
#include "queue.h"
#include "relay.h"
#include "spool.h"

/* A queue file without its end record and without a writer. */
#define DELIVER_STALE 86400

/* One smarthost section's connection in a pass. */
struct deliver_link {
	struct relay *relay;
	unsigned on_relay;		/* messages sent on this connection */
	int reconnects;
	struct relay_reply down;	/* why the smarthost is unusable now */
	time_t used;			/* when it last carried a message */
};

/* A connection idle longer than this is closed rather than reused: the
 * server may have dropped it, and libcurl 7.88 would not notice. */
#define DELIVER_IDLE 5

#define DELIVER_NO_LINK ((size_t)-1)
/* A header longer than this is sent without the From rewrite. */
#define DELIVER_HEADER_MAX (256 * 1024)

struct deliver {
	const struct conf *c;
	int verbose;
	int qfd;
	struct deliver_link link[CONF_SMARTHOST_MAX];
	size_t cur;			/* the link in use, or DELIVER_NO_LINK */
	int sent, deferred, failed;
	char *chunk;
	char *domain;
	int counting;			/* outcomes count for the exit status */
	struct addr_list *touched;	/* ids this pass opened, or NULL */
	struct queue_ids bounces;	/* queued in this pass, sent at its end */
};

struct deliver_reader {
	const struct spool_msg *m;
	size_t next;
	char *buf;
	struct mime *mime;	/* re-encodes on the way out, or NULL */
	struct buf out;		/* what mime made of the last chunks */
	int finished;
	int rewrite;		/* rewrite_from header: From still to do */
	const char *from_addr;	/* the new From */
	struct buf hdr;		/* the rewritten header and what followed it */
};

/* 1 if the field at p (a line start) is named name. */
static int
deliver_field_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(p, name, k) == 0 && p[k] == ':';
}

/*
 * The header in h[0..n) (through the CRLF of its last field, without the
 * blank line) with From replaced by "From: from" and the original From
 * kept as Reply-To unless there is one already; appended to out.
 */
static int
deliver_rewrite_header(const char *h, size_t n, const char *from,
    struct buf *out)
{
	const char *p = h, *end = h + n, *q, *f = NULL;
	size_t flen = 0;
	int reply_to = 0, rc = 0;

	/* First pass: the original From field, and whether Reply-To is
	 * there. A field runs until a line that does not start with white
	 * space. */
	for (p = h; p < end; p = q) {
		for (q = p; q < end; ) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			q = nl ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		if (f == NULL && deliver_field_is(p, (size_t)(q - p), "From")) {
			f = p;
			flen = (size_t)(q - p);
		} else if (deliver_field_is(p, (size_t)(q - p), "Reply-To"))
			reply_to = 1;
	}
	for (p = h; p < end; p = q) {
		for (q = p; q < end; ) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			q = nl ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		if (p != f) {
			rc |= buf_append(out, p, (size_t)(q - p));
			continue;
		}
		rc |= buf_printf(out, "From: %s\r\n", from);
		if (!reply_to) {
			rc |= buf_puts(out, "Reply-To:");
			rc |= buf_append(out, f + 5, flen - 5);
		}
	}
	if (f == NULL)
		rc |= buf_printf(out, "From: %s\r\n", from);
	return rc ? -1 : 0;
}

/* The content as it goes out before re-encoding: the queued chunks, the
 * header rewritten first when rewrite_from asks for it. */
static int
deliver_next(struct deliver_reader *r, const char **p, size_t *n)
{
	struct buf raw;
	const char *eoh = NULL;
	size_t hl;

	if (r->rewrite) {
		r->rewrite = 0;
		buf_init(&raw, 0);
		while (r->next < r->m->nchunk) {
			if (spool_read_chunk(r->m, r->next, r->buf) == -1 ||
			    buf_append(&raw, r->buf,
			    r->m->chunklen[r->next++]) == -1) {
				buf_free(&raw);
				return -1;
			}
			if ((eoh = memmem(raw.data, raw.len, "\r\n\r\n", 4)) ||
			    raw.len > DELIVER_HEADER_MAX)
				break;
		}
		buf_init(&r->hdr, 0);
		if (raw.len > 0 && memcmp(raw.data, "\r\n", 2) == 0)
			eoh = raw.data - 2;	/* no header at all */
		if (eoh) {
			hl = (size_t)(eoh - raw.data) + 2;
			if (deliver_rewrite_header(raw.data, hl, r->from_addr,
			    &r->hdr) == -1 || buf_append(&r->hdr, raw.data + hl,
			    raw.len - hl) == -1) {
				buf_free(&raw);
				return -1;
			}
		} else if (raw.len && buf_append(&r->hdr, raw.data, raw.len)
		    == -1) {
			buf_free(&raw);
			return -1;
		}
		buf_free(&raw);
		if (r->hdr.len > 0) {
			*p = r->hdr.data;
			*n = r->hdr.len;
			return 0;
		}
	}
	if (r->next == r->m->nchunk) {
		*p = r->buf;
		*n = 0;
		return 0;
	}
	if (spool_read_chunk(r->m, r->next, r->buf) == -1)
		return -1;
	*p = r->buf;
	*n = r->m->chunklen[r->next++];
	return 0;
}

static int
deliver_read(void *ctx, const char **p, size_t *n)
{
	struct deliver_reader *r = ctx;
	const char *q;
	size_t k;

	if (r->mime == NULL)
		return deliver_next(r, p, n);
	buf_reset(&r->out);
	while (r->out.len == 0 && !r->finished) {
		if (deliver_next(r, &q, &k) == -1)
			return -1;
		if (k == 0) {
			if (mime_finish(r->mime, &r->out) == -1)
				return -1;
			r->finished = 1;
		} else if (mime_feed(r->mime, q, k, &r->out) == -1)
			return -1;
	}
	*p = r->out.data ? r->out.data : r->buf;
	*n = r->out.len;
	return 0;
}

static int
deliver_selected(const struct deliver_sel *sel, const struct spool_msg *m)
{
	size_t i;

	if (sel->id_sub && !strstr(m->id, sel->id_sub))
		return 0;
	if (sel->sender_sub && !strcasestr(m->sender, sel->sender_sub))
		return 0;
	if (sel->rcpt_sub) {
		for (i = 0; i < m->nrcpt; i++)
			if (strcasestr(m->rcpt[i].addr, sel->rcpt_sub))
				break;
		if (i == m->nrcpt)
			return 0;
	}
	return 1;
}

/* Exponential backoff from retry_first, doubling up to retry_max. */
static time_t
deliver_backoff(const struct conf *c, unsigned attempts)
{
	uint32_t r = 0;
	time_t d = (time_t)c->retry_first;

	while (attempts-- > 1 && d < (time_t)c->retry_max)
		d *= 2;
	if (d > (time_t)c->retry_max)
		d = (time_t)c->retry_max;
	/* +-20% so that messages deferred together do not retry in step */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)getpid();
	return d - d / 5 + (time_t)(r % (uint32_t)(2 * d / 5 + 1));
}

static const char *
deliver_status(enum spool_state st)
{
	return st == SPOOL_SENT ? "sent" : st == SPOOL_FAILED ? "bounced" :
	    "deferred";
}

/* Which reply decides recipient j of a transaction. */
static const struct relay_reply *
deliver_outcome(const struct relay_result *res, size_t j)
{
	if (res->mail.code < 200 || res->mail.code > 299)
		return &res->mail;
	if (j < res->nrcpt &&
	    (res->rcpt[j].code < 200 || res->rcpt[j].code > 299))
		return &res->rcpt[j];
	return &res->data;
}

static enum spool_state
deliver_state(const struct relay_reply *r)
{
	if (r->code >= 200 && r->code <= 299)
		return SPOOL_SENT;
	if (r->code >= 500 && r->code <= 599)
		return SPOOL_FAILED;
	return SPOOL_PENDING;
}

static void
deliver_record(struct deliver *d, struct spool_msg *m, size_t i,
    const struct relay_reply *r, int temporary)
{
	enum spool_state st = temporary ? SPOOL_PENDING : deliver_state(r);
	const char *text = r->text ? r->text : "lost connection with the smarthost";
	const struct deliver_link *l = d->cur == DELIVER_NO_LINK ? NULL :
	    &d->link[d->cur];
	const struct conf_smarthost *sh = l ? &d->c->smarthost[d->cur] : NULL;
	char code[16] = "", *named = NULL;

	/* Logged as Postfix does, "(451 4.3.0 text)": the text alone
	 * hides the code. */
	if (r->code)
		snprintf(code, sizeof(code), "%d ", r->code);
	/* With several smarthosts, the text says which one answered (for
	 * mailq and the log), unless it names it already. */
	if (sh && d->c->nsmarthost > 1 && !strstr(text, sh->host)) {
		if (l->relay && asprintf(&named, "%s said: %s",
		    relay_peer(l->relay), text) < 0)
			named = NULL;
		else if (!l->relay && asprintf(&named, "%s:%u: %s", sh->host,
		    sh->port, text) < 0)
			named = NULL;
		if (named)
			text = named;
	}
	/* A success is only noted: when every recipient succeeds the file
	 * goes, and writing the outcome first would cost an fsync per
	 * message. Everything else is on disk before we go on. */
	if ((st == SPOOL_SENT ? spool_note(m, i, st, r->code, text) :
	    spool_mark(m, i, st, r->code, text)) == -1)
		log_mail(LOG_ERR, "%s: cannot record the outcome for <%s>: %m",
		    m->id, m->rcpt[i].addr);
	log_mail(st == SPOOL_PENDING ? LOG_NOTICE : LOG_INFO,
	    "%s: to=<%s>, relay=%s, delay=%lld, tries=%u, status=%s (%s%s)",
	    m->id, m->rcpt[i].addr,
	    l && l->relay ? relay_peer(l->relay) : sh ? sh->host : "none",
	    (long long)(time(NULL) - m->arrival), m->attempts + 1,
	    deliver_status(st), code, text);
	/* -v: every attempt, the successful ones too */
	if (d->verbose)
		log_err(m->rcpt[i].addr, "%s: %s%s", deliver_status(st), code,
		    text);
	if (!d->counting)
		;
	else if (st == SPOOL_SENT)
		d->sent++;
	else if (st == SPOOL_FAILED)
		d->failed++;
	else
		d->deferred++;
	free(named);
}

/* Connects link d->cur, unless it is up or was found down in this
 * pass. */
static int
deliver_connect(struct deliver *d)
{
	struct deliver_link *l = &d->link[d->cur];
	const struct conf_smarthost *sh = &d->c->smarthost[d->cur];

	if (l->relay && (l->on_relay >= d->c->per_connection ||
	    time(NULL) - l->used > DELIVER_IDLE)) {
		relay_close(l->relay);
		l->relay = NULL;
	}
	if (l->relay)
		return 0;
	l->on_relay = 0;
	if (l->down.text || l->down.code)
		return -1;
	if (relay_open(&l->relay, d->c, sh, d->verbose, &l->down) == 0)
		return 0;
	l->relay = NULL;
	if (l->down.text == NULL)
		l->down.text = strdup("cannot reach the smarthost");
	log_mail(LOG_NOTICE, "smarthost %s:%u: %s", sh->host, sh->port,
	    l->down.text ? l->down.text : "unusable");
	return -1;
}

/*
 * Sends recipients idx[0..n) of m over link d->cur in one transaction.
 * With last clear, recipients the server put off before DATA (or that it
 * never saw: the smarthost is down or refused the login) are not
 * recorded but left in idx[0..return value) for the next smarthost.
 */
static size_t
deliver_try(struct deliver *d, struct spool_msg *m, size_t *idx, size_t n,
    int last)
{
	const struct conf_smarthost *sh = &d->c->smarthost[d->cur];
	struct deliver_link *l = &d->link[d->cur];
	const char *rcpt[RELAY_RCPT_MAX];
	const struct relay_reply *out;
	struct deliver_reader rd;
	struct relay_result res;
	struct relay_msg rm;
	size_t j, keep = 0;
	int rc;

	if (deliver_connect(d) == -1) {
		/* Trouble reaching or logging in to the smarthost (a 535
		 * or a 554 greeting included) says nothing about the
		 * recipients: it is retried until the queue lifetime ends,
		 * never bounced at once. */
		if (!last)
			return n;
		for (j = 0; j < n; j++)
			deliver_record(d, m, idx[j], &l->down, 1);
		return 0;
	}
	for (j = 0; j < n; j++)
		rcpt[j] = m->rcpt[idx[j]].addr;
	memset(&rd, 0, sizeof(rd));
	rd.m = m;
	rd.buf = d->chunk;
	buf_init(&rd.out, 0);
	buf_init(&rd.hdr, 0);
	memset(&rm, 0, sizeof(rm));
	rm.sender = m->sender;
	rm.rcpt = rcpt;
	rm.nrcpt = n;
	rm.size = m->size;
	rm.eightbit = m->eightbit;
	rm.ret = m->ret;
	rm.envid = m->envid;
	rm.notify = m->notify;
	rm.read = deliver_read;
	rm.ctx = &rd;
	/* rewrite_from: the account's address where the smarthost wants
	 * it. A bounce keeps its null sender. */
	if ((sh->rewrite_from & CONF_REWRITE_ENVELOPE) && m->sender[0])
		rm.sender = conf_from(sh);
	if (sh->rewrite_from & CONF_REWRITE_HEADER) {
		rd.rewrite = 1;
		rd.from_addr = conf_from(sh);
		rm.size = 0;
	}
	/* Lines over 998 octets, or 8-bit bytes for a smarthost without
	 * 8BITMIME, are re-encoded on the way out; the queue keeps the
	 * message as it came. */
	if (m->maxline > MIME_LINE_MAX || (m->eightbit &&
	    !(relay_extensions(l->relay) & RELAY_EXT_8BITMIME))) {
		rd.mime = mime_new((m->eightbit ? MIME_8BIT_CONTENT : 0) |
		    (relay_extensions(l->relay) & RELAY_EXT_8BITMIME ? 0 :
		    MIME_7BIT));
		if (rd.mime == NULL) {
			struct relay_reply oom = { 0, (char *)"out of memory" };

			for (j = 0; j < n; j++)
				deliver_record(d, m, idx[j], &oom, 1);
			return 0;
		}
		rm.size = 0;
	}
	memset(&res, 0, sizeof(res));
	l->on_relay++;
	l->used = time(NULL);
	rc = relay_send(l->relay, &rm, &res);
	/* The commit point: each outcome is on disk before anything else;
	 * those put off before DATA may go to the next smarthost. */
	for (j = 0; j < n; j++) {
		out = deliver_outcome(&res, j);
		/* A recipient the server put off at RCPT never was in
		 * the DATA; the others only when the body was not sent. */
		if (!last && relay_reply_temporary(out) &&
		    (out != &res.data || !res.body_sent)) {
			log_mail(LOG_NOTICE, "%s: to=<%s>, relay=%s: %d %s; "
			    "trying the next smarthost", m->id,
			    m->rcpt[idx[j]].addr, relay_peer(l->relay),
			    out->code, out->text ? out->text : "");
			idx[keep++] = idx[j];
			continue;
		}
		deliver_record(d, m, idx[j], out, 0);
	}
	relay_result_free(&res);
	mime_free(rd.mime);
	buf_free(&rd.out);
	buf_free(&rd.hdr);
	if (rc == -1) {
		relay_close(l->relay);
		l->relay = NULL;
		/* One fresh connection per pass after a lost one; after
		 * that the smarthost counts as down for this pass. */
		if (l->reconnects++ > 0) {
			l->down.code = 0;
			l->down.text = strdup("lost connection with the smarthost");
		}
	}
	return keep;
}

/* Sends recipients idx[0..n) of m: to the smarthosts of its route in
 * turn, each taking what the one before could not (failover). */
static void
deliver_batch(struct deliver *d, struct spool_msg *m, const size_t *idx,
    size_t n)
{
	size_t route[CONF_SMARTHOST_MAX], left[RELAY_RCPT_MAX], nroute, t;

	memcpy(left, idx, n * sizeof(*idx));
	nroute = conf_route(d->c, m->sender, route);
	for (t = 0; t < nroute && n > 0; t++) {
		d->cur = route[t];
		n = deliver_try(d, m, left, n, t + 1 == nroute);
	}
	d->cur = DELIVER_NO_LINK;
}

static int deliver_report(struct deliver *, struct spool_msg *);
static int deliver_move(struct deliver *, const char *, const char *);

static void
deliver_finish(struct deliver *d, struct spool_msg *m)
{
	time_t now = time(NULL);
	size_t i;

	if (!spool_done(m) && now - m->arrival >= (time_t)d->c->lifetime) {
		for (i = 0; i < m->nrcpt; i++) {
			struct relay_reply r = { 0, NULL };
			struct buf b;

			if (m->rcpt[i].state != SPOOL_PENDING)
				continue;
			buf_init(&b, 2048);
			/* The last reply, with its code: "535 5.7.8 ..." */
			if (m->rcpt[i].code)
				buf_printf(&b, "gave up after %u tries: %d %s",
				    m->attempts + 1, m->rcpt[i].code,
				    m->rcpt[i].reply ? m->rcpt[i].reply : "");
			else
				buf_printf(&b, "gave up after %u tries: %s",
				    m->attempts + 1, m->rcpt[i].reply ?
				    m->rcpt[i].reply : "not delivered");
			r.code = 554;
			r.text = b.data;
			deliver_record(d, m, i, &r, 0);
			buf_free(&b);
		}
	}
	/* Sent to all: removing the file is the record. */
	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].state != SPOOL_SENT)
			break;
	if (i == m->nrcpt) {
		if (unlinkat(d->qfd, m->id, 0) == 0) {
			log_mail(LOG_INFO, "%s: removed", m->id);
			return;
		}
		/* Still here: then the outcome goes on disk, so that the
		 * next pass removes it rather than sending it again. */
		log_mail(LOG_ERR, "%s: cannot remove: %m", m->id);
		if (spool_save(m) == -1)
			log_mail(LOG_ERR, "%s: cannot record the outcomes: %m",
			    m->id);
		return;
	}
	if (spool_save(m) == -1)
		log_mail(LOG_ERR, "%s: cannot record the outcomes: %m", m->id);
	if (!spool_done(m)) {
		if (spool_attempt(m, now, now + deliver_backoff(d->c, m->attempts + 1)) == -1)
			log_mail(LOG_ERR, "%s: cannot record the attempt: %m", m->id);
		return;
	}
	/* Every recipient is final; failures are reported before the
	 * message may go. */
	switch (deliver_report(d, m)) {
	case -1:
	case 1:
		return;
	}
	if (unlinkat(d->qfd, m->id, 0) == -1)
		log_mail(LOG_ERR, "%s: cannot remove: %m", m->id);
	else
		log_mail(LOG_INFO, "%s: removed", m->id);
}

/* Where a bounce goes: the sender, through the aliases when it is one
 * of ours. 0 or -1 (ENOMEM). */
static int
deliver_bounce_rcpts(struct deliver *d, const char *sender,
    struct addr_list *out)
{
	const char *at = strrchr(sender, '@');
	char *local;
	int rc;

	if (at == NULL || strcasecmp(at + 1, d->domain) != 0)
		return addr_list_add(out, sender);
	if ((local = strndup(sender, (size_t)(at - sender))) == NULL)
		return -1;
	rc = alias_expand(d->c, local, d->domain, out);
	free(local);
	if (rc == 0 && out->n == 0)
		rc = addr_list_add(out, sender);
	return rc;
}

/*
 * Reports m's failed recipients: a bounce to the sender, or, for a
 * message with the null sender (itself a bounce), a move to failed/.
 * Returns 0 when m may be removed, 1 when it was moved, -1 to keep it.
 */
static int
deliver_report(struct deliver *d, struct spool_msg *m)
{
	struct addr_list rcpts;
	char id[SPOOL_ID_MAX], **v;
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].state == SPOOL_FAILED)
			break;
	if (i == m->nrcpt || m->bounced)
		return 0;
	if (m->notify && strcasecmp(m->notify, "NEVER") == 0)
		return 0;
	if (m->sender[0] == '\0') {
		/* Never bounce a bounce; never drop one either. */
		if (deliver_move(d, m->id, "failed") == -1) {
			log_mail(LOG_ERR, "%s: cannot move to failed/: %m", m->id);
			return -1;
		}
		log_mail(LOG_NOTICE, "%s: undeliverable bounce kept in failed/",
		    m->id);
		return 1;
	}
	addr_list_init(&rcpts);
	if (deliver_bounce_rcpts(d, m->sender, &rcpts) == -1 ||
	    bounce_queue(d->c, d->domain, m, &rcpts, id) == -1) {
		log_mail(LOG_ERR, "%s: cannot queue a bounce: %m", m->id);
		addr_list_free(&rcpts);
		return -1;
	}
	addr_list_free(&rcpts);
	log_mail(LOG_INFO, "%s: sender non-delivery notification: %s",
	    m->id, id);
	if (spool_mark_bounced(m) == -1) {
		log_mail(LOG_ERR, "%s: cannot record the bounce: %m", m->id);
		return -1;
	}
	v = realloc(d->bounces.v, (d->bounces.n + 1) * sizeof(*v));
	if (v) {
		d->bounces.v = v;
		if ((v[d->bounces.n] = strdup(id)) != NULL)
			d->bounces.n++;
	}
	return 0;
}

static void
deliver_message(struct deliver *d, struct spool_msg *m)
{
	size_t idx[RELAY_RCPT_MAX], n = 0, i;

	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != SPOOL_PENDING)
			continue;
		idx[n++] = i;
		if (n == RELAY_RCPT_MAX) {
			deliver_batch(d, m, idx, n);
			n = 0;
		}
	}
	if (n)
		deliver_batch(d, m, idx, n);
	deliver_finish(d, m);
}

/* 1 when id is one the caller named (or no ids were named). */
static int
deliver_named(const struct deliver_sel *sel, const char *id)
{
	size_t i;

	if (sel->ids == NULL)
		return 1;
	for (i = 0; i < sel->nids; i++)
		if (strcmp(sel->ids[i], id) == 0)
			return 1;
	return 0;
}

/* Moves a queue file to DIR/sub/, where mailq shows it and no runner
 * touches it again. */
static int
deliver_move(struct deliver *d, const char *id, const char *sub)
{
	char to[SPOOL_ID_MAX + 32];
	struct stat st;

	snprintf(to, sizeof(to), "../%s", sub);
	if (mkdirat(d->qfd, to, 0700) == -1) {
		if (errno != EEXIST)
			return -1;
	} else if (fstat(d->qfd, &st) == 0 && (st.st_mode & 0050) == 0050) {
		/* The shared queue's group (q/ is 0770) may list it, for
		 * mailq run by a user; the runner's umask would not allow
		 * it. A failure leaves mailq without it, nothing worse. */
		if (fchmodat(d->qfd, to, 0750, 0) == -1) {
			/* listed by root and the runner only */
		}
	}
	snprintf(to, sizeof(to), "../%s/%s", sub, id);
	return renameat(d->qfd, id, d->qfd, to);
}

static void
deliver_one(struct deliver *d, const struct deliver_sel *sel, const char *id)
{
	struct spool_msg m;
	const char *why;
	time_t now = time(NULL);
	int rc, named = deliver_named(sel, id);

	if (!named && !sel->fresh)
		return;
	rc = spool_open(&m, d->qfd, id, SPOOL_FILE_MAX, 0, &why);
	switch (rc) {
	case 0:
		break;
	case SPOOL_BUSY:
		return;
	case SPOOL_PARTIAL:
		if (now - m.mtime > DELIVER_STALE && unlinkat(d->qfd, id, 0) == 0)
			log_mail(LOG_NOTICE, "%s: removed: left unfinished by its writer",
			    id);
		return;
	case SPOOL_BAD:
		/* Moved aside, never retried and never fatal to the run. */
		if (deliver_move(d, id, "corrupt") == 0)
			log_mail(LOG_CRIT, "%s: damaged queue file moved to corrupt/: %s",
			    id, why);
		else
			log_mail(LOG_CRIT, "%s: damaged queue file (%s), cannot move it: %m",
			    id, why);
		return;
	default:
		if (errno != ENOENT)
			log_mail(LOG_ERR, "%s: %m", id);
		return;
	}
	if (d->touched)
		addr_list_add(d->touched, id);
	/* Besides the named messages, -I takes any that was never tried:
	 * after a burst of submissions, one runner carries them all over
	 * one connection while the others find them locked or gone. */
	if (named ? deliver_selected(sel, &m) && (sel->force || m.next_try <= now) :
	    m.attempts == 0 && !m.queue_only && spool_done(&m) == 0) {
		/* A queue run (no ids) exits 0 whatever each message's
		 * outcome: deferred is queued, and bounced is reported. */
		d->counting = named && sel->ids != NULL;
		deliver_message(d, &m);
	}
	spool_close(&m);
}

struct deliver *
deliver_start(const struct conf *c, int verbose)
{
	struct deliver *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		log_errno(NULL, "deliver");
		return NULL;
	}
	d->c = c;
	d->cur = DELIVER_NO_LINK;
	d->verbose = verbose;
	d->qfd = -1;
	if ((d->chunk = malloc(SPOOL_CHUNK)) == NULL ||
	    (d->domain = conf_domain(c)) == NULL) {
		log_errno(NULL, "deliver");
		deliver_end(d);
		return NULL;
	}
	return d;
}

void
deliver_end(struct deliver *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < CONF_SMARTHOST_MAX; i++) {
		relay_close(d->link[i].relay);
		relay_reply_free(&d->link[i].down);
	}
	if (d->qfd != -1)
		close(d->qfd);
	free(d->chunk);
	free(d->domain);
	free(d);
}

int
deliver_run(struct deliver *d, const struct deliver_sel *sel,
    struct addr_list *touched)
{
	struct deliver_sel all = { NULL, 0, NULL, NULL, NULL, 1, 0 };
	struct queue_ids ids;
	size_t i;

	/* What one pass learnt of a smarthost (down, reconnected) is
	 * tried afresh in the next; its open connection is kept. */
	for (i = 0; i < CONF_SMARTHOST_MAX; i++) {
		relay_reply_free(&d->link[i].down);
		d->link[i].reconnects = 0;
	}
	d->sent = d->deferred = d->failed = 0;
	d->touched = touched;
	if (d->qfd == -1 && (d->qfd = queue_open(d->c->queue_dir)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_errno("queue", "%s", d->c->queue_dir);
		return EX_TEMPFAIL;
	}
	if (queue_scan(d->qfd, &ids) == -1) {
		log_errno("queue", "%s", d->c->queue_dir);
		return EX_TEMPFAIL;
	}
	for (i = 0; i < ids.n; i++)
		deliver_one(d, sel, ids.v[i]);
	/* Bounces queued in this pass go out over the same connection. */
	for (i = 0; i < d->bounces.n; i++)
		deliver_one(d, &all, d->bounces.v[i]);
	queue_ids_free(&d->bounces);
	queue_ids_free(&ids);
	if (d->failed)
		return EX_UNAVAILABLE;
	if (d->deferred)
		return EX_TEMPFAIL;
	return 0;
}

int
deliver_pass(const struct conf *c, const struct deliver_sel *sel, int verbose,
    struct addr_list *touched)
{
	struct deliver *d;
	int rc;

	if ((d = deliver_start(c, verbose)) == NULL)
		return EX_OSERR;
	rc = deliver_run(d, sel, touched);
	deliver_end(d);
	return rc;
}
