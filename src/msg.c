#include "msg.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/*
 * Reading stdin. Each input byte becomes at most two output bytes (a line
 * end becomes CRLF; a held-back dot comes out in front of the byte after
 * it), so the reader works while two bytes of room are left; a cap of 4
 * or more always makes progress.
 */

void
msg_in_init(struct msg_in *in, int fd, int dot_ends)
{
	in->fd = fd;
	in->dot_ends = dot_ends;
	in->eof = 0;
	in->err = 0;
	in->eightbit = 0;
	in->nul = 0;
	in->at_bol = 1;
	in->cr = 0;
	in->dots = 0;
	in->rpos = 0;
	in->rlen = 0;
	in->total = 0;
}

static int
in_fill(struct msg_in *in)
{
	ssize_t r;

	do
		r = read(in->fd, in->raw, sizeof(in->raw));
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		in->err = errno ? errno : EIO;
		return -1;
	}
	in->rpos = 0;
	in->rlen = (size_t)r;
	if (r == 0)
		in->eof = 1;
	return 0;
}

/* A lone "." ends the message: what follows is left unread. */
static void
in_stop(struct msg_in *in)
{
	in->dots = 0;
	in->cr = 0;
	in->at_bol = 1;
	in->eof = 1;
	in->rpos = in->rlen;
}

/* Turns one input byte into out[0..2). Returns how many were written. */
static size_t
in_byte(struct msg_in *in, unsigned char c, char *out)
{
	size_t n = 0;
	int was_cr = in->cr;

	in->cr = 0;
	if (c == '\n' && was_cr)
		return 0;	/* the LF of a CRLF whose CR is out */
	if (in->dots) {
		in->dots = 0;
		in->at_bol = 0;
		if (c == '\r' || c == '\n') {
			in_stop(in);
			return 0;
		}
		out[n++] = '.';
		if (c == '.')
			return n;	/* ".." loses one dot */
	} else if (in->at_bol && in->dot_ends && c == '.') {
		in->dots = 1;
		return 0;
	}
	if (c == '\r' || c == '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
		in->at_bol = 1;
		in->cr = c == '\r';
		return n;
	}
	in->at_bol = 0;
	in->nul |= c == '\0';
	in->eightbit |= c >= 0x80;
	out[n++] = (char)c;
	return n;
}

/* At the end of input: a "." last line ends the message like any other;
 * an unfinished last line gets its CRLF. */
static size_t
in_end(struct msg_in *in, char *out)
{
	if (in->dots) {
		in->dots = 0;
		in->at_bol = 1;
		return 0;
	}
	if (in->at_bol)
		return 0;
	in->at_bol = 1;
	out[0] = '\r';
	out[1] = '\n';
	return 2;
}

ssize_t
msg_in_read(struct msg_in *in, char *buf, size_t cap)
{
	size_t n = 0, k;

	if (in->err) {
		errno = in->err;
		return -1;
	}
	if (cap < 4) {
		errno = EINVAL;	/* 0 would read as the end of the message */
		return -1;
	}
	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;
	while (cap - n >= 2) {
		if (in->rpos < in->rlen) {
			k = in_byte(in, (unsigned char)in->raw[in->rpos++],
			    buf + n);
			n += k;
			in->total += k;
			continue;
		}
		if (in->eof) {
			k = in_end(in, buf + n);
			n += k;
			in->total += k;
			break;
		}
		if (n > 0)
			break;	/* hand out what we have before blocking */
		if (in_fill(in) == -1) {
			errno = in->err;
			return -1;
		}
	}
	return (ssize_t)n;
}

/*
 * The header block. Lines come from msg_in, so each ends in CRLF and a
 * CR is always followed by LF. Field lines are copied into h->raw; the
 * first line that is neither a field nor a continuation ends the header
 * and stays in the input, to become the start of h->rest.
 */

enum {
	L_MORE,		/* cannot tell yet: need more input */
	L_END,		/* the empty line */
	L_FROM,		/* a leading mbox "From " line */
	L_FIELD,
	L_CONT,
	L_BODY
};

