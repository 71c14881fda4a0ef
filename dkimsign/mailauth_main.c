/* mailauth_main.c — mailauth(8): the checks of incoming mail, one
 * subcommand each, for scripts, tests and (later) smtp-in.  This file
 * parses arguments, prints and maps results to exit codes; the checks
 * are modules (lib/spf.c, dkimsign/verify.c, dmarc.c, check.c).  A subcommand is one row
 * of the table in main: its name, its function, its usage line. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "conf.h"
#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "spf.h"
#include "str.h"
#include "verify.h"

#define PROG	"mailauth"

enum {
	/* -t: a query's wait is bounded by what a session can afford. */
	TIMEOUT_MAX = 60,
	TIME_LIMIT_MAX = 600,	/* -T: a whole check, the same reason */
	RECEIVED_MAX = 2048,	/* the Received-SPF line printed */
	/* The dkim= summary: 8 signatures of a few hundred bytes. */
	AR_MAX = 8192,
	EXIT_NOPASS = 1,	/* mailauth dkim: no signature passed */
	/* The sender: RFC 5321 §4.5.3.1.3's path, brackets aside; longer
	 * cannot have been a MAIL FROM, and it goes in the field. */
	SENDER_MAX = 256
};

/* The client's address, HELO name and sender (NULL: none, the HELO
 * check) of spf and check into r, as SMTP gave them ("<>" for the null
 * sender); a usage error is said and -1 returned. */
static int
envelope(const char *ip, const char *helo, const char *sender,
    struct spf_request *r)
{
	if (dns_addr_parse(ip, &r->ip) == -1 || ip[0] == '[') {
		fprintf(stderr, PROG ": %s: not an IP address\n", ip);
		return -1;
	}
	if (sender == NULL || strcmp(sender, "<>") == 0)
		sender = "";
	if (strlen(sender) > SENDER_MAX || strlen(helo) > DNS_NAME_MAX) {
		fprintf(stderr, PROG ": sender or HELO name too long\n");
		return -1;
	}
	r->helo = helo;
	r->sender = sender;
	return 0;
}

struct command {
	const char	*name;
	int		(*run)(int argc, char **argv);
	const char	*usage;
};

/* The receiving host's name for %{r} and the details: -r, else
 * posthorn.conf's hostname.  -1 when the configuration is broken. */
