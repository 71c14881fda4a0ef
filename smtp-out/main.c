/* main.c — smtp-out(8): deliver a message from one sender to recipients
 * of one domain, and print one result line per recipient.  Arguments,
 * configuration and exit codes only; the loop over hosts is send.c, the
 * protocol client.c.  A person runs it by hand in a pipe, the message on
 * standard input; queue-run runs it with -J, feeding it jobs (sjob.h)
 * on standard input for as long as it has mail for the same next hop,
 * and it keeps its connection from one job to the next.  With -L it
 * speaks LMTP to a local domain's mail store instead (send.h). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#include "idna.h"
#include "idnlook.h"
#include "log.h"
#include "mailhdr.h"
#include "send.h"
#include "sjob.h"
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

/* What one run or one job says: the message and its envelope. */
struct opts {
	const char	*sender;	/* -f */
	const char	*hfile;		/* -H */
	const char	*authres;	/* -A: Authentication-Results' value */
	const char	*lmtp;		/* -L: the LMTP server, or NULL */
	const char	*mfile;		/* -m: NULL, standard input */
	off_t		 mstart;	/* -s: its first byte in mfile */
	int		 eightbit;	/* -8 */
	int		 utf8;		/* -U */
	enum dsn_ret	 ret;		/* -R: RFC 3461's RET */
	const char	*envid;		/* -V: its ENVID, decoded */
	/* -N and -O: the NOTIFY and ORCPT of each recipient, by place;
	 * maxk: one past the last place named. */
	unsigned	 notify[RCPTS_MAX];
	const char	*orcpt[RCPTS_MAX];
	size_t		 maxk;
	char		**rcpts;
	size_t		 n;
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
	fprintf(stderr, "usage: smtp-out [-C dir] [-8] [-U] [-A authres] [-H file] "
	    "[-L lmtp-server]\n"
	    "                [-m file [-s offset]] [-R full|hdrs] [-V envid]\n"
	    "                [-N n:notify]... [-O n:type;address]... "
	    "-f sender [--] recipient...\n"
	    "       smtp-out [-C dir] -J\n");
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

/* The options of the command line (job 0) or of a job (job 1, where -C
 * and -J have no place): 0, or -1.  copt and serve may be NULL for a
 * job. */
static int
parse(int argc, char **argv, int job, struct opts *o, const char **copt,
    int *serve)
{
	const char *val;
	char *end;
	long long v;
	size_t k;
	int c;

	memset(o, 0, sizeof(*o));
	o->ret = DSN_RET_NONE;
	optind = 0;		/* glibc: start afresh, for every job */
	while ((c = getopt(argc, argv, "+C:J8UA:H:L:f:m:s:R:V:N:O:")) != -1) {
		switch (c) {
		case 'C':
			if (job)
				return -1;
			*copt = optarg;
			break;
		case 'J':
			if (job)
				return -1;
			*serve = 1;
			break;
		case '8':
			o->eightbit = 1;
			break;
		case 'U':
			o->utf8 = 1;
			break;
		case 'f':
			o->sender = optarg;
			break;
		case 'A':
			o->authres = optarg;
			break;
		case 'H':
			o->hfile = optarg;
			break;
		case 'L':
			o->lmtp = optarg;
			break;
		case 'm':
			o->mfile = optarg;
			break;
		case 's':
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 0)
				return -1;
			o->mstart = (off_t)v;
			break;
		case 'R':
			if (dsn_ret_parse(optarg, strlen(optarg), &o->ret) ==
			    -1)
				return -1;
			break;
		case 'V':
			if (optarg[0] == '\0' ||
			    strlen(optarg) > DSN_ENVID_MAX)
				return -1;
			o->envid = optarg;
			break;
		case 'N':
			if (per_rcpt(optarg, &k, &val) == -1 ||
			    dsn_notify_parse(val, strlen(val), &o->notify[k]) ==
			    -1)
				return -1;
			o->maxk = k + 1 > o->maxk ? k + 1 : o->maxk;
			break;
		case 'O':
			/* "type;address", decoded: as the queue keeps it. */
			if (per_rcpt(optarg, &k, &val) == -1 ||
			    strchr(val, ';') == NULL || val[0] == ';')
				return -1;
			o->orcpt[k] = val;
			o->maxk = k + 1 > o->maxk ? k + 1 : o->maxk;
			break;
		default:
			return -1;
		}
	}
	o->rcpts = argv + optind;
	o->n = (size_t)(argc - optind);
	/* -N and -O name the places of recipients that are there. */
	return o->maxk > o->n ? -1 : 0;
}

