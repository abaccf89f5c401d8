/*
 * The SMTP client's pure parts (src/smtp.h): the reply parser, which
 * reads what the smarthost sends, and the dot-stuffer, which writes the
 * message onto the wire; also MAIL FROM and RCPT TO building from the
 * same bytes taken as an address.
 *
 * Input: a piece-size byte (0: everything at once), a byte of EHLO
 * keyword flags, then the bytes. The reply parser gets them as server
 * output, in pieces; the dot-stuffer gets them as message content, in
 * pieces, and its output is compared with a plain reference.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz-util.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
replies(const char *s, size_t size, size_t step)
{
	struct smtp_parser p;
	size_t off = 0, piece, used, i;
	char *text;
	int rc;

	smtp_parser_init(&p);
	while (off < size) {
		piece = step && step < size - off ? step : size - off;
		rc = smtp_parser_feed(&p, s + off, piece, &used);
		FUZZ_ASSERT(used <= piece);
		off += used;
		if (rc == -1) {
			FUZZ_ASSERT(errno == EPROTO || errno == E2BIG ||
			    errno == ENOMEM);
			/* Refusal is sticky. */
			FUZZ_ASSERT(smtp_parser_feed(&p, "250 ok\r\n", 8,
			    &used) == -1);
			break;
		}
		if (rc == 0) {
			FUZZ_ASSERT(used == piece);
			continue;
		}
		FUZZ_ASSERT(rc == 1 && used > 0);
		FUZZ_ASSERT(p.code >= 200 && p.code <= 599);
		if ((text = smtp_parser_take(&p)) == NULL)
			abort();
		FUZZ_ASSERT(strlen(text) <= SMTP_TEXT_MAX);
		for (i = 0; text[i] != '\0'; i++)
			FUZZ_ASSERT((unsigned char)text[i] >= 0x20 &&
			    text[i] != 0x7f);
		free(text);
	}
	smtp_parser_free(&p);
}

/* What the wire must carry for content s: line ends made CRLF (CRLF,
 * bare CR and bare LF alike), a dot doubled at the start of each line, a
 * final line end added if missing, then ".\r\n". */
static void
reference(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int bol = 1, r = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			r |= buf_append(out, "\r\n", 2);
			bol = 1;
			continue;
		}
		if (bol && s[i] == '.')
			r |= buf_putc(out, '.');
		r |= buf_putc(out, s[i]);
		bol = 0;
	}
	if (!bol)
		r |= buf_append(out, "\r\n", 2);
	r |= buf_append(out, ".\r\n", 3);
	if (r)
		abort();
}

static void
stuffing(const char *s, size_t size, size_t step)
{
	struct smtp_dot d;
	struct buf out, want;
	size_t off, piece;

	buf_init(&out, 0);
	buf_init(&want, 0);
	smtp_dot_init(&d);
	for (off = 0; off < size; off += piece) {
		piece = step && step < size - off ? step : size - off;
		if (smtp_dot_stuff(&d, s + off, piece, &out) == -1)
			abort();
	}
	if (smtp_dot_end(&d, &out) == -1)
		abort();
	reference(s, size, &want);
	FUZZ_ASSERT(out.len == want.len &&
	    memcmp(out.data, want.data, out.len) == 0);
	buf_free(&out);
	buf_free(&want);
}

/* A command holds one line: only its final CRLF, and no NUL. */
static void
check_cmd(const struct buf *cmd)
{
	FUZZ_ASSERT(cmd->len >= 2 && strlen(cmd->data) == cmd->len);
	FUZZ_ASSERT(cmd->data[cmd->len - 2] == '\r' &&
	    cmd->data[cmd->len - 1] == '\n');
	FUZZ_ASSERT(memchr(cmd->data, '\r', cmd->len - 2) == NULL);
	FUZZ_ASSERT(memchr(cmd->data, '\n', cmd->len - 2) == NULL);
}

static void
commands(const char *s, unsigned ext, size_t size)
{
	struct smtp_mail mail;
	struct buf cmd;
	const char *why;
	size_t i;
	int utf8 = 0;

	buf_init(&cmd, 0);
	(void)smtp_addr_check(s, &utf8);
	(void)smtp_notify_check(s);
	(void)smtp_ehlo_keyword(s, strlen(s));

	memset(&mail, 0, sizeof(mail));
	mail.sender = s;
	mail.size = size;
	mail.eightbit = ext & 1;
	mail.utf8 = utf8;
	mail.ret = ext & 2 ? "HDRS" : NULL;
	mail.envid = ext & 4 ? s : NULL;
	if (smtp_mail_cmd(&cmd, &mail, ext, &why) == 0)
		check_cmd(&cmd);
	if (smtp_rcpt_cmd(&cmd, s, ext & 8 ? s : "success,delay", ext,
	    &why) == 0)
		check_cmd(&cmd);

	buf_reset(&cmd);
	if (smtp_xtext(&cmd, s) == -1)
		abort();
	for (i = 0; i < cmd.len; i++)
		FUZZ_ASSERT(cmd.data[i] >= 0x21 && cmd.data[i] <= 0x7e &&
		    cmd.data[i] != '=');
	buf_free(&cmd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;
	unsigned ext;
	char *s;

	if (size < 2)
		return 0;
	fuzz_quiet();
	step = data[0];
	ext = data[1];
	data += 2;
	size -= 2;
	/* An exact-size copy, so that a read past the end is caught. */
	if ((s = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(s, data, size);
	replies(s, size, step);
	stuffing(s, size, step);
	free(s);
	/* The same bytes as a C string. */
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	commands(s, ext, size);
	free(s);
	return 0;
}
