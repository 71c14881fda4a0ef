/* main.c — smtp-out(8): deliver the message on standard input from one
 * sender to recipients of one domain, and print one result line per
 * recipient.  Arguments, configuration and exit codes only; the loop
 * over hosts is send.c, the protocol client.c.  queue-run starts it for
 * every remote destination, and a person can run it by hand in a pipe. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "client.h"
#include "conf.h"
#include "dsn.h"
#include "fileread.h"
#include "log.h"
#include "send.h"
#include "str.h"

enum {
	EXIT_USAGE = 64,	/* sysexits.h EX_USAGE */
	EXIT_CONFIG = 78,	/* EX_CONFIG */
	ERR_MAX = 512,
	/* Recipients per run: queue-run groups a message's recipients by
	 * domain; RFC 5321 §4.5.3.1.8 has servers take at least 100 per
	 * transaction, and one that takes fewer says 452 to the rest. */
	RCPTS_MAX = 1000,
	/* -H: header fields sent before the message (queue-run's
	 * DKIM-Signature fields, a few hundred bytes). */
	HEADER_MAX = 64 * 1024
};

/* The whole of -H's file into buf; its length, or -1 with why. */
static ssize_t
read_header(const char *path, char *buf, size_t size, char *why,
    size_t whysize)
{
	size_t len;

	if (fileread_into(path, buf, size, &len) == -1) {
		if (errno == EFBIG)
			str_fmt_cut(why, whysize, "%s: longer than %zu bytes",
			    path, size - 1);
		else
			str_fmt_cut(why, whysize, "%s: %s", path,
			    strerror(errno));
		return -1;
	}
	return (ssize_t)len;
}

static void
usage(void)
{
	fprintf(stderr, "usage: smtp-out [-C dir] [-8] [-U] [-H file] "
	    "[-R full|hdrs] [-V envid]\n"
	    "                [-N n:notify]... [-O n:type;address]... "
	    "-f sender [--] recipient...\n");
	exit(EXIT_USAGE);
}

/* -N and -O: "N:VALUE", N the recipient's place (1 the first); the
 * value at *value, N-1 at *index.  0, or -1. */
static int
per_rcpt(const char *arg, size_t *index, const char **value)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != ':' || v < 1 ||
	    v > RCPTS_MAX)
		return -1;
	*index = (size_t)(v - 1);
	*value = end + 1;
	return 0;
}

/* Everything we can say before sending: every recipient deferred or
 * failed with the same reason. */
static int
report_all(struct client_rcpt *r, size_t n, enum client_status st,
    const char *dsn, const char *text)
{
	send_fail_all(r, n, st, dsn, text);
	return send_report(stdout, r, n);
}

