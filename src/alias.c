#include "alias.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "log.h"

/*
 * The [aliases] table is small and read once per message, so lookups are
 * linear. Entries are kept as written by conf.c; their values are parsed
 * here, by alias_check() and again at each expansion.
 */

/* Work allowed for one recipient: the depth limit stops chains, this
 * stops a table whose entries fan out into each other many times over. */
#define ALIAS_STEPS_MAX 10000

/* Where an entry was written: sendq.ini or the aliases_file. */
#define ALIAS_FILE(c, a) ((a)->file ? (a)->file : (c)->path)

struct alias_walk {
	const struct conf *c;
	const char *domain;
	struct addr_list *out;
	/* Entries on the path from the recipient to where we are. */
	const struct conf_alias *path[ALIAS_DEPTH];
	size_t depth;
	unsigned steps;
};

/* Pipes, files and :include: are what a classic aliases file runs or
 * writes to; sendq never does either. */
static int
alias_is_program(const char *t)
{
	if (*t == '"')
		t++;
	return *t == '|' || *t == '/' || strncasecmp(t, ":include:", 9) == 0;
}

int
alias_check(const struct conf *c)
{
	struct addr_list l;
	size_t i, j;
	int bad = 0;

	for (i = 0; i < c->naliases; i++) {
		const struct conf_alias *a = &c->aliases[i];
		const char *v = a->value, *why;

		v += strspn(v, " \t");
		addr_list_init(&l);
		if (alias_is_program(v)) {
			log_err(NULL, "%s:%u: alias %s: pipes, files and "
			    ":include: are not supported", ALIAS_FILE(c, a), a->line,
			    a->name);
			bad = 1;
			continue;
		}
		if (addr_parse_list(a->value, strlen(a->value), &l) == -1) {
			int e = errno;

			addr_list_free(&l);
			if (e == ENOMEM) {
				errno = e;
				log_errno(NULL, "%s", c->path);
				return EX_OSERR;
			}
			log_err(NULL, "%s:%u: alias %s: not an address list",
			    ALIAS_FILE(c, a), a->line, a->name);
			bad = 1;
			continue;
		}
		if (l.n == 0) {
			log_err(NULL, "%s:%u: alias %s: no addresses",
			    ALIAS_FILE(c, a), a->line, a->name);
			bad = 1;
		}
		for (j = 0; j < l.n; j++) {
			if (alias_is_program(l.v[j])) {
				log_err(NULL, "%s:%u: alias %s: \"%s\": pipes, "
				    "files and :include: are not supported",
				    ALIAS_FILE(c, a), a->line, a->name, l.v[j]);
				bad = 1;
			} else if (addr_check(l.v[j], &why) == -1) {
				log_err(NULL, "%s:%u: alias %s: \"%s\": %s",
				    ALIAS_FILE(c, a), a->line, a->name, l.v[j], why);
				bad = 1;
			}
		}
		addr_list_free(&l);
	}
	return bad ? EX_CONFIG : 0;
}

static const struct conf_alias *
alias_find(const struct conf *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->naliases; i++)
		if (strncasecmp(c->aliases[i].name, name, len) == 0 &&
		    c->aliases[i].name[len] == '\0')
			return &c->aliases[i];
	return NULL;
}

/*
 * The entry for a bare local name: its own, else for "user+ext" the one
 * of "user" (the extension is a tag for the mailbox's owner, who is still
 * the alias's target).
 */
static const struct conf_alias *
alias_lookup(const struct conf *c, const char *name)
{
	const struct conf_alias *a;
	const char *plus;

	if ((a = alias_find(c, name, strlen(name))) != NULL)
		return a;
	if ((plus = strchr(name, '+')) != NULL && plus > name &&
	    (a = alias_find(c, name, (size_t)(plus - name))) != NULL)
		return a;
	/* "* = admin@example.com" catches every other local name */
	return alias_find(c, "*", 1);
}

static int
alias_add_qualified(struct alias_walk *w, const char *name)
{
	char *q;
	int r;

	if ((q = addr_qualify(name, w->domain)) == NULL)
		return -1;
	r = addr_list_add(w->out, q);
	free(q);
	return r;
}

static int
alias_walk(struct alias_walk *w, const char *name)
{
	const struct conf_alias *a;
	struct addr_list l;
	const char *why;
	size_t i;
	int r = 0;

	if (!addr_is_local(name))
		return addr_list_add(w->out, name);
	if ((a = alias_lookup(w->c, name)) == NULL)
		return alias_add_qualified(w, name);
	/* A name met again on its own path is a loop: it stands for the
	 * local mailbox ("root = root, ops@example.com" keeps a copy). */
	for (i = 0; i < w->depth; i++)
		if (w->path[i] == a)
			return alias_add_qualified(w, name);
	if (w->depth >= ALIAS_DEPTH || ++w->steps > ALIAS_STEPS_MAX) {
		errno = ELOOP;
		return -1;
	}

	addr_list_init(&l);
	if (addr_parse_list(a->value, strlen(a->value), &l) == -1) {
		int e = errno;

		addr_list_free(&l);
		errno = e == ENOMEM ? ENOMEM : EINVAL;
		return -1;
	}
	w->path[w->depth++] = a;
	for (i = 0; i < l.n && r == 0; i++) {
		/* alias_check() reported these at startup; never let one
		 * through to an envelope all the same. */
		if (alias_is_program(l.v[i]) ||
		    addr_check(l.v[i], &why) == -1) {
			errno = EINVAL;
			r = -1;
		} else
			r = alias_walk(w, l.v[i]);
	}
	w->depth--;
	addr_list_free(&l);
	return r;
}

int
alias_expand(const struct conf *c, const char *rcpt, const char *domain,
    struct addr_list *out)
{
	struct addr_list got;
	struct alias_walk w;
	size_t i;
	int r;

	if (*rcpt == '\0' || domain == NULL || *domain == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (!addr_is_local(rcpt))
		return addr_list_add(out, rcpt);

	/* Into a list of our own first, so a failed expansion adds nothing
	 * to out. */
	addr_list_init(&got);
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.domain = domain;
	w.out = &got;
	r = alias_walk(&w, rcpt);
	for (i = 0; i < got.n && r == 0; i++)
		r = addr_list_add(out, got.v[i]);
	addr_list_free(&got);
	return r;
}
