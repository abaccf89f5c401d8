/*
 * The SMTP client. libcurl, in CONNECT_ONLY mode, connects, reads the
 * greeting, says EHLO, does STARTTLS (or implicit TLS) with certificate
 * and host name checks, says EHLO again and logs in with SASL. Then it
 * stops, and this file speaks the transaction itself over
 * curl_easy_send()/curl_easy_recv(): MAIL, RCPT, DATA, RSET and QUIT,
 * with the reply parser, dot-stuffing and argument checks of smtp.c.
 * See relay.h for why.
 *
 * What libcurl does in the connect phase is watched from two callbacks:
 * the debug callback sees every command it sends (so we know what each
 * reply answers, and can hide AUTH in -v output), the header callback
 * every reply line (fed to our own parser, for the EHLO keywords, the
 * 235 that proves the login, and the server's code when the connect
 * fails).
 */
#include "relay.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "smtp.h"

_Static_assert(RELAY_EXT_8BITMIME == SMTP_EXT_8BITMIME &&
    RELAY_EXT_SMTPUTF8 == SMTP_EXT_SMTPUTF8 &&
    RELAY_EXT_SIZE == SMTP_EXT_SIZE && RELAY_EXT_DSN == SMTP_EXT_DSN &&
    RELAY_EXT_PIPELINING == SMTP_EXT_PIPELINING &&
    RELAY_EXT_ENHANCED == SMTP_EXT_ENHANCED,
    "relay.h and smtp.h disagree on EHLO flags");
_Static_assert(RELAY_TEXT_MAX == SMTP_TEXT_MAX,
    "relay.h and smtp.h disagree on the text cap");

#define RELAY_TIMEOUT_DEFAULT 300
/* RFC 5321 4.5.3.2.6: wait at least 10 minutes for the reply to the
 * final dot, the commit point; giving up early duplicates mail. */
#define RELAY_DOT_TIMEOUT 600
/* The QUIT reply changes nothing; do not wait long for it. */
#define RELAY_QUIT_TIMEOUT 30
/* Body bytes gathered before a send. */
#define RELAY_CHUNK (64 * 1024)
/* What one curl_easy_recv() reads; only a transport size, replies are
 * capped by the parser. */
#define RELAY_RECV 4096

enum relay_cmd {
	RELAY_CMD_NONE,
	RELAY_CMD_EHLO,
	RELAY_CMD_HELO,
	RELAY_CMD_STARTTLS,
	RELAY_CMD_AUTH,
	RELAY_CMD_OTHER
};

struct relay {
	CURL *curl;
	CURLU *url;
	curl_socket_t fd;
	unsigned timeout;
	unsigned port;
	int verbose;
	int broken;		/* lost or out of step: no more commands */
	unsigned ext;
	char *peer;
	char *io_err;		/* why the last send or receive failed */
	char errbuf[CURL_ERROR_SIZE];

	/* The connect phase, as seen from libcurl's callbacks. */
	struct smtp_parser hp;
	enum relay_cmd cmd;	/* the last command libcurl sent */
	int hiding;		/* in AUTH: client lines are secret */
	int auth_ok;		/* 235 seen */
	int auth_refused;	/* the open failed on a refused AUTH */
	int hp_bad;		/* a reply our parser refused */
	int last_code;		/* the last complete reply */
	char *last_text;

	/* Our own phase. */
	struct smtp_parser rp;
	struct buf in;		/* bytes received after the last reply */
	struct buf out;		/* what is being sent */
};

static int relay_wants_auth(const struct conf_smarthost *);
static const char *relay_mech_name(enum conf_auth);

static long long
relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints one line of the conversation, without its line end and with
 * control bytes as spaces (server text is hostile). */
static void
relay_print(const char *prefix, const char *s, size_t n)
{
	size_t i;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	fputs(prefix, stderr);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		fputc(c < 0x20 || c == 0x7f ? ' ' : c, stderr);
	}
	fputc('\n', stderr);
}

static void
relay_print_line(void *arg, const char *line, size_t n)
{
	struct relay *r = arg;

	if (r->verbose)
		relay_print("<<< ", line, n);
}

static int
relay_word(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);

	return n >= wl && strncasecmp(s, w, wl) == 0 &&
	    (n == wl || s[wl] == ' ' || s[wl] == '\r' || s[wl] == '\n');
}

/* A client line libcurl sent: what command is it, is it secret. */
static void
relay_debug_out(struct relay *r, const char *s, size_t n)
{
	if (r->hiding) {
		/* SASL continuation lines carry the credentials. */
		if (r->verbose)
			fputs(">>> ***\n", stderr);
		return;
	}
	if (relay_word(s, n, "AUTH")) {
		r->cmd = RELAY_CMD_AUTH;
		r->hiding = 1;
		if (r->verbose)
			fputs(">>> AUTH ***\n", stderr);
		return;
	}
	if (relay_word(s, n, "EHLO"))
		r->cmd = RELAY_CMD_EHLO;
	else if (relay_word(s, n, "HELO"))
		r->cmd = RELAY_CMD_HELO;
	else if (relay_word(s, n, "STARTTLS"))
		r->cmd = RELAY_CMD_STARTTLS;
	else
		r->cmd = RELAY_CMD_OTHER;
	if (r->verbose)
		relay_print(">>> ", s, n);
}

/* A server line libcurl read: print it; a final reply other than 334
 * ends the secret part of AUTH. */
static void
relay_debug_in(struct relay *r, const char *s, size_t n)
{
	if (r->verbose)
		relay_print("<<< ", s, n);
	if (r->hiding && n >= 3 && (n == 3 || s[3] != '-') &&
	    strncmp(s, "334", 3) != 0)
		r->hiding = 0;
}

static int
relay_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct relay *r = arg;
	const char *nl;
	size_t n;

	(void)h;
	if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN &&
	    type != CURLINFO_HEADER_OUT)
		return 0;
	while (size > 0) {
		nl = memchr(data, '\n', size);
		n = nl ? (size_t)(nl - data) + 1 : size;
		if (type == CURLINFO_TEXT) {
			/* After the connect phase libcurl has nothing to
			 * say that the conversation does not. */
			if (r->verbose && r->fd == CURL_SOCKET_BAD)
				relay_print("* ", data, n);
		} else if (type == CURLINFO_HEADER_IN) {
			relay_debug_in(r, data, n);
		} else {
			relay_debug_out(r, data, n);
		}
		data += n;
		size -= n;
	}
	return 0;
}

