#ifndef SENDQ_ADDR_H
#define SENDQ_ADDR_H

#include <stddef.h>

/*
 * Addresses: parsing RFC 5322 address lists out of header fields, checking
 * what may go into an SMTP envelope, and completing bare local names.
 * An address here is always a bare addr-spec ("local@domain" or "local"),
 * without angle brackets, comments or display names.
 */

/* RFC 5321 4.5.3.1 limits. */
#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_PATH_MAX 256

/* An ordered list of owned strings without duplicates (exact match, the
 * domain compared case-insensitively). */
struct addr_list {
	char **v;
	size_t n;
	size_t cap;
};

void addr_list_init(struct addr_list *l);
/* Copies a. Returns 0 (also when a was already there) or -1 (ENOMEM). */
int addr_list_add(struct addr_list *l, const char *a);
int addr_list_has(const struct addr_list *l, const char *a);
void addr_list_free(struct addr_list *l);

/*
 * Appends to out every addr-spec in the header field body s[0..len):
 * display names, comments, quoted strings, groups ("team: a@x, b@y;"),
 * angle addresses and folded lines (CRLF + WSP) are understood; empty
 * groups and empty lists add nothing. Returns 0, or -1 if the text is not
 * an address list (errno EINVAL; the caller reports it) or on ENOMEM; on
 * -1 nothing has been added to out.
 */
int addr_parse_list(const char *s, size_t len, struct addr_list *out);

/*
 * 0 if a may go into MAIL FROM or RCPT TO: no byte <= 0x20 or 0x7f, no
 * '<' '>' '(' ')' ',' ';' '\\' '"' outside a quoted local part, not
 * starting with '-', at most one unquoted '@', local part <= 64, domain
 * <= 255, path ("<" a ">") <= 256, domain made of dot-separated labels
 * or an address literal. Otherwise -1, with *why set to a static reason.
 * The empty string (the null sender) is not valid here; callers handle it.
 */
int addr_check(const char *a, const char **why);

/*
 * Returns a newly allocated copy of a, with "@domain" appended when a has
 * no '@' (a bare local name such as "root"). NULL on ENOMEM.
 */
char *addr_qualify(const char *a, const char *domain);

/* 1 if a has no '@' (outside a quoted local part: "\"a@b\"" is local). */
int addr_is_local(const char *a);

#endif
