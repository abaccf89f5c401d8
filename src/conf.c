#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <ini.h>

#include "buf.h"
#include "log.h"

#ifndef SENDQ_SPOOLDIR
#define SENDQ_SPOOLDIR "/var/spool/sendq"
#endif

/*
 * The configuration file (see sendq.ini(5)):
 *
 *	[section]
 *	name = value		; comment
 *
 * Lines end in LF or CRLF; a UTF-8 byte order mark before the first line
 * is skipped. Leading white space is ignored. A line starting with ';' or
 * '#' is a comment; ';' after white space starts a comment inside a line.
 * There is no quoting and no continuation line. A line may hold at most
 * CONF_LINE_MAX bytes before its line end.
 *
 * libinih does the splitting, but its shared library (Debian's 55) hands
 * its reader a 200-byte buffer, fixed at its build, and cuts longer lines
 * in two without a word: a long alias list would lose addresses and later
 * line numbers would drift. So the reader below owns the lines: it counts
 * them (the handler takes its line number from there), caps them, checks
 * their shape and the section headers, and strips leading white space so
 * that inih's continuation lines never happen. A key line too long for
 * inih's buffer is split here by conf_split(), which follows inih's rules,
 * and inih is given an empty line in its place.
 */

enum conf_sect {
	SECT_NONE,		/* before the first header */
	SECT_SMARTHOST,
	SECT_SENDER,
	SECT_QUEUE,
	SECT_ALIASES,
	SECT_UNKNOWN,
	SECT_COUNT
};

static const char *const conf_sect_names[SECT_COUNT] = {
	"", "smarthost", "sender", "queue", "aliases", ""
};

enum conf_key {
	KEY_HOST,
	KEY_PORT,
	KEY_TLS,
	KEY_CA_FILE,
	KEY_USER,
	KEY_PASSWORD,
	KEY_PASSWORD_FILE,
	KEY_HELO,
	KEY_TIMEOUT,
	KEY_DOMAIN,
	KEY_DIR,
	KEY_RETRY_FIRST,
	KEY_RETRY_MAX,
	KEY_LIFETIME,
	KEY_PER_CONNECTION,
	KEY_COUNT
};

static const struct {
	enum conf_sect sect;
	const char *name;
} conf_keys[KEY_COUNT] = {
	[KEY_HOST] = { SECT_SMARTHOST, "host" },
	[KEY_PORT] = { SECT_SMARTHOST, "port" },
	[KEY_TLS] = { SECT_SMARTHOST, "tls" },
	[KEY_CA_FILE] = { SECT_SMARTHOST, "ca_file" },
	[KEY_USER] = { SECT_SMARTHOST, "user" },
	[KEY_PASSWORD] = { SECT_SMARTHOST, "password" },
	[KEY_PASSWORD_FILE] = { SECT_SMARTHOST, "password_file" },
	[KEY_HELO] = { SECT_SMARTHOST, "helo" },
	[KEY_TIMEOUT] = { SECT_SMARTHOST, "timeout" },
	[KEY_DOMAIN] = { SECT_SENDER, "domain" },
	[KEY_DIR] = { SECT_QUEUE, "dir" },
	[KEY_RETRY_FIRST] = { SECT_QUEUE, "retry_first" },
	[KEY_RETRY_MAX] = { SECT_QUEUE, "retry_max" },
	[KEY_LIFETIME] = { SECT_QUEUE, "lifetime" },
	[KEY_PER_CONNECTION] = { SECT_QUEUE, "per_connection" },
};

#define CONF_PORT_STARTTLS 587
#define CONF_PORT_IMPLICIT 465
#define CONF_TIMEOUT_DEFAULT 300
#define CONF_TIMEOUT_MAX 3600
/* Near Postfix's minimal_backoff_time, maximal_backoff_time and
 * maximal_queue_lifetime. */