/* Every reply line of the connect phase. */
static size_t
relay_header(char *data, size_t size, size_t nitems, void *arg)
{
	struct relay *r = arg;
	size_t n = size * nitems, used;
	unsigned ext;
	char *text;
	int rc, code;

	rc = smtp_parser_feed(&r->hp, data, n, &used);
	if (rc == -1) {
		r->hp_bad = 1;
		return 0;	/* aborts the connect */
	}
	if (rc == 0)
		return n;
	code = r->hp.code;
	ext = r->hp.ext;
	if ((text = smtp_parser_take(&r->hp)) == NULL)
		return 0;
	free(r->last_text);
	r->last_text = text;
	r->last_code = code;
	switch (r->cmd) {
	case RELAY_CMD_EHLO:
		if (code == 250)
			r->ext = ext;
		break;
	case RELAY_CMD_HELO:
		r->ext = 0;
		break;
	case RELAY_CMD_STARTTLS:
		/* What was said in clear does not count: only the EHLO
		 * after the handshake does. */
		if (code == 220)
			r->ext = 0;
		break;
	case RELAY_CMD_AUTH:
		if (code == 235)
			r->auth_ok = 1;
		break;
	default:
		break;
	}
	return n;
}

static int
relay_set_reply(struct relay_reply *rep, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A local failure dressed as a reply. */
static int
relay_set_reply(struct relay_reply *rep, int code, const char *fmt, ...)
{
	va_list ap;
	char *t;
	int n;

	free(rep->text);
	rep->text = NULL;
	rep->code = code;
	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (strlen(t) > RELAY_TEXT_MAX)
		t[RELAY_TEXT_MAX] = '\0';
	log_sanitize(t);
	rep->text = t;
	return 0;
}

/* A reply from the parser: "" becomes NULL, as relay.h says. */
static void
relay_take_reply(struct relay_reply *rep, int code, char *text)
{
	free(rep->text);
	rep->code = code;
	if (text && *text == '\0') {
		free(text);
		text = NULL;
	}
	rep->text = text;
}

/* Not isalnum(): a locale must not widen what goes on the wire. */
static int
relay_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* The EHLO name must be a domain or an address literal: it goes into
 * the URL path, which libcurl decodes. */
static int
relay_helo_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 255)
		return 0;
	/* An address literal: "[192.0.2.1]", "[IPv6:2001:db8::1]". */
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return 0;
		for (i = 1; i < n - 1; i++)
			if (!relay_alnum(s[i]) && s[i] != '.' &&
			    s[i] != ':')
				return 0;
		return 1;
	}
	for (i = 0; i < n; i++)
		if (!relay_alnum(s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

static int
relay_localhost(const char *s)
{
	return strcasecmp(s, "localhost") == 0 ||
	    strncasecmp(s, "localhost.", 10) == 0;
}

/* This host's fully qualified name, for EHLO: the canonical name of
 * gethostname(), else the name itself. "localhost" only when there is
 * nothing better. */
static char *
relay_fqdn(void)
{
	/* The kernel caps host names at HOST_NAME_MAX. */
	char host[HOST_NAME_MAX + 1];
	struct addrinfo hints, *ai = NULL;
	char *name = NULL;

	if (gethostname(host, sizeof(host)) == -1)
		return strdup("localhost");
	host[sizeof(host) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai &&
	    ai->ai_canonname && strchr(ai->ai_canonname, '.') &&
	    !relay_localhost(ai->ai_canonname) &&
	    relay_helo_ok(ai->ai_canonname))
		name = strdup(ai->ai_canonname);
	if (ai)
		freeaddrinfo(ai);
	if (name)
		return name;
	if (relay_helo_ok(host) && !relay_localhost(host))
		return strdup(host);
	return strdup("localhost");
}

static int
relay_set_url(struct relay *r, const struct conf_smarthost *c,
    const char *helo)
{
	char port[16], *host = NULL, *path = NULL;
	int bad;

	if ((r->url = curl_url()) == NULL)
		return -1;
	snprintf(port, sizeof(port), "%u", r->port);
	/* An IPv6 address goes in brackets. */
	if (strchr(c->host, ':') && c->host[0] != '[') {
		if (asprintf(&host, "[%s]", c->host) < 0)
			return -1;
	} else if ((host = strdup(c->host)) == NULL)
		return -1;
	if (asprintf(&path, "/%s", helo) < 0) {
		free(host);
		return -1;
	}
	bad = curl_url_set(r->url, CURLUPART_SCHEME,
	    c->tls == CONF_TLS_IMPLICIT ? "smtps" : "smtp", 0) != CURLUE_OK ||
	    curl_url_set(r->url, CURLUPART_HOST, host, 0) != CURLUE_OK ||
	    curl_url_set(r->url, CURLUPART_PORT, port, 0) != CURLUE_OK ||
	    curl_url_set(r->url, CURLUPART_PATH, path, CURLU_URLENCODE)
	    != CURLUE_OK;
	free(host);
	free(path);
	return bad ? -1 : 0;
}

/* Turns a failed connect into a reply: the server's, when its last one
 * was a refusal, else a clear local reason. */
static void
relay_open_error(struct relay *r, const struct conf_smarthost *c, CURLcode rc,
    struct relay_reply *err)
{
	const char *eb = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
	long oserr = 0;

	if (r->hp_bad) {
		relay_set_reply(err, 0, "%s:%u: malformed reply from the "
		    "server", c->host, r->port);
		return;
	}
	/* An OAuth2 server refuses a token with a 334 carrying its error
	 * (RFC 7628 3.2.2, and Gmail's XOAUTH2); libcurl 7.88 then gives
	 * up without an answer. */
	if (rc == CURLE_LOGIN_DENIED && r->cmd == RELAY_CMD_AUTH &&
	    r->last_code == 334) {
		r->auth_refused = 1;
		relay_set_reply(err, 0, "%s:%u: AUTH %s: the server refused "
		    "the token (334 %s)", c->host, r->port,
		    relay_mech_name(c->auth), r->last_text ? r->last_text : "");
		return;
	}
	if (r->last_code >= 400) {
		if (r->cmd == RELAY_CMD_AUTH)
			r->auth_refused = 1;
		relay_take_reply(err, r->last_code,
		    strdup(r->last_text ? r->last_text : ""));
		return;
	}
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		relay_set_reply(err, 0, "cannot resolve %s: %s", c->host, eb);
		break;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(r->curl, CURLINFO_OS_ERRNO, &oserr);
		relay_set_reply(err, 0, "connect to %s:%u: %s", c->host,
		    r->port, oserr ? strerror((int)oserr) : eb);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		relay_set_reply(err, 0, "%s:%u: timed out: %s", c->host,
		    r->port, eb);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		relay_set_reply(err, 0, "TLS: certificate verify failed: %s",
		    eb);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		relay_set_reply(err, 0, "TLS: cannot use ca_file %s: %s",
		    c->ca_file ? c->ca_file : "(system)", eb);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		relay_set_reply(err, 0, "TLS: handshake with %s:%u failed: %s",
		    c->host, r->port, eb);
		break;
	case CURLE_USE_SSL_FAILED:
		/* libcurl 7.88 matches EHLO keywords case-sensitively
		 * (defect 11); say so rather than "not offered". */
		if (r->ext & SMTP_EXT_STARTTLS)
			relay_set_reply(err, 0, "%s:%u: server offers STARTTLS "
			    "in a form libcurl does not take (not upper case); "
			    "never sending in clear", c->host, r->port);
		else
			relay_set_reply(err, 0, "%s:%u: server does not offer "
			    "STARTTLS (never sending in clear)", c->host,
			    r->port);
		break;
	case CURLE_LOGIN_DENIED:
		relay_set_reply(err, 0, "%s:%u: AUTH: the server does not "
		    "offer %s", c->host, r->port, relay_mech_name(c->auth));
		break;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		relay_set_reply(err, 0, "TLS: %s:%u: the server's public key "
		    "does not match pin_sha256", c->host, r->port);
		break;
	case CURLE_SSL_CERTPROBLEM:
		relay_set_reply(err, 0, "TLS: cannot use client_cert %s: %s",
		    c->client_cert ? c->client_cert : "", eb);
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		relay_set_reply(err, 0, "%s:%u: connection lost: %s",
		    c->host, r->port, eb);
		break;
	default:
		relay_set_reply(err, 0, "%s:%u: %s", c->host, r->port, eb);
		break;
	}
}

/* 1 when the section logs in: a user, or a client certificate with
 * auth = external. */
static int
relay_wants_auth(const struct conf_smarthost *c)
{
	return c->user != NULL || c->auth == CONF_AUTH_EXTERNAL;
}

static const char *
relay_mech_option(enum conf_auth a)
{
	switch (a) {
	case CONF_AUTH_PLAIN:
		return "AUTH=PLAIN";
	case CONF_AUTH_LOGIN:
		return "AUTH=LOGIN";
	case CONF_AUTH_XOAUTH2:
		return "AUTH=XOAUTH2";
	case CONF_AUTH_OAUTHBEARER:
		return "AUTH=OAUTHBEARER";
	case CONF_AUTH_EXTERNAL:
		return "AUTH=EXTERNAL";
	default:
		return "AUTH=PLAIN;AUTH=LOGIN";
	}
}

static const char *
relay_mech_name(enum conf_auth a)
{
	switch (a) {
	case CONF_AUTH_PLAIN:
		return "PLAIN";
	case CONF_AUTH_LOGIN:
		return "LOGIN";
	case CONF_AUTH_XOAUTH2:
		return "XOAUTH2";
	case CONF_AUTH_OAUTHBEARER:
		return "OAUTHBEARER";
	case CONF_AUTH_EXTERNAL:
		return "EXTERNAL";
	default:
		return "PLAIN or LOGIN";
	}
}

static void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	if (r->url)
		curl_url_cleanup(r->url);
	smtp_parser_free(&r->hp);
	smtp_parser_free(&r->rp);
	buf_free(&r->in);
	buf_free(&r->out);
	free(r->peer);
	free(r->io_err);
	free(r->last_text);
	free(r);
}

