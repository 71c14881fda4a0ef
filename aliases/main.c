/* main.c — aliases(8): print where addresses go, check the aliases
 * files, or give the original of an SRS address (smtp-in's helper).
 * Arguments, the configuration and exit codes; the work is in tool.c,
 * the resolution in lib/alias.c and SRS in lib/srs.c. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "conf.h"
#include "tool.h"

#define PROG	"aliases"

enum {
	EXIT_NO = 1		/* an address did not resolve; a problem */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: " PROG " [-C dir] address ...\n"
	    "       " PROG " [-C dir] -c|--check [domain ...]\n"
	    "       " PROG " [-C dir] -r address\n");
}

static int
exit_code(enum aliases_result r)
{
	switch (r) {
	case ALIASES_OK:
		return 0;
	case ALIASES_FAIL:
		return EXIT_NO;
	case ALIASES_TEMP:
	default:
		return EX_TEMPFAIL;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check",	no_argument,		NULL, 'c' },
		{ NULL,		0,			NULL, 0 }
	};
	static struct conf conf;	/* large: paths */
	char err[1024];
	const char *dir = NULL, *srs = NULL;
	enum aliases_result r;
	int ch, check = 0, rc;

	while ((ch = getopt_long(argc, argv, "+C:cr:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		case 'c':
			check = 1;
			break;
		case 'r':
			srs = optarg;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if ((srs != NULL && (check || argc > 0)) ||
	    (srs == NULL && !check && argc == 0)) {
		usage();
		return EX_USAGE;
	}
	if (conf_load(&conf, conf_dir(dir), err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		return EX_CONFIG;
	}
	if (srs != NULL)
		r = aliases_srs(&conf, srs, stdout, stderr);
	else if (check)
		r = aliases_check(&conf, argv, (size_t)argc, stdout, stderr);
	else
		r = aliases_show(&conf, argv, (size_t)argc, stdout);
	rc = exit_code(r);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror(PROG ": standard output");
		rc = EX_IOERR;
	}
	return rc;
}