#define CONF_RETRY_FIRST_DEFAULT 300
#define CONF_RETRY_MAX_DEFAULT 3600
#define CONF_LIFETIME_DEFAULT (5 * 86400)
#define CONF_PER_CONNECTION_DEFAULT 100
#define CONF_PER_CONNECTION_MAX 100000
#define CONF_DURATION_MAX (365UL * 86400)
/* RFC 1035 and RFC 5321 4.5.3.1.2. */
#define CONF_LABEL_MAX 63
#define CONF_DOMAIN_MAX 255
#define CONF_ALIAS_NAME_MAX 64

struct conf_parse {
	struct conf *c;
	FILE *fp;
	struct buf line;	/* the current line, without its line end */
	unsigned lineno;
	int errors;		/* problems reported so far */
	int oom;
	int read_errno;		/* nonzero: reading the file failed */
	enum conf_sect sect;
	unsigned sect_line[SECT_COUNT];	/* first header of each section */
	unsigned key_line[KEY_COUNT];	/* where each key was set */
};

static void conf_error(struct conf_parse *, unsigned, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_parse *st, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	st->errors++;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		st->oom = 1;
		return;
	}
	/* Values are quoted in messages; a tab in one stays on one line. */
	log_sanitize(msg);
	if (line)
		log_err(NULL, "%s:%u: %s", st->c->path, line, msg);
	else
		log_err(NULL, "%s: %s", st->c->path, msg);
	free(msg);
}

static char *
conf_strdup(struct conf_parse *st, const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		st->oom = 1;
	return p;
}

/* inih's white space: isspace() in the C locale. */
static int
conf_isspace(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' ||
	    ch == '\f' || ch == '\r';
}

static char *
conf_lskip(char *s)
{
	while (*s && conf_isspace((unsigned char)*s))
		s++;
	return s;
}

static void
conf_rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && conf_isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/*
 * Like inih's ini_find_chars_or_comment(): the first byte of s that is in
 * chars (NULL: none) or a ';' right after white space, or the NUL.
 */
static char *
conf_find(char *s, const char *chars)
{
	int was_space = 0;

	for (; *s; s++) {
		if (chars && strchr(chars, *s))
			break;
		if (was_space && *s == ';')
			break;
		was_space = conf_isspace((unsigned char)*s);
	}
	return s;
}

/*
 * Splits a key line (leading white space already skipped, '=' at sep) in
 * place, as inih does: name and value trimmed, value cut at an inline
 * comment.
 */
static void
conf_split(char *line, char *sep, char **name, char **value)
{
	char *v;

	*sep = '\0';
	conf_rstrip(line);
	v = sep + 1;
	*conf_find(v, NULL) = '\0';
	v = conf_lskip(v);
	conf_rstrip(v);
	*name = line;
	*value = v;
}

/* 1 if s is a domain name: dot-separated labels of letters, digits and
 * inner hyphens. */
static int
conf_is_domain(const char *s)
{
	size_t len = 0, label = 0;
	const char *p;

	for (p = s; *p; p++, len++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isascii(ch) || !(isalnum(ch) || ch == '-'))
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		if (++label > CONF_LABEL_MAX)
			return 0;
	}
	return len > 0 && len <= CONF_DOMAIN_MAX && label > 0 && p[-1] != '-';
}

/* 1 if s is an address literal as EHLO takes it: "[192.0.2.1]" or
 * "[IPv6:2001:db8::1]". */
static int
conf_is_addr_literal(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	char tmp[INET6_ADDRSTRLEN + sizeof("IPv6:")];
	size_t n = strlen(s);

	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 >= sizeof(tmp))
		return 0;
	memcpy(tmp, s + 1, n - 2);
	tmp[n - 2] = '\0';
	if (strncasecmp(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, a) == 1;
	return inet_pton(AF_INET, tmp, a) == 1;
}

/* 1 if s holds a byte below 0x20 or 0x7f: such a byte in a user name or
 * password could end an SMTP command line early. */
