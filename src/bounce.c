#include "bounce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

/* The original header that goes back to the sender; past this much the
 * rest is left out (RET=HDRS is the default for what bounces carry). */
#define BOUNCE_HEAD_MAX (64 * 1024)

static void
bounce_date(char *out, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* "550 5.1.1 text" -> "5.1.1"; else the class from the code. */
static void
bounce_status(const struct spool_rcpt *r, char *out, size_t size)
{
	const char *t = r->reply ? r->reply : "";
	size_t n = 0;

	if ((t[0] == '4' || t[0] == '5') && t[1] == '.') {
		while (t[n] && t[n] != ' ' && n < size - 1 &&
		    ((t[n] >= '0' && t[n] <= '9') || t[n] == '.'))
			n++;
		memcpy(out, t, n);
		out[n] = '\0';
		return;
	}
	snprintf(out, size, "%d.0.0", r->code >= 400 && r->code < 600 ?
	    r->code / 100 : 5);
}

/* Appends m's header (up to the empty line) with CRLF line ends. */
static int
bounce_headers(const struct spool_msg *m, struct buf *out)
{
	char *chunk;
	const char *end;
	size_t i, start = out->len;
	int rc = 0;

	if ((chunk = malloc(SPOOL_CHUNK)) == NULL)
		return -1;
	for (i = 0; i < m->nchunk && out->len - start < BOUNCE_HEAD_MAX; i++) {
		if (spool_read_chunk(m, i, chunk) == -1 ||
		    buf_append(out, chunk, m->chunklen[i]) == -1) {
			rc = -1;
			break;
		}
		if (memmem(out->data + start, out->len - start, "\r\n\r\n", 4))
			break;
	}
	free(chunk);
	if (rc == 0) {
		end = memmem(out->data + start, out->len - start, "\r\n\r\n", 4);
		if (end)
			out->len = (size_t)(end - out->data) + 2;
		else if (out->len - start > BOUNCE_HEAD_MAX)
			out->len = start + BOUNCE_HEAD_MAX;
		/* never end in half a line */
		while (out->len > start && out->data[out->len - 1] != '\n')
			out->len--;
		out->data[out->len] = '\0';
	}
	return rc;
}

static int
bounce_build(const char *domain, const struct spool_msg *m,
    const char *rcpt, const char *id, struct buf *b)
{
	char date[64], arrival[64], status[32];
	size_t i;

	bounce_date(date, sizeof(date), time(NULL));
	bounce_date(arrival, sizeof(arrival), m->arrival);
	buf_printf(b,
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: Undelivered Mail Returned to Sender\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s.bounce@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s/%s\"\r\n"
	    "\r\n"
	    "This is a MIME-encapsulated message.\r\n"
	    "\r\n"
	    "--%s/%s\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "This is the mail system at %s.\r\n"
	    "\r\n"
	    "Your message could not be delivered to one or more recipients.\r\n"
	    "The mail server that refused it said:\r\n"
	    "\r\n",
	    domain, rcpt, date, id, domain, id, domain, id, domain, domain);
	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].state == SPOOL_FAILED)
			buf_printf(b, "<%s>: %d %s\r\n", m->rcpt[i].addr,
			    m->rcpt[i].code,
			    m->rcpt[i].reply ? m->rcpt[i].reply : "");
	buf_printf(b,
	    "\r\n"
	    "--%s/%s\r\n"
	    "Content-Type: message/delivery-status\r\n"
	    "\r\n"
	    "Reporting-MTA: dns; %s\r\n"
	    "X-Sendq-Queue-ID: %s\r\n"
	    "Arrival-Date: %s\r\n",
	    id, domain, domain, m->id, arrival);
	if (m->envid)
		buf_printf(b, "Original-Envelope-Id: %s\r\n", m->envid);
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state != SPOOL_FAILED)
			continue;
		bounce_status(&m->rcpt[i], status, sizeof(status));
		buf_printf(b,
		    "\r\n"
		    "Final-Recipient: rfc822; %s\r\n"
		    "Action: failed\r\n"
		    "Status: %s\r\n"
		    "Diagnostic-Code: smtp; %d %s\r\n",
		    m->rcpt[i].addr, status, m->rcpt[i].code,
		    m->rcpt[i].reply ? m->rcpt[i].reply : "");
	}
	buf_printf(b,
	    "\r\n"
	    "--%s/%s\r\n"
	    "Content-Type: text/rfc822-headers\r\n"
	    "\r\n", id, domain);
	if (bounce_headers(m, b) == -1)
		return -1;
	return buf_printf(b, "\r\n--%s/%s--\r\n", id, domain);
}

int
bounce_queue(const struct conf *c, const char *domain,
    const struct spool_msg *m, const struct addr_list *rcpts,
    char id[SPOOL_ID_MAX])
{
	struct spool_new sp;
	struct buf b;
	char t[32];
	size_t i;
	int saved;

	if (spool_create(&sp, c->queue_dir) == -1)
		return -1;
	buf_init(&b, 0);
	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	if (spool_put_str(&sp, 'T', t) == -1 ||
	    spool_put_str(&sp, 'U', "0 MAILER-DAEMON") == -1 ||
	    spool_put_str(&sp, 'F', "") == -1)
		goto fail;
	for (i = 0; i < rcpts->n; i++)
		if (spool_put_str(&sp, 'R', rcpts->v[i]) == -1)
			goto fail;
	/* To: names the sender as the message had it */
	if (bounce_build(domain, m, m->sender, sp.id, &b) == -1 ||
	    spool_put_content(&sp, b.data, b.len) == -1)
		goto fail;
	buf_free(&b);
	memcpy(id, sp.id, SPOOL_ID_MAX);
	return spool_commit(&sp);
fail:
	saved = errno;
	buf_free(&b);
	spool_abort(&sp);
	errno = saved;
	return -1;
}
