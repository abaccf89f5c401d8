#include "mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * A streaming rewriter. The input is cut into lines at CRLF (the queue
 * holds nothing else); a header block is gathered whole (it is small and
 * capped at intake) so that its fields can be looked at before any is
 * written, while body lines go through byte by byte and may be of any
 * length.
 *
 * Inside a multipart body every line start is held back until it is
 * clear whether the line is a boundary (at most MIME_PREFIX bytes), since
 * boundary lines must pass unencoded.
 */

#define MIME_HEAD_MAX (2 * 1024 * 1024)
#define MIME_BOUNDARY_MAX 70	/* RFC 2046 5.1.1 */
#define MIME_DEPTH 16
#define MIME_PREFIX (MIME_BOUNDARY_MAX + 4)
#define MIME_QP_LINE 76

enum mime_state {
	MIME_HEAD,		/* gathering a header block */
	MIME_PASS,		/* body bytes unchanged */
	MIME_QP			/* body bytes quoted-printable */
};

struct mime {
	unsigned flags;
	enum mime_state state;
	int top;			/* the header being read is the message's */
	struct buf head;		/* the header block so far */
	/* body */
	int bol;			/* at the start of a body line */
	char prefix[MIME_PREFIX];	/* held-back start of a body line */
	size_t nprefix;
	int cr;				/* a CR was seen, its LF not yet */
	char prev;			/* the last body byte */
	int wsp;			/* held-back space or tab, or 0 */
	size_t col;			/* QP output column */
	/* open multiparts, innermost last */
	char *boundary[MIME_DEPTH];
	size_t nboundary;
	int pending_multipart;		/* the header just read opened one */
	char *next_boundary;
};

struct mime *
mime_new(unsigned flags)
{
	struct mime *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->flags = flags;
	m->state = MIME_HEAD;
	m->top = 1;
	buf_init(&m->head, MIME_HEAD_MAX);
	return m;
}

void
mime_free(struct mime *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nboundary; i++)
		free(m->boundary[i]);
	free(m->next_boundary);
	buf_free(&m->head);
	free(m);
}

/* Header analysis. */

struct mime_fields {
	int has_version;
	int has_type;
	int multipart;
	int message;		/* message/... : never re-encoded */
	int identity;		/* CTE absent, 7bit, 8bit or binary */
	char *boundary;
};

/* The value of field line f[0..n) ("Name: value..."), unfolded and
 * trimmed, in a new string. */
static char *
mime_value(const char *f, size_t n, size_t namelen)
{
	char *v = malloc(n + 1);
	size_t i, k = 0;

	if (v == NULL)
		return NULL;
	for (i = namelen + 1; i < n; i++) {
		if (f[i] == '\r' || f[i] == '\n')
			continue;
		if (k == 0 && (f[i] == ' ' || f[i] == '\t'))
			continue;
		v[k++] = f[i];
	}
	while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t'))
		k--;
	v[k] = '\0';
	return v;
}

/* boundary="..." or boundary=token from a Content-Type value. */
static char *
mime_boundary(const char *v)
{
	const char *p = v;
	size_t n;

	while ((p = strcasestr(p, "boundary")) != NULL) {
		const char *q = p + 8;

		if (p > v && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t') {
			p = q;
			continue;
		}
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q++ != '=') {
			p = q;
			continue;
		}
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '"') {
			q++;
			n = strcspn(q, "\"");
		} else
			n = strcspn(q, " \t;()<>@,:\\\"/[]?=");
		if (n == 0 || n > MIME_BOUNDARY_MAX)
			return NULL;
		return strndup(q, n);
	}
	return NULL;
}

static void
mime_look(const char *f, size_t n, struct mime_fields *mf)
{
	size_t namelen = 0;
	char *v;

	while (namelen < n && f[namelen] != ':')
		namelen++;
	if (namelen == n)
		return;
	if (namelen == 12 && strncasecmp(f, "MIME-Version", 12) == 0) {
		mf->has_version = 1;
	} else if (namelen == 12 && strncasecmp(f, "Content-Type", 12) == 0) {
		mf->has_type = 1;
		if ((v = mime_value(f, n, namelen)) == NULL)
			return;
		if (strncasecmp(v, "multipart/", 10) == 0) {
			mf->multipart = 1;
			free(mf->boundary);
			mf->boundary = mime_boundary(v);
		} else if (strncasecmp(v, "message/", 8) == 0)
			mf->message = 1;
		free(v);
	} else if (namelen == 25 &&
	    strncasecmp(f, "Content-Transfer-Encoding", 25) == 0) {
		if ((v = mime_value(f, n, namelen)) == NULL)
			return;
		mf->identity = strcasecmp(v, "7bit") == 0 ||
		    strcasecmp(v, "8bit") == 0 || strcasecmp(v, "binary") == 0 ||
		    v[0] == '\0';
		free(v);
	}
}

