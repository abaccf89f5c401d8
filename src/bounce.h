#ifndef SENDQ_BOUNCE_H
#define SENDQ_BOUNCE_H

#include "addr.h"
#include "conf.h"
#include "spool.h"

/*
 * Delivery status notifications (RFC 3464) for recipients that failed
 * for good, queued as new messages with the null sender.
 */

/*
 * Queues a bounce of m's failed recipients to rcpts (m's sender after
 * aliases) in c's queue, with the server replies and m's original header.
 * domain names the reporting MTA. On 0, id holds the bounce's queue id.
 * -1 with errno when it could not be queued (m stays as it is).
 */
int bounce_queue(const struct conf *c, const char *domain,
    const struct spool_msg *m, const struct addr_list *rcpts,
    char id[SPOOL_ID_MAX]);

#endif
