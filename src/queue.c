#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "spool.h"

static int
queue_open_sub(const char *dir, const char *sub)
{
	struct buf p;
	int fd;

	buf_init(&p, 4096);
	if (buf_printf(&p, "%s/%s", dir, sub) == -1)
		return -1;
	fd = open(p.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	buf_free(&p);
	return fd;
}

int
queue_open(const char *dir)
{
	return queue_open_sub(dir, "q");
}

static int
queue_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
queue_scan(int qfd, struct queue_ids *ids)
{
	struct dirent *de;
	DIR *d;
	size_t cap = 0;
	int dfd, saved;

	ids->v = NULL;
	ids->n = 0;
	if ((dfd = dup(qfd)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!spool_id_valid(de->d_name))
			continue;
		if (ids->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **v;

			if (ncap > SIZE_MAX / sizeof(*v) ||
			    (v = realloc(ids->v, ncap * sizeof(*v))) == NULL)
				goto fail;
			ids->v = v;
			cap = ncap;
		}
		if ((ids->v[ids->n] = strdup(de->d_name)) == NULL)
			goto fail;
		ids->n++;
	}
	if (errno)
		goto fail;
	closedir(d);
	/* Ids start with the arrival time in fixed-width hex. */
	if (ids->n > 1)
		qsort(ids->v, ids->n, sizeof(*ids->v), queue_cmp);
	return 0;
fail:
	saved = errno;
	closedir(d);
	queue_ids_free(ids);
	errno = saved;
	return -1;
}

void
queue_ids_free(struct queue_ids *ids)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		free(ids->v[i]);
	free(ids->v);
	ids->v = NULL;
	ids->n = 0;
}

static void
queue_list_one(FILE *out, const struct spool_msg *m, int failed)
{
	char when[32], id[SPOOL_ID_MAX + 1];
	struct tm tm;
	size_t i;

	localtime_r(&m->arrival, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
	/* '!' marks what no runner will retry, as Postfix marks held mail */
	snprintf(id, sizeof(id), "%s%s", m->id, failed ? "!" : "");
	fprintf(out, "%-19s %8llu %-20s  %s\n", id,
	    (unsigned long long)m->size, when,
	    m->sender[0] ? m->sender : "MAILER-DAEMON");
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].state == SPOOL_SENT)
			continue;
		if (m->rcpt[i].reply && m->rcpt[i].reply[0]) {
			/* Replies were sanitised when recorded; again here in
			 * case the file was not written by a runner. */
			char *r = strdup(m->rcpt[i].reply);

			if (r) {
				log_sanitize(r);
				/* the code too: "4.3.0 try later" alone hides
				 * whether the server meant 451 or 421 */
				if (m->rcpt[i].code)
					fprintf(out, "%52s(%d %s)\n", "",
					    m->rcpt[i].code, r);
				else
					fprintf(out, "%52s(%s)\n", "", r);
				free(r);
			}
		}
		fprintf(out, "%52s%s\n", "", m->rcpt[i].addr);
	}
	fputc('\n', out);
}

struct queue_total {
	unsigned long long bytes;
	size_t shown;
};

/* Lists DIR/sub; a missing directory is an empty one. */
static int
queue_list_dir(const struct conf *c, const char *sub, FILE *out,
    struct queue_total *t)
{
	struct queue_ids ids;
	struct spool_msg m;
	const char *why;
	size_t i;
	uid_t me = getuid();
	int qfd;

	if ((qfd = queue_open_sub(c->queue_dir, sub)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_errno("queue", "%s/%s", c->queue_dir, sub);
		return EX_TEMPFAIL;
	}
	if (queue_scan(qfd, &ids) == -1) {
		log_errno("queue", "%s/%s", c->queue_dir, sub);
		close(qfd);
		return EX_TEMPFAIL;
	}
	for (i = 0; i < ids.n; i++) {
		if (spool_open(&m, qfd, ids.v[i], SPOOL_FILE_MAX, 1, &why) != 0)
			continue;	/* being written, gone, or not ours */
		if (me == 0 || m.owner == me) {
			if (t->shown++ == 0)
				fprintf(out, "%-19s %8s %-20s  %s\n", "-Queue ID-",
				    "--Size--", "----Arrival Time----",
				    "-Sender/Recipient-------");
			queue_list_one(out, &m, strcmp(sub, "q") != 0);
			t->bytes += m.size;
		}
		spool_close(&m);
	}
	queue_ids_free(&ids);
	close(qfd);
	return 0;
}

int
queue_list(const struct conf *c, FILE *out)
{
	struct queue_total t = { 0, 0 };
	int rc;

	if ((rc = queue_list_dir(c, "q", out, &t)) != 0 ||
	    (rc = queue_list_dir(c, "failed", out, &t)) != 0)
		return rc;
	if (t.shown == 0)
		fprintf(out, "Mail queue is empty\n");
	else
		fprintf(out, "-- %llu Kbytes in %zu Request%s.\n",
		    (t.bytes + 1023) / 1024, t.shown, t.shown == 1 ? "" : "s");
	return 0;
}