static int
mime_is_cte(const char *f, size_t n)
{
	return n > 26 && strncasecmp(f, "Content-Transfer-Encoding:", 26) == 0;
}

/*
 * Writes one field f[0..n) (ending in CRLF) with every physical line
 * folded to at most MIME_LINE_MAX octets: before the last white space
 * that fits, or, in a run without any, by inserting CRLF SP.
 */
static int
mime_fold(const char *f, size_t n, struct buf *out)
{
	size_t start = 0;

	while (start < n) {
		const char *eol = memmem(f + start, n - start, "\r\n", 2);
		size_t len = eol ? (size_t)(eol - (f + start)) : n - start;
		size_t cut, i;

		while (len > MIME_LINE_MAX) {
			cut = 0;
			for (i = MIME_LINE_MAX; i > 1; i--)
				if (f[start + i] == ' ' || f[start + i] == '\t') {
					cut = i;
					break;
				}
			if (cut) {
				if (buf_append(out, f + start, cut) == -1 ||
				    buf_append(out, "\r\n", 2) == -1)
					return -1;
			} else {
				cut = MIME_LINE_MAX - 1;
				if (buf_append(out, f + start, cut) == -1 ||
				    buf_append(out, "\r\n ", 3) == -1)
					return -1;
			}
			start += cut;
			len -= cut;
		}
		if (buf_append(out, f + start, len) == -1)
			return -1;
		start += len;
		if (eol) {
			if (buf_append(out, "\r\n", 2) == -1)
				return -1;
			start += 2;
		}
	}
	return 0;
}

/* The length of the field starting at h (up to n bytes): its line and
 * the continuation lines (starting with white space) after it. */
static size_t
mime_field_len(const char *h, size_t n)
{
	const char *e;
	size_t len = 0;

	do {
		e = memmem(h + len, n - len, "\r\n", 2);
		len = e ? (size_t)(e - h) + 2 : n;
	} while (len < n && (h[len] == ' ' || h[len] == '\t'));
	return len;
}

/* Fields whose whole value is text (RFC 5322 "unstructured"), which an
 * encoded word may replace; address fields are left as they are. */
static int
mime_unstructured(const char *f, size_t n)
{
	static const char *const names[] = {
		"Subject", "Comments", "Keywords", "Thread-Topic", "Summary"
	};
	size_t i, len;

	for (len = 0; len < n && f[len] != ':'; len++)
		;
	if (len >= 2 && strncasecmp(f, "X-", 2) == 0)
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(f, names[i], len) == 0)
			return 1;
	return 0;
}

static int
mime_has_8bit(const char *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)f[i] >= 0x80)
			return 1;
	return 0;
}

/*
 * Writes field f[0..n) with its value as RFC 2047 encoded words
 * ("=?UTF-8?B?...?="), each on its own folded line and never splitting a
 * UTF-8 sequence. The value is unfolded first.
 */
static int
mime_encode_field(const char *f, size_t n, struct buf *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf v;
	size_t name, i, k, take;
	int rc = -1;

	for (name = 0; name < n && f[name] != ':'; name++)
		;
	buf_init(&v, 0);
	for (i = name + 1; i < n; i++)
		if (f[i] != '\r' && f[i] != '\n' && buf_putc(&v, f[i]) == -1)
			goto out;
	for (i = 0; i < v.len && (v.data[i] == ' ' || v.data[i] == '\t'); i++)
		;
	if (buf_append(out, f, name + 1) == -1)
		goto out;
	while (i < v.len) {
		/* 45 octets make 60 characters of base64: lines of 75 */
		take = v.len - i > 45 ? 45 : v.len - i;
		while (take > 1 && i + take < v.len &&
		    ((unsigned char)v.data[i + take] & 0xC0) == 0x80)
			take--;
		if (buf_puts(out, " =?UTF-8?B?") == -1)
			goto out;
		for (k = 0; k < take; k += 3) {
			unsigned a = (unsigned char)v.data[i + k];
			unsigned b = k + 1 < take ? (unsigned char)v.data[i + k + 1] : 0;
			unsigned c = k + 2 < take ? (unsigned char)v.data[i + k + 2] : 0;
			char q[4];

			q[0] = b64[a >> 2];
			q[1] = b64[((a & 3) << 4) | (b >> 4)];
			q[2] = k + 1 < take ? b64[((b & 15) << 2) | (c >> 6)] : '=';
			q[3] = k + 2 < take ? b64[c & 63] : '=';
			if (buf_append(out, q, 4) == -1)
				goto out;
		}
		if (buf_puts(out, "?=") == -1)
			goto out;
		i += take;
		if (i < v.len && buf_puts(out, "\r\n") == -1)
			goto out;
	}
	rc = buf_puts(out, "\r\n");
out:
	buf_free(&v);
	return rc;
}

