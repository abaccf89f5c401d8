/*
 * The -bs dialogue: session_run reads the input as what an SMTP client
 * writes to "sendmail -bs", queues what it accepts into a private queue
 * (emptied after every input), and its replies are checked: every line a
 * reply line ("ddd" then space or hyphen), every one ending in CRLF.
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/mman.h>

#include "conf.h"
#include "fuzz-util.h"
#include "opts.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf conf;
static struct opts opts;
static char qdir[4096 + 16];

static void
setup(void)
{
	static const char ini_fmt[] =
	    "[smarthost]\nhost = localhost\ntls = none\n"
	    "[sender]\ndomain = example.com\n[queue]\ndir = %s\n"
	    "[aliases]\nroot = ops@example.org, oncall@example.org\n";
	char ini[8192];
	const char *dir = fuzz_subdir("sendq");

	snprintf(qdir, sizeof(qdir), "%s/queue", dir);
	snprintf(ini, sizeof(ini), ini_fmt, qdir);
	if (conf_load(&conf, fuzz_file(dir, "sendq.ini", ini, strlen(ini))) != 0)
		abort();
	opts.delivery = OPTS_DELIVER_QUEUE;
	opts.mode = OPTS_MODE_SMTP;
}

/* Removes what the session queued: each input starts with none. */
static void
empty_queue(void)
{
	char path[sizeof(qdir) + 300];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/q", qdir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/q/%s", qdir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void
check_replies(const char *p, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		start = i;
		while (i < n && p[i] != '\n')
			i++;
		FUZZ_ASSERT(i < n);			/* ends in LF */
		FUZZ_ASSERT(i - start >= 5);		/* "ddd x\r" at least */
		FUZZ_ASSERT(p[i - 1] == '\r');
		FUZZ_ASSERT(p[start] >= '2' && p[start] <= '5');
		FUZZ_ASSERT(p[start + 1] >= '0' && p[start + 1] <= '9');
		FUZZ_ASSERT(p[start + 2] >= '0' && p[start + 2] <= '9');
		FUZZ_ASSERT(p[start + 3] == ' ' || p[start + 3] == '-');
		FUZZ_ASSERT(memchr(p + start, '\r', i - 1 - start) == NULL);
		i++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_hooks h = { NULL, NULL, 1, NULL };
	static int ready;
	char *out;
	off_t len;
	int in, outfd;

	if (!ready) {
		fuzz_quiet();
		setup();
		ready = 1;
	}
	if ((in = memfd_create("bs-in", MFD_CLOEXEC)) == -1 ||
	    (outfd = memfd_create("bs-out", MFD_CLOEXEC)) == -1)
		abort();
	if (size && write(in, data, size) != (ssize_t)size)
		abort();
	lseek(in, 0, SEEK_SET);
	session_run(&conf, &opts, in, outfd, &h);
	len = lseek(outfd, 0, SEEK_END);
	if (len > 0) {
		out = malloc((size_t)len);
		if (out == NULL || pread(outfd, out, (size_t)len, 0) != len)
			abort();
		check_replies(out, (size_t)len);
		free(out);
	}
	close(in);
	close(outfd);
	empty_queue();
	return 0;
}
