/*
 * The INI configuration reader: the input is written to a file and read
 * with conf_load. A configuration that loads has its sections' passwords
 * read (only "password": password_file and password_command would name
 * any file or program on this machine), routes looked up for a few
 * senders, and its aliases checked and expanded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "alias.h"
#include "conf.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
smarthosts(const struct conf *c)
{
	static const char *const senders[] = {
		"", "root@example.com", "alice@Example.ORG", "a*b@[192.0.2.1]"
	};
	const struct conf_smarthost *s;
	size_t i, k, n, idx[CONF_SMARTHOST_MAX];
	char label[CONF_NAME_MAX + 32], *pw, *why;
	int none;

	FUZZ_ASSERT(c->nsmarthost >= 1 &&
	    c->nsmarthost <= CONF_SMARTHOST_MAX);
	for (i = 0; i < c->nsmarthost; i++) {
		s = &c->smarthost[i];
		FUZZ_ASSERT(s->host != NULL && s->port > 0 && s->timeout > 0);
		FUZZ_TOUCH(conf_smarthost_label(s, label, sizeof(label)));
		FUZZ_TOUCH(conf_from(s));
		if (s->password == NULL)
			continue;
		why = NULL;
		pw = conf_password(s, &none, &why);
		FUZZ_ASSERT(pw != NULL && strcmp(pw, s->password) == 0);
		free(pw);
		free(why);
	}
	for (k = 0; k < sizeof(senders) / sizeof(senders[0]); k++) {
		n = conf_route(c, senders[k], idx);
		FUZZ_ASSERT(n >= 1 && n <= c->nsmarthost);
		for (i = 0; i < n; i++)
			FUZZ_ASSERT(idx[i] < c->nsmarthost);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_list out;
	struct conf c;
	const char *path;
	unsigned long secs;
	char *s;
	size_t i;
	int rc;

	fuzz_quiet();
	path = fuzz_file(fuzz_tmpdir(), "sendq.ini", data, size);
	rc = conf_load(&c, path);
	FUZZ_ASSERT(rc == 0 || rc == EX_CONFIG || rc == EX_OSERR);
	if (rc == 0) {
		FUZZ_ASSERT(c.retry_first <= c.retry_max);
		FUZZ_TOUCH(c.queue_dir);
		smarthosts(&c);
		if (alias_check(&c) == 0) {
			for (i = 0; i < c.naliases; i++) {
				addr_list_init(&out);
				(void)alias_expand(&c, c.aliases[i].name,
				    "example.org", &out);
				addr_list_free(&out);
			}
		}
		conf_free(&c);
	}

	/* conf_duration on the input as a string. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (conf_duration(s, &secs) == 0)
		FUZZ_ASSERT(secs <= 365UL * 86400);
	free(s);
	return 0;
}
