#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <strings.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
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
 *
 * Smarthost sections: "[smarthost]" is the default route and must be
 * there; "[smarthost NAME]" adds one more, NAME being letters, digits,
 * '.', '-' and '_'. Each holds the same keys (senders only in a named
 * one), and they are kept in file order: the order failover tries them.
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
	KEY_PASSWORD_COMMAND,
	KEY_AUTH,
	KEY_OAUTH2_TOKEN_COMMAND,
	KEY_OAUTH2_TOKEN_URL,
	KEY_OAUTH2_CLIENT_ID,
	KEY_OAUTH2_CLIENT_SECRET_FILE,
	KEY_OAUTH2_REFRESH_TOKEN_FILE,
	KEY_SENDERS,
	KEY_REWRITE_FROM,
	KEY_FROM,
	KEY_CLIENT_CERT,
	KEY_CLIENT_KEY,
	KEY_PIN_SHA256,
	KEY_TLS_MIN,
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
	[KEY_PASSWORD_COMMAND] = { SECT_SMARTHOST, "password_command" },
	[KEY_AUTH] = { SECT_SMARTHOST, "auth" },
	[KEY_OAUTH2_TOKEN_COMMAND] = { SECT_SMARTHOST, "oauth2_token_command" },
	[KEY_OAUTH2_TOKEN_URL] = { SECT_SMARTHOST, "oauth2_token_url" },
	[KEY_OAUTH2_CLIENT_ID] = { SECT_SMARTHOST, "oauth2_client_id" },
	[KEY_OAUTH2_CLIENT_SECRET_FILE] =
	    { SECT_SMARTHOST, "oauth2_client_secret_file" },
	[KEY_OAUTH2_REFRESH_TOKEN_FILE] =
	    { SECT_SMARTHOST, "oauth2_refresh_token_file" },
	[KEY_SENDERS] = { SECT_SMARTHOST, "senders" },
	[KEY_REWRITE_FROM] = { SECT_SMARTHOST, "rewrite_from" },
	[KEY_FROM] = { SECT_SMARTHOST, "from" },
	[KEY_CLIENT_CERT] = { SECT_SMARTHOST, "client_cert" },
	[KEY_CLIENT_KEY] = { SECT_SMARTHOST, "client_key" },
	[KEY_PIN_SHA256] = { SECT_SMARTHOST, "pin_sha256" },
	[KEY_TLS_MIN] = { SECT_SMARTHOST, "tls_min" },
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
/* Words of a command line, and sender patterns in one section. */
#define CONF_ARGV_MAX 32
#define CONF_SENDERS_MAX 64
/* A SHA-256 in base64. */
#define CONF_PIN_LEN 44

/* Where each key of one smarthost section was set. */
struct conf_sh_lines {
	unsigned key[KEY_COUNT];
};