/*
 * What every handle gets, the SMTP one and the OAuth2 token request's
 * alike: peer and host name verified, at least the given TLS version,
 * ca_file as the only trust when set (CAINFO alone leaves the system store
 * trusted too: defect 10), no proxy from the environment, no .netrc, no
 * signals. Returns nonzero if an option was refused.
 */
static int
relay_secure(CURL *h, const char *ca_file, long sslversion)
{
	int bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSLVERSION, sslversion) != CURLE_OK;
	if (ca_file) {
		bad |= curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_CAPATH, (char *)NULL)
		    != CURLE_OK;
	}
	bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOPROXY, "*") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED)
	    != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	return bad;
}

static int
relay_setopts(struct relay *r, const struct conf_smarthost *c,
    const char *secret)
{
	CURL *h = r->curl;
	int bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_CURLU, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
	    != CURLE_OK;
	/* ALL: STARTTLS or fail; TRY would go on in clear (defect 5). */
	bad |= curl_easy_setopt(h, CURLOPT_USE_SSL, c->tls == CONF_TLS_NONE ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL) != CURLE_OK;
	bad |= relay_secure(h, c->ca_file, c->tls_min == 13 ?
	    (long)CURL_SSLVERSION_TLSv1_3 : (long)CURL_SSLVERSION_TLSv1_2);
	/* A new connection every time; not FORBID_REUSE, which would
	 * close this one when the connect phase ends. */
	bad |= curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK;
	/* libcurl counts the whole connect phase (TCP, greeting, EHLO,
	 * TLS, AUTH) against CONNECTTIMEOUT, and each reply against
	 * SERVER_RESPONSE_TIMEOUT. */
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)r->timeout)
	    != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
	    (long)r->timeout) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, relay_header)
	    != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, r) != CURLE_OK;
	/* VERBOSE always: the debug callback is how we learn which
	 * command each reply answers. It prints only with -v. */
	bad |= curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, relay_debug)
	    != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_DEBUGDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_VERBOSE, 1L) != CURLE_OK;
	if (c->client_cert) {
		bad |= curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert)
		    != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key ?
		    c->client_key : c->client_cert) != CURLE_OK;
	}
	if (c->pin_sha256)
		bad |= curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY,
		    c->pin_sha256) != CURLE_OK;
	if (relay_wants_auth(c)) {
		if (c->user)
			bad |= curl_easy_setopt(h, CURLOPT_USERNAME, c->user)
			    != CURLE_OK;
		if (c->auth == CONF_AUTH_XOAUTH2 ||
		    c->auth == CONF_AUTH_OAUTHBEARER)
			bad |= curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER,
			    secret ? secret : "") != CURLE_OK;
		else if (c->auth != CONF_AUTH_EXTERNAL)
			bad |= curl_easy_setopt(h, CURLOPT_PASSWORD,
			    secret ? secret : "") != CURLE_OK;
		/* Named mechanisms only: with an "@" in the user name
		 * libcurl would try GSSAPI and others first (defect 7).
		 * Several AUTH= options add up (curl_sasl.c). */
		bad |= curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS,
		    relay_mech_option(c->auth)) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_SASL_IR, 1L) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static int
