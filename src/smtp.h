#ifndef SENDQ_SMTP_H
#define SENDQ_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * The SMTP client's pure parts, without any I/O and without libcurl, so
 * that they can be tested byte by byte: the reply parser, EHLO keywords,
 * dot-stuffing, and the building of MAIL FROM and RCPT TO commands from
 * checked arguments. relay.c does the talking.
 */

/* One reply line, CRLF included. RFC 5321 4.5.3.1.5 says 512; servers
 * send longer ones, and a few KiB costs nothing. */
#define SMTP_LINE_MAX 2048
/* One whole reply, all its lines (a long EHLO fits many times over). */
#define SMTP_REPLY_MAX (64 * 1024)
/* The text kept from a reply; equal to RELAY_TEXT_MAX. */
#define SMTP_TEXT_MAX 1024
/* The longest address: a path is "<" address ">", at most 256 octets
 * (RFC 5321 4.5.3.1.3). */
#define SMTP_ADDR_MAX 254
/* RFC 3461 4.4: ENVID is at most 100 characters. */
#define SMTP_ENVID_MAX 100

/* EHLO keywords (the same values as RELAY_EXT_*, plus two that only the
 * connect phase needs). */
#define SMTP_EXT_8BITMIME 0x01
#define SMTP_EXT_SMTPUTF8 0x02
#define SMTP_EXT_SIZE 0x04
#define SMTP_EXT_DSN 0x08
#define SMTP_EXT_PIPELINING 0x10
#define SMTP_EXT_ENHANCED 0x20
#define SMTP_EXT_STARTTLS 0x40
#define SMTP_EXT_AUTH 0x80

/* The flag for one EHLO line's text (after "250-" or "250 "): its first
 * word compared case-insensitively, or 0 for an unknown keyword. */
unsigned smtp_ehlo_keyword(const char *s, size_t n);

/*
 * A reply parser, fed bytes as they arrive in pieces of any size.
 * A reply is one or more lines "ddd-text" ending with "ddd text" or a
 * bare "ddd"; every line has the same code, whose first digit is 2 to 5.
 * Lines end in LF, with an optional CR before it. Anything else, a line
 * over SMTP_LINE_MAX or a reply over SMTP_REPLY_MAX is refused: after
 * that the connection cannot be trusted to be in step, so the parser
 * stays refused.
 */
struct smtp_parser {
	struct buf line;	/* the line being read */
	struct buf text;	/* sanitised text so far, capped */
	size_t total;		/* bytes of this reply so far */
	size_t nlines;		/* complete lines of this reply */
	int code;		/* the reply code once a line was read */
	unsigned ext;		/* smtp_ehlo_keyword() of lines 2.. */
	int err;		/* errno of a refusal, sticky */
	/* Called, when set, with each complete line (without its line end,
	 * not sanitised): for printing the conversation. */
	void (*line_fn)(void *arg, const char *line, size_t n);
	void *line_arg;
};

void smtp_parser_init(struct smtp_parser *p);

/*
 * Takes bytes up to the end of one reply. Returns 1 when a reply is
 * complete (*used says how many of the n bytes it took; the rest belongs
 * to what follows), 0 when all n bytes were taken and the reply goes on,
 * -1 with errno EPROTO (malformed), E2BIG (over a cap) or ENOMEM.
 */
int smtp_parser_feed(struct smtp_parser *p, const char *s, size_t n,
    size_t *used);

/*
 * After feed returned 1: the reply's text, its lines' texts joined by
 * " ", every byte below 0x20 and 0x7f replaced by a space, cut at
 * SMTP_TEXT_MAX bytes; malloc'ed, "" when the reply had none. The code is
 * p->code (and p->ext the keywords). Readies p for the next reply, keeping
 * line_fn. NULL on ENOMEM.
 */
char *smtp_parser_take(struct smtp_parser *p);

void smtp_parser_free(struct smtp_parser *p);

/*
 * Dot-stuffing of a message streamed in pieces of any size, for DATA:
 * a line starting with "." gets another "." in front (RFC 5321 4.5.2).
 * Input should have CRLF line ends; a bare CR or bare LF is sent as CRLF
 * all the same, so no lone CR or LF ever reaches the wire.
 */
struct smtp_dot {
	int bol;	/* the next byte starts a line */
	int cr;		/* the last byte was a CR (its LF not yet seen) */
};

void smtp_dot_init(struct smtp_dot *d);

/* Appends the stuffed form of s[0..n) to out. 0, or -1 from buf. */
int smtp_dot_stuff(struct smtp_dot *d, const char *s, size_t n,
    struct buf *out);

/* Appends the end of data: a CRLF if the last line had none, then
 * ".\r\n". 0, or -1 from buf. */
int smtp_dot_end(struct smtp_dot *d, struct buf *out);

/*
 * 0 if a can be sent inside "<" ">": at most SMTP_ADDR_MAX bytes, none
 * <= 0x20, 0x7f, '<' or '>' (so no CR, LF or space can inject a command,
 * which libcurl 7.88 would allow). Sets *utf8 to 1 if a has a byte
 * >= 0x80 (needs SMTPUTF8), else 0. The empty string passes: the caller
 * refuses it for a recipient. -1 otherwise.
 */
int smtp_addr_check(const char *a, int *utf8);

/* Appends s as RFC 3461 xtext: "+", "=" and bytes outside 0x21..0x7e
 * become "+XX". Always 0 except -1 from buf. */
int smtp_xtext(struct buf *out, const char *s);

/* 0 if v is a valid NOTIFY value: "NEVER", or one or more of SUCCESS,
 * FAILURE, DELAY separated by commas, each once, any case. Else -1. */
int smtp_notify_check(const char *v);

/* What MAIL FROM carries. */
struct smtp_mail {
	const char *sender;	/* "" for <> */
	uint64_t size;		/* SIZE= when offered; 0 = unknown */
	int eightbit;		/* BODY=8BITMIME when offered */
	int utf8;		/* some address needs SMTPUTF8 */
	const char *ret;	/* RET= (FULL or HDRS) when DSN offered */
	const char *envid;	/* ENVID= when DSN offered */
};

/*
 * Builds "MAIL FROM:<sender>" with only the parameters that ext (the
 * server's EHLO keywords) allows, and CRLF, into out (which it empties
 * first). Returns 0, or -1 with *why a static reason when the sender,
 * RET or ENVID is invalid (checked even when DSN is not offered: a bad
 * value means a damaged envelope) or a non-ASCII sender meets a server
 * without SMTPUTF8 (nothing is then to be sent), or -1 from buf (*why
 * NULL).
 */
int smtp_mail_cmd(struct buf *out, const struct smtp_mail *m, unsigned ext,
    const char **why);

/*
 * Builds "RCPT TO:<rcpt>" with NOTIFY= (normalised to upper case) and
 * ORCPT=rfc822;xtext (ASCII addresses only) when the server offers DSN
 * and notify is set, and CRLF, into out (emptied first). -1 with *why as
 * for smtp_mail_cmd, also for an empty recipient or a bad notify.
 */
int smtp_rcpt_cmd(struct buf *out, const char *rcpt, const char *notify,
    unsigned ext, const char **why);

#endif
