#ifndef SENDQ_ALIAS_H
#define SENDQ_ALIAS_H

#include "addr.h"
#include "conf.h"

/*
 * [aliases]: "name = addr, addr, ...". A bare local recipient is looked up
 * (case-insensitively), each target expanded again (a target naming
 * another alias is followed, up to ALIAS_DEPTH, loops broken), and what is
 * left is completed with the sender domain. A name with no entry stays
 * itself. Values are address lists as in a header (addr_parse_list).
 */

#define ALIAS_DEPTH 10

/*
 * Checks every [aliases] entry: parseable, each target passes addr_check.
 * Prints "prog: FILE:LINE: detail" for each bad one. Returns 0 or EX_CONFIG.
 */
int alias_check(const struct conf *c);

/*
 * Adds the final recipients of rcpt to out: rcpt itself when it has a
 * domain, else its alias expansion, qualified with domain. Returns 0 or -1
 * (ENOMEM, or ELOOP when the depth is exceeded).
 */
int alias_expand(const struct conf *c, const char *rcpt, const char *domain,
    struct addr_list *out);

#endif