relay_connect(struct relay **rp, const struct conf_smarthost *c,
    const char *secret, int verbose, struct relay_reply *err,
    int *auth_refused)
{
	struct relay *r;
	char *helo = NULL, *ip = NULL;
	long port = 0;
	curl_socket_t fd;
	CURLcode rc;

	*rp = NULL;
	err->code = 0;
	err->text = NULL;
	if ((c->user || c->auth != CONF_AUTH_DEFAULT) &&
	    c->tls == CONF_TLS_NONE) {
		relay_set_reply(err, 0, "credentials are never sent without "
		    "TLS (tls = none)");
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		relay_set_reply(err, 0, "out of memory");
		return -1;
	}
	r->timeout = c->timeout ? c->timeout : RELAY_TIMEOUT_DEFAULT;
	r->port = c->port ? c->port : c->tls == CONF_TLS_IMPLICIT ? 465 : 587;
	r->verbose = verbose;
	r->fd = CURL_SOCKET_BAD;
	smtp_parser_init(&r->hp);
	smtp_parser_init(&r->rp);
	r->rp.line_fn = relay_print_line;
	r->rp.line_arg = r;
	buf_init(&r->in, 0);
	buf_init(&r->out, 0);

	helo = c->helo ? strdup(c->helo) : relay_fqdn();
	if (helo == NULL) {
		relay_set_reply(err, 0, "out of memory");
		goto fail;
	}
	if (!relay_helo_ok(helo)) {
		relay_set_reply(err, 0, "invalid EHLO name \"%s\"", helo);
		goto fail;
	}
	if ((r->curl = curl_easy_init()) == NULL ||
	    relay_set_url(r, c, helo) == -1) {
		relay_set_reply(err, 0, "cannot set up libcurl for %s:%u",
		    c->host, r->port);
		goto fail;
	}
	if (relay_setopts(r, c, secret) == -1) {
		relay_set_reply(err, 0, "libcurl refuses a needed option "
		    "(is it 7.85 or later, with TLS?)");
		goto fail;
	}
	rc = curl_easy_perform(r->curl);
	if (rc != CURLE_OK) {
		relay_open_error(r, c, rc, err);
		goto fail;
	}
	/* With credentials set but no AUTH offered, libcurl goes on
	 * without logging in (defect 6). */
	if (relay_wants_auth(c) && !r->auth_ok) {
		relay_set_reply(err, 0, "%s:%u: did not log in: the server "
		    "offers no AUTH after %s", c->host, r->port,
		    c->tls == CONF_TLS_STARTTLS ? "STARTTLS" : "TLS");
		goto fail;
	}
	if (curl_easy_getinfo(r->curl, CURLINFO_ACTIVESOCKET, &fd)
	    != CURLE_OK || fd == CURL_SOCKET_BAD) {
		relay_set_reply(err, 0, "%s:%u: no socket after connect",
		    c->host, r->port);
		goto fail;
	}
	r->fd = fd;
	if (curl_easy_getinfo(r->curl, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK ||
	    ip == NULL)
		ip = "?";
	curl_easy_getinfo(r->curl, CURLINFO_PRIMARY_PORT, &port);
	if (asprintf(&r->peer, "%s[%s]:%ld", c->host, ip, port) < 0) {
		r->peer = NULL;
		relay_set_reply(err, 0, "out of memory");
		goto fail;
	}
	free(helo);
	*rp = r;
	return 0;
fail:
	free(helo);
	*auth_refused = r->auth_refused;
	relay_free(r);
	return -1;
}

/* --- OAuth2 ---------------------------------------------------------- */

/* The token endpoint's answer is small; more is refused. */
#define RELAY_HTTP_MAX (64 * 1024)
#define RELAY_HTTP_TIMEOUT 30

static size_t
relay_http_write(char *data, size_t size, size_t nitems, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nitems;

	if (buf_append(b, data, n) == -1)
		return 0;	/* over the cap: the transfer fails */
	return n;
}

/*
 * The value of "key" in a flat JSON object, as a string (a string value
 * unescaped, a number as written), or NULL. Enough for the token
 * endpoint's answer (RFC 6749 5.1 and 5.2); not a general parser.
 */
static char *
relay_json_get(const char *json, const char *key)
{
	size_t kl = strlen(key);
	const char *p = json, *q;
	struct buf v;

	while ((p = strchr(p, '"')) != NULL) {
		p++;
		if (strncmp(p, key, kl) != 0 || p[kl] != '"') {
			/* skip this string */
			while (*p && *p != '"')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (*p)
				p++;
			continue;
		}
		p += kl + 1;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p++ != ':')
			continue;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		buf_init(&v, RELAY_HTTP_MAX);
		if (*p == '"') {
			for (q = p + 1; *q && *q != '"'; q++) {
				char ch = *q;

				if (ch == '\\' && q[1]) {
					q++;
					ch = *q == 'n' ? ' ' : *q == 't' ? ' ' :
					    *q == 'u' ? '?' : *q;
					if (*q == 'u')
						q += strspn(q + 1,
						    "0123456789abcdefABCDEF") > 3 ?
						    4 : 0;
				}
				if (buf_putc(&v, ch) == -1) {
					buf_free(&v);
					return NULL;
				}
			}
		} else {
			for (q = p; *q && strchr("0123456789.-+eE", *q); q++)
				if (buf_putc(&v, *q) == -1) {
					buf_free(&v);
					return NULL;
				}
		}
		if (v.data == NULL)
			return strdup("");
		return buf_take(&v);
	}
	return NULL;
}