static int
conf_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* Parses a decimal number in [min, max], digits only. 0 or -1. */
static int
conf_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int
conf_duration(const char *s, unsigned long *secs)
{
	unsigned long total = 0, v;
	int digits;

	if (*s == '\0')
		return -1;
	while (*s) {
		v = 0;
		digits = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned long)(*s++ - '0');
			if (v > CONF_DURATION_MAX)
				return -1;
			digits++;
		}
		if (digits == 0)
			return -1;
		switch (*s) {
		case 'd':
			v *= 24;
			/* FALLTHROUGH */
		case 'h':
			v *= 60;
			/* FALLTHROUGH */
		case 'm':
			v *= 60;
			/* FALLTHROUGH */
		case 's':
			s++;
			break;
		case '\0':
			/* a bare number is minutes, as in Sendmail */
			v *= 60;
			break;
		default:
			return -1;
		}
		total += v;
		if (total > CONF_DURATION_MAX)
			return -1;
	}
	*secs = total;
	return 0;
}

static void
conf_set_duration(struct conf_parse *st, const char *name, const char *value,
    unsigned long min, unsigned long *out)
{
	if (conf_duration(value, out) == -1 || *out < min)
		conf_error(st, st->lineno, "malformed %s \"%s\": not a duration "
		    "such as 90s, 5m, 1h or 5d, from %lus to 365d", name, value,
		    min);
}

/* 1 if name may be an alias: a local part of atext characters and dots. */
static int
conf_is_alias_name(const char *name)
{
	const char *p;

	if (*name == '\0' || strlen(name) > CONF_ALIAS_NAME_MAX)
		return 0;
	for (p = name; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (isascii(ch) && (isalnum(ch) ||
		    strchr("!#$%&'*+-/=?^_`{|}~.", ch)))
			continue;
		return 0;
	}
	return 1;
}

static void
conf_alias_add(struct conf_parse *st, const char *name, const char *value)
{
	struct conf *c = st->c;
	struct conf_alias *a;
	size_t i;

	if (strcmp(name, "*") == 0) {
		conf_error(st, st->lineno,
		    "catch-all alias \"*\" is not supported");
		return;
	}
	if (strchr(name, '@')) {
		conf_error(st, st->lineno, "malformed alias name \"%s\": "
		    "only local names without \"@\" can be aliased", name);
		return;
	}
	if (!conf_is_alias_name(name)) {
		conf_error(st, st->lineno, "malformed alias name \"%s\"",
		    name);
		return;
	}
	for (i = 0; i < c->naliases; i++)
		if (strcasecmp(c->aliases[i].name, name) == 0) {
			conf_error(st, st->lineno,
			    "duplicate alias \"%s\" (first on line %u)",
			    name, c->aliases[i].line);
			return;
		}
	if (*value == '\0') {
		conf_error(st, st->lineno, "empty value for alias \"%s\"",
		    name);
		return;
	}
	if (c->naliases >= SIZE_MAX / sizeof(*a) - 1) {
		st->oom = 1;
		return;
	}
	a = realloc(c->aliases, (c->naliases + 1) * sizeof(*a));
	if (a == NULL) {
		st->oom = 1;
		return;
	}
	c->aliases = a;
	a = &c->aliases[c->naliases];
	a->name = conf_strdup(st, name);
	a->value = conf_strdup(st, value);
	a->line = st->lineno;
	if (a->name == NULL || a->value == NULL) {
		free(a->name);
		free(a->value);
		return;
	}
	c->naliases++;
}

static void
conf_path(struct conf_parse *st, const char *name, const char *value,
    char **out)
{
	if (value[0] != '/') {
		conf_error(st, st->lineno,
		    "malformed %s \"%s\": not an absolute path", name, value);
		return;
	}
	*out = conf_strdup(st, value);
}

