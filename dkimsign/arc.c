/* arc.c — the ARC chain of a message checked as its next sealer needs,
 * and the next ARC set made (RFC 8617 §5.1, §5.2; arc.h).
 *
 * Validation is what decides cv=: the structure of every set, the cv=
 * each seal states, the newest ARC-Message-Signature (body and header,
 * as a DKIM signature), and every ARC-Seal over the sets up to its own.
 * Older AMSes are not checked: RFC 8617 §5.2 asks only for the newest,
 * since a forwarder that changed the message breaks every AMS before
 * its own, and its seal vouches for what it saw.
 *
 * A chain that fails is not sealed again (§5.1.2 lets a sealer add a
 * set with cv=fail; nothing after it can pass, so it only adds bytes);
 * a key that cannot be fetched for now is not a failure either, and
 * gives no set this time rather than a false cv=fail for good. */

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc.h"
#include "canon.h"
#include "hdr.h"
#include "io.h"
#include "sign.h"
#include "str.h"
#include "verify.h"

#define AAR_NAME	"ARC-Authentication-Results"
#define AMS_NAME	"ARC-Message-Signature"
#define SEAL_NAME	"ARC-Seal"

static const char *const cv_names[] = {
	[ARC_CV_NONE] = "none",
	[ARC_CV_PASS] = "pass",
	[ARC_CV_FAIL] = "fail",
	[ARC_CV_TEMP] = "temperror"
};

const char *
arc_cv_name(enum arc_cv cv)
{
	return cv_names[cv];
}

