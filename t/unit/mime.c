/* Unit tests for src/mime.c: long lines and 8-bit bodies made safe. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../src/mime.h"

/* Runs in through a rewriter, fed step bytes at a time. */
static char *
run(const char *in, size_t step, unsigned flags)
{
	struct mime *m = mime_new(flags);
	struct buf out;
	size_t off = 0, n = strlen(in);

	buf_init(&out, 0);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		if (mime_feed(m, in + off, k, &out) == -1)
			return NULL;
		off += k;
	}
	if (mime_finish(m, &out) == -1)
		return NULL;
	mime_free(m);
	return buf_take(&out);
}

static size_t
longest_line(const char *s)
{
	size_t max = 0, cur = 0;

	for (; *s; s++) {
		if (*s == '\r' && s[1] == '\n') {
			if (cur > max)
				max = cur;
			cur = 0;
			s++;
		} else
			cur++;
	}
	return cur > max ? cur : max;
}

static int
hexval(char c)
{
	return c >= 'A' ? c - 'A' + 10 : c - '0';
}

/* Decodes quoted-printable text (soft breaks removed). */
static char *
qp_decode(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
			i += 2;
		else if (s[i] == '=' && i + 2 < n) {
			d[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			d[k++] = s[i];
	}
	d[k] = '\0';
	return d;
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

int
main(void)
{
	static const size_t steps[] = { 1, 2, 3, 7, 64, 100000 };
	char *line = repeat('x', 2000), *in, *out, *body, *first;
	struct buf b;
	size_t i;

	/* 1: a plain message with a 2000-octet line and trailing blanks */
	buf_init(&b, 0);
	buf_printf(&b, "Subject: long\r\nFrom: a@b\r\n\r\nshort \r\n%s\r\n"
	    "caf\xc3\xa9 = tab\t\r\n.dot\r\n", line);
	in = buf_take(&b);
	first = run(in, 100000, MIME_8BIT_CONTENT);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		out = run(in, steps[i], MIME_8BIT_CONTENT);
		is_str(out, first, "plain message: same output fed %zu at a time",
		    steps[i]);
		free(out);
	}
	out = first;
	ok(strstr(out, "MIME-Version: 1.0\r\n") != NULL, "MIME-Version added");
	ok(strstr(out, "Content-Type: text/plain; charset=utf-8\r\n") != NULL,
	    "text/plain in UTF-8 for an 8-bit body");
	ok(strstr(out, "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != NULL,
	    "quoted-printable declared");
	ok(longest_line(out) <= 76, "no line over 76 (longest %zu)",
	    longest_line(out));
	body = qp_decode(strstr(out, "\r\n\r\n") + 4,
	    strlen(strstr(out, "\r\n\r\n") + 4));
	buf_init(&b, 0);
	buf_printf(&b, "short \r\n%s\r\ncaf\xc3\xa9 = tab\t\r\n.dot\r\n", line);
	is_str(body, b.data, "the body decodes to what was queued");
	ok(strstr(out, "short=20\r\n") != NULL, "a trailing space is encoded");
	ok(strstr(out, "tab=09\r\n") != NULL, "a trailing tab is encoded");
	buf_free(&b);
	free(body);
	free(out);
	free(in);

	/* 2: a header line over 998 octets is folded at white space */
	buf_init(&b, 0);
	buf_puts(&b, "To: ");
	for (i = 0; i < 100; i++)
		buf_printf(&b, "%suser%03zu@example.com", i ? ", " : "", i);
	buf_puts(&b, "\r\nSubject: s\r\n\r\nbody\r\n");
	in = buf_take(&b);
	out = run(in, 5, 0);
	ok(longest_line(out) <= 998, "header folded (longest %zu)",
	    longest_line(out));
	ok(strstr(out, "user099@example.com\r\n") != NULL, "nothing lost in the fold");
	ok(strstr(out, ",\r\n user") != NULL, "folded before a space");
	free(out);
	free(in);

	/* 3: a header line without any white space gets CRLF SP inserted */
	buf_init(&b, 0);
	buf_printf(&b, "X-Long: %s\r\n\r\nb\r\n", line);
	in = buf_take(&b);
	out = run(in, 100000, 0);
	ok(longest_line(out) <= 998, "unbroken header line folded (longest %zu)",
	    longest_line(out));
	free(out);
	free(in);

	/* 4: multipart: the 8bit text part is re-encoded, base64 untouched */
	buf_init(&b, 0);
	buf_printf(&b,
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n"
	    "preamble\r\n"
	    "--XyZ\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "%s\r\n"
	    "--XyZ\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "QUJD\r\n"
	    "--XyZ--\r\n"
	    "epilogue\r\n", line);
	in = buf_take(&b);
	first = run(in, 100000, 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		out = run(in, steps[i], 0);
		is_str(out, first, "multipart: same output fed %zu at a time",
		    steps[i]);
		free(out);
	}
	out = first;
	ok(longest_line(out) <= 998, "multipart: no long line (longest %zu)",
	    longest_line(out));
	ok(strstr(out, "Content-Transfer-Encoding: 8bit") == NULL,
	    "the 8bit declaration is replaced");
	ok(strstr(out, "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nxxxx") != NULL,
	    "the text part is quoted-printable");
	ok(strstr(out, "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--XyZ--\r\nepilogue\r\n") != NULL,
	    "the base64 part and the close delimiter pass unchanged");
	ok(strstr(out, "\r\n\r\npreamble\r\n--XyZ\r\n") != NULL,
	    "preamble and boundary pass unchanged");
	ok(strstr(out, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed") == out,
	    "top-level header unchanged");
	free(out);
	free(in);

	/* 5: no header at all, and no final line end */
	out = run("\r\nabc", 1, 0);
	ok(out && strstr(out, "Content-Transfer-Encoding: quoted-printable\r\n\r\nabc\r\n"),
	    "body without header or final CRLF");
	free(out);

	/* 6: for a 7-bit server, the Subject becomes encoded words */
	out = run("Subject: caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, "
	    "and a long tail of plain words to pass forty-five octets\r\n"
	    "To: a@b\r\n\r\nbody\r\n", 1, MIME_7BIT);
	ok(out && strstr(out, "Subject: =?UTF-8?B?Y2Fmw6kgY3LDqG1lIGJyw7tsw6ll"),
	    "8-bit Subject as RFC 2047 encoded words");
	ok(out && strstr(out, "?=\r\n =?UTF-8?B?") != NULL,
	    "a long one folded into several words");
	ok(out && strstr(out, "To: a@b\r\n") != NULL, "address fields untouched");
	for (i = 0; out && out[i]; i++)
		if ((unsigned char)out[i] >= 0x80)
			break;
	ok(out && out[i] == '\0', "no 8-bit byte left");
	free(out);
	out = run("Subject: caf\xc3\xa9\r\n\r\nb\r\n", 100, 0);
	ok(out && strstr(out, "Subject: caf\xc3\xa9\r\n"),
	    "left as it is for an 8BITMIME server");
	free(out);

	free(line);
	return done_testing();
}
