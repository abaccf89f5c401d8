#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

/* 1 when fd is /dev/full (character device 1, 7) open write-only. */
static int
priv_on_dev_full(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	return fl != -1 && (fl & O_ACCMODE) == O_WRONLY &&
	    fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	    major(st.st_rdev) == 1 && minor(st.st_rdev) == 7;
}

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
	/* In a set-id run the C library has already put /dev/full, open
	 * write-only, on a closed fd 0, so that reading it fails. Read it
	 * as empty instead, as a run without the bit does. */
	if (priv_on_dev_full(0) && (fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		close(fd);
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
	/* A caller that ignores SIGCHLD (swaks does) would have the kernel
	 * reap our children, and waitpid fail with ECHILD. */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);

	if (getuid() != geteuid() || getgid() != getegid())
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

int
priv_setgid(void)
{
	return getgid() != getegid();
}

int
priv_drop(void)
{
	gid_t r, e, s, g = getgid();

	if (setgroups(0, NULL) == -1 && errno != EPERM) {
		log_errno(NULL, "setgroups");
		return -1;
	}
	if (setresgid(g, g, g) == -1) {
		log_errno(NULL, "cannot drop group privilege");
		return -1;
	}
	if (getresgid(&r, &e, &s) == -1 || r != g || e != g || s != g ||
	    (g != 0 && setegid(0) != -1)) {
		log_err(NULL, "group privilege still held after dropping it");
		return -1;
	}
	return 0;
}

/*
 * Broker replies: "OK ID" with the new file's descriptor attached, "OK"
 * for a wake, or "ER ERRNO".
 */
static int
priv_send(int sock, int fd, const char *text)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	iov.iov_base = (void *)text;
	iov.iov_len = strlen(text) + 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		mh.msg_control = u.space;
		mh.msg_controllen = sizeof(u.space);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

/* The broker's loop: one byte in, one reply out, until the socket closes. */
static void
priv_broker_serve(int sock, int qdirfd)
{
	char req, id[SPOOL_ID_MAX], reply[SPOOL_ID_MAX + 16];
	int fd, wfd;

	/* Files it makes are the runner's to read and append to (group
	 * read-write), and nobody else's. */
	umask(007);
	while (read(sock, &req, 1) == 1) {
		fd = -1;
		if (req == 'N') {
			if (spool_create_file(qdirfd, 0660, &fd, id) == 0)
				snprintf(reply, sizeof(reply), "OK %s", id);
			else
				snprintf(reply, sizeof(reply), "ER %d", errno);
		} else if (req == 'W') {
			/* Closing a file that the daemon's inotify watch sees
			 * wakes it; the name is no queue id, so nothing reads
			 * it. */
			wfd = openat(qdirfd, ".wake", O_WRONLY | O_CREAT |
			    O_NOFOLLOW | O_CLOEXEC, 0660);
			if (wfd != -1) {
				close(wfd);
				snprintf(reply, sizeof(reply), "OK");
			} else
				snprintf(reply, sizeof(reply), "ER %d", errno);
		} else
			break;
		if (priv_send(sock, fd, reply) == -1)
			break;
		if (fd != -1)
			close(fd);
	}
	_exit(0);
}

int
priv_broker_start(struct priv_broker *b, const char *qdir)
{
	int sv[2], saved;
	pid_t pid;

	b->sock = -1;
	b->pid = -1;
	b->qdirfd = open(qdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b->qdirfd == -1) {
		log_errno("queue", "%s", qdir);
		goto drop;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_errno(NULL, "socketpair");
		goto drop;
	}
	if ((pid = fork()) == -1) {
		log_errno(NULL, "fork");
		close(sv[0]);
		close(sv[1]);
		goto drop;
	}
	if (pid == 0) {
		close(sv[0]);
		priv_broker_serve(sv[1], b->qdirfd);
	}
	close(sv[1]);
	b->sock = sv[0];
	b->pid = pid;
	if (priv_drop() == -1) {
		priv_broker_stop(b);
		return -1;
	}
	return 0;
drop:
	saved = errno;
	priv_drop();
	errno = saved;
	return -1;
}

static int
priv_request(struct priv_broker *b, char req, int *fd, char *text, size_t size)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	char reply[SPOOL_ID_MAX + 16];
	ssize_t n;

	*fd = -1;
	if (b->sock == -1) {
		errno = EPERM;
		return -1;
	}
	if (write(b->sock, &req, 1) != 1)
		return -1;
	memset(&mh, 0, sizeof(mh));
	memset(reply, 0, sizeof(reply));
	iov.iov_base = reply;
	iov.iov_len = sizeof(reply) - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.space;
	mh.msg_controllen = sizeof(u.space);
	do
		n = recvmsg(b->sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (strncmp(reply, "ER ", 3) == 0) {
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		errno = atoi(reply + 3) > 0 ? atoi(reply + 3) : EIO;
		return -1;
	}
	if (strncmp(reply, "OK", 2) != 0) {
		errno = EPROTO;
		return -1;
	}
	snprintf(text, size, "%s", reply[2] == ' ' ? reply + 3 : "");
	return 0;
}

int
priv_broker_create(struct priv_broker *b, int *fd, char *id, size_t idsize)
{
	if (priv_request(b, 'N', fd, id, idsize) == -1)
		return -1;
	if (*fd == -1 || !spool_id_valid(id)) {
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int
priv_broker_wake(struct priv_broker *b)
{
	char text[8];
	int fd;

	return priv_request(b, 'W', &fd, text, sizeof(text));
}

void
priv_broker_stop(struct priv_broker *b)
{
	int status;

	if (b->sock != -1) {
		close(b->sock);
		b->sock = -1;
		if (b->pid > 0)
			while (waitpid(b->pid, &status, 0) == -1 &&
			    errno == EINTR)
				;
	}
	b->pid = -1;
}
