/* main.c — queue-run(8): the options, the configuration, and the exit
 * code around sched_run().  It runs as the posthorn user, under systemd
 * or in the background, until SIGTERM. */

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confwatch.h"
#include "filecache.h"
#include "io.h"
#include "log.h"
#include "sched.h"

enum {
	EXIT_USAGE = 64,	/* EX_USAGE */
	EXIT_CONFIG = 78,	/* EX_CONFIG */
	ERR_MAX = 1024
};

int
main(int argc, char *argv[])
{
	static struct confwatch cw;	/* some 10 KB: not on the stack */
	const char *copt = NULL;
	char err[ERR_MAX];
	enum sched_exit rc;
	int c;

	(void)umask(027);
	/* fd 0-2 open (on /dev/null if need be), so that no descriptor
	 * opened later takes their place in a delivery process. */
	if (fd_std_open() == -1)
		return SCHED_EXIT_SOFTWARE;
	log_init("queue-run");
	while ((c = getopt(argc, argv, "C:")) != -1)
		switch (c) {
		case 'C':
			copt = optarg;
			break;
		default:
			log_event("usage", "reason", "queue-run [-C DIR]",
			    (char *)NULL);
			return EXIT_USAGE;
		}
	if (optind != argc) {
		log_event("usage", "reason", "queue-run [-C DIR]",
		    (char *)NULL);
		return EXIT_USAGE;
	}
	if (confwatch_load(&cw, conf_dir(copt), err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		return EXIT_CONFIG;
	}
	/* users, aliases and mda files read once per change, not once per
	 * message (filecache.h). */
	filecache_enable(1);
	if ((rc = sched_run(&cw, err, sizeof(err))) != SCHED_EXIT_OK)
		log_event("error", "reason", err, (char *)NULL);
	return rc;
}