static void
fail(struct arc *a, enum arc_cv cv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct arc *a, enum arc_cv cv, const char *fmt, ...)
{
	va_list ap;

	a->cv = cv;
	va_start(ap, fmt);
	str_vfmt_cut(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

static int
is_cfws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The i= of an ARC-Authentication-Results field: "i=N;" first in its
 * value (RFC 8617 §4.1.1).  N, or 0 when it is not there. */
static unsigned
aar_instance(const char *f, size_t len)
{
	const char *p = memchr(f, ':', len), *end = f + len;
	unsigned long v = 0;
	size_t digits = 0;

	if (p == NULL)
		return 0;
	for (p++; p < end && is_cfws((unsigned char)*p); p++)
		;
	if (p == end || (*p != 'i' && *p != 'I'))
		return 0;
	for (p++; p < end && is_cfws((unsigned char)*p); p++)
		;
	if (p == end || *p++ != '=')
		return 0;
	for (; p < end && is_cfws((unsigned char)*p); p++)
		;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
		v = v * 10 + (unsigned long)(*p - '0');
	for (; p < end && is_cfws((unsigned char)*p); p++)
		;
	if (digits == 0 || p == end || *p != ';' || v > ARC_SETS_MAX)
		return 0;
	return (unsigned)v;
}

/* The i= of an AMS or a seal, from its tag-list; 0 when there is no
 * good one. */
static unsigned
sig_instance(const char *f, size_t len)
{
	struct verify_tag t[VERIFY_TAGS_MAX];
	const char *p = memchr(f, ':', len);
	unsigned long v = 0;
	size_t n, i, k;

	if (p == NULL || verify_tags(p + 1, len - (size_t)(p + 1 - f), t,
	    VERIFY_TAGS_MAX, &n) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (t[i].nlen != 1 || t[i].name[0] != 'i')
			continue;
		if (t[i].vlen == 0 || t[i].vlen > 2)
			return 0;
		for (k = 0; k < t[i].vlen; k++) {
			if (t[i].val[k] < '0' || t[i].val[k] > '9')
				return 0;
			v = v * 10 + (unsigned long)(t[i].val[k] - '0');
		}
		return v <= ARC_SETS_MAX ? (unsigned)v : 0;
	}
	return 0;
}

static void
theirs_sink(void *arg, const void *p, size_t n)
{
	struct arc *a = arg;
	unsigned long long room;

	/* l= (which a forwarder should not use, but may): the bytes past
	 * it are counted, not hashed. */
	room = a->ams.l > a->theirs_len ? a->ams.l - a->theirs_len : 0;
	a->theirs_len += n;
	if ((unsigned long long)n > room)
		n = (size_t)room;
	if (n > 0)
		crypto_hash_sha256_update(&a->theirs_h, p, n);
}

int
arc_header(struct arc *a, const char *buf, size_t len)
{
	const struct hdr_field *f;
	unsigned inst, k;
	long *slot;
	size_t i;

	a->n = 0;
	a->broken = 0;
	a->cv = ARC_CV_NONE;
	a->why[0] = '\0';
	memset(&a->ams, 0, sizeof(a->ams));
	for (k = 0; k <= ARC_SETS_MAX; k++)
		a->set[k].aar = a->set[k].ams = a->set[k].seal = -1;
	sign_body_init(&a->ours);
	if (hdr_parse(&a->h, buf, len) == -1)
		return -1;
	for (i = 0; i < a->h.n; i++) {
		f = &a->h.f[i];
		if (hdr_name_is(&a->h, i, AAR_NAME, strlen(AAR_NAME))) {
			inst = aar_instance(buf + f->off, f->len);
			slot = &a->set[inst].aar;
		} else if (hdr_name_is(&a->h, i, AMS_NAME, strlen(AMS_NAME))) {
			inst = sig_instance(buf + f->off, f->len);
			slot = &a->set[inst].ams;
		} else if (hdr_name_is(&a->h, i, SEAL_NAME,
		    strlen(SEAL_NAME))) {
			inst = sig_instance(buf + f->off, f->len);
			slot = &a->set[inst].seal;
		} else
			continue;
		if (inst == 0) {
			if (!a->broken)
				fail(a, ARC_CV_FAIL, "an ARC field without a "
				    "valid i=");
			a->broken = 1;
			continue;
		}
		if (*slot != -1 && !a->broken) {
			fail(a, ARC_CV_FAIL, "two ARC fields of one kind "
			    "with i=%u", inst);
			a->broken = 1;
		}
		*slot = (long)i;
		if (inst > a->n)
			a->n = inst;
	}
	if (a->n == 0 && a->broken)
		a->n = 1;	/* a chain is there, broken */
	for (k = 1; k <= a->n && !a->broken; k++)
		if (a->set[k].aar == -1 || a->set[k].ams == -1 ||
		    a->set[k].seal == -1) {
			fail(a, ARC_CV_FAIL, "ARC set i=%u is incomplete", k);
			a->broken = 1;
		}
	if (a->n == 0 || a->broken)
		return 0;
	/* The newest AMS: its body hash runs beside ours. */
	f = &a->h.f[a->set[a->n].ams];
	verify_sig_parse(&a->ams, buf + f->off, f->len, VERIFY_KIND_AMS);
	a->ams.field = (size_t)a->set[a->n].ams;
	if (!a->ams.parsed) {
		fail(a, ARC_CV_FAIL, "ARC-Message-Signature i=%u: %s", a->n,
		    a->ams.reason);
		a->broken = 1;
		return 0;
	}
	if (a->ams.alg == VERIFY_RSA_SHA1) {
		fail(a, ARC_CV_FAIL, "ARC-Message-Signature i=%u: rsa-sha1",
		    a->n);
		a->broken = 1;
		return 0;
	}
	a->theirs_len = 0;
	crypto_hash_sha256_init(&a->theirs_h);
	canon_body_init(&a->theirs, a->ams.brelaxed, theirs_sink, a);
	return 0;
}

void
arc_body(struct arc *a, const void *p, size_t n)
{
	sign_body_update(&a->ours, p, n);
	if (a->n > 0 && !a->broken)
		canon_body_update(&a->theirs, p, n);
}

/* Feed the relaxed form of header field i to st; without its CRLF and
 * with b='s value removed when g is given (the seal being checked). */
static int
hash_field(const struct arc *a, long i, const struct verify_sig *g,
    crypto_hash_sha256_state *st)
{
	const struct hdr_field *f = &a->h.f[i];
	const char *src = a->h.buf + f->off;
	char *self = NULL, *mem;
	size_t len = f->len;
	struct str c;
	int rc = -1;

	if ((mem = malloc(2 * f->len + 3)) == NULL)
		return -1;
	str_init(&c, mem, 2 * f->len + 3);
	if (g != NULL) {
		if ((self = malloc(f->len)) == NULL)
			goto out;
		memcpy(self, src, g->braw_off);
		memcpy(self + g->braw_off, src + g->braw_off + g->braw_len,
		    f->len - g->braw_off - g->braw_len);
		src = self;
		len = f->len - g->braw_len;
	}
	if (canon_header_relaxed(src, len, &c) == -1)
		goto out;
	crypto_hash_sha256_update(st, (const unsigned char *)c.s,
	    g != NULL ? c.len - 2 : c.len);
	rc = 0;
out:
	free(self);
	free(mem);
	return rc;
}

/* The digest that seal i signs (RFC 8617 §5.1.1): every set from 1 to
 * i, each as AAR, AMS, seal, relaxed; seal i itself with b= empty and
 * no CRLF. */
static int
seal_digest(const struct arc *a, unsigned i, const struct verify_sig *g,
    unsigned char d[crypto_hash_sha256_BYTES])
{
	crypto_hash_sha256_state st;
	unsigned k;

	crypto_hash_sha256_init(&st);
	for (k = 1; k <= i; k++)
		if (hash_field(a, a->set[k].aar, NULL, &st) == -1 ||
		    hash_field(a, a->set[k].ams, NULL, &st) == -1 ||
		    hash_field(a, a->set[k].seal, k == i ? g : NULL, &st) ==
		    -1)
			return -1;
	crypto_hash_sha256_final(&st, d);
	return 0;
}

/* Key and signature of g over d: 0 good, else a->cv set. */
static int
check_one(struct arc *a, struct verify_sig *g, const unsigned char *d,
    const char *what, unsigned i, verify_txt_fn *txt, void *arg,
    struct verify_key *k)
{
	if (verify_sig_key(g, txt, arg, k) == -1) {
		fail(a, g->result == VERIFY_TEMPERROR ? ARC_CV_TEMP :
		    ARC_CV_FAIL, "%s i=%u: %s", what, i, g->reason);
		return -1;
	}
	switch (verify_sig_check(g, k, d)) {
	case 1:
		return 0;
	case 0:
		fail(a, ARC_CV_FAIL, "%s i=%u: signature did not verify",
		    what, i);
		return -1;
	default:
		fail(a, ARC_CV_FAIL, "%s i=%u: %s", what, i, g->reason);
		return -1;
	}
}

void
arc_budget_start(struct arc_budget *b, verify_txt_fn *txt, void *arg,
    unsigned ms)
{
	b->txt = txt;
	b->arg = arg;
	b->end = clock_ms() + (int64_t)ms;
}

enum dns_result
arc_budget_txt(void *budget, const char *name, struct dns_text *out,
    size_t max, size_t *n, char *why, size_t whysize)
{
	struct arc_budget *b = budget;

	*n = 0;
	if (clock_ms() >= b->end) {
		str_fmt_cut(why, whysize, "the chain's key lookups took "
		    "too long");
		return DNS_TEMP;
	}
	return b->txt(b->arg, name, out, max, n, why, whysize);
}

void
arc_finish(struct arc *a, verify_txt_fn *txt, void *arg)
{
	unsigned char d[crypto_hash_sha256_BYTES];
	struct verify_sig *g = NULL;
	struct verify_key *k = NULL;
	const struct hdr_field *f;
	unsigned i;

	sign_body_final(&a->ours, a->bh);
	if (a->n == 0 || a->broken)
		return;		/* none, or fail with its reason */
	if ((g = malloc(sizeof(*g))) == NULL ||
	    (k = malloc(sizeof(*k))) == NULL) {
		fail(a, ARC_CV_TEMP, "out of memory");
		goto out;
	}
	/* §5.2 step 3: the cv= that each seal states. */
	for (i = a->n; i >= 1; i--) {
		f = &a->h.f[a->set[i].seal];
		memset(g, 0, sizeof(*g));
		verify_sig_parse(g, a->h.buf + f->off, f->len,
		    VERIFY_KIND_SEAL);
		if (!g->parsed) {
			fail(a, ARC_CV_FAIL, "ARC-Seal i=%u: %s", i,
			    g->reason);
			goto out;
		}
		if (strcmp(g->cv, i == 1 ? "none" : "pass") != 0) {
			fail(a, ARC_CV_FAIL, "ARC-Seal i=%u says cv=%s", i,
			    g->cv);
			goto out;
		}
	}
	/* §5.2 step 5: the newest AMS, body first. */
	canon_body_final(&a->theirs);
	crypto_hash_sha256_final(&a->theirs_h, d);
	if ((a->ams.l != ULLONG_MAX && a->theirs_len < a->ams.l) ||
	    a->ams.bhlen != sizeof(d) || sodium_memcmp(a->ams.bh, d,
	    sizeof(d)) != 0) {
		fail(a, ARC_CV_FAIL, "ARC-Message-Signature i=%u: body hash "
		    "mismatch", a->n);
		goto out;
	}
	if (verify_sig_digest(&a->h, &a->ams, d) == -1) {
		fail(a, ARC_CV_TEMP, "out of memory");
		goto out;
	}
	if (check_one(a, &a->ams, d, AMS_NAME, a->n, txt, arg, k) == -1)
		goto out;
	/* §5.2 step 6: every seal, the newest first. */
	for (i = a->n; i >= 1; i--) {
		f = &a->h.f[a->set[i].seal];
		memset(g, 0, sizeof(*g));
		verify_sig_parse(g, a->h.buf + f->off, f->len,
		    VERIFY_KIND_SEAL);
		g->field = (size_t)a->set[i].seal;
		if (seal_digest(a, i, g, d) == -1) {
			fail(a, ARC_CV_TEMP, "out of memory");
			goto out;
		}
		if (check_one(a, g, d, SEAL_NAME, i, txt, arg, k) == -1)
			goto out;
	}
	a->cv = ARC_CV_PASS;
out:
	free(g);
	free(k);
}

const char *
arc_next_cv(const struct arc *a)
{
	if (a->n >= ARC_SETS_MAX)
		return NULL;
	switch (a->cv) {
	case ARC_CV_NONE:
		return a->n == 0 ? "none" : NULL;
	case ARC_CV_PASS:
		return "pass";
	default:
		return NULL;
	}
}

const struct keys_key *
arc_pick_key(const struct keys_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keys[i].type == KEYS_RSA)
			return &keys[i];
	return n > 0 ? &keys[0] : NULL;
}

/* --- the ARC-Authentication-Results field ---------------------------- */

struct aar_fold {
	struct str	*o;
	size_t		 col;
	const char	*eol;
};

/* A token after a space, or on a new line when it would pass the width
 * (a token longer than a line gets a line of its own). */
static int
aar_put(struct aar_fold *f, const char *s, size_t len, int semi)
{
	size_t need = 1 + len + (semi ? 1 : 0);

	if (f->col + need > ARC_WIDTH && f->col > 1) {
		if (str_appends(f->o, f->eol) == -1)
			return -1;
		f->col = 0;
	}
	if (str_appendc(f->o, ' ') == -1 || str_append(f->o, s, len) == -1 ||
	    (semi && str_appendc(f->o, ';') == -1))
		return -1;
	f->col += need;
	return 0;
}

/* The next resinfo of an Authentication-Results body at *p: up to the
 * next ';' that is outside a comment or a quoted string, blanks around
 * it trimmed.  Its start and length in *s, *len; 0 at the end. */
static int
next_result(const char **p, const char **s, size_t *len)
{
	const char *q = *p, *start;
	int depth = 0, quoted = 0;

	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == '\0')
		return 0;
	start = q;
	for (; *q != '\0'; q++) {
		if (quoted) {
			if (*q == '\\' && q[1] != '\0')
				q++;
			else if (*q == '"')
				quoted = 0;
		} else if (*q == '\\' && depth > 0 && q[1] != '\0')
			q++;
		else if (*q == '"' && depth == 0)
			quoted = 1;
		else if (*q == '(')
			depth++;
		else if (*q == ')' && depth > 0)
			depth--;
		else if (*q == ';' && depth == 0)
			break;
	}
	*s = start;
	*len = (size_t)(q - start);
	while (*len > 0 && (start[*len - 1] == ' ' || start[*len - 1] == '\t'))
		(*len)--;
	*p = *q == ';' ? q + 1 : q;
	return 1;
}

