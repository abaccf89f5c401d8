/*
 * The argv parser. The input, split at each NUL, is argv (argv[0]
 * included, so "mailq" and "newaliases" are reached too).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "opts.h"

#define ARGV_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *argv[ARGV_MAX + 1];
	struct opts o;
	size_t i, start = 0;
	int argc = 0;

	fuzz_quiet();
	/* Each argument gets its own allocation, so that a read past the
	 * end of one is caught instead of landing in the next. */
	for (i = 0; i <= size && argc < ARGV_MAX; i++) {
		if (i < size && data[i] != '\0')
			continue;
		if ((copy = malloc(i - start + 1)) == NULL)
			abort();
		memcpy(copy, data + start, i - start);
		copy[i - start] = '\0';
		argv[argc++] = copy;
		start = i + 1;
	}
	argv[argc] = NULL;

	if (opts_parse(&o, argc, argv) == 0) {
		FUZZ_ASSERT(o.nrcpt <= (size_t)argc);
		FUZZ_ASSERT(o.nrcpt == 0 ||
		    (o.rcpt >= argv + 1 && o.rcpt + o.nrcpt == argv + argc));
		for (i = 0; i < o.nrcpt; i++)
			FUZZ_TOUCH(o.rcpt[i]);
		/* Every string handed out must be readable. */
		FUZZ_TOUCH(o.from);
		FUZZ_TOUCH(o.fullname);
		FUZZ_TOUCH(o.conf);
		FUZZ_TOUCH(o.body);
		FUZZ_TOUCH(o.notify);
		FUZZ_TOUCH(o.ret);
		FUZZ_TOUCH(o.envid);
		FUZZ_TOUCH(o.queue_arg);
	}
	for (i = 0; i < (size_t)argc; i++)
		free(argv[i]);
	return 0;
}
