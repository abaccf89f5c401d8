#ifndef SENDQ_QUEUE_H
#define SENDQ_QUEUE_H

#include <stdio.h>

#include "conf.h"

/*
 * The queue as a whole: which messages are in it, and the mailq listing.
 * Delivery is the runner's (deliver.c); this side links no SMTP client.
 */

struct queue_ids {
	char **v;
	size_t n;
};

/*
 * Opens dir/q (O_DIRECTORY, without following a link there). Returns the
 * descriptor, or -1 with errno (ENOENT: no queue yet).
 */
int queue_open(const char *dir);

/* Every queue id in the directory qfd, oldest first. 0 or -1 (errno). */
int queue_scan(int qfd, struct queue_ids *ids);
void queue_ids_free(struct queue_ids *ids);

/*
 * mailq: lists the queue on out in Postfix's layout (id, size, arrival,
 * sender, then each pending recipient with its last error). A user other
 * than root sees only their own messages. Returns 0 or a sysexits code,
 * the reason printed.
 */
int queue_list(const struct conf *c, FILE *out);

#endif
