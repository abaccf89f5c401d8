#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/*
 * The list.
 */

void
addr_list_init(struct addr_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

/* The '@' that separates local part and domain: the first one after a
 * leading quoted string, or NULL for a bare local name. */
static const char *
addr_at(const char *a)
{
	const char *p = a;

	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p == '"')
			p++;
	}
	return strchr(p, '@');
}

/* Local parts are compared exactly (they may be case-sensitive on the
 * receiving host), domains without regard to case (RFC 5321 2.4). */
static int
addr_same(const char *a, const char *b)
{
	const char *ea = addr_at(a), *eb = addr_at(b);
	size_t la = ea ? (size_t)(ea - a) : strlen(a);
	size_t lb = eb ? (size_t)(eb - b) : strlen(b);

	if (la != lb || memcmp(a, b, la) != 0)
		return 0;
	if (ea == NULL || eb == NULL)
		return ea == eb;
	return strcasecmp(ea + 1, eb + 1) == 0;
}

int
addr_list_has(const struct addr_list *l, const char *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (addr_same(l->v[i], a))
			return 1;
	return 0;
}

int
addr_list_add(struct addr_list *l, const char *a)
{
	char **v;
	size_t cap;

	if (addr_list_has(l, a))
		return 0;
	if (l->n == l->cap) {
		cap = l->cap ? l->cap : 8;
		if (l->cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*v)) {
				errno = ENOMEM;
				return -1;
			}
			cap *= 2;
		}
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(a)) == NULL)
		return -1;
	l->n++;
	return 0;
}

void
addr_list_free(struct addr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	addr_list_init(l);
}

/* Drops the entries from n0 on: a list that fails to parse adds nothing. */
static void
addr_list_cut(struct addr_list *l, size_t n0)
{
	while (l->n > n0)
		free(l->v[--l->n]);
}

/*
 * The address-list parser (RFC 5322 3.4, with the obsolete forms of 4.4
 * that real mail carries). A lexer turns s[0..len) into tokens and skips
 * CFWS; the parser above it reads elements separated by commas. Nothing
 * relies on a NUL after len. Only CRLF followed by SP or HTAB (a fold),
 * or a CRLF that ends the text, may appear: any other CR or LF, and NUL,
 * make the text garbage, so that no line break reaches an address.
 */

enum {
	T_ERR = -1,
	T_END = 0,
	/* one-byte specials are their own character */
	T_ATOM = 256,
	T_QSTR,
	T_DLIT
};

struct lex {
	const char *s;
	size_t len, pos;
	int oom;
};

struct tok {
	int type;
	size_t start, end;
};

