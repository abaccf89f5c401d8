/*
 * Message intake: the stdin reader (msg_in), the header reader, -t
 * recipient extraction, header completion and writing.
 *
 * Input: a flags byte, a piece-size byte, then what the caller writes to
 * stdin. Flags bit 0: a lone "." ends the message (no -i); bits 1-7 pick
 * the buffer size the body is read with. The stdin bytes go through a
 * SOCK_SEQPACKET socket pair in pieces of the given size (0: one piece),
 * so that every read returns one piece and lines are split across reads
 * the way a slow pipe splits them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "fuzz-util.h"
#include "msg.h"

#define FUZZ_MSG_MAX 65536
#define FUZZ_PIECES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
put(void *ctx, const void *p, size_t n)
{
	return buf_append(ctx, p, n);
}

/* Writes data[0..size) to fd as packets of step bytes (fewer when that
 * would make too many), then closes fd so that the reader sees the end. */
static void
send_pieces(int fd, const uint8_t *data, size_t size, size_t step)
{
	size_t off = 0, n;

	if (step == 0 || step < (size + FUZZ_PIECES_MAX - 1) / FUZZ_PIECES_MAX)
		step = size ? (size + FUZZ_PIECES_MAX - 1) / FUZZ_PIECES_MAX : 1;
	while (off < size) {
		n = size - off < step ? size - off : step;
		if (write(fd, data + off, n) != (ssize_t)n)
			abort();
		off += n;
	}
	close(fd);
}

/* Every CR is followed by LF and every LF follows a CR. */
static int
crlf_only(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return 0;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msg_in in;	/* 64 KiB: not on the stack */
	const struct msg_origin origin = {
		.domain = "example.org",
		.user = "fuzz",
		.fullname = "Fuzz \"Q.\" User",
		.from = NULL,
		.now = 1700000000,
		.id = "0123456789ABCDEF01",
	};
	struct msg_head h;
	struct addr_list rcpt;
	struct buf out;
	const char *bad, *why;
	char chunk[512];
	unsigned flags;
	size_t i, step, cap;
	ssize_t r;
	int sv[2];

	if (size < 2 || size - 2 > FUZZ_MSG_MAX)
		return 0;
	fuzz_quiet();
	flags = data[0];
	step = data[1];
	data += 2;
	size -= 2;
	cap = 4 + (flags >> 1) * 4;	/* 4 .. 512 */

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	send_pieces(sv[1], data, size, step);
	msg_in_init(&in, sv[0], flags & 1);
	if (msg_head_read(&in, &h) == -1) {
		FUZZ_ASSERT(errno == E2BIG || errno == EIO || errno == ENOMEM);
		close(sv[0]);
		return 0;
	}

	addr_list_init(&rcpt);
	if (msg_head_rcpts(&h, &rcpt, &bad) == 0) {
		for (i = 0; i < rcpt.n; i++) {
			FUZZ_ASSERT(strpbrk(rcpt.v[i], "\r\n") == NULL);
			if (addr_check(rcpt.v[i], &why) == -1)
				FUZZ_TOUCH(why);
		}
	} else {
		FUZZ_ASSERT(bad != NULL || errno == ENOMEM);
		FUZZ_TOUCH(bad);
	}
	addr_list_free(&rcpt);

	buf_init(&out, 0);
	if (msg_head_complete(&h, &origin) == 0) {
		FUZZ_ASSERT(msg_head_find(&h, "Bcc", 0) == NULL);
		FUZZ_ASSERT(msg_head_write(&h, put, &out) == 0);
		while ((r = msg_in_read(&in, chunk, cap)) > 0) {
			FUZZ_ASSERT((size_t)r <= cap);
			FUZZ_ASSERT(buf_append(&out, chunk, (size_t)r) == 0);
		}
		FUZZ_ASSERT(r == 0);
		FUZZ_ASSERT(crlf_only(out.data, out.len));
	}
	buf_free(&out);
	msg_head_free(&h);
	close(sv[0]);
	return 0;
}