static int
is_name_byte(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* What the line p[0..n) is; complete says n reaches its LF. A body line
 * is known before its end, so a long first body line costs nothing. */
static int
line_kind(const char *p, size_t n, int complete, int first, int have_field,
    size_t *namelen)
{
	size_t i;

	if (n == 0)
		return L_MORE;
	if (p[0] == '\r') {
		if (n < 2)
			return L_MORE;
		return complete && n == 2 ? L_END : L_BODY;
	}
	if (first && n >= 5 && memcmp(p, "From ", 5) == 0)
		return complete ? L_FROM : L_MORE;
	if (first && n < 5 && !complete && memcmp(p, "From ", n) == 0)
		return L_MORE;
	if (p[0] == ' ' || p[0] == '\t') {
		if (!have_field)
			return L_BODY;
		return complete ? L_CONT : L_MORE;
	}
	for (i = 0; i < n && is_name_byte((unsigned char)p[i]); i++)
		;
	if (i == n)
		return L_MORE;
	if (p[i] != ':' || i == 0)
		return L_BODY;
	*namelen = i;
	return complete ? L_FIELD : L_MORE;
}

static int
head_field(struct msg_head *h, size_t off, size_t len, size_t namelen)
{
	struct msg_field *f;
	size_t cap;

	if (h->nf == h->capf) {
		cap = h->capf ? h->capf : 16;
		if (h->capf) {
			if (cap > SIZE_MAX / 2 / sizeof(*f)) {
				errno = ENOMEM;
				return -1;
			}
			cap *= 2;
		}
		if ((f = realloc(h->f, cap * sizeof(*f))) == NULL)
			return -1;
		h->f = f;
		h->capf = cap;
	}
	f = &h->f[h->nf++];
	f->off = off;
	f->len = len;
	f->namelen = namelen;
	f->deleted = 0;
	return 0;
}

/* Keeps a field or continuation line p[0..n). */
static int
head_keep(struct msg_head *h, const char *p, size_t n, int kind,
    size_t namelen)
{
	size_t off = h->raw.len;

	if (buf_append(&h->raw, p, n) == -1)
		return -1;
	if (kind == L_CONT) {
		h->f[h->nf - 1].len += n;
		return 0;
	}
	return head_field(h, off, n, namelen);
}

enum { STEP_MORE, STEP_DONE };

/* Takes the lines in st from *pos on. STEP_DONE leaves *pos at the
 * first body byte. */
static int
head_step(struct msg_head *h, struct buf *st, size_t *pos, int *first,
    int eof)
{
	const char *p, *nl;
	size_t avail, n, namelen = 0;
	int kind;

	for (;;) {
		avail = st->len - *pos;
		/* Before the first read st->data is NULL, and NULL + 0 is
		 * undefined. */
		p = avail ? st->data + *pos : "";
		nl = avail ? memchr(p, '\n', avail) : NULL;
		n = nl ? (size_t)(nl - p) + 1 : avail;
		kind = line_kind(p, n, nl != NULL, *first, h->nf > 0,
		    &namelen);
		if (kind == L_MORE) {
			if (avail > MSG_HEAD_MAX) {
				errno = E2BIG;
				return -1;
			}
			return eof ? STEP_DONE : STEP_MORE;
		}
		*first = 0;
		if (kind == L_BODY)
			return STEP_DONE;
		*pos += n;
		if (kind == L_END) {
			h->had_separator = 1;
			return STEP_DONE;
		}
		if (kind != L_FROM && head_keep(h, p, n, kind, namelen) == -1)
			return -1;
	}
}

/* Moves the unread part of st to its front and reads more into it. */
static int
head_fill(struct msg_in *in, struct buf *st, size_t *pos, int *eof)
{
	char chunk[16384];
	ssize_t r;

	if (*pos > 0) {
		memmove(st->data, st->data + *pos, st->len - *pos);
		st->len -= *pos;
		*pos = 0;
	}
	if ((r = msg_in_read(in, chunk, sizeof(chunk))) == -1) {
		errno = EIO;
		return -1;
	}
	if (r == 0)
		*eof = 1;
	return buf_append(st, chunk, (size_t)r);
}

static void
head_init(struct msg_head *h)
{
	buf_init(&h->raw, MSG_HEAD_MAX);
	buf_init(&h->added, 0);
	buf_init(&h->rest, 0);
	h->f = NULL;
	h->nf = 0;
	h->capf = 0;
	h->had_separator = 0;
}

int
msg_head_read(struct msg_in *in, struct msg_head *h)
{
	struct buf st;
	size_t pos = 0;
	int first = 1, eof = 0, r;

	head_init(h);
	buf_init(&st, 0);
	while ((r = head_step(h, &st, &pos, &first, eof)) == STEP_MORE)
		if (head_fill(in, &st, &pos, &eof) == -1) {
			r = -1;
			break;
		}
	if (r == STEP_DONE &&
	    buf_append(&h->rest, st.data + pos, st.len - pos) == -1)
		r = -1;
	buf_free(&st);
	if (r == -1) {
		int e = errno;

		msg_head_free(h);
		errno = e;
		return -1;
	}
	return 0;
}

void
msg_head_free(struct msg_head *h)
{
	buf_free(&h->raw);
	buf_free(&h->added);
	buf_free(&h->rest);
	free(h->f);
	h->f = NULL;
	h->nf = 0;
	h->capf = 0;
}

static int
field_is(const struct msg_head *h, const struct msg_field *f,
    const char *name)
{
	return strlen(name) == f->namelen &&
	    strncasecmp(h->raw.data + f->off, name, f->namelen) == 0;
}

struct msg_field *
msg_head_find(struct msg_head *h, const char *name, size_t i)
{
	size_t k;

	for (k = 0; k < h->nf; k++)
		if (!h->f[k].deleted && field_is(h, &h->f[k], name) &&
		    i-- == 0)
			return &h->f[k];
	return NULL;
}

const char *
msg_field_value(const struct msg_head *h, const struct msg_field *f,
    size_t *len)
{
	*len = f->len - f->namelen - 1;
	return h->raw.data + f->off + f->namelen + 1;
}

size_t
msg_head_delete(struct msg_head *h, const char *name)
{
	size_t k, n = 0;

	for (k = 0; k < h->nf; k++)
		if (!h->f[k].deleted && field_is(h, &h->f[k], name)) {
			h->f[k].deleted = 1;
			n++;
		}
	return n;
}

int
msg_head_add(struct msg_head *h, const char *name, const char *value)
{
	size_t len = h->added.len;

	if (buf_puts(&h->added, name) == -1 ||
	    buf_puts(&h->added, ": ") == -1 ||
	    buf_puts(&h->added, value) == -1 ||
	    buf_puts(&h->added, "\r\n") == -1) {
		h->added.len = len;	/* no half field */
		if (h->added.data)
			h->added.data[len] = '\0';
		return -1;
	}
	return 0;
}

/* Whether sendq has added a field named name already. */
static int
added_has(const struct msg_head *h, const char *name)
{
	const char *p = h->added.data, *end, *nl;
	size_t n = strlen(name);

	if (p == NULL)
		return 0;	/* nothing added yet (and NULL + 0 is undefined) */
	for (end = p + h->added.len; p < end; p = nl + 1) {
		if ((size_t)(end - p) > n && p[n] == ':' &&
		    strncasecmp(p, name, n) == 0)
			return 1;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
	}
	return 0;
}

static int
head_has(struct msg_head *h, const char *name)
{
	return msg_head_find(h, name, 0) != NULL || added_has(h, name);
}

/*
 * -t. Resent fields are prepended as a block each time a message is
 * resent (RFC 5322 3.6.6), so the first block is the newest. Like
 * Postfix, only Resent-To, Resent-Cc and Resent-Bcc switch to resent
 * mode (a lone Resent-From does not). The block is simplified to: from
 * the first Resent-To/Cc/Bcc field down to the first field whose name
 * does not start with "Resent-"; a block whose recipients are split by a
 * trace field loses the part after it.
 */

static const char *const rcpt_names[] = { "To", "Cc", "Bcc" };
static const char *const resent_names[] = {
	"Resent-To", "Resent-Cc", "Resent-Bcc"
};

/* The canonical name when f is one of names[0..3), else NULL. */
static const char *
field_which(const struct msg_head *h, const struct msg_field *f,
    const char *const *names)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (field_is(h, f, names[i]))
			return names[i];
	return NULL;
}

