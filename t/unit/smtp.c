/* Unit tests for src/smtp.c: replies, EHLO keywords, dot-stuffing, and
 * MAIL/RCPT building. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp.h"
#include "tap.h"

/* Feeds s in pieces of step bytes (0: all at once) until a reply ends.
 * Returns 1 with *code and *text (malloc'ed), 0 if the input ran out
 * first, -1 on refusal with *err. *rest is the count of bytes not taken. */
static int
parse(const char *s, size_t step, int *code, char **text, int *err,
    size_t *rest)
{
	struct smtp_parser p;
	size_t n = strlen(s), off = 0, piece, used;
	int rc = 0;

	smtp_parser_init(&p);
	*text = NULL;
	*code = 0;
	*err = 0;
	while (off < n) {
		piece = step && step < n - off ? step : n - off;
		rc = smtp_parser_feed(&p, s + off, piece, &used);
		off += used;
		if (rc == -1)
			*err = errno;
		if (rc != 0)
			break;
	}
	if (rc == 1) {
		*code = p.code;
		*text = smtp_parser_take(&p);
	}
	*rest = n - off;
	smtp_parser_free(&p);
	return rc;
}

static void
test_replies(void)
{
	static const size_t steps[] = { 0, 1, 2, 3, 5, 7 };
	size_t i, rest;
	char *text;
	int code, err, rc;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		rc = parse("250-mx.example.org hello\r\n250-SIZE 100\r\n"
		    "250 8BITMIME\r\n", steps[i], &code, &text, &err, &rest);
		is_int(rc, 1, "multi-line reply, pieces of %zu", steps[i]);
		is_int(code, 250, "its code");
		is_str(text, "mx.example.org hello SIZE 100 8BITMIME",
		    "its lines joined");
		is_int(rest, 0, "all taken");
		free(text);
	}

	rc = parse("220 ready\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, 1, "one line");
	is_int(code, 220, "code 220");
	is_str(text, "ready", "text");
	free(text);

	rc = parse("250\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, 1, "bare code");
	is_str(text, "", "no text");
	free(text);

	rc = parse("354 go ahead\n", 0, &code, &text, &err, &rest);
	is_int(rc, 1, "LF alone ends a line");
	is_int(code, 354, "code 354");
	is_str(text, "go ahead", "no CR left in the text");
	free(text);

	rc = parse("250 ok\r\n250 again\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, 1, "stops after one reply");
	is_int(rest, 11, "leaves the next reply's bytes");
	free(text);

	rc = parse("250-one\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, 0, "unfinished reply wants more");

	rc = parse("550 5.1.1 no\x01 such\x7f user\r\r\n", 1, &code, &text,
	    &err, &rest);
	is_int(rc, 1, "control bytes parse");
	is_str(text, "5.1.1 no  such  user ", "are replaced by spaces");
	free(text);

	rc = parse("250-first\r\n251 second\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "code changes between lines");
	is_int(err, EPROTO, "EPROTO");

	rc = parse("25 short\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "two digits");
	rc = parse("abc no\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "no digits");
	rc = parse("150 info\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "first digit 1");
	rc = parse("650 odd\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "first digit 6");
	rc = parse("250x ok\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "no separator after the code");
	rc = parse("\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "empty line");
	rc = parse("250-ok\r\n\r\n250 ok\r\n", 2, &code, &text, &err, &rest);
	is_int(rc, -1, "empty line inside a reply");
	rc = parse("250-ok\r\n 250 ok\r\n", 0, &code, &text, &err, &rest);
	is_int(rc, -1, "continuation starting with a space");
}

static void
test_reply_caps(void)
{
	struct smtp_parser p;
	struct buf b;
	size_t used, i;
	char *text;
	int rc;

	/* A line just under the cap passes, one over it is refused. */
	buf_init(&b, 0);
	buf_puts(&b, "250 ");
	while (b.len < SMTP_LINE_MAX - 2)
		buf_putc(&b, 'x');
	buf_puts(&b, "\r\n");
	smtp_parser_init(&p);
	rc = smtp_parser_feed(&p, b.data, b.len, &used);
	is_int(rc, 1, "line of SMTP_LINE_MAX bytes");
	text = smtp_parser_take(&p);
	is_int(strlen(text), SMTP_TEXT_MAX, "text capped at SMTP_TEXT_MAX");
	free(text);
	smtp_parser_free(&p);

	buf_reset(&b);
	buf_puts(&b, "250 ");
	while (b.len < SMTP_LINE_MAX - 1)
		buf_putc(&b, 'x');
	buf_puts(&b, "\r\n");
	smtp_parser_init(&p);
	rc = smtp_parser_feed(&p, b.data, b.len, &used);
	is_int(rc, -1, "line over SMTP_LINE_MAX refused");
	is_int(errno, E2BIG, "E2BIG");
	rc = smtp_parser_feed(&p, "250 ok\r\n", 8, &used);
	is_int(rc, -1, "refusal is sticky");
	smtp_parser_free(&p);

	/* Many short lines: refused when the whole passes the cap. */
	smtp_parser_init(&p);
	rc = 0;
	for (i = 0; rc == 0 && i < SMTP_REPLY_MAX; i++)
		rc = smtp_parser_feed(&p, "250-0123456789\r\n", 16, &used);
	is_int(rc, -1, "reply over SMTP_REPLY_MAX refused");
	is_int(errno, E2BIG, "E2BIG");
	ok(i * 16 > SMTP_REPLY_MAX && i * 16 <= SMTP_REPLY_MAX + 16,
	    "right at the cap");
	smtp_parser_free(&p);
	buf_free(&b);
}

static void
test_parser_reuse(void)
{
	struct smtp_parser p;
	const char *s = "250-mx\r\n250-size 1\r\n250 Pipelining\r\n"
	    "221 bye\r\n";
	size_t used, off = 0;
	char *text;
	int rc;

	smtp_parser_init(&p);
	rc = smtp_parser_feed(&p, s, strlen(s), &used);
	is_int(rc, 1, "first reply");
	is_int(p.ext, SMTP_EXT_SIZE | SMTP_EXT_PIPELINING,
	    "keywords from lines 2.., any case");
	off += used;
	text = smtp_parser_take(&p);
	free(text);
	is_int(p.ext, 0, "take resets the keywords");
	rc = smtp_parser_feed(&p, s + off, strlen(s + off), &used);
	is_int(rc, 1, "second reply from the rest");
	is_int(p.code, 221, "its code");
	text = smtp_parser_take(&p);
	is_str(text, "bye", "its text");
	free(text);
	smtp_parser_free(&p);
}

static void
test_ehlo(void)
{
	is_int(smtp_ehlo_keyword("STARTTLS", 8), SMTP_EXT_STARTTLS, "STARTTLS");
	is_int(smtp_ehlo_keyword("starttls", 8), SMTP_EXT_STARTTLS,
	    "starttls in lower case");
	is_int(smtp_ehlo_keyword("8bitMIME", 8), SMTP_EXT_8BITMIME, "8BITMIME");
	is_int(smtp_ehlo_keyword("SIZE 35882577", 13), SMTP_EXT_SIZE,
	    "SIZE with a parameter");
	is_int(smtp_ehlo_keyword("DSN", 3), SMTP_EXT_DSN, "DSN");
	is_int(smtp_ehlo_keyword("SMTPUTF8", 8), SMTP_EXT_SMTPUTF8, "SMTPUTF8");
	is_int(smtp_ehlo_keyword("ENHANCEDSTATUSCODES", 19), SMTP_EXT_ENHANCED,
	    "ENHANCEDSTATUSCODES");
	is_int(smtp_ehlo_keyword("AUTH PLAIN LOGIN", 16), SMTP_EXT_AUTH, "AUTH");
	is_int(smtp_ehlo_keyword("AUTH=LOGIN", 10), 0, "old AUTH= form ignored");
	is_int(smtp_ehlo_keyword("SIZEX", 5), 0, "prefix is not a match");
	is_int(smtp_ehlo_keyword("SIZ", 3), 0, "nor a shorter word");
	is_int(smtp_ehlo_keyword("DSN", 2), 0, "length is respected");
	is_int(smtp_ehlo_keyword("", 0), 0, "empty");
}

static char *
stuff(const char *s, size_t step)
{
	struct smtp_dot d;
	struct buf out;
	size_t n = strlen(s), off, piece;

	buf_init(&out, 0);
	smtp_dot_init(&d);
	for (off = 0; off < n; off += piece) {
		piece = step && step < n - off ? step : n - off;
		smtp_dot_stuff(&d, s + off, piece, &out);
	}
	smtp_dot_end(&d, &out);
	return buf_take(&out);
}

static void
test_dots(void)
{
	static const struct {
		const char *in, *out, *what;
	} t[] = {
		{ "", ".\r\n", "empty message" },
		{ "a\r\n", "a\r\n.\r\n", "one line" },
		{ "a", "a\r\n.\r\n", "missing final CRLF added" },
		{ ".\r\n", "..\r\n.\r\n", "a lone dot" },
		{ ".a\r\n..b\r\n", "..a\r\n...b\r\n.\r\n", "leading dots" },
		{ "a.\r\n.\r\nb\r\n", "a.\r\n..\r\nb\r\n.\r\n",
		  "dot inside a line untouched, dot line stuffed" },
		{ "x\r\n.", "x\r\n..\r\n.\r\n", "dot at the very end" },
		{ "a\nb\n", "a\r\nb\r\n.\r\n", "bare LF becomes CRLF" },
		{ "a\rb\r", "a\r\nb\r\n.\r\n", "bare CR becomes CRLF" },
		{ "a\n.b\r.c\r\n", "a\r\n..b\r\n..c\r\n.\r\n",
		  "dots after bare line ends stuffed too" },
		{ "a\r\r\n", "a\r\n\r\n.\r\n", "CR CR LF" },
		{ "\r\n\r\n", "\r\n\r\n.\r\n", "empty lines" },
		{ "\r\n.\r\n.\r\n", "\r\n..\r\n..\r\n.\r\n",
		  "an end marker inside the message" },
	};
	static const size_t steps[] = { 0, 1, 2, 3 };
	size_t i, j;
	char *got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
			got = stuff(t[i].in, steps[j]);
			is_str(got, t[i].out, "%s (pieces of %zu)", t[i].what,
			    steps[j]);
			free(got);
		}
}

/* Every split point of a message with dots and line ends around the
 * edges gives the same bytes as feeding it whole. */
static void
test_dot_edges(void)
{
	const char *in = ".\r\n.x\r\n\r\n..\r\ny.\r\n.";
	const char *want = "..\r\n..x\r\n\r\n...\r\ny.\r\n..\r\n.\r\n";
	struct smtp_dot d;
	struct buf out;
	size_t n = strlen(in), a, b;
	int bad = 0;

	for (a = 0; a <= n; a++)
		for (b = a; b <= n; b++) {
			buf_init(&out, 0);
			smtp_dot_init(&d);
			smtp_dot_stuff(&d, in, a, &out);
			smtp_dot_stuff(&d, in + a, b - a, &out);
			smtp_dot_stuff(&d, in + b, n - b, &out);
			smtp_dot_end(&d, &out);
			if (strcmp(out.data, want) != 0)
				bad++;
			buf_free(&out);
		}
	is_int(bad, 0, "all three-piece splits agree");
}

static void
test_addr(void)
{
	char big[SMTP_ADDR_MAX + 2];
	int utf8;

	is_int(smtp_addr_check("a@example.org", &utf8), 0, "plain address");
	is_int(utf8, 0, "ASCII");
	is_int(smtp_addr_check("", &utf8), 0, "empty passes (null sender)");
	is_int(smtp_addr_check("\xc3\xa9@example.org", &utf8), 0, "UTF-8");
	is_int(utf8, 1, "needs SMTPUTF8");
	is_int(smtp_addr_check("a@b\r\nRCPT TO:<x@y>", &utf8), -1, "CRLF");
	is_int(smtp_addr_check("a@b\n", &utf8), -1, "LF");
	is_int(smtp_addr_check("a b@c", &utf8), -1, "space");
	is_int(smtp_addr_check("a\t@c", &utf8), -1, "tab");
	is_int(smtp_addr_check("a@c\x7f", &utf8), -1, "DEL");
	is_int(smtp_addr_check("a>@c", &utf8), -1, ">");
	is_int(smtp_addr_check("<a@c", &utf8), -1, "<");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(smtp_addr_check(big, &utf8), -1, "too long");
	big[SMTP_ADDR_MAX] = '\0';
	is_int(smtp_addr_check(big, &utf8), 0, "SMTP_ADDR_MAX passes");
}

static void
test_xtext(void)
{
	struct buf b;

	buf_init(&b, 0);
	smtp_xtext(&b, "abc+d=e f\x01\xff~!");
	is_str(b.data, "abc+2Bd+3De+20f+01+FF~!", "xtext");
	buf_free(&b);
}

static void
test_notify(void)
{
	is_int(smtp_notify_check("NEVER"), 0, "NEVER");
	is_int(smtp_notify_check("never"), 0, "never");
	is_int(smtp_notify_check("SUCCESS"), 0, "SUCCESS");
	is_int(smtp_notify_check("failure,delay,SUCCESS"), 0, "all three");
	is_int(smtp_notify_check("NEVER,SUCCESS"), -1, "NEVER with others");
	is_int(smtp_notify_check("SUCCESS,SUCCESS"), -1, "twice");
	is_int(smtp_notify_check(""), -1, "empty");
	is_int(smtp_notify_check("SUCCESS,"), -1, "trailing comma");
	is_int(smtp_notify_check("SUCCESS FAILURE"), -1, "space");
	is_int(smtp_notify_check("SUCCESS\r\nQUIT"), -1, "CRLF");
}

static void
test_mail_cmd(void)
{
	const unsigned all = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME |
	    SMTP_EXT_DSN | SMTP_EXT_SMTPUTF8;
	struct smtp_mail m;
	const char *why;
	struct buf b;

	buf_init(&b, 0);
	memset(&m, 0, sizeof(m));
	m.sender = "a@example.org";
	m.size = 1234;
	m.eightbit = 1;
	m.ret = "hdrs";
	m.envid = "id+1=2 x";
	is_int(smtp_mail_cmd(&b, &m, 0, &why), 0, "MAIL, nothing offered");
	is_str(b.data, "MAIL FROM:<a@example.org>\r\n", "no parameters");
	is_int(smtp_mail_cmd(&b, &m, all, &why), 0, "MAIL, all offered");
	is_str(b.data, "MAIL FROM:<a@example.org> SIZE=1234 BODY=8BITMIME"
	    " RET=HDRS ENVID=id+2B1+3D2+20x\r\n", "all parameters");
	m.size = 0;
	m.eightbit = 0;
	m.ret = NULL;
	m.envid = NULL;
	m.sender = "";
	is_int(smtp_mail_cmd(&b, &m, all, &why), 0, "null sender");
	is_str(b.data, "MAIL FROM:<>\r\n", "MAIL FROM:<>");
	m.sender = "\xc3\xa9@example.org";
	m.utf8 = 1;
	is_int(smtp_mail_cmd(&b, &m, all, &why), 0, "UTF-8 sender");
	is_str(b.data, "MAIL FROM:<\xc3\xa9@example.org> SMTPUTF8\r\n",
	    "SMTPUTF8");
	is_int(smtp_mail_cmd(&b, &m, SMTP_EXT_DSN, &why), -1,
	    "UTF-8 sender without SMTPUTF8");
	ok(why != NULL, "with a reason");
	m.sender = "a@b>\r\nRCPT TO:<c@d";
	m.utf8 = 0;
	is_int(smtp_mail_cmd(&b, &m, all, &why), -1, "injection refused");
	m.sender = "a@b";
	m.ret = "FULL\r\nRSET";
	is_int(smtp_mail_cmd(&b, &m, all, &why), -1, "bad RET");
	is_int(smtp_mail_cmd(&b, &m, 0, &why), -1, "bad RET, DSN not offered");
	m.ret = NULL;
	m.envid = "a\r\nb";
	is_int(smtp_mail_cmd(&b, &m, all, &why), -1, "ENVID with CRLF");
	m.envid = "";
	is_int(smtp_mail_cmd(&b, &m, all, &why), -1, "empty ENVID");
	m.envid = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	is_int(smtp_mail_cmd(&b, &m, all, &why), -1, "ENVID over 100");
	buf_free(&b);
}

static void
test_rcpt_cmd(void)
{
	const char *why;
	struct buf b;

	buf_init(&b, 0);
	is_int(smtp_rcpt_cmd(&b, "r@example.org", NULL, 0, &why), 0, "RCPT");
	is_str(b.data, "RCPT TO:<r@example.org>\r\n", "plain RCPT");
	is_int(smtp_rcpt_cmd(&b, "r@example.org", "success,failure", 0, &why),
	    0, "NOTIFY without DSN");
	is_str(b.data, "RCPT TO:<r@example.org>\r\n", "left out");
	is_int(smtp_rcpt_cmd(&b, "r+x@example.org", "success,failure",
	    SMTP_EXT_DSN, &why), 0, "NOTIFY with DSN");
	is_str(b.data, "RCPT TO:<r+x@example.org> NOTIFY=SUCCESS,FAILURE"
	    " ORCPT=rfc822;r+2Bx@example.org\r\n", "NOTIFY and ORCPT");
	is_int(smtp_rcpt_cmd(&b, "\xc3\xa9@x", "NEVER",
	    SMTP_EXT_DSN | SMTP_EXT_SMTPUTF8, &why), 0, "UTF-8 recipient");
	is_str(b.data, "RCPT TO:<\xc3\xa9@x> NOTIFY=NEVER\r\n",
	    "no ORCPT for it");
	is_int(smtp_rcpt_cmd(&b, "\xc3\xa9@x", NULL, SMTP_EXT_DSN, &why), -1,
	    "UTF-8 recipient without SMTPUTF8");
	is_int(smtp_rcpt_cmd(&b, "", NULL, 0, &why), -1, "empty recipient");
	ok(why != NULL, "with a reason");
	is_int(smtp_rcpt_cmd(&b, "a@b\r\nDATA", NULL, 0, &why), -1,
	    "injection refused");
	is_int(smtp_rcpt_cmd(&b, "a@b", "SUCCESS\r\nDATA", SMTP_EXT_DSN, &why),
	    -1, "bad NOTIFY");
	buf_free(&b);
}

int
main(void)
{
	test_replies();
	test_reply_caps();
	test_parser_reuse();
	test_ehlo();
	test_dots();
	test_dot_edges();
	test_addr();
	test_xtext();
	test_notify();
	test_mail_cmd();
	test_rcpt_cmd();
	return done_testing();
}