static int
receiver(const char *opt, const char *dir, char *buf, size_t size)
{
	static struct conf conf;	/* large: paths */
	char err[1024];

	if (opt != NULL)
		return str_copy(buf, size, opt) == -1 ? -1 : 0;
	if (conf_load(&conf, conf_dir(dir), err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return str_copy(buf, size, conf.hostname);
}

/* A number of seconds from 1 to max: 0, or -1. */
static int
seconds(const char *opt, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(opt, &end, 10);
	if (errno != 0 || end == opt || *end != '\0' || v < 1 || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* mailauth spf [-H] [-C dir] [-r receiver] [-t seconds] [-T seconds]
 * IP HELO [SENDER]:
 * the result word on the first line, then the Received-SPF field, then
 * the explanation of a fail when the domain gives one. */
static int
cmd_spf(int argc, char **argv)
{
	struct spf_request req;
	struct spf_answer *ans;
	char recv[DNS_NAME_MAX + 1], line[RECEIVED_MAX];
	const char *dir = NULL, *ropt = NULL;
	int ch, helo_only = 0;

	memset(&req, 0, sizeof(req));
	req.time_limit = SPF_TIME_MIN;
	optind = 1;
	while ((ch = getopt(argc, argv, "+C:Hr:t:T:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		case 'H':
			helo_only = 1;
			break;
		case 'r':
			ropt = optarg;
			break;
		case 't':
			/* One try of that many seconds a query. */
			if (seconds(optarg, TIMEOUT_MAX, &req.dns.timeout)
			    == -1) {
				fprintf(stderr, PROG ": -t: 1 to %d seconds\n",
				    TIMEOUT_MAX);
				return EX_USAGE;
			}
			req.dns.attempts = 1;
			break;
		case 'T':
			if (seconds(optarg, TIME_LIMIT_MAX, &req.time_limit)
			    == -1) {
				fprintf(stderr, PROG ": -T: 1 to %d seconds\n",
				    TIME_LIMIT_MAX);
				return EX_USAGE;
			}
			break;
		default:
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 && !(argc == 2 && helo_only))
		return EX_USAGE;
	if (envelope(argv[0], argv[1], argc == 3 ? argv[2] : NULL, &req) ==
	    -1)
		return EX_USAGE;
	if (receiver(ropt, dir, recv, sizeof(recv)) == -1)
		return EX_CONFIG;
	req.receiver = recv;
	req.now = (long long)time(NULL);
	if ((ans = malloc(sizeof(*ans))) == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return EX_OSERR;
	}
	if (helo_only)
		(void)spf_check_helo(&req, ans);
	else
		(void)spf_check_mailfrom(&req, ans);
	spf_received(&req, ans, line, sizeof(line));
	printf("%s\nReceived-SPF: %s\n", spf_result_name(ans->result), line);
	if (ans->result == SPF_FAIL && ans->explanation[0] != '\0')
		printf("explanation: %s\n", ans->explanation);
	free(ans);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, PROG ": standard output: %s\n",
		    strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

/* -t: seconds since the epoch, for tests of t= and x=.  0, or -1. */
static int
epoch(const char *opt, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(opt, &end, 10);
	return errno != 0 || end == opt || *end != '\0' || *out < 0 ? -1 : 0;
}

/* " name=value" of a signature's tag, as the sender wrote it but for
 * the FWS a tag's value may hold (RFC 6376 §3.2), each byte of it shown
 * as '?': a folded d= must not start a line of its own in the output
 * that scripts read line by line. */
static void
put_tag(const char *name, const char *val)
{
	printf(" %s=", name);
	for (; *val != '\0'; val++)
		putchar((unsigned char)*val <= ' ' ? '?' : *val);
}

/* mailauth dkim [-t time] < message: one line per DKIM-Signature,
 * RESULT d= s= a= reason=, then the dkim= part of an
 * Authentication-Results field.  0 when a signature passes, 1 when none
 * does, 75 when the message could not be read. */
static int
cmd_dkim(int argc, char **argv)
{
	struct verify *v = NULL;
	char *hbuf = NULL, *arbuf = NULL;
	long long now = (long long)time(NULL);
	struct str ar;
	size_t i;
	int c, rc = EXIT_NOPASS;

	optind = 1;
	while ((c = getopt(argc, argv, "+t:")) != -1) {
		switch (c) {
		case 't':
			if (epoch(optarg, &now) == -1)
				return EX_USAGE;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (optind != argc)
		return EX_USAGE;
	log_init(PROG);
	if (sodium_init() < 0 || (v = malloc(sizeof(*v))) == NULL ||
	    (hbuf = malloc(VERIFY_HEADER_MAX)) == NULL ||
	    (arbuf = malloc(AR_MAX)) == NULL) {
		log_event("tempfail", "reason", "out of memory", (char *)NULL);
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (verify_read(v, STDIN_FILENO, hbuf) == -1) {
		log_event("tempfail", "reason", errno == E2BIG ?
		    "header too large" : strerror(errno), (char *)NULL);
		rc = EX_TEMPFAIL;
		goto out;
	}
	verify_finish(v, now, dmarc_txt_dns, NULL);
	for (i = 0; i < v->nsig; i++) {
		const struct verify_sig *g = &v->sig[i];

		printf("%s", verify_result_name(g->result));
		put_tag("d", g->d);
		put_tag("s", g->s);
		put_tag("a", g->a);
		if (g->reason[0] != '\0')
			printf(" reason=\"%s\"", g->reason);
		printf("\n");
		if (g->result == VERIFY_PASS)
			rc = 0;
	}
	str_init(&ar, arbuf, AR_MAX);
	if (verify_ar(v, &ar) == -1) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	printf("%.*s\n", (int)ar.len, ar.s);
	if (fflush(stdout) == EOF)
		rc = EX_TEMPFAIL;
out:
	free(arbuf);
	free(hbuf);
	free(v);
	return rc;
}

/* mailauth check [-C dir] [-r authserv-id] [-t time] IP HELO SENDER
 * < message: SPF, DKIM, then DMARC; "RESULT DISPOSITION" on the first
 * line, the Authentication-Results field after it.  0 with a verdict,
 * 64 usage, 71 out of memory, 74 output, 75 the message unreadable,
 * 78 the configuration or the public suffix list. */
static int
cmd_check(int argc, char **argv)
{
	struct check_request req;
	struct verify *v = NULL;
	struct check *c = NULL;
	char *hbuf = NULL, *arbuf = NULL;
	char recv[DNS_NAME_MAX + 1];
	const char *dir = NULL, *ropt = NULL;
	struct str ar;
	int ch, rc = EX_TEMPFAIL;

	memset(&req, 0, sizeof(req));
	req.spf.time_limit = SPF_TIME_MIN;
	req.spf.now = (long long)time(NULL);
	req.sample = -1;
	optind = 1;
	while ((ch = getopt(argc, argv, "+C:r:t:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		case 'r':
			ropt = optarg;
			break;
		case 't':
			if (epoch(optarg, &req.spf.now) == -1)
				return EX_USAGE;
			break;
		default:
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		return EX_USAGE;
	if (envelope(argv[0], argv[1], argv[2], &req.spf) == -1)
		return EX_USAGE;
	if (receiver(ropt, dir, recv, sizeof(recv)) == -1)
		return EX_CONFIG;
	req.spf.receiver = recv;
	req.authserv = recv;
	log_init(PROG);
	if (sodium_init() < 0 || (v = malloc(sizeof(*v))) == NULL ||
	    (c = malloc(sizeof(*c))) == NULL ||
	    (hbuf = malloc(VERIFY_HEADER_MAX)) == NULL ||
	    (arbuf = malloc(CHECK_AR_MAX)) == NULL) {
		log_event("tempfail", "reason", "out of memory", (char *)NULL);
		rc = EX_OSERR;
		goto out;
	}
	if (verify_read(v, STDIN_FILENO, hbuf) == -1) {
		log_event("tempfail", "reason", errno == E2BIG ?
		    "header too large" : strerror(errno), (char *)NULL);
		goto out;
	}
	verify_finish(v, req.spf.now, dmarc_txt_dns, NULL);
	if (check_run(&req, v, c) == -1) {
		log_event("error", "reason", c->dmarc.why, (char *)NULL);
		rc = EX_CONFIG;
		goto out;
	}
	str_init(&ar, arbuf, CHECK_AR_MAX);
	if (check_ar(&req, v, c, &ar) == -1) {
		log_event("tempfail", "reason", "Authentication-Results too "
		    "long", (char *)NULL);
		goto out;
	}
	printf("%s %s\n%s\n", dmarc_result_name(c->dmarc.result),
	    dmarc_policy_name(c->dmarc.disposition), ar.s);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_event("tempfail", "reason", strerror(errno),
		    (char *)NULL);
		rc = EX_IOERR;
		goto out;
	}
	rc = 0;
out:
	free(arbuf);
	free(hbuf);
	free(c);
	free(v);
	return rc;
}

int
main(int argc, char **argv)
{
	/* One row a subcommand; mailauth(8) lists them. */
	static const struct command commands[] = {
		{ "spf", cmd_spf,
		    "spf [-H] [-C dir] [-r receiver] [-t seconds] "
		    "[-T seconds] ip helo [sender]" },
		{ "dkim", cmd_dkim, "dkim [-t time] < message" },
		{ "check", cmd_check, "check [-C dir] [-r authserv-id] "
		    "[-t time] ip helo sender < message" },
	};
	size_t i, n = sizeof(commands) / sizeof(commands[0]);
	int rc;

	for (i = 0; argc >= 2 && i < n; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if ((rc = commands[i].run(argc - 1, argv + 1)) == EX_USAGE)
			fprintf(stderr, "usage: " PROG " %s\n",
			    commands[i].usage);
		return rc;
	}
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s " PROG " %s\n", i == 0 ? "usage:" :
		    "      ", commands[i].usage);
	return EX_USAGE;
}