static int
is_atext(unsigned char c)
{
	/* Bytes >= 0x80 are UTF-8 (RFC 6532); addr_check judges them. */
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Bytes a CR at i takes as a fold (CRLF then WSP, or a final CRLF), or 0
 * when it is a bare CR. */
static size_t
lex_crlf(const struct lex *lx, size_t i)
{
	if (i + 1 >= lx->len || lx->s[i + 1] != '\n')
		return 0;
	if (i + 2 == lx->len || lx->s[i + 2] == ' ' || lx->s[i + 2] == '\t')
		return 2;
	return 0;
}

/* Steps over one byte inside a comment, quoted string or domain literal,
 * where backslash quotes the next byte. Returns 0 or -1 on a bad byte or
 * an end of text. */
static int
lex_inner(struct lex *lx)
{
	unsigned char c;
	size_t n;

	if (lx->pos >= lx->len)
		return -1;
	c = (unsigned char)lx->s[lx->pos];
	if (c == '\r') {
		if ((n = lex_crlf(lx, lx->pos)) == 0)
			return -1;
		lx->pos += n;
		return 0;
	}
	if (c == '\n' || c == '\0')
		return -1;
	if (c == '\\') {
		if (++lx->pos >= lx->len)
			return -1;
		c = (unsigned char)lx->s[lx->pos];
		if (c == '\r' || c == '\n' || c == '\0')
			return -1;
	}
	lx->pos++;
	return 0;
}

/* Comments nest; lx->pos is at the '('. */
static int
lex_comment(struct lex *lx)
{
	size_t depth = 0;
	char c;

	do {
		c = lx->s[lx->pos];
		if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
		if (c == '(' || c == ')')
			lx->pos++;
		else if (lex_inner(lx) == -1)
			return -1;
		if (depth > 0 && lx->pos >= lx->len)
			return -1;
	} while (depth > 0);
	return 0;
}

static int
lex_cfws(struct lex *lx)
{
	size_t n;
	char c;

	while (lx->pos < lx->len) {
		c = lx->s[lx->pos];
		if (c == ' ' || c == '\t')
			lx->pos++;
		else if (c == '\r' && (n = lex_crlf(lx, lx->pos)) > 0)
			lx->pos += n;
		else if (c == '(') {
			if (lex_comment(lx) == -1)
				return -1;
		} else
			break;
	}
	return 0;
}

/* A quoted string or a domain literal, from its opening byte to the
 * closing one. */
static int
lex_delimited(struct lex *lx, char close)
{
	lx->pos++;
	while (lx->pos < lx->len && lx->s[lx->pos] != close) {
		if (close == ']' && lx->s[lx->pos] == '[')
			return -1;
		if (lex_inner(lx) == -1)
			return -1;
	}
	if (lx->pos >= lx->len)
		return -1;
	lx->pos++;
	return 0;
}

static int
lex_next(struct lex *lx, struct tok *t)
{
	unsigned char c;

	if (lex_cfws(lx) == -1)
		return t->type = T_ERR;
	t->start = lx->pos;
	if (lx->pos >= lx->len)
		return t->type = T_END;
	c = (unsigned char)lx->s[lx->pos];
	if (c == '"' || c == '[') {
		if (lex_delimited(lx, c == '"' ? '"' : ']') == -1)
			return t->type = T_ERR;
		t->type = c == '"' ? T_QSTR : T_DLIT;
	} else if (c != '\0' && strchr("<>:;@,.", c) != NULL) {
		lx->pos++;
		t->type = c;
	} else if (is_atext(c)) {
		while (lx->pos < lx->len &&
		    is_atext((unsigned char)lx->s[lx->pos]))
			lx->pos++;
		t->type = T_ATOM;
	} else
		t->type = T_ERR;
	t->end = lx->pos;
	return t->type;
}

static int
lex_peek(struct lex *lx)
{
	size_t pos = lx->pos;
	struct tok t;

	lex_next(lx, &t);
	lx->pos = pos;
	return t.type;
}

/* Copies a token's text, unfolded: the lexer lets CR and LF through only
 * as folds, so dropping them leaves the whitespace that follows. */
static int
tok_put(struct lex *lx, struct buf *b, const struct tok *t)
{
	size_t i;

	for (i = t->start; i < t->end; i++)
		if (lx->s[i] != '\r' && lx->s[i] != '\n' &&
		    buf_putc(b, lx->s[i]) == -1) {
			lx->oom = 1;
			return -1;
		}
	return 0;
}

static int
is_word(int type)
{
	return type == T_ATOM || type == T_QSTR;
}

/*
 * local-part: words joined by dots, CFWS allowed around them
 * (obs-local-part). Dots are taken leniently ("a..b", as some large
 * providers hand out); two words in a row end it. At least one word.
 */
static int
parse_local(struct lex *lx, struct buf *b)
{
	int words = 0, last = 0, type;
	size_t pos;
	struct tok t;

	for (;;) {
		pos = lx->pos;
		type = lex_next(lx, &t);
		if (!(is_word(type) && !is_word(last)) && type != '.') {
			lx->pos = pos;
			break;
		}
		if (tok_put(lx, b, &t) == -1)
			return -1;
		words += is_word(type);
		last = type;
	}
	return words > 0 ? 0 : -1;
}

/* domain: atoms joined by single dots, or a domain literal. */
static int
parse_domain(struct lex *lx, struct buf *b)
{
	struct tok t;

	if (lex_next(lx, &t) == T_DLIT)
		return tok_put(lx, b, &t);
	for (;;) {
		if (t.type != T_ATOM || tok_put(lx, b, &t) == -1)
			return -1;
		if (lex_peek(lx) != '.')
			return 0;
		lex_next(lx, &t);
		if (buf_putc(b, '.') == -1) {
			lx->oom = 1;
			return -1;
		}
		lex_next(lx, &t);
	}
}

/* addr-spec, or a bare local name when no '@' follows. */
static int
parse_spec(struct lex *lx, struct buf *b)
{
	struct tok t;

	if (parse_local(lx, b) == -1)
		return -1;
	if (lex_peek(lx) != '@')
		return 0;
	lex_next(lx, &t);
	if (buf_putc(b, '@') == -1) {
		lx->oom = 1;
		return -1;
	}
	return parse_domain(lx, b);
}

static int
emit(struct lex *lx, struct addr_list *out, const struct buf *b)
{
	if (addr_list_add(out, b->data) == -1) {
		lx->oom = 1;
		return -1;
	}
	return 0;
}

/* obs-route "@a,@b:" in front of the addr-spec: read and dropped. */
static int
parse_route(struct lex *lx)
{
	struct buf scratch;
	struct tok t;
	int r = 0;

	buf_init(&scratch, 0);
	while (r == 0 && lex_next(lx, &t) != ':') {
		if (t.type == '@')
			r = parse_domain(lx, &scratch);
		else if (t.type != ',')
			r = -1;
	}
	buf_free(&scratch);
	return r;
}

/* After the '<': [route] addr-spec '>'. "<>" is not a recipient. */
static int
parse_angle(struct lex *lx, struct addr_list *out)
{
	struct buf b;
	struct tok t;
	int r = -1;

	if (lex_peek(lx) == '@' && parse_route(lx) == -1)
		return -1;
	buf_init(&b, 0);
	if (parse_spec(lx, &b) == 0 && lex_next(lx, &t) == '>')
		r = emit(lx, out, &b);
	buf_free(&b);
	return r;
}

static int
at_element_end(struct lex *lx)
{
	int type = lex_peek(lx);

	return type == ',' || type == ';' || type == T_END;
}

/* An addr-spec or bare local name alone, or an empty element. */
static int
parse_plain(struct lex *lx, struct addr_list *out)
{
	struct buf b;
	int r = -1;

	if (at_element_end(lx))
		return 0;
	buf_init(&b, 0);
	if (parse_spec(lx, &b) == 0 && at_element_end(lx))
		r = emit(lx, out, &b);
	buf_free(&b);
	return r;
}

/* Careless programs write an unquoted address as the display name
 * ("a@b.example <a@b.example>"): everything before the '<' is the name. */
static int
skip_to_angle(struct lex *lx)
{
	struct tok t;

	for (;;) {
		switch (lex_next(lx, &t)) {
		case '<':
			return 0;
		case T_ATOM: case T_QSTR: case T_DLIT: case '.': case '@':
			break;
		default:
			return -1;
		}
	}
}

/* Reads words and dots (a phrase) and returns, unconsumed, the token
 * that follows them. */
static int
scan_phrase(struct lex *lx, int *words)
{
	size_t pos;
	struct tok t;

	*words = 0;
	for (;;) {
		pos = lx->pos;
		lex_next(lx, &t);
		if (!is_word(t.type) && t.type != '.') {
			lx->pos = pos;
			return t.type;
		}
		*words += is_word(t.type);
	}
}

static int parse_group(struct lex *, struct addr_list *);

/* One element of a list: a mailbox, a group (not inside a group), or
 * nothing (",,", trailing commas). */
static int
parse_element(struct lex *lx, struct addr_list *out, int in_group)
{
	size_t start = lx->pos;
	struct tok t;
	int words, next;

	next = scan_phrase(lx, &words);
	if (next == T_ERR)
		return -1;
	if (next == '<' || (next == ':' && !in_group && words > 0)) {
		lex_next(lx, &t);
		return next == '<' ? parse_angle(lx, out) :
		    parse_group(lx, out);
	}
	lx->pos = start;
	if (parse_plain(lx, out) == 0)
		return 0;
	if (lx->oom)
		return -1;
	lx->pos = start;
	if (skip_to_angle(lx) == -1)
		return -1;
	return parse_angle(lx, out);
}

/* After "name:": mailboxes up to ';'. A group that the text ends without
 * its ';' is taken as closed, as mail programs write "undisclosed:". */
static int
parse_group(struct lex *lx, struct addr_list *out)
{
	struct tok t;

	for (;;) {
		if (parse_element(lx, out, 1) == -1)
			return -1;
		switch (lex_next(lx, &t)) {
		case ',':
			continue;
		case ';':
			return 0;
		case T_END:
			lx->pos = t.start;
			return 0;
		default:
			return -1;
		}
	}
}

int
addr_parse_list(const char *s, size_t len, struct addr_list *out)
{
	struct lex lx = { s, len, 0, 0 };
	size_t n0 = out->n;
	struct tok t;

	for (;;) {
		if (parse_element(&lx, out, 0) == -1)
			break;
		if (lex_next(&lx, &t) == T_END)
			return 0;
		if (t.type != ',')
			break;
	}
	addr_list_cut(out, n0);
	errno = lx.oom ? ENOMEM : EINVAL;
	return -1;
}

/*
 * Envelope checks (RFC 5321 4.1.2 and 4.5.3.1). These guard the SMTP
 * command line and argv-borne values, so they are strict where the
 * header parser above is lenient.
 */

static int
fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

/* The local part from a; *end is set to the byte after it. */
static int
check_local(const char *a, const char **end, const char **why)
{
	const char *p = a;

	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && *++p == '\0')
				break;
		if (*p != '"')
			return fail(why, "unterminated quoted local part");
		p++;
		if (*p != '\0' && *p != '@')
			return fail(why, "text after a quoted local part");
	} else {
		for (; *p != '\0' && *p != '@'; p++)
			if (strchr("<>(),;:\\\"[]", *p) != NULL)
				return fail(why, "special character in address");
	}
	*end = p;
	if (p == a)
		return fail(why, "empty local part");
	if ((size_t)(p - a) > ADDR_LOCAL_MAX)
		return fail(why, "local part longer than 64 bytes");
	return 0;
}