static int
is_resent(const struct msg_head *h, const struct msg_field *f)
{
	return f->namelen >= 7 &&
	    strncasecmp(h->raw.data + f->off, "Resent-", 7) == 0;
}

static int
rcpts_from(struct msg_head *h, const struct msg_field *f, const char *name,
    struct addr_list *out, const char **bad)
{
	const char *v;
	size_t len;

	v = msg_field_value(h, f, &len);
	if (addr_parse_list(v, len, out) == -1) {
		*bad = errno == ENOMEM ? NULL : name;
		return -1;
	}
	return 0;
}

int
msg_head_rcpts(struct msg_head *h, struct addr_list *out, const char **bad)
{
	const char *const *names = rcpt_names;
	const char *name, *dummy;
	size_t k, start = 0, end = h->nf;

	if (bad == NULL)
		bad = &dummy;
	*bad = NULL;
	for (k = 0; k < h->nf; k++)
		if (!h->f[k].deleted &&
		    field_which(h, &h->f[k], resent_names) != NULL) {
			names = resent_names;
			start = k;
			break;
		}
	for (k = start; k < end; k++) {
		if (h->f[k].deleted)
			continue;
		if (names == resent_names && !is_resent(h, &h->f[k]))
			break;
		if ((name = field_which(h, &h->f[k], names)) != NULL &&
		    rcpts_from(h, &h->f[k], name, out, bad) == -1)
			return -1;
	}
	return 0;
}

