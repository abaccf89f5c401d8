/*
 * The queue file.
 *
 * A message is one file, DIR/q/ID, written once by the submitter and then
 * only appended to by the runner. ID is 18 upper-case hex digits: the
 * arrival time in microseconds (13) and 20 random bits (5), so that ls
 * sorts by age.
 *
 * Format, version 1. The file starts with the 7 bytes "SENDQ1\n". Then
 * records follow, each
 *
 *	TYPE LENGTH ':' DATA '\n'
 *
 * TYPE one ASCII letter, LENGTH the decimal length of DATA (1 to 10
 * digits, no leading zero but "0"), DATA exactly LENGTH bytes of anything.
 * Nothing is found by scanning for a delimiter, so no byte a caller sends
 * can end or forge a record; a file cut anywhere is recognised as cut.
 *
 * Written by the submitter, once: I first, Z last, the others between in
 * any order (the reader does not depend on it):
 *	I  the queue id (must equal the file name)
 *	T  arrival time, decimal seconds since the epoch
 *	U  "UID LOGIN" of the submitter
 *	F  envelope sender; empty DATA is the null sender <>
 *	B  "8BITMIME" when the content has 8-bit bytes (optional; written
 *	   after the content, once that is known)
 *	E  DSN ENVID, N  DSN NOTIFY, Y  DSN RET (each optional)
 *	Q  "": not for a runner taking new mail after a burst: queued with
 *	   -odq (for a queue run), or -odi or -v (for the caller's own
 *	   runner) (optional)
 *	L  the length of the content's longest line, without its CRLF
 *	   (written by spool_commit; a runner re-encodes past 998)
 *	R  one recipient (addr-spec), one record each, at least one
 *	M  a piece of the content, at most SPOOL_CHUNK bytes; the content is
 *	   the concatenation of all M records: the message as it goes on
 *	   the wire before dot-stuffing, CRLF line ends
 *	Z  "SIZE NRCPT": total content bytes and recipient count. The commit
 *	   record: a file without it was never acknowledged to the caller
 *	   and is never delivered.
 *
 * Appended by the runner, each fsync'ed before it is acted on:
 *	s  "IDX CODE TEXT": recipient IDX (0-based) was accepted (sent)
 *	f  "IDX CODE TEXT": recipient IDX was refused for good (bounce)
 *	w  "IDX CODE TEXT": recipient IDX was deferred; TEXT the last error
 *	a  "WHEN NEXT": an attempt ended at WHEN; the next is due at NEXT
 *	b  "": a bounce for the failed recipients has been queued
 * A record cut short by a crash at the very end is ignored, and the next
 * append overwrites it.
 *
 * Commit protocol. The submitter creates the file with O_EXCL and holds
 * an exclusive flock() on it until it has written Z, fsync'ed the file and
 * fsync'ed the directory. Runners take the same lock without blocking, so
 * a file is delivered by one runner at a time, never while it is written,
 * and a runner that dies releases it. A file without Z whose lock is free
 * belongs to a writer that died: it is removed after SPOOL_STALE seconds.
 */

#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define SPOOL_MAGIC "SENDQ1\n"
#define SPOOL_MAGIC_LEN 7
/* Records other than M are small: envelope values and replies. */
#define SPOOL_REC_MAX 4096
/* Flush the write buffer past this. */
#define SPOOL_FLUSH (SPOOL_CHUNK + 64)

static int
spool_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
spool_flush(struct spool_new *s)
{
	if (spool_write_all(s->fd, s->out.data, s->out.len) == -1)
		return -1;
	buf_reset(&s->out);
	return 0;
}

static int
spool_mkdir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
spool_id_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'A' && name[i] <= 'F')))
			return 0;
	return i == 18;
}

static void
spool_make_id(char *id)
{
	struct timeval tv;
	uint32_t r = 0;
	unsigned long long us;

	gettimeofday(&tv, NULL);
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r ^= (uint32_t)getpid() * 2654435761u ^ (uint32_t)tv.tv_usec;
	us = (unsigned long long)tv.tv_sec * 1000000ULL +
	    (unsigned long long)tv.tv_usec;
	snprintf(id, SPOOL_ID_MAX, "%013llX%05X",
	    us & 0xFFFFFFFFFFFFFULL, (unsigned)(r & 0xFFFFF));
}