struct conf_parse {
	struct conf *c;
	FILE *fp;
	struct buf line;	/* the current line, without its line end */
	unsigned lineno;
	int errors;		/* problems reported so far */
	int oom;
	int read_errno;		/* nonzero: reading the file failed */
	enum conf_sect sect;
	size_t cur;			/* the smarthost section being read */
	unsigned sect_line[SECT_COUNT];	/* first header of each section */
	unsigned key_line[KEY_COUNT];	/* where each key was set, outside
					   the smarthost sections */
	struct conf_sh_lines shl[CONF_SMARTHOST_MAX];
	char label[CONF_NAME_MAX + 16];
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

static void conf_path(struct conf_parse *, const char *, const char *,
    char **);

static void
conf_alias_add(struct conf_parse *st, const char *name, const char *value)
{
	struct conf *c = st->c;
	struct conf_alias *a;
	size_t i;

	if (strcmp(name, "aliases_file") == 0) {
		if (c->aliases_file)
			conf_error(st, st->lineno, "duplicate key \"aliases_file\"");
		else
			conf_path(st, name, value, &c->aliases_file);
		return;
	}
	if (strchr(name, '@')) {
		conf_error(st, st->lineno, "malformed alias name \"%s\": "
		    "only local names without \"@\" can be aliased", name);
		return;
	}
	/* "*" catches every local name without an entry of its own */
	if (strcmp(name, "*") != 0 && !conf_is_alias_name(name)) {
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
	a->file = c->path;
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

/* Copies value, refusing control characters (they could end an SMTP or
 * HTTP line early). what names the key; secret values are not echoed. */
static void
conf_text(struct conf_parse *st, const char *name, const char *value,
    char **out)
{
	if (conf_has_ctl(value)) {
		conf_error(st, st->lineno, "malformed %s: control character",
		    name);
		return;
	}
	*out = conf_strdup(st, value);
}

/* A command line: its first word must be an absolute path (no shell
 * and no PATH search: what runs is what is written). */
static void
conf_cmdline(struct conf_parse *st, const char *name, const char *value,
    char **out)
{
	size_t words = 0;
	const char *p = value;

	if (conf_has_ctl(value)) {
		conf_error(st, st->lineno, "malformed %s: control character",
		    name);
		return;
	}
	if (value[0] != '/') {
		conf_error(st, st->lineno, "malformed %s \"%s\": the program "
		    "must be an absolute path (there is no shell)", name, value);
		return;
	}
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		words++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (words > CONF_ARGV_MAX) {
		conf_error(st, st->lineno, "malformed %s: more than %d words",
		    name, CONF_ARGV_MAX);
		return;
	}
	*out = conf_strdup(st, value);
}

/* senders = PATTERN, PATTERN, ...: globs on the envelope sender. */
static void
conf_senders(struct conf_parse *st, struct conf_smarthost *s,
    const char *value)
{
	char *copy, *tok, *save = NULL, **v;

	if ((copy = conf_strdup(st, value)) == NULL)
		return;
	for (tok = strtok_r(copy, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		tok = conf_lskip(tok);
		conf_rstrip(tok);
		if (*tok == '\0' || conf_has_ctl(tok) || strpbrk(tok, " \t<>")) {
			conf_error(st, st->lineno, "malformed senders: \"%s\" "
			    "is not an address pattern such as *@example.com",
			    tok);
			break;
		}
		if (s->nsenders >= CONF_SENDERS_MAX) {
			conf_error(st, st->lineno, "malformed senders: more "
			    "than %d patterns", CONF_SENDERS_MAX);
			break;
		}
		v = realloc(s->senders, (s->nsenders + 1) * sizeof(*v));
		if (v == NULL) {
			st->oom = 1;
			break;
		}
		s->senders = v;
		if ((v[s->nsenders] = conf_strdup(st, tok)) == NULL)
			break;
		s->nsenders++;
	}
	if (s->nsenders == 0 && st->errors == 0 && !st->oom)
		conf_error(st, st->lineno, "empty value for senders");
	free(copy);
}

static int
conf_b64(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

/* pin_sha256 = B64[, B64...], each optionally "sha256//B64": kept in
 * libcurl's form "sha256//B64;sha256//B64". */
static void
conf_pins(struct conf_parse *st, struct conf_smarthost *s, const char *value)
{
	struct buf b;
	char *copy, *tok, *save = NULL;
	size_t i;

	if ((copy = conf_strdup(st, value)) == NULL)
		return;
	buf_init(&b, 0);
	for (tok = strtok_r(copy, ",;", &save); tok;
	    tok = strtok_r(NULL, ",;", &save)) {
		tok = conf_lskip(tok);
		conf_rstrip(tok);
		if (strncmp(tok, "sha256//", 8) == 0)
			tok += 8;
		for (i = 0; i < CONF_PIN_LEN - 1 && conf_b64(tok[i]); i++)
			;
		if (i != CONF_PIN_LEN - 1 || strcmp(tok + i, "=") != 0) {
			conf_error(st, st->lineno, "malformed pin_sha256 "
			    "\"%s\": not a base64 SHA-256 (44 characters "
			    "ending in \"=\")", tok);
			goto out;
		}
		if (buf_printf(&b, "%ssha256//%s", b.len ? ";" : "", tok)
		    == -1) {
			st->oom = 1;
			goto out;
		}
	}
	if (b.len == 0)
		conf_error(st, st->lineno, "empty value for pin_sha256");
	else
		s->pin_sha256 = buf_take(&b);
out:
	buf_free(&b);
	free(copy);
}

/* 1 if s looks like an address: local@domain, nothing odd. */
static int
conf_is_address(const char *s)
{
	const char *at = strrchr(s, '@');

	return at && at != s && conf_is_domain(at + 1) && !conf_has_ctl(s) &&
	    !strpbrk(s, " \t<>()[],;:\"\\");
}

/* A key of a smarthost section. */
static void
conf_set_smarthost(struct conf_parse *st, enum conf_key k, const char *name,
    const char *value)
{
	struct conf_smarthost *s = &st->c->smarthost[st->cur];

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
		s->host = conf_strdup(st, value);
		break;
	case KEY_PORT:
		if (conf_uint(value, 1, 65535, &s->port) == -1)
			conf_error(st, st->lineno, "malformed port \"%s\": "
			    "not a number from 1 to 65535", value);
		break;
	case KEY_TLS:
		if (strcmp(value, "starttls") == 0)
			s->tls = CONF_TLS_STARTTLS;
		else if (strcmp(value, "implicit") == 0)
			s->tls = CONF_TLS_IMPLICIT;
		else if (strcmp(value, "none") == 0)
			s->tls = CONF_TLS_NONE;
		else
			conf_error(st, st->lineno, "malformed tls \"%s\": "
			    "not starttls, implicit or none", value);
		break;
	case KEY_CA_FILE:
		conf_path(st, name, value, &s->ca_file);
		break;
	case KEY_USER:
		conf_text(st, "user", value, &s->user);
		break;
	case KEY_PASSWORD:
		/* Never echoed: it is a secret. */
		conf_text(st, "password", value, &s->password);
		break;
	case KEY_PASSWORD_FILE:
		conf_path(st, name, value, &s->password_file);
		break;
	case KEY_PASSWORD_COMMAND:
		conf_cmdline(st, name, value, &s->password_command);
		break;
	case KEY_HELO:
		if (!conf_is_domain(value) && !conf_is_addr_literal(value)) {
			conf_error(st, st->lineno, "malformed helo \"%s\": "
			    "not a domain name or address literal", value);
			return;
		}
		s->helo = conf_strdup(st, value);
		break;
	case KEY_TIMEOUT:
		if (conf_uint(value, 1, CONF_TIMEOUT_MAX, &s->timeout) == -1)
			conf_error(st, st->lineno, "malformed timeout \"%s\": "
			    "not a number of seconds from 1 to %u", value,
			    CONF_TIMEOUT_MAX);
		break;
	case KEY_AUTH:
		if (strcmp(value, "plain") == 0)
			s->auth = CONF_AUTH_PLAIN;
		else if (strcmp(value, "login") == 0)
			s->auth = CONF_AUTH_LOGIN;
		else if (strcmp(value, "xoauth2") == 0)
			s->auth = CONF_AUTH_XOAUTH2;
		else if (strcmp(value, "oauthbearer") == 0)
			s->auth = CONF_AUTH_OAUTHBEARER;
		else if (strcmp(value, "external") == 0)
			s->auth = CONF_AUTH_EXTERNAL;
		else
			conf_error(st, st->lineno, "malformed auth \"%s\": not "
			    "plain, login, xoauth2, oauthbearer or external",
			    value);
		break;
	case KEY_OAUTH2_TOKEN_COMMAND:
		conf_cmdline(st, name, value, &s->oauth2_token_command);
		break;
	case KEY_OAUTH2_TOKEN_URL:
		if (strncmp(value, "https://", 8) != 0 || value[8] == '\0' ||
		    conf_has_ctl(value) || strpbrk(value, " \t")) {
			conf_error(st, st->lineno, "malformed %s \"%s\": not "
			    "an https:// URL", name, value);
			return;
		}
		s->oauth2_token_url = conf_strdup(st, value);
		break;
	case KEY_OAUTH2_CLIENT_ID:
		conf_text(st, name, value, &s->oauth2_client_id);
		break;
	case KEY_OAUTH2_CLIENT_SECRET_FILE:
		conf_path(st, name, value, &s->oauth2_client_secret_file);
		break;
	case KEY_OAUTH2_REFRESH_TOKEN_FILE:
		conf_path(st, name, value, &s->oauth2_refresh_token_file);
		break;
	case KEY_SENDERS:
		if (s->name == NULL) {
			conf_error(st, st->lineno, "senders in [smarthost]: "
			    "the default route takes every other sender; "
			    "put it in a [smarthost NAME] section");
			return;
		}
		conf_senders(st, s, value);
		break;
	case KEY_REWRITE_FROM:
		if (strcmp(value, "none") == 0)
			s->rewrite_from = 0;
		else if (strcmp(value, "envelope") == 0)
			s->rewrite_from = CONF_REWRITE_ENVELOPE;
		else if (strcmp(value, "header") == 0)
			s->rewrite_from = CONF_REWRITE_HEADER;
		else if (strcmp(value, "both") == 0)
			s->rewrite_from = CONF_REWRITE_ENVELOPE |
			    CONF_REWRITE_HEADER;
		else
			conf_error(st, st->lineno, "malformed rewrite_from "
			    "\"%s\": not none, envelope, header or both", value);
		break;
	case KEY_FROM:
		if (!conf_is_address(value)) {
			conf_error(st, st->lineno, "malformed from \"%s\": not "
			    "an address such as alerts@example.com", value);
			return;
		}
		s->from = conf_strdup(st, value);
		break;
	case KEY_CLIENT_CERT:
		conf_path(st, name, value, &s->client_cert);
		break;
	case KEY_CLIENT_KEY:
		conf_path(st, name, value, &s->client_key);
		break;
	case KEY_PIN_SHA256:
		conf_pins(st, s, value);
		break;
	case KEY_TLS_MIN:
		if (strcmp(value, "1.2") == 0)
			s->tls_min = 12;
		else if (strcmp(value, "1.3") == 0)
			s->tls_min = 13;
		else
			conf_error(st, st->lineno, "malformed tls_min \"%s\": "
			    "not 1.2 or 1.3", value);
		break;
	default:
		break;
	}
}

/* One "name = value" line in the current section. Reports what is wrong. */
static void
conf_set(struct conf_parse *st, const char *name, const char *value)
{
	struct conf *c = st->c;
	const char *sname = conf_sect_names[st->sect];
	unsigned *kl = st->key_line;
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
	case SECT_SMARTHOST:
		kl = st->shl[st->cur].key;
		sname = conf_smarthost_label(&c->smarthost[st->cur],
		    st->label, sizeof(st->label));
		/* the label has its brackets */
		sname++;
		st->label[strlen(st->label) - 1] = '\0';
		break;
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
	if (kl[k]) {
		conf_error(st, st->lineno,
		    "duplicate key \"%s\" in [%s] (first on line %u)",
		    name, sname, kl[k]);
		return;
	}
	kl[k] = st->lineno;
	if (*value == '\0') {
		conf_error(st, st->lineno, "empty value for %s", name);
		return;
	}
	if (st->sect == SECT_SMARTHOST) {
		conf_set_smarthost(st, k, name, value);
		return;
	}

	switch (k) {
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
	default:
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

/* 1 if s may name a smarthost section. */
static int
conf_is_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!(isascii((unsigned char)s[n]) &&
		    (isalnum((unsigned char)s[n]) || strchr(".-_", s[n]))))
			return 0;
	return n > 0 && n <= CONF_NAME_MAX && s[0] != '.';
}

/* Opens (or reopens) the smarthost section named name (NULL: the
 * default). */
static void
conf_section_smarthost(struct conf_parse *st, const char *name)
{
	struct conf *c = st->c;
	struct conf_smarthost *v;
	size_t i;

	for (i = 0; i < c->nsmarthost; i++) {
		const char *n = c->smarthost[i].name;

		if ((n == NULL && name == NULL) ||
		    (n && name && strcasecmp(n, name) == 0)) {
			st->cur = i;
			return;
		}
	}
	if (c->nsmarthost >= CONF_SMARTHOST_MAX) {
		conf_error(st, st->lineno, "more than %d smarthost sections",
		    CONF_SMARTHOST_MAX);
		st->sect = SECT_UNKNOWN;
		return;
	}
	v = realloc(c->smarthost, (c->nsmarthost + 1) * sizeof(*v));
	if (v == NULL) {
		st->oom = 1;
		st->sect = SECT_UNKNOWN;
		return;
	}
	c->smarthost = v;
	v = &c->smarthost[c->nsmarthost];
	memset(v, 0, sizeof(*v));
	v->line = st->lineno;
	if (name && (v->name = conf_strdup(st, name)) == NULL) {
		st->sect = SECT_UNKNOWN;
		return;
	}
	st->cur = c->nsmarthost++;
}

static void
conf_section(struct conf_parse *st, char *p)
{
	char *end = strchr(p, ']'), *name, *rest, *arg = NULL;
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
	/* "smarthost NAME" */
	if (strncmp(name, "smarthost", 9) == 0 &&
	    conf_isspace((unsigned char)name[9])) {
		name[9] = '\0';
		arg = conf_lskip(name + 10);
		if (!conf_is_name(arg)) {
			conf_error(st, st->lineno, "malformed section header "
			    "[smarthost %s]: the name may hold letters, "
			    "digits, \".\", \"-\" and \"_\"", arg);
			st->sect = SECT_UNKNOWN;
			return;
		}
	}
	for (s = SECT_SMARTHOST; s < SECT_UNKNOWN; s++)
		if (strcmp(conf_sect_names[s], name) == 0)
			break;
	st->sect = s;
	if (s == SECT_UNKNOWN) {
		conf_error(st, st->lineno, "unknown section [%s]", name);
		return;
	}
	if (st->sect_line[s] == 0)
		st->sect_line[s] = st->lineno;
	if (s == SECT_SMARTHOST)
		conf_section_smarthost(st, arg);
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

/* Checks on one smarthost section that need all of it. */
static void
conf_finish_smarthost(struct conf_parse *st, size_t i)
{
	struct conf_smarthost *s = &st->c->smarthost[i];
	unsigned *kl = st->shl[i].key;
	char label[CONF_NAME_MAX + 16];
	unsigned pw, oauth, last;
	int nsrc;

	conf_smarthost_label(s, label, sizeof(label));
	if (!kl[KEY_HOST])
		conf_error(st, s->line, "host is required in %s", label);
	nsrc = !!kl[KEY_PASSWORD] + !!kl[KEY_PASSWORD_FILE] +
	    !!kl[KEY_PASSWORD_COMMAND];
	pw = kl[KEY_PASSWORD] | kl[KEY_PASSWORD_FILE] |
	    kl[KEY_PASSWORD_COMMAND];
	last = kl[KEY_PASSWORD] > kl[KEY_PASSWORD_FILE] ?
	    kl[KEY_PASSWORD] : kl[KEY_PASSWORD_FILE];
	if (kl[KEY_PASSWORD_COMMAND] > last)
		last = kl[KEY_PASSWORD_COMMAND];
	if (nsrc > 1) {
		if (kl[KEY_PASSWORD] && kl[KEY_PASSWORD_FILE] &&
		    !kl[KEY_PASSWORD_COMMAND])
			conf_error(st, last,
			    "password and password_file are both set");
		else
			conf_error(st, last, "more than one of password, "
			    "password_file and password_command");
	}
	oauth = kl[KEY_OAUTH2_TOKEN_COMMAND] | kl[KEY_OAUTH2_TOKEN_URL] |
	    kl[KEY_OAUTH2_CLIENT_ID] | kl[KEY_OAUTH2_CLIENT_SECRET_FILE] |
	    kl[KEY_OAUTH2_REFRESH_TOKEN_FILE];

	switch (s->auth) {
	case CONF_AUTH_XOAUTH2:
	case CONF_AUTH_OAUTHBEARER:
		if (!kl[KEY_USER])
			conf_error(st, kl[KEY_AUTH], "auth = %s needs user "
			    "(the mail account)", s->auth == CONF_AUTH_XOAUTH2 ?
			    "xoauth2" : "oauthbearer");
		if (pw)
			conf_error(st, pw, "password with auth = %s: the "
			    "token comes from oauth2_token_command or "
			    "oauth2_token_url", s->auth == CONF_AUTH_XOAUTH2 ?
			    "xoauth2" : "oauthbearer");
		if (kl[KEY_OAUTH2_TOKEN_COMMAND] && kl[KEY_OAUTH2_TOKEN_URL])
			conf_error(st, kl[KEY_OAUTH2_TOKEN_URL],
			    "oauth2_token_command and oauth2_token_url are "
			    "both set");
		else if (!kl[KEY_OAUTH2_TOKEN_COMMAND] &&
		    !kl[KEY_OAUTH2_TOKEN_URL])
			conf_error(st, kl[KEY_AUTH], "auth = %s needs "
			    "oauth2_token_command or oauth2_token_url",
			    s->auth == CONF_AUTH_XOAUTH2 ? "xoauth2" :
			    "oauthbearer");
		else if (kl[KEY_OAUTH2_TOKEN_URL] &&
		    (!kl[KEY_OAUTH2_CLIENT_ID] ||
		    !kl[KEY_OAUTH2_REFRESH_TOKEN_FILE]))
			conf_error(st, kl[KEY_OAUTH2_TOKEN_URL],
			    "oauth2_token_url needs oauth2_client_id and "
			    "oauth2_refresh_token_file");
		else if (kl[KEY_OAUTH2_TOKEN_COMMAND] &&
		    (oauth & ~kl[KEY_OAUTH2_TOKEN_COMMAND]))
			conf_error(st, kl[KEY_OAUTH2_TOKEN_COMMAND],
			    "oauth2_token_command with other oauth2_ keys");
		break;
	case CONF_AUTH_EXTERNAL:
		if (!kl[KEY_CLIENT_CERT])
			conf_error(st, kl[KEY_AUTH],
			    "auth = external needs client_cert");
		if (pw)
			conf_error(st, pw, "password with auth = external");
		break;
	default:
		if (kl[KEY_USER] && !pw)
			conf_error(st, kl[KEY_USER],
			    "user without password or password_file");
		if (!kl[KEY_USER]) {
			if (kl[KEY_PASSWORD])
				conf_error(st, kl[KEY_PASSWORD],
				    "password without user");
			if (kl[KEY_PASSWORD_FILE])
				conf_error(st, kl[KEY_PASSWORD_FILE],
				    "password_file without user");
			if (kl[KEY_PASSWORD_COMMAND])
				conf_error(st, kl[KEY_PASSWORD_COMMAND],
				    "password_command without user");
			if (kl[KEY_AUTH])
				conf_error(st, kl[KEY_AUTH],
				    "auth without user");
		}
		break;
	}
	if (oauth && s->auth != CONF_AUTH_XOAUTH2 &&
	    s->auth != CONF_AUTH_OAUTHBEARER)
		conf_error(st, oauth, "oauth2_ keys without auth = xoauth2 "
		    "or oauthbearer");
	if (s->tls == CONF_TLS_NONE &&
	    (kl[KEY_USER] | pw | kl[KEY_AUTH]))
		conf_error(st, kl[KEY_TLS], "credentials with tls = none: "
		    "AUTH would be sent in cleartext");
	if (s->tls == CONF_TLS_NONE && (kl[KEY_CLIENT_CERT] |
	    kl[KEY_CLIENT_KEY] | kl[KEY_PIN_SHA256] | kl[KEY_TLS_MIN] |
	    kl[KEY_CA_FILE]))
		conf_error(st, kl[KEY_TLS], "TLS settings with tls = none");
	if (kl[KEY_CLIENT_KEY] && !kl[KEY_CLIENT_CERT])
		conf_error(st, kl[KEY_CLIENT_KEY],
		    "client_key without client_cert");
	if (s->rewrite_from && conf_from(s) == NULL)
		conf_error(st, kl[KEY_REWRITE_FROM], "rewrite_from needs from, "
		    "or a user that is an address");

	if (s->port == 0)
		s->port = s->tls == CONF_TLS_IMPLICIT ?
		    CONF_PORT_IMPLICIT : CONF_PORT_STARTTLS;
	if (s->timeout == 0)
		s->timeout = CONF_TIMEOUT_DEFAULT;
	if (s->tls_min == 0)
		s->tls_min = 12;
}

/* Checks that need the whole file. */
/*
 * aliases_file: the classic format of /etc/aliases. "name: a, b" per
 * entry, continued on lines that start with white space; "#" starts a
 * comment line. Entries in sendq.ini come first; a name the file repeats
 * is skipped. Pipes, files and :include: are refused by alias_check(),
 * with this file's name and line, and never run.
 */
static void
conf_aliases_file(struct conf_parse *st)
{
	struct conf *c = st->c;
	struct buf entry;
	char *line = NULL, *colon;
	size_t cap = 0, i, first = c->naliases;
	unsigned lineno = 0, start = 0;
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(c->aliases_file, "r")) == NULL) {
		log_errno(NULL, "%s", c->aliases_file);
		st->errors++;
		return;
	}
	buf_init(&entry, 64 * 1024);
	for (;;) {
		n = getline(&line, &cap, fp);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n >= 0)
			lineno++;
		/* a continuation joins the entry being read */
		if (n > 0 && (line[0] == ' ' || line[0] == '\t') && entry.len) {
			if (buf_append(&entry, line, (size_t)n) == -1)
				goto toolong;
			continue;
		}
		if (entry.len) {
			colon = strchr(entry.data, ':');
			if (colon == NULL || colon == entry.data) {
				log_err(NULL, "%s:%u: not \"name: addresses\"",
				    c->aliases_file, start);
				st->errors++;
			} else {
				*colon = '\0';
				for (i = 0; i < c->naliases; i++)
					if (strcasecmp(c->aliases[i].name,
					    entry.data) == 0)
						break;
				if (i == c->naliases) {
					unsigned keep = st->lineno;

					st->lineno = start;
					conf_alias_add(st, entry.data, colon + 1 +
					    strspn(colon + 1, " \t"));
					st->lineno = keep;
					if (c->naliases > first)
						c->aliases[c->naliases - 1].file =
						    c->aliases_file;
				}
			}
			buf_reset(&entry);
		}
		if (n < 0)
			break;
		if (n == 0 || line[0] == '#')
			continue;
		start = lineno;
		if (buf_append(&entry, line, (size_t)n) == -1)
			goto toolong;
	}
	goto out;
toolong:
	log_err(NULL, "%s:%u: entry longer than 64 KiB", c->aliases_file,
	    start);
	st->errors++;
out:
	free(line);
	buf_free(&entry);
	fclose(fp);
}

static void
conf_finish(struct conf_parse *st)
{
	struct conf *c = st->c;
	unsigned *kl = st->key_line;
	size_t i;

	for (i = 0; i < c->nsmarthost; i++)
		if (c->smarthost[i].name == NULL)
			break;
	if (i == c->nsmarthost)
		conf_error(st, 0, "host is required in [smarthost]");
	for (i = 0; i < c->nsmarthost; i++)
		conf_finish_smarthost(st, i);

	if (c->queue_dir == NULL && !kl[KEY_DIR])
		c->queue_dir = conf_strdup(st, SENDQ_SPOOLDIR);
	if (c->aliases_file)
		conf_aliases_file(st);
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

static void conf_why(char **, const char *, ...)
	__attribute__((format(printf, 2, 3)));

/* A reason: into *why when why is not NULL, else on stderr. */
static void
conf_why(char **why, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg)
		log_sanitize(msg);
	if (why) {
		free(*why);
		*why = msg ? msg : strdup("out of memory");
		return;
	}
	if (msg)
		log_err(NULL, "%s", msg);
	free(msg);
}

/*
 * A file holding a secret must not be readable or writable by others: a
 * looser one is refused, saying which file and mode, rather than used.
 * Group access is allowed (root:sendq 0640 is the intended setting).
 */
static int
conf_private(int fd, const char *path, const char *what, char **why)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1) {
		conf_why(why, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		conf_why(why, "%s: holds %s but has mode %04o; make it "
		    "unreadable by others (chmod o-rw)", path, what,
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* 1 if a smarthost section holds a password itself. */
static int
conf_has_password(const struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nsmarthost; i++)
		if (c->smarthost[i].password)
			return 1;
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
	if (conf_has_password(c) &&
	    conf_private(fileno(st.fp), path, "the smarthost password",
	    NULL) == -1)
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

/* The first line of a private file; what says what it holds. */
static char *
conf_first_line(const char *path, const char *what, const char *empty,
    char **why)
{
	struct buf b;
	FILE *fp;
	int ch;
	char *line;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_why(why, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (conf_private(fileno(fp), path, what, why) == -1) {
		fclose(fp);
		return NULL;
	}
	buf_init(&b, CONF_LINE_MAX + 1);
	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (buf_putc(&b, ch) == -1) {
			if (errno == E2BIG)
				conf_why(why, "%s: first line longer than %d "
				    "bytes", path, CONF_LINE_MAX);
			else
				conf_why(why, "%s: %s", path, strerror(errno));
			goto fail;
		}
	}
	if (ferror(fp)) {
		conf_why(why, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		conf_why(why, "%s: %s", path, empty);
		goto fail;
	}
	if (b.len > CONF_LINE_MAX) {
		conf_why(why, "%s: first line longer than %d bytes", path,
		    CONF_LINE_MAX);
		goto fail;
	}
	if (conf_has_ctl(b.data) || memchr(b.data, '\0', b.len)) {
		conf_why(why, "%s: control character in the first line",
		    path);
		goto fail;
	}
	fclose(fp);
	if ((line = buf_take(&b)) == NULL)
		conf_why(why, "%s: %s", path, strerror(errno));
	return line;
fail:
	fclose(fp);
	if (b.data)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
	return NULL;
}

char *
conf_secret(const char *path, const char *what, char **why)
{
	return conf_first_line(path, what, "empty file", why);
}

char *
conf_password(const struct conf_smarthost *s, int *none, char **why)
{
	char *pw = NULL, *err = NULL;

	if (none)
		*none = 0;
	if (s->password) {
		if ((pw = strdup(s->password)) == NULL)
			conf_why(why, "out of memory");
		return pw;
	}
	if (s->password_file)
		return conf_first_line(s->password_file,
		    "the smarthost password", "empty password file", why);
	if (s->password_command) {
		if (conf_command(s->password_command, &pw, &err) == -1) {
			conf_why(why, "password_command: %s",
			    err ? err : "failed");
			free(err);
			return NULL;
		}
		return pw;
	}
	if (none)
		*none = 1;
	return NULL;
}

/*
 * The child of conf_command: stdin /dev/null, stdout and stderr the
 * pipes, SIGPIPE back to its default, no environment but a fixed PATH.
 */
static void
conf_exec(char *const argv[], int out, int err)
{
	char *const envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	int fd;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) == -1 || dup2(fd, 0) == -1 ||
	    dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(126);
	execve(argv[0], argv, envp);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static long long
conf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs the complete lines of a child's stderr in b, keeping the first
 * one in *first; with flush, what is left too. */
static void
conf_stderr_lines(struct buf *b, const char *prog, char **first, int flush)
{
	char *nl;
	size_t n;

	while (b->len > 0) {
		nl = memchr(b->data, '\n', b->len);
		if (nl == NULL && !flush)
			return;
		n = nl ? (size_t)(nl - b->data) : b->len;
		b->data[n] = '\0';
		log_sanitize(b->data);
		if (n > 0) {
			log_mail(LOG_NOTICE, "%s: %s", prog, b->data);
			if (*first == NULL)
				*first = strdup(b->data);
		}
		n = nl ? n + 1 : b->len;
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
		b->data[b->len] = '\0';
	}
}

int
conf_command(const char *cmd, char **line, char **why)
{
	char *copy = NULL, *argv[CONF_ARGV_MAX + 1], *tok, *save = NULL;
	char *first_err = NULL, chunk[4096], *nl;
	struct pollfd pfd[2];
	struct buf out, err;
	long long deadline;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, status = 0, n, i;
	int argc = 0, timed_out = 0, toolong = 0, rc = -1;
	pid_t pid;
	ssize_t got;

	*line = NULL;
	*why = NULL;
	buf_init(&out, CONF_LINE_MAX + 1);
	buf_init(&err, 8192);
	if ((copy = strdup(cmd)) == NULL)
		goto oom;
	for (tok = strtok_r(copy, " \t", &save); tok && argc < CONF_ARGV_MAX;
	    tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] != '/') {
		conf_why(why, "%s: not an absolute path", argc ? argv[0] : "");
		goto out;
	}
	if (pipe2(po, O_CLOEXEC) == -1 || pipe2(pe, O_CLOEXEC) == -1) {
		conf_why(why, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		conf_why(why, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		conf_exec(argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;

	deadline = conf_now_ms() + CONF_COMMAND_TIMEOUT * 1000LL;
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		long long left = deadline - conf_now_ms();

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		n = poll(pfd, 2, (int)left);
		if (n == -1 && errno != EINTR)
			break;
		for (i = 0; n > 0 && i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			got = read(pfd[i].fd, chunk, sizeof(chunk));
			if (got <= 0) {
				if (got == -1 && errno == EINTR)
					continue;
				pfd[i].fd = -1;
				continue;
			}
			if (i == 0) {
				/* The first line is all we keep; the rest
				 * is read and dropped. */
				if (!toolong && !memchr(out.data ? out.data :
				    "", '\n', out.len) && buf_append(&out,
				    chunk, (size_t)got) == -1) {
					if (errno != E2BIG)
						goto oom_child;
					/* unless the line ends in what
					 * did not fit, it is too long */
					nl = memchr(chunk, '\n', (size_t)got);
					if (nl == NULL || out.len + (size_t)
					    (nl - chunk) > CONF_LINE_MAX)
						toolong = 1;
					else if (buf_append(&out, chunk,
					    (size_t)(nl - chunk) + 1) == -1)
						toolong = 1;
				}
			} else {
				if (buf_append(&err, chunk, (size_t)got) == -1)
					err.len = 0;	/* over-long: drop */
				conf_stderr_lines(&err, argv[0], &first_err, 0);
			}
		}
	}
	conf_stderr_lines(&err, argv[0], &first_err, 1);
	if (timed_out || pfd[0].fd != -1 || pfd[1].fd != -1)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (timed_out) {
		conf_why(why, "%s: no answer within %d seconds", argv[0],
		    CONF_COMMAND_TIMEOUT);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status))
			conf_why(why, "%s exited with status %d%s%s", argv[0],
			    WEXITSTATUS(status), first_err ? ": " : "",
			    first_err ? first_err : "");
		else
			conf_why(why, "%s died of signal %d", argv[0],
			    WTERMSIG(status));
		goto out;
	}
	if (out.data && (nl = memchr(out.data, '\n', out.len)) != NULL)
		out.len = (size_t)(nl - out.data);
	if (out.len > 0 && out.data[out.len - 1] == '\r')
		out.len--;
	if (out.data)
		out.data[out.len] = '\0';
	if (out.len == 0 || out.len > CONF_LINE_MAX || toolong) {
		conf_why(why, "%s printed %s", argv[0], out.len || toolong ?
		    "a line longer than 1024 bytes" : "nothing");
		goto out;
	}
	if (conf_has_ctl(out.data) || memchr(out.data, '\0', out.len)) {
		conf_why(why, "%s printed a control character", argv[0]);
		goto out;
	}
	if ((*line = strdup(out.data)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom_child:
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
oom:
	conf_why(why, "out of memory");
out:
	for (i = 0; i < 2; i++) {
		if (po[i] != -1)
			close(po[i]);
		if (pe[i] != -1)
			close(pe[i]);
	}
	if (out.data)
		explicit_bzero(out.data, out.cap);
	buf_free(&out);
	buf_free(&err);
	free(first_err);
	free(copy);
	return rc;
}

size_t
conf_route(const struct conf *c, const char *sender, size_t *idx)
{
	size_t i, j, n = 0;

	for (i = 0; sender[0] && i < c->nsmarthost; i++)
		for (j = 0; j < c->smarthost[i].nsenders; j++)
			if (fnmatch(c->smarthost[i].senders[j], sender,
			    FNM_CASEFOLD) == 0) {
				idx[n++] = i;
				break;
			}
	if (n)
		return n;
	for (i = 0; i < c->nsmarthost; i++)
		if (c->smarthost[i].nsenders == 0)
			idx[n++] = i;
	return n;
}

const char *
conf_from(const struct conf_smarthost *s)
{
	if (s->from)
		return s->from;
	if (s->user && conf_is_address(s->user))
		return s->user;
	return NULL;
}

const char *
conf_smarthost_label(const struct conf_smarthost *s, char *buf, size_t size)
{
	if (s->name)
		snprintf(buf, size, "[smarthost %s]", s->name);
	else
		snprintf(buf, size, "[smarthost]");
	return buf;
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

static void
conf_smarthost_free(struct conf_smarthost *s)
{
	size_t i;

	free(s->name);
	free(s->host);
	free(s->ca_file);
	free(s->user);
	conf_wipe(s->password);
	free(s->password_file);
	free(s->password_command);
	free(s->helo);
	free(s->oauth2_token_command);
	free(s->oauth2_token_url);
	free(s->oauth2_client_id);
	free(s->oauth2_client_secret_file);
	free(s->oauth2_refresh_token_file);
	for (i = 0; i < s->nsenders; i++)
		free(s->senders[i]);
	free(s->senders);
	free(s->from);
	free(s->client_cert);
	free(s->client_key);
	free(s->pin_sha256);
}

void
conf_free(struct conf *c)
{
	size_t i;

	free(c->path);
	for (i = 0; i < c->nsmarthost; i++)
		conf_smarthost_free(&c->smarthost[i]);
	free(c->smarthost);
	free(c->domain);
	free(c->queue_dir);
	free(c->aliases_file);
	for (i = 0; i < c->naliases; i++) {
		free(c->aliases[i].name);
		free(c->aliases[i].value);
	}
	free(c->aliases);
	memset(c, 0, sizeof(*c));
}
