#ifndef SENDQ_MSG_H
#define SENDQ_MSG_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "addr.h"
#include "buf.h"

/*
 * Message intake: the bytes a caller writes to sendmail's stdin become an
 * RFC 5322 message with CRLF line ends, and its header is parsed so that
 * -t can take recipients from it and missing fields can be added.
 *
 * Input is bytes, never C strings: NUL is data (refused later by policy,
 * not truncated here).
 */

/* Header block cap: past it the message is refused, not cut. */
#define MSG_HEAD_MAX (1024 * 1024)

/*
 * A reader over fd that turns LF, CRLF, bare CR and mixes of them into
 * CRLF, adds a missing final line end, and (when dot_ends) stops at a line
 * holding a single "." and removes one leading dot from a line starting
 * with "..", as Sendmail does without -i. Works across reads of any size.
 */
struct msg_in {
	int fd;
	int dot_ends;
	int eof;		/* no more input will come */
	int err;		/* errno of a failed read, 0 if none */
	int eightbit;		/* a byte >= 0x80 was seen */
	int nul;		/* a NUL byte was seen */
	/* internal state */
	int at_bol;		/* next byte starts a line */
	int cr;			/* last byte read was a CR not yet resolved */
	int dots;		/* dots held back at line start (dot_ends) */
	char raw[65536];
	size_t rpos, rlen;
	unsigned long long total;	/* normalised bytes produced */
};

void msg_in_init(struct msg_in *in, int fd, int dot_ends);

/*
 * Fills buf with up to cap (>= 4) normalised bytes. Returns the count,
 * 0 at the end of the message, -1 on a read error (in->err holds errno).
 */
ssize_t msg_in_read(struct msg_in *in, char *buf, size_t cap);

/* One header field: raw[off..off+len) is "Name: value" with its folded
 * continuation lines and final CRLF. */
struct msg_field {
	size_t off, len;
	size_t namelen;
	int deleted;
};

struct msg_head {
	struct buf raw;		/* the header block as read (normalised) */
	struct msg_field *f;
	size_t nf, capf;
	struct buf added;	/* fields sendq adds, each ending in CRLF */
	struct buf rest;	/* bytes read past the header: start of the body */
	int had_separator;	/* the header ended in an empty line */
};

/*
 * Reads the header block from in: fields up to the empty line, or up to
 * the first line that is not a field (which then starts the body, and a
 * separating empty line is written in front of it). A leading mbox
 * "From " line is dropped. Returns 0, or -1 with errno: E2BIG when the
 * header passes MSG_HEAD_MAX, EIO with in->err on read errors, ENOMEM.
 */
int msg_head_read(struct msg_in *in, struct msg_head *h);

void msg_head_free(struct msg_head *h);

/* The i-th (0-based) field named name (case-insensitive), or NULL. */
struct msg_field *msg_head_find(struct msg_head *h, const char *name,
    size_t i);

/* The field body after "Name:" (continuation lines and final CRLF kept). */
const char *msg_field_value(const struct msg_head *h,
    const struct msg_field *f, size_t *len);

/* Marks every field named name as deleted. Returns how many. */
size_t msg_head_delete(struct msg_head *h, const char *name);

/* Appends "Name: value\r\n" to the fields sendq adds. 0 or -1 (ENOMEM). */
int msg_head_add(struct msg_head *h, const char *name, const char *value);

/*
 * -t: adds the recipients of To, Cc and Bcc to out, or those of the first
 * Resent-To/Resent-Cc/Resent-Bcc block when one exists (Postfix's rule).
 * Returns 0; -1 with *bad set to the field's name when a field does not
 * parse as an address list, or on ENOMEM (*bad NULL).
 */
int msg_head_rcpts(struct msg_head *h, struct addr_list *out,
    const char **bad);

/* What msg_head_complete needs to know about the submission. */
struct msg_origin {
	const char *domain;	/* sender domain, for Message-ID and From */
	const char *user;	/* login name of the caller */
	const char *fullname;	/* -F, else GECOS; may be NULL */
	const char *from;	/* envelope sender for From, or NULL: user@domain */
	time_t now;
	const char *id;		/* queue id, part of the Message-ID */
};

/*
 * Completes every bare local address in From, Sender, Reply-To, To, Cc
 * (and their Resent- forms) with "@domain", leaving names, comments and
 * folding as written. Returns 0 or -1 (ENOMEM).
 */
int msg_head_qualify(struct msg_head *h, const char *domain);

/*
 * Qualifies addresses (msg_head_qualify) and adds Date, Message-ID and
 * From where missing; removes Bcc (and
 * Resent-Bcc), Return-Path and Content-Length. Returns 0 or -1 (ENOMEM).
 */
int msg_head_complete(struct msg_head *h, const struct msg_origin *o);

/*
 * Calls put(ctx, p, n) with the final header block: kept fields in order,
 * then the added ones, then the empty line, then h->rest. Stops at and
 * returns the first non-zero result of put; 0 when all went out.
 */
int msg_head_write(const struct msg_head *h,
    int (*put)(void *ctx, const void *p, size_t n), void *ctx);

#endif
