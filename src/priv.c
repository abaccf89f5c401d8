#include "priv.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int
priv_init(void)
{
	struct sigaction sa;
	int fd;

	/* A caller that closed 0, 1 or 2 would otherwise have our queue
	 * file land on stdout, and error text written into it. */
	for (;;) {
		if ((fd = open("/dev/null", O_RDWR)) == -1) {
			log_errno(NULL, "/dev/null");
			return -1;
		}
		if (fd > 2) {
			close(fd);
			break;
		}
	}
	umask(077);

	/* libcurl reads SSLKEYLOGFILE and proxy settings from the
	 * environment; syslog and time functions read TZ; none of it is
	 * ours to take from the caller. */
	if (clearenv() != 0) {
		log_err(NULL, "cannot clear the environment");
		return -1;
	}
	if (setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) == -1) {
		log_errno(NULL, "setenv");
		return -1;
	}

	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	/* RLIMIT_FSIZE: a write that passes it must fail with EFBIG and be
	 * reported, not kill us halfway through a queue file. */
	sigaction(SIGXFSZ, &sa, NULL);

	if (getuid() != geteuid() || getgid() != getegid())
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
