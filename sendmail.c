/*
 * sendmail: what callers run. It queues the message durably and hands
 * delivery to sendq-runner; it never links libcurl, so the caller's wait
 * stays short. argv[0] "mailq" lists the queue, "newaliases" checks the
 * aliases.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "src/alias.h"
#include "src/conf.h"
#include "src/log.h"
#include "src/opts.h"
#include "src/priv.h"
#include "src/queue.h"
#include "src/session.h"
#include "src/spool.h"
#include "src/submit.h"

/*
 * The runner beside this binary (a build tree), else the installed one.
 * Either way it runs with the caller's own rights.
 */
static const char *
runner_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n > 0) {
		buf[n] = '\0';
		if ((slash = strrchr(buf, '/')) != NULL &&
		    (size_t)(slash - buf) + sizeof("/sendq-runner") <= size) {
			strcpy(slash, "/sendq-runner");
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return SENDQ_RUNNER;
}

/*
 * Runs the runner with args. wait: returns its exit status; else it is
 * detached (own session, stdio on /dev/null, not our child) and 0 is
 * returned once it has started.
 */
static int
run_runner(const struct opts *o, const char *conf_path, const char *mode,
    const char *id, int wait)
{
	char path[PATH_MAX];
	const char *argv[8];
	int argc = 0, status, fd;
	pid_t pid;

	argv[argc++] = "sendq-runner";
	if (o->verbose)
		argv[argc++] = "-v";
	/* in the background, it stays for the rest of a burst */
	if (!wait)
		argv[argc++] = "-l";
	argv[argc++] = "-C";
	argv[argc++] = conf_path;
	argv[argc++] = mode;
	if (id)
		argv[argc++] = id;
	argv[argc] = NULL;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_errno(NULL, "fork");
		return EX_OSERR;
	}
	if (pid == 0) {
		if (!wait) {
			/* Detach twice, so that the caller (cron, PHP) neither
			 * waits for delivery nor inherits a zombie, and its
			 * pipes close when we exit. */
			if (setsid() == -1 || fork() != 0)
				_exit(0);
			if ((fd = open("/dev/null", O_RDWR)) != -1) {
				dup2(fd, 0);
				dup2(fd, 1);
				dup2(fd, 2);
				if (fd > 2)
					close(fd);
			}
		}
		execv(runner_path(path, sizeof(path)), (char *const *)argv);
		if (wait)
			log_errno(NULL, "%s", runner_path(path, sizeof(path)));
		_exit(EX_OSERR);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			log_errno(NULL, "waitpid");
			return EX_OSERR;
		}
	if (!WIFEXITED(status))
		return EX_SOFTWARE;
	return WEXITSTATUS(status);
}

/*
 * 1 when a queue runner daemon (sendmail -q<interval>) holds its lock: it
 * watches the queue and takes the new message itself.
 */
