/* doctor_main.c — posthorn-doctor(8): arguments, the configuration and
 * the exit code; the checks are in doctor.c. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "doctor.h"
#include "domains.h"
#include "str.h"

#define PROG	"posthorn-doctor"

enum {
	EXIT_FAIL = 1		/* a check failed */
};

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [-C dir] [domain ...]\n");
}

int
main(int argc, char **argv)
{
	static struct conf conf;	/* large: paths */
	struct doctor d;
	char err[1024], **names = NULL;
	const char *dir = NULL;
	size_t n = 0, i, checked = 0;
	int ch;

	while ((ch = getopt(argc, argv, "+C:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (conf_load(&conf, conf_dir(dir), err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		return EX_CONFIG;
	}
	if (doctor_init() == -1) {
		fprintf(stderr, PROG ": cannot initialise GnuTLS or "
		    "libsodium\n");
		return EX_SOFTWARE;
	}
	if (argc == 0 && domains_list(&conf, &names, &n) == -1) {
		fprintf(stderr, PROG ": %s/domains: %s\n", conf.dir,
		    strerror(errno));
		return EX_CONFIG;
	}
	memset(&d, 0, sizeof(d));
	d.conf = &conf;
	d.out = stdout;
	d.now = time(NULL);
	printf("posthorn-doctor: hostname %s\n", conf.hostname);
	doctor_host(&d);
	for (i = 0; i < (argc > 0 ? (size_t)argc : n); i++) {
		const char *dom = argc > 0 ? argv[i] : names[i];

		/* The host name's directory holds the keys of the
		 * machine's own mail; it is no mail domain with an MX. */
		if (argc == 0 && str_casecmp(dom, conf.hostname) == 0)
			continue;
		printf("\n%s\n", dom);
		doctor_domain(&d, dom);
		checked++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	printf("\n%u ok, %u WARN, %u FAIL%s\n", d.ok, d.warn, d.fail,
	    checked == 0 ? " (no mail domain: name one)" : "");
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, PROG ": standard output: write error\n");
		return EX_IOERR;
	}
	return d.fail > 0 ? EXIT_FAIL : 0;
}
