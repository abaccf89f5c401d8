#ifndef SENDQ_PRIV_H
#define SENDQ_PRIV_H

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

#endif
