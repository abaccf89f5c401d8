/*
 * sendq-runner: the delivery side. The only program that links libcurl
 * and reads the smarthost password. sendmail starts it for a message it
 * has just queued (-I ID), or runs it for a queue run (-q).
 *
 *	sendq-runner [-v] [-C FILE] -I ID [ID ...]
 *	sendq-runner [-v] [-C FILE] -q[ARG]
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "priv.h"
#include "relay.h"

static int
runner_usage(void)
{
	log_err(NULL, "usage: sendq-runner [-v] [-C file] -I id ... | -q[arg]");
	return EX_USAGE;
}

/* -q's argument: empty, an interval, or I/R/S followed by a substring. */
static int
runner_queue_arg(const char *a, struct deliver_sel *sel)
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
	/* An interval: repeated runs come with the queue runner; one pass
	 * now is what a caller of -q30m minimally expects. */
	return 0;
}

int
main(int argc, char *argv[])
{
	struct deliver_sel sel;
	struct conf c;
	const char *conf_path = SENDQ_CONF;
	char *password = NULL;
	int i, verbose = 0, rc, none, have_mode = 0;

	if (priv_init() == -1)
		return EX_OSERR;
	log_init("sendq-runner");
	memset(&sel, 0, sizeof(sel));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "-I") == 0 && i + 1 < argc) {
			sel.ids = argv + i + 1;
			sel.nids = (size_t)(argc - i - 1);
			sel.force = 1;
			have_mode = 1;
			break;
		} else if (strncmp(argv[i], "-q", 2) == 0) {
			if (runner_queue_arg(argv[i] + 2, &sel) != 0)
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
	if (c.user && (password = conf_password(&c, &none)) == NULL && !none) {
		conf_free(&c);
		return EX_CONFIG;
	}
	if (relay_global_init() == -1) {
		log_err(NULL, "cannot initialise libcurl");
		rc = EX_SOFTWARE;
	} else {
		rc = deliver_pass(&c, password, &sel, verbose);
		relay_global_cleanup();
	}
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	conf_free(&c);
	return rc;
}