/* One "name = value" line in the current section. Reports what is wrong. */
static void
conf_set(struct conf_parse *st, const char *name, const char *value)
{
	struct conf *c = st->c;
	const char *sname = conf_sect_names[st->sect];
	enum conf_key k;

	switch (st->sect) {
	case SECT_NONE:
		conf_error(st, st->lineno,
		    "key \"%s\" outside any section", name);
		return;
	case SECT_UNKNOWN:
		return;		/* the header was reported */
	case SECT_ALIASES:
		conf_alias_add(st, name, value);
		return;
	default:
		break;
	}
	for (k = 0; k < KEY_COUNT; k++)
		if (conf_keys[k].sect == st->sect &&
		    strcmp(conf_keys[k].name, name) == 0)
			break;
	if (k == KEY_COUNT) {
		conf_error(st, st->lineno, "unknown key \"%s\" in [%s]",
		    name, sname);
		return;
	}
	if (st->key_line[k]) {
		conf_error(st, st->lineno,
		    "duplicate key \"%s\" in [%s] (first on line %u)",
		    name, sname, st->key_line[k]);
		return;
	}
	st->key_line[k] = st->lineno;
	if (*value == '\0') {
		conf_error(st, st->lineno, "empty value for %s", name);
		return;
	}

	switch (k) {
	case KEY_HOST:
		/* An IPv6 address is written bare; the relay brackets it. */
		if (!conf_is_domain(value)) {
			unsigned char a[sizeof(struct in6_addr)];

			if (inet_pton(AF_INET6, value, a) != 1) {
				conf_error(st, st->lineno, "malformed host "
				    "\"%s\": not a host name or IP address",
				    value);
				return;
			}
		}
		c->host = conf_strdup(st, value);
		break;
	case KEY_PORT:
		if (conf_uint(value, 1, 65535, &c->port) == -1)
			conf_error(st, st->lineno, "malformed port \"%s\": "
			    "not a number from 1 to 65535", value);
		break;
	case KEY_TLS:
		if (strcmp(value, "starttls") == 0)
			c->tls = CONF_TLS_STARTTLS;
		else if (strcmp(value, "implicit") == 0)
			c->tls = CONF_TLS_IMPLICIT;
		else if (strcmp(value, "none") == 0)
			c->tls = CONF_TLS_NONE;
		else
			conf_error(st, st->lineno, "malformed tls \"%s\": "
			    "not starttls, implicit or none", value);
		break;
	case KEY_CA_FILE:
		conf_path(st, name, value, &c->ca_file);
		break;
	case KEY_USER:
		if (conf_has_ctl(value)) {
			conf_error(st, st->lineno,
			    "malformed user: control character");
			return;
		}
		c->user = conf_strdup(st, value);
		break;
	case KEY_PASSWORD:
		/* Never echoed: it is a secret. */
		if (conf_has_ctl(value)) {
			conf_error(st, st->lineno,
			    "malformed password: control character");
			return;
		}
		c->password = conf_strdup(st, value);
		break;
	case KEY_PASSWORD_FILE:
		conf_path(st, name, value, &c->password_file);
		break;
	case KEY_HELO:
		if (!conf_is_domain(value) && !conf_is_addr_literal(value)) {
			conf_error(st, st->lineno, "malformed helo \"%s\": "
			    "not a domain name or address literal", value);
			return;
		}
		c->helo = conf_strdup(st, value);
		break;
	case KEY_TIMEOUT:
		if (conf_uint(value, 1, CONF_TIMEOUT_MAX, &c->timeout) == -1)
			conf_error(st, st->lineno, "malformed timeout \"%s\": "
			    "not a number of seconds from 1 to %u", value,
			    CONF_TIMEOUT_MAX);
		break;
	case KEY_DOMAIN:
		if (!conf_is_domain(value)) {
			conf_error(st, st->lineno, "malformed domain \"%s\": "
			    "not a domain name", value);
			return;
		}
		c->domain = conf_strdup(st, value);
		break;
	case KEY_DIR:
		conf_path(st, name, value, &c->queue_dir);
		break;
	case KEY_RETRY_FIRST:
		conf_set_duration(st, name, value, 1, &c->retry_first);
		break;
	case KEY_RETRY_MAX:
		conf_set_duration(st, name, value, 1, &c->retry_max);
		break;
	case KEY_LIFETIME:
		conf_set_duration(st, name, value, 0, &c->lifetime);
		break;
	case KEY_PER_CONNECTION:
		if (conf_uint(value, 1, CONF_PER_CONNECTION_MAX,
		    &c->per_connection) == -1)
			conf_error(st, st->lineno, "malformed per_connection "
			    "\"%s\": not a number from 1 to %u", value,
			    CONF_PER_CONNECTION_MAX);
		break;
	case KEY_COUNT:
		break;
	}
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	(void)section;	/* the reader keeps the section */
	conf_set(user, name, value);
	/* Always go on: every problem is reported once, by conf_set. */
	return 1;
}

