/*
 * The address parser and checker: the input is a header field body for
 * addr_parse_list (bytes with a length, NULs and all), and, cut at its
 * first NUL, an envelope address for addr_check.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_list l;
	const char *why;
	char *s, *q;
	size_t i;

	/* An exact-size copy: the parser must not read past len. */
	if ((s = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(s, data, size);
	addr_list_init(&l);
	if (addr_list_add(&l, "first@example.org") == -1)
		abort();
	if (addr_parse_list(s, size, &l) == -1) {
		/* Nothing is added by a list that does not parse. */
		FUZZ_ASSERT(l.n == 1);
		FUZZ_ASSERT(errno == EINVAL || errno == ENOMEM);
	}
	for (i = 1; i < l.n; i++) {
		/* No line break, NUL or empty address comes out. */
		FUZZ_ASSERT(l.v[i][0] != '\0');
		FUZZ_ASSERT(strpbrk(l.v[i], "\r\n") == NULL);
		FUZZ_ASSERT(addr_list_has(&l, l.v[i]));
		if (addr_check(l.v[i], &why) == -1)
			FUZZ_ASSERT(why != NULL);
		if ((q = addr_qualify(l.v[i], "example.org")) == NULL)
			abort();
		FUZZ_ASSERT(!addr_is_local(q));
		free(q);
	}
	addr_list_free(&l);
	free(s);

	/* addr_check on the same bytes as a C string. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	why = NULL;
	if (addr_check(s, &why) == 0) {
		FUZZ_ASSERT(strlen(s) <= ADDR_PATH_MAX - 2);
		FUZZ_ASSERT(strpbrk(s, "\r\n <>") == NULL || s[0] == '"');
		FUZZ_ASSERT(s[0] != '-');
	} else {
		FUZZ_ASSERT(why != NULL);
	}
	(void)addr_is_local(s);
	free(s);
	return 0;
}