/* Appends "&name=value" (URL-encoded) to b. */
static int
relay_form(CURL *h, struct buf *b, const char *name, const char *value)
{
	char *e = curl_easy_escape(h, value, 0);
	int rc;

	if (e == NULL)
		return -1;
	rc = buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, e);
	explicit_bzero(e, strlen(e));
	curl_free(e);
	return rc;
}

static void
relay_wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* POSTs the refresh grant; 0 with *token and *expires_in, or -1. */
static int
relay_oauth2_refresh(const struct conf_smarthost *s, char **token,
    long *expires_in, struct relay_reply *err)
{
	char errbuf[CURL_ERROR_SIZE] = "", *secret = NULL, *refresh = NULL;
	char *why = NULL, *tok = NULL, *exp = NULL, *e = NULL, *desc = NULL;
	struct buf form, resp;
	long status = 0;
	CURLcode rc;
	CURL *h;
	int bad = 0, ret = -1;

	buf_init(&form, RELAY_HTTP_MAX);
	buf_init(&resp, RELAY_HTTP_MAX);
	if ((refresh = conf_secret(s->oauth2_refresh_token_file,
	    "the OAuth2 refresh token", &why)) == NULL ||
	    (s->oauth2_client_secret_file && (secret = conf_secret(
	    s->oauth2_client_secret_file, "the OAuth2 client secret",
	    &why)) == NULL)) {
		relay_set_reply(err, 0, "OAuth2: %s", why ? why : "");
		free(why);
		goto out;
	}
	if ((h = curl_easy_init()) == NULL) {
		relay_set_reply(err, 0, "OAuth2: cannot set up libcurl");
		goto out;
	}
	if (relay_form(h, &form, "grant_type", "refresh_token") == -1 ||
	    relay_form(h, &form, "refresh_token", refresh) == -1 ||
	    relay_form(h, &form, "client_id", s->oauth2_client_id) == -1 ||
	    (secret && relay_form(h, &form, "client_secret", secret) == -1)) {
		relay_set_reply(err, 0, "OAuth2: out of memory");
		curl_easy_cleanup(h);
		goto out;
	}
	bad |= curl_easy_setopt(h, CURLOPT_URL, s->oauth2_token_url)
	    != CURLE_OK;
	/* https only, never redirected, verified, no proxy from anywhere */
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= relay_secure(h, s->ca_file, (long)CURL_SSLVERSION_TLSv1_2);
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)RELAY_HTTP_TIMEOUT)
	    != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.data) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, relay_http_write)
	    != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
	if (bad) {
		relay_set_reply(err, 0, "OAuth2: libcurl refuses a needed "
		    "option");
		curl_easy_cleanup(h);
		goto out;
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		relay_set_reply(err, 0, "OAuth2: %s: %s", s->oauth2_token_url,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (resp.data)
		tok = relay_json_get(resp.data, "access_token");
	if (status != 200 || tok == NULL || *tok == '\0') {
		if (resp.data) {
			e = relay_json_get(resp.data, "error");
			desc = relay_json_get(resp.data, "error_description");
		}
		relay_set_reply(err, 0, "OAuth2: %s: HTTP %ld%s%s%s%s",
		    s->oauth2_token_url, status, e ? ": " : "", e ? e : "",
		    desc ? ": " : "", desc ? desc : "");
		goto out;
	}
	if (strpbrk(tok, " \t") || strlen(tok) > 8192) {
		relay_set_reply(err, 0, "OAuth2: %s: malformed access_token",
		    s->oauth2_token_url);
		goto out;
	}
	exp = relay_json_get(resp.data, "expires_in");
	*expires_in = exp ? strtol(exp, NULL, 10) : 3600;
	*token = tok;
	tok = NULL;
	ret = 0;
out:
	relay_wipe(tok);
	free(exp);
	free(e);
	free(desc);
	relay_wipe(secret);
	relay_wipe(refresh);
	if (form.data)
		explicit_bzero(form.data, form.cap);
	if (resp.data)
		explicit_bzero(resp.data, resp.cap);
	buf_free(&form);
	buf_free(&resp);
	return ret;
}

static char *
relay_cache_path(const struct conf *c, const struct conf_smarthost *s)
{
	char *p;

	if (asprintf(&p, "%s/oauth2%s%s.cache", c->queue_dir,
	    s->name ? "-" : "", s->name ? s->name : "") < 0)
		return NULL;
	return p;
}

/*
 * The cache file: "EXPIRY\nTOKEN\n", EXPIRY in seconds since the epoch.
 * Only a regular file of ours that no one else can read counts.
 */
static char *
relay_cache_read(const char *path, time_t *expiry)
{
	char data[9000], *nl, *tok = NULL;
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		close(fd);
		return NULL;
	}
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	data[n] = '\0';
	if ((nl = strchr(data, '\n')) != NULL) {
		*nl = '\0';
		*expiry = (time_t)strtoll(data, NULL, 10);
		tok = nl + 1;
		tok[strcspn(tok, "\r\n")] = '\0';
		tok = *tok ? strdup(tok) : NULL;
	}
	explicit_bzero(data, sizeof(data));
	return tok;
}

