/* filter.c — the filter of DESIGN.md's contract: a message on one
 * descriptor, the same message with DKIM-Signature fields in front on
 * another.
 *
 * The signature goes before the message but depends on all of its body,
 * so the body is read twice: the first pass hashes it, the second copies
 * it out.  When the input is a regular file (a queue file) the second
 * pass reads it again; otherwise the first pass also writes it to an
 * unlinked temporary file.  Either way memory holds the header block
 * (at most FILTER_HEADER_MAX) and one buffer, whatever the body's size.
 *
 * The message goes out byte for byte as it came in: CRLF or LF, with or
 * without a final line end.  Only the added fields are ours, written
 * with the line end of the message's first line.  The signatures are of
 * the CRLF form, which is what the message is on the wire.
 *
 * With -h (fields_only) only the fields go out: queue-run keeps them
 * beside a queued message and puts them in front of each copy it
 * delivers, so the body needs one pass and no temporary file. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "filter.h"
#include "idnlook.h"
#include "io.h"
#include "keys.h"
#include "sign.h"
#include "str.h"

struct run {
	const struct filter_opts *o;
	int		 in, out, tmp;
	int		 seekable;
	off_t		 start;		/* where the message begins in in */
	char		*hbuf;		/* header, separator, body's start */
	size_t		 n;		/* bytes in hbuf */
	size_t		 hlen;		/* the header lines */
	size_t		 body;		/* where the body starts in hbuf */
	struct hdr *h;
	struct sign_hname *hn;
	size_t		 nh;
	unsigned char	*io;
	const struct keys_key *keys;	/* own, or the caller's */
	size_t		 nkeys;
	struct keys_key	 own[KEYS_MAX];	/* loaded by filter_run */
	size_t		 nown;
	char		*err;
	size_t		 errlen;
};

static void
seterr(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
seterr(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vfmt_cut(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

static ssize_t
read_some(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r == -1 && errno == EINTR);
	return r;
}

static int
open_tmp(struct run *r)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		/* A file system without O_TMPFILE: name it, then unlink. */
		if (str_fmt(path, sizeof(path), "%s/dkimsign.XXXXXX", dir)
		    == -1) {
			seterr(r, "%s: name too long", dir);
			return -1;
		}
		if ((fd = mkostemp(path, O_CLOEXEC)) != -1 &&
		    unlink(path) == -1) {
			close(fd);
			fd = -1;
		}
	}
	if (fd == -1) {
		seterr(r, "temporary file in %s: %s", dir, strerror(errno));
		return -1;
	}
	r->tmp = fd;
	return 0;
}

/* First pass: hash the body; keep it if in cannot be read again. */
static int
hash_body(struct run *r, char bh[SIGN_BH_LEN])
{
	struct sign_body b;
	ssize_t got;

	sign_body_init(&b);
	sign_body_update(&b, r->hbuf + r->body, r->n - r->body);
	for (;;) {
		got = read_some(r->in, r->io, FILTER_IO);
		if (got == -1) {
			seterr(r, "read: %s", strerror(errno));
			return -1;
		}
		if (got == 0)
			break;
		sign_body_update(&b, r->io, (size_t)got);
		if (r->tmp != -1 && fd_write_all(r->tmp, r->io, (size_t)got)
		    == -1) {
			seterr(r, "temporary file: %s", strerror(errno));
			return -1;
		}
	}
	sign_body_final(&b, bh);
	return 0;
}