int
main(int argc, char *argv[])
{
	static struct conf conf;
	static struct client_rcpt rcpts[RCPTS_MAX];
	static char paths[RCPTS_MAX][ADDR_TEXT_MAX];
	struct client_msg msg;
	struct send_job job;
	struct addr a;
	const char *copt = NULL, *sender = NULL, *hfile = NULL, *at;
	static char header[HEADER_MAX];
	ssize_t hlen = 0;
	char err[ERR_MAX], domain[ADDR_DOMAIN_MAX + 1] = "";
	char from[ADDR_TEXT_MAX];
	static unsigned notify[RCPTS_MAX];
	static const char *orcpt[RCPTS_MAX];
	const char *envid = NULL, *v;
	enum dsn_ret ret = DSN_RET_NONE;
	size_t i, n, k, maxk = 0;
	int c, eightbit = 0, utf8 = 0, rc;

	log_init("smtp-out");
	/* A peer that closes on us is an error from send(2), not a kill. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return SEND_EXIT_DEFERRED;
	while ((c = getopt(argc, argv, "+C:8UH:f:R:V:N:O:")) != -1) {
		switch (c) {
		case 'C':
			copt = optarg;
			break;
		case '8':
			eightbit = 1;
			break;
		case 'U':
			utf8 = 1;
			break;
		case 'f':
			sender = optarg;
			break;
		case 'H':
			hfile = optarg;
			break;
		case 'R':
			if (dsn_ret_parse(optarg, strlen(optarg), &ret) == -1)
				usage();
			break;
		case 'V':
			if (optarg[0] == '\0' ||
			    strlen(optarg) > DSN_ENVID_MAX)
				usage();
			envid = optarg;
			break;
		case 'N':
			if (per_rcpt(optarg, &k, &v) == -1 ||
			    dsn_notify_parse(v, strlen(v), &notify[k]) == -1)
				usage();
			maxk = k + 1 > maxk ? k + 1 : maxk;
			break;
		case 'O':
			/* "type;address", decoded: as the queue keeps it. */
			if (per_rcpt(optarg, &k, &v) == -1 ||
			    strchr(v, ';') == NULL || v[0] == ';')
				usage();
			orcpt[k] = v;
			maxk = k + 1 > maxk ? k + 1 : maxk;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (sender == NULL || argc < 1 || argc > RCPTS_MAX ||
	    maxk > (size_t)argc)
		usage();

	from[0] = '\0';
	if (sender[0] != '\0') {
		if (addr_parse(sender, strlen(sender), ADDR_UTF8, &a) !=
		    ADDR_OK || addr_format(&a, from, sizeof(from)) < 0) {
			fprintf(stderr, "smtp-out: bad sender address: %s\n",
			    sender);
			return EXIT_USAGE;
		}
		utf8 |= a.utf8;
	}

	/* Every recipient of one domain; one that does not parse fails on
	 * its own line (it can never be delivered). */
	n = (size_t)argc;
	for (i = 0; i < n; i++) {
		rcpts[i].addr = argv[i];
		rcpts[i].notify = notify[i];
		rcpts[i].orcpt = orcpt[i];
		if ((at = strrchr(argv[i], '@')) == NULL || at[1] == '\0') {
			fprintf(stderr, "smtp-out: %s: no domain\n", argv[i]);
			return EXIT_USAGE;
		}
		if (domain[0] == '\0') {
			if (str_copy(domain, sizeof(domain), at + 1) == -1) {
				fprintf(stderr, "smtp-out: %s: domain too "
				    "long\n", argv[i]);
				return EXIT_USAGE;
			}
			str_lower(domain);
		} else if (str_casecmp(domain, at + 1) != 0) {
			fprintf(stderr, "smtp-out: recipients of more than "
			    "one domain: %s and %s\n", domain, at + 1);
			return EXIT_USAGE;
		}
		if (addr_parse(argv[i], strlen(argv[i]), ADDR_UTF8, &a) !=
		    ADDR_OK || addr_format(&a, paths[i], sizeof(paths[i]))
		    < 0) {
			rcpts[i].status = CLIENT_FAILED;
			str_fmt_cut(rcpts[i].dsn, sizeof(rcpts[i].dsn),
			    "5.1.3");
			str_fmt_cut(rcpts[i].text, sizeof(rcpts[i].text),
			    "bad recipient address syntax");
			str_fmt_cut(rcpts[i].host, sizeof(rcpts[i].host), "-");
			str_fmt_cut(rcpts[i].tls, sizeof(rcpts[i].tls), "none");
			continue;
		}
		rcpts[i].path = paths[i];
		utf8 |= a.utf8;
	}

	if (conf_load(&conf, conf_dir(copt), err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		(void)report_all(rcpts, n, CLIENT_DEFERRED, "4.3.5", err);
		return EXIT_CONFIG;
	}
	/* Never send the message without the fields it was given: a
	 * missing file defers it. */
	if (hfile != NULL && (hlen = read_header(hfile, header,
	    sizeof(header), err, sizeof(err))) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		return report_all(rcpts, n, CLIENT_DEFERRED, "4.3.0", err);
	}
	if (client_msg_open_prefixed(STDIN_FILENO, header, (size_t)hlen, &msg,
	    err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		return report_all(rcpts, n, CLIENT_DEFERRED, "4.3.0", err);
	}

	memset(&job, 0, sizeof(job));
	job.conf = &conf;
	job.domain = domain;
	job.sender = from;
	job.eightbit = eightbit;
	job.smtputf8 = utf8;
	job.ret = ret;
	job.envid = envid;
	job.msg = &msg;
	job.rcpts = rcpts;
	job.n = n;
	if (send_run(&job, err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		(void)report_all(rcpts, n, CLIENT_DEFERRED, "4.3.5", err);
		rc = EXIT_CONFIG;
	} else
		rc = send_report(stdout, rcpts, n);
	client_msg_close(&msg);
	if (fflush(stdout) == EOF || ferror(stdout))
		return SEND_EXIT_DEFERRED;
	return rc;
}