/* Writes the cache: a temporary file, fsync, rename. Failure is logged,
 * not fatal: the token is good all the same. */
static void
relay_cache_write(const char *path, const char *token, time_t expiry)
{
	char *tmp = NULL, *text = NULL;
	int fd = -1, n;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto fail;
	}
	if ((n = asprintf(&text, "%lld\n%s\n", (long long)expiry, token)) < 0) {
		text = NULL;
		goto fail;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		goto fail;
	if (fchmod(fd, 0600) == -1 || write(fd, text, (size_t)n) != n ||
	    fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		unlink(tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	goto out;
fail:
	log_mail(LOG_WARNING, "%s: cannot write the OAuth2 token cache: %m",
	    path);
	if (fd != -1)
		close(fd);
out:
	free(tmp);
	relay_wipe(text);
}

int
relay_oauth2_token(const struct conf *c, const struct conf_smarthost *s,
    int force, char **token, int *cached, struct relay_reply *err)
{
	char *path = NULL, *why = NULL, *tok;
	time_t expiry = 0, now = time(NULL);
	long expires_in = 0;

	*token = NULL;
	*cached = 0;
	err->code = 0;
	err->text = NULL;
	if (s->oauth2_token_command) {
		if (conf_command(s->oauth2_token_command, token, &why) == -1) {
			relay_set_reply(err, 0, "OAuth2: oauth2_token_command: "
			    "%s", why ? why : "failed");
			free(why);
			return -1;
		}
		return 0;
	}
	if (s->oauth2_token_url == NULL) {
		relay_set_reply(err, 0, "OAuth2: no token source configured");
		return -1;
	}
	if ((path = relay_cache_path(c, s)) == NULL) {
		relay_set_reply(err, 0, "out of memory");
		return -1;
	}
	if (!force && (tok = relay_cache_read(path, &expiry)) != NULL) {
		if (expiry - now > RELAY_OAUTH2_MARGIN) {
			*token = tok;
			*cached = 1;
			free(path);
			return 0;
		}
		relay_wipe(tok);
	}
	if (relay_oauth2_refresh(s, &tok, &expires_in, err) == -1) {
		log_mail(LOG_NOTICE, "%s", err->text ? err->text :
		    "OAuth2: token refresh failed");
		free(path);
		return -1;
	}
	if (expires_in < 0)
		expires_in = 0;
	relay_cache_write(path, tok, now + (time_t)expires_in);
	log_mail(LOG_INFO, "OAuth2: new access token from %s, valid for %lds",
	    s->oauth2_token_url, expires_in);
	free(path);
	*token = tok;
	return 0;
}

int
relay_open(struct relay **rp, const struct conf *c,
    const struct conf_smarthost *s, int verbose, struct relay_reply *err)
{
	char *secret = NULL, *why = NULL;
	int attempt, cached = 0, none = 0, oauth, rc, refused;

	*rp = NULL;
	err->code = 0;
	err->text = NULL;
	oauth = s->auth == CONF_AUTH_XOAUTH2 ||
	    s->auth == CONF_AUTH_OAUTHBEARER;
	for (attempt = 0; attempt < 2; attempt++) {
		if (oauth) {
			if (relay_oauth2_token(c, s, attempt > 0, &secret,
			    &cached, err) == -1)
				return -1;
		} else if (s->user && s->auth != CONF_AUTH_EXTERNAL &&
		    (secret = conf_password(s, &none, &why)) == NULL &&
		    !none) {
			relay_set_reply(err, 0, "%s", why ? why :
			    "cannot read the password");
			free(why);
			return -1;
		}
		refused = 0;
		rc = relay_connect(rp, s, secret, verbose, err, &refused);
		relay_wipe(secret);
		secret = NULL;
		if (rc == 0)
			return 0;
		/* A refused token may have expired early or been revoked:
		 * one more try with a new one. A token the endpoint has just
		 * issued is not asked for again. */
		if (!oauth || attempt > 0 || !refused || (s->oauth2_token_url && !cached))
			return -1;
		log_mail(LOG_NOTICE, "%s: the server refused the OAuth2 token "
		    "(%d %s); getting a new one", s->host, err->code,
		    err->text ? err->text : "");
		relay_reply_free(err);
	}
	return -1;
}

unsigned
relay_extensions(const struct relay *r)
{
	return r->ext & (RELAY_EXT_8BITMIME | RELAY_EXT_SMTPUTF8 |
	    RELAY_EXT_SIZE | RELAY_EXT_DSN | RELAY_EXT_PIPELINING |
	    RELAY_EXT_ENHANCED);
}

const char *
relay_peer(const struct relay *r)
{
	return r->peer;
}

static void
relay_io_error(struct relay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
relay_io_error(struct relay *r, const char *fmt, ...)
{
	va_list ap;

	free(r->io_err);
	r->io_err = NULL;
	va_start(ap, fmt);
	if (vasprintf(&r->io_err, fmt, ap) < 0)
		r->io_err = NULL;
	va_end(ap);
	r->broken = 1;
}

/* Waits until fd is ready for ev or the deadline passes. */
static int
relay_wait(struct relay *r, short ev, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		left = deadline - relay_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = r->fd;
		pfd.events = ev;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* Sends all of s; timeout seconds without progress is a failure.
 * libcurl sends with MSG_NOSIGNAL, so a closed peer is EPIPE here, not
 * a signal. */
static int
relay_write(struct relay *r, const char *s, size_t n, unsigned timeout)
{
	long long deadline = relay_now_ms() + (long long)timeout * 1000;
	size_t sent;
	CURLcode rc;

	while (n > 0) {
		sent = 0;
		r->errbuf[0] = '\0';
		rc = curl_easy_send(r->curl, s, n, &sent);
		if (rc == CURLE_AGAIN) {
			if (relay_wait(r, POLLOUT, deadline) == -1) {
				relay_io_error(r, "%s: send: %s", r->peer,
				    errno == ETIMEDOUT ? "timed out" :
				    strerror(errno));
				return -1;
			}
			continue;
		}
		if (rc != CURLE_OK) {
			relay_io_error(r, "%s: send: %s", r->peer,
			    r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
			return -1;
		}
		s += sent;
		n -= sent;
		deadline = relay_now_ms() + (long long)timeout * 1000;
	}
	return 0;
}

/* Reads one reply into *rep within timeout seconds. */
static int
relay_read(struct relay *r, unsigned timeout, struct relay_reply *rep)
{
	long long deadline = relay_now_ms() + (long long)timeout * 1000;
	char chunk[RELAY_RECV];
	const char *s;
	size_t n, used, got;
	CURLcode rc;
	char *text;
	int fed, code;

	for (;;) {
		if (r->in.len > 0) {
			s = r->in.data;
			n = r->in.len;
		} else {
			got = 0;
			r->errbuf[0] = '\0';
			rc = curl_easy_recv(r->curl, chunk, sizeof(chunk), &got);
			if (rc == CURLE_AGAIN) {
				if (relay_wait(r, POLLIN, deadline) == -1) {
					relay_io_error(r, "%s: no reply: %s",
					    r->peer, errno == ETIMEDOUT ?
					    "timed out" : strerror(errno));
					return -1;
				}
				continue;
			}
			if (rc != CURLE_OK) {
				relay_io_error(r, "%s: receive: %s", r->peer,
				    r->errbuf[0] ? r->errbuf :
				    curl_easy_strerror(rc));
				return -1;
			}
			if (got == 0) {
				relay_io_error(r, "%s: connection closed by "
				    "the server", r->peer);
				return -1;
			}
			s = chunk;
			n = got;
		}
		fed = smtp_parser_feed(&r->rp, s, n, &used);
		if (fed == -1) {
			relay_io_error(r, "%s: %s reply from the server",
			    r->peer, errno == ENOMEM ? "cannot store a" :
			    errno == E2BIG ? "over-long" : "malformed");
			return -1;
		}
		/* Keep what follows the reply. */
		if (s == r->in.data) {
			memmove(r->in.data, r->in.data + used, n - used);
			r->in.len = n - used;
			r->in.data[r->in.len] = '\0';
		} else if (used < n && buf_append(&r->in, s + used, n - used)
		    == -1) {
			relay_io_error(r, "%s: out of memory", r->peer);
			return -1;
		}
		if (fed == 1)
			break;
	}
	code = r->rp.code;
	if ((text = smtp_parser_take(&r->rp)) == NULL) {
		relay_io_error(r, "%s: out of memory", r->peer);
		return -1;
	}
	relay_take_reply(rep, code, text);
	return 0;
}

/*
 * Sends the command in r->out and reads its reply into *rep. expect is
 * the reply class that means going on (2, or 3 for DATA); 4xx and 5xx
 * are answers too; anything else puts us out of step. Returns 0 when the
 * server answered, -1 (connection unusable, *rep says why) otherwise.
 */
static int
relay_cmd(struct relay *r, int expect, unsigned timeout,
    struct relay_reply *rep)
{
	int cls;

	/* Without PIPELINING a server speaks only when spoken to: bytes
	 * waiting now would be taken for the next reply. */
	if (r->in.len > 0) {
		relay_io_error(r, "%s: the server sent data out of turn",
		    r->peer);
		goto fail;
	}
	if (r->verbose)
		relay_print(">>> ", r->out.data, r->out.len);
	if (relay_write(r, r->out.data, r->out.len, timeout) == -1 ||
	    relay_read(r, timeout, rep) == -1)
		goto fail;
	cls = rep->code / 100;
	if (cls != expect && cls != 4 && cls != 5) {
		relay_io_error(r, "%s: unexpected reply %d to %.4s", r->peer,
		    rep->code, r->out.data);
		goto fail;
	}
	/* 421: the server is closing the connection. */
	if (rep->code == 421)
		r->broken = 1;
	return 0;
fail:
	relay_set_reply(rep, 0, "%s", r->io_err ? r->io_err :
	    "connection lost");
	return -1;
}

static int
relay_simple(struct relay *r, const char *cmd, int expect, unsigned timeout,
    struct relay_reply *rep)
{
	buf_reset(&r->out);
	if (buf_puts(&r->out, cmd) == -1) {
		relay_set_reply(rep, 0, "out of memory");
		r->broken = 1;
		return -1;
	}
	return relay_cmd(r, expect, timeout, rep);
}

/* Ends a failed transaction. Its reply matters only as a sign that the
 * connection is still in step. */
static int
relay_rset(struct relay *r)
{
	struct relay_reply rep = { 0, NULL };
	int rc;

	if (r->broken)
		return -1;
	rc = relay_simple(r, "RSET\r\n", 2, r->timeout, &rep);
	if (rc == 0 && rep.code / 100 != 2)
		r->broken = 1;
	relay_reply_free(&rep);
	return r->broken ? -1 : 0;
}

/* DATA's content: stuffed, then the final dot in the same send as the
 * last bytes. A send is held back until more data is known to follow,
 * so the dot never goes out alone. */
static int
relay_body(struct relay *r, const struct relay_msg *m,
    struct relay_reply *data)
{
	struct smtp_dot d;
	const char *p;
	size_t n;
	unsigned long long total = 0;

	smtp_dot_init(&d);
	buf_reset(&r->out);
	for (;;) {
		p = NULL;
		n = 0;
		if (m->read(m->ctx, &p, &n) == -1) {
			/* Closing without the dot makes the server drop
			 * what it got. */
			r->broken = 1;
			relay_set_reply(data, 0, "reading the message failed; "
			    "delivery abandoned");
			return -1;
		}
		if (n == 0)
			break;
		total += n;
		if (r->out.len >= RELAY_CHUNK) {
			if (relay_write(r, r->out.data, r->out.len,
			    r->timeout) == -1)
				goto fail;
			buf_reset(&r->out);
		}
		if (smtp_dot_stuff(&d, p, n, &r->out) == -1) {
			r->broken = 1;
			relay_set_reply(data, 0, "out of memory");
			return -1;
		}
	}
	if (smtp_dot_end(&d, &r->out) == -1) {
		r->broken = 1;
		relay_set_reply(data, 0, "out of memory");
		return -1;
	}
	if (r->verbose) {
		fprintf(stderr, "* [message: %llu bytes]\n", total);
		fputs(">>> .\n", stderr);
	}
	if (relay_write(r, r->out.data, r->out.len, r->timeout) == -1)
		goto fail;
	return 0;
fail:
	relay_set_reply(data, 0, "%s", r->io_err);
	return -1;
}

int
relay_send(struct relay *r, const struct relay_msg *m,
    struct relay_result *res)
{
	struct smtp_mail mail;
	const char *why;
	size_t i, accepted = 0;
	int utf8, u;

	memset(res, 0, sizeof(*res));
	if (r->broken) {
		relay_set_reply(&res->mail, 0, "%s: the connection is no "
		    "longer usable", r->peer);
		return -1;
	}
	/* An empty list would make libcurl send HELP (defect 8); here it
	 * is a caller's mistake all the same. */
	if (m->nrcpt == 0 || m->nrcpt > RELAY_RCPT_MAX) {
		relay_set_reply(&res->mail, 0, "%s recipients in one "
		    "transaction", m->nrcpt ? "too many" : "no");
		errno = EINVAL;
		return -1;
	}
	if ((res->rcpt = calloc(m->nrcpt, sizeof(*res->rcpt))) == NULL) {
		relay_set_reply(&res->mail, 0, "out of memory");
		return -1;
	}
	res->nrcpt = m->nrcpt;

	/* Refused addresses stay out of the decision; smtp_*_cmd refuse
	 * them one by one below. */
	utf8 = 0;
	if (smtp_addr_check(m->sender, &u) == 0)
		utf8 |= u;
	for (i = 0; i < m->nrcpt; i++)
		if (smtp_addr_check(m->rcpt[i], &u) == 0)
			utf8 |= u;
	if (m->notify && smtp_notify_check(m->notify) == -1) {
		relay_set_reply(&res->mail, 501, "invalid DSN NOTIFY value "
		    "(not sent)");
		return 0;
	}
	mail.sender = m->sender;
	mail.size = m->size;
	mail.eightbit = m->eightbit;
	mail.utf8 = utf8;
	mail.ret = m->ret;
	mail.envid = m->envid;
	if (smtp_mail_cmd(&r->out, &mail, r->ext, &why) == -1) {
		if (why == NULL) {
			relay_set_reply(&res->mail, 0, "out of memory");
			return -1;
		}
		/* Nothing was sent: the envelope is bad, not the server. */
		relay_set_reply(&res->mail, 553, "%s (not sent)", why);
		return 0;
	}
	if (relay_cmd(r, 2, r->timeout, &res->mail) == -1)
		return -1;
	if (res->mail.code / 100 != 2)
		return relay_rset(r);

	for (i = 0; i < m->nrcpt; i++) {
		if (r->broken)
			return -1;
		if (smtp_rcpt_cmd(&r->out, m->rcpt[i], m->notify, r->ext,
		    &why) == -1) {
			if (why == NULL) {
				relay_set_reply(&res->rcpt[i], 0,
				    "out of memory");
				r->broken = 1;
				return -1;
			}
			relay_set_reply(&res->rcpt[i], 553, "%s (not sent)",
			    why);
			continue;
		}
		if (relay_cmd(r, 2, r->timeout, &res->rcpt[i]) == -1)
			return -1;
		if (res->rcpt[i].code / 100 == 2)
			accepted++;
	}
	if (r->broken)
		return -1;
	if (accepted == 0)
		return relay_rset(r);

	if (relay_simple(r, "DATA\r\n", 3, r->timeout, &res->data) == -1)
		return -1;
	if (res->data.code / 100 != 3)
		return relay_rset(r);
	res->body_sent = 1;
	if (relay_body(r, m, &res->data) == -1)
		return -1;
	if (relay_read(r, r->timeout > RELAY_DOT_TIMEOUT ? r->timeout :
	    RELAY_DOT_TIMEOUT, &res->data) == -1) {
		relay_set_reply(&res->data, 0, "%s (after the final dot: the "
		    "message may or may not have been accepted)", r->io_err);
		return -1;
	}
	if (res->data.code / 100 == 2) {
		res->committed = 1;
	} else if (res->data.code / 100 == 4 || res->data.code / 100 == 5) {
		return relay_rset(r);
	} else {
		relay_io_error(r, "%s: unexpected reply %d after the final dot",
		    r->peer, res->data.code);
		relay_set_reply(&res->data, 0, "%s", r->io_err);
		return -1;
	}
	return r->broken ? -1 : 0;
}

void
relay_close(struct relay *r)
{
	struct relay_reply rep = { 0, NULL };

	if (r == NULL)
		return;
	/* libcurl sends no QUIT for a connect-only connection. Not on a
	 * broken one: in the middle of DATA, QUIT would be message text. */
	if (!r->broken)
		(void)relay_simple(r, "QUIT\r\n", 2,
		    r->timeout < RELAY_QUIT_TIMEOUT ? r->timeout :
		    RELAY_QUIT_TIMEOUT, &rep);
	relay_reply_free(&rep);
	relay_free(r);
}

void
relay_reply_free(struct relay_reply *r)
{
	free(r->text);
	r->text = NULL;
	r->code = 0;
}

int
relay_reply_temporary(const struct relay_reply *r)
{
	return r->code == 0 || r->code / 100 == 4;
}

void
relay_result_free(struct relay_result *res)
{
	size_t i;

	relay_reply_free(&res->mail);
	for (i = 0; res->rcpt && i < res->nrcpt; i++)
		relay_reply_free(&res->rcpt[i]);
	free(res->rcpt);
	res->rcpt = NULL;
	res->nrcpt = 0;
	relay_reply_free(&res->data);
	res->committed = 0;
	res->body_sent = 0;
}

int
relay_global_init(void)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	/* Without TLS support there is nothing safe to do. */
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || !(v->features & CURL_VERSION_SSL)) {
		curl_global_cleanup();
		return -1;
	}
	return 0;
}

void
relay_global_cleanup(void)
{
	curl_global_cleanup();
}
