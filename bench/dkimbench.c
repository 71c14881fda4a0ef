/* dkimbench.c — what dkimsign's signing costs without the cost of
 * starting a process: the keys of a domain are loaded once, then one
 * message held in memory is signed N times with each key in turn, and
 * the messages per second of each key are printed, one line per key:
 * "rsa-2048 1234".  The work per message is filter.c's without the I/O:
 * split the header, hash the body, hash the signed fields, make the
 * DKIM-Signature field.  bench/dkim.sh puts it beside python3-dkim
 * signing in one process.  Built by "make bench", never installed. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fileread.h"
#include "keys.h"
#include "sign.h"
#include "str.h"

enum {
	COUNT_DEFAULT = 1000,
	COUNT_MAX = 100000000,
	/* The message is held whole: a benchmark's, not a queue's. */
	MSG_MAX = 64 * 1024 * 1024
};

struct bench {
	char			*msg;
	size_t			 len;
	size_t			 hlen;	/* the header lines */
	size_t			 body;	/* where the body starts */
	struct hdr	*h;
	struct sign_hname	*hn;
	char			*sig;	/* room for one DKIM-Signature */
	size_t			 sigcap;
};

/* The header ends at the first empty line, as in filter.c; the empty
 * line is neither header nor body (RFC 6376 §3.4.3). */
static void
split(struct bench *b)
{
	size_t pos = 0;
	char *nl;

	while ((nl = memchr(b->msg + pos, '\n', b->len - pos)) != NULL) {
		size_t e = (size_t)(nl - b->msg);

		if (e == pos || (e == pos + 1 && b->msg[pos] == '\r')) {
			b->hlen = pos;
			b->body = e + 1;
			return;
		}
		pos = e + 1;
	}
	b->hlen = b->body = b->len;
}

/* One message, one key: everything filter_run does but read and write. */
static int
sign_once(struct bench *b, const struct keys_key *k, const char *domain)
{
	crypto_hash_sha256_state st;
	struct sign_body sb;
	struct sign_tags t;
	struct str out;
	char bh[SIGN_BH_LEN];
	size_t nh;

	split(b);
	if (hdr_parse(b->h, b->msg, b->hlen) == -1)
		return -1;
	sign_body_init(&sb);
	sign_body_update(&sb, b->msg + b->body, b->len - b->body);
	sign_body_final(&sb, bh);
	nh = sign_hlist(b->h, b->hn, SIGN_H_MAX);
	if (sign_header_hash(b->h, b->hn, nh, &st) == -1)
		return -1;
	memset(&t, 0, sizeof(t));
	t.domain = domain;
	t.t = (long long)time(NULL);
	t.bh = bh;
	t.h = b->hn;
	t.nh = nh;
	t.width = SIGN_WIDTH;
	t.eol = b->h->eol;
	str_init(&out, b->sig, b->sigcap);
	if (sign_prefix(&out, &t, k) == -1 ||
	    sign_finish(&out, 0, &st, k, SIGN_WIDTH, b->h->eol) == -1)
		return -1;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dkimbench [-C dir] [-d domain] [-n count] "
	    "message\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct keys_key keys[KEYS_MAX];
	struct conf conf;
	const char *confdir = NULL, *dom = NULL;
	char domain[256], dir[PATH_MAX], err[1024] = "";
	size_t nkeys = 0, i;
	long count = COUNT_DEFAULT, j;
	unsigned bits = 0;
	double t0, t1;
	char *end;
	int c, rc = 1;

	while ((c = getopt(argc, argv, "C:d:n:")) != -1) {
		switch (c) {
		case 'C':
			confdir = optarg;
			break;
		case 'd':
			dom = optarg;
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    count < 1 || count > COUNT_MAX)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();

	memset(&b, 0, sizeof(b));
	b.sigcap = 2048 + SIGN_H_MAX * (SIGN_NAME_MAX + 4);	/* filter.c */
	b.h = malloc(sizeof(*b.h));
	b.hn = malloc(SIGN_H_MAX * sizeof(*b.hn));
	b.sig = malloc(b.sigcap);
	if (b.h == NULL || b.hn == NULL || b.sig == NULL) {
		str_fmt_cut(err, sizeof(err), "out of memory");
		goto out;
	}
	if (keys_init() == -1) {
		str_fmt_cut(err, sizeof(err), "libsodium initialisation failed");
		goto out;
	}
	if (fileread_all(argv[optind], MSG_MAX, &b.msg, &b.len) == -1) {
		str_fmt_cut(err, sizeof(err), "%s: %s", argv[optind],
		    strerror(errno));
		goto out;
	}
	split(&b);
	if (hdr_parse(b.h, b.msg, b.hlen) == -1) {
		str_fmt_cut(err, sizeof(err), "too many header fields");
		goto out;
	}
	if (dom != NULL ? str_copy(domain, sizeof(domain), dom) :
	    sign_from_domain(b.h, domain, sizeof(domain)) == -1) {
		str_fmt_cut(err, sizeof(err), "no domain");
		goto out;
	}
	str_lower(domain);
	if (conf_load(&conf, conf_dir(confdir), err, sizeof(err)) == -1)
		goto out;
	if (conf_domain_path(&conf, domain, "dkim", dir, sizeof(dir)) == -1) {
		str_fmt_cut(err, sizeof(err), "%s: not a domain name", domain);
		goto out;
	}
	if (keys_load_dir(dir, keys, KEYS_MAX, &nkeys, err, sizeof(err))
	    == -1)
		goto out;
	if (nkeys == 0) {
		str_fmt_cut(err, sizeof(err), "no DKIM key in %s", dir);
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		t0 = now();
		for (j = 0; j < count; j++)
			if (sign_once(&b, &keys[i], domain) == -1) {
				str_fmt_cut(err, sizeof(err),
				    "%s: signing failed", keys[i].selector);
				goto out;
			}
		t1 = now();
		if (keys[i].type == KEYS_RSA) {
			gnutls_privkey_get_pk_algorithm(keys[i].rsa, &bits);
			printf("rsa-%u %.0f\n", bits, (double)count / (t1 - t0));
		} else
			printf("ed25519 %.0f\n", (double)count / (t1 - t0));
	}
	if (fflush(stdout) == EOF) {
		str_fmt_cut(err, sizeof(err), "stdout: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "dkimbench: %s\n", err);
	for (i = 0; i < nkeys; i++)
		keys_free(&keys[i]);
	free(b.msg);
	free(b.h);
	free(b.hn);
	free(b.sig);
	return rc;
}