static int
daemon_running(const struct conf *c)
{
	char path[PATH_MAX];
	int fd, busy;

	if ((size_t)snprintf(path, sizeof(path), "%s/runner.lock",
	    c->queue_dir) >= sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* -q: the runner takes this process over (a daemon keeps our pid). */
static int
exec_runner(const struct opts *o, const char *conf_path, const char *qarg)
{
	char path[PATH_MAX];
	const char *argv[6];
	int argc = 0;

	argv[argc++] = "sendq-runner";
	if (o->verbose)
		argv[argc++] = "-v";
	argv[argc++] = "-C";
	argv[argc++] = conf_path;
	argv[argc++] = qarg;
	argv[argc] = NULL;
	fflush(NULL);
	execv(runner_path(path, sizeof(path)), (char *const *)argv);
	log_errno(NULL, "%s", path);
	return EX_OSERR;
}

/* Delivery of a message just queued, as -od asks. Returns 0 or the
 * runner's status for a permanent failure seen while the caller waits.
 * In the shared queue the runner is sendq's own daemon, which sees the
 * new file by itself; the caller cannot run it (nor read its password). */
static int
deliver_new(const struct conf *c, const struct opts *o,
    const struct priv_broker *b, const char *id)
{
	int rc;

	if (b)
		return 0;
	switch (o->delivery) {
	case OPTS_DELIVER_QUEUE:
		return 0;
	case OPTS_DELIVER_BACKGROUND:
		if (!o->verbose) {
			/* Queued is success: a runner that cannot start now
			 * leaves the message for the next queue run. */
			if (!daemon_running(c))
				run_runner(o, c->path, "-I", id, 0);
			return 0;
		}
		/* -v shows the conversation, so it waits */
		__attribute__((fallthrough));
	case OPTS_DELIVER_INTERACTIVE:
		rc = run_runner(o, c->path, "-I", id, 1);
		/* Deferred means queued, and queued is success. */
		return rc == EX_TEMPFAIL ? 0 : rc;
	}
	return 0;
}

static int
send_mail(const struct conf *c, const struct opts *o, struct priv_broker *b)
{
	char id[SPOOL_ID_MAX];
	int rc;

	if ((rc = submit_message(c, o, 0, b, id)) != 0)
		return rc;
	return deliver_new(c, o, b, id);
}

/*
 * -oe: how an error found while the caller waits reaches them, as in
 * Sendmail. p (the default) and w print it; q keeps quiet (the exit
 * status says it); m mails it to the sender instead of printing it, and e
 * does so and exits 0. Mail that cannot be sent is printed after all.
 */
static int
send_reported(const struct conf *c, const struct opts *o,
    struct priv_broker *b)
{
	struct opts bg = *o;
	char text[8192], id[SPOOL_ID_MAX];
	ssize_t n;
	int saved, fd, rc;

	if (o->errmode != 'q' && o->errmode != 'm' && o->errmode != 'e')
		return send_mail(c, o, b);
	fflush(stderr);
	fd = o->errmode == 'q' ? open("/dev/null", O_WRONLY | O_CLOEXEC) :
	    memfd_create("sendq-errors", MFD_CLOEXEC);
	if (fd == -1 || (saved = fcntl(2, F_DUPFD_CLOEXEC, 3)) == -1) {
		if (fd != -1)
			close(fd);
		return send_mail(c, o, b);
	}
	dup2(fd, 2);
	rc = send_mail(c, o, b);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (o->errmode == 'q' || rc == 0) {
		close(fd);
		return rc;
	}
	n = pread(fd, text, sizeof(text), 0);
	close(fd);
	if (n <= 0)
		return rc;
	if (submit_notice(c, o, b, text, (size_t)n, id) == 0) {
		/* the notice goes out as any message in the background */
		bg.delivery = OPTS_DELIVER_BACKGROUND;
		bg.verbose = 0;
		deliver_new(c, &bg, b, id);
		return o->errmode == 'e' ? 0 : rc;
	}
	if (write(2, text, (size_t)n) != n) {
		/* nowhere left to say it */
	}
	return rc;
}

struct smtp_ctx {
	const struct conf *c;
	const struct opts *o;
	struct priv_broker *b;
};

/* -bs: each message is queued before its 250; a delivery that fails
 * after that is the queue's business (retry or bounce), so the runner's
 * status does not change the reply. */
static void
smtp_queued(void *arg, const char *id)
{
	const struct smtp_ctx *x = arg;

	deliver_new(x->c, x->o, x->b, id);
}

static int
smtp_session(const struct conf *c, const struct opts *o, struct priv_broker *b)
{
	struct smtp_ctx x = { c, o, b };
	struct session_hooks h = { smtp_queued, &x, 0, b };

	if (o->nrcpt > 0 || o->extract)
		log_err(NULL, "-bs: recipients come from RCPT; "
		    "arguments and -t ignored");
	return session_run(c, o, 0, 1, &h);
}

/*
 * In a set-group-id run, is this a listing of the shared queue (mailq,
 * -bp) without -C? Only argv[0] and the arguments' first bytes are looked
 * at, before the group is dropped; the real parse comes after.
 */
static int
shared_list_request(int argc, char *argv[])
{
	const char *prog = argc > 0 ? strrchr(argv[0], '/') : NULL;
	int i, list;

	prog = prog ? prog + 1 : argc > 0 ? argv[0] : "";
	list = strcmp(prog, "mailq") == 0;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strncmp(argv[i], "-C", 2) == 0)
			return 0;
		if (strcmp(argv[i], "-bp") == 0)
			list = 1;
	}
	return list;
}