/* The header block is complete (its empty line included): decide how
 * its body goes and write the header. */
static int
mime_head_done(struct mime *m, struct buf *out)
{
	struct mime_fields mf;
	const char *h = m->head.data;
	size_t n = m->head.len - 2, off, flen;
	int encode, rc = 0;

	memset(&mf, 0, sizeof(mf));
	mf.identity = 1;
	for (off = 0; off < n; off += flen) {
		flen = mime_field_len(h + off, n - off);
		mime_look(h + off, flen, &mf);
	}
	/* A message without MIME-Version is not MIME: its Content-* fields
	 * (if any) mean nothing and its body is text. */
	if (m->top && !mf.has_version) {
		mf.multipart = mf.message = 0;
		mf.identity = 1;
	}
	encode = !mf.multipart && !mf.message && mf.identity;

	for (off = 0; off < n; off += flen) {
		flen = mime_field_len(h + off, n - off);
		if (encode && mime_is_cte(h + off, flen))
			continue;
		if ((m->flags & MIME_7BIT) && mime_has_8bit(h + off, flen) &&
		    mime_unstructured(h + off, flen)) {
			if (mime_encode_field(h + off, flen, out) == -1)
				return -1;
			continue;
		}
		if (mime_fold(h + off, flen, out) == -1)
			return -1;
	}
	if (encode) {
		if (m->top && !mf.has_version &&
		    buf_puts(out, "MIME-Version: 1.0\r\n") == -1)
			return -1;
		if (!mf.has_type && buf_printf(out,
		    "Content-Type: text/plain; charset=%s\r\n",
		    m->flags & MIME_8BIT_CONTENT ? "utf-8" : "us-ascii") == -1)
			return -1;
		if (buf_puts(out,
		    "Content-Transfer-Encoding: quoted-printable\r\n") == -1)
			return -1;
	}
	if (buf_append(out, "\r\n", 2) == -1)
		rc = -1;
	m->top = 0;
	buf_reset(&m->head);
	m->state = encode ? MIME_QP : MIME_PASS;
	m->col = 0;
	m->bol = 1;
	if (mf.multipart && mf.boundary && m->nboundary < MIME_DEPTH) {
		m->boundary[m->nboundary++] = mf.boundary;
		mf.boundary = NULL;
	}
	free(mf.boundary);
	return rc;
}

/* Quoted-printable. */

static const char mime_hex[] = "0123456789ABCDEF";

static int
mime_qp_token(struct mime *m, const char *t, size_t n, struct buf *out)
{
	if (m->col + n > MIME_QP_LINE - 1) {
		if (buf_append(out, "=\r\n", 3) == -1)
			return -1;
		m->col = 0;
	}
	m->col += n;
	return buf_append(out, t, n);
}

static int
mime_qp_byte(struct mime *m, unsigned char c, struct buf *out)
{
	char t[3];

	if (m->wsp) {
		t[0] = (char)m->wsp;
		m->wsp = 0;
		if (mime_qp_token(m, t, 1, out) == -1)
			return -1;
	}
	if (c == ' ' || c == '\t') {
		m->wsp = c;	/* encoded only if the line ends after it */
		return 0;
	}
	if (c >= 33 && c <= 126 && c != '=') {
		t[0] = (char)c;
		/* a line starting with a dot stays as it is: dot-stuffing
		 * comes later, on the wire */
		return mime_qp_token(m, t, 1, out);
	}
	t[0] = '=';
	t[1] = mime_hex[c >> 4];
	t[2] = mime_hex[c & 15];
	return mime_qp_token(m, t, 3, out);
}

static int
mime_qp_eol(struct mime *m, struct buf *out)
{
	char t[3];

	if (m->wsp) {
		t[0] = '=';
		t[1] = mime_hex[(unsigned char)m->wsp >> 4];
		t[2] = mime_hex[m->wsp & 15];
		m->wsp = 0;
		if (mime_qp_token(m, t, 3, out) == -1)
			return -1;
	}
	m->col = 0;
	return buf_append(out, "\r\n", 2);
}