/* 1 if the local part of a is UTF-8: only SMTPUTF8 carries it. */
static int
utf8_local(const struct addr *a)
{
	const char *p;

	for (p = a->local; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return 1;
	return 0;
}

/* The path at path (as formatted, size bytes) with its domain as
 * A-labels, for a message that does not need SMTPUTF8: an A-label names
 * the same domain as its U-label (RFC 5890 §2.3.2.1), so the address
 * does not change.  0, or -1 with why. */
static int
ascii_path(char *path, size_t size, char *why, size_t whysize)
{
	char d[ADDR_DOMAIN_MAX + 1];
	struct addr a;

	if (path[0] == '\0' || !idna_is_intl(path))
		return 0;
	if (addr_parse(path, strlen(path), ADDR_UTF8, &a) != ADDR_OK ||
	    a.literal || a.domain[0] == '\0')
		return 0;
	if (idnlook_to_ascii(a.domain, d, sizeof(d), why, whysize) == -1)
		return -1;
	memcpy(a.domain, d, sizeof(d));
	if (addr_format(&a, path, size) < 0) {
		str_fmt_cut(why, whysize, "%s: too long as A-labels", path);
		return -1;
	}
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

/* Said of every recipient of a job that cannot be tried at all, so that
 * queue-run still reads a line for each (and retries them). */
static int
refuse_job(const struct opts *o, const char *why)
{
	static struct client_rcpt r[RCPTS_MAX];
	size_t i, n = o->n < RCPTS_MAX ? o->n : RCPTS_MAX;

	log_event("error", "reason", why, (char *)NULL);
	memset(r, 0, n * sizeof(r[0]));
	for (i = 0; i < n; i++)
		r[i].addr = o->rcpts[i];
	(void)report_all(r, n, CLIENT_DEFERRED, "4.3.5", why);
	return SEND_EXIT_DEFERRED;
}

/* One delivery: the message to o's recipients, a result line each on
 * standard output; the exit status it stands for. */
static int
run(const struct conf *conf, const struct opts *o, int serving,
    struct send_conn *conn, const struct client_timeouts *to)
{
	static struct client_rcpt rcpts[RCPTS_MAX];
	static char paths[RCPTS_MAX][ADDR_TEXT_MAX];
	static char apaths[RCPTS_MAX][ADDR_TEXT_MAX];
	static char header[HEADER_MAX];
	struct client_msg msg;
	struct send_job job;
	struct addr a;
	const char *at;
	ssize_t hlen = 0, hl = 0;
	char err[ERR_MAX], domain[ADDR_DOMAIN_MAX + 1] = "";
	char adomain[ADDR_DOMAIN_MAX + 1], from[ADDR_TEXT_MAX],
	    afrom[ADDR_TEXT_MAX];
	size_t i, n = o->n;
	int utf8 = 0, rc, fd = STDIN_FILENO;

	if (o->sender == NULL || n < 1 || n > RCPTS_MAX ||
	    (serving && o->mfile == NULL)) {
		if (serving && n >= 1)
			return refuse_job(o, "a job without a sender or a "
			    "message file, or with too many recipients");
		return EXIT_USAGE;
	}
	from[0] = '\0';
	if (o->sender[0] != '\0') {
		if (addr_parse(o->sender, strlen(o->sender), ADDR_UTF8, &a) !=
		    ADDR_OK || addr_format(&a, from, sizeof(from)) < 0) {
			fprintf(stderr, "smtp-out: bad sender address: %s\n",
			    o->sender);
			return serving ? refuse_job(o, "bad sender address") :
			    EXIT_USAGE;
		}
		utf8 |= utf8_local(&a);
	}

	/* Every recipient of one domain; one that does not parse fails on
	 * its own line (it can never be delivered). */
	memset(rcpts, 0, n * sizeof(rcpts[0]));
	for (i = 0; i < n; i++) {
		const char *r = o->rcpts[i];

		rcpts[i].addr = r;
		rcpts[i].notify = o->notify[i];
		rcpts[i].orcpt = o->orcpt[i];
		if ((at = strrchr(r, '@')) == NULL || at[1] == '\0') {
			fprintf(stderr, "smtp-out: %s: no domain\n", r);
			return serving ? refuse_job(o, "a recipient without "
			    "a domain") : EXIT_USAGE;
		}
		if (domain[0] == '\0') {
			if (str_copy(domain, sizeof(domain), at + 1) == -1) {
				fprintf(stderr, "smtp-out: %s: domain too "
				    "long\n", r);
				return serving ? refuse_job(o, "domain too "
				    "long") : EXIT_USAGE;
			}
			str_lower(domain);
		} else if (str_casecmp(domain, at + 1) != 0) {
			fprintf(stderr, "smtp-out: recipients of more than "
			    "one domain: %s and %s\n", domain, at + 1);
			return serving ? refuse_job(o, "recipients of more "
			    "than one domain") : EXIT_USAGE;
		}
		if (addr_parse(r, strlen(r), ADDR_UTF8, &a) != ADDR_OK ||
		    addr_format(&a, paths[i], sizeof(paths[i])) < 0) {
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
		utf8 |= utf8_local(&a);
	}

	/* DNS, routes(5), TLSA and MTA-STS know the domain by its A-labels
	 * (RFC 5891 §5).  A message that needs SMTPUTF8 (see below) keeps
	 * its envelope as written, for a host that offers SMTPUTF8 (else
	 * 5.6.7, client.c); any other leaves with its domains as A-labels. */
	if (idnlook_to_ascii(domain, adomain, sizeof(adomain), err,
	    sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		return report_all(rcpts, n, CLIENT_FAILED, "5.1.2", err);
	}
	/* The envelope with its domains as A-labels, for when the message
	 * turns out not to need SMTPUTF8 (below); a domain that IDNA 2008
	 * refuses leaves it in UTF-8, which then needs SMTPUTF8. */
	memcpy(afrom, from, sizeof(afrom));
	if (ascii_path(afrom, sizeof(afrom), err, sizeof(err)) == -1) {
		log_event("warning", "reason", err, (char *)NULL);
		utf8 = 1;
	}
	for (i = 0; i < n; i++) {
		if (rcpts[i].path == NULL)
			continue;
		memcpy(apaths[i], paths[i], sizeof(apaths[i]));
		if (ascii_path(apaths[i], sizeof(apaths[i]), err,
		    sizeof(err)) == -1) {
			log_event("warning", "reason", err, (char *)NULL);
			utf8 = 1;
		}
	}

	/* Never send the message without the fields it was given: a
	 * missing file defers it. */
	hlen = 0;
	if (o->authres != NULL && o->authres[0] != '\0') {
		struct str ar;

		/* The field goes first, above the DKIM-Signature fields of
		 * -H (RFC 8601 §5: added at the top).  One that cannot be
		 * folded is left out: a report, not the message. */
		str_init(&ar, header, sizeof(header));
		if (mailhdr_fold(&ar, "Authentication-Results",
		    o->authres) == 0 && str_appendc(&ar, '\n') == 0)
			hlen = (ssize_t)ar.len;
	}
	if (o->hfile != NULL && (hl = read_header(o->hfile, header + hlen,
	    sizeof(header) - (size_t)hlen, err, sizeof(err))) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		return report_all(rcpts, n, CLIENT_DEFERRED, "4.3.0", err);
	}
	if (o->hfile != NULL)
		hlen += hl;
	if (o->mfile != NULL) {
		if ((fd = open(o->mfile, O_RDONLY | O_CLOEXEC)) == -1 ||
		    lseek(fd, o->mstart, SEEK_SET) == -1) {
			str_fmt_cut(err, sizeof(err), "%s: %s", o->mfile,
			    strerror(errno));
			if (fd != -1)
				fd_close(&fd);
			log_event("error", "reason", err, (char *)NULL);
			return report_all(rcpts, n, CLIENT_DEFERRED, "4.3.0",
			    err);
		}
	}
	if (client_msg_open_prefixed(fd, header, (size_t)hlen, &msg,
	    err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		if (fd != STDIN_FILENO)
			fd_close(&fd);
		return report_all(rcpts, n, CLIENT_DEFERRED, "4.3.0", err);
	}

	/* SMTPUTF8 is needed for a local part in UTF-8, or for a header in
	 * UTF-8 (RFC 6532) when the message came with SMTPUTF8 (-U): else
	 * nothing in it needs SMTPUTF8 once its envelope domains are
	 * A-labels, the same domains (RFC 5890 §2.3.2.1), and it goes as
	 * such to any host rather than bounce 5.6.7. */
	if (o->utf8 && msg.hdr8)
		utf8 = 1;
	if (!utf8) {
		(void)memcpy(from, afrom, sizeof(from));
		for (i = 0; i < n; i++)
			if (rcpts[i].path != NULL)
				rcpts[i].path = apaths[i];
	}

	memset(&job, 0, sizeof(job));
	job.conf = conf;
	job.domain = adomain;
	job.sender = from;
	job.eightbit = o->eightbit;
	job.smtputf8 = utf8;
	job.ret = o->ret;
	job.envid = o->envid;
	job.msg = &msg;
	job.lmtp = o->lmtp;
	job.rcpts = rcpts;
	job.n = n;
	job.timeouts = to;
	job.conn = conn;
	job.keep = serving && conf->smtp_reuse_limit > 1;
	job.reuse_max = conf->smtp_reuse_limit;
	job.reuse_idle_ms = conf->smtp_reuse_idle * 1000LL;
	if (send_run(&job, err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		(void)report_all(rcpts, n, CLIENT_DEFERRED, "4.3.5", err);
		rc = serving ? SEND_EXIT_DEFERRED : EXIT_CONFIG;
	} else
		rc = send_report(stdout, rcpts, n);
	client_msg_close(&msg);
	if (fd != STDIN_FILENO)
		fd_close(&fd);
	return rc;
}

/* smtp-out -J: jobs from standard input until its end, each job's lines
 * flushed before the next is read; the connection closed at its idle
 * limit while no job comes.  0 at the end of the jobs, EXIT_USAGE for a
 * stream out of step (queue-run then has no lines for that job and
 * retries its recipients). */
static int
serve(const struct conf *conf, const struct client_timeouts *to)
{
	static char buf[SJOB_MAX];
	static char *argv[SJOB_ARGS_MAX + 1];
	struct send_conn conn;
	struct pollfd pfd;
	struct opts o;
	int64_t due, now;
	size_t len = 0, argc, used;
	ssize_t r;
	int rc = 0, p, wait;

	send_conn_init(&conn);
	argv[0] = (char *)"smtp-out";
	for (;;) {
		p = sjob_parse(buf, len, argv + 1, SJOB_ARGS_MAX, &argc,
		    &used);
		if (p == -1 || (p == 0 && len == sizeof(buf))) {
			log_event("error", "reason", p == 0 || errno == E2BIG ?
			    "a job too large" : "a job without its count",
			    (char *)NULL);
			rc = EXIT_USAGE;
			break;
		}
		if (p == 1) {
			if (parse((int)argc + 1, argv, 1, &o, NULL, NULL) ==
			    -1) {
				log_event("error", "reason", "bad option in "
				    "a job", (char *)NULL);
				rc = EXIT_USAGE;
				break;
			}
			if (run(conf, &o, 1, &conn, to) == EXIT_USAGE) {
				rc = EXIT_USAGE;
				break;
			}
			/* queue-run gone: nobody to report to. */
			if (fflush(stdout) == EOF)
				break;
			memmove(buf, buf + used, len - used);
			len -= used;
			continue;
		}
		due = send_conn_due(&conn, conf->smtp_reuse_idle * 1000LL);
		now = clock_ms();
		wait = due == INT64_MAX ? -1 : due <= now ? 0 :
		    due - now > INT_MAX ? INT_MAX : (int)(due - now);
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if ((p = poll(&pfd, 1, wait)) == -1) {
			if (errno == EINTR)
				continue;
			rc = SEND_EXIT_DEFERRED;
			break;
		}
		if (p == 0) {
			send_conn_close(&conn, "idle limit");
			continue;
		}
		r = read(STDIN_FILENO, buf + len, sizeof(buf) - len);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			if (r == -1 || len > 0)
				log_event("error", "reason", r == -1 ?
				    strerror(errno) : "a job cut short",
				    (char *)NULL);
			break;
		}
		len += (size_t)r;
	}
	send_conn_close(&conn, "end of jobs");
	return rc;
}

/* RFC 5321 §4.5.3.2's timeouts, none longer than smtp_reply_timeout
 * when it is set. */
static void
timeouts(const struct conf *conf, struct client_timeouts *t)
{
	int64_t cap = conf->smtp_reply_timeout * 1000LL;
	int64_t *f[] = { &t->greeting, &t->cmd, &t->mail, &t->rcpt,
	    &t->data, &t->block, &t->dot, &t->quit };
	size_t i;

	client_timeouts_default(t);
	for (i = 0; cap > 0 && i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] > cap)
			*f[i] = cap;
}

int
main(int argc, char *argv[])
{
	static struct conf conf;
	struct client_timeouts to;
	struct opts o;
	const char *copt = NULL;
	char err[ERR_MAX];
	int serving = 0, rc;

	log_init("smtp-out");
	/* A peer that closes on us is an error from send(2), not a kill. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return SEND_EXIT_DEFERRED;
	if (parse(argc, argv, 0, &o, &copt, &serving) == -1)
		usage();
	if (serving ? o.n != 0 || o.sender != NULL : o.sender == NULL ||
	    o.n < 1 || o.n > RCPTS_MAX)
		usage();

	if (conf_load(&conf, conf_dir(copt), err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		if (!serving) {
			struct client_rcpt r[RCPTS_MAX];
			size_t i;

			memset(r, 0, o.n * sizeof(r[0]));
			for (i = 0; i < o.n; i++)
				r[i].addr = o.rcpts[i];
			(void)report_all(r, o.n, CLIENT_DEFERRED, "4.3.5",
			    err);
		}
		return EXIT_CONFIG;
	}
	timeouts(&conf, &to);
	if (serving)
		rc = serve(&conf, &to);
	else
		rc = run(&conf, &o, 0, NULL, &to);
	if (fflush(stdout) == EOF || ferror(stdout))
		return SEND_EXIT_DEFERRED;
	return rc;
}
