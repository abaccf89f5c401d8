/*
 * Helpers shared by the libFuzzer targets in t/fuzz/. Each target is one
 * fuzz-NAME.c defining LLVMFuzzerTestOneInput; see t/fuzz/README.
 */
#ifndef SENDQ_FUZZ_UTIL_H
#define SENDQ_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A failed property: printed, then abort() so that libFuzzer keeps the
 * input as a crash. */
#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(fuzz_stderr ? fuzz_stderr : stderr, \
		    "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
		    #cond); \
		abort(); \
	} \
} while (0)

/* Reads whole strings so that a bad pointer or a missing NUL shows. */
static volatile size_t fuzz_sink;
#define FUZZ_TOUCH(s) do { \
	if ((s) != NULL) \
		fuzz_sink += strlen(s); \
} while (0)

/* Where the targets' own complaints go: the real stderr. */
static FILE *fuzz_stderr;

/*
 * The code under test reports bad input on stderr through log_err, once
 * per input: thousands of lines a second that hide what matters. Points
 * stdio's stderr at /dev/null (FUZZ_VERBOSE=1 keeps it). The sanitizers
 * and libFuzzer write to descriptor 2 themselves and are not affected.
 */
static inline void
fuzz_quiet(void)
{
	FILE *null;

	if (fuzz_stderr != NULL)
		return;
	fuzz_stderr = stderr;
	if (getenv("FUZZ_VERBOSE") != NULL)
		return;
	if ((null = fopen("/dev/null", "w")) != NULL)
		stderr = null;
}

static char fuzz_dir[4096];
static char fuzz_sub_path[4096 + 64];
static char fuzz_file_path[4096 + 128];

static inline void
fuzz_cleanup(void)
{
	if (fuzz_file_path[0] != '\0')
		unlink(fuzz_file_path);
	if (fuzz_sub_path[0] != '\0')
		rmdir(fuzz_sub_path);
	if (fuzz_dir[0] != '\0')
		rmdir(fuzz_dir);
}

/*
 * A private directory for the process's life, removed at exit (when it
 * holds only the file of fuzz_file; a crash leaves it). On /dev/shm when
 * there is one: writing a file for every input, and the fsyncs of the
 * queue code, cost ten times as much on a disk. Aborts when it cannot be
 * made.
 */
static inline const char *
fuzz_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		t = "/dev/shm";
	else if (t == NULL || *t == '\0')
		t = "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/sendq-fuzz.XXXXXX", t);
	if (mkdtemp(fuzz_dir) == NULL) {
		perror(fuzz_dir);
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir;
}

static inline const char *fuzz_tmpdir(void);

/* Makes fuzz_tmpdir()/name, removed at exit with the rest, and returns
 * its path. One per process. Aborts when it cannot be made. */
static inline const char *
fuzz_subdir(const char *name)
{
	snprintf(fuzz_sub_path, sizeof(fuzz_sub_path), "%s/%s",
	    fuzz_tmpdir(), name);
	if (mkdir(fuzz_sub_path, 0700) == -1) {
		perror(fuzz_sub_path);
		abort();
	}
	return fuzz_sub_path;
}

/* (Re)writes dir/name with data[0..size) and returns its path; the one
 * file that fuzz_cleanup removes. */
static inline const char *
fuzz_file(const char *dir, const char *name, const void *data, size_t size)
{
	const char *p = data;
	int fd;

	snprintf(fuzz_file_path, sizeof(fuzz_file_path), "%s/%s", dir, name);
	fd = open(fuzz_file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		perror(fuzz_file_path);
		abort();
	}
	while (size > 0) {
		ssize_t w = write(fd, p, size);

		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			perror(fuzz_file_path);
			abort();
		}
		p += w;
		size -= (size_t)w;
	}
	close(fd);
	return fuzz_file_path;
}

#endif
