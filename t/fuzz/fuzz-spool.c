/*
 * The queue file reader, which the runner points at files it must treat
 * as hostile. The input is written as DIR/q/ID and opened with
 * spool_open; a file that opens is then read chunk by chunk, has an
 * outcome appended with spool_mark (and an attempt and a bounce record),
 * and must open again with the outcome in place: whatever spool_open
 * accepts, the runner's own appends keep parseable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "spool.h"

#define FUZZ_ID "0123456789ABCDEF01"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int qdirfd = -1;

/* A reply with what a hostile server might send: control bytes, a line
 * break, and some bytes from the input. */
static void
make_reply(char *reply, size_t cap, const uint8_t *data, size_t size)
{
	static const char head[] = "5.1.1 <x@example.org>\r\nno\x7f such\t";
	size_t n = sizeof(head) - 1, k;

	memcpy(reply, head, n);
	for (k = 0; k < size && n + 1 < cap; k++)
		if (data[size - 1 - k] != '\0')
			reply[n++] = (char)data[size - 1 - k];
	reply[n] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char chunk[SPOOL_CHUNK];
	struct spool_msg m, again;
	const char *why;
	static char path[4200];
	char reply[300];
	uint64_t total = 0;
	size_t i, k;
	int rc;

	if (qdirfd == -1) {
		snprintf(path, sizeof(path), "%s", fuzz_subdir("q"));
		if ((qdirfd = open(path, O_RDONLY | O_DIRECTORY)) == -1)
			abort();
	}
	fuzz_file(path, FUZZ_ID, data, size);

	rc = spool_open(&m, qdirfd, FUZZ_ID, 0, 0, &why);
	if (rc == SPOOL_BAD || rc == SPOOL_PARTIAL)
		FUZZ_ASSERT(why != NULL);
	if (rc != 0) {
		FUZZ_ASSERT(rc != -1 || errno == ENOMEM);
		FUZZ_ASSERT(rc != SPOOL_BUSY);
		FUZZ_ASSERT(m.fd == -1);
		return 0;
	}
	FUZZ_ASSERT(m.nrcpt > 0);
	FUZZ_ASSERT(strcmp(m.id, FUZZ_ID) == 0);
	FUZZ_TOUCH(m.user);
	FUZZ_TOUCH(m.sender);
	FUZZ_TOUCH(m.envid);
	FUZZ_TOUCH(m.ret);
	FUZZ_TOUCH(m.notify);
	for (i = 0; i < m.nrcpt; i++) {
		FUZZ_TOUCH(m.rcpt[i].addr);
		FUZZ_TOUCH(m.rcpt[i].reply);
	}
	for (i = 0; i < m.nchunk; i++) {
		FUZZ_ASSERT(m.chunklen[i] > 0 && m.chunklen[i] <= SPOOL_CHUNK);
		FUZZ_ASSERT(spool_read_chunk(&m, i, chunk) == 0);
		total += m.chunklen[i];
	}
	FUZZ_ASSERT(total == m.size);
	(void)spool_done(&m);

	/* The runner's appends. */
	k = size % m.nrcpt;
	make_reply(reply, sizeof(reply), data, size);
	FUZZ_ASSERT(spool_mark(&m, k, SPOOL_FAILED, 550, reply) == 0);
	FUZZ_ASSERT(strpbrk(m.rcpt[k].reply, "\r\n\x7f") == NULL);
	FUZZ_ASSERT(spool_attempt(&m, 1700000000, 1700000300) == 0);
	FUZZ_ASSERT(spool_mark_bounced(&m) == 0);
	spool_close(&m);

	rc = spool_open(&again, qdirfd, FUZZ_ID, 0, 0, &why);
	if (rc != 0)
		fprintf(fuzz_stderr ? fuzz_stderr : stderr,
		    "reopen: %d %s\n", rc, why ? why : "");
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(again.rcpt[k].state == SPOOL_FAILED);
	FUZZ_ASSERT(again.rcpt[k].code == 550);
	FUZZ_ASSERT(again.bounced);
	FUZZ_ASSERT(again.next_try == 1700000300);
	spool_close(&again);
	return 0;
}
