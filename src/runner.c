/*
 * sendq-runner: the delivery side. The only program that links libcurl
 * and reads the smarthost secrets. sendmail starts it for a message it
 * has just queued (-I ID), or runs it for a queue run (-q).
 *
 *	sendq-runner [-v] [-l] [-C FILE] -I ID [ID ...]
 *	sendq-runner [-v] [-C FILE] -q[ARG]
 *
 * With an interval (-q30m) it stays: a pass every interval, and a pass as
 * soon as a submitter closes a new queue file (inotify on DIR/q). While it
 * runs it holds DIR/runner.lock, which tells sendmail that nobody else
 * needs to be started for a new message.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "priv.h"
#include "relay.h"

static int
runner_usage(void)
{
	log_err(NULL, "usage: sendq-runner [-v] [-l] [-C file] -I id ... | -q[arg]");
	return EX_USAGE;
}

static volatile sig_atomic_t runner_stop;

static void
runner_on_signal(int sig)
{
	(void)sig;
	runner_stop = 1;
}

/* -q's argument: empty, an interval, or I/R/S followed by a substring. */
static int
runner_queue_arg(const char *a, struct deliver_sel *sel,
    unsigned long *interval)
{
	switch (a[0]) {
	case '\0':
		return 0;
	case 'I':
		sel->id_sub = a + 1;
		sel->force = 1;
		return 0;
	case 'R':
		sel->rcpt_sub = a + 1;
		sel->force = 1;
		return 0;
	case 'S':
		sel->sender_sub = a + 1;
		sel->force = 1;
		return 0;
	}
	if (conf_duration(a, interval) == -1 || *interval == 0) {
		log_err(NULL, "-q%s: not an interval such as 30s, 15m, 1h", a);
		return -1;
	}
	return 0;
}

/* Reads the pending inotify events; 1 if one names a file this runner
 * did not open itself in its last pass (so: new mail). */
static int
runner_events(int ifd, const struct addr_list *touched)
{
	char ev[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t n;
	char *p;
	int fresh = 0;

	while ((n = read(ifd, ev, sizeof(ev))) > 0) {
		for (p = ev; p < ev + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW)
				fresh = 1;
			else if (e->len && !addr_list_has(touched, e->name))
				fresh = 1;
		}
	}
	return fresh;
}

/*
 * Takes DIR/runner.lock, which tells sendmail that a runner watches the
 * queue. wait: retry for a second, since a submitter asking whether a
 * daemon runs (daemon_running() in sendmail.c) holds a shared lock for a
 * moment. Returns the descriptor, or -1 (quiet when it is only busy and
 * !wait).
 */
static int
runner_lock(const struct conf *c, int wait)
{
	char path[PATH_MAX];
	int lfd, rc, tries;

	snprintf(path, sizeof(path), "%s/runner.lock", c->queue_dir);
	lfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lfd == -1) {
		log_errno("queue", "%s", path);
		return -1;
	}
	for (tries = 0; (rc = flock(lfd, LOCK_EX | LOCK_NB)) == -1 &&
	    errno == EWOULDBLOCK && wait && tries < 100; tries++)
		poll(NULL, 0, 10);
	if (rc == -1) {
		if (errno != EWOULDBLOCK)
			log_errno("queue", "%s", path);
		else if (wait)
			log_err("queue", "another queue runner holds %s", path);
		close(lfd);
		return -1;
	}
	return lfd;
}

/* An inotify watch on DIR/q for new queue files. -1 on failure. */
static int
runner_watch(const struct conf *c)
{
	char path[PATH_MAX];
	int ifd;

	snprintf(path, sizeof(path), "%s/q", c->queue_dir);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd == -1 || inotify_add_watch(ifd, path,
	    IN_CLOSE_WRITE | IN_MOVED_TO) == -1) {
		log_errno("queue", "inotify on %s", path);
		if (ifd != -1)
			close(ifd);
		return -1;
	}
	return ifd;
}

/*
 * Waits up to ms for a new queue file (one this runner did not touch
 * itself). Returns 1 when one came, 0 when the time ran out or a signal
 * asked us to stop.
 */
static int
runner_wait(int ifd, const struct addr_list *touched, long ms)
{
	struct pollfd pfd = { ifd, POLLIN, 0 };
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!runner_stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (long)(end.tv_sec - now.tv_sec) * 1000L +
		    (end.tv_nsec - now.tv_nsec) / 1000000L;
		if (ms <= 0)
			return 0;
		if (poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms) > 0 &&
		    runner_events(ifd, touched))
			return 1;
	}
	return 0;
}

/*
 * The daemon: passes until SIGTERM or SIGINT. Returns a sysexits code.
 */