int
arc_aar(struct str *out, unsigned i, const char *authres,
    const char *hostname, const char *arcres, const char *eol)
{
	struct aar_fold f = { out, 0, eol };
	const char *p, *s, *id, *r;
	char head[64], arc[32];
	size_t save = out->len, idlen, len, nres = 0;
	int any;

	if (authres != NULL && strpbrk(authres, "\r\n") != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (str_fmt(head, sizeof(head), AAR_NAME ": i=%u;", i) == -1 ||
	    str_appends(out, head) == -1)
		goto nobufs;
	f.col = strlen(head);
	/* The authserv-id, then the results after it. */
	if (authres == NULL || authres[0] == '\0') {
		id = hostname;
		idlen = strlen(hostname);
		p = "";
	} else {
		p = authres;
		if (!next_result(&p, &id, &idlen) || idlen == 0) {
			id = hostname;	/* no authserv-id: ours */
			idlen = strlen(hostname);
		}
	}
	/* "none" alone means no results; with an arc= result there is
	 * one. */
	for (s = p; next_result(&s, &r, &len);)
		if (!(len == 4 && strncasecmp(r, "none", 4) == 0))
			nres++;
	any = nres > 0 || arcres != NULL;
	if (aar_put(&f, id, idlen, 1) == -1)
		goto nobufs;
	if (!any) {
		if (aar_put(&f, "none", 4, 0) == -1)
			goto nobufs;
	} else {
		size_t done = 0;

		for (s = p; next_result(&s, &r, &len);) {
			if (len == 4 && strncasecmp(r, "none", 4) == 0)
				continue;
			done++;
			if (aar_put(&f, r, len, done < nres || arcres != NULL)
			    == -1)
				goto nobufs;
		}
		if (arcres != NULL && (str_fmt(arc, sizeof(arc), "arc=%s",
		    arcres) == -1 || aar_put(&f, arc, strlen(arc), 0) == -1))
			goto nobufs;
	}
	if (str_appends(out, eol) == -1)
		goto nobufs;
	return 0;
nobufs:
	str_truncate(out, save);
	errno = ENOBUFS;
	return -1;
}

/* --- the next set ------------------------------------------------------ */

int
arc_seal(struct arc *a, const char *domain, const struct keys_key *k,
    long long t, const char *authres, const char *hostname,
    struct str *out)
{
	crypto_hash_sha256_state st;
	struct sign_hname *hn = NULL;
	struct sign_tags tags;
	struct str aar, ams, seal;
	const char *cv = arc_next_cv(a), *eol = a->h.eol;
	char *mem = NULL;
	size_t nh, el = strlen(eol), save = out->len;
	unsigned i = a->n + 1, j;
	int rc = -1, e = ENOMEM;

	if (cv == NULL || k == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((mem = malloc(3 * ARC_SET_MAX)) == NULL ||
	    (hn = malloc(SIGN_H_MAX * sizeof(*hn))) == NULL)
		goto out;
	str_init(&aar, mem, ARC_SET_MAX);
	str_init(&ams, mem + ARC_SET_MAX, ARC_SET_MAX);
	str_init(&seal, mem + 2 * ARC_SET_MAX, ARC_SET_MAX);
	if (arc_aar(&aar, i, authres, hostname, a->n > 0 ? "pass" : NULL,
	    eol) == -1) {
		e = errno;
		goto out;
	}
	/* The AMS: a DKIM signature of the fields dkimsign signs. */
	/* An AMS needs h= (RFC 6376 §3.5): a header without any field
	 * that dkimsign signs (no From: even) is not sealed. */
	if ((nh = sign_hlist(&a->h, hn, SIGN_H_MAX)) == 0) {
		e = EINVAL;
		goto out;
	}
	if (sign_header_hash(&a->h, hn, nh, &st) == -1)
		goto out;
	memset(&tags, 0, sizeof(tags));
	tags.domain = domain;
	tags.t = t;
	tags.bh = a->bh;
	tags.h = hn;
	tags.nh = nh;
	tags.width = ARC_WIDTH;
	tags.eol = eol;
	tags.instance = i;
	e = errno = ENOBUFS;
	if (sign_prefix(&ams, &tags, k) == -1 ||
	    sign_finish(&ams, 0, &st, k, ARC_WIDTH, eol) == -1) {
		e = errno;
		goto out;
	}
	/* The seal: the sets before, then this one's AAR and AMS. */
	crypto_hash_sha256_init(&st);
	for (j = 1; j < i; j++)
		if (hash_field(a, a->set[j].aar, NULL, &st) == -1 ||
		    hash_field(a, a->set[j].ams, NULL, &st) == -1 ||
		    hash_field(a, a->set[j].seal, NULL, &st) == -1)
			goto out;
	{
		struct str c;
		char *cm;

		if ((cm = malloc(2 * ARC_SET_MAX + 3)) == NULL)
			goto out;
		str_init(&c, cm, 2 * ARC_SET_MAX + 3);
		if (canon_header_relaxed(aar.s, aar.len - el, &c) == -1 ||
		    canon_header_relaxed(ams.s, ams.len - el, &c) == -1) {
			free(cm);
			e = ENOBUFS;
			goto out;
		}
		crypto_hash_sha256_update(&st, (const unsigned char *)c.s,
		    c.len);
		free(cm);
	}
	tags.cv = cv;
	if (sign_prefix(&seal, &tags, k) == -1 ||
	    sign_finish(&seal, 0, &st, k, ARC_WIDTH, eol) == -1) {
		e = errno;
		goto out;
	}
	e = ENOBUFS;
	if (str_append(out, seal.s, seal.len) == -1 ||
	    str_append(out, ams.s, ams.len) == -1 ||
	    str_append(out, aar.s, aar.len) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		str_truncate(out, save);
		errno = e;
	}
	sodium_memzero(&st, sizeof(st));
	free(hn);
	free(mem);
	return rc;
}
