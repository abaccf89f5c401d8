#include "smtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *word;
	unsigned flag;
} smtp_keywords[] = {
	{ "8BITMIME", SMTP_EXT_8BITMIME },
	{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
	{ "SIZE", SMTP_EXT_SIZE },
	{ "DSN", SMTP_EXT_DSN },
	{ "PIPELINING", SMTP_EXT_PIPELINING },
	{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED },
	{ "STARTTLS", SMTP_EXT_STARTTLS },
	{ "AUTH", SMTP_EXT_AUTH },
};

unsigned
smtp_ehlo_keyword(const char *s, size_t n)
{
	size_t i, w;

	/* The keyword ends at a space (parameters follow) or the line end.
	 * Case-insensitive, as RFC 5321 2.4 says; libcurl 7.88 is not. */
	for (w = 0; w < n && s[w] != ' '; w++)
		;
	for (i = 0; i < sizeof(smtp_keywords) / sizeof(smtp_keywords[0]); i++)
		if (strlen(smtp_keywords[i].word) == w &&
		    strncasecmp(s, smtp_keywords[i].word, w) == 0)
			return smtp_keywords[i].flag;
	return 0;
}

void
smtp_parser_init(struct smtp_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->line, SMTP_LINE_MAX);
	buf_init(&p->text, 0);
}

static int
smtp_parser_fail(struct smtp_parser *p, int e)
{
	p->err = e;
	errno = e;
	return -1;
}

/* Appends a line's text to p->text, sanitised, up to SMTP_TEXT_MAX. */
static int
smtp_parser_text(struct smtp_parser *p, const char *s, size_t n)
{
	size_t i;
	char c;

	if (n == 0)
		return 0;
	if (p->text.len > 0 && p->text.len < SMTP_TEXT_MAX &&
	    buf_putc(&p->text, ' ') == -1)
		return -1;
	for (i = 0; i < n && p->text.len < SMTP_TEXT_MAX; i++) {
		c = s[i];
		if ((unsigned char)c < 0x20 || (unsigned char)c == 0x7f)
			c = ' ';
		if (buf_putc(&p->text, c) == -1)
			return -1;
	}
	return 0;
}

/* One complete line, without its LF. Returns 1 if it ended the reply,
 * 0 if more lines follow, -1 if malformed. */
static int
smtp_parser_line(struct smtp_parser *p, const char *s, size_t n)
{
	int code, last;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (p->line_fn)
		p->line_fn(p->line_arg, s, n);
	if (n < 3 || s[0] < '2' || s[0] > '5' ||
	    s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
		return smtp_parser_fail(p, EPROTO);
	if (n > 3 && s[3] != ' ' && s[3] != '-')
		return smtp_parser_fail(p, EPROTO);
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (p->nlines > 0 && code != p->code)
		return smtp_parser_fail(p, EPROTO);
	p->code = code;
	last = n == 3 || s[3] == ' ';
	if (n > 4) {
		if (smtp_parser_text(p, s + 4, n - 4) == -1)
			return smtp_parser_fail(p, errno);
		/* The first line of an EHLO reply is the greeting, the
		 * others are keywords. */
		if (p->nlines > 0)
			p->ext |= smtp_ehlo_keyword(s + 4, n - 4);
	}
	p->nlines++;
	return last;
}

int
smtp_parser_feed(struct smtp_parser *p, const char *s, size_t n,
    size_t *used)
{
	const char *nl;
	size_t take;
	int rc;

	*used = 0;
	if (p->err) {
		errno = p->err;
		return -1;
	}
	while (*used < n) {
		nl = memchr(s + *used, '\n', n - *used);
		take = nl ? (size_t)(nl - (s + *used)) + 1 : n - *used;
		if (take > SMTP_REPLY_MAX - p->total)
			return smtp_parser_fail(p, E2BIG);
		if (buf_append(&p->line, s + *used, take) == -1)
			return smtp_parser_fail(p, errno);
		p->total += take;
		*used += take;
		if (nl == NULL)
			break;
		rc = smtp_parser_line(p, p->line.data, p->line.len - 1);
		buf_reset(&p->line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

char *
smtp_parser_take(struct smtp_parser *p)
{
	char *t;

	if ((t = buf_take(&p->text)) == NULL)
		return NULL;
	buf_reset(&p->line);
	p->total = 0;
	p->nlines = 0;
	p->code = 0;
	p->ext = 0;
	return t;
}

void
smtp_parser_free(struct smtp_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->text);
}

void
smtp_dot_init(struct smtp_dot *d)
{
	d->bol = 1;
	d->cr = 0;
}

int
smtp_dot_stuff(struct smtp_dot *d, const char *s, size_t n, struct buf *out)
{
	size_t i, run;

	for (i = 0; i < n; ) {
		if (d->cr) {
			/* The CR went out already; its LF goes out now,
			 * whether or not the input has one. */
			d->cr = 0;
			d->bol = 1;
			if (buf_putc(out, '\n') == -1)
				return -1;
			if (s[i] == '\n') {
				i++;
				continue;
			}
		}
		if (d->bol && s[i] == '.' && buf_putc(out, '.') == -1)
			return -1;
		d->bol = 0;
		/* Copy the rest of the line in one go. */
		for (run = i; run < n && s[run] != '\r' && s[run] != '\n'; run++)
			;
		if (buf_append(out, s + i, run - i) == -1)
			return -1;
		i = run;
		if (i == n)
			break;
		if (s[i] == '\r') {
			d->cr = 1;
			if (buf_putc(out, '\r') == -1)
				return -1;
		} else {
			/* A bare LF. */
			d->bol = 1;
			if (buf_append(out, "\r\n", 2) == -1)
				return -1;
		}
		i++;
	}
	return 0;
}

int
smtp_dot_end(struct smtp_dot *d, struct buf *out)
{
	if (d->cr) {
		d->cr = 0;
		d->bol = 1;
		if (buf_putc(out, '\n') == -1)
			return -1;
	}
	if (!d->bol && buf_append(out, "\r\n", 2) == -1)
		return -1;
	d->bol = 1;
	return buf_append(out, ".\r\n", 3);
}

int
smtp_addr_check(const char *a, int *utf8)
{
	const unsigned char *p;

	*utf8 = 0;
	if (strlen(a) > SMTP_ADDR_MAX)
		return -1;
	for (p = (const unsigned char *)a; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return -1;
		if (*p >= 0x80)
			*utf8 = 1;
	}
	return 0;
}

int
smtp_xtext(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char x[3];

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '+' && *p != '=') {
			if (buf_putc(out, *p) == -1)
				return -1;
			continue;
		}
		x[0] = '+';
		x[1] = hex[*p >> 4];
		x[2] = hex[*p & 0xf];
		if (buf_append(out, x, 3) == -1)
			return -1;
	}
	return 0;
}

int
smtp_notify_check(const char *v)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0, bit;
	size_t w, i;

	if (strcasecmp(v, "NEVER") == 0)
		return 0;
	for (;;) {
		w = strcspn(v, ",");
		for (i = 0; i < 3; i++)
			if (strlen(words[i]) == w &&
			    strncasecmp(v, words[i], w) == 0)
				break;
		if (i == 3)
			return -1;
		bit = 1u << i;
		if (seen & bit)
			return -1;
		seen |= bit;
		if (v[w] == '\0')
			return 0;
		v += w + 1;
	}
}