/* One body byte (CR and LF included) in the current state. */
static int
mime_body_byte(struct mime *m, unsigned char c, struct buf *out)
{
	if (m->state == MIME_PASS)
		return buf_putc(out, c);
	if (c == '\r') {
		m->cr = 1;
		return 0;
	}
	if (c == '\n' && m->cr) {
		m->cr = 0;
		return mime_qp_eol(m, out);
	}
	if (m->cr) {
		m->cr = 0;
		if (mime_qp_byte(m, '\r', out) == -1)
			return -1;
	}
	return mime_qp_byte(m, c, out);
}

/* Is the held-back line start a boundary of an open multipart? Returns
 * its depth + 1, negated for a closing one, or 0. */
static int
mime_is_boundary(const struct mime *m, const char *p, size_t n)
{
	size_t i, bl;

	if (n < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	for (i = m->nboundary; i-- > 0;) {
		bl = strlen(m->boundary[i]);
		if (n < 2 + bl || memcmp(p + 2, m->boundary[i], bl) != 0)
			continue;
		if (n >= 4 + bl && p[2 + bl] == '-' && p[3 + bl] == '-')
			return -(int)(i + 1);
		return (int)(i + 1);
	}
	return 0;
}

/* The held-back start of a line is complete (line_end: the line ended
 * within it, CRLF included). */
static int
mime_prefix_done(struct mime *m, int line_end, struct buf *out)
{
	int b = mime_is_boundary(m, m->prefix, m->nprefix);
	size_t i, n = m->nprefix;

	m->nprefix = 0;
	m->bol = 0;
	m->prev = n ? m->prefix[n - 1] : 0;
	if (b != 0) {
		/* the boundary line itself, as it was */
		if (m->state == MIME_QP && m->col > 0 &&
		    buf_append(out, "=\r\n", 3) == -1)
			return -1;
		if (buf_append(out, m->prefix, n) == -1)
			return -1;
		if (b < 0) {
			/* close this multipart and those inside it */
			while (m->nboundary >= (size_t)-b)
				free(m->boundary[--m->nboundary]);
			m->state = MIME_PASS;	/* its epilogue */
		} else {
			while (m->nboundary > (size_t)b)
				free(m->boundary[--m->nboundary]);
			m->state = MIME_HEAD;	/* a part's header */
		}
		m->col = 0;
		m->wsp = 0;
		m->cr = 0;
		m->bol = line_end;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (mime_body_byte(m, (unsigned char)m->prefix[i], out) == -1)
			return -1;
	m->bol = line_end;
	return 0;
}

static int
mime_head_byte(struct mime *m, char c, struct buf *out)
{
	size_t n;

	if (buf_putc(&m->head, c) == -1)
		return -1;
	n = m->head.len;
	/* the header ends with an empty line (or at once, when the very
	 * first line is empty) */
	if (c == '\n' && n >= 2 && m->head.data[n - 2] == '\r' &&
	    (n == 2 || (n >= 4 && memcmp(m->head.data + n - 4, "\r\n\r\n", 4) == 0)))
		return mime_head_done(m, out);
	return 0;
}

int
mime_feed(struct mime *m, const char *p, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (m->state == MIME_HEAD) {
			if (mime_head_byte(m, c, out) == -1)
				return -1;
			continue;
		}
		if (m->nboundary == 0) {
			if (mime_body_byte(m, (unsigned char)c, out) == -1)
				return -1;
			continue;
		}
		if (m->bol) {
			m->prefix[m->nprefix++] = c;
			if (c == '\n' && m->nprefix >= 2 &&
			    m->prefix[m->nprefix - 2] == '\r') {
				if (mime_prefix_done(m, 1, out) == -1)
					return -1;
			} else if (m->nprefix == MIME_PREFIX) {
				if (mime_prefix_done(m, 0, out) == -1)
					return -1;
			}
			continue;
		}
		if (mime_body_byte(m, (unsigned char)c, out) == -1)
			return -1;
		if (c == '\n' && m->prev == '\r')
			m->bol = 1;
		m->prev = c;
	}
	return 0;
}

int
mime_finish(struct mime *m, struct buf *out)
{
	if (m->state == MIME_HEAD && m->head.len > 0) {
		/* a header without its empty line: end it here */
		if (buf_append(&m->head, "\r\n", 2) == -1 ||
		    mime_head_done(m, out) == -1)
			return -1;
	}
	if (m->nprefix && mime_prefix_done(m, 0, out) == -1)
		return -1;
	if (m->state == MIME_QP) {
		if (m->cr && mime_qp_byte(m, '\r', out) == -1)
			return -1;
		m->cr = 0;
		if ((m->wsp || m->col > 0) && mime_qp_eol(m, out) == -1)
			return -1;
	}
	return 0;
}
