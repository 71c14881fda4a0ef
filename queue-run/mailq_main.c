/* mailq_main.c — mailq(8): list the queue, retry it now (-f), remove
 * messages from it (-d ID...), or print what posthorn counts (-m).  Run by root or posthorn: the spool is
 * theirs alone. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "mailq.h"

enum {
	EXIT_OK = 0,
	EXIT_NOTFOUND = 1,	/* a message named with -d is not queued */
	EXIT_USAGE = 64,	/* EX_USAGE */
	EXIT_SOFTWARE = 70,	/* EX_SOFTWARE: the spool cannot be read */
	EXIT_TEMPFAIL = 75,	/* EX_TEMPFAIL: queue-run is not running */
	EXIT_CONFIG = 78,	/* EX_CONFIG */
	ERR_MAX = 1024
};

static int
usage(void)
{
	fprintf(stderr, "usage: mailq [-C DIR] [-f | -m | -d ID...]\n");
	return EXIT_USAGE;
}

static int
delete(const struct conf *conf, char **ids, int n)
{
	int i, rc = EXIT_OK;

	for (i = 0; i < n; i++)
		switch (mailq_delete(conf, ids[i])) {
		case MAILQ_OK:
			printf("%s: removed\n", ids[i]);
			break;
		case MAILQ_NOTFOUND:
			fprintf(stderr, "mailq: %s: no such message\n",
			    ids[i]);
			rc = EXIT_NOTFOUND;
			break;
		case MAILQ_NOTRUNNING:
			fprintf(stderr, "mailq: %s: queue-run holds the lock "
			    "but does not listen; try again\n", ids[i]);
			return EXIT_TEMPFAIL;
		case MAILQ_ERROR:
			perror(ids[i]);
			return EXIT_SOFTWARE;
		}
	return rc;
}

int
main(int argc, char *argv[])
{
	struct conf conf;
	const char *copt = NULL;
	char err[ERR_MAX];
	int c, flush = 0, del = 0, metrics = 0;

	while ((c = getopt(argc, argv, "C:dfm")) != -1)
		switch (c) {
		case 'C':
			copt = optarg;
			break;
		case 'd':
			del = 1;
			break;
		case 'f':
			flush = 1;
			break;
		case 'm':
			metrics = 1;
			break;
		default:
			return usage();
		}
	if (flush + del + metrics > 1 || (del && optind == argc) ||
	    (!del && optind != argc))
		return usage();
	if (conf_load(&conf, conf_dir(copt), err, sizeof(err)) == -1) {
		fprintf(stderr, "mailq: %s\n", err);
		return EXIT_CONFIG;
	}
	if (del)
		return delete(&conf, argv + optind, argc - optind);
	if (flush)
		switch (mailq_flush(&conf)) {
		case MAILQ_OK:
			return EXIT_OK;
		case MAILQ_NOTRUNNING:
			fprintf(stderr, "mailq: queue-run is not running; "
			    "it retries everything due when it starts\n");
			return EXIT_TEMPFAIL;
		default:
			perror("mailq");
			return EXIT_SOFTWARE;
		}
	if (metrics) {
		if (mailq_metrics(&conf, stdout, time(NULL)) == -1) {
			fprintf(stderr, "mailq: %s: %s\n", conf.spool,
			    strerror(errno));
			return EXIT_SOFTWARE;
		}
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOFTWARE;
	}
	if (mailq_list(&conf, stdout, time(NULL)) == -1) {
		fprintf(stderr, "mailq: %s/new: %s\n", conf.spool,
		    strerror(errno));
		return EXIT_SOFTWARE;
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOFTWARE;
}
