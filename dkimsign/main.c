/* main.c — dkimsign(1): arguments, environment and exit codes; the work
 * is filter.c's (signing) and admin.c's (-g, -p).
 *
 * -h prints the DKIM-Signature fields alone, for queue-run(8), which
 * keeps them beside the queued message.
 *
 * The exit codes are what a pipeline acts on: 0 the message is signed;
 * 75 (EX_TEMPFAIL) it is not, for a reason that may go away (no key yet,
 * an unreadable key, no From:, a header too large, an I/O error), so the
 * queue keeps the message instead of sending it unsigned; 64 (EX_USAGE)
 * a wrong command line.  -g and -p exit 1 on failure. */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "filter.h"
#include "keys.h"
#include "log.h"

enum {
	EXIT_USAGE = 64,	/* EX_USAGE, sysexits(3) */
	EXIT_TEMPFAIL = 75	/* EX_TEMPFAIL */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: dkimsign [-h] [-C dir] [-d domain] [-t time] < message\n"
	    "       dkimsign [-C dir] -g domain [-b 2048|3072|4096] [-t time]\n"
	    "       dkimsign [-C dir] -p domain\n");
	exit(EXIT_USAGE);
}

static long long
number(const char *s, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	struct filter_opts o = { NULL, NULL, -1, 0 };
	const char *gen = NULL, *print = NULL;
	char err[1024] = "";
	unsigned bits = KEYS_RSA_BITS_DEFAULT;
	int c, bflag = 0;

	log_init("dkimsign");
	while ((c = getopt(argc, argv, "b:C:d:g:hp:t:")) != -1) {
		switch (c) {
		case 'b':
			bits = (unsigned)number(optarg, KEYS_RSA_BITS_MAX);
			if (bits != 2048 && bits != 3072 && bits != 4096)
				usage();
			bflag = 1;
			break;
		case 'C':
			o.confdir = optarg;
			break;
		case 'd':
			o.domain = optarg;
			break;
		case 'g':
			gen = optarg;
			break;
		case 'h':
			o.fields_only = 1;
			break;
		case 'p':
			print = optarg;
			break;
		case 't':
			/* A fixed signing time, for tests and reproducible
			 * output; up to the year 9999. */
			o.t = number(optarg, 253402300799LL);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (gen != NULL && print != NULL) ||
	    ((gen != NULL || print != NULL) && (o.domain != NULL ||
	    o.fields_only)) ||
	    (bflag && gen == NULL) || (print != NULL && o.t != -1))
		usage();
	/* A reader that goes away is a write error (EPIPE) reported like
	 * any other, not a death by signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return EXIT_TEMPFAIL;

	if (gen != NULL || print != NULL) {
		if ((gen != NULL ? admin_generate(o.confdir, gen, bits, o.t,
		    STDOUT_FILENO, err, sizeof(err)) : admin_print(o.confdir,
		    print, STDOUT_FILENO, err, sizeof(err))) == -1) {
			log_event("error", "reason", err, (char *)NULL);
			return 1;
		}
		return 0;
	}
	if (filter_run(&o, STDIN_FILENO, STDOUT_FILENO, err, sizeof(err))
	    == -1) {
		log_event("tempfail", "reason", err, (char *)NULL);
		return EXIT_TEMPFAIL;
	}
	return 0;
}