/*
 * Reads the next line into st->line. Returns 1, 0 at the end of the file,
 * or -1 on a read error. A line over CONF_LINE_MAX is reported, and the
 * rest of it skipped; st->line is then empty.
 */
static int
conf_getline(struct conf_parse *st)
{
	int ch, got = 0, toolong = 0;

	buf_reset(&st->line);
	while ((ch = getc(st->fp)) != EOF) {
		got = 1;
		if (ch == '\n')
			break;
		if (toolong)
			continue;
		/* One more byte than the limit, for the CR of a CRLF. */
		if (buf_putc(&st->line, ch) == -1) {
			if (errno != E2BIG) {
				st->oom = 1;
				return -1;
			}
			toolong = 1;
		}
	}
	if (ferror(st->fp)) {
		st->read_errno = errno ? errno : EIO;
		return -1;
	}
	if (!got)
		return 0;
	st->lineno++;
	if (st->line.len > 0 && st->line.data[st->line.len - 1] == '\r')
		st->line.data[--st->line.len] = '\0';
	if (toolong || st->line.len > CONF_LINE_MAX) {
		conf_error(st, st->lineno, "line longer than %d bytes",
		    CONF_LINE_MAX);
		buf_reset(&st->line);
	}
	return 1;
}

static void
conf_section(struct conf_parse *st, char *p)
{
	char *end = strchr(p, ']'), *name, *rest;
	enum conf_sect s;

	if (end == NULL) {
		conf_error(st, st->lineno, "malformed section header: "
		    "no \"]\"");
		st->sect = SECT_UNKNOWN;
		return;
	}
	rest = conf_lskip(end + 1);
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		conf_error(st, st->lineno, "malformed section header: "
		    "text after \"]\"");
		st->sect = SECT_UNKNOWN;
		return;
	}
	*end = '\0';
	name = conf_lskip(p + 1);
	conf_rstrip(name);
	for (s = SECT_SMARTHOST; s < SECT_UNKNOWN; s++)
		if (strcmp(conf_sect_names[s], name) == 0)
			break;
	st->sect = s;
	if (s == SECT_UNKNOWN)
		conf_error(st, st->lineno, "unknown section [%s]", name);
	else if (st->sect_line[s] == 0)
		st->sect_line[s] = st->lineno;
}

/* The ini_reader: see the comment at the top of the file. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *st = stream;
	char *p, *sep, *name, *value;
	size_t len;
	int r;

	if (num < 2 || st->oom || st->read_errno)
		return NULL;
	if ((r = conf_getline(st)) != 1)
		return NULL;
	strcpy(str, "\n");	/* what inih sees of lines handled here */

	if (st->line.len == 0)
		return str;
	p = st->line.data;
	if (memchr(p, '\0', st->line.len)) {
		conf_error(st, st->lineno, "NUL byte in line");
		return str;
	}
	if (st->lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	p = conf_lskip(p);
	if (*p == '\0' || *p == ';' || *p == '#')
		return str;
	if (*p == '[') {
		conf_section(st, p);
		return str;
	}
	sep = conf_find(p, "=:");
	if (*sep != '=' || sep == p) {
		conf_error(st, st->lineno,
		    "expected \"name = value\" or \"[section]\"");
		return str;
	}
	len = strlen(p);
	if (len < (size_t)num - 1) {	/* room for "\n" and the NUL */
		memcpy(str, p, len);
		memcpy(str + len, "\n", 2);
		return str;
	}
	conf_split(p, sep, &name, &value);
	conf_set(st, name, value);
	return str;
}