static int
smtp_upper(struct buf *out, const char *s)
{
	for (; *s; s++)
		if (buf_putc(out, *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s)
		    == -1)
			return -1;
	return 0;
}

int
smtp_mail_cmd(struct buf *out, const struct smtp_mail *m, unsigned ext,
    const char **why)
{
	const unsigned char *p;
	int utf8;

	*why = NULL;
	buf_reset(out);
	if (smtp_addr_check(m->sender, &utf8) == -1) {
		*why = "sender address holds a space, control byte or angle "
		    "bracket, or is too long";
		return -1;
	}
	if (utf8 && !(ext & SMTP_EXT_SMTPUTF8)) {
		*why = "non-ASCII sender address, and the server does not "
		    "offer SMTPUTF8";
		return -1;
	}
	/* DSN values are checked even when not sent: a bad one means a
	 * damaged envelope, whatever the server offers. */
	if (m->ret && strcasecmp(m->ret, "FULL") != 0 &&
	    strcasecmp(m->ret, "HDRS") != 0) {
		*why = "invalid DSN RET value";
		return -1;
	}
	if (m->envid) {
		/* Printable ASCII (RFC 3461 4.4); xtext carries it. */
		for (p = (const unsigned char *)m->envid; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				break;
		if (*p || p == (const unsigned char *)m->envid ||
		    strlen(m->envid) > SMTP_ENVID_MAX) {
			*why = "invalid DSN ENVID value";
			return -1;
		}
	}
	if (buf_printf(out, "MAIL FROM:<%s>", m->sender) == -1)
		return -1;
	if ((ext & SMTP_EXT_SIZE) && m->size > 0 &&
	    buf_printf(out, " SIZE=%llu", (unsigned long long)m->size) == -1)
		return -1;
	if ((ext & SMTP_EXT_8BITMIME) && m->eightbit &&
	    buf_puts(out, " BODY=8BITMIME") == -1)
		return -1;
	if ((ext & SMTP_EXT_SMTPUTF8) && m->utf8 &&
	    buf_puts(out, " SMTPUTF8") == -1)
		return -1;
	if ((ext & SMTP_EXT_DSN) && m->ret &&
	    (buf_puts(out, " RET=") == -1 || smtp_upper(out, m->ret) == -1))
		return -1;
	if ((ext & SMTP_EXT_DSN) && m->envid &&
	    (buf_puts(out, " ENVID=") == -1 || smtp_xtext(out, m->envid) == -1))
		return -1;
	return buf_puts(out, "\r\n");
}

int
smtp_rcpt_cmd(struct buf *out, const char *rcpt, const char *notify,
    unsigned ext, const char **why)
{
	int utf8;

	*why = NULL;
	buf_reset(out);
	if (*rcpt == '\0' || smtp_addr_check(rcpt, &utf8) == -1) {
		*why = "recipient address is empty, holds a space, control "
		    "byte or angle bracket, or is too long";
		return -1;
	}
	if (utf8 && !(ext & SMTP_EXT_SMTPUTF8)) {
		*why = "non-ASCII recipient address, and the server does not "
		    "offer SMTPUTF8";
		return -1;
	}
	if (notify && smtp_notify_check(notify) == -1) {
		*why = "invalid DSN NOTIFY value";
		return -1;
	}
	if (buf_printf(out, "RCPT TO:<%s>", rcpt) == -1)
		return -1;
	if ((ext & SMTP_EXT_DSN) && notify) {
		if (buf_puts(out, " NOTIFY=") == -1 ||
		    smtp_upper(out, notify) == -1)
			return -1;
		/* The original recipient, so that a report names the
		 * address we were given; "rfc822" types ASCII only
		 * (RFC 3461 4.2), so a UTF-8 one goes without. */
		if (!utf8 && (buf_puts(out, " ORCPT=rfc822;") == -1 ||
		    smtp_xtext(out, rcpt) == -1))
			return -1;
	}
	return buf_puts(out, "\r\n");
}
