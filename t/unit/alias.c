/* alias.c: checking [aliases] and expanding local recipients. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "alias.h"
#include "tap.h"

static char dir[4096];
static char path[4200];
static char errpath[4200];
static char errtext[8192];
static struct conf cf;

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

/* Writes "[smarthost]... [aliases]" + entries and loads it. */
static int
load(const char *entries)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fprintf(fp, "[smarthost]\nhost = smtp.example.com\n"
	    "[aliases]\n%s", entries) < 0 || fclose(fp))
		die(path);
	conf_free(&cf);
	return conf_load(&cf, path);
}

/* alias_check with stderr going to errtext. */
static int
check(void)
{
	int saved, fd, r;
	ssize_t n;

	fflush(stderr);
	if ((saved = dup(2)) == -1)
		die("dup");
	if ((fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		die(errpath);
	dup2(fd, 2);
	r = alias_check(&cf);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    (n = read(fd, errtext, sizeof(errtext) - 1)) < 0)
		die(errpath);
	errtext[n] = '\0';
	close(fd);
	return r;
}

/* The expansion of rcpt as one string, "a b c", or "error: ..." . */
static const char *
expand(const char *rcpt)
{
	static char got[4096];
	struct addr_list out;
	size_t i;

	addr_list_init(&out);
	got[0] = '\0';
	if (alias_expand(&cf, rcpt, "example.com", &out) == -1) {
		snprintf(got, sizeof(got), "error: %s (%zu added)",
		    strerror(errno), out.n);
	} else {
		for (i = 0; i < out.n; i++) {
			if (i)
				strcat(got, " ");
			strncat(got, out.v[i], sizeof(got) - strlen(got) - 2);
		}
	}
	addr_list_free(&out);
	return got;
}

static const char *
msg(unsigned line, const char *what)
{
	static char m[8192];

	snprintf(m, sizeof(m), "sendmail: %s:%u: %s\n", path, line, what);
	return m;
}

static void
test_expand(void)
{
	struct addr_list out;

	is_int(load("root = ops@example.com, oncall@example.net\n"
	    "postmaster = root\n"
	    "webmaster = admin\n"
	    "admin = Admin Team <team@example.org>\n"
	    "root+backup = backup@example.net\n"
	    "a = b\n"
	    "b = a\n"
	    "self = self, copy@example.net\n"
	    "fan = x1, x2\n"
	    "x1 = shared\n"
	    "x2 = shared\n"
	    "shared = s@example.net\n"
	    "Mixed = mixed@example.net\n"), 0, "aliases load");
	is_int(check(), 0, "alias_check passes");
	is_str(errtext, "", "alias_check prints nothing");

	is_str(expand("user@example.org"), "user@example.org",
	    "an address with a domain is kept as is");
	is_str(expand("root@example.com"), "root@example.com",
	    "root@domain is not an alias lookup");
	is_str(expand("root"), "ops@example.com oncall@example.net",
	    "root expands to its list");
	is_str(expand("ROOT"), "ops@example.com oncall@example.net",
	    "lookup ignores case");
	is_str(expand("mixed"), "mixed@example.net", "entry name ignores case");
	is_str(expand("postmaster"), "ops@example.com oncall@example.net",
	    "a chain is followed");
	is_str(expand("webmaster"), "team@example.org",
	    "chain through a display-name target");
	is_str(expand("nobody"), "nobody@example.com",
	    "no alias: qualified with the domain");
	is_str(expand("root+cron"), "ops@example.com oncall@example.net",
	    "root+ext takes root's alias");
	is_str(expand("root+backup"), "backup@example.net",
	    "an exact root+ext entry wins");
	is_str(expand("nobody+tag"), "nobody+tag@example.com",
	    "no alias: the extension is kept");
	is_str(expand("+tag"), "+tag@example.com",
	    "a name that is only an extension is not a lookup of \"\"");
	is_str(expand("a"), "a@example.com",
	    "a loop: the name reached again is qualified");
	is_str(expand("b"), "b@example.com", "the loop from its other end");
	is_str(expand("self"), "self@example.com copy@example.net",
	    "self reference keeps a local copy");
	is_str(expand("fan"), "s@example.net",
	    "a diamond is no loop, and gives each address once");

	addr_list_init(&out);
	addr_list_add(&out, "first@example.net");
	addr_list_add(&out, "ops@example.com");
	is_int(alias_expand(&cf, "root", "example.com", &out), 0,
	    "expand into a list with entries");
	ok(out.n == 3 && strcmp(out.v[0], "first@example.net") == 0 &&
	    strcmp(out.v[1], "ops@example.com") == 0 &&
	    strcmp(out.v[2], "oncall@example.net") == 0,
	    "appended after them, without duplicates");
	errno = 0;
	is_int(alias_expand(&cf, "", "example.com", &out), -1,
	    "an empty recipient is refused");
	is_int(errno, EINVAL, "EINVAL");
	addr_list_free(&out);
}

static void
test_depth(void)
{
	char text[4096] = "", line[128];
	int i;

	/* n0 -> n1 -> ... -> n10 -> end@example.net: 11 lookups. */
	for (i = 0; i < 11; i++) {
		if (i < 10)
			snprintf(line, sizeof(line), "n%d = n%d\n", i, i + 1);
		else
			snprintf(line, sizeof(line), "n%d = end@example.net\n",
			    i);
		strcat(text, line);
	}
	is_int(load(text), 0, "chain of 11 loads");
	is_str(expand("n1"), "end@example.net",
	    "ALIAS_DEPTH lookups are followed");
	is_str(expand("n0"), "error: Too many levels of symbolic links (0 added)",
	    "one more fails with ELOOP and adds nothing");
	is_str(expand("n10"), "end@example.net", "the chain's end");
}

static void
test_check(void)
{
	char want[8192];
	const char *why;

	is_int(load("ok = a@example.com\n"
	    "pipe = |/usr/bin/true\n"
	    "file = ops@example.com, /var/mail/ops\n"
	    "inc = :include:/etc/list\n"
	    "bad = ops@example.com, -oQ/tmp\n"
	    "junk = a@example.com <b@example.com\n"
	    "local = postmaster\n"), 0, "bad targets still load (conf "
	    "does not parse values)");
	is_int(check(), EX_CONFIG, "alias_check refuses them");
	want[0] = '\0';
	strcat(want, msg(5, "alias pipe: pipes, files and :include: are "
	    "not supported"));
	strcat(want, msg(6, "alias file: \"/var/mail/ops\": pipes, files "
	    "and :include: are not supported"));
	strcat(want, msg(7, "alias inc: pipes, files and :include: are not "
	    "supported"));
	/* addr_check's own reason follows; only the frame is ours. */
	why = NULL;
	addr_check("-oQ/tmp", &why);
	{
		char bad[512];

		snprintf(bad, sizeof(bad), "alias bad: \"-oQ/tmp\": %s",
		    why ? why : "?");
		strcat(want, msg(8, bad));
	}
	strcat(want, msg(9, "alias junk: not an address list"));
	is_str(errtext, want, "each bad entry reported with its line");

	is_str(expand("pipe"), "error: Invalid argument (0 added)",
	    "expanding a pipe fails without alias_check too");
	is_str(expand("local"), "postmaster@example.com",
	    "a bare target is qualified");
}

/* "* = ..." takes every local name without an entry of its own. */
static void
test_catchall(void)
{
	is_int(load("* = admin@example.com\nroot = ops@example.com\n"
	    "admin = *\n"), 0, "catch-all loads");
	is_str(expand("root"), "ops@example.com", "a name with its entry keeps it");
	is_str(expand("nobody"), "admin@example.com", "any other name is caught");
	is_str(expand("root+tag"), "ops@example.com", "user+ext before the catch-all");
	is_str(expand("bob@elsewhere.org"), "bob@elsewhere.org",
	    "a full address is not caught");
	is_int(load("* = root\n"), 0, "catch-all to a bare name loads");
	is_str(expand("alice"), "root@example.com",
	    "the catch-all does not loop on its own target");
}

/* aliases_file: the classic format, after the entries in sendq.ini. */
static void
test_aliases_file(void)
{
	char apath[4200], entries[4400];
	FILE *fp;

	snprintf(apath, sizeof(apath), "%s/aliases", dir);
	if ((fp = fopen(apath, "w")) == NULL ||
	    fputs("# classic\n"
	    "postmaster: root\n"
	    "root: ops@example.com,\n"
	    "\toncall@example.net\n"
	    "\n"
	    "ops: wins-in-ini@example.com\n"
	    "Webmaster: web@example.org\n", fp) == EOF || fclose(fp))
		die(apath);
	snprintf(entries, sizeof(entries), "aliases_file = %s\n"
	    "ops = ini@example.com\n", apath);
	is_int(load(entries), 0, "aliases_file loads");
	is_int(check(), 0, "its entries check");
	is_str(expand("postmaster"), "ops@example.com oncall@example.net",
	    "a file entry, continued on the next line");
	is_str(expand("ops"), "ini@example.com", "sendq.ini wins over the file");
	is_str(expand("webmaster"), "web@example.org", "names ignore case");

	if ((fp = fopen(apath, "w")) == NULL ||
	    fputs("ok: a@example.com\nlog: |/usr/bin/logger\n"
	    "list: :include:/etc/list\n", fp) == EOF || fclose(fp))
		die(apath);
	is_int(load(entries), 0, "a file with a pipe loads");
	is_int(check(), 78, "alias_check refuses the pipe and the include");
	ok(strstr(errtext, "aliases:2: alias log: pipes, files and :include: "
	    "are not supported") != NULL, "the pipe is named with its file and line");
	ok(strstr(errtext, "aliases:3: alias list: pipes, files and :include: "
	    "are not supported") != NULL, "the include too");

	if ((fp = fopen(apath, "w")) == NULL ||
	    fputs("ok: a@example.com\nbroken line\n", fp) == EOF || fclose(fp))
		die(apath);
	is_int(load(entries), 78, "a line that is no entry is refused");
	unlink(apath);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sendq-alias.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/sendq.ini", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);

	test_expand();
	test_depth();
	test_check();
	test_catchall();
	test_aliases_file();

	conf_free(&cf);
	unlink(path);
	unlink(errpath);
	rmdir(dir);
	return done_testing();
}