static int
runner_daemon(const struct conf *c, const struct deliver_sel *sel,
    unsigned long interval, int verbose)
{
	struct addr_list touched;
	struct sigaction sa;
	char path[PATH_MAX];
	int lfd, ifd;

	snprintf(path, sizeof(path), "%s/q", c->queue_dir);
	if ((mkdir(c->queue_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(path, 0700) == -1 && errno != EEXIST)) {
		log_errno("queue", "%s", path);
		return EX_TEMPFAIL;
	}
	if ((lfd = runner_lock(c, 1)) == -1)
		return EX_TEMPFAIL;
	if ((ifd = runner_watch(c)) == -1) {
		close(lfd);
		return EX_OSERR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = runner_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	log_mail(LOG_INFO, "queue runner started: a pass every %lus and on new mail",
	    interval);

	addr_list_init(&touched);
	while (!runner_stop) {
		addr_list_free(&touched);
		addr_list_init(&touched);
		/* A fresh start each pass: secrets are read again and no
		 * connection is left idle for the server to drop. */
		deliver_pass(c, sel, verbose, &touched);
		runner_wait(ifd, &touched, (long)interval * 1000L);
	}
	log_mail(LOG_INFO, "queue runner stopped");
	addr_list_free(&touched);
	close(ifd);
	close(lfd);
	return 0;
}

/*
 * After delivering the message it was started for, a background runner
 * stays while new mail keeps coming (a burst: a newsletter, a thousand
 * cron jobs), holding runner.lock so that the submitters start no runner
 * of their own, and sends it over the connection it has. Idle for
 * RUNNER_LINGER_MS, it lets go of the lock and makes a last pass: a
 * submitter that saw the lock had queued its message before it looked.
 */
#define RUNNER_LINGER_MS 1000

static void
runner_linger(struct deliver *d, const struct conf *c)
{
	static char *const none[1] = { NULL };
	struct deliver_sel fresh;
	struct addr_list touched;
	int lfd, ifd;

	memset(&fresh, 0, sizeof(fresh));
	fresh.ids = none;	/* no id named: only messages never tried */
	fresh.fresh = 1;
	if ((lfd = runner_lock(c, 0)) == -1)
		return;
	if ((ifd = runner_watch(c)) == -1) {
		close(lfd);
		return;
	}
	addr_list_init(&touched);
	do {
		addr_list_free(&touched);
		addr_list_init(&touched);
		deliver_run(d, &fresh, &touched);
	} while (runner_wait(ifd, &touched, RUNNER_LINGER_MS));
	close(lfd);
	deliver_run(d, &fresh, NULL);
	addr_list_free(&touched);
	close(ifd);
}

static int
runner_deliver(const struct conf *c, const struct deliver_sel *sel,
    int verbose, int linger)
{
	struct deliver *d;
	int rc;

	if ((d = deliver_start(c, verbose)) == NULL)
		return EX_OSERR;
	rc = deliver_run(d, sel, NULL);
	if (linger)
		runner_linger(d, c);
	deliver_end(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct deliver_sel sel;
	struct conf c;
	const char *conf_path = SENDQ_CONF;
	unsigned long interval = 0;
	int i, verbose = 0, rc, have_mode = 0, linger = 0;

	if (priv_init() == -1)
		return EX_OSERR;
	log_init("sendq-runner");
	memset(&sel, 0, sizeof(sel));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-l") == 0)
			linger = 1;
		else if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "-I") == 0 && i + 1 < argc) {
			sel.ids = argv + i + 1;
			sel.nids = (size_t)(argc - i - 1);
			sel.force = 1;
			sel.fresh = 1;
			have_mode = 1;
			break;
		} else if (strncmp(argv[i], "-q", 2) == 0) {
			if (runner_queue_arg(argv[i] + 2, &sel, &interval) != 0)
				return runner_usage();
			have_mode = 1;
		} else
			return runner_usage();
	}
	if (!have_mode)
		return runner_usage();
	if ((rc = conf_load(&c, conf_path)) != 0)
		return rc;
	if (chdir("/") == -1) {
		log_errno(NULL, "chdir /");
		return EX_OSERR;
	}
	/* Secrets (passwords, OAuth2 tokens) are fetched by the relay for
	 * each connection that needs one, so that a password_command or a
	 * token refresh runs only when mail goes out. */
	if (relay_global_init() == -1) {
		log_err(NULL, "cannot initialise libcurl");
		rc = EX_SOFTWARE;
	} else {
		rc = interval ?
		    runner_daemon(&c, &sel, interval, verbose) :
		    runner_deliver(&c, &sel, verbose, linger && sel.ids);
		relay_global_cleanup();
	}
	conf_free(&c);
	return rc;
}
