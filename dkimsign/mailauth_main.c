/* mailauth_main.c — mailauth(8): the checks of incoming mail, one
 * subcommand each, for scripts, tests and smtp-in.  Arguments and exit
 * codes only; the DKIM verifier is verify.c.
 *
 *   mailauth dkim [-t time] < message
 *       one line per DKIM-Signature: RESULT d= s= a= reason=, then the
 *       dkim= part of an Authentication-Results field.  Exit 0 when a
 *       signature passes, 1 when none does, 75 when the message could
 *       not be read, 64 on a usage error. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "dns.h"
#include "log.h"
#include "str.h"
#include "verify.h"

enum {
	EXIT_NOPASS = 1,
	EXIT_USAGE = 64,	/* EX_USAGE, sysexits(3) */
	EXIT_TEMPFAIL = 75,	/* EX_TEMPFAIL */
	/* The dkim= summary: 8 signatures of a few hundred bytes. */
	AR_MAX = 8192
};

static void
usage(void)
{
	fprintf(stderr, "usage: mailauth dkim [-t time] < message\n");
	exit(EXIT_USAGE);
}

static enum dns_result
txt(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	(void)arg;
	return dns_txt(name, out, max, n, why, whysize);
}

static int
cmd_dkim(int argc, char **argv)
{
	struct verify *v = NULL;
	char *hbuf = NULL, *arbuf = NULL, *end;
	long long now = (long long)time(NULL);
	struct str ar;
	size_t i;
	int c, rc = EXIT_NOPASS;

	while ((c = getopt(argc, argv, "t:")) != -1) {
		switch (c) {
		case 't':
			/* The verification time, for tests of t= and x=. */
			errno = 0;
			now = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    now < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (sodium_init() < 0 || (v = malloc(sizeof(*v))) == NULL ||
	    (hbuf = malloc(VERIFY_HEADER_MAX)) == NULL ||
	    (arbuf = malloc(AR_MAX)) == NULL) {
		log_event("tempfail", "reason", "out of memory", (char *)NULL);
		rc = EXIT_TEMPFAIL;
		goto out;
	}
	if (verify_read(v, STDIN_FILENO, hbuf) == -1) {
		log_event("tempfail", "reason", errno == E2BIG ?
		    "header too large" : strerror(errno), (char *)NULL);
		rc = EXIT_TEMPFAIL;
		goto out;
	}
	verify_finish(v, now, txt, NULL);
	for (i = 0; i < v->nsig; i++) {
		const struct verify_sig *g = &v->sig[i];

		printf("%s d=%s s=%s a=%s", verify_result_name(g->result),
		    g->d, g->s, g->a);
		if (g->reason[0] != '\0')
			printf(" reason=\"%s\"", g->reason);
		printf("\n");
		if (g->result == VERIFY_PASS)
			rc = 0;
	}
	str_init(&ar, arbuf, AR_MAX);
	if (verify_ar(v, &ar) == -1) {
		rc = EXIT_TEMPFAIL;
		goto out;
	}
	printf("%.*s\n", (int)ar.len, ar.s);
	if (fflush(stdout) == EOF)
		rc = EXIT_TEMPFAIL;
out:
	free(arbuf);
	free(hbuf);
	free(v);
	return rc;
}

static const struct {
	const char	*name;
	int		(*run)(int, char **);
} cmds[] = {
	{ "dkim", cmd_dkim }
};

int
main(int argc, char **argv)
{
	size_t i;

	log_init("mailauth");
	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	usage();
	return EXIT_USAGE;
}
