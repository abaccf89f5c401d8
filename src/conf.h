#ifndef SENDQ_CONF_H
#define SENDQ_CONF_H

#include <stddef.h>

/*
 * The configuration, read once from an INI file (default SYSCONFDIR
 * "/sendq.ini", or the file named by -C) and passed down as
 * const struct conf *. There are no configuration globals.
 *
 * Format and keys are documented in man/sendq.ini.5; the parser in conf.c
 * refuses unknown sections and keys, duplicate keys, malformed values,
 * lines longer than CONF_LINE_MAX, a missing host, and credentials with
 * tls = none, each with "FILE:LINE: what is wrong".
 */

#define CONF_LINE_MAX 1024

enum conf_tls {
	CONF_TLS_STARTTLS,	/* default: STARTTLS required, never cleartext */
	CONF_TLS_IMPLICIT,	/* TLS from the first byte (smtps, port 465) */
	CONF_TLS_NONE		/* cleartext; refused together with credentials */
};

/* One [aliases] entry as written: "name = value". alias.c parses value. */
struct conf_alias {
	char *name;
	char *value;
	unsigned line;
};

struct conf {
	char *path;		/* the file this came from */

	/* [smarthost] */
	char *host;		/* required */
	unsigned port;		/* default 587, or 465 for implicit */
	enum conf_tls tls;
	char *ca_file;		/* NULL: the system trust store */
	char *user;		/* NULL: no AUTH */
	char *password;		/* from "password"; NULL when unset */
	char *password_file;	/* read by conf_password(), never at load */
	char *helo;		/* NULL: this host's fully qualified name */
	unsigned timeout;	/* seconds for connect and each reply; default 300 */

	/* [sender] */
	char *domain;		/* NULL: this host's fully qualified name */

	/* [queue] */
	char *queue_dir;	/* default SPOOLDIR */
	unsigned long retry_first;	/* seconds before the first retry: 300 */
	unsigned long retry_max;	/* cap on the time between tries: 3600 */
	unsigned long lifetime;		/* give up after this long: 5 days */
	unsigned per_connection;	/* messages per SMTP connection: 100 */

	/* [aliases] */
	struct conf_alias *aliases;
	size_t naliases;
};

/*
 * Reads and checks path into c (which it first zeroes). On failure prints
 * one line per problem ("prog: FILE:LINE: detail") through log_err and
 * returns EX_CONFIG; a file that cannot be opened is EX_CONFIG too, with
 * its errno text. Returns 0 on success. Does not read password_file.
 */
int conf_load(struct conf *c, const char *path);

/*
 * The smarthost password: "password" if set, else the first line of
 * password_file (without its line end). Returns a string the caller frees
 * (and should wipe), or NULL with the reason printed via log_err; a conf
 * without either also gives NULL, with nothing printed, and *none = 1.
 */
char *conf_password(const struct conf *c, int *none);

/* The sender domain: [sender] domain, else this host's fully qualified
 * name (never "localhost" when the host has a better one). Returns a
 * string the caller frees, NULL on ENOMEM. */
char *conf_domain(const struct conf *c);

/*
 * Parses a duration in Sendmail's form: digits followed by s, m, h or d,
 * repeated ("1h30m"); bare digits are minutes. At most 365 days.
 * Returns 0 with *secs, or -1.
 */
int conf_duration(const char *s, unsigned long *secs);

void conf_free(struct conf *c);

#endif
