#ifndef SENDQ_DELIVER_H
#define SENDQ_DELIVER_H

#include <stddef.h>

#include "addr.h"
#include "conf.h"

/*
 * Queue runs, in the runner: pick the messages that are due, send them
 * over one connection to the smarthost, record each recipient's outcome
 * durably, retry with backoff, and give up after the queue lifetime.
 */

struct deliver_sel {
	char *const *ids;	/* exact queue ids, or NULL for all */
	size_t nids;
	const char *id_sub;	/* -qI: substring of the id */
	const char *rcpt_sub;	/* -qR: substring of a recipient */
	const char *sender_sub;	/* -qS: substring of the sender */
	int force;		/* deliver even when not yet due */
	int fresh;		/* with ids: also every message never tried */
};

/*
 * One pass over the queue, each message to the smarthosts of its route
 * (conf_route), the next one taking over what one cannot take before
 * DATA. The relay fetches each smarthost's secret when it connects.
 * Returns 0 when every selected message was delivered or nothing was due,
 * EX_UNAVAILABLE when a recipient was refused for good, EX_TEMPFAIL when
 * one was deferred, or another sysexits code for trouble with the queue
 * itself (printed). Only the outcomes of ids count: a queue run (ids
 * NULL) returns 0 once its pass is made. touched, when
 * not NULL, gets every id the pass opened for delivery (the daemon's
 * inotify watch sees those closes and must not take them for new mail).
 */
/*
 * The same, in parts, for a runner that makes several passes (the daemon,
 * a runner that lingers after a burst): connections stay open from one
 * pass to the next while they are fresh. deliver_start returns NULL with
 * the reason printed; deliver_run returns what deliver_pass does.
 */
struct deliver;
struct deliver *deliver_start(const struct conf *c, int verbose);
int deliver_run(struct deliver *d, const struct deliver_sel *sel,
    struct addr_list *touched);
void deliver_end(struct deliver *d);

int deliver_pass(const struct conf *c, const struct deliver_sel *sel,
    int verbose, struct addr_list *touched);

#endif
