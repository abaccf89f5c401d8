#ifndef SENDQ_MIME_H
#define SENDQ_MIME_H

#include <stddef.h>

#include "buf.h"

/*
 * Makes a queued message one that every server accepts, on its way out:
 * no line over 998 octets (RFC 5322 2.1.1) and no 8-bit byte in a body
 * (for a smarthost that does not offer 8BITMIME).
 *
 * Header lines over the limit are folded at white space. A body that is
 * not MIME is sent as quoted-printable with the MIME fields added, as
 * OpenSMTPD's enqueue does; in a MIME message every leaf part whose
 * encoding is 7bit, 8bit, binary or absent is re-encoded the same way
 * (quoted-printable is valid for any content); base64 and
 * quoted-printable parts and message parts are left as they are.
 * The runner calls this only for messages that need it: the queue keeps
 * what the caller wrote.
 *
 * The input is the message as queued (CRLF line ends), fed in pieces of
 * any size; the output is appended to a buf.
 */

#define MIME_LINE_MAX 998	/* octets of a line, without its CRLF */

#define MIME_8BIT_CONTENT 0x01	/* the message has 8-bit bytes: a text
				   body without a charset is taken as UTF-8 */
#define MIME_7BIT 0x02		/* the server takes no 8-bit: header text
				   (Subject and other unstructured fields)
				   is sent as RFC 2047 encoded words */

struct mime;

/* NULL on ENOMEM. */
struct mime *mime_new(unsigned flags);

/* Appends the transformed form of p[0..n) to out. 0 or -1 (ENOMEM). */
int mime_feed(struct mime *m, const char *p, size_t n, struct buf *out);

/* Flushes what is held back at the end of the message. 0 or -1. */
int mime_finish(struct mime *m, struct buf *out);

void mime_free(struct mime *m);

#endif