/*
 * Completing the header.
 */

static int
add_date(struct msg_head *h, time_t now)
{
	char date[64];
	struct tm tm;
	locale_t c;
	size_t n;

	if (localtime_r(&now, &tm) == NULL)
		return -1;
	/* Day and month names must be English whatever the caller's
	 * locale says. */
	if ((c = newlocale(LC_ALL_MASK, "C", (locale_t)0)) == (locale_t)0)
		return -1;
	n = strftime_l(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm,
	    c);
	freelocale(c);
	if (n == 0) {
		errno = EOVERFLOW;
		return -1;
	}
	return msg_head_add(h, "Date", date);
}

static int
add_msgid(struct msg_head *h, const struct msg_origin *o)
{
	struct buf b;
	int r;

	buf_init(&b, 0);
	if (o->id != NULL && *o->id != '\0')
		r = buf_printf(&b, "<%s.%lld@%s>", o->id, (long long)o->now,
		    o->domain);
	else
		r = buf_printf(&b, "<%ld.%lld@%s>", (long)getpid(),
		    (long long)o->now, o->domain);
	if (r == 0)
		r = msg_head_add(h, "Message-ID", b.data);
	buf_free(&b);
	return r;
}

static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* The display name: control bytes dropped (they would break the line or
 * the terminal showing it) and spaces trimmed; written bare when it is
 * atoms and spaces, else as a quoted-string. */
static int
put_name(struct buf *b, const char *name)
{
	struct buf clean;
	size_t i, s = 0, e;
	int quote = 0, r = 0;

	buf_init(&clean, 0);
	for (; *name != '\0' && r == 0; name++)
		if ((unsigned char)*name >= 0x20 && *name != 0x7f)
			r = buf_putc(&clean, *name);
	e = clean.len;
	while (s < e && clean.data[s] == ' ')
		s++;
	while (e > s && clean.data[e - 1] == ' ')
		e--;
	for (i = s; i < e; i++)
		if (clean.data[i] != ' ' &&
		    !is_atext((unsigned char)clean.data[i]))
			quote = 1;
	if (r == 0 && quote)
		r = buf_putc(b, '"');
	for (i = s; i < e && r == 0; i++) {
		if (clean.data[i] == '"' || clean.data[i] == '\\')
			r = buf_putc(b, '\\');
		if (r == 0)
			r = buf_putc(b, clean.data[i]);
	}
	if (r == 0 && quote)
		r = buf_putc(b, '"');
	buf_free(&clean);
	return r;
}

