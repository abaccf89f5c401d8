/* Unit tests for src/addr.c: list, parser, envelope checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "addr.h"
#include "buf.h"

/* s with control bytes written as \xNN, for test names. */
static const char *
show(const char *s)
{
	static char ring[4][1024];
	static int k;
	char *o = ring[k = (k + 1) % 4];
	size_t n = 0;

	for (; *s != '\0' && n < sizeof(ring[0]) - 8; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			n += (size_t)snprintf(o + n, 8, "\\x%02x", (unsigned char)*s);
		else
			o[n++] = *s;
	o[n] = '\0';
	return o;
}

/* Parses s (of length len) and returns the addresses joined by " | ",
 * or "ERR" when the parser refuses it. Static storage, one at a time. */
static const char *
parse_n(const char *s, size_t len)
{
	static struct buf out;
	struct addr_list l;
	size_t i;

	buf_free(&out);
	buf_init(&out, 0);
	addr_list_init(&l);
	if (addr_parse_list(s, len, &l) == -1) {
		ok(l.n == 0, "refused list adds nothing");
		addr_list_free(&l);
		buf_puts(&out, "ERR");
		return out.data;
	}
	for (i = 0; i < l.n; i++) {
		if (i)
			buf_puts(&out, " | ");
		buf_puts(&out, l.v[i]);
	}
	addr_list_free(&l);
	buf_puts(&out, "");
	return out.data;
}

static const char *
parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void
test_parse(void)
{
	static const struct { const char *in, *want; } c[] = {
		{ "", "" },
		{ "   ", "" },
		{ " \r\n", "" },
		{ "a@b.example", "a@b.example" },
		{ " a@b.example\r\n", "a@b.example" },
		{ "a@b.example, c@d.example", "a@b.example | c@d.example" },
		{ "A B <a@b.example>", "a@b.example" },
		{ "\"B, A\" <a@b.example>, c@d", "a@b.example | c@d" },
		{ "\"a \\\"q\\\" b\" <x@y>", "x@y" },
		{ "John Q. Public <jqp@x.example>", "jqp@x.example" },
		{ "<a@b>", "a@b" },
		{ "  < a @ b >  ", "a@b" },
		{ "a(c)@(d)b(e).(f)example", "a@b.example" },
		{ "(x (nested) y) a@b (tail)", "a@b" },
		{ "(\\)) a@b", "a@b" },
		{ "root", "root" },
		{ "root (Cron Daemon)", "root" },
		{ "root, admin", "root | admin" },
		{ "<root>", "root" },
		{ "a@b,", "a@b" },
		{ ",,a@b,,,c@d,", "a@b | c@d" },
		{ ",", "" },
		{ "team: a@x, b@y;", "a@x | b@y" },
		{ "team: a@x, b@y; , c@z", "a@x | b@y | c@z" },
		{ "undisclosed-recipients:;", "" },
		{ "undisclosed-recipients: ;", "" },
		{ "undisclosed-recipients:", "" },
		{ "g: A <a@x>, (c) b@y,, ;", "a@x | b@y" },
		{ "<@r1.example,@r2.example:x@y>", "x@y" },
		{ "<@r1,,@r2 : x@y>", "x@y" },
		{ "\"john doe\"@example.com", "\"john doe\"@example.com" },
		{ "\"a@b\"@c", "\"a@b\"@c" },
		{ "john . doe @ example . com", "john.doe@example.com" },
		{ "a..b@docomo.example", "a..b@docomo.example" },
		{ "a@[192.0.2.1]", "a@[192.0.2.1]" },
		{ "a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]" },
		{ "To <A@Example.COM>, a@example.com", "A@Example.COM | a@example.com" },
		{ "a@B.example, a@b.EXAMPLE", "a@B.example" },
		{ "A@b, a@b", "A@b | a@b" },
		{ "a@b.example\r\n\t, c@d\r\n", "a@b.example | c@d" },
		{ "\"fold\r\n ed\" <a@b>", "a@b" },
		{ "\"x\r\n y\"@b", "\"x y\"@b" },
		{ "a@b.example <a@b.example>", "a@b.example" },
		{ "Foo Bar foo@bar <x@y>", "x@y" },
		{ "j\xc3\xb6rg@b\xc3\xbc.example", "j\xc3\xb6rg@b\xc3\xbc.example" },
		{ "J\xc3\xb6rg <j@b>", "j@b" },
		{ "a@b (c, d), e@f", "a@b | e@f" },
		/* garbage */
		{ "<a@b", "ERR" },
		{ "a@b>", "ERR" },
		{ "<<a@b>>", "ERR" },
		{ "\"unterminated <a@b>", "ERR" },
		{ "(unterminated a@b", "ERR" },
		{ "((a) a@b", "ERR" },
		{ "a@b)", "ERR" },
		{ "a@", "ERR" },
		{ "@b", "ERR" },
		{ "a@b.", "ERR" },
		{ "a@.b", "ERR" },
		{ "a@b@c", "ERR" },
		{ "John Smith", "ERR" },
		{ "a@b c@d", "ERR" },
		{ "a@b; c@d", "ERR" },
		{ "<>", "ERR" },
		{ "Name <>", "ERR" },
		{ "a: b: c@d;;", "ERR" },
		{ "a@b\r\nBcc: c@d", "ERR" },
		{ "a@b\nc@d", "ERR" },
		{ "a@b\rc", "ERR" },
		{ "a@b\r", "ERR" },
		{ "a\\b@c", "ERR" },
		{ "a@[1.2.3.4", "ERR" },
		{ "a@[1[2]", "ERR" },
		{ "\"a\\", "ERR" },
		{ "<@r1 x@y>", "ERR" },
		{ "<@:x@y>", "ERR" },
		{ ":;", "ERR" },
		{ "\x01@b", "ERR" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		is_str(parse(c[i].in), c[i].want, "parse \"%s\"", show(c[i].in));
}

static void
test_parse_bytes(void)
{
	static const char nul1[] = "a\0b@c";
	static const char nul2[] = "a@b, \"x\0\"@c";
	static const char nul3[] = "(x\0) a@b";
	char big[4096];
	struct addr_list l;
	size_t i;

	is_str(parse_n(nul1, sizeof(nul1) - 1), "ERR", "NUL in atom");
	is_str(parse_n(nul2, sizeof(nul2) - 1), "ERR", "NUL in quoted string");
	is_str(parse_n(nul3, sizeof(nul3) - 1), "ERR", "NUL in comment");
	/* len is the end, not a NUL: a@b.example cut to a@b */
	is_str(parse_n("a@b.example", 3), "a@b", "stops at len");
	is_str(parse_n("a@b.example", 4), "ERR", "trailing dot at len");
	is_str(parse_n("<a@b>", 4), "ERR", "'>' past len not seen");
	is_str(parse_n("\"ab\"", 3), "ERR", "quote past len not seen");
	is_str(parse_n("(c)", 2), "ERR", "paren past len not seen");

	/* Parsed from the heap with nothing after it, for ASan. */
	for (i = 0; i < 40; i++) {
		char *p = malloc(i ? i : 1);
		size_t n = i < 12 ? i : 12;

		memcpy(p, "(a\"b\\c<d>[e", n > 11 ? 11 : n);
		addr_list_init(&l);
		(void)addr_parse_list(p, n > 11 ? 11 : n, &l);
		addr_list_free(&l);
		free(p);
	}
	ok(1, "prefixes of tricky text parse without reading past len");

	/* Long local part: the parser takes it, addr_check refuses it. */
	memset(big, 'x', 300);
	memcpy(big + 300, "@b.example", 11);
	addr_list_init(&l);
	is_int(addr_parse_list(big, strlen(big), &l), 0, "300-byte local part parses");
	is_int(l.n, 1, "one address");
	if (l.n == 1)
		is_int(addr_check(l.v[0], NULL), -1, "and fails addr_check");
	addr_list_free(&l);

	/* Deep comment nesting is a counter, not recursion. */
	memset(big, '(', 2000);
	memset(big + 2000, ')', 2000);
	memcpy(big + 4000, "a@b", 4);
	is_str(parse(big), "a@b", "2000 nested comments");
	big[3999] = ' ';
	is_str(parse(big), "ERR", "one paren short");

	/* Many addresses, dedup across them. */
	{
		struct buf b;

		buf_init(&b, 0);
		for (i = 0; i < 500; i++)
			buf_printf(&b, "u%zu@h.example, U%zu@H.EXAMPLE,", i % 250, i % 250);
		addr_list_init(&l);
		is_int(addr_parse_list(b.data, b.len, &l), 0, "1000 elements");
		is_int(l.n, 500, "deduplicated to 500");
		addr_list_free(&l);
		buf_free(&b);
	}
}

static void
test_parse_atomic(void)
{
	struct addr_list l;

	addr_list_init(&l);
	addr_list_add(&l, "keep@x");
	errno = 0;
	is_int(addr_parse_list("a@b, c@d, <e@f", 14, &l), -1, "bad list");
	is_int(errno, EINVAL, "errno EINVAL for garbage");
	is_int(l.n, 1, "partial results removed");
	is_str(l.v[0], "keep@x", "earlier entries kept");
	is_int(addr_parse_list("keep@X, n@x", 11, &l), 0, "append");
	is_int(l.n, 2, "dup not added");
	is_str(l.v[1], "n@x", "new appended in order");
	addr_list_free(&l);
}

static void
test_list(void)
{
	struct addr_list l;

	addr_list_init(&l);
	is_int(l.n, 0, "empty list");
	is_int(addr_list_has(&l, "a@b"), 0, "has on empty");
	is_int(addr_list_add(&l, "a@b.example"), 0, "add");
	is_int(addr_list_add(&l, "a@B.EXAMPLE"), 0, "add dup domain case");
	is_int(l.n, 1, "domain compared without case");
	is_int(addr_list_add(&l, "A@b.example"), 0, "add local case");
	is_int(l.n, 2, "local part compared exactly");
	is_int(addr_list_add(&l, "a"), 0, "bare local");
	is_int(addr_list_add(&l, "a"), 0, "bare local dup");
	is_int(l.n, 3, "bare local once");
	ok(!addr_list_has(&l, "a@"), "a@ is not a");
	ok(!addr_list_has(&l, "a@b"), "prefix domain differs");
	ok(addr_list_has(&l, "a@b.Example"), "has ignores domain case");
	is_int(addr_list_add(&l, "\"x@y\"@b"), 0, "quoted local with @");
	ok(addr_list_has(&l, "\"x@y\"@B"), "split after the quoted local part");
	ok(!addr_list_has(&l, "\"x@Y\"@b"), "quoted local part compared exactly");
	{
		int i, r = 0;
		char a[32];

		for (i = 0; i < 100; i++) {
			snprintf(a, sizeof(a), "u%d@x", i);
			r |= addr_list_add(&l, a);
		}
		is_int(r, 0, "grows");
		is_int(l.n, 104, "104 entries");
		is_str(l.v[103], "u99@x", "order kept");
	}
	addr_list_free(&l);
	is_int(l.n, 0, "freed");
	ok(l.v == NULL, "freed v");
	addr_list_free(&l);
	ok(1, "free twice is safe");
}

static void
test_check(void)
{
	static const struct { const char *a; int want; } c[] = {
		{ "a@b.example", 0 },
		{ "root", 0 },
		{ "first.last+tag@sub.example.com", 0 },
		{ "a@localhost", 0 },
		{ "\"john doe\"@example.com", -1 },	/* space, even quoted */
		{ "\"john<doe>\"@example.com", 0 },
		{ "\"a@b\"@example.com", 0 },
		{ "\"a\\\"b\"@example.com", 0 },
		{ "\"a\"x@example.com", -1 },
		{ "\"unterminated@example.com", -1 },
		{ "\"a\\", -1 },
		{ "a@[192.0.2.1]", 0 },
		{ "a@[IPv6:2001:db8::1]", 0 },
		{ "a@[ipv6:::1]", 0 },
		{ "a@[300.1.1.1]", -1 },
		{ "a@[example]", -1 },
		{ "a@[]", -1 },
		{ "a@[1.2.3.4", -1 },
		{ "j\xc3\xb6rg@b\xc3\xbc.example", 0 },
		{ "", -1 },
		{ "@b", -1 },
		{ "a@", -1 },
		{ "a@b@c", -1 },
		{ "a@@b", -1 },
		{ "-oQ/tmp@x", -1 },
		{ "-f", -1 },
		{ "a b@c", -1 },
		{ "a\tb@c", -1 },
		{ "a@b\r\n", -1 },
		{ "a\n@b", -1 },
		{ "a\x7f@b", -1 },
		{ "a<b@c", -1 },
		{ "a>b@c", -1 },
		{ "a(b@c", -1 },
		{ "a)b@c", -1 },
		{ "a,b@c", -1 },
		{ "a;b@c", -1 },
		{ "a\\b@c", -1 },
		{ "a\"b@c", -1 },
		{ "a:b@c", -1 },
		{ "<a@b>", -1 },
		{ "a@b..c", -1 },
		{ "a@.b", -1 },
		{ "a@b.", -1 },
		{ "a@-b.c", -1 },
		{ "a@b-.c", -1 },
		{ "a@b-c.d", 0 },
		{ "a@b_c.d", -1 },
		{ "a@b!c", -1 },
		{ "x\"-oQ/tmp/ -X/var/www/x.php y\"@z", -1 },
	};
	const char *why;
	char big[600];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		why = NULL;
		is_int(addr_check(c[i].a, &why), c[i].want, "check \"%s\"", show(c[i].a));
		if (c[i].want == -1)
			ok(why != NULL && *why != '\0', "  with a reason (%s)",
			    why ? why : "none");
	}
	ok(addr_check(NULL, &why) == -1, "NULL refused");
	ok(addr_check("a b", NULL) == -1, "why may be NULL");

	/* lengths */
	memset(big, 'l', 64);
	strcpy(big + 64, "@b.example");
	is_int(addr_check(big, NULL), 0, "64-byte local part");
	memset(big, 'l', 65);
	strcpy(big + 65, "@b.example");
	is_int(addr_check(big, NULL), -1, "65-byte local part");
	memset(big, 'l', 300);
	big[300] = '\0';
	is_int(addr_check(big, NULL), -1, "300-byte bare local name");
	/* domain of labels of 63: 63*3 + 2 dots + ... */
	strcpy(big, "a@");
	for (i = 0; i < 3; i++) {
		memset(big + strlen(big), 'd', 63);
		big[2 + (i + 1) * 63 + i] = '\0';
		if (i < 2)
			strcat(big, ".");
	}
	is_int(addr_check(big, NULL), 0, "63-byte labels");
	strcat(big, ".");
	memset(big + strlen(big), 'e', 64);
	big[2 + 3 * 63 + 3 + 64] = '\0';
	is_int(addr_check(big, NULL), -1, "64-byte label");
	/* whole: 254 passes, 255 fails (256 with the brackets) */
	strcpy(big, "a@");
	for (i = 0; i < 4; i++) {
		memset(big + strlen(big), 'x', 60);
		strcpy(big + 2 + (i + 1) * 61 - 1, ".");
	}
	strcat(big, "yyyyyyyy");
	is_int(strlen(big), 254, "built 254-byte address");
	is_int(addr_check(big, NULL), 0, "254-byte address");
	strcat(big, "y");
	is_int(addr_check(big, NULL), -1, "255-byte address");
	/* domain over 255 */
	strcpy(big, "a@");
	for (i = 0; i < 5; i++)
		strcat(big, "ddddddddddddddddddddddddddddddddddddddddddddddddddddddd.");
	strcat(big, "com");
	why = NULL;
	is_int(addr_check(big, &why), -1, "domain over 255");
}

static void
test_qualify(void)
{
	char *q;

	q = addr_qualify("root", "example.com");
	is_str(q, "root@example.com", "qualify bare");
	free(q);
	q = addr_qualify("a@b", "example.com");
	is_str(q, "a@b", "qualified kept");
	free(q);
	q = addr_qualify("\"a@b\"", "example.com");
	is_str(q, "\"a@b\"@example.com", "quoted with @ inside is local");
	free(q);
	q = addr_qualify("root", "");
	is_str(q, "root", "no domain: copy");
	free(q);
	q = addr_qualify("root", NULL);
	is_str(q, "root", "NULL domain: copy");
	free(q);

	ok(addr_is_local("root"), "root is local");
	ok(addr_is_local("user+ext"), "user+ext is local");
	ok(addr_is_local("\"a@b\""), "quoted @ is local");
	ok(!addr_is_local("a@b"), "a@b is not local");
	ok(!addr_is_local("\"a\"@b"), "quoted then @ is not local");
	ok(addr_is_local("\"a"), "unterminated quote is local");
}

int
main(void)
{
	test_list();
	test_parse();
	test_parse_bytes();
	test_parse_atomic();
	test_check();
	test_qualify();
	return done_testing();
}
