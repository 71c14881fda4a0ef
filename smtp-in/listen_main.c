/* listen_main.c — smtp-listen: arguments, environment and exit codes;
 * the work is in listen.c. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confwatch.h"
#include "io.h"
#include "listen.h"
#include "log.h"

enum {
	EXIT_USAGE = 64,	/* sysexits.h EX_USAGE */
	EXIT_CONFIG = 78	/* EX_CONFIG */
};

static struct confwatch	cw;	/* posthorn.conf, kept current */
static struct listen_opts opts;

static void
usage(void)
{
	fprintf(stderr, "usage: smtp-listen [-KT] [-C dir] [-u user] "
	    "[-c sessions] [-s per-source]\n"
	    "\t[-r per-second] [-d drain] [-x net]... [-p net]... "
	    "mx|submission|submissions\n\t[addr:port ...]\n");
	exit(EXIT_USAGE);
}

static unsigned
number(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		fprintf(stderr, "smtp-listen: %s: want a number %u..%u\n", s,
		    min, max);
		exit(EXIT_USAGE);
	}
	return (unsigned)n;
}

static void
net(const char *s, struct listen_net *nets, size_t *n)
{
	if (strcmp(s, "none") == 0)
		return;
	if (*n == LISTEN_NETS_MAX || listen_net_parse(s, &nets[*n]) == -1) {
		fprintf(stderr, "smtp-listen: %s: want ADDR[/PREFIX] "
		    "(%d at most)\n", s, LISTEN_NETS_MAX);
		exit(EXIT_USAGE);
	}
	(*n)++;
}

/* Loopback is exempt from the per-source limits unless -x says
 * otherwise, as Postfix exempts $mynetworks from anvil's. */
static void
default_exempt(void)
{
	net("127.0.0.0/8", opts.exempt, &opts.nexempt);
	net("::1", opts.exempt, &opts.nexempt);
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL;
	char err[512];
	int ch, exempt_given = 0;

	log_init("smtp-listen");
	if (fd_std_open() == -1)
		return EXIT_FAILURE;
	opts.max_sessions = LISTEN_SESSIONS_DEFAULT;
	opts.per_source = LISTEN_PER_SOURCE_DEFAULT;
	opts.rate = LISTEN_RATE_DEFAULT;
	opts.drain = LISTEN_DRAIN_DEFAULT;
	opts.tlsd = 1;
	opts.checkd = 1;
	while ((ch = getopt(argc, argv, "+C:KTc:d:p:r:s:u:x:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		case 'K':
			opts.checkd = 0;
			break;
		case 'T':
			opts.tlsd = 0;
			break;
		case 'c':
			opts.max_sessions = number(optarg, 1,
			    LISTEN_SESSIONS_MAX);
			break;
		case 'd':
			opts.drain = number(optarg, 0, LISTEN_DRAIN_MAX);
			break;
		case 'p':
			net(optarg, opts.proxy, &opts.nproxy);
			break;
		case 'r':
			opts.rate = number(optarg, 0, LISTEN_LIMIT_MAX);
			break;
		case 's':
			opts.per_source = number(optarg, 0, LISTEN_LIMIT_MAX);
			break;
		case 'u':
			opts.user = optarg;
			break;
		case 'x':
			exempt_given = 1;
			net(optarg, opts.exempt, &opts.nexempt);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 1 || !listen_mode_valid(argv[optind]))
		usage();
	if (!exempt_given)
		default_exempt();
	opts.mode = argv[optind];
	opts.addrs = argv + optind + 1;
	opts.naddrs = (size_t)(argc - optind - 1);
	if (confwatch_load(&cw, conf_dir(dir), err, sizeof(err)) == -1) {
		log_event("config", "error", err, (char *)NULL);
		return EXIT_CONFIG;
	}
	opts.confdir = cw.conf.dir;
	opts.hostname = cw.conf.hostname;
	opts.cw = &cw;
	return listen_run(&opts);
}
