/* spool.c: the queue file written, committed, read back, cut, damaged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "tap.h"

static char dir[2048];		/* the queue directory of the writer */
static char cut[4096];		/* another one, for damaged copies */
static char qdir[4200], cutq[4200];

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static int
open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd == -1)
		die(path);
	return fd;
}

static void
put_file(int dfd, const char *name, const void *p, size_t n)
{
	int fd;

	unlinkat(dfd, name, 0);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd == -1 || (n && write(fd, p, n) != (ssize_t)n) || close(fd))
		die(name);
}

static char *
get_file(int dfd, const char *name, size_t *n)
{
	struct stat st;
	char *p;
	int fd = openat(dfd, name, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) == -1)
		die(name);
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		die("malloc");
	if (read(fd, p, (size_t)st.st_size) != st.st_size)
		die(name);
	close(fd);
	*n = (size_t)st.st_size;
	p[*n] = '\0';
	return p;
}

/* All that a parse yields, as one string to compare (mtime aside). */
static char *
snap(const struct spool_msg *m)
{
	char *s = NULL;
	size_t n = 0, i;
	FILE *f = open_memstream(&s, &n);

	if (f == NULL)
		die("open_memstream");
	fprintf(f, "id=%s arrival=%lld uid=%lu user=%s sender=<%s> envid=%s "
	    "ret=%s notify=%s 8bit=%d size=%llu nchunk=%zu attempts=%u "
	    "next=%lld bounced=%d end=%lld\n", m->id, (long long)m->arrival,
	    (unsigned long)m->uid, m->user, m->sender,
	    m->envid ? m->envid : "-", m->ret ? m->ret : "-",
	    m->notify ? m->notify : "-", m->eightbit,
	    (unsigned long long)m->size, m->nchunk, m->attempts,
	    (long long)m->next_try, m->bounced, (long long)m->end);
	for (i = 0; i < m->nrcpt; i++)
		fprintf(f, "rcpt %s state=%d code=%d reply=%s\n",
		    m->rcpt[i].addr, (int)m->rcpt[i].state, m->rcpt[i].code,
		    m->rcpt[i].reply ? m->rcpt[i].reply : "-");
	fclose(f);
	return s;
}

/* The content of m, read chunk by chunk. */
static char *
content(const struct spool_msg *m, size_t *n)
{
	char *p = malloc(m->size + 1);
	size_t i, off = 0;

	if (p == NULL)
		die("malloc");
	for (i = 0; i < m->nchunk; i++) {
		if (m->chunklen[i] > SPOOL_CHUNK ||
		    off + m->chunklen[i] > m->size ||
		    spool_read_chunk(m, i, p + off) == -1) {
			free(p);
			return NULL;
		}
		off += m->chunklen[i];
	}
	*n = off;
	return p;
}

/* Writes a message with every record a submitter writes; returns its id
 * in id. The content is len bytes of pattern. */
static void
write_msg(char *id, const char *body, size_t len)
{
	struct spool_new s;
	int rc;

	if (spool_create(&s, dir) == -1)
		die("spool_create");
	rc = spool_put_str(&s, 'T', "1700000000") |
	    spool_put_str(&s, 'U', "1000 alice") |
	    spool_put_str(&s, 'F', "alice@example.com") |
	    spool_put_str(&s, 'E', "env-1") |
	    spool_put_str(&s, 'N', "FAILURE,DELAY") |
	    spool_put_str(&s, 'Y', "HDRS") |
	    spool_put_str(&s, 'R', "bob@example.com") |
	    spool_put_str(&s, 'R', "carol@example.com");
	if (rc == 0)
		rc = spool_put_content(&s, body, len / 3) |
		    spool_put_content(&s, body + len / 3, len - len / 3) |
		    spool_put_str(&s, 'B', "8BITMIME");
	if (rc != 0 || spool_commit(&s) == -1)
		die("writing a queue file");
	strcpy(id, s.id);
}