static int
check_literal(const char *d, size_t len, const char **why)
{
	char ip[ADDR_DOMAIN_MAX + 1];
	unsigned char bin[16];
	int af = AF_INET;
	size_t n;

	if (len < 3 || d[len - 1] != ']')
		return fail(why, "bad address literal");
	n = len - 2;
	memcpy(ip, d + 1, n);
	ip[n] = '\0';
	if (strncasecmp(ip, "IPv6:", 5) == 0)
		af = AF_INET6;
	if (inet_pton(af, af == AF_INET6 ? ip + 5 : ip, bin) != 1)
		return fail(why, "bad address literal");
	return 0;
}

static int
is_label_byte(unsigned char c)
{
	/* UTF-8 labels are let through here; whether the smarthost takes
	 * them (SMTPUTF8) is decided at delivery. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c >= 0x80;
}

static int
check_domain(const char *d, const char **why)
{
	size_t len = strlen(d), i, start = 0;

	if (len == 0)
		return fail(why, "empty domain");
	if (len > ADDR_DOMAIN_MAX)
		return fail(why, "domain longer than 255 bytes");
	if (strchr(d, '@') != NULL)
		return fail(why, "more than one '@'");
	if (d[0] == '[')
		return check_literal(d, len, why);
	for (i = 0; i <= len; i++) {
		if (i < len && d[i] != '.') {
			if (!is_label_byte((unsigned char)d[i]))
				return fail(why, "bad character in domain");
			continue;
		}
		if (i == start)
			return fail(why, "empty label in domain");
		if (i - start > 63)
			return fail(why, "domain label longer than 63 bytes");
		if (d[start] == '-' || d[i - 1] == '-')
			return fail(why, "domain label starts or ends with '-'");
		start = i + 1;
	}
	return 0;
}

int
addr_check(const char *a, const char **why)
{
	const char *p, *end;

	if (a == NULL || *a == '\0')
		return fail(why, "empty address");
	/* The path is the address in angle brackets: 256 with them. */
	if (strlen(a) > ADDR_PATH_MAX - 2)
		return fail(why, "address longer than 254 bytes");
	if (a[0] == '-')
		return fail(why, "address starts with '-'");
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(why, "space or control character in address");
	if (check_local(a, &end, why) == -1)
		return -1;
	if (*end == '\0')
		return 0;
	return check_domain(end + 1, why);
}

char *
addr_qualify(const char *a, const char *domain)
{
	size_t la, ld;
	char *q;

	if (addr_at(a) != NULL || domain == NULL || *domain == '\0')
		return strdup(a);
	la = strlen(a);
	ld = strlen(domain);
	if (la > SIZE_MAX - ld - 2) {
		errno = ENOMEM;
		return NULL;
	}
	if ((q = malloc(la + ld + 2)) == NULL)
		return NULL;
	memcpy(q, a, la);
	q[la] = '@';
	memcpy(q + la + 1, domain, ld + 1);
	return q;
}

int
addr_is_local(const char *a)
{
	return addr_at(a) == NULL;
}
