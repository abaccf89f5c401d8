/* Unit tests for src/msg.c: stdin normalisation, header parsing,
 * -t recipients and header completion. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "msg.h"

static pid_t feeder;

/*
 * Returns a descriptor that yields data[0..len): a first read of split
 * bytes (when split > 0), then reads of step bytes. A SOCK_SEQPACKET
 * socket keeps each write a read of its own, so the reader sees exactly
 * these boundaries. A child writes, so large inputs cannot block us.
 */
static int
feed(const char *data, size_t len, size_t split, size_t step)
{
	int sv[2];
	size_t off = 0, n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		return -1;
	if ((feeder = fork()) == -1)
		return -1;
	if (feeder == 0) {
		close(sv[0]);
		while (off < len) {
			n = off == 0 && split > 0 ? split : step;
			if (n > len - off)
				n = len - off;
			if (write(sv[1], data + off, n) != (ssize_t)n)
				_exit(1);
			off += n;
		}
		_exit(0);
	}
	close(sv[1]);
	return sv[0];
}

static void
unfeed(int fd)
{
	close(fd);
	waitpid(feeder, NULL, 0);
}

/* Everything msg_in_read gives, read with buffers of cap bytes. */
static int
drain(struct msg_in *in, size_t cap, struct buf *out)
{
	char *b = malloc(cap);
	ssize_t r;

	while ((r = msg_in_read(in, b, cap)) > 0) {
		if ((size_t)r > cap)
			r = -1;
		buf_append(out, b, (size_t)r);
	}
	free(b);
	return (int)r;
}

/* s with control bytes written as \xNN, for diagnostics. */
static const char *
show(const char *s, size_t len)
{
	static char ring[4][512];
	static int k;
	char *o = ring[k = (k + 1) % 4];
	size_t n = 0, i;

	for (i = 0; i < len && n < sizeof(ring[0]) - 8; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			n += (size_t)snprintf(o + n, 8, "\\x%02x",
			    (unsigned char)s[i]);
		else
			o[n++] = s[i];
	o[n] = '\0';
	return o;
}

static const char *
shows(const char *s)
{
	return s ? show(s, strlen(s)) : "(null)";
}

static const size_t caps[] = { 4, 5, 7, 64, 65536 };
#define NCAPS (sizeof(caps) / sizeof(caps[0]))

/* One run: returns 1 when the output is want. */
static int
run_in(const char *in, size_t len, int dot, size_t split, size_t step,
    size_t cap, const char *want, size_t wlen)
{
	struct msg_in m;
	struct buf out;
	int fd = feed(in, len, split, step), good;

	buf_init(&out, 0);
	msg_in_init(&m, fd, dot);
	good = drain(&m, cap, &out) == 0 && out.len == wlen &&
	    (wlen == 0 || memcmp(out.data, want, wlen) == 0) &&
	    m.total == wlen && m.eof;
	if (!good)
		printf("# split %zu step %zu cap %zu: got \"%s\"\n", split,
		    step, cap, show(out.data ? out.data : "", out.len));
	unfeed(fd);
	buf_free(&out);
	return good;
}

/* in must become want for every chunking of the input and every cap. */
static void
norm_n(const char *in, size_t len, int dot, const char *want, size_t wlen)
{
	static const size_t steps[] = { 1, 2, 3, 7, 65536 };
	size_t s, c, k;
	int bad = 0;

	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++)
		for (c = 0; c < NCAPS && !bad; c++)
			bad += !run_in(in, len, dot, 0, steps[s], caps[c], want, wlen);
	for (k = 1; k < len && !bad; k++)
		for (c = 0; c < NCAPS && !bad; c += 2)
			bad += !run_in(in, len, dot, k, 65536, caps[c], want, wlen);
	ok(!bad, "%s\"%s\" -> \"%s\"", dot ? "dot: " : "", show(in, len),
	    show(want, wlen));
}

#define norm(in, dot, want) norm_n(in, sizeof(in) - 1, dot, want, sizeof(want) - 1)

