#ifndef SENDQ_SUBMIT_H
#define SENDQ_SUBMIT_H

#include "conf.h"
#include "opts.h"
#include "priv.h"
#include "spool.h"

/*
 * Submission: one message from the caller's descriptor into the queue.
 * Ties message intake, addresses, aliases and the spool together.
 */

/*
 * Reads the message from fd, works out its envelope from o and (with -t)
 * its header, and queues it durably. On 0, id holds the queue id and the
 * message is safe on disk. Otherwise the reason was printed once and the
 * sysexits code is returned: EX_USAGE or EX_DATAERR for what the caller
 * got wrong (bad address, no recipients, NUL bytes), EX_TEMPFAIL when the
 * queue cannot take it (disk full, permissions), EX_IOERR when stdin
 * failed. Nothing is left in the queue unless 0 is returned.
 * broker, when not NULL, creates the queue file (a set-group-id run, the
 * shared queue); else it is made in c's queue directory with the
 * caller's own rights.
 */
int submit_message(const struct conf *c, const struct opts *o, int fd,
    struct priv_broker *broker, char id[SPOOL_ID_MAX]);

/*
 * -oem and -oee: mails text (the errors printed for a message that could
 * not be queued) to the sender o would have used, with the null sender.
 * Returns 0 once it is queued (its id in id), -1 otherwise (the caller
 * then prints it).
 */
int submit_notice(const struct conf *c, const struct opts *o,
    struct priv_broker *broker, const char *text, size_t len,
    char id[SPOOL_ID_MAX]);

/*
 * -bv: prints, one per line, each recipient of o (after aliases and
 * qualification) as "addr -> final". Returns 0 or EX_USAGE/EX_DATAERR.
 */
int submit_verify(const struct conf *c, const struct opts *o);

#endif