/* Second pass: the rest of the body after what hbuf holds. */
static int
copy_body(struct run *r)
{
	int fd = r->tmp != -1 ? r->tmp : r->in;
	off_t off = r->tmp != -1 ? 0 : r->start + (off_t)r->n;
	ssize_t got;

	if (lseek(fd, off, SEEK_SET) == -1) {
		seterr(r, "seek: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		got = read_some(fd, r->io, FILTER_IO);
		if (got == -1) {
			seterr(r, "read: %s", strerror(errno));
			return -1;
		}
		if (got == 0)
			return 0;
		if (fd_write_all(r->out, r->io, (size_t)got) == -1) {
			seterr(r, "write: %s", strerror(errno));
			return -1;
		}
	}
}

/* The domain to sign as: -d's, else the From: domain; lowercased. */
static int
pick_domain(struct run *r, char *domain, size_t cap)
{
	if (r->o->domain != NULL) {
		if (str_copy(domain, cap, r->o->domain) == -1) {
			seterr(r, "domain too long");
			return -1;
		}
		str_lower(domain);
	} else if (sign_from_domain(r->h, domain, cap) == -1) {
		seterr(r, errno == ENOENT ? "no From: address" :
		    "no domain in the From: address");
		return -1;
	}
	return 0;
}

static int
find_keys(struct run *r, const char *domain)
{
	struct conf conf;
	char dir[PATH_MAX], cerr[512];

	if (conf_load(&conf, conf_dir(r->o->confdir), cerr, sizeof(cerr))
	    == -1) {
		seterr(r, "%s", cerr);
		return -1;
	}
	if (conf_domain_path(&conf, domain, "dkim", dir, sizeof(dir)) ==
	    -1) {
		seterr(r, "%s: not a domain name", domain);
		return -1;
	}
	if (keys_load_dir(dir, r->own, KEYS_MAX, &r->nown, r->err,
	    r->errlen) == -1)
		return -1;
	r->keys = r->own;
	r->nkeys = r->nown;
	if (r->nkeys == 0) {
		seterr(r, "no DKIM key for %s in %s", domain, dir);
		return -1;
	}
	return 0;
}

/* The fields, one per key, appended to dst; or, dst NULL, written to
 * r->out. */
static int
sign_all(struct run *r, const char *domain, const char *bh, struct str *dst)
{
	crypto_hash_sha256_state st;
	struct sign_tags t;
	struct str own, *sigs = dst;
	char *mem = NULL, adom[CONF_HOSTNAME_MAX + 1], why[IDNLOOK_WHY_MAX];
	size_t cap, i;
	int rc = -1;

	r->nh = sign_hlist(r->h, r->hn, SIGN_H_MAX);
	if (sign_header_hash(r->h, r->hn, r->nh, &st) == -1) {
		seterr(r, "out of memory");
		return -1;
	}
	if (sigs == NULL) {
		/* Fixed tags and b= in 2 KB; then each name of h= with
		 * ':' and perhaps a fold. */
		cap = r->nkeys * (2048 + r->nh * (SIGN_NAME_MAX + 4));
		if ((mem = malloc(cap)) == NULL) {
			seterr(r, "out of memory");
			goto out;
		}
		str_init(&own, mem, cap);
		sigs = &own;
	}
	/* d= in A-labels (RFC 8616 §4): what the verifier's DNS query and
	 * an ASCII verifier both know. */
	if (idnlook_to_ascii(domain, adom, sizeof(adom), why,
	    sizeof(why)) == -1) {
		seterr(r, "%s", why);
		goto out;
	}
	memset(&t, 0, sizeof(t));
	t.domain = adom;
	t.t = r->o->t >= 0 ? r->o->t : (long long)time(NULL);
	t.bh = bh;
	t.h = r->hn;
	t.nh = r->nh;
	t.width = SIGN_WIDTH;
	t.eol = r->h->eol;
	for (i = 0; i < r->nkeys; i++) {
		size_t start = sigs->len;

		if (sign_prefix(sigs, &t, &r->keys[i]) == -1 ||
		    sign_finish(sigs, start, &st, &r->keys[i], SIGN_WIDTH,
		    r->h->eol) == -1) {
			seterr(r, "%s: signing failed", r->keys[i].selector);
			goto out;
		}
	}
	if (dst == NULL && fd_write_all(r->out, sigs->s, sigs->len) == -1) {
		seterr(r, "write: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(&st, sizeof(st));
	free(mem);
	return rc;
}

/* What both ways in share: the buffers, where in starts, the header
 * read and split. */
static int
setup(struct run *r, const struct filter_opts *o, int in, char *err,
    size_t errlen)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->in = in;
	r->out = -1;
	r->tmp = -1;
	r->err = err;
	r->errlen = errlen;
	if (keys_init() == -1) {
		seterr(r, "libsodium initialisation failed");
		return -1;
	}
	r->hbuf = malloc(FILTER_HEADER_MAX);
	r->h = malloc(sizeof(*r->h));
	r->hn = malloc(SIGN_H_MAX * sizeof(*r->hn));
	r->io = malloc(FILTER_IO);
	if (r->hbuf == NULL || r->h == NULL || r->hn == NULL ||
	    r->io == NULL) {
		seterr(r, "out of memory");
		return -1;
	}
	r->start = lseek(in, 0, SEEK_CUR);
	r->seekable = r->start != -1 && fstat(in, &st) == 0 &&
	    S_ISREG(st.st_mode);
	if (hdr_read(in, r->hbuf, FILTER_HEADER_MAX, &r->n, &r->hlen,
	    &r->body) == -1) {
		if (errno == E2BIG)
			seterr(r, "header larger than %d bytes",
			    FILTER_HEADER_MAX);
		else
			seterr(r, "read: %s", strerror(errno));
		return -1;
	}
	if (hdr_parse(r->h, r->hbuf, r->hlen) == -1) {
		seterr(r, "more than %d header fields", HDR_FIELDS_MAX);
		return -1;
	}
	return 0;
}

static void
teardown(struct run *r)
{
	size_t i;

	for (i = 0; i < r->nown; i++)
		keys_free(&r->own[i]);
	fd_close(&r->tmp);
	free(r->hbuf);
	free(r->h);
	free(r->hn);
	free(r->io);
}

int
filter_fields(int in, const char *domain, const struct keys_key *keys,
    size_t nkeys, long long t, struct str *out, char *err, size_t errlen)
{
	struct filter_opts o = { NULL, domain, t, 1 };
	struct run r;
	char dom[256], bh[SIGN_BH_LEN];
	int rc = -1;

	if (setup(&r, &o, in, err, errlen) == -1 ||
	    pick_domain(&r, dom, sizeof(dom)) == -1)
		goto out;
	if (nkeys == 0) {
		seterr(&r, "no DKIM key for %s", dom);
		goto out;
	}
	r.keys = keys;
	r.nkeys = nkeys;
	if (hash_body(&r, bh) == -1 || sign_all(&r, dom, bh, out) == -1)
		goto out;
	rc = 0;
out:
	teardown(&r);
	return rc;
}

int
filter_run(const struct filter_opts *o, int in, int out, char *err,
    size_t errlen)
{
	struct run r;
	char domain[256], bh[SIGN_BH_LEN];
	int rc = -1;

	if (setup(&r, o, in, err, errlen) == -1)
		goto out;
	r.out = out;
	if (pick_domain(&r, domain, sizeof(domain)) == -1 ||
	    find_keys(&r, domain) == -1)
		goto out;
	if (!r.seekable && !o->fields_only && open_tmp(&r) == -1)
		goto out;
	if (hash_body(&r, bh) == -1 || sign_all(&r, domain, bh, NULL) == -1)
		goto out;
	if (o->fields_only) {
		rc = 0;
		goto out;
	}
	if (fd_write_all(out, r.hbuf, r.n) == -1) {
		seterr(&r, "write: %s", strerror(errno));
		goto out;
	}
	if (copy_body(&r) == -1)
		goto out;
	rc = 0;
out:
	teardown(&r);
	return rc;
}