/* From: "Name <addr>", or the bare address when there is no name. */
static int
add_from(struct msg_head *h, const struct msg_origin *o)
{
	struct buf b;
	int named, r;

	buf_init(&b, 0);
	r = o->fullname != NULL ? put_name(&b, o->fullname) : 0;
	named = b.len > 0;
	if (r == 0 && named)
		r = buf_puts(&b, " <");
	if (r == 0 && o->from != NULL && *o->from != '\0')
		r = buf_puts(&b, o->from);
	else if (r == 0)
		r = buf_printf(&b, "%s@%s", o->user ? o->user : "nobody",
		    o->domain);
	if (r == 0 && named)
		r = buf_putc(&b, '>');
	if (r == 0)
		r = msg_head_add(h, "From", b.data);
	buf_free(&b);
	return r;
}

/*
 * Qualifying the addresses a caller wrote in the header. A bare local
 * name ("root", "root (Cron Daemon)", "Cron <root>") gets "@domain", the
 * way Postfix's cleanup does, so that replies go somewhere; the rest of
 * the field (display names, comments, folding) stays as written.
 */

/* Fields whose addresses are qualified. */
static const char *const qualify_fields[] = {
	"From", "Sender", "Reply-To", "To", "Cc",
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc"
};

struct qual {
	struct buf out;
	const char *domain;
	int depth, quote, esc, angle;
	int elem_angle, at, angle_at, words, in_word;
	size_t last_end;	/* out.len after the element's last word */
	size_t angle_from;	/* out.len just after the '<' */
	int changed;
};

static int
qual_insert(struct qual *q, size_t at)
{
	size_t n = strlen(q->domain) + 1;

	if (buf_append(&q->out, "", 0) == -1 ||
	    buf_append(&q->out, q->domain, n) == -1)	/* room for n bytes */
		return -1;
	memmove(q->out.data + at + n, q->out.data + at, q->out.len - n - at);
	q->out.data[at] = '@';
	memcpy(q->out.data + at + 1, q->domain, n - 1);
	q->out.data[q->out.len] = '\0';
	q->changed = 1;
	return 0;
}

/* The end of one mailbox (a comma, a group's end, the field's end). */
static int
qual_elem_end(struct qual *q)
{
	int rc = 0;

	if (!q->elem_angle && !q->at && q->words == 1)
		rc = qual_insert(q, q->last_end);
	q->elem_angle = q->at = q->words = q->in_word = 0;
	return rc;
}

static int
qual_byte(struct qual *q, char c)
{
	if (q->depth) {
		if (q->esc)
			q->esc = 0;
		else if (c == '\\')
			q->esc = 1;
		else if (c == '(')
			q->depth++;
		else if (c == ')')
			q->depth--;
		return buf_putc(&q->out, c);
	}
	if (q->quote) {
		if (buf_putc(&q->out, c) == -1)
			return -1;
		if (q->esc)
			q->esc = 0;
		else if (c == '\\')
			q->esc = 1;
		else if (c == '"') {
			q->quote = 0;
			q->last_end = q->out.len;
		}
		return 0;
	}
	if (q->angle) {
		if (c == '>') {
			q->angle = 0;
			if (!q->angle_at && q->out.len > q->angle_from &&
			    qual_insert(q, q->out.len) == -1)
				return -1;
		} else if (c == '@' && q->out.len > q->angle_from)
			q->angle_at = 1;	/* a route "<@a:x@y>" has one too */
		else if (c == '"')
			q->quote = 1;
		return buf_putc(&q->out, c);
	}
	switch (c) {
	case '(':
		q->depth = 1;
		q->in_word = 0;
		break;
	case '"':
		q->quote = 1;
		if (!q->in_word)
			q->words++;
		q->in_word = 1;
		break;
	case '<':
		q->angle = 1;
		q->elem_angle = 1;
		q->angle_at = 0;
		if (buf_putc(&q->out, c) == -1)
			return -1;
		q->angle_from = q->out.len;
		return 0;
	case ',':
	case ';':
		if (qual_elem_end(q) == -1)
			return -1;
		break;
	case ':':
		/* what came before was a group's name */
		q->elem_angle = q->at = q->words = q->in_word = 0;
		break;
	case '@':
		q->at = 1;
		q->in_word = 1;
		break;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		q->in_word = 0;
		break;
	default:
		if (!q->in_word && !q->at)
			q->words++;
		q->in_word = 1;
		if (buf_putc(&q->out, c) == -1)
			return -1;
		q->last_end = q->out.len;
		return 0;
	}
	return buf_putc(&q->out, c);
}