static void
test_in(void)
{
	norm("", 0, "");
	norm("a", 0, "a\r\n");
	norm("\n", 0, "\r\n");
	norm("\r", 0, "\r\n");
	norm("\r\n", 0, "\r\n");
	norm("a\nb\n", 0, "a\r\nb\r\n");
	norm("a\r\nb", 0, "a\r\nb\r\n");
	norm("a\rb\r", 0, "a\r\nb\r\n");
	norm("a\r\r\nb", 0, "a\r\n\r\nb\r\n");
	norm("a\n\rb", 0, "a\r\n\r\nb\r\n");
	norm("a\n\n\r\r\r\nb", 0, "a\r\n\r\n\r\n\r\n\r\nb\r\n");
	norm("x\r\n\r\n\r\n", 0, "x\r\n\r\n\r\n");
	norm("a\0b", 0, "a\0b\r\n");
	norm("\xc3\xa9t\xc3\xa9\n", 0, "\xc3\xa9t\xc3\xa9\r\n");
	/* without dot_ends dots are data */
	norm("a\n.\nb\n", 0, "a\r\n.\r\nb\r\n");
	norm("..x\n.", 0, "..x\r\n.\r\n");
	/* with dot_ends */
	norm("a\n.\nb\n", 1, "a\r\n");
	norm("a\n.\r\nb\n", 1, "a\r\n");
	norm("a\n.\rb\n", 1, "a\r\n");
	norm("a\r.\nb\n", 1, "a\r\n");
	norm("a\n.", 1, "a\r\n");
	norm(".\n", 1, "");
	norm(".", 1, "");
	norm("a\n..b\n", 1, "a\r\n.b\r\n");
	norm("a\n..\n", 1, "a\r\n.\r\n");
	norm("a\n...\n", 1, "a\r\n..\r\n");
	norm("..", 1, ".\r\n");
	norm("a\n.b\n", 1, "a\r\n.b\r\n");
	norm("a.\n", 1, "a.\r\n");
	norm("a\n .\n", 1, "a\r\n .\r\n");
	norm("a\n.\0\n", 1, "a\r\n.\0\r\n");
	norm("\r\n.\r\n", 1, "\r\n");
	norm("a\r\n..\r\n.\r\n", 1, "a\r\n.\r\n");
}

static void
test_in_flags(void)
{
	struct msg_in m;
	struct buf out;
	char b[8];
	int fd;

	buf_init(&out, 0);
	fd = feed("a\0b\n", 4, 0, 1);
	msg_in_init(&m, fd, 0);
	drain(&m, 4, &out);
	ok(m.nul && !m.eightbit, "NUL seen, no 8-bit");
	unfeed(fd);

	fd = feed("\x80\n", 2, 0, 1);
	msg_in_init(&m, fd, 0);
	drain(&m, 4, &out);
	ok(!m.nul && m.eightbit, "8-bit seen, no NUL");
	unfeed(fd);

	fd = feed("plain\n", 6, 0, 1);
	msg_in_init(&m, fd, 0);
	drain(&m, 4, &out);
	ok(!m.nul && !m.eightbit, "plain text: no flags");
	unfeed(fd);

	/* a NUL after the ending dot is never read */
	fd = feed("a\n.\n\0\x80", 6, 0, 1);
	msg_in_init(&m, fd, 1);
	drain(&m, 4, &out);
	ok(!m.nul && !m.eightbit, "bytes after the dot line not looked at");
	/* and are still there: reading stopped at the dot line */
	is_int(read(fd, b, sizeof(b)), 1, "rest left on the descriptor");
	ok(b[0] == '\0', "next unread byte is the one after \".\\n\"");
	is_int(msg_in_read(&m, b, 4), 0, "0 again after the end");
	unfeed(fd);

	/* the dot ends even with input still to come (no block at EOF) */
	fd = feed("a\n.\nmore", 8, 0, 4);
	msg_in_init(&m, fd, 1);
	buf_reset(&out);
	is_int(drain(&m, 64, &out), 0, "stops without EOF");
	is_str(out.data, "a\r\n", "content before the dot");
	unfeed(fd);

	fd = feed("abc", 3, 0, 1);
	msg_in_init(&m, fd, 0);
	errno = 0;
	is_int(msg_in_read(&m, b, 3), -1, "cap below 4 refused");
	is_int(errno, EINVAL, "EINVAL");
	unfeed(fd);

	/* read errors */
	fd = open("/", O_RDONLY | O_DIRECTORY);
	msg_in_init(&m, fd, 0);
	is_int(msg_in_read(&m, b, sizeof(b)), -1, "read error");
	is_int(m.err, EISDIR, "err holds errno");
	is_int(msg_in_read(&m, b, sizeof(b)), -1, "error sticks");
	close(fd);
	buf_free(&out);
}

