/* tlsrpt_main.c — tlsrpt(8): once a day, the SMTP TLS reports (RFC 8460)
 * of the days that are over.  For every counts file of SPOOL/state/tlsrpt
 * older than today (UTC), each policy domain in it whose _smtp._tls
 * record names rua=mailto: addresses gets its report, queued like any
 * other mail (queue-inject's module), so that queue-run signs it with
 * our DKIM key and delivers it.  The file goes when every domain of it
 * is done; a temporary failure keeps it for the next run.  A systemd
 * timer or a cron line starts it (tlsrpt(8)); nothing of it is on the
 * path of a message. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dns.h"
#include "fileread.h"
#include "inject.h"
#include "io.h"
#include "log.h"
#include "report.h"
#include "str.h"
#include "sts.h"
#include "tlsrpt.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 64,
	EXIT_TEMPFAIL = 75,
	EXIT_CONFIG = 78,
	ERR_MAX = 512,
	/* Day files handled in one run: a machine that was off for a
	 * while catches up, at most a year. */
	DAYS_MAX = 366
};

struct run {
	const struct conf	*conf;
	struct report_meta	 meta;
	char			 from[REPORT_ADDR_MAX];
	char			 org[DNS_NAME_MAX + 1];
	int			 dry;		/* -n: JSON to stdout */
};

static void
usage(void)
{
	fprintf(stderr, "usage: tlsrpt [-C dir] [-n] [-f from] [-d "
	    "YYYY-MM-DD]\n");
	exit(EXIT_USAGE);
}

/* Our domain: the host name less its first label, when that leaves a
 * name of two labels or more ("mx.example.org" -> "example.org"). */
static void
our_domain(const char *hostname, char *buf, size_t size)
{
	const char *dot = strchr(hostname, '.');

	if (dot != NULL && strchr(dot + 1, '.') != NULL)
		(void)str_copy(buf, size, dot + 1);
	else
		(void)str_copy(buf, size, hostname);
}

/* The rua=mailto: addresses of domain: their number, 0 for none, -1
 * for a temporary DNS failure. */
static int
ruas(const char *domain, char addrs[][REPORT_ADDR_MAX])
{
	struct dns_text *txt;
	char name[DNS_NAME_MAX + 16], why[256];
	size_t i, n = 0, found = 0;
	enum dns_result dr;
	int https = 0, k = 0, r;

	if (str_fmt(name, sizeof(name), "_smtp._tls.%s", domain) == -1)
		return 0;
	if ((txt = calloc(DNS_TXTS_MAX, sizeof(*txt))) == NULL)
		return -1;
	dr = dns_txt(name, txt, DNS_TXTS_MAX, &n, why, sizeof(why));
	if (dr == DNS_TEMP) {
		log_event("dns", "domain", domain, "name", name, "reason", why,
		    (char *)NULL);
		free(txt);
		return -1;
	}
	for (i = 0; dr == DNS_OK && i < n; i++) {
		if (!dns_txt_tagged(txt[i].text, "v=TLSRPTv1"))
			continue;
		/* §3: more than one record is as good as none. */
		if (found++ > 0) {
			k = 0;
			break;
		}
		if ((r = report_rua(txt[i].text, addrs, REPORT_RUAS_MAX,
		    &https)) > 0)
			k = r;
	}
	if (https)
		log_event("tlsrpt", "domain", domain, "rua", "https",
		    "reason", "https reports are not sent, only mailto",
		    (char *)NULL);
	free(txt);
	return k;
}

/* The cached MTA-STS policy text of domain, for policy-string. */
static char *
policy_text(const struct conf *conf, const char *domain, const char **body,
    size_t *bodylen)
{
	struct sts_policy pol;
	char path[PATH_MAX], why[128], *text = NULL;
	size_t len;

	if (sts_cache_path(conf, domain, path, sizeof(path)) == -1 ||
	    fileread_all(path, STS_POLICY_MAX + 256, &text, &len) == -1)
		return NULL;
	if (sts_cache_parse(text, len, &pol, body, bodylen, why,
	    sizeof(why)) == -1) {
		free(text);
		return NULL;
	}
	return text;
}

/* Queue the mail text for addrs: 0, or -1 (temporary). */
static int
queue(const struct run *run, const char *domain,
    char addrs[][REPORT_ADDR_MAX], size_t n, const char *mail, size_t len)
{
	const char *rcpts[REPORT_RUAS_MAX];
	struct inject in;
	int fd, rc;
	size_t i;

	if ((fd = memfd_create("tlsrpt", MFD_CLOEXEC)) == -1)
		return -1;
	if (fd_write_all(fd, mail, len) == -1 || lseek(fd, 0, SEEK_SET) ==
	    -1) {
		fd_close(&fd);
		return -1;
	}
	for (i = 0; i < n; i++)
		rcpts[i] = addrs[i];
	memset(&in, 0, sizeof(in));
	in.spool = run->conf->spool;
	in.max_size = run->conf->max_message_size;
	in.minfree = run->conf->queue_minfree;
	in.authserv = run->conf->hostname;
	in.sender = run->from;
	in.rcpts = rcpts;
	in.nrcpts = n;
	in.uid = (long)getuid();
	rc = inject_run(&in, fd);
	fd_close(&fd);
	if (rc != INJECT_OK) {
		log_event("failed", "domain", domain, "reason", in.reason,
		    (char *)NULL);
		/* A bad rua address is the domain's problem: not ours to
		 * retry for ever. */
		return rc == INJECT_DATAERR ? 0 : -1;
	}
	log_event("queued", "id", in.id, "domain", domain, "rua", addrs[0],
	    "rcpts", n > 1 ? "several" : "1", (char *)NULL);
	return 0;
}