static void
test_round_trip(void)
{
	struct spool_msg m;
	const char *why;
	char id[SPOOL_ID_MAX], *body, *got, *exp;
	size_t len = 3 * SPOOL_CHUNK + 1234, n, i;
	int qfd = open_dir(qdir), rc;

	if ((body = malloc(len)) == NULL)
		die("malloc");
	/* every byte value, NUL and newline included: content is opaque */
	for (i = 0; i < len; i++)
		body[i] = (char)(i * 7 + i / 251);
	write_msg(id, body, len);
	ok(spool_id_valid(id), "the new id has the shape of a queue id: %s", id);
	rc = spool_open(&m, qfd, id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "the committed file opens");
	if (rc != 0)
		return;
	got = snap(&m);
	if (asprintf(&exp, "id=%s arrival=1700000000 uid=1000 user=alice "
	    "sender=<alice@example.com> envid=env-1 ret=HDRS "
	    "notify=FAILURE,DELAY 8bit=1 size=%zu nchunk=4 attempts=0 next=0 "
	    "bounced=0 end=%lld\n"
	    "rcpt bob@example.com state=0 code=0 reply=-\n"
	    "rcpt carol@example.com state=0 code=0 reply=-\n", id, len,
	    (long long)m.end) == -1)
		die("asprintf");
	is_str(got, exp, "every envelope record reads back");
	free(got);
	free(exp);
	got = content(&m, &n);
	ok(got && n == len && memcmp(got, body, len) == 0,
	    "the content reads back byte for byte (%zu bytes in %zu records)",
	    len, m.nchunk);
	free(got);
	ok(spool_done(&m) == 0, "two recipients pending");
	spool_close(&m);
	unlinkat(qfd, id, 0);
	free(body);
	close(qfd);
}

/* The runner's records: each outcome, an attempt, a bounce. Keeps the
 * parse after each and where each record ends. */
#define NSTEP 6
static char *steps[NSTEP];
static off_t ends[NSTEP];
static char small_id[SPOOL_ID_MAX];

static void
test_state_records(void)
{
	struct spool_msg m;
	const char *why;
	char *got;
	int qfd = open_dir(qdir), rc, k = 0;

	write_msg(small_id, "Subject: x\r\n\r\nhi\r\n", 18);
	rc = spool_open(&m, qfd, small_id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "a small message opens");
	if (rc != 0)
		die("spool_open");
	steps[k] = snap(&m), ends[k++] = m.end;
	is_int(spool_mark(&m, 0, SPOOL_SENT, 250, "2.0.0 OK queued"), 0,
	    "s: a recipient sent");
	steps[k] = snap(&m), ends[k++] = m.end;
	is_int(spool_mark(&m, 1, SPOOL_PENDING, 451, "4.3.0 try\r\nlater"), 0,
	    "w: a recipient deferred");
	steps[k] = snap(&m), ends[k++] = m.end;
	is_int(spool_attempt(&m, 1700000100, 1700000400), 0, "a: an attempt");
	steps[k] = snap(&m), ends[k++] = m.end;
	is_int(spool_mark(&m, 1, SPOOL_FAILED, 550, "5.1.1 no such user"), 0,
	    "f: a recipient refused");
	steps[k] = snap(&m), ends[k++] = m.end;
	is_int(spool_mark_bounced(&m), 0, "b: a bounce queued");
	steps[k] = snap(&m), ends[k++] = m.end;
	ok(spool_done(&m), "no recipient pending");
	is_int(spool_mark(&m, 2, SPOOL_SENT, 250, "x"), -1,
	    "no outcome for a recipient that does not exist");
	spool_close(&m);

	rc = spool_open(&m, qfd, small_id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "reopened");
	got = rc == 0 ? snap(&m) : NULL;
	is_str(got, steps[NSTEP - 1], "the records read back as written");
	ok(got && strstr(got, "reply=4.3.0 try  later") == NULL &&
	    strstr(got, "state=2 code=550 reply=5.1.1 no such user"),
	    "the last outcome wins");
	free(got);
	if (rc == 0)
		spool_close(&m);
	close(qfd);
}

/* The file cut at every length: no end record means SPOOL_PARTIAL; past
 * it, the parse is the one of the last whole record, never another. */
