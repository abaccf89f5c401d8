#ifndef SENDQ_LOG_H
#define SENDQ_LOG_H

/*
 * Two channels. log_err() tells the person or program that called us,
 * one line on stderr in the shape "sendmail: context: detail". log_mail()
 * records queue events in syslog (facility mail, ident "sendq") for the
 * administrator. Neither ever prints server text without it having been
 * through log_sanitize().
 */

/* prog is the name stderr lines start with ("sendmail", "sendq-runner").
 * Opens syslog with the fixed ident "sendq": never argv[0], which a caller
 * chooses. */
void log_init(const char *prog);

/* "prog: ctx: message\n" on stderr; ctx may be NULL. */
void log_err(const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like log_err, with ": strerror(errno)" appended. Keeps errno. */
void log_errno(const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* syslog(LOG_MAIL | prio, ...). */
void log_mail(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Replaces, in place, every byte below 0x20 and 0x7f with a space, so text
 * from a server or a message cannot forge log lines or mailq rows. */
void log_sanitize(char *s);

#endif