/* Checks that need the whole file. */
static void
conf_finish(struct conf_parse *st)
{
	struct conf *c = st->c;
	unsigned *kl = st->key_line;
	unsigned cred;

	if (!kl[KEY_HOST])
		conf_error(st, st->sect_line[SECT_SMARTHOST],
		    "host is required in [smarthost]");
	if (kl[KEY_PASSWORD] && kl[KEY_PASSWORD_FILE])
		conf_error(st, kl[KEY_PASSWORD] > kl[KEY_PASSWORD_FILE] ?
		    kl[KEY_PASSWORD] : kl[KEY_PASSWORD_FILE],
		    "password and password_file are both set");
	if (kl[KEY_USER] && !kl[KEY_PASSWORD] && !kl[KEY_PASSWORD_FILE])
		conf_error(st, kl[KEY_USER],
		    "user without password or password_file");
	if (!kl[KEY_USER]) {
		if (kl[KEY_PASSWORD])
			conf_error(st, kl[KEY_PASSWORD],
			    "password without user");
		if (kl[KEY_PASSWORD_FILE])
			conf_error(st, kl[KEY_PASSWORD_FILE],
			    "password_file without user");
	}
	cred = kl[KEY_USER] | kl[KEY_PASSWORD] | kl[KEY_PASSWORD_FILE];
	if (c->tls == CONF_TLS_NONE && cred)
		conf_error(st, kl[KEY_TLS], "credentials with tls = none: "
		    "AUTH would be sent in cleartext");

	if (c->port == 0)
		c->port = c->tls == CONF_TLS_IMPLICIT ?
		    CONF_PORT_IMPLICIT : CONF_PORT_STARTTLS;
	if (c->timeout == 0)
		c->timeout = CONF_TIMEOUT_DEFAULT;
	if (c->queue_dir == NULL && !kl[KEY_DIR])
		c->queue_dir = conf_strdup(st, SENDQ_SPOOLDIR);
	if (!kl[KEY_RETRY_FIRST])
		c->retry_first = CONF_RETRY_FIRST_DEFAULT;
	if (!kl[KEY_RETRY_MAX])
		c->retry_max = CONF_RETRY_MAX_DEFAULT;
	if (!kl[KEY_LIFETIME])
		c->lifetime = CONF_LIFETIME_DEFAULT;
	if (c->per_connection == 0)
		c->per_connection = CONF_PER_CONNECTION_DEFAULT;
	if (c->retry_max < c->retry_first)
		conf_error(st, kl[KEY_RETRY_MAX] ? kl[KEY_RETRY_MAX] :
		    kl[KEY_RETRY_FIRST], "retry_max is shorter than retry_first");
}

/*
 * A file holding a secret must not be readable or writable by others: a
 * looser one is refused, saying which file and mode, rather than used.
 * Group access is allowed (root:sendq 0640 is the intended setting).
 */
static int
conf_private(int fd, const char *path)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1) {
		log_errno(NULL, "%s", path);
		return -1;
	}
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		log_err(NULL, "%s: holds the smarthost password but has mode "
		    "%04o; make it unreadable by others (chmod o-rw)", path,
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path)
{
	struct conf_parse st;
	int r;

	memset(c, 0, sizeof(*c));
	memset(&st, 0, sizeof(st));
	st.c = c;
	buf_init(&st.line, CONF_LINE_MAX + 1);
	if ((c->path = strdup(path)) == NULL) {
		log_errno(NULL, "%s", path);
		return EX_OSERR;
	}
	if ((st.fp = fopen(path, "r")) == NULL) {
		log_errno(NULL, "%s", path);
		conf_free(c);
		return EX_CONFIG;
	}
	r = ini_parse_stream(conf_reader, &st, conf_handler, &st);
	if (c->password && conf_private(fileno(st.fp), path) == -1)
		st.errors++;
	fclose(st.fp);
	buf_free(&st.line);
	if (st.read_errno) {
		errno = st.read_errno;
		log_errno(NULL, "%s", path);
		conf_free(c);
		return EX_CONFIG;
	}
	if (!st.oom) {
		/* The reader hands inih only lines it can parse; this is a
		 * guard should a later inih think otherwise. */
		if (r > 0 && st.errors == 0)
			conf_error(&st, (unsigned)r, "syntax error");
		if (r < 0)
			st.oom = 1;
		conf_finish(&st);
	}
	if (st.oom) {
		errno = ENOMEM;
		log_errno(NULL, "%s", path);
		conf_free(c);
		return EX_OSERR;
	}
	if (st.errors) {
		conf_free(c);
		return EX_CONFIG;
	}
	return 0;
}