/* Rewrites field f in place (its new text appended to h->raw) when one
 * of its addresses was bare. 0 or -1 (ENOMEM). */
static int
qualify_field(struct msg_head *h, struct msg_field *f, const char *domain)
{
	struct qual q;
	struct buf field = { NULL, 0, 0, 0 };
	const char *v = h->raw.data + f->off + f->namelen + 1;
	size_t n = f->len - f->namelen - 1, i, off;
	int rc = 0;

	memset(&q, 0, sizeof(q));
	q.domain = domain;
	buf_init(&q.out, 0);
	/* the final CRLF stays outside, so the field ends as it did */
	if (n >= 2 && v[n - 2] == '\r' && v[n - 1] == '\n')
		n -= 2;
	for (i = 0; i < n; i++)
		if (qual_byte(&q, v[i]) == -1)
			goto fail;
	if (qual_elem_end(&q) == -1)
		goto fail;
	/* unbalanced text is left exactly as it was */
	if (q.changed && !q.depth && !q.quote && !q.angle) {
		/* The new field is built apart: appending h->raw to itself
		 * would read freed memory when it grows. */
		buf_init(&field, 0);
		if (buf_append(&field, h->raw.data + f->off, f->namelen + 1) == -1 ||
		    buf_append(&field, q.out.data, q.out.len) == -1 ||
		    buf_append(&field, "\r\n", 2) == -1)
			goto fail;
		h->raw.max = SIZE_MAX - 1;
		off = h->raw.len;
		if (buf_append(&h->raw, field.data, field.len) == -1)
			goto fail;
		f->off = off;
		f->len = field.len;
	}
	buf_free(&field);
	buf_free(&q.out);
	return rc;
fail:
	buf_free(&field);
	buf_free(&q.out);
	return -1;
}

int
msg_head_qualify(struct msg_head *h, const char *domain)
{
	size_t k, j;

	for (k = 0; k < h->nf; k++) {
		if (h->f[k].deleted)
			continue;
		for (j = 0; j < sizeof(qualify_fields) / sizeof(qualify_fields[0]); j++)
			if (field_is(h, &h->f[k], qualify_fields[j]) &&
			    qualify_field(h, &h->f[k], domain) == -1)
				return -1;
	}
	return 0;
}

int
msg_head_complete(struct msg_head *h, const struct msg_origin *o)
{
	static const char *const drop[] = {
		"Bcc", "Resent-Bcc", "Return-Path", "Content-Length"
	};
	struct msg_origin fix = *o;
	size_t i;

	if (fix.domain == NULL || *fix.domain == '\0')
		fix.domain = "localhost";
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		msg_head_delete(h, drop[i]);
	if (msg_head_qualify(h, fix.domain) == -1)
		return -1;
	if (!head_has(h, "Date") && add_date(h, fix.now) == -1)
		return -1;
	if (!head_has(h, "Message-ID") && add_msgid(h, &fix) == -1)
		return -1;
	if (!head_has(h, "From") && add_from(h, &fix) == -1)
		return -1;
	return 0;
}

int
msg_head_write(const struct msg_head *h,
    int (*put)(void *ctx, const void *p, size_t n), void *ctx)
{
	size_t k;
	int r;

	for (k = 0; k < h->nf; k++)
		if (!h->f[k].deleted &&
		    (r = put(ctx, h->raw.data + h->f[k].off, h->f[k].len)) != 0)
			return r;
	if (h->added.len > 0 && (r = put(ctx, h->added.data, h->added.len)))
		return r;
	if ((r = put(ctx, "\r\n", 2)) != 0)
		return r;
	if (h->rest.len > 0)
		return put(ctx, h->rest.data, h->rest.len);
	return 0;
}
