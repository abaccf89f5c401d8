/* conf.c: the configuration file, its defaults and every refusal. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

#ifndef SENDQ_SPOOLDIR
#define SENDQ_SPOOLDIR "/var/spool/sendq"
#endif

static char dir[4096];
static char path[4200];
static char errpath[4200];
static char errtext[8192];

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static void
write_file(const char *file, const char *text, size_t len)
{
	FILE *fp = fopen(file, "w");

	if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp))
		die(file);
}

/* Runs fn with stderr going to a file; errtext gets what it printed. */
static int
capture(int (*fn)(void *), void *arg)
{
	int saved, fd, r;
	ssize_t n;

	fflush(stderr);
	if ((saved = dup(2)) == -1)
		die("dup");
	if ((fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1)
		die(errpath);
	dup2(fd, 2);
	r = fn(arg);
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

static struct conf cf;
/* The default [smarthost]; an empty one when the load failed. */
static struct conf_smarthost sh_none;
#define SH (*(cf.nsmarthost ? &cf.smarthost[0] : &sh_none))

static int
do_load(void *p)
{
	return conf_load(&cf, p);
}

/* Writes text (len bytes) as the config and loads it. */
static int
load_n(const char *text, size_t len)
{
	conf_free(&cf);
	write_file(path, text, len);
	return capture(do_load, path);
}

static int
load(const char *text)
{
	return load_n(text, strlen(text));
}

/* The stderr line expected for a problem on a line (0: none). */
static const char *
msg(unsigned line, const char *what)
{
	static char m[8192];

	if (line)
		snprintf(m, sizeof(m), "sendmail: %s:%u: %s\n", path, line,
		    what);
	else
		snprintf(m, sizeof(m), "sendmail: %s: %s\n", path, what);
	return m;
}

/* Loads text, expects EX_CONFIG with exactly one message. */
static void
refused(const char *text, unsigned line, const char *what, const char *name)
{
	int r = load(text);

	is_int(r, EX_CONFIG, "%s: refused", name);
	is_str(errtext, msg(line, what), "%s: message", name);
	ok(cf.nsmarthost == 0 && cf.naliases == 0 && cf.path == NULL,
	    "%s: conf left empty", name);
}

#define HOST "[smarthost]\nhost = smtp.example.com\n"

/* A config holding a password that others may read is refused. */
static void
test_private(void)
{
	const char *text = HOST "user = a\npassword = s3cret\n";
	int r;

	conf_free(&cf);
	write_file(path, text, strlen(text));
	if (chmod(path, 0644) == -1)
		die(path);
	r = capture(do_load, path);
	is_int(r, EX_CONFIG, "world-readable config with a password: refused");
	is_str(errtext, msg(0, "holds the smarthost password but has mode "
	    "0644; make it unreadable by others (chmod o-rw)"),
	    "world-readable config with a password: message names file and mode");
	ok(strstr(errtext, "s3cret") == NULL, "the password is not shown");
	if (chmod(path, 0640) == -1)
		die(path);
	conf_free(&cf);
	r = capture(do_load, path);
	is_int(r, 0, "group-readable config with a password: accepted");
}

static void
test_full(void)
{
	int r;

	r = load("; sendq configuration\n"
	    "# another comment\n"
	    "\n"
	    "[smarthost]\n"
	    "host = smtp.example.com   ; the relay\n"
	    "port = 2525\n"
	    "tls = implicit\n"
	    "ca_file = /etc/ssl/test ca.pem\n"
	    "user = alice@example.com\n"
	    "password = s3cret;not-a-comment#x\n"
	    "helo = mail.example.org\n"
	    "timeout = 60\n"
	    "\n"
	    "[sender]\n"
	    "domain = example.com\n"
	    "[queue]\n"
	    "dir = /srv/spool/sendq\n"
	    "[aliases]\n"
	    "root = ops@example.com, oncall@example.com\n"
	    "Postmaster = root\n");
	is_int(r, 0, "full file loads");
	is_str(errtext, "", "full file: nothing printed");
	is_str(cf.path, path, "path kept");
	is_str(SH.host, "smtp.example.com", "host, inline comment cut");
	is_int(SH.port, 2525, "port");
	is_int(SH.tls, CONF_TLS_IMPLICIT, "tls implicit");
	is_str(SH.ca_file, "/etc/ssl/test ca.pem", "ca_file with a space");
	is_str(SH.user, "alice@example.com", "user");
	is_str(SH.password, "s3cret;not-a-comment#x",
	    "password: ';' and '#' without white space before stay");
	ok(SH.password_file == NULL, "no password_file");
	is_str(SH.helo, "mail.example.org", "helo");
	is_int(SH.timeout, 60, "timeout");
	is_str(cf.domain, "example.com", "domain");
	is_str(cf.queue_dir, "/srv/spool/sendq", "queue dir");
	is_int(cf.naliases, 2, "two aliases");
	if (cf.naliases == 2) {
		is_str(cf.aliases[0].name, "root", "alias 1 name");
		is_str(cf.aliases[0].value,
		    "ops@example.com, oncall@example.com", "alias 1 value");
		is_int(cf.aliases[0].line, 19, "alias 1 line");
		is_str(cf.aliases[1].name, "Postmaster", "alias 2 name");
		is_str(cf.aliases[1].value, "root", "alias 2 value");
		is_int(cf.aliases[1].line, 20, "alias 2 line");
	}
}

static void
test_defaults(void)
{
	is_int(load(HOST), 0, "host alone loads");
	is_int(SH.port, 587, "default port 587");
	is_int(SH.tls, CONF_TLS_STARTTLS, "default tls starttls");
	is_int(SH.timeout, 300, "default timeout 300");
	is_str(cf.queue_dir, SENDQ_SPOOLDIR, "default queue dir");
	ok(!SH.ca_file && !SH.user && !SH.password && !SH.password_file &&
	    !SH.helo && !cf.domain && !cf.aliases, "the rest unset");

	is_int(load(HOST "tls = implicit\n"), 0, "implicit loads");
	is_int(SH.port, 465, "implicit: default port 465");
	is_int(load("[smarthost]\ntls = implicit\nport = 10465\n"
	    "host = smtp.example.com\n"), 0, "implicit with port loads");
	is_int(SH.port, 10465, "implicit: explicit port kept");
	is_int(load(HOST "tls = none\n"), 0, "none loads");
	is_int(SH.tls, CONF_TLS_NONE, "tls none");
	is_int(SH.port, 587, "none: default port 587");
	is_int(load(HOST "tls = starttls\nport = 25\n"), 0, "port 25 loads");
	is_int(SH.port, 25, "port 25");

	is_int(load("[smarthost]\nhost = 192.0.2.7\n"), 0, "IPv4 host");
	is_int(load("[smarthost]\nhost = 2001:db8::25\n"), 0, "IPv6 host");
	is_str(SH.host, "2001:db8::25", "IPv6 host kept bare");
	is_int(load(HOST "helo = [192.0.2.1]\n"), 0, "helo address literal");
	is_int(load(HOST "helo = [IPv6:2001:db8::1]\n"), 0,
	    "helo IPv6 literal");
	is_int(load(HOST "port = 65535\ntimeout = 3600\n"), 0,
	    "upper bounds accepted");
	is_int(load(HOST "port = 1\ntimeout = 1\n"), 0,
	    "lower bounds accepted");
	is_int(load(HOST "user = alice\npassword_file = /etc/sendq.pw\n"),
	    0, "user with password_file");
	is_str(SH.password_file, "/etc/sendq.pw", "password_file kept");

	/* Layout that must not trip the reader. */
	is_int(load("  [smarthost]  ; the relay\n"
	    "\thost=smtp.example.com\n"
	    "    port   =   2525   \n"
	    "[ sender ]\n"
	    "  domain = example.com\n"), 0, "indentation and spacing");
	is_str(SH.host, "smtp.example.com", "indented host");
	is_int(SH.port, 2525, "indented key is not a continuation");
	is_str(cf.domain, "example.com", "[ sender ] with spaces");
	is_str(errtext, "", "nothing printed");
}

static void
test_refusals(void)
{
	refused(HOST "[smtp]\nhost = x\n", 3, "unknown section [smtp]",
	    "unknown section");
	refused(HOST "hots = smtp.example.com\n", 3,
	    "unknown key \"hots\" in [smarthost]", "unknown key");
	/* The missing host comes after, at the header's line. */
	is_int(load("[smarthost]\nhots = smtp.example.com\n"), EX_CONFIG,
	    "misspelt host refused");
	{
		char want[16384];

		snprintf(want, sizeof(want), "%s", msg(2,
		    "unknown key \"hots\" in [smarthost]"));
		strcat(want, msg(1, "host is required in [smarthost]"));
		is_str(errtext, want, "both problems, in order");
	}
	refused(HOST "[sender]\nhost = x\n", 4,
	    "unknown key \"host\" in [sender]", "key in the wrong section");
	refused("host = x\n" HOST, 1, "key \"host\" outside any section",
	    "key before any section");
	refused(HOST "port = 25\nport = 26\n", 4,
	    "duplicate key \"port\" in [smarthost] (first on line 3)",
	    "duplicate key");
	refused(HOST "[smarthost]\nhost = b.example.com\n", 4,
	    "duplicate key \"host\" in [smarthost] (first on line 2)",
	    "duplicate key in a repeated section");
	refused(HOST "[aliases]\nroot = a@example.com\nRoot = b@example.com\n",
	    5, "duplicate alias \"Root\" (first on line 4)",
	    "duplicate alias, other case");

	refused(HOST "port = smtp\n", 3,
	    "malformed port \"smtp\": not a number from 1 to 65535", "port name");
	refused(HOST "port = 0\n", 3,
	    "malformed port \"0\": not a number from 1 to 65535", "port 0");
	refused(HOST "port = 65536\n", 3,
	    "malformed port \"65536\": not a number from 1 to 65535",
	    "port 65536");
	refused(HOST "port = -25\n", 3,
	    "malformed port \"-25\": not a number from 1 to 65535",
	    "negative port");
	refused(HOST "port = 99999999999999999999\n", 3,
	    "malformed port \"99999999999999999999\": not a number from 1 to 65535",
	    "huge port");
	refused(HOST "port = 25 x\n", 3,
	    "malformed port \"25 x\": not a number from 1 to 65535",
	    "port with junk");
	refused(HOST "port =\n", 3, "empty value for port", "empty port");
	refused(HOST "tls = ssl\n", 3,
	    "malformed tls \"ssl\": not starttls, implicit or none", "tls ssl");
	refused(HOST "tls = STARTTLS\n", 3,
	    "malformed tls \"STARTTLS\": not starttls, implicit or none",
	    "tls upper case");
	refused("[smarthost]\nhost =    ; nothing\n", 2,
	    "empty value for host", "empty host");
	refused("[smarthost]\nhost = smtp example.com\n", 2,
	    "malformed host \"smtp example.com\": not a host name or IP address",
	    "host with a space");
	refused("[smarthost]\nhost = smtp\r.example.com\n", 2,
	    "malformed host \"smtp .example.com\": not a host name or IP address",
	    "host with a CR (shown as a space)");
	refused("[smarthost]\nhost = smtp.example.com.\n", 2,
	    "malformed host \"smtp.example.com.\": not a host name or IP address",
	    "host with a trailing dot");
	refused("[smarthost]\nhost = smtp://smtp.example.com\n", 2,
	    "malformed host \"smtp://smtp.example.com\": not a host name or IP address",
	    "host as a URL");
	refused(HOST "ca_file = ca.pem\n", 3,
	    "malformed ca_file \"ca.pem\": not an absolute path",
	    "relative ca_file");
	refused(HOST "user = a\npassword_file = ./pw\n", 4,
	    "malformed password_file \"./pw\": not an absolute path",
	    "relative password_file");
	refused(HOST "[queue]\ndir = spool\n", 4,
	    "malformed dir \"spool\": not an absolute path", "relative dir");
	refused(HOST "helo = mail_host\n", 3,
	    "malformed helo \"mail_host\": not a domain name or address literal",
	    "helo with underscore");
	refused(HOST "helo = [192.0.2.300]\n", 3,
	    "malformed helo \"[192.0.2.300]\": not a domain name or address literal",
	    "helo bad literal");
	refused(HOST "[sender]\ndomain = -example.com\n", 4,
	    "malformed domain \"-example.com\": not a domain name",
	    "domain starting with a hyphen");
	refused(HOST "[sender]\ndomain = ex..com\n", 4,
	    "malformed domain \"ex..com\": not a domain name", "empty label");
	refused(HOST "[sender]\ndomain = user@example.com\n", 4,
	    "malformed domain \"user@example.com\": not a domain name",
	    "domain with @");
	refused(HOST "timeout = 0\n", 3,
	    "malformed timeout \"0\": not a number of seconds from 1 to 3600",
	    "timeout 0");
	refused(HOST "timeout = 3601\n", 3,
	    "malformed timeout \"3601\": not a number of seconds from 1 to 3600",
	    "timeout 3601");
	refused(HOST "timeout = 5m\n", 3,
	    "malformed timeout \"5m\": not a number of seconds from 1 to 3600",
	    "timeout with unit");
	refused(HOST "user = al\tice\npassword = x\n", 3,
	    "malformed user: control character", "user with a tab");
	refused(HOST "user = alice\npassword = se\tcret\n", 4,
	    "malformed password: control character",
	    "password with a tab, not echoed");

	refused("[smarthost]\nport = 25\n", 1,
	    "host is required in [smarthost]", "missing host");
	refused("[sender]\ndomain = example.com\n", 0,
	    "host is required in [smarthost]", "no [smarthost] at all");
	refused("", 0, "host is required in [smarthost]", "empty file");
	refused(HOST "user = alice\n", 3,
	    "user without password or password_file", "user alone");
	refused(HOST "password = x\n", 3, "password without user",
	    "password alone");
	refused(HOST "password_file = /pw\n", 3,
	    "password_file without user", "password_file alone");
	refused(HOST "user = a\npassword_file = /pw\npassword = x\n", 5,
	    "password and password_file are both set", "both password sources");
	refused(HOST "tls = none\nuser = a\npassword = x\n", 3,
	    "credentials with tls = none: AUTH would be sent in cleartext",
	    "credentials in cleartext");
	refused("[smarthost]\nuser = a\npassword = x\ntls = none\n"
	    "host = smtp.example.com\n", 4,
	    "credentials with tls = none: AUTH would be sent in cleartext",
	    "credentials before tls = none");

	refused(HOST "just some words\n", 3,
	    "expected \"name = value\" or \"[section]\"", "line without =");
	refused(HOST "[aliases]\nroot: ops@example.com\n", 4,
	    "expected \"name = value\" or \"[section]\"", "name: value form");
	refused(HOST "= value\n", 3,
	    "expected \"name = value\" or \"[section]\"", "empty name");
	refused(HOST "[aliases]\nroot = a@example.com,\n    b@example.com\n",
	    5, "expected \"name = value\" or \"[section]\"",
	    "continuation line");
	refused(HOST "[sender\n", 3, "malformed section header: no \"]\"",
	    "header without ]");
	refused(HOST "[sender] domain = x\n", 3,
	    "malformed section header: text after \"]\"", "text after ]");
	refused(HOST "[aliases]\nroot@example.com = admin@example.com\n", 4,
	    "malformed alias name \"root@example.com\": only local names "
	    "without \"@\" can be aliased", "alias with a domain");
	refused(HOST "[aliases]\nsome one = admin@example.com\n", 4,
	    "malformed alias name \"some one\"", "alias with a space");
	refused(HOST "[aliases]\nroot =\n", 4, "empty value for alias \"root\"",
	    "empty alias");

	/* Every problem is reported, each on its own line, in order. */
	{
		char want[16384] = "";

		is_int(load("[smarthost]\nport = x\ntls = y\n[nope]\nk = v\n"
		    "[queue]\ndir = z\n"), EX_CONFIG, "many problems");
		strcat(want, msg(2, "malformed port \"x\": not a number from 1 to 65535"));
		strcat(want, msg(3, "malformed tls \"y\": not starttls, implicit or none"));
		strcat(want, msg(4, "unknown section [nope]"));
		strcat(want, msg(7, "malformed dir \"z\": not an absolute path"));
		strcat(want, msg(1, "host is required in [smarthost]"));
		is_str(errtext, want, "many problems: every one, keys in an "
		    "unknown section not repeated");
	}
}

static void
test_lines(void)
{
	char text[4096], want[256], value[CONF_LINE_MAX + 1];
	size_t n, vlen;
	int r;

	/* A line of exactly CONF_LINE_MAX bytes: "x = " and the value. */
	vlen = CONF_LINE_MAX - strlen("x = ");
	memset(value, 'a', vlen);
	value[vlen] = '\0';
	memcpy(value + vlen - 12, "@example.com", 12);
	n = (size_t)snprintf(text, sizeof(text),
	    HOST "[aliases]\nx = %s\nroot = b@example.com\n", value);
	r = load_n(text, n);
	is_int(r, 0, "a line of CONF_LINE_MAX bytes loads");
	ok(cf.naliases == 2 && strcmp(cf.aliases[0].value, value) == 0,
	    "the whole long value arrives, uncut");
	ok(cf.naliases == 2 && cf.aliases[1].line == 5,
	    "line numbers after a long line are right");

	/* The same long line as CRLF: the CR is not counted. */
	n = (size_t)snprintf(text, sizeof(text),
	    "[smarthost]\r\nhost = smtp.example.com\r\n[aliases]\r\nx = %s\r\n",
	    value);
	is_int(load_n(text, n), 0, "CONF_LINE_MAX bytes before CRLF loads");

	/* One byte more is refused, and later lines keep their numbers. */
	n = (size_t)snprintf(text, sizeof(text),
	    HOST "[aliases]\nx = %sb\nroot = b@example.com\n[x]\n", value);
	is_int(load_n(text, n), EX_CONFIG, "a longer line is refused");
	snprintf(want, sizeof(want), "line longer than %d bytes",
	    CONF_LINE_MAX);
	{
		char all[8192];

		snprintf(all, sizeof(all), "%s", msg(4, want));
		strcat(all, msg(6, "unknown section [x]"));
		is_str(errtext, all, "over-long line: its number, and the "
		    "next error's");
	}

	/* A long line goes through the same rules as a short one. */
	n = (size_t)snprintf(text, sizeof(text),
	    HOST "[aliases]\n\t long  =   %s   ; comment\n"
	    "short =   a@example.com   ; comment\n", value + 400);
	is_int(load_n(text, n), 0, "long line with a comment loads");
	ok(cf.naliases == 2 && strcmp(cf.aliases[0].name, "long") == 0 &&
	    strcmp(cf.aliases[0].value, value + 400) == 0,
	    "long line: name and value trimmed, comment cut");
	ok(cf.naliases == 2 && strcmp(cf.aliases[1].value, "a@example.com")
	    == 0, "short line: the same");
	n = (size_t)snprintf(text, sizeof(text),
	    HOST "[aliases]\nlong=%s;not a comment\n", value + 400);
	is_int(load_n(text, n), 0, "long line, ';' after no space");
	ok(cf.naliases == 1 && strstr(cf.aliases[0].value, ";not a comment"),
	    "long line: ';' without space before it stays in the value");
	n = (size_t)snprintf(text, sizeof(text),
	    HOST "[smarthost]\nport = %s\n", value + 400);
	is_int(load_n(text, n), EX_CONFIG, "long line: the handler checks it");
	ok(strstr(errtext, ":4: duplicate key \"port\"") == NULL &&
	    strstr(errtext, ":4: malformed port \"aaa") != NULL,
	    "long line: reported at its line");

	/* Around inih's own line buffer: nothing is cut at any length. */
	{
		size_t len;
		int all = 1;

		for (len = 180; len <= 220; len++) {
			value[len] = '\0';
			n = (size_t)snprintf(text, sizeof(text),
			    HOST "[aliases]\nx = %s\nroot = b@example.com\n",
			    value);
			value[len] = 'a';
			if (load_n(text, n) != 0 || cf.naliases != 2 ||
			    strlen(cf.aliases[0].value) != len ||
			    cf.aliases[1].line != 5)
				all = 0;
		}
		ok(all, "values of 180 to 220 bytes arrive whole");
	}

	/* CRLF line ends. */
	r = load("[smarthost]\r\nhost = smtp.example.com\r\nport = 2525\r\n"
	    "\r\n[aliases]\r\nroot = a@example.com ; c\r\n");
	is_int(r, 0, "CRLF file loads");
	is_str(SH.host, "smtp.example.com", "CRLF: no CR in host");
	is_int(SH.port, 2525, "CRLF: port");
	ok(cf.naliases == 1 && strcmp(cf.aliases[0].value, "a@example.com")
	    == 0 && cf.aliases[0].line == 6, "CRLF: alias value and line");
	r = load("[smarthost]\r\nhost = smtp.example.com\r\nport = x\r\n");
	is_str(errtext, msg(3,
	    "malformed port \"x\": not a number from 1 to 65535"),
	    "CRLF: error line and no CR in the message");
	is_int(load("[smarthost]\nhost = smtp.example.com"), 0,
	    "no final line end");
	is_str(SH.host, "smtp.example.com", "no final line end: host");

	/* A UTF-8 byte order mark before the first header. */
	is_int(load("\xef\xbb\xbf[smarthost]\nhost = smtp.example.com\n"), 0,
	    "BOM before the first line");
	is_str(SH.host, "smtp.example.com", "BOM: host");
	is_int(load("\xef\xbb\xbf; comment\r\n[smarthost]\r\nhost = h.example\r\n"),
	    0, "BOM before a comment, CRLF");
	is_int(load("[smarthost]\n\xef\xbb\xbfhost = smtp.example.com\n"),
	    EX_CONFIG, "BOM elsewhere is not skipped");

	/* A NUL byte would cut the line short: refused. */
	is_int(load_n(HOST "port = 25\0 junk\n", sizeof(HOST "port = 25\0 junk\n") - 1),
	    EX_CONFIG, "NUL byte refused");
	is_str(errtext, msg(3, "NUL byte in line"), "NUL byte: message");
}

/* The examples of sendq.ini(5) and the sample file that is installed. */
static void
test_examples(void)
{
	is_int(load("[smarthost]\nhost = smtp.example.com\nport = 587\n"
	    "tls = starttls\nuser = alerts@example.com\n"
	    "password_file = /etc/sendq.password\n\n[sender]\n"
	    "domain = example.com\n\n[aliases]\nroot = ops@example.com\n"),
	    0, "man page: submission example");
	is_int(load("[smarthost]\nhost = smtp.example.com\n"
	    "tls = implicit          ; port 465 is the default here\n"
	    "user = alerts@example.com\npassword = correct-horse-battery\n"
	    "ca_file = /etc/ssl/example-ca.pem\n"), 0,
	    "man page: implicit TLS example");
	is_int(SH.port, 465, "man page: implicit TLS on 465");
	is_int(load("[smarthost]\nhost = 127.0.0.1\nport = 25\ntls = none\n"
	    "\n[sender]\ndomain = host1.example.com\n"), 0,
	    "man page: local relay example");

	is_int(load("[smarthost]\nhost = smtp.gmail.com\nport = 587\n"
	    "user = alerts@gmail.com\nauth = xoauth2\n"
	    "oauth2_token_url = https://oauth2.googleapis.com/token\n"
	    "oauth2_client_id = 1234-abc.apps.googleusercontent.com\n"
	    "oauth2_client_secret_file = /etc/sendq/gmail-client-secret\n"
	    "oauth2_refresh_token_file = /etc/sendq/gmail-refresh-token\n"
	    "rewrite_from = envelope\n"), 0, "man page: Gmail example");
	is_int(load("[smarthost]\nhost = smtp.office365.com\nport = 587\n"
	    "user = alerts@example.com\nauth = xoauth2\n"
	    "oauth2_token_url = https://login.microsoftonline.com/TENANT/"
	    "oauth2/v2.0/token\n"
	    "oauth2_client_id = 00000000-1111-2222-3333-444444444444\n"
	    "oauth2_refresh_token_file = /etc/sendq/m365-refresh-token\n"
	    "rewrite_from = both\n\n[smarthost backup]\n"
	    "host = mail.example.com\nuser = alerts\n"
	    "password_command = /usr/bin/pass show mail/alerts\n"), 0,
	    "man page: Microsoft 365 example");
	is_int(load("[smarthost]\nhost = relay.example.com\n"
	    "client_cert = /etc/sendq/client.pem\n"
	    "client_key = /etc/sendq/client.key\nauth = external\n"
	    "pin_sha256 = 8v9WlDZD2sUTOgt3PIq6j5Uq5G1jqWjL7fWlY0PpfhA=\n"
	    "tls_min = 1.3\n\n[smarthost billing]\nhost = smtp.example.net\n"
	    "user = billing@example.net\n"
	    "password_file = /etc/sendq/billing.password\n"
	    "senders = *@billing.example.com, invoices@example.com\n"
	    "rewrite_from = header\n"), 0, "man page: routes example");

	/* prove runs from the top of the tree. */
	if (access("etc/sendq.ini", R_OK) == 0) {
		conf_free(&cf);
		is_int(capture(do_load, "etc/sendq.ini"), 0,
		    "etc/sendq.ini loads");
		is_str(SH.host, "smtp.example.com", "etc/sendq.ini: host");
		is_int(SH.tls, CONF_TLS_STARTTLS, "etc/sendq.ini: starttls");
		ok(SH.user == NULL && cf.naliases == 0,
		    "etc/sendq.ini: no login, no aliases");
	} else
		printf("# etc/sendq.ini not found from here; not checked\n");
}

/* [smarthost NAME], routes, and the keys of issue 6. */
static void
test_smarthosts(void)
{
	size_t idx[CONF_SMARTHOST_MAX], n;
	char label[128];
	const char *pin = "8v9WlDZD2sUTOgt3PIq6j5Uq5G1jqWjL7fWlY0PpfhA=";
	char text[2048];

	is_int(load(HOST "[smarthost backup]\nhost = b.example.com\n"
	    "port = 2525\n[smarthost billing]\nhost = c.example.com\n"
	    "senders = *@Billing.example.com , ops@example.com\n"
	    "user = c@example.net\npassword = x\nrewrite_from = both\n"), 0,
	    "three smarthosts load");
	is_str(errtext, "", "three smarthosts: nothing printed");
	is_int(cf.nsmarthost, 3, "three sections");
	if (cf.nsmarthost == 3) {
		ok(cf.smarthost[0].name == NULL, "first is [smarthost]");
		is_str(cf.smarthost[1].name, "backup", "second name");
		is_int(cf.smarthost[1].port, 2525, "second port");
		is_int(cf.smarthost[2].nsenders, 2, "two sender patterns");
		is_str(cf.smarthost[2].senders[0], "*@Billing.example.com",
		    "pattern trimmed");
		is_int(cf.smarthost[2].rewrite_from, CONF_REWRITE_ENVELOPE |
		    CONF_REWRITE_HEADER, "rewrite_from both");
		is_str(conf_from(&cf.smarthost[2]), "c@example.net",
		    "account address from user");
		is_str(conf_smarthost_label(&cf.smarthost[1], label,
		    sizeof(label)), "[smarthost backup]", "label");
		n = conf_route(&cf, "x@billing.EXAMPLE.com", idx);
		ok(n == 1 && idx[0] == 2, "route: sender pattern, any case");
		n = conf_route(&cf, "someone@example.org", idx);
		ok(n == 2 && idx[0] == 0 && idx[1] == 1,
		    "route: the sections without senders, in order");
		n = conf_route(&cf, "", idx);
		ok(n == 2 && idx[0] == 0, "route: null sender, default");
	}

	snprintf(text, sizeof(text), HOST "user = a@example.com\n"
	    "auth = xoauth2\noauth2_token_url = https://t.example/token\n"
	    "oauth2_client_id = id\n"
	    "oauth2_refresh_token_file = /etc/rt\n"
	    "client_cert = /etc/c.pem\nclient_key = /etc/c.key\n"
	    "pin_sha256 = %s, sha256//%s\ntls_min = 1.3\n", pin, pin);
	is_int(load(text), 0, "oauth2 and TLS keys load");
	is_str(errtext, "", "oauth2 and TLS keys: nothing printed");
	is_int(SH.auth, CONF_AUTH_XOAUTH2, "auth xoauth2");
	is_int(SH.tls_min, 13, "tls_min 1.3");
	snprintf(text, sizeof(text), "sha256//%s;sha256//%s", pin, pin);
	is_str(SH.pin_sha256, text, "pins in libcurl's form");
	is_int(load(HOST), 0, "defaults");
	is_int(SH.tls_min, 12, "tls_min default 1.2");
	is_int(SH.auth, CONF_AUTH_DEFAULT, "auth default");

	refused(HOST "[smarthost a b]\nhost = x\n", 3,
	    "malformed section header [smarthost a b]: the name may hold "
	    "letters, digits, \".\", \"-\" and \"_\"", "bad section name");
	refused(HOST "[smarthost b]\nport = 25\n", 3,
	    "host is required in [smarthost b]", "named section without host");
	refused("[smarthost b]\nhost = x.example\n", 0,
	    "host is required in [smarthost]", "no default section");
	refused(HOST "senders = *@x.example\n", 3, "senders in [smarthost]: "
	    "the default route takes every other sender; put it in a "
	    "[smarthost NAME] section", "senders in the default");
	refused(HOST "[smarthost b]\nhost = x.example\nhots = y\n", 5,
	    "unknown key \"hots\" in [smarthost b]", "unknown key, named");
	refused(HOST "user = a\npassword = x\npassword_command = /bin/pw\n", 5,
	    "more than one of password, password_file and password_command",
	    "two password sources");
	refused(HOST "user = a\npassword_command = pass show x\n", 4,
	    "malformed password_command \"pass show x\": the program must "
	    "be an absolute path (there is no shell)", "relative command");
	refused(HOST "user = a@example.com\nauth = xoauth2\n", 4,
	    "auth = xoauth2 needs oauth2_token_command or oauth2_token_url",
	    "xoauth2 without a token source");
	refused(HOST "user = a@example.com\nauth = xoauth2\n"
	    "oauth2_client_id = i\noauth2_refresh_token_file = /etc/rt\n"
	    "oauth2_token_url = http://t.example/token\n", 7,
	    "malformed oauth2_token_url \"http://t.example/token\": not an "
	    "https:// URL", "token url not https");
	refused(HOST "user = a@example.com\nauth = oauthbearer\n"
	    "oauth2_token_url = https://t.example/token\n", 5,
	    "oauth2_token_url needs oauth2_client_id and "
	    "oauth2_refresh_token_file", "token url alone");
	refused(HOST "auth = external\n", 3,
	    "auth = external needs client_cert", "external without cert");
	refused(HOST "user = a\npassword = b\nauth = cram-md5\n", 5,
	    "malformed auth \"cram-md5\": "
	    "not plain, login, xoauth2, oauthbearer or external", "bad auth");
	refused(HOST "pin_sha256 = abc\n", 3, "malformed pin_sha256 \"abc\": "
	    "not a base64 SHA-256 (44 characters ending in \"=\")", "bad pin");
	refused(HOST "tls_min = 1.1\n", 3,
	    "malformed tls_min \"1.1\": not 1.2 or 1.3", "tls_min 1.1");
	refused(HOST "rewrite_from = envelope\nuser = a\npassword = b\n", 3,
	    "rewrite_from needs from, or a user that is an address",
	    "rewrite_from without an address");
	refused(HOST "from = not an address\n", 3, "malformed from \"not an "
	    "address\": not an address such as alerts@example.com",
	    "bad from");
	refused(HOST "tls = none\npin_sha256 = " "8v9WlDZD2sUTOgt3PIq6j5Uq5G1jqWjL7fWlY0PpfhA=\n", 3,
	    "TLS settings with tls = none", "pin with tls none");
	refused(HOST "client_key = /etc/k\n", 3,
	    "client_key without client_cert", "key without cert");
}

static int
do_open_missing(void *p)
{
	(void)p;
	return conf_load(&cf, "/nonexistent-sendq/sendq.ini");
}

static int
do_open_dir(void *p)
{
	return conf_load(&cf, p);
}

static void
test_files(void)
{
	int r;

	conf_free(&cf);
	r = capture(do_open_missing, NULL);
	is_int(r, EX_CONFIG, "missing file: EX_CONFIG");
	is_str(errtext, "sendmail: /nonexistent-sendq/sendq.ini: "
	    "No such file or directory\n", "missing file: message");
	conf_free(&cf);
	r = capture(do_open_dir, dir);
	is_int(r, EX_CONFIG, "directory: EX_CONFIG");
	ok(strstr(errtext, "Is a directory") != NULL, "directory: message");
}

static char *pw_got;
static int pw_none;

static int
do_password(void *p)
{
	(void)p;
	free(pw_got);
	pw_got = conf_password(&SH, &pw_none, NULL);
	return 0;
}

static void
test_password(void)
{
	char pwfile[4300], text[8192];

	is_int(load(HOST "user = a\npassword = hunter2\n"), 0, "password");
	capture(do_password, NULL);
	is_str(pw_got, "hunter2", "conf_password: password");
	is_int(pw_none, 0, "conf_password: not none");

	snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
	write_file(pwfile, "from file\r\nsecond line\n", 23);
	snprintf(text, sizeof(text), HOST "user = a\npassword_file = %s\n",
	    pwfile);
	is_int(load(text), 0, "password_file");
	capture(do_password, NULL);
	is_str(pw_got, "from file", "conf_password: first line, no CRLF");
	is_str(errtext, "", "conf_password: nothing printed");

	write_file(pwfile, "no line end", 11);
	capture(do_password, NULL);
	is_str(pw_got, "no line end", "conf_password: no line end");

	write_file(pwfile, "\n", 1);
	capture(do_password, NULL);
	ok(pw_got == NULL, "conf_password: empty first line refused");
	snprintf(text, sizeof(text), "sendmail: %s: empty password file\n",
	    pwfile);
	is_str(errtext, text, "conf_password: empty message");
	write_file(pwfile, "", 0);
	capture(do_password, NULL);
	ok(pw_got == NULL, "conf_password: empty file refused");
	is_str(errtext, text, "conf_password: empty file message");

	unlink(pwfile);
	capture(do_password, NULL);
	ok(pw_got == NULL && pw_none == 0, "conf_password: missing file");
	snprintf(text, sizeof(text), "sendmail: %s: No such file or directory\n",
	    pwfile);
	is_str(errtext, text, "conf_password: missing file message");

	is_int(load(HOST), 0, "no credentials");
	capture(do_password, NULL);
	ok(pw_got == NULL && pw_none == 1, "conf_password: none");
	is_str(errtext, "", "conf_password: none prints nothing");
}

static void
test_domain(void)
{
	char *d;

	is_int(load(HOST "[sender]\ndomain = example.com\n"), 0, "domain set");
	d = conf_domain(&cf);
	is_str(d, "example.com", "conf_domain: [sender] domain");
	free(d);
	is_int(load(HOST), 0, "domain unset");
	d = conf_domain(&cf);
	ok(d && *d && strspn(d, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(d),
	    "conf_domain: this host's name, \"%s\"", d ? d : "(null)");
	free(d);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/sendq-conf.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	/* Files holding a password must be private (conf_private). */
	umask(077);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/sendq.ini", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);

	test_full();
	test_private();
	test_defaults();
	test_refusals();
	test_lines();
	test_examples();
	test_files();
	test_smarthosts();
	test_password();
	test_domain();

	conf_free(&cf);
	free(pw_got);
	unlink(path);
	unlink(errpath);
	rmdir(dir);
	return done_testing();
}