static void
test_truncation(void)
{
	struct spool_msg m;
	const char *why;
	char *file, *got;
	size_t size, len, bad = 0, partial = 0, whole = 0;
	int qfd = open_dir(qdir), cfd = open_dir(cutq), rc, k;

	file = get_file(qfd, small_id, &size);
	is_int((long long)size, (long long)ends[NSTEP - 1],
	    "the file ends with its last record");
	for (len = 0; len <= size; len++) {
		put_file(cfd, small_id, file, len);
		rc = spool_open(&m, cfd, small_id, SPOOL_FILE_MAX, 0, &why);
		for (k = NSTEP - 1; k >= 0 && ends[k] > (off_t)len; k--)
			;
		if (k < 0) {
			if (rc == SPOOL_PARTIAL) {
				partial++;
				continue;
			}
			printf("# cut at %zu: %d (%s), want SPOOL_PARTIAL\n",
			    len, rc, why ? why : "");
			if (rc == 0)
				spool_close(&m);
			bad++;
			continue;
		}
		if (rc != 0) {
			printf("# cut at %zu: %d (%s), want a parse\n", len, rc,
			    why ? why : "");
			bad++;
			continue;
		}
		got = snap(&m);
		if (strcmp(got, steps[k]) != 0) {
			printf("# cut at %zu:\n# got  %s# want %s", len, got,
			    steps[k]);
			bad++;
		} else {
			whole++;
		}
		free(got);
		spool_close(&m);
	}
	is_int(bad, 0, "cut at each of %zu lengths: %zu partial, %zu whole, "
	    "none wrong", size + 1, partial, whole);
	is_int(partial, ends[0], "partial exactly up to the end record");
	unlinkat(cfd, small_id, 0);
	free(file);
	close(qfd);
	close(cfd);
}

/* A state record cut short at the end is ignored, and the next one
 * written over it. */
static void
test_torn_append(void)
{
	struct spool_msg m;
	const char *why;
	char *file, *got;
	size_t size;
	int qfd = open_dir(qdir), cfd = open_dir(cutq), rc;

	file = get_file(qfd, small_id, &size);
	/* in the middle of the w record */
	put_file(cfd, small_id, file, (size_t)ends[1] + 6);
	rc = spool_open(&m, cfd, small_id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "a torn record after Z: the file still opens");
	if (rc != 0)
		goto out;
	got = snap(&m);
	is_str(got, steps[1], "the torn record is ignored");
	free(got);
	is_int(spool_mark(&m, 1, SPOOL_SENT, 250, "2.0.0 later"), 0,
	    "the next record is written");
	spool_close(&m);
	free(file);
	file = get_file(cfd, small_id, &size);
	ok(size == (size_t)ends[1] + 22 &&
	    memcmp(file + ends[1], "s17:1 250 2.0.0 later\n", 22) == 0,
	    "over the torn one, from where it started");
	rc = spool_open(&m, cfd, small_id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "and reads back");
	if (rc == 0) {
		ok(spool_done(&m) && m.rcpt[1].state == SPOOL_SENT &&
		    m.end == (off_t)size, "with the new outcome");
		spool_close(&m);
	}
	/* A crash can leave the file grown with NUL bytes in place of an
	 * append that was not yet fsync'ed. */
	free(file);
	file = get_file(qfd, small_id, &size);
	if ((file = realloc(file, size + 4096)) == NULL)
		die("realloc");
	memset(file + size, 0, 4096);
	put_file(cfd, small_id, file, size + 4096);
	rc = spool_open(&m, cfd, small_id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "NUL bytes after the last record: the file opens");
	if (rc == 0) {
		got = snap(&m);
		is_str(got, steps[NSTEP - 1], "and they are ignored");
		free(got);
		is_int(spool_attempt(&m, 1, 2), 0, "the next record is written");
		spool_close(&m);
		rc = spool_open(&m, cfd, small_id, SPOOL_FILE_MAX, 0, &why);
		ok(rc == 0 && m.attempts == 2 && m.end == ends[NSTEP - 1] + 7,
		    "over them");
		if (rc == 0)
			spool_close(&m);
	}
	file[size + 4000] = 'x';
	put_file(cfd, small_id, file, size + 4096);
	rc = spool_open(&m, cfd, small_id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, SPOOL_BAD, "but not NUL bytes followed by anything else");
out:
	unlinkat(cfd, small_id, 0);
	free(file);
	close(qfd);
	close(cfd);
}

