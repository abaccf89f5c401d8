#ifndef SENDQ_SPOOL_H
#define SENDQ_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"

/*
 * The queue file: its format, its writing by the submitter and its reading
 * and updating by the runner. The format is documented at the top of
 * spool.c and in sendmail(8).
 */

#define SPOOL_ID_MAX 32
/* The largest queue file a runner reads: past it the file is not one a
 * submitter wrote (which caps the message below it). */
#define SPOOL_FILE_MAX ((off_t)1 << 40)

/* The writer's side. */
struct spool_new {
	int fd;
	int dirfd;		/* the q/ directory, for its fsync */
	char id[SPOOL_ID_MAX];
	struct buf out;		/* records not yet written */
	struct buf chunk;	/* content not yet made into a record */
	uint64_t size;		/* content bytes so far */
	size_t nrcpt;
	uint64_t linelen;	/* length of the content's current line */
	uint64_t maxline;	/* longest line so far, without CRLF */
};

/*
 * Creates a new, empty queue file in dir/q/ under a fresh id, locked
 * against runners until spool_commit or spool_abort. Returns 0 or -1
 * with errno (the caller reports it).
 */
int spool_create(struct spool_new *s, const char *dir);

/*
 * The two halves of spool_create, for a set-group-id sendmail whose
 * privileged helper creates the file (priv.c) and whose unprivileged
 * main process writes it. spool_create_file makes a new locked file in
 * the queue directory qdirfd with the given mode; 0 with *fd and id, or
 * -1 with errno. spool_adopt takes over fd (and a duplicate of qdirfd,
 * for the directory's fsync) as s; 0 or -1 with errno (fd then closed).
 */
int spool_create_file(int qdirfd, mode_t mode, int *fd, char id[SPOOL_ID_MAX]);
int spool_adopt(struct spool_new *s, int qdirfd, int fd, const char *id);

/* Envelope records; see spool.c for the letters. 0 or -1 with errno. */
int spool_put(struct spool_new *s, char type, const void *p, size_t n);
int spool_put_str(struct spool_new *s, char type, const char *str);

/* Message content, any number of calls; kept as chunk records. */
int spool_put_content(struct spool_new *s, const void *p, size_t n);

/*
 * Writes the end record, fsyncs the file, closes it and fsyncs the
 * directory. Only after a 0 from here may the caller be told "queued".
 * On -1 (errno kept) the file was already emptied and removed so that no
 * part of it can be delivered.
 */
int spool_commit(struct spool_new *s);

/* Gives up the new file: empties and removes it. Keeps errno. */
void spool_abort(struct spool_new *s);

/* The runner's side. */

enum spool_state {
	SPOOL_PENDING,		/* not yet final */
	SPOOL_SENT,		/* the smarthost took it (2xx after the dot) */
	SPOOL_FAILED		/* permanently refused: to be bounced */
};

struct spool_rcpt {
	char *addr;
	enum spool_state state;
	int code;		/* last reply code, 0 if none */
	char *reply;		/* last reply text (sanitised), or NULL */
	int unsaved;		/* changed by spool_note, not yet on disk */
};

struct spool_msg {
	int fd;			/* open and flock()ed while in use */
	char id[SPOOL_ID_MAX];
	time_t arrival;
	uid_t uid;		/* who submitted it, as the file says */
	uid_t owner;		/* who owns the file: the truth for mailq */
	char *user;		/* their login name */
	char *sender;		/* "" = null sender */
	char *envid, *ret, *notify;	/* DSN values or NULL */
	int eightbit;
	int queue_only;		/* -odq/-odi/-v: never a burst runner's */
	uint64_t maxline;	/* longest content line; 0 when not recorded */
	struct spool_rcpt *rcpt;
	size_t nrcpt;
	uint64_t size;		/* content bytes */
	off_t *chunk;		/* offset of each content chunk's data */
	size_t *chunklen;
	size_t nchunk;
	unsigned attempts;
	time_t next_try;	/* 0: due now */
	int bounced;		/* a bounce was queued for its failures */
	off_t end;		/* end of the last whole record */
	time_t mtime;
};

/* spool_open results besides 0 and -1 */
#define SPOOL_BUSY 1		/* locked: being written or delivered */
#define SPOOL_BAD 2		/* not a queue file we accept (damaged,
				   unknown version, wrong kind of file) */
#define SPOOL_PARTIAL 3		/* no end record: still being written, or
				   left by a writer that died (m->mtime) */

/*
 * Opens dir/q/id for delivery: without following links, a regular file
 * with one link and at most max bytes (0: no cap), locked with flock
 * without blocking, strictly parsed. Returns 0 (m filled, locked), SPOOL_BUSY,
 * SPOOL_BAD (with *why set to a static reason), SPOOL_PARTIAL, or -1 with
 * errno. With for_list set it opens read-only and takes no lock (for
 * mailq): a file being delivered is read as far as it is whole.
 */
int spool_open(struct spool_msg *m, int qdirfd, const char *id, off_t max,
    int for_list, const char **why);

/* 1 if name has the shape of a queue id (so that other files in q/ are
 * left alone). */
int spool_id_valid(const char *name);

/*
 * Reads content chunk i into buf (which must hold chunklen[i] bytes,
 * at most SPOOL_CHUNK). 0 or -1 with errno; a short read is EIO.
 */
#define SPOOL_CHUNK 65536
int spool_read_chunk(const struct spool_msg *m, size_t i, char *buf);

/*
 * Records a recipient's outcome (state and reply) durably: appended and
 * fsync'ed before it returns 0. -1 with errno.
 */
int spool_mark(struct spool_msg *m, size_t i, enum spool_state st, int code,
    const char *reply);

/*
 * The same as spool_mark, in memory only: spool_save (or the next
 * spool_mark) writes every noted outcome with one fsync. For a message
 * whose recipients all succeed, the runner removes the file instead, so
 * the success costs no write at all; a crash before that sends the
 * message again (a duplicate, never a loss). 0 or -1 (ENOMEM, EINVAL).
 */
int spool_note(struct spool_msg *m, size_t i, enum spool_state st, int code,
    const char *reply);
int spool_save(struct spool_msg *m);

/* Records that an attempt ended and when the next is due. 0 or -1. */
int spool_attempt(struct spool_msg *m, time_t when, time_t next);

/* Records that a bounce for the failed recipients was queued. 0 or -1. */
int spool_mark_bounced(struct spool_msg *m);

/* 1 when no recipient is pending. */
int spool_done(const struct spool_msg *m);

/* Unlocks, closes and frees (the file stays). */
void spool_close(struct spool_msg *m);

#endif