/* Headers */

static int
put_buf(void *ctx, const void *p, size_t n)
{
	return buf_append(ctx, p, n);
}

/* Reads the header of in; what the reader still holds after it (the
 * body past h->rest) goes to tail when tail is not NULL. */
static int
head_tail(const char *in, size_t len, size_t step, struct msg_head *h,
    struct buf *tail)
{
	struct msg_in m;
	int fd = feed(in, len, 0, step), r;

	msg_in_init(&m, fd, 0);
	r = msg_head_read(&m, h);
	if (r == 0 && tail)
		drain(&m, 4096, tail);
	unfeed(fd);
	return r;
}

static int
head_of(const char *in, size_t len, size_t step, struct msg_head *h)
{
	return head_tail(in, len, step, h, NULL);
}

/* in read as a header, then written back, is want, for several
 * chunkings; nf and had_separator are checked too. */
static void
head_n(const char *in, size_t len, const char *add, const char *want,
    size_t nf, int sep)
{
	static const size_t steps[] = { 1, 3, 65536 };
	struct msg_head h;
	struct buf out, tail;
	size_t s;
	int bad = 0;

	for (s = 0; s < 3 && !bad; s++) {
		buf_init(&out, 0);
		buf_init(&tail, 0);
		if (head_tail(in, len, steps[s], &h, &tail) == -1) {
			bad = 1;
			printf("# msg_head_read failed: %s\n", strerror(errno));
			continue;
		}
		if (add)
			msg_head_add(&h, "X-Added", add);
		msg_head_write(&h, put_buf, &out);
		buf_append(&out, tail.data, tail.len);
		if (h.nf != nf || h.had_separator != sep ||
		    strcmp(out.data, want) != 0) {
			bad = 1;
			printf("# step %zu: nf %zu sep %d: \"%s\"\n", steps[s],
			    h.nf, h.had_separator, show(out.data, out.len));
		}
		msg_head_free(&h);
		buf_free(&out);
		buf_free(&tail);
	}
	ok(!bad, "head \"%s\"", show(in, len));
}

#define head(in, add, want, nf, sep) head_n(in, strlen(in), add, want, nf, sep)