/* Damaged files: each one SPOOL_BAD with a reason. */
static void
test_bad(void)
{
	static const struct {
		const char *name;
		const char *text;	/* %s: the id */
	} cases[] = {
		{ "another version", "SENDQ2\nI18:%s\n" },
		{ "not a queue file", "From alice Mon Jan  1\n" },
		{ "garbage after the magic", "SENDQ1\n\001\002garbage" },
		{ "a wrong id record", "SENDQ1\nI18:000000000000000000\n" },
		{ "a length with a leading zero", "SENDQ1\nI018:%s\n" },
		{ "a length of 11 digits", "SENDQ1\nI00000000018:%s\n" },
		{ "no length", "SENDQ1\nI:%s\n" },
		{ "a record not ended by a newline", "SENDQ1\nI18:%sX" },
		{ "an unknown record", "SENDQ1\nI18:%s\nX3:abc\n" },
		{ "a NUL byte", "SENDQ1\nI18:%s\nF3:a\0b\n" },
		{ "an empty content record", "SENDQ1\nI18:%s\nM0:\n" },
		{ "an end record that does not match",
		  "SENDQ1\nI18:%s\nT1:1\nU6:0 root\nF0:\nR1:a\nM2:hi\nZ3:3 1\n" },
		{ "an envelope without a sender",
		  "SENDQ1\nI18:%s\nT1:1\nU6:0 root\nR1:a\nM2:hi\nZ3:2 1\n" },
		{ "no recipient",
		  "SENDQ1\nI18:%s\nT1:1\nU6:0 root\nF0:\nM2:hi\nZ3:2 0\n" },
		{ "an unknown record after Z",
		  "SENDQ1\nI18:%s\nT1:1\nU6:0 root\nF0:\nR1:a\nM2:hi\nZ3:2 1\nq1:x\n" },
		{ "an outcome for a recipient that does not exist",
		  "SENDQ1\nI18:%s\nT1:1\nU6:0 root\nF0:\nR1:a\nM2:hi\nZ3:2 1\ns7:1 250 x\n" },
	};
	static const char good[] =
	    "SENDQ1\nI18:%s\nT1:1\nU6:0 root\nF0:\nR1:a\nM2:hi\nZ3:2 1\n";
	struct spool_msg m;
	const char *why;
	const char *id = "0123456789ABCDEF01";
	char text[512];
	size_t i;
	int n, cfd = open_dir(cutq), rc;

	n = snprintf(text, sizeof(text), good, id);
	put_file(cfd, id, text, (size_t)n);
	rc = spool_open(&m, cfd, id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "a minimal hand-written file is accepted");
	if (rc == 0) {
		ok(m.nrcpt == 1 && m.size == 2 && m.sender[0] == '\0',
		    "with the null sender");
		spool_close(&m);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* the text of each case holds a NUL: build it by length */
		const char *fmt = cases[i].text;
		size_t flen = strlen(fmt);

		if (strcmp(cases[i].name, "a NUL byte") == 0)
			flen += 3;
		n = 0;
		for (size_t j = 0; j < flen; j++) {
			if (fmt[j] == '%' && fmt[j + 1] == 's') {
				memcpy(text + n, id, 18);
				n += 18;
				j++;
			} else {
				text[n++] = fmt[j];
			}
		}
		put_file(cfd, id, text, (size_t)n);
		why = NULL;
		rc = spool_open(&m, cfd, id, SPOOL_FILE_MAX, 0, &why);
		is_int(rc, SPOOL_BAD, "%s: SPOOL_BAD (%s)", cases[i].name,
		    why ? why : "no reason");
		if (rc == 0)
			spool_close(&m);
	}
	n = snprintf(text, sizeof(text), good, id);
	put_file(cfd, id, text, (size_t)n);
	rc = spool_open(&m, cfd, id, 10, 0, &why);
	is_int(rc, SPOOL_BAD, "over the size cap: SPOOL_BAD (%s)",
	    why ? why : "no reason");
	unlinkat(cfd, id, 0);
	close(cfd);
}