/* Frees a secret after overwriting it. */
static void
conf_wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

char *
conf_password(const struct conf *c, int *none)
{
	struct buf b;
	FILE *fp;
	int ch;
	char *pw;

	if (none)
		*none = 0;
	if (c->password) {
		if ((pw = strdup(c->password)) == NULL)
			log_errno(NULL, "%s", c->path);
		return pw;
	}
	if (c->password_file == NULL) {
		if (none)
			*none = 1;
		return NULL;
	}
	if ((fp = fopen(c->password_file, "r")) == NULL) {
		log_errno(NULL, "%s", c->password_file);
		return NULL;
	}
	if (conf_private(fileno(fp), c->password_file) == -1) {
		fclose(fp);
		return NULL;
	}
	buf_init(&b, CONF_LINE_MAX + 1);
	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (buf_putc(&b, ch) == -1) {
			if (errno == E2BIG)
				log_err(NULL, "%s: first line longer than %d "
				    "bytes", c->password_file, CONF_LINE_MAX);
			else
				log_errno(NULL, "%s", c->password_file);
			goto fail;
		}
	}
	if (ferror(fp)) {
		log_errno(NULL, "%s", c->password_file);
		goto fail;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		log_err(NULL, "%s: empty password file", c->password_file);
		goto fail;
	}
	if (b.len > CONF_LINE_MAX) {
		log_err(NULL, "%s: first line longer than %d bytes",
		    c->password_file, CONF_LINE_MAX);
		goto fail;
	}
	if (conf_has_ctl(b.data) || memchr(b.data, '\0', b.len)) {
		log_err(NULL, "%s: control character in password",
		    c->password_file);
		goto fail;
	}
	fclose(fp);
	pw = buf_take(&b);
	if (pw == NULL)
		log_errno(NULL, "%s", c->password_file);
	return pw;
fail:
	fclose(fp);
	if (b.data)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
	return NULL;
}

/* 1 for a name that says nothing about this host. */
static int
conf_is_localhost(const char *name)
{
	return strcasecmp(name, "localhost") == 0 ||
	    strncasecmp(name, "localhost.", 10) == 0;
}

/*
 * This host's name as mail should carry it. The kernel's host name when it
 * is fully qualified; else the canonical name the resolver gives for it
 * (/etc/hosts first on Debian), when that is; else the bare host name.
 * "localhost" only when there is nothing better: Debian's /etc/hosts often
 * lists the host's own name after "localhost" on one line.
 */
static char *
conf_hostname(void)
{
	char host[HOST_NAME_MAX + 1];
	struct addrinfo hints, *ai = NULL;
	char *r = NULL;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (!conf_is_domain(host) || conf_is_localhost(host))
		return strdup("localhost");
	if (strchr(host, '.'))
		return strdup(host);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai->ai_canonname &&
	    strchr(ai->ai_canonname, '.') &&
	    conf_is_domain(ai->ai_canonname) &&
	    !conf_is_localhost(ai->ai_canonname))
		r = strdup(ai->ai_canonname);
	else
		r = strdup(host);
	if (ai)
		freeaddrinfo(ai);
	return r;
}

char *
conf_domain(const struct conf *c)
{
	if (c->domain)
		return strdup(c->domain);
	return conf_hostname();
}

void
conf_free(struct conf *c)
{
	size_t i;

	free(c->path);
	free(c->host);
	free(c->ca_file);
	free(c->user);
	conf_wipe(c->password);
	free(c->password_file);
	free(c->helo);
	free(c->domain);
	free(c->queue_dir);
	for (i = 0; i < c->naliases; i++) {
		free(c->aliases[i].name);
		free(c->aliases[i].value);
	}
	free(c->aliases);
	memset(c, 0, sizeof(*c));
}
