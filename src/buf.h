#ifndef SENDQ_BUF_H
#define SENDQ_BUF_H

#include <stddef.h>

/*
 * A growable byte buffer with a hard cap. Data from outside (headers,
 * replies, config lines) lands here instead of in fixed arrays, so going
 * over the cap is a decision the caller reports, never a silent cut.
 * data is always NUL-terminated after len bytes (not counted in len), so
 * text can be used as a C string; binary data may hold NULs of its own.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* hard cap on len; 0 means SIZE_MAX */
};

void buf_init(struct buf *b, size_t max);

/* Returns 0, or -1 with errno ENOMEM, or E2BIG when len would pass max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Empties the buffer and keeps its memory. */
void buf_reset(struct buf *b);

/* Hands the data to the caller (never NULL: "" when empty) and
 * leaves b empty; the caller frees it. Returns NULL only on ENOMEM. */
char *buf_take(struct buf *b);

void buf_free(struct buf *b);

#endif