static void
test_files(void)
{
	struct spool_msg m;
	struct spool_new s;
	const char *why;
	char id[SPOOL_ID_MAX];
	const char *other = "0123456789ABCDEF02";
	int qfd = open_dir(qdir), fd, rc;

	write_msg(id, "hi\r\n", 4);

	if (symlinkat(id, qfd, other) == -1)
		die("symlinkat");
	why = NULL;
	rc = spool_open(&m, qfd, other, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, SPOOL_BAD, "a symbolic link: SPOOL_BAD (%s)",
	    why ? why : "");
	rc = spool_open(&m, qfd, other, SPOOL_FILE_MAX, 1, &why);
	is_int(rc, SPOOL_BAD, "also for mailq");
	unlinkat(qfd, other, 0);

	if (linkat(qfd, id, qfd, other, 0) == -1)
		die("linkat");
	why = NULL;
	rc = spool_open(&m, qfd, id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, SPOOL_BAD, "two links: SPOOL_BAD (%s)", why ? why : "");
	unlinkat(qfd, other, 0);

	if (mkdirat(qfd, other, 0700) == -1)
		die("mkdirat");
	why = NULL;
	rc = spool_open(&m, qfd, other, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, SPOOL_BAD, "a directory: SPOOL_BAD (%s)", why ? why : "");
	unlinkat(qfd, other, AT_REMOVEDIR);

	fd = openat(qfd, id, O_RDONLY);
	if (fd == -1 || flock(fd, LOCK_EX) == -1)
		die("flock");
	rc = spool_open(&m, qfd, id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, SPOOL_BUSY, "locked by another: SPOOL_BUSY");
	rc = spool_open(&m, qfd, id, SPOOL_FILE_MAX, 1, &why);
	is_int(rc, 0, "mailq reads it all the same, without the lock");
	if (rc == 0)
		spool_close(&m);
	close(fd);
	rc = spool_open(&m, qfd, id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, 0, "free again once the lock goes");
	if (rc == 0) {
		fd = openat(qfd, id, O_RDONLY);
		ok(fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1 &&
		    errno == EWOULDBLOCK, "an open message holds the lock");
		close(fd);
		spool_close(&m);
	}
	unlinkat(qfd, id, 0);

	/* A file being written: locked, and without its end record. */
	if (spool_create(&s, dir) == -1 || spool_put_str(&s, 'T', "1") == -1)
		die("spool_create");
	rc = spool_open(&m, qfd, s.id, SPOOL_FILE_MAX, 0, &why);
	is_int(rc, SPOOL_BUSY, "a file being written: SPOOL_BUSY");
	rc = spool_open(&m, qfd, s.id, SPOOL_FILE_MAX, 1, &why);
	is_int(rc, SPOOL_PARTIAL, "mailq finds it unfinished");
	is_int(spool_put(&s, 'F', "x", SPOOL_CHUNK), -1,
	    "an envelope record over the cap is refused");
	spool_abort(&s);
	errno = 0;
	rc = spool_open(&m, qfd, s.id, SPOOL_FILE_MAX, 0, &why);
	ok(rc == -1 && errno == ENOENT, "an aborted file is gone");
	close(qfd);
}

static void
test_ids(void)
{
	ok(spool_id_valid("0123456789ABCDEF01"), "18 upper-case hex digits");
	ok(!spool_id_valid("0123456789abcdef01"), "not lower case");
	ok(!spool_id_valid("0123456789ABCDEF0"), "not 17");
	ok(!spool_id_valid("0123456789ABCDEF012"), "not 19");
	ok(!spool_id_valid(".tmp"), "not a dot file");
}

/* Nothing but the messages it holds: q/ has no other files. */
static void
test_clean(void)
{
	char cmd[4400];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", qdir);
	ok(system(cmd) == 0, "q/ is empty again");
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int i;

	snprintf(dir, sizeof(dir), "%s/sendq-spool.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(cut, sizeof(cut), "%s/cut", dir);
	snprintf(qdir, sizeof(qdir), "%s/q", dir);
	snprintf(cutq, sizeof(cutq), "%s/cut/q", dir);
	if (mkdir(qdir, 0700) == -1 || mkdir(cut, 0700) == -1 ||
	    mkdir(cutq, 0700) == -1)
		die(cutq);

	test_ids();
	test_round_trip();
	test_state_records();
	test_truncation();
	test_torn_append();
	test_bad();
	test_files();

	for (i = 0; i < NSTEP; i++)
		free(steps[i]);
	{
		int qfd = open_dir(qdir);
		unlinkat(qfd, small_id, 0);
		close(qfd);
	}
	test_clean();
	rmdir(qdir);
	rmdir(cutq);
	rmdir(cut);
	rmdir(dir);
	return done_testing();
}