/* One domain of a day: 0, or -1 to keep the day for another run. */
static int
one_domain(const struct run *run, const struct report_day *d, size_t first,
    size_t count)
{
	static char addrs[REPORT_RUAS_MAX][REPORT_ADDR_MAX];
	const char *domain = d->ev[first].policy_domain, *body = NULL;
	char *json = NULL, *mail = NULL, *ptext;
	unsigned char *gz = NULL;
	size_t jlen, gzlen, mlen, bodylen = 0;
	int n = 0, rc = -1;

	if (!run->dry && (n = ruas(domain, addrs)) <= 0) {
		if (n == 0)
			log_event("tlsrpt", "day", d->name, "domain", domain,
			    "sent", "no", "reason", "no rua=mailto: in "
			    "_smtp._tls", (char *)NULL);
		return n;
	}
	ptext = policy_text(run->conf, domain, &body, &bodylen);
	if (report_json(d, first, count, &run->meta, body, bodylen, &json,
	    &jlen) == -1)
		goto out;
	if (run->dry) {
		if (fwrite(json, 1, jlen, stdout) != jlen ||
		    putchar('\n') == EOF)
			goto out;
		rc = 0;
		goto out;
	}
	if (report_gzip(json, jlen, &gz, &gzlen) == -1 ||
	    report_mail(d, domain, &run->meta, addrs, (size_t)n, gz, gzlen,
	    time(NULL), &mail, &mlen) == -1)
		goto out;
	rc = queue(run, domain, addrs, (size_t)n, mail, mlen);
out:
	if (rc == -1 && errno != 0)
		log_event("error", "day", d->name, "domain", domain, "reason",
		    strerror(errno), (char *)NULL);
	free(ptext);
	free(json);
	free(gz);
	free(mail);
	return rc;
}

/* One day file: 0 when it is done with (and removed, unless -n). */
static int
one_day(const struct run *run, const char *path)
{
	struct report_day d;
	size_t k, first, count;
	int rc = 0;

	if (report_load(path, &d) == -1) {
		log_event("error", "file", path, "reason", strerror(errno),
		    (char *)NULL);
		return -1;
	}
	for (k = 0; report_domain(&d, k, &first, &count) == 0; k++)
		if (one_domain(run, &d, first, count) == -1)
			rc = -1;
	report_free(&d);
	if (rc == 0 && !run->dry && unlink(path) == -1) {
		log_event("error", "file", path, "reason", strerror(errno),
		    (char *)NULL);
		rc = -1;
	}
	return rc;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char *argv[])
{
	static struct conf conf;
	struct run run;
	const char *copt = NULL, *day = NULL, *from = NULL;
	char err[ERR_MAX], dir[PATH_MAX], path[PATH_MAX + 16],
	    today[PATH_MAX];
	char *names[DAYS_MAX];
	struct dirent *de;
	size_t n = 0, i;
	DIR *dp;
	int c, rc = EXIT_OK;

	log_init("tlsrpt");
	memset(&run, 0, sizeof(run));
	while ((c = getopt(argc, argv, "C:nd:f:")) != -1) {
		switch (c) {
		case 'C':
			copt = optarg;
			break;
		case 'n':
			run.dry = 1;
			break;
		case 'd':
			day = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf_load(&conf, conf_dir(copt), err, sizeof(err)) == -1) {
		log_event("error", "reason", err, (char *)NULL);
		return EXIT_CONFIG;
	}
	run.conf = &conf;
	our_domain(conf.hostname, run.org, sizeof(run.org));
	if (from != NULL)
		(void)str_copy(run.from, sizeof(run.from), from);
	else
		str_fmt_cut(run.from, sizeof(run.from),
		    "tlsrpt-noreply@%s", run.org);
	run.meta.org = run.org;
	run.meta.contact = run.from;
	run.meta.hostname = conf.hostname;

	if (str_fmt(dir, sizeof(dir), "%s/" TLSRPT_DIR, conf.spool) == -1)
		return EXIT_CONFIG;
	if (day != NULL) {
		if (strlen(day) != 10 || strchr(day, '/') != NULL)
			usage();
		(void)snprintf(path, sizeof(path), "%s/%s", dir, day);
		return one_day(&run, path) == 0 ? EXIT_OK : EXIT_TEMPFAIL;
	}
	/* Every day before today (UTC): today's file is still growing. */
	if (tlsrpt_day_path(conf.spool, time(NULL), today, sizeof(today)) ==
	    -1)
		return EXIT_CONFIG;
	if ((dp = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return EXIT_OK;	/* nothing counted yet */
		log_event("error", "dir", dir, "reason", strerror(errno),
		    (char *)NULL);
		return EXIT_TEMPFAIL;
	}
	while ((de = readdir(dp)) != NULL && n < DAYS_MAX) {
		if (strlen(de->d_name) != 10 || de->d_name[4] != '-' ||
		    strcmp(de->d_name, strrchr(today, '/') + 1) >= 0)
			continue;
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(dp);
	qsort(names, n, sizeof(names[0]), cmp_name);
	for (i = 0; i < n; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (one_day(&run, path) == -1)
			rc = EXIT_TEMPFAIL;
		free(names[i]);
	}
	if (fflush(stdout) == EOF)
		rc = EXIT_TEMPFAIL;
	return rc;
}