static void
test_head_read(void)
{
	head("Subject: hi\nTo: a@b\n\nbody\n", NULL,
	    "Subject: hi\r\nTo: a@b\r\n\r\nbody\r\n", 2, 1);
	head("Subject: hi\nTo: a@b\n\nbody\n", "1",
	    "Subject: hi\r\nTo: a@b\r\nX-Added: 1\r\n\r\nbody\r\n", 2, 1);
	head("Subject: a\n b\n\tc\nTo: x\n\n", NULL,
	    "Subject: a\r\n b\r\n\tc\r\nTo: x\r\n\r\n", 2, 1);
	head("hello world\n", "1", "X-Added: 1\r\n\r\nhello world\r\n", 0, 0);
	head("", "1", "X-Added: 1\r\n\r\n", 0, 0);
	head("", NULL, "\r\n", 0, 0);
	head("\n\nbody", NULL, "\r\n\r\nbody\r\n", 0, 1);
	head("To: a@b\nthis is the body\n", NULL,
	    "To: a@b\r\n\r\nthis is the body\r\n", 1, 0);
	head("To: a@b", NULL, "To: a@b\r\n\r\n", 1, 0);
	head("To: a@b\n", "1", "To: a@b\r\nX-Added: 1\r\n\r\n", 1, 0);
	head("From someone@x Mon Jan  1 00:00:00 2024\nTo: a\n\nb\n", NULL,
	    "To: a\r\n\r\nb\r\n", 1, 1);
	head("From someone\n\nb\n", NULL, "\r\nb\r\n", 0, 1);
	head("From: x\nTo: a\n\n", NULL, "From: x\r\nTo: a\r\n\r\n", 2, 1);
	head("To: a\nFrom x\nTo: b\n", NULL, "To: a\r\n\r\nFrom x\r\nTo: b\r\n", 1, 0);
	head(" leading space\nTo: a\n", NULL, "\r\n leading space\r\nTo: a\r\n", 0, 0);
	head(":x\n", NULL, "\r\n:x\r\n", 0, 0);
	head("Bad Name: x\n", NULL, "\r\nBad Name: x\r\n", 0, 0);
	head("X:\n\n", NULL, "X:\r\n\r\n", 1, 1);
	head("X-\x80: y\n", NULL, "\r\nX-\x80: y\r\n", 0, 0);
	head("A:1\r\nB:2\rC:3\n\r\nbody\r\n.\r\n", NULL,
	    "A:1\r\nB:2\r\nC:3\r\n\r\nbody\r\n.\r\n", 3, 1);
	head("Subject: x\n\nFrom y\n\nTo: z\n", NULL,
	    "Subject: x\r\n\r\nFrom y\r\n\r\nTo: z\r\n", 1, 1);
}

static void
test_head_nul(void)
{
	static const char in[] = "X-N: a\0b\nTo: c\n\n\0body";
	struct msg_head h;
	const char *v;
	size_t len;

	struct buf body;

	buf_init(&body, 0);
	is_int(head_tail(in, sizeof(in) - 1, 65536, &h, &body), 0,
	    "NUL in header read");
	is_int(h.nf, 2, "two fields");
	v = msg_field_value(&h, &h.f[0], &len);
	is_int(len, 6, "value length counts the NUL");
	ok(memcmp(v, " a\0b\r\n", 6) == 0, "value bytes");
	ok(h.rest.len > 0 && h.rest.data[0] == '\0', "rest starts with the NUL");
	buf_append(&h.rest, body.data, body.len);
	ok(h.rest.len == 7 && memcmp(h.rest.data, "\0body\r\n", 7) == 0,
	    "rest and what follows is the body");
	buf_free(&body);
	msg_head_free(&h);
}

