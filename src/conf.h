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
 * lines longer than CONF_LINE_MAX, a missing host, credentials with
 * tls = none, and keys that do not go together, each with
 * "FILE:LINE: what is wrong".
 */

#define CONF_LINE_MAX 1024

enum conf_tls {
	CONF_TLS_STARTTLS,	/* default: STARTTLS required, never cleartext */
	CONF_TLS_IMPLICIT,	/* TLS from the first byte (smtps, port 465) */
	CONF_TLS_NONE		/* cleartext; refused together with credentials */
};

/* One [aliases] entry as written: "name = value". alias.c parses value. */
struct conf_alias {
	char *name;		/* a local name, or "*" for every other */
	char *value;
	unsigned line;
	const char *file;	/* conf->path or conf->aliases_file */
};

/* auth = ...: which SASL mechanism logs in. */
enum conf_auth {
	CONF_AUTH_DEFAULT,	/* PLAIN or LOGIN, as the server offers */
	CONF_AUTH_PLAIN,
	CONF_AUTH_LOGIN,
	CONF_AUTH_XOAUTH2,	/* an OAuth2 access token (Gmail, M365) */
	CONF_AUTH_OAUTHBEARER,	/* the same, RFC 7628 */
	CONF_AUTH_EXTERNAL	/* the TLS client certificate */
};

/* rewrite_from = ...: bits. */
#define CONF_REWRITE_ENVELOPE 0x1
#define CONF_REWRITE_HEADER 0x2

/* At most this many smarthost sections. */
#define CONF_SMARTHOST_MAX 16
/* Section names: letters, digits, '.', '-', '_'; at most this long. */
#define CONF_NAME_MAX 64

/*
 * One smarthost section: [smarthost] (name NULL, the default route) or
 * [smarthost NAME]. Secrets are read when a connection needs them, by
 * conf_password() and the relay, never at load.
 */
struct conf_smarthost {
	char *name;		/* NULL for [smarthost] */
	unsigned line;		/* its first header */
	char *host;		/* required */
	unsigned port;		/* default 587, or 465 for implicit */
	enum conf_tls tls;
	char *ca_file;		/* NULL: the system trust store */
	char *user;		/* NULL: no AUTH (but see auth = external) */
	char *password;		/* from "password"; NULL when unset */
	char *password_file;	/* read by conf_password(), never at load */
	char *password_command;	/* run by conf_password() */
	char *helo;		/* NULL: this host's fully qualified name */
	unsigned timeout;	/* seconds for connect and each reply; 300 */
	enum conf_auth auth;
	char *oauth2_token_command;	/* prints an access token */
	char *oauth2_token_url;		/* or: sendq refreshes (https only) */
	char *oauth2_client_id;
	char *oauth2_client_secret_file;	/* NULL: a public client */
	char *oauth2_refresh_token_file;
	char **senders;		/* envelope sender patterns; NULL: none */
	size_t nsenders;
	unsigned rewrite_from;	/* CONF_REWRITE_* bits */
	char *from;		/* the account's address; NULL: user, when
				   it is an address */
	char *client_cert;	/* PEM; NULL: none */
	char *client_key;	/* PEM; NULL: in client_cert */
	char *pin_sha256;	/* "sha256//B64;sha256//B64" for libcurl */
	unsigned tls_min;	/* 12 (default) or 13 */
};

struct conf {
	char *path;		/* the file this came from */
	char *aliases_file;	/* [aliases] aliases_file: a classic
				   "name: a, b" file read too, or NULL */

	/* [smarthost], then each [smarthost NAME], in file order; the
	 * default [smarthost] is always there. */
	struct conf_smarthost *smarthost;
	size_t nsmarthost;

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
 * The smarthost password of s: "password" if set, else the first line of
 * password_file (without its line end), else the first line that
 * password_command prints. Returns a string the caller frees (and should
 * wipe), or NULL: with the reason in *why (malloc'ed, the caller frees)
 * when why is not NULL, else printed via log_err. A section without
 * any of the three also gives NULL, with no reason, and *none = 1.
 */
char *conf_password(const struct conf_smarthost *s, int *none, char **why);

/*
 * Runs cmd without a shell: argv is cmd split on spaces and tabs (no
 * quoting; argv[0] an absolute path), stdin /dev/null, an empty
 * environment but PATH. Its stdout's first line (at most CONF_LINE_MAX
 * bytes, no control characters) is returned in *line (the caller wipes
 * and frees); each line of its stderr goes to the mail log. It must exit
 * 0 within CONF_COMMAND_TIMEOUT seconds, or it is killed. Returns 0, or
 * -1 with *why (malloc'ed) saying what went wrong.
 */
#define CONF_COMMAND_TIMEOUT 30
int conf_command(const char *cmd, char **line, char **why);

/*
 * The first line of a secret file (password_file, the OAuth2 client
 * secret and refresh token), refused when others may read it. Returns
 * the line (the caller wipes and frees) or NULL with *why (malloc'ed).
 */
char *conf_secret(const char *path, const char *what, char **why);

/*
 * The smarthost sections a message from sender goes to, in the order to
 * try them: those whose senders patterns match it (case-insensitive
 * globs), else those without senders (the default [smarthost] among
 * them), in file order. Fills idx (room for CONF_SMARTHOST_MAX) and
 * returns how many, at least 1.
 */
size_t conf_route(const struct conf *c, const char *sender, size_t *idx);

/* The account's address for rewrite_from: from, else user when it holds
 * an "@", else NULL. */
const char *conf_from(const struct conf_smarthost *s);

/* The section as written: "[smarthost]" or "[smarthost NAME]". */
const char *conf_smarthost_label(const struct conf_smarthost *s, char *buf,
    size_t size);

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