/*
 * mailq on the shared queue: the one thing besides creating queue files
 * that needs the group, since the queue is not readable otherwise. It
 * reads no config and no input, parses each queue file strictly, and
 * shows a user only the files they own (root: all).
 */
static int
shared_list(void)
{
	struct conf c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.queue_dir = (char *)SENDQ_SPOOLDIR;
	rc = queue_list(&c, stdout);
	if (fflush(stdout) == EOF && rc == 0)
		rc = EX_IOERR;
	return rc;
}

int
main(int argc, char *argv[])
{
	struct priv_broker broker = { -1, -1, -1 }, *b = NULL;
	struct opts o;
	struct conf c;
	char conf_path[PATH_MAX];
	char qarg[PATH_MAX];
	int rc;

	if (priv_init() == -1)
		return EX_OSERR;
	log_init("sendmail");
	if (priv_setgid()) {
		if (shared_list_request(argc, argv))
			return shared_list();
		/* The group goes here, before argv, config or input are
		 * read; a broker keeps it to create queue files. A broker
		 * that did not start leaves b set: queueing then fails with
		 * the reason already printed. */
		priv_broker_start(&broker, SENDQ_SPOOLDIR "/q");
		b = &broker;
	}
	if ((rc = opts_parse(&o, argc, argv)) != 0)
		goto out_broker;
	if (b && o.conf) {
		/* -C: the caller's own config and queue, with the caller's
		 * own rights (the group is already gone). */
		priv_broker_stop(b);
		if (b->qdirfd != -1)
			close(b->qdirfd);
		b = NULL;
	}
	/* The runner is started from "/": a relative -C must survive. */
	if (o.conf == NULL)
		o.conf = SENDQ_CONF;
	else if (realpath(o.conf, conf_path) != NULL)
		o.conf = conf_path;
	if ((rc = conf_load(&c, o.conf)) != 0)
		goto out_broker;
	if (b && strcmp(c.queue_dir, SENDQ_SPOOLDIR) != 0) {
		log_err(NULL, "%s: [queue] dir must be %s for the set-group-id "
		    "sendmail", o.conf, SENDQ_SPOOLDIR);
		rc = EX_CONFIG;
		goto out;
	}
	if ((rc = alias_check(&c)) != 0)
		goto out;
	if (chdir("/") == -1) {
		log_errno(NULL, "chdir /");
		rc = EX_OSERR;
		goto out;
	}
	switch (o.mode) {
	case OPTS_MODE_SEND:
		rc = send_reported(&c, &o, b);
		break;
	case OPTS_MODE_LIST:
		rc = queue_list(&c, stdout);
		break;
	case OPTS_MODE_ALIASES:
		rc = 0;
		break;
	case OPTS_MODE_VERIFY:
		rc = submit_verify(&c, &o);
		break;
	case OPTS_MODE_QUEUE:
		if (b) {
			/* The shared queue's runner is sendq's daemon: ask it
			 * for a pass rather than run one as the caller. */
			if (priv_broker_wake(b) == -1) {
				log_errno("queue", "cannot wake the queue runner");
				rc = EX_TEMPFAIL;
			}
			break;
		}
		if ((size_t)snprintf(qarg, sizeof(qarg), "-q%s", o.queue_arg) >=
		    sizeof(qarg)) {
			log_err(NULL, "-q: argument too long");
			rc = EX_USAGE;
			break;
		}
		rc = exec_runner(&o, c.path, qarg);
		break;
	case OPTS_MODE_SMTP:
		rc = smtp_session(&c, &o, b);
		break;
	}
out:
	if (fflush(stdout) == EOF && rc == 0) {
		log_errno(NULL, "stdout");
		rc = EX_IOERR;
	}
	conf_free(&c);
out_broker:
	if (b) {
		priv_broker_stop(b);
		if (b->qdirfd != -1)
			close(b->qdirfd);
	}
	return rc;
}