static void
test_head_big(void)
{
	struct msg_head h;
	struct buf in;
	size_t i;

	/* many fields past the cap */
	buf_init(&in, 0);
	for (i = 0; in.len <= MSG_HEAD_MAX; i++)
		buf_printf(&in, "X-F%zu: %0100d\n", i, 0);
	buf_puts(&in, "\nbody\n");
	errno = 0;
	is_int(head_of(in.data, in.len, 65536, &h), -1, "header over the cap");
	is_int(errno, E2BIG, "E2BIG");
	ok(h.f == NULL && h.raw.data == NULL, "freed on error");

	/* one endless field line */
	buf_reset(&in);
	buf_puts(&in, "X-Long: ");
	while (in.len <= MSG_HEAD_MAX + 10)
		buf_puts(&in, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	errno = 0;
	is_int(head_of(in.data, in.len, 65536, &h), -1, "field line over the cap");
	is_int(errno, E2BIG, "E2BIG");

	/* an endless mbox From_ line */
	buf_reset(&in);
	buf_puts(&in, "From ");
	while (in.len <= MSG_HEAD_MAX + 10)
		buf_puts(&in, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	errno = 0;
	is_int(head_of(in.data, in.len, 65536, &h), -1, "From_ line over the cap");
	is_int(errno, E2BIG, "E2BIG");

	/* no header, a body line longer than the cap: fine */
	buf_reset(&in);
	buf_puts(&in, "body ");
	while (in.len <= 2 * MSG_HEAD_MAX)
		buf_puts(&in, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	is_int(head_of(in.data, in.len, 65536, &h), 0, "long first body line");
	is_int(h.nf, 0, "no fields");
	ok(h.rest.len > 0 && h.rest.len < 2 * MSG_HEAD_MAX &&
	    memcmp(h.rest.data, "body ", 5) == 0, "rest is the start of the body");
	msg_head_free(&h);

	/* just under the cap is fine */
	buf_reset(&in);
	for (i = 0; in.len < MSG_HEAD_MAX - 200; i++)
		buf_printf(&in, "X-F%zu: %0100d\r\n", i, 0);
	buf_puts(&in, "\nbody\n");
	is_int(head_of(in.data, in.len, 65536, &h), 0, "header under the cap");
	is_int(h.nf, i, "all fields");
	msg_head_free(&h);
	buf_free(&in);

	/* read error */
	{
		struct msg_in m;
		int fd = open("/", O_RDONLY | O_DIRECTORY);

		msg_in_init(&m, fd, 0);
		errno = 0;
		is_int(msg_head_read(&m, &h), -1, "read error");
		is_int(errno, EIO, "EIO");
		is_int(m.err, EISDIR, "in->err");
		close(fd);
	}
}

static int
from(struct msg_head *h, const char *text)
{
	return head_of(text, strlen(text), 65536, h);
}

static void
test_head_fields(void)
{
	struct msg_head h;
	struct msg_field *f;
	const char *v;
	size_t len;
	struct buf out;

	from(&h, "To: a\nSubject: s\n x\ntO: b\nTo2: c\n\n");
	f = msg_head_find(&h, "to", 0);
	ok(f != NULL && f == &h.f[0], "find first, case-insensitive");
	f = msg_head_find(&h, "TO", 1);
	ok(f != NULL && f == &h.f[2], "find second");
	ok(msg_head_find(&h, "To", 2) == NULL, "no third");
	ok(msg_head_find(&h, "T", 0) == NULL, "prefix is not a match");
	ok(msg_head_find(&h, "To2x", 0) == NULL, "longer name no match");
	v = msg_field_value(&h, msg_head_find(&h, "subject", 0), &len);
	is_int(len, 8, "value with fold");
	ok(memcmp(v, " s\r\n x\r\n", 8) == 0, "value bytes");
	is_int(msg_head_delete(&h, "TO"), 2, "delete two");
	is_int(msg_head_delete(&h, "To"), 0, "already deleted");
	ok(msg_head_find(&h, "To", 0) == NULL, "deleted not found");
	is_int(msg_head_add(&h, "Date", "now"), 0, "add");
	buf_init(&out, 0);
	is_int(msg_head_write(&h, put_buf, &out), 0, "write");
	is_str(out.data, "Subject: s\r\n x\r\nTo2: c\r\nDate: now\r\n\r\n",
	    "deleted gone, added after");
	buf_free(&out);
	msg_head_free(&h);
	msg_head_free(&h);
	ok(1, "free twice");
}

static int calls;

static int
put_fail(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return ++calls == 2 ? 42 : 0;
}

static void
test_head_write_fail(void)
{
	struct msg_head h;

	from(&h, "A: 1\nB: 2\nC: 3\n\nbody");
	calls = 0;
	is_int(msg_head_write(&h, put_fail, NULL), 42, "first put error returned");
	is_int(calls, 2, "stops at it");
	msg_head_free(&h);
}

/* -t */
static const char *
rcpts(const char *text, int *r, const char **bad)
{
	static struct buf out;
	struct msg_head h;
	struct addr_list l;
	size_t i;

	buf_free(&out);
	buf_init(&out, 0);
	addr_list_init(&l);
	from(&h, text);
	*r = msg_head_rcpts(&h, &l, bad);
	for (i = 0; i < l.n; i++)
		buf_printf(&out, "%s%s", i ? " " : "", l.v[i]);
	buf_puts(&out, "");
	addr_list_free(&l);
	msg_head_free(&h);
	return out.data;
}

static void
test_rcpts(void)
{
	static const struct { const char *in, *want, *bad; } c[] = {
		{ "To: a@x\nCc: B <b@x>, c@x\nBcc: d@x\nSubject: e@x\n\n",
		    "a@x b@x c@x d@x", NULL },
		{ "To: a@x, a@X\nTo: A@x\ncc: a@x\n\n", "a@x A@x", NULL },
		{ "Subject: none\n\n", "", NULL },
		{ "To: undisclosed-recipients:;\n\n", "", NULL },
		{ "To: root (Cron Daemon)\n\n", "root", NULL },
		{ "To: a@x,\n b@x\n\n", "a@x b@x", NULL },
		{ "Resent-From: r@x\nResent-To: n@x\nResent-Bcc: m@x\n"
		    "Received: by x\nResent-To: old@x\nTo: a@x\n\n", "n@x m@x", NULL },
		{ "Received: by y\nResent-Date: d\nResent-Cc: n@x\n"
		    "Resent-Message-ID: <i>\nReceived: by x\nResent-To: o@x\nTo: a@x\n\n",
		    "n@x", NULL },
		{ "Resent-From: r@x\nTo: a@x\n\n", "a@x", NULL },
		{ "To: a@x\nCc: <broken\n\n", "a@x", "Cc" },
		{ "To: a@x\nBCC: b@x, (\n\n", "a@x", "Bcc" },
		{ "Resent-To: a@x\nResent-cc: <\n\n", "a@x", "Resent-Cc" },
		{ "Resent-To: a@x\nTo: <\n\n", "a@x", NULL },
	};
	const char *got, *bad;
	size_t i;
	int r;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		bad = "unset";
		got = rcpts(c[i].in, &r, &bad);
		is_str(got, c[i].want, "rcpts %s", show(c[i].in, strlen(c[i].in)));
		is_int(r, c[i].bad ? -1 : 0, "  result");
		is_str(bad, c[i].bad, "  bad field");
	}
}

static const char *
complete(const char *text, const struct msg_origin *o)
{
	static struct buf out;
	struct msg_head h;

	buf_free(&out);
	buf_init(&out, 0);
	from(&h, text);
	if (msg_head_complete(&h, o) == -1)
		buf_puts(&out, "ERR");
	else
		msg_head_write(&h, put_buf, &out);
	msg_head_free(&h);
	buf_puts(&out, "");
	return out.data;
}

static void
test_complete(void)
{
	struct msg_origin o = { "example.com", "alice", NULL, NULL, 0, "Q1" };
	struct msg_head h;
	struct buf out;

	setenv("TZ", "UTC", 1);
	tzset();
	is_str(complete("Subject: s\n\nbody\n", &o),
	    "Subject: s\r\n"
	    "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
	    "Message-ID: <Q1.0@example.com>\r\n"
	    "From: alice@example.com\r\n\r\nbody\r\n", "all three added");
	o.now = 1795752306;	/* 2026-11-27 04:05:06 UTC */
	is_str(complete("Date: x\nMessage-id: y\nfrom: z\n\n", &o),
	    "Date: x\r\nMessage-id: y\r\nfrom: z@example.com\r\n\r\n",
	    "none added when present; the bare From qualified");
	is_str(complete("Bcc: a\nTo: b\nResent-Bcc: c\nReturn-Path: <d>\n"
	    "Content-Length: 5\nDate: x\nMessage-ID: y\nFrom: z\n\n", &o),
	    "To: b@example.com\r\nDate: x\r\nMessage-ID: y\r\nFrom: z@example.com\r\n\r\n",
	    "removed fields");
	is_str(complete("From: root (Cron Daemon)\nTo: bob, \"Al B\" <al>, x@y.z,\n"
	    " team: c, d@e;, <@r.x:u@v>\nCc: (c) plain\nSender: \"q@n\" <q>\n"
	    "Reply-To: \"a@b\"\nSubject: root\nTo: undisclosed-recipients:;\n"
	    "Date: x\nMessage-ID: y\n\n", &o),
	    "From: root@example.com (Cron Daemon)\r\n"
	    "To: bob@example.com, \"Al B\" <al@example.com>, x@y.z,\r\n"
	    " team: c@example.com, d@e;, <@r.x:u@v>\r\n"
	    "Cc: (c) plain@example.com\r\n"
	    "Sender: \"q@n\" <q@example.com>\r\n"
	    "Reply-To: \"a@b\"@example.com\r\nSubject: root\r\n"
	    "To: undisclosed-recipients:;\r\nDate: x\r\nMessage-ID: y\r\n\r\n",
	    "bare addresses qualified, the rest as written");
	is_str(complete("From: \"unbalanced <x\nDate: x\nMessage-ID: y\n\n", &o),
	    "From: \"unbalanced <x\r\nDate: x\r\nMessage-ID: y\r\n\r\n",
	    "an unbalanced field is left alone");
	is_str(complete("From: z\nMessage-ID: y\n\n", &o),
	    "From: z@example.com\r\nMessage-ID: y\r\nDate: Fri, 27 Nov 2026 04:05:06 +0000\r\n\r\n",
	    "date format");
	setenv("TZ", "EST5", 1);
	tzset();
	is_str(complete("From: z\nMessage-ID: y\n\n", &o),
	    "From: z@example.com\r\nMessage-ID: y\r\nDate: Thu, 26 Nov 2026 23:05:06 -0500\r\n\r\n",
	    "local time with its zone");
	setenv("TZ", "UTC", 1);
	tzset();

#define FROM(name, addr, want) do { \
	o.fullname = name; o.from = addr; \
	is_str(complete("Date: x\nMessage-ID: y\n\n", &o), \
	    "Date: x\r\nMessage-ID: y\r\nFrom: " want "\r\n\r\n", \
	    "From for %s", shows(name)); \
	} while (0)
	FROM(NULL, NULL, "alice@example.com");
	FROM("", NULL, "alice@example.com");
	FROM("   ", NULL, "alice@example.com");
	FROM("\x01\x7f", NULL, "alice@example.com");
	FROM("CronDaemon", NULL, "CronDaemon <alice@example.com>");
	FROM("Cron Daemon", "root@h.example", "Cron Daemon <root@h.example>");
	FROM(" Alice Smith ", "", "Alice Smith <alice@example.com>");
	FROM("J. Smith", NULL, "\"J. Smith\" <alice@example.com>");
	FROM("Smith, John", NULL, "\"Smith, John\" <alice@example.com>");
	FROM("a\"b\\c", NULL, "\"a\\\"b\\\\c\" <alice@example.com>");
	FROM("Evil\r\nBcc: x@y", NULL, "\"EvilBcc: x@y\" <alice@example.com>");
	FROM("Tab\tName", NULL, "TabName <alice@example.com>");
	FROM("J\xc3\xb6rg", NULL, "J\xc3\xb6rg <alice@example.com>");
	FROM("<x@y>", NULL, "\"<x@y>\" <alice@example.com>");
	o.fullname = NULL;
	o.from = NULL;

	/* no id, no domain */
	o.id = NULL;
	o.domain = NULL;
	{
		const char *s = complete("Date: x\nFrom: y\n\n", &o);
		char want[64];

		snprintf(want, sizeof(want), "Message-ID: <%ld.1795752306@localhost>",
		    (long)getpid());
		ok(strstr(s, want) != NULL, "fallback Message-ID (%s)", show(s, strlen(s)));
	}
	o.id = "Q1";
	o.domain = "example.com";

	/* twice: nothing added twice; body-only message */
	buf_init(&out, 0);
	from(&h, "just a body\n");
	msg_head_complete(&h, &o);
	msg_head_complete(&h, &o);
	msg_head_write(&h, put_buf, &out);
	is_str(out.data, "Date: Fri, 27 Nov 2026 04:05:06 +0000\r\n"
	    "Message-ID: <Q1.1795752306@example.com>\r\n"
	    "From: alice@example.com\r\n\r\njust a body\r\n",
	    "body only, completed twice");
	buf_free(&out);
	msg_head_free(&h);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_in();
	test_in_flags();
	test_head_read();
	test_head_nul();
	test_head_big();
	test_head_fields();
	test_head_write_fail();
	test_rcpts();
	test_complete();
	return done_testing();
}
