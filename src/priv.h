#ifndef SENDQ_PRIV_H
#define SENDQ_PRIV_H

#include <stddef.h>

/*
 * Process hygiene at start-up, before any input is looked at: the caller
 * controls our environment, descriptors, umask, signals and directory.
 */

/*
 * Forces fds 0-2 open (on /dev/null), sets umask 077, clears the
 * environment (keeping nothing a caller chose; PATH is set to a fixed
 * value), ignores SIGPIPE and SIGXFSZ (a failed write is reported, not
 * fatal) and makes the process not dumpable when it runs set-id.
 * The working directory is left for the caller to change once relative
 * paths from argv (-C) are resolved. Returns 0 or -1 (reason printed).
 */
int priv_init(void);

/*
 * The shared queue. sendmail is installed set-group-id to sendq's own
 * group, and that group is the only way into the queue directory. The
 * group is used for one thing: creating queue files. A small child, the
 * broker, keeps it and does nothing but create a locked file in
 * SPOOLDIR/q on request and hand back its descriptor over a socket
 * (SCM_RIGHTS); the main process drops the group for good, checks the
 * drop, and only then looks at argv, the config or stdin. No request
 * carries data the broker interprets beyond its one-letter kind.
 */

/* 1 when running with a group other than the caller's (set-group-id). */
int priv_setgid(void);

struct priv_broker {
	int sock;		/* -1: no broker */
	int qdirfd;		/* SPOOLDIR/q, opened with the group */
	int pid;
};

/*
 * Starts the broker for qdir (SPOOLDIR "/q"), then drops the group in
 * this process for good and checks it. Returns 0, or -1 with the reason
 * printed (nothing can be queued then; the group is dropped all the same).
 */
int priv_broker_start(struct priv_broker *b, const char *qdir);

/* A new, locked queue file: 0 with *fd and id, or -1 with errno. */
int priv_broker_create(struct priv_broker *b, int *fd, char *id, size_t idsize);

/* Wakes the queue runner daemon (its inotify watch). 0 or -1. */
int priv_broker_wake(struct priv_broker *b);

/* Ends the broker; b->qdirfd stays open for the caller to close. */
void priv_broker_stop(struct priv_broker *b);

/*
 * Gives up set-group-id privilege for good: setresgid to the real group,
 * and checks that neither effective nor saved group can come back.
 * 0 or -1 (printed).
 */
int priv_drop(void);

#endif
