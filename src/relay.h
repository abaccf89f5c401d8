#ifndef SENDQ_RELAY_H
#define SENDQ_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/*
 * The SMTP client, and the only file that includes <curl/curl.h>.
 *
 * libcurl (CURLOPT_CONNECT_ONLY) does the connection, TLS with
 * verification, STARTTLS, EHLO and SASL AUTH; relay.c then speaks MAIL,
 * RCPT, DATA, RSET and QUIT itself with its own reply parser and
 * dot-stuffing, because libcurl 7.88's own upload loses bytes, cannot
 * pass BODY=8BITMIME or DSN parameters, and hides per-recipient replies.
 *
 * One struct relay is one connection: relay_open once, relay_send for
 * each message (all on one login), relay_close once.
 */

struct relay;

/* A reply, or a local failure dressed as one. text is sanitised (no byte
 * below 0x20 or 0x7f), the lines of a multi-line reply joined by " ",
 * capped at RELAY_TEXT_MAX, malloc'ed; NULL when there is none. */
#define RELAY_TEXT_MAX 1024

struct relay_reply {
	int code;	/* 200..599 from the server; 0 = no reply (network,
			   TLS, timeout, local error): treat as temporary */
	char *text;
};

void relay_reply_free(struct relay_reply *r);

/* 1 if the reply means "try again later": code 0 or 4xx. */
int relay_reply_temporary(const struct relay_reply *r);

/*
 * Connects to smarthost s of c, secures and logs in as s says. The
 * secret is fetched here, for each connection: the password (password,
 * password_file, password_command) or the OAuth2 access token (from
 * oauth2_token_command, or the cache in c->queue_dir refreshed from
 * oauth2_token_url; see relay_oauth2_token). AUTH happens when s has a
 * user or auth = external; then a 235 must come back, or the open fails.
 * A refused OAuth2 login is retried once with a new token. verbose prints
 * the conversation to stderr with AUTH lines hidden. Returns 0 and *rp,
 * or -1 with *err filled (code 0 for local trouble, including a failed
 * token refresh; nothing to close). Never falls back to cleartext.
 */
int relay_open(struct relay **rp, const struct conf *c,
    const struct conf_smarthost *s, int verbose, struct relay_reply *err);

/*
 * The OAuth2 access token of s (auth = xoauth2 or oauthbearer): the
 * first line of oauth2_token_command's output, or, with
 * oauth2_token_url, the cached one in DIR/oauth2[-NAME].cache while more
 * than RELAY_OAUTH2_MARGIN seconds remain, else a new one from the
 * endpoint (a refresh_token grant over verified HTTPS), cached with its
 * expiry (mode 0600, replaced atomically). force skips the cache.
 * Returns 0 with *token (the caller wipes and frees) and *cached (1 when
 * it came from the cache), or -1 with *err (code 0, the endpoint's
 * error in the text).
 */
#define RELAY_OAUTH2_MARGIN 60
int relay_oauth2_token(const struct conf *c, const struct conf_smarthost *s,
    int force, char **token, int *cached, struct relay_reply *err);

/* What the smarthost said it supports in its last EHLO. */
#define RELAY_EXT_8BITMIME 0x01
#define RELAY_EXT_SMTPUTF8 0x02
#define RELAY_EXT_SIZE 0x04
#define RELAY_EXT_DSN 0x08
#define RELAY_EXT_PIPELINING 0x10
#define RELAY_EXT_ENHANCED 0x20
unsigned relay_extensions(const struct relay *r);

/* The smarthost as "host[addr]:port", for the log. */
const char *relay_peer(const struct relay *r);

/* Reads the next piece of the message (CRLF line ends, not dot-stuffed):
 * sets *p and *n and returns 0; *n == 0 at the end; -1 on error (the
 * message is then abandoned without the final dot). */
typedef int (*relay_read_fn)(void *ctx, const char **p, size_t *n);

struct relay_msg {
	const char *sender;		/* "" for the null sender <> */
	const char *const *rcpt;	/* 1..RELAY_RCPT_MAX addresses */
	size_t nrcpt;
	uint64_t size;			/* for SIZE= when offered; 0 = unknown */
	int eightbit;			/* BODY=8BITMIME when offered */
	const char *ret;		/* DSN RET= value or NULL (when offered) */
	const char *envid;		/* DSN ENVID= value or NULL */
	const char *notify;		/* DSN NOTIFY= for every RCPT, or NULL */
	relay_read_fn read;
	void *ctx;
};

#define RELAY_RCPT_MAX 100

struct relay_result {
	struct relay_reply mail;	/* reply to MAIL FROM */
	struct relay_reply *rcpt;	/* nrcpt replies, allocated by relay_send */
	size_t nrcpt;
	struct relay_reply data;	/* reply to DATA if refused, else the reply
					   after the final dot: the commit point */
	int committed;			/* data.code was 2xx: the server has it */
	int body_sent;			/* DATA got 354: from here on a failure
					   may have delivered the message, so
					   no other smarthost may be tried */
};

void relay_result_free(struct relay_result *res);

/*
 * One transaction: MAIL, every RCPT (going on past refused recipients),
 * DATA when at least one was accepted, the body, the final dot. Each
 * recipient's outcome is res->rcpt[i] when the transaction failed before
 * DATA, else res->data for those whose RCPT got 2xx.
 * Returns 0 when the server answered to the end (the connection can carry
 * another message; RSET was sent if the transaction failed), -1 when the
 * connection is lost or unusable (res says how far it got; the caller
 * must relay_close and not reuse it).
 */
int relay_send(struct relay *r, const struct relay_msg *m,
    struct relay_result *res);

/* Sends QUIT (its reply and errors ignored), closes, frees. NULL is fine. */
void relay_close(struct relay *r);

/* Process-wide libcurl set-up; call once, after the environment was
 * cleared (libcurl reads SSLKEYLOGFILE and proxies from it). 0 or -1. */
int relay_global_init(void);
void relay_global_cleanup(void);

#endif