int
spool_create_file(int qdirfd, mode_t mode, int *fd, char id[SPOOL_ID_MAX])
{
	int tries, saved;

	for (tries = 0; tries < 100; tries++) {
		spool_make_id(id);
		*fd = openat(qdirfd, id, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		if (*fd != -1 || errno != EEXIST)
			break;
	}
	if (*fd == -1)
		return -1;
	/* Nobody else can hold it yet but a runner that saw the name and
	 * is reading an empty file: it lets go at once. */
	if (flock(*fd, LOCK_EX) == -1) {
		saved = errno;
		unlinkat(qdirfd, id, 0);
		close(*fd);
		*fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

int
spool_adopt(struct spool_new *s, int qdirfd, int fd, const char *id)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	buf_init(&s->out, 0);
	buf_init(&s->chunk, 0);
	snprintf(s->id, sizeof(s->id), "%s", id);
	if ((s->dirfd = fcntl(qdirfd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    buf_append(&s->out, SPOOL_MAGIC, SPOOL_MAGIC_LEN) == -1 ||
	    spool_put_str(s, 'I', s->id) == -1) {
		spool_abort(s);
		return -1;
	}
	return 0;
}

int
spool_create(struct spool_new *s, const char *dir)
{
	struct buf path;
	char id[SPOOL_ID_MAX];
	int qfd, fd, rc, saved;

	memset(s, 0, sizeof(*s));
	s->fd = s->dirfd = -1;
	buf_init(&path, PATH_MAX);
	/* The directories exist but the first time: try before making them,
	 * which costs two system calls on every submission otherwise. */
	if (buf_printf(&path, "%s/q", dir) == -1 ||
	    ((qfd = open(path.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 &&
	    (errno != ENOENT || spool_mkdir(dir) == -1 ||
	    spool_mkdir(path.data) == -1 ||
	    (qfd = open(path.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1))) {
		saved = errno;
		buf_free(&path);
		errno = saved;
		return -1;
	}
	buf_free(&path);
	if (spool_create_file(qfd, 0600, &fd, id) == -1) {
		saved = errno;
		close(qfd);
		errno = saved;
		return -1;
	}
	rc = spool_adopt(s, qfd, fd, id);
	saved = errno;
	close(qfd);
	errno = saved;
	return rc;
}

static int
spool_record(struct buf *b, char type, const void *p, size_t n)
{
	if (buf_printf(b, "%c%zu:", type, n) == -1 ||
	    buf_append(b, p, n) == -1 || buf_putc(b, '\n') == -1)
		return -1;
	return 0;
}

/* Turns pending content into M records: all of it, or only whole
 * SPOOL_CHUNK pieces, so that small writes do not make small records. */
static int
spool_flush_content(struct spool_new *s, int all)
{
	size_t off = 0, k;

	while (s->chunk.len - off >= SPOOL_CHUNK ||
	    (all && s->chunk.len > off)) {
		k = s->chunk.len - off;
		if (k > SPOOL_CHUNK)
			k = SPOOL_CHUNK;
		if (spool_record(&s->out, 'M', s->chunk.data + off, k) == -1)
			return -1;
		if (s->out.len >= SPOOL_FLUSH && spool_flush(s) == -1)
			return -1;
		off += k;
	}
	if (off) {
		memmove(s->chunk.data, s->chunk.data + off, s->chunk.len - off);
		s->chunk.len -= off;
	}
	return 0;
}

int
spool_put(struct spool_new *s, char type, const void *p, size_t n)
{
	if (n > SPOOL_REC_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (spool_flush_content(s, 1) == -1 ||
	    spool_record(&s->out, type, p, n) == -1)
		return -1;
	if (type == 'R')
		s->nrcpt++;
	return s->out.len >= SPOOL_FLUSH ? spool_flush(s) : 0;
}

int
spool_put_str(struct spool_new *s, char type, const char *str)
{
	return spool_put(s, type, str, strlen(str));
}

int
spool_put_content(struct spool_new *s, const void *p, size_t n)
{
	const char *c = p;
	size_t k;

	if (s->size > UINT64_MAX - n) {
		errno = EFBIG;
		return -1;
	}
	/* The longest line, for the runner to know without reading it all
	 * whether the message needs re-encoding on its way out. */
	for (k = 0; k < n; k++) {
		if (c[k] == '\n') {
			if (s->linelen > 0)
				s->linelen--;	/* the CR before it */
			if (s->linelen > s->maxline)
				s->maxline = s->linelen;
			s->linelen = 0;
		} else
			s->linelen++;
	}
	while (n > 0) {
		k = SPOOL_CHUNK - (s->chunk.len % SPOOL_CHUNK);

		if (k > n)
			k = n;
		if (buf_append(&s->chunk, c, k) == -1 ||
		    spool_flush_content(s, 0) == -1)
			return -1;
		s->size += k;
		c += k;
		n -= k;
	}
	return 0;
}

int
spool_commit(struct spool_new *s)
{
	char z[64];
	int fd;

	if (s->linelen > s->maxline)
		s->maxline = s->linelen;
	snprintf(z, sizeof(z), "%" PRIu64, s->maxline);
	if (spool_put_str(s, 'L', z) == -1)
		goto fail;
	snprintf(z, sizeof(z), "%" PRIu64 " %zu", s->size, s->nrcpt);
	if (spool_flush_content(s, 1) == -1 || spool_record(&s->out, 'Z', z, strlen(z)) == -1 ||
	    spool_flush(s) == -1 || fsync(s->fd) == -1)
		goto fail;
	/* The directory entry is durable before the lock goes, so a runner
	 * never delivers what a crash could still take back. */
	if (fsync(s->dirfd) == -1)
		goto fail;
	fd = s->fd;
	s->fd = -1;
	if (close(fd) == -1) {
		/* The data is on disk (fsync'ed): a late close error cannot
		 * lose it, so the message stands. */
	}
	close(s->dirfd);
	s->dirfd = -1;
	buf_free(&s->out);
	buf_free(&s->chunk);
	return 0;
fail:
	spool_abort(s);
	return -1;
}

void
spool_abort(struct spool_new *s)
{
	int saved = errno;

	if (s->fd != -1) {
		/* Emptied first, durably: should the unlink fail, or not
		 * reach the disk before a crash (the directory fsync may be
		 * what failed), what is left has no end record and can never
		 * be delivered to a caller who was told it was not queued.
		 * In the shared queue the unlink always fails: the caller
		 * has dropped the group that may change q/, and the empty
		 * file waits for a runner to remove it as stale. */
		if (ftruncate(s->fd, 0) == -1 || fsync(s->fd) == -1) {
			/* the missing Z record still guards it */
		}
		unlinkat(s->dirfd, s->id, 0);
		close(s->fd);
		s->fd = -1;
	}
	if (s->dirfd != -1) {
		close(s->dirfd);
		s->dirfd = -1;
	}
	buf_free(&s->out);
	buf_free(&s->chunk);
	errno = saved;
}

/* Reading. */

/*
 * Reads one record header. Returns 1 with *type and *len, 0 at a clean
 * end of file, -1 on a malformed header, -2 when the file ends inside it.
 */
static int
spool_rd_head(FILE *f, int *type, uint64_t *len)
{
	int c, digits = 0;
	uint64_t n = 0;

	if ((c = getc(f)) == EOF)
		return 0;
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
		return -1;
	*type = c;
	for (;;) {
		if ((c = getc(f)) == EOF)
			return -2;
		if (c == ':')
			break;
		if (c < '0' || c > '9' || digits == 10 ||
		    (digits == 1 && n == 0))
			return -1;
		n = n * 10 + (uint64_t)(c - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	*len = n;
	return 1;
}

struct spool_parse {
	int have_i, have_t, have_u, have_f, have_z;
	uint64_t size;
	size_t cap_rcpt, cap_chunk;
};

static int
spool_strdup(char **dst, const char *p, size_t n)
{
	free(*dst);
	if ((*dst = strndup(p, n)) == NULL)
		return -1;
	return 0;
}

static int
spool_parse_num(const char *p, const char **end, unsigned long long *v)
{
	char *e;

	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*v = strtoull(p, &e, 10);
	if (errno)
		return -1;
	*end = e;
	return 0;
}

/* "IDX CODE TEXT" of the s, f and w records. */
static int
spool_apply_state(struct spool_msg *m, int type, const char *p, size_t n)
{
	unsigned long long idx, code;
	const char *e;
	struct spool_rcpt *rc;
	const char *text;

	(void)n;
	if (spool_parse_num(p, &e, &idx) == -1 || *e != ' ' ||
	    spool_parse_num(e + 1, &e, &code) == -1 || code > 999 ||
	    (*e != ' ' && *e != '\0'))
		return -1;
	if (idx >= m->nrcpt)
		return -1;
	text = *e ? e + 1 : "";
	rc = &m->rcpt[idx];
	rc->state = type == 's' ? SPOOL_SENT : type == 'f' ? SPOOL_FAILED :
	    SPOOL_PENDING;
	rc->code = (int)code;
	return spool_strdup(&rc->reply, text, strlen(text));
}

static int
spool_apply(struct spool_msg *m, struct spool_parse *ps, int type,
    char *p, size_t n, const char **why)
{
	unsigned long long a, b;
	const char *e;

	if (ps->have_z) {
		switch (type) {
		case 's':
		case 'f':
		case 'w':
			if (spool_apply_state(m, type, p, n) == -1)
				goto bad;
			return 0;
		case 'a':
			if (spool_parse_num(p, &e, &a) == -1 || *e != ' ' ||
			    spool_parse_num(e + 1, &e, &b) == -1 || *e)
				goto bad;
			m->attempts++;
			m->next_try = (time_t)b;
			return 0;
		case 'b':
			m->bounced = 1;
			return 0;
		}
		*why = "unknown record after the end record";
		return -1;
	}
	switch (type) {
	case 'I':
		if (strcmp(p, m->id) != 0) {
			*why = "queue id does not match the file name";
			return -1;
		}
		ps->have_i = 1;
		return 0;
	case 'T':
		if (spool_parse_num(p, &e, &a) == -1 || *e)
			goto bad;
		m->arrival = (time_t)a;
		ps->have_t = 1;
		return 0;
	case 'U':
		if (spool_parse_num(p, &e, &a) == -1 || *e != ' ' ||
		    a > UINT32_MAX)
			goto bad;
		m->uid = (uid_t)a;
		ps->have_u = 1;
		return spool_strdup(&m->user, e + 1, strlen(e + 1));
	case 'F':
		ps->have_f = 1;
		return spool_strdup(&m->sender, p, n);
	case 'B':
		m->eightbit = strcmp(p, "8BITMIME") == 0;
		return 0;
	case 'Q':
		m->queue_only = 1;
		return 0;
	case 'L':
		if (spool_parse_num(p, &e, &a) == -1 || *e)
			goto bad;
		m->maxline = a;
		return 0;
	case 'E':
		return spool_strdup(&m->envid, p, n);
	case 'N':
		return spool_strdup(&m->notify, p, n);
	case 'Y':
		return spool_strdup(&m->ret, p, n);
	case 'R':
		if (n == 0)
			goto bad;
		if (m->nrcpt == ps->cap_rcpt) {
			size_t cap = ps->cap_rcpt ? ps->cap_rcpt * 2 : 8;
			struct spool_rcpt *v;

			if (cap > SIZE_MAX / sizeof(*v) ||
			    (v = realloc(m->rcpt, cap * sizeof(*v))) == NULL)
				return -1;
			m->rcpt = v;
			ps->cap_rcpt = cap;
		}
		memset(&m->rcpt[m->nrcpt], 0, sizeof(m->rcpt[0]));
		if ((m->rcpt[m->nrcpt].addr = strndup(p, n)) == NULL)
			return -1;
		m->nrcpt++;
		return 0;
	case 'Z':
		if (spool_parse_num(p, &e, &a) == -1 || *e != ' ' ||
		    spool_parse_num(e + 1, &e, &b) == -1 || *e)
			goto bad;
		if (a != ps->size || b != m->nrcpt) {
			*why = "end record does not match the content";
			return -1;
		}
		if (!ps->have_i || !ps->have_t || !ps->have_u || !ps->have_f ||
		    m->nrcpt == 0) {
			*why = "envelope incomplete";
			return -1;
		}
		ps->have_z = 1;
		return 0;
	}
	*why = "unknown record";
	return -1;
bad:
	*why = "malformed record";
	return -1;
}

static int
spool_add_chunk(struct spool_msg *m, struct spool_parse *ps, off_t off,
    size_t len)
{
	if (m->nchunk == ps->cap_chunk) {
		size_t cap = ps->cap_chunk ? ps->cap_chunk * 2 : 16;
		off_t *o;
		size_t *l;

		if (cap > SIZE_MAX / sizeof(off_t))
			return -1;
		if ((o = realloc(m->chunk, cap * sizeof(*o))) == NULL)
			return -1;
		m->chunk = o;
		if ((l = realloc(m->chunklen, cap * sizeof(*l))) == NULL)
			return -1;
		m->chunklen = l;
		ps->cap_chunk = cap;
	}
	m->chunk[m->nchunk] = off;
	m->chunklen[m->nchunk] = len;
	m->nchunk++;
	ps->size += len;
	return 0;
}

/* 1 when f holds nothing but NUL bytes from off to its end. */
static int
spool_zero_tail(FILE *f, off_t off)
{
	int c;

	if (fseeko(f, off, SEEK_SET) == -1)
		return 0;
	while ((c = getc(f)) == 0)
		;
	return c == EOF && !ferror(f);
}

/* Returns 0, SPOOL_BAD, SPOOL_PARTIAL or -1. */
static int
spool_parse(struct spool_msg *m, FILE *f, const char **why)
{
	struct spool_parse ps;
	char magic[SPOOL_MAGIC_LEN];
	char *rec = NULL;
	off_t pos;
	int rc, type;
	uint64_t len;

	memset(&ps, 0, sizeof(ps));
	if (fread(magic, 1, SPOOL_MAGIC_LEN, f) != SPOOL_MAGIC_LEN) {
		if (ferror(f))
			return -1;
		*why = "no header";
		return SPOOL_PARTIAL;
	}
	if (memcmp(magic, SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0) {
		*why = "not a sendq queue file, or another version";
		return SPOOL_BAD;
	}
	if ((rec = malloc(SPOOL_REC_MAX + 1)) == NULL)
		return -1;
	pos = SPOOL_MAGIC_LEN;
	m->end = pos;
	for (;;) {
		rc = spool_rd_head(f, &type, &len);
		if (rc == 0)
			break;
		if (rc == -2)
			goto cut;
		if (rc == -1) {
			*why = "malformed record header";
			goto bad;
		}
		if (type == 'M' && !ps.have_z) {
			off_t data = ftello(f);

			if (len > SPOOL_CHUNK || len == 0) {
				*why = "content record empty or too long";
				goto bad;
			}
			if (spool_add_chunk(m, &ps, data, (size_t)len) == -1)
				goto fail;
			if (fseeko(f, (off_t)len, SEEK_CUR) == -1)
				goto fail;
			/* fseeko goes past the end silently: the newline read
			 * below tells a cut file. */
		} else {
			if (len > SPOOL_REC_MAX) {
				*why = "record too long";
				goto bad;
			}
			if (fread(rec, 1, (size_t)len, f) != (size_t)len) {
				if (ferror(f))
					goto fail;
				goto cut;
			}
			rec[len] = '\0';
			if (memchr(rec, '\0', (size_t)len)) {
				*why = "NUL byte in a record";
				goto bad;
			}
		}
		rc = getc(f);
		if (rc == EOF)
			goto cut;
		if (rc != '\n') {
			*why = "record not terminated";
			goto bad;
		}
		if (type != 'M' || ps.have_z) {
			if (spool_apply(m, &ps, type, rec, (size_t)len, why) == -1) {
				if (errno == ENOMEM)
					goto fail;
				goto bad;
			}
		}
		pos = ftello(f);
		m->end = pos;
	}
	free(rec);
	if (ferror(f))
		return -1;
	if (!ps.have_z) {
		*why = "no end record";
		return SPOOL_PARTIAL;
	}
	m->size = ps.size;
	return 0;
cut:
	free(rec);
	if (ferror(f))
		return -1;
	/* A cut record after the end record is an append a crash broke
	 * off: it never happened. Before it, the writer never finished. */
	if (ps.have_z) {
		m->size = ps.size;
		return 0;
	}
	*why = "no end record";
	return SPOOL_PARTIAL;
bad:
	free(rec);
	/* So is a tail of NUL bytes after the end record: a file system
	 * that grew the file but lost the data of an append not yet
	 * fsync'ed. The next append writes over it. */
	if (ps.have_z && spool_zero_tail(f, pos)) {
		m->size = ps.size;
		return 0;
	}
	return SPOOL_BAD;
fail:
	free(rec);
	return -1;
}

int
spool_open(struct spool_msg *m, int qdirfd, const char *id, off_t max,
    int for_list, const char **why)
{
	struct stat st, named;
	FILE *f;
	int fd, dfd, rc, saved;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	*why = NULL;
	if (strlen(id) >= SPOOL_ID_MAX) {
		*why = "name too long";
		return SPOOL_BAD;
	}
	strcpy(m->id, id);
	fd = openat(qdirfd, id, (for_list ? O_RDONLY : O_RDWR) | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP) {
			*why = "a symbolic link";
			return SPOOL_BAD;
		}
		if (errno == EISDIR) {
			*why = "a directory";
			return SPOOL_BAD;
		}
		return -1;
	}
	m->fd = fd;
	if (fstat(fd, &st) == -1)
		goto fail;
	m->mtime = st.st_mtime;
	m->owner = st.st_uid;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		*why = "not a regular file with one link";
		rc = SPOOL_BAD;
		goto out;
	}
	if (max > 0 && st.st_size > max) {
		*why = "larger than the queue accepts";
		rc = SPOOL_BAD;
		goto out;
	}
	if (!for_list && flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			rc = SPOOL_BUSY;
			goto out;
		}
		goto fail;
	}
	/* The runner that held the lock before us may have delivered the
	 * message and removed the file without a record of it (the removal
	 * is the record), or moved it to failed/: a file that is no longer
	 * under its name in q/ is gone. */
	if (!for_list && (fstatat(qdirfd, id, &named, AT_SYMLINK_NOFOLLOW) == -1 ||
	    named.st_ino != st.st_ino || named.st_dev != st.st_dev)) {
		errno = ENOENT;
		goto fail;
	}
	if ((dfd = dup(fd)) == -1)
		goto fail;
	if ((f = fdopen(dfd, "r")) == NULL) {
		close(dfd);
		goto fail;
	}
	rc = spool_parse(m, f, why);
	saved = errno;
	fclose(f);
	errno = saved;
	if (rc == -1)
		goto fail;
out:
	if (rc != 0) {
		saved = errno;
		spool_close(m);
		errno = saved;
	}
	return rc;
fail:
	saved = errno;
	spool_close(m);
	errno = saved;
	return -1;
}

int
spool_read_chunk(const struct spool_msg *m, size_t i, char *buf)
{
	size_t got = 0, n = m->chunklen[i];

	while (got < n) {
		ssize_t r = pread(m->fd, buf + got, n - got,
		    m->chunk[i] + (off_t)got);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Appends whole records (data[0..n)) after the last whole one, and
 * fsyncs them. */
static int
spool_append_raw(struct spool_msg *m, const char *data, size_t n)
{
	ssize_t w;

	/* Drops a record a crash cut short, so the log stays parseable. */
	if (ftruncate(m->fd, m->end) == -1)
		return -1;
	w = pwrite(m->fd, data, n, m->end);
	if (w == -1)
		return -1;
	if ((size_t)w != n) {
		errno = EIO;
		return -1;
	}
	if (fsync(m->fd) == -1)
		return -1;
	m->end += (off_t)n;
	return 0;
}

static int
spool_append(struct spool_msg *m, char type, const char *data)
{
	struct buf b;
	int rc, saved;

	buf_init(&b, SPOOL_REC_MAX + 32);
	rc = spool_record(&b, type, data, strlen(data));
	if (rc == 0)
		rc = spool_append_raw(m, b.data, b.len);
	saved = errno;
	buf_free(&b);
	errno = saved;
	return rc;
}

int
spool_note(struct spool_msg *m, size_t i, enum spool_state st, int code,
    const char *reply)
{
	struct buf txt;
	size_t k;

	if (i >= m->nrcpt || code < 0 || code > 999) {
		errno = EINVAL;
		return -1;
	}
	/* Replies are kept short and on one line: a diagnostic, not data,
	 * so a long one is cut here on purpose. */
	buf_init(&txt, SPOOL_REC_MAX - 32);
	for (k = 0; reply && reply[k] && txt.len < txt.max; k++) {
		unsigned char c = (unsigned char)reply[k];

		if (buf_putc(&txt, c < 0x20 || c == 0x7f ? ' ' : c) == -1) {
			buf_free(&txt);
			return -1;
		}
	}
	free(m->rcpt[i].reply);
	if ((m->rcpt[i].reply = buf_take(&txt)) == NULL)
		return -1;
	m->rcpt[i].state = st;
	m->rcpt[i].code = code;
	m->rcpt[i].unsaved = 1;
	return 0;
}

int
spool_save(struct spool_msg *m)
{
	struct buf b, rec;
	size_t i;
	int rc = 0, saved;

	buf_init(&b, 0);
	buf_init(&rec, SPOOL_REC_MAX);
	for (i = 0; i < m->nrcpt && rc == 0; i++) {
		const struct spool_rcpt *r = &m->rcpt[i];

		if (!r->unsaved)
			continue;
		buf_reset(&rec);
		rc = buf_printf(&rec, "%zu %d %s", i, r->code,
		    r->reply ? r->reply : "");
		if (rc == 0)
			rc = spool_record(&b, r->state == SPOOL_SENT ? 's' :
			    r->state == SPOOL_FAILED ? 'f' : 'w', rec.data,
			    rec.len);
	}
	if (rc == 0 && b.len > 0)
		rc = spool_append_raw(m, b.data, b.len);
	if (rc == 0)
		for (i = 0; i < m->nrcpt; i++)
			m->rcpt[i].unsaved = 0;
	saved = errno;
	buf_free(&b);
	buf_free(&rec);
	errno = saved;
	return rc;
}

int
spool_mark(struct spool_msg *m, size_t i, enum spool_state st, int code,
    const char *reply)
{
	if (spool_note(m, i, st, code, reply) == -1)
		return -1;
	return spool_save(m);
}

int
spool_attempt(struct spool_msg *m, time_t when, time_t next)
{
	char a[64];

	snprintf(a, sizeof(a), "%lld %lld", (long long)when, (long long)next);
	if (spool_append(m, 'a', a) == -1)
		return -1;
	m->attempts++;
	m->next_try = next;
	return 0;
}

int
spool_mark_bounced(struct spool_msg *m)
{
	if (spool_append(m, 'b', "") == -1)
		return -1;
	m->bounced = 1;
	return 0;
}

int
spool_done(const struct spool_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].state == SPOOL_PENDING)
			return 0;
	return 1;
}

void
spool_close(struct spool_msg *m)
{
	size_t i;

	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	for (i = 0; i < m->nrcpt; i++) {
		free(m->rcpt[i].addr);
		free(m->rcpt[i].reply);
	}
	free(m->rcpt);
	free(m->chunk);
	free(m->chunklen);
	free(m->user);
	free(m->sender);
	free(m->envid);
	free(m->ret);
	free(m->notify);
	m->rcpt = NULL;
	m->chunk = NULL;
	m->chunklen = NULL;
	m->user = m->sender = m->envid = m->ret = m->notify = NULL;
	m->nrcpt = m->nchunk = 0;
}
