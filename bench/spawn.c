/*
 * spawn: runs a command COUNT times from JOBS parallel workers, each run
 * with standard input from FILE, and reports when each run started and
 * ended. It is a child subreaper, so whatever the runs leave behind in
 * the background (a detached delivery process) is reparented to it; it
 * waits for all of them before it exits, and the peak memory it prints
 * covers every process of the tree.
 *
 *	spawn [-n COUNT] [-j JOBS] [-i FILE] [-t SECONDS] -- PROGRAM [ARG ...]
 *
 * With -t, no run starts once SECONDS have passed: a slow program sends
 * fewer than COUNT, and the caller counts the run lines.
 * Standard output, one line per run as it ends, then one line at the end:
 *	run START END STATUS	(CLOCK_MONOTONIC seconds; STATUS as waitpid)
 *	done FAILED MAXRSS_KB
 * The runs' own standard output goes to /dev/null, their standard error
 * is inherited. SIGTERM is passed on to the runs of the process group
 * (a daemon run under spawn stops with it); spawn itself still waits for
 * everything it has to reap. Exit status: 0 when every run exited 0.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t spawn_stop;
static double spawn_deadline;

static void
spawn_on_term(int sig)
{
	(void)sig;
	spawn_stop = 1;
}

static double
spawn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One worker: n runs, one after another. Returns the number that failed. */
static int
spawn_worker(long n, const char *input, char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	char line[128];
	double t0, t1;
	int status, failed = 0, len;
	pid_t pid;
	long i;

	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (i = 0; i < n && !spawn_stop; i++) {
		t0 = spawn_now();
		if (spawn_deadline > 0 && t0 > spawn_deadline)
			break;
		if ((errno = posix_spawn(&pid, argv[0], &fa, &attr, argv,
		    environ)) != 0) {
			fprintf(stderr, "spawn: %s: %s\n", argv[0], strerror(errno));
			return (int)(n - i) + failed;
		}
		while (waitpid(pid, &status, 0) == -1)
			if (errno != EINTR) {
				perror("spawn: waitpid");
				return (int)(n - i) + failed;
			}
		t1 = spawn_now();
		if (status != 0)
			failed++;
		/* One write per line: lines of parallel workers never mix. */
		len = snprintf(line, sizeof(line), "run %.6f %.6f %d\n", t0, t1,
		    status);
		if (write(1, line, (size_t)len) != len)
			return (int)(n - i) + failed;
	}
	return failed;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct rusage ru;
	const char *input = "/dev/null";
	long count = 1, jobs = 1, j, share;
	int opt, status, failed = 0;
	pid_t pid, workers[256];
	int nworkers = 0, w;

	while ((opt = getopt(argc, argv, "+n:j:i:t:")) != -1) {
		switch (opt) {
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'j':
			jobs = strtol(optarg, NULL, 10);
			break;
		case 'i':
			input = optarg;
			break;
		case 't':
			spawn_deadline = spawn_now() + strtod(optarg, NULL);
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || count < 1 || jobs < 1 || jobs > 256)
		goto usage;
	argv += optind;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		perror("spawn: PR_SET_CHILD_SUBREAPER");
		return 71;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = spawn_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);

	for (j = 0; j < jobs; j++) {
		share = count / jobs + (j < count % jobs ? 1 : 0);
		if (share == 0)
			continue;
		if ((pid = fork()) == -1) {
			perror("spawn: fork");
			return 71;
		}
		if (pid == 0) {
			failed = spawn_worker(share, input, argv);
			_exit(failed > 255 ? 255 : failed);
		}
		workers[nworkers++] = pid;
	}
	/* Workers and orphans alike, until nothing is left to reap. */
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid == -1) {
			if (errno == EINTR) {
				if (spawn_stop == 1) {
					spawn_stop = 2;
					signal(SIGTERM, SIG_IGN);
					kill(0, SIGTERM);
				}
				continue;
			}
			break;
		}
		for (w = 0; w < nworkers; w++)
			if (workers[w] == pid)
				failed += WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("done %d %ld\n", failed, ru.ru_maxrss);
	return failed ? 1 : 0;
usage:
	fprintf(stderr, "usage: spawn [-n count] [-j jobs] [-i file] [-t seconds] -- program [arg ...]\n");
	return 64;
}
