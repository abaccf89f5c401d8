#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static const char *log_prog = "sendmail";

void
log_init(const char *prog)
{
	log_prog = prog;
	/* A fixed ident: syslog would otherwise take argv[0], which the
	 * caller picks (glibc CVE-2023-6246 grew from a long one). */
	openlog("sendq", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void
log_verr(const char *ctx, const char *fmt, va_list ap, int errnum)
{
	fprintf(stderr, "%s: ", log_prog);
	if (ctx)
		fprintf(stderr, "%s: ", ctx);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
log_err(const char *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verr(ctx, fmt, ap, 0);
	va_end(ap);
}

void
log_errno(const char *ctx, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_verr(ctx, fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
log_mail(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(LOG_MAIL | prio, fmt, ap);
	va_end(ap);
}

void
log_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = ' ';
}
