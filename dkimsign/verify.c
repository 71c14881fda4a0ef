/* verify.c — DKIM verification: the DKIM-Signature fields of a header
 * parsed, the body hashed once per kind of body hash the signatures ask
 * for, then for each signature its key fetched and checked, and the
 * signed header fields hashed and the signature verified (RFC 6376 §6.1,
 * RFC 8463).  verify.h states which outcome gets which result.
 *
 * The canonicalizations are dkimsign's own (canon.c) and the header
 * fields are picked as the signer picks them (hdr.c), so the two sides
 * cannot drift apart.  RSA is nettle's (hogweed), not GnuTLS's: this
 * runs once per incoming message, and a program linked to GnuTLS costs
 * several milliseconds more to start (mailauth(8), bench/mailauth.sh).
 * Ed25519 is libsodium's. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmp.h>
#include <nettle/asn1.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <sodium.h>

#include "canon.h"
#include "dns.h"
#include "hdr.h"
#include "str.h"
#include "verify.h"

#define SIG_FIELD	"DKIM-Signature"

static const char *const result_names[] = {
	[VERIFY_NONE] = "none",
	[VERIFY_PASS] = "pass",
	[VERIFY_FAIL] = "fail",
	[VERIFY_NEUTRAL] = "neutral",
	[VERIFY_POLICY] = "policy",
	[VERIFY_TEMPERROR] = "temperror",
	[VERIFY_PERMERROR] = "permerror"
};

static const char *const alg_names[] = {
	[VERIFY_RSA_SHA256] = "rsa-sha256",
	[VERIFY_RSA_SHA1] = "rsa-sha1",
	[VERIFY_ED25519_SHA256] = "ed25519-sha256"
};

const char *
verify_result_name(enum verify_result r)
{
	return result_names[r];
}

const char *
verify_alg_name(enum verify_alg a)
{
	return alg_names[a];
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_fws(int c)
{
	return is_wsp(c) || c == '\r' || c == '\n';
}

/* --- tag-lists ----------------------------------------------------- */

/* Each tag-spec: [FWS] name [FWS] "=" [FWS] value [FWS], the value any
 * run of VALCHAR (%x21-3A / %x3C-7E) and the FWS inside it.  Folding is
 * taken loosely (any CR or LF among white space), as the header reader
 * already decided what belongs to the field. */
int
verify_tags(const char *s, size_t len, struct verify_tag *t, size_t max,
    size_t *n)
{
	size_t i = 0, k, end, j;

	*n = 0;
	for (;;) {
		while (i < len && is_fws((unsigned char)s[i]))
			i++;
		if (i == len)
			return 0;	/* empty, or after a final ';' */
		if (*n == max || !str_isalpha((unsigned char)s[i]))
			return -1;
		t[*n].name = s + i;
		while (i < len && (str_isalpha((unsigned char)s[i]) ||
		    str_isdigit((unsigned char)s[i]) || s[i] == '_'))
			i++;
		t[*n].nlen = (size_t)(s + i - t[*n].name);
		while (i < len && is_fws((unsigned char)s[i]))
			i++;
		if (i == len || s[i] != '=')
			return -1;
		i++;
		t[*n].raw_off = i;
		for (end = i; end < len && s[end] != ';'; end++) {
			unsigned char c = (unsigned char)s[end];

			if (!is_fws(c) && (c < 0x21 || c > 0x7e))
				return -1;
		}
		t[*n].raw_len = end - i;
		while (i < end && is_fws((unsigned char)s[i]))
			i++;
		j = end;
		while (j > i && is_fws((unsigned char)s[j - 1]))
			j--;
		t[*n].val = s + i;
		t[*n].vlen = j - i;
		/* §3.2: a tag named twice makes the whole list invalid. */
		for (k = 0; k < *n; k++)
			if (t[k].nlen == t[*n].nlen && memcmp(t[k].name,
			    t[*n].name, t[k].nlen) == 0)
				return -1;
		(*n)++;
		if (end == len)
			return 0;
		i = end + 1;
	}
}

static const struct verify_tag *
tag(const struct verify_tag *t, size_t n, const char *name)
{
	size_t i, l = strlen(name);

	for (i = 0; i < n; i++)
		if (t[i].nlen == l && memcmp(t[i].name, name, l) == 0)
			return &t[i];
	return NULL;
}

static int
val_is(const struct verify_tag *t, const char *v)
{
	return t->vlen == strlen(v) && memcmp(t->val, v, t->vlen) == 0;
}

/* Call cb with each element of a colon-separated list (h=, k= of the
 * key's h=, t=, s=, q=), FWS around each removed; an empty element is
 * passed as such.  Stops at cb's first non-zero value and returns it. */
static int
each_item(const char *s, size_t len, int (*cb)(void *, const char *,
    size_t), void *arg)
{
	size_t i = 0, b, e;
	int r;

	for (;;) {
		while (i < len && is_fws((unsigned char)s[i]))
			i++;
		b = i;
		while (i < len && s[i] != ':')
			i++;
		e = i;
		while (e > b && is_fws((unsigned char)s[e - 1]))
			e--;
		if ((r = cb(arg, s + b, e - b)) != 0)
			return r;
		if (i == len)
			return 0;
		i++;
	}
}

struct find {
	const char	*want;
	int		 found;
};

static int
find_cb(void *arg, const char *s, size_t len)
{
	struct find *f = arg;

	if (len == strlen(f->want) && strncasecmp(s, f->want, len) == 0)
		f->found = 1;
	return 0;
}

static int
list_has(const struct verify_tag *t, const char *want)
{
	struct find f = { want, 0 };

	(void)each_item(t->val, t->vlen, find_cb, &f);
	return f.found;
}

/* base64 with FWS anywhere (RFC 6376 §2.4): 0 and *n bytes, or -1. */
static int
b64(const char *s, size_t len, unsigned char *out, size_t cap, size_t *n)
{
	const char *end;

	if (sodium_base642bin(out, cap, s, len, " \t\r\n", n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len)
		return -1;
	return 0;
}

/* A decimal number of at most digits digits (RFC 6376 §3.5: t= and x=
 * 12, l= 76): 0, or -1 if it is not one.  One that does not fit gives
 * ULLONG_MAX, which for l= is as good as its real value. */
static int
number(const struct verify_tag *t, size_t digits, unsigned long long *v)
{
	size_t i;

	if (t->vlen == 0 || t->vlen > digits)
		return -1;
	*v = 0;
	for (i = 0; i < t->vlen; i++) {
		unsigned d = (unsigned)(t->val[i] - '0');

		if (!str_isdigit((unsigned char)t->val[i]))
			return -1;
		if (*v > (ULLONG_MAX - d) / 10)
			*v = ULLONG_MAX;
		else
			*v = *v * 10 + d;
	}
	return 0;
}

/* A domain name or selector as we are willing to look it up: labels of
 * letters, digits, '-' and '_', dots between them. */
static int
dns_name_ok(const char *s, size_t len)
{
	size_t i, lab = 0;

	if (len == 0 || len > VERIFY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			continue;
		}
		if (!str_isalpha(c) && !str_isdigit(c) && c != '-' && c != '_')
			return 0;
		if (++lab > 63)
			return 0;
	}
	return lab > 0;
}

/* --- key records --------------------------------------------------- */

static void
why_set(char *why, size_t whysize, const char *s)
{
	if (whysize > 0)
		(void)str_copy(why, whysize, s);
}

int
verify_key_parse(const char *s, size_t len, struct verify_key *k, char *why,
    size_t whysize)
{
	struct verify_tag t[VERIFY_TAGS_MAX];
	const struct verify_tag *v, *p;
	size_t n;

	memset(k, 0, sizeof(*k));
	if (verify_tags(s, len, t, VERIFY_TAGS_MAX, &n) == -1) {
		why_set(why, whysize, "key record syntax");
		return -1;
	}
	/* §3.6.1: v=, when present, MUST be first and DKIM1. */
	if ((v = tag(t, n, "v")) != NULL && (v != &t[0] ||
	    !val_is(v, "DKIM1"))) {
		why_set(why, whysize, "key record v= is not DKIM1");
		return -1;
	}
	if ((v = tag(t, n, "k")) == NULL || val_is(v, "rsa"))
		k->ed25519 = 0;
	else if (val_is(v, "ed25519"))
		k->ed25519 = 1;
	else {
		why_set(why, whysize, "key record k= unknown");
		return -1;
	}
	if ((v = tag(t, n, "h")) == NULL)
		k->sha1_ok = k->sha256_ok = 1;
	else {
		k->sha1_ok = list_has(v, "sha1");
		k->sha256_ok = list_has(v, "sha256");
	}
	if ((v = tag(t, n, "s")) != NULL && !list_has(v, "*") &&
	    !list_has(v, "email")) {
		why_set(why, whysize, "key record s= is not for email");
		return -1;
	}
	if ((v = tag(t, n, "t")) != NULL) {
		k->testing = list_has(v, "y");
		k->strict = list_has(v, "s");
	}
	if ((p = tag(t, n, "p")) == NULL) {
		why_set(why, whysize, "key record without p=");
		return -1;
	}
	if (p->vlen == 0) {
		k->revoked = 1;
		return 0;
	}
	if (b64(p->val, p->vlen, k->p, sizeof(k->p), &k->plen) == -1) {
		why_set(why, whysize, "key record p= is not base64");
		return -1;
	}
	if (k->ed25519 && k->plen != crypto_sign_PUBLICKEYBYTES) {
		why_set(why, whysize, "ed25519 key not 32 bytes");
		return -1;
	}
	return 0;
}

/* rsaEncryption, 1.2.840.113549.1.1.1, as the bytes of its DER value. */
static const unsigned char rsa_oid[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01
};

/* p= of an RSA key: a SubjectPublicKeyInfo (RFC 6376 §3.6.1), or, as
 * some publish, the bare RSAPublicKey of PKCS#1.  0, or -1. */
static int
rsa_key(const unsigned char *der, size_t len, struct rsa_public_key *pub)
{
	struct asn1_der_iterator i, j;

	if (asn1_der_iterator_first(&i, len, der) !=
	    ASN1_ITERATOR_CONSTRUCTED || i.type != ASN1_SEQUENCE)
		return -1;
	if (asn1_der_decode_constructed(&i, &j) ==
	    ASN1_ITERATOR_CONSTRUCTED && j.type == ASN1_SEQUENCE) {
		/* SubjectPublicKeyInfo: AlgorithmIdentifier, BIT STRING. */
		struct asn1_der_iterator a;

		if (asn1_der_decode_constructed(&j, &a) !=
		    ASN1_ITERATOR_PRIMITIVE || a.type != ASN1_IDENTIFIER ||
		    a.length != sizeof(rsa_oid) ||
		    memcmp(a.data, rsa_oid, sizeof(rsa_oid)) != 0)
			return -1;
		if (asn1_der_iterator_next(&j) != ASN1_ITERATOR_PRIMITIVE ||
		    j.type != ASN1_BITSTRING ||
		    asn1_der_decode_bitstring_last(&j) !=
		    ASN1_ITERATOR_CONSTRUCTED || j.type != ASN1_SEQUENCE)
			return -1;
		return rsa_public_key_from_der_iterator(pub,
		    VERIFY_RSA_BITS_MAX + 1, &j) ? 0 : -1;
	}
	if (asn1_der_iterator_first(&i, len, der) !=
	    ASN1_ITERATOR_CONSTRUCTED)
		return -1;
	return rsa_public_key_from_der_iterator(pub, VERIFY_RSA_BITS_MAX + 1,
	    &i) ? 0 : -1;
}

/* --- signatures ---------------------------------------------------- */

static void
set(struct verify_sig *g, enum verify_result r, const char *reason)
{
	g->result = r;
	(void)str_copy(g->reason, sizeof(g->reason), reason);
}

static void
copy_cut(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

struct hcollect {
	struct verify_sig	*g;
	int			 bad;
	int			 from;
};

static int
h_cb(void *arg, const char *s, size_t len)
{
	struct hcollect *c = arg;
	size_t i;

	if (len == 0) {
		c->bad = 1;
		return 1;
	}
	for (i = 0; i < len; i++)
		/* RFC 5322 §3.6.8 ftext, printable but ':' */
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126) {
			c->bad = 1;
			return 1;
		}
	if (c->g->nh == VERIFY_H_MAX) {
		c->bad = 2;
		return 1;
	}
	c->g->h[c->g->nh].s = s;
	c->g->h[c->g->nh++].len = len;
	if (len == 4 && strncasecmp(s, "from", 4) == 0)
		c->from = 1;
	return 0;
}

/* The checks of RFC 6376 §6.1.1 that need no key; g->result stays
 * VERIFY_NONE when the field is usable.  An ARC field (RFC 8617 §4.1)
 * is a DKIM-Signature but for i= (the instance) and v= (none); an
 * ARC-Seal has neither h= nor bh= and has cv=. */
void
verify_sig_parse(struct verify_sig *g, const char *f, size_t flen,
    enum verify_kind kind)
{
	struct verify_tag t[VERIFY_TAGS_MAX];
	const struct verify_tag *v, *c;
	struct hcollect hc = { g, 0, 0 };
	const char *val, *at, *slash;
	size_t n, off, k;
	unsigned long long num;

	val = memchr(f, ':', flen) + 1;
	off = (size_t)(val - f);
	g->t = g->x = -1;
	g->l = ULLONG_MAX;
	g->body = -1;
	if (verify_tags(val, flen - off, t, VERIFY_TAGS_MAX, &n) == -1) {
		set(g, VERIFY_PERMERROR, "signature syntax");
		return;
	}
	/* What header.d= and friends print, even for a broken field. */
	if ((v = tag(t, n, "d")) != NULL)
		copy_cut(g->d, sizeof(g->d), v->val, v->vlen);
	if ((v = tag(t, n, "s")) != NULL)
		copy_cut(g->s, sizeof(g->s), v->val, v->vlen);
	if ((v = tag(t, n, "a")) != NULL)
		copy_cut(g->a, sizeof(g->a), v->val, v->vlen);
	if ((v = tag(t, n, "b")) != NULL) {
		for (k = 0; k < v->vlen && strlen(g->b8) < VERIFY_B_PREFIX;
		    k++)
			if (!is_fws((unsigned char)v->val[k]))
				g->b8[strlen(g->b8)] = v->val[k];
	}
	if (kind != VERIFY_KIND_DKIM) {
		if ((v = tag(t, n, "i")) == NULL || number(v, 2, &num) == -1
		    || num < 1 || num > VERIFY_ARC_MAX) {
			set(g, VERIFY_PERMERROR, "i= is not an ARC instance");
			return;
		}
		g->instance = (unsigned)num;
	} else if ((v = tag(t, n, "i")) != NULL)
		copy_cut(g->i, sizeof(g->i), v->val, v->vlen);
	else if (g->d[0] != '\0' && str_fmt(g->i, sizeof(g->i), "@%s", g->d)
	    == -1)
		g->i[0] = '\0';

	if (kind == VERIFY_KIND_DKIM && ((v = tag(t, n, "v")) == NULL ||
	    !val_is(v, "1"))) {
		set(g, VERIFY_PERMERROR, "v= is not 1");
		return;
	}
	if (tag(t, n, "a") == NULL || tag(t, n, "b") == NULL ||
	    (kind != VERIFY_KIND_SEAL && (tag(t, n, "bh") == NULL ||
	    tag(t, n, "h") == NULL)) || tag(t, n, "d") == NULL ||
	    tag(t, n, "s") == NULL) {
		set(g, VERIFY_PERMERROR, "a required tag is missing");
		return;
	}
	if (kind == VERIFY_KIND_SEAL) {
		/* RFC 8617 §4.1.3: cv= is required, h= is not allowed; the
		 * seal is always of relaxed fields (§5.1.1). */
		if ((v = tag(t, n, "cv")) == NULL || !(val_is(v, "none") ||
		    val_is(v, "pass") || val_is(v, "fail"))) {
			set(g, VERIFY_PERMERROR, "cv= is not none, pass or fail");
			return;
		}
		copy_cut(g->cv, sizeof(g->cv), v->val, v->vlen);
		if (tag(t, n, "h") != NULL) {
			set(g, VERIFY_PERMERROR, "h= in an ARC-Seal");
			return;
		}
	}
	v = tag(t, n, "a");
	if (val_is(v, "rsa-sha256"))
		g->alg = VERIFY_RSA_SHA256;
	else if (val_is(v, "rsa-sha1"))
		g->alg = VERIFY_RSA_SHA1;
	else if (val_is(v, "ed25519-sha256"))
		g->alg = VERIFY_ED25519_SHA256;
	else {
		set(g, VERIFY_PERMERROR, "unknown algorithm");
		return;
	}
	v = tag(t, n, "d");
	if (!dns_name_ok(v->val, v->vlen) || v->vlen >= sizeof(g->d)) {
		set(g, VERIFY_PERMERROR, "d= is not a domain");
		return;
	}
	v = tag(t, n, "s");
	if (!dns_name_ok(v->val, v->vlen)) {
		set(g, VERIFY_PERMERROR, "s= is not a selector");
		return;
	}
	if (strlen(g->s) + strlen("._domainkey.") + strlen(g->d) >
	    VERIFY_NAME_MAX) {
		set(g, VERIFY_PERMERROR, "key name too long");
		return;
	}
	if (kind == VERIFY_KIND_SEAL)
		c = NULL;
	else if ((c = tag(t, n, "c")) != NULL) {
		slash = memchr(c->val, '/', c->vlen);
		k = slash != NULL ? (size_t)(slash - c->val) : c->vlen;
		if (k == 6 && memcmp(c->val, "simple", 6) == 0)
			g->hrelaxed = 0;
		else if (k == 7 && memcmp(c->val, "relaxed", 7) == 0)
			g->hrelaxed = 1;
		else {
			set(g, VERIFY_PERMERROR, "unknown c=");
			return;
		}
		if (slash != NULL && !(c->vlen - k - 1 == 6 &&
		    memcmp(slash + 1, "simple", 6) == 0) && !(c->vlen - k - 1
		    == 7 && memcmp(slash + 1, "relaxed", 7) == 0)) {
			set(g, VERIFY_PERMERROR, "unknown c=");
			return;
		}
	}
	if ((v = tag(t, n, "q")) != NULL && !list_has(v, "dns/txt")) {
		set(g, VERIFY_PERMERROR, "q= without dns/txt");
		return;
	}
	if (kind == VERIFY_KIND_SEAL) {
		g->hrelaxed = 1;
		goto sig;
	}
	v = tag(t, n, "h");
	(void)each_item(v->val, v->vlen, h_cb, &hc);
	if (hc.bad) {
		set(g, VERIFY_PERMERROR, hc.bad == 2 ? "h= too long" :
		    "h= syntax");
		return;
	}
	/* RFC 8617 §4.1.2: an AMS MUST NOT sign ARC-Seal fields. */
	for (k = 0; kind == VERIFY_KIND_AMS && k < g->nh; k++)
		if (g->h[k].len == 8 && strncasecmp(g->h[k].s, "arc-seal",
		    8) == 0) {
			set(g, VERIFY_PERMERROR, "h= signs ARC-Seal");
			return;
		}
	if (kind == VERIFY_KIND_DKIM && !hc.from) {
		/* §5.4: From MUST be signed. */
		set(g, VERIFY_PERMERROR, "From is not signed");
		return;
	}
	/* §6.1.1: the domain of i= is d= or a subdomain of it. */
	if (kind == VERIFY_KIND_DKIM && (v = tag(t, n, "i")) != NULL) {
		at = memrchr(v->val, '@', v->vlen);
		if (at == NULL) {
			set(g, VERIFY_PERMERROR, "i= without @");
			return;
		}
		k = v->vlen - (size_t)(at + 1 - v->val);
		if (!(k == strlen(g->d) && strncasecmp(at + 1, g->d, k) ==
		    0) && !(k > strlen(g->d) && at[k - strlen(g->d)] == '.' &&
		    strncasecmp(at + 1 + k - strlen(g->d), g->d,
		    strlen(g->d)) == 0)) {
			set(g, VERIFY_PERMERROR, "i= is not within d=");
			return;
		}
	}
	if ((v = tag(t, n, "l")) != NULL && number(v, 76, &g->l) == -1) {
		set(g, VERIFY_PERMERROR, "l= syntax");
		return;
	}
	if ((v = tag(t, n, "t")) != NULL) {
		if (number(v, 12, &num) == -1) {
			set(g, VERIFY_PERMERROR, "t= syntax");
			return;
		}
		g->t = (long long)num;
	}
	if ((v = tag(t, n, "x")) != NULL) {
		if (number(v, 12, &num) == -1) {
			set(g, VERIFY_PERMERROR, "x= syntax");
			return;
		}
		g->x = (long long)num;
		if (g->t != -1 && g->x < g->t) {
			set(g, VERIFY_PERMERROR, "x= before t=");
			return;
		}
	}
	v = tag(t, n, "bh");
	if (b64(v->val, v->vlen, g->bh, sizeof(g->bh), &g->bhlen) == -1 ||
	    g->bhlen != (g->alg == VERIFY_RSA_SHA1 ? SHA1_DIGEST_SIZE :
	    SHA256_DIGEST_SIZE)) {
		set(g, VERIFY_PERMERROR, "bh= is not a digest");
		return;
	}
sig:
	v = tag(t, n, "b");
	if (b64(v->val, v->vlen, g->b, sizeof(g->b), &g->blen) == -1 ||
	    g->blen == 0) {
		set(g, VERIFY_PERMERROR, "b= is not base64");
		return;
	}
	g->braw_off = off + v->raw_off;
	g->braw_len = v->raw_len;
	g->parsed = 1;
	/* The body form, the second half of c= (checked above). */
	g->brelaxed = c != NULL && (slash = memchr(c->val, '/', c->vlen)) !=
	    NULL && c->vlen - (size_t)(slash + 1 - c->val) == 7 &&
	    memcmp(slash + 1, "relaxed", 7) == 0;
}

static void
body_sink(void *arg, const void *p, size_t n)
{
	struct verify_body *b = arg;

	if (b->len >= b->limit) {
		b->len += n;
		return;
	}
	if (n > b->limit - b->len) {
		size_t take = (size_t)(b->limit - b->len);

		b->len += n;
		n = take;
	} else
		b->len += n;
	if (b->sha1)
		sha1_update(&b->h.s1, n, p);
	else
		sha256_update(&b->h.s256, n, p);
}

/* The body that g needs, shared with the signatures that need the same
 * (the usual pair of an RSA and an Ed25519 signature hash it once). */
static int
body_for(struct verify *v, int relaxed, int sha1, unsigned long long l)
{
	struct verify_body *b;
	size_t i;

	for (i = 0; i < v->nbody; i++) {
		b = &v->bodies[i];
		if (b->relaxed == relaxed && b->sha1 == sha1 && b->limit == l)
			return (int)i;
	}
	b = &v->bodies[v->nbody];
	memset(b, 0, sizeof(*b));
	b->relaxed = relaxed;
	b->sha1 = sha1;
	b->limit = l;
	if (sha1)
		sha1_init(&b->h.s1);
	else
		sha256_init(&b->h.s256);
	canon_body_init(&b->c, relaxed, body_sink, b);
	return (int)v->nbody++;
}

int
verify_header(struct verify *v, const char *buf, size_t len)
{
	size_t i;

	v->nsig = v->nfields = v->nbody = 0;
	if (hdr_parse(&v->h, buf, len) == -1)
		return -1;
	for (i = 0; i < v->h.n; i++) {
		const struct hdr_field *f = &v->h.f[i];
		struct verify_sig *g;

		if (!hdr_name_is(&v->h, i, SIG_FIELD, strlen(SIG_FIELD)))
			continue;
		v->nfields++;
		if (v->nsig == VERIFY_SIGS_MAX)
			continue;
		g = &v->sig[v->nsig++];
		memset(g, 0, sizeof(*g));
		g->field = i;
		verify_sig_parse(g, buf + f->off, f->len, VERIFY_KIND_DKIM);
		if (g->parsed)
			g->body = body_for(v, g->brelaxed, g->alg ==
			    VERIFY_RSA_SHA1, g->l);
	}
	return 0;
}

void
verify_body(struct verify *v, const void *p, size_t n)
{
	size_t i;

	for (i = 0; i < v->nbody; i++)
		canon_body_update(&v->bodies[i].c, p, n);
}

/* The key record of g: 0 and the key, or -1 with g's result set. */
static int
fetch_key(struct verify_sig *g, verify_txt_fn *txt, void *arg,
    struct verify_key *k)
{
	struct dns_text *rr;
	char name[VERIFY_NAME_MAX + 1], why[256], kwhy[64] = "";
	size_t n = 0, i;
	enum dns_result r;
	int rc = -1;

	if (str_fmt(name, sizeof(name), "%s._domainkey.%s", g->s, g->d) ==
	    -1) {
		set(g, VERIFY_PERMERROR, "key name too long");
		return -1;
	}
	if ((rr = calloc(VERIFY_TXTS_MAX, sizeof(*rr))) == NULL) {
		set(g, VERIFY_TEMPERROR, "out of memory");
		return -1;
	}
	why[0] = '\0';
	r = txt(arg, name, rr, VERIFY_TXTS_MAX, &n, why, sizeof(why));
	if (r == DNS_TEMP) {
		set(g, VERIFY_TEMPERROR, "key lookup failed for now");
		goto out;
	}
	if (r != DNS_OK || n == 0) {
		set(g, VERIFY_PERMERROR, "no key record");
		goto out;
	}
	/* §3.6.2.2: one record is expected; the first that parses is
	 * taken, as others do. */
	for (i = 0; i < n; i++) {
		if (rr[i].cut)
			continue;
		if (verify_key_parse(rr[i].text, strlen(rr[i].text), k, kwhy,
		    sizeof(kwhy)) == 0) {
			rc = 0;
			goto out;
		}
	}
	set(g, VERIFY_PERMERROR, kwhy[0] != '\0' ? kwhy :
	    "key record too long");
out:
	free(rr);
	return rc;
}

/* The hash of the signed header fields and of the signature field with
 * b= empty (§3.7), in the canonical form of c=, through SHA-256 or
 * SHA-1.  0, or -1 (out of memory). */
int
verify_sig_digest(const struct hdr *h, const struct verify_sig *g,
    unsigned char *d)
{
	struct sha256_ctx s256;
	struct sha1_ctx s1;
	const struct hdr_field *sf = &h->f[g->field];
	struct str c;
	char *mem = NULL, *self = NULL;
	size_t i, j, occ, maxlen = 0, sl;
	long idx;
	int rc = -1;

	for (i = 0; i < h->n; i++)
		if (h->f[i].len > maxlen)
			maxlen = h->f[i].len;
	/* Canonical forms grow by a CR per bare LF, plus a CRLF. */
	if ((mem = malloc(2 * maxlen + 3)) == NULL)
		goto out;
	str_init(&c, mem, 2 * maxlen + 3);
	sha1_init(&s1);
	sha256_init(&s256);
	for (i = 0; i < g->nh; i++) {
		for (occ = 0, j = 0; j < i; j++)
			occ += g->h[j].len == g->h[i].len &&
			    strncasecmp(g->h[j].s, g->h[i].s, g->h[i].len) == 0;
		if ((idx = hdr_pick(h, g->h[i].s, g->h[i].len, occ)) == -1)
			continue;
		str_reset(&c);
		if ((g->hrelaxed ? canon_header_relaxed :
		    canon_header_simple)(h->buf + h->f[idx].off,
		    h->f[idx].len, &c) == -1)
			goto out;
		if (g->alg == VERIFY_RSA_SHA1)
			sha1_update(&s1, c.len, (const uint8_t *)c.s);
		else
			sha256_update(&s256, c.len, (const uint8_t *)c.s);
	}
	/* The signature field itself, b='s value removed, no CRLF. */
	if ((self = malloc(sf->len)) == NULL)
		goto out;
	sl = g->braw_off;
	memcpy(self, h->buf + sf->off, sl);
	memcpy(self + sl, h->buf + sf->off + g->braw_off + g->braw_len,
	    sf->len - g->braw_off - g->braw_len);
	sl = sf->len - g->braw_len;
	str_reset(&c);
	if ((g->hrelaxed ? canon_header_relaxed : canon_header_simple)(self,
	    sl, &c) == -1)
		goto out;
	if (g->alg == VERIFY_RSA_SHA1) {
		sha1_update(&s1, c.len - 2, (const uint8_t *)c.s);
		sha1_digest(&s1, SHA1_DIGEST_SIZE, d);
	} else {
		sha256_update(&s256, c.len - 2, (const uint8_t *)c.s);
		sha256_digest(&s256, SHA256_DIGEST_SIZE, d);
	}
	rc = 0;
out:
	free(self);
	free(mem);
	return rc;
}

/* The signature over digest d with key k: 1 good, 0 bad, -1 the key
 * cannot be used (g's result set). */
int
verify_sig_check(struct verify_sig *g, const struct verify_key *k,
    const unsigned char *d)
{
	struct rsa_public_key pub;
	mpz_t s;
	size_t bits;
	int ok;

	if (g->alg == VERIFY_ED25519_SHA256)
		/* RFC 8463 §3: Ed25519 over the SHA-256 digest. */
		return g->blen == crypto_sign_BYTES &&
		    crypto_sign_verify_detached(g->b, d, SHA256_DIGEST_SIZE,
		    k->p) == 0;
	rsa_public_key_init(&pub);
	if (rsa_key(k->p, k->plen, &pub) == -1 ||
	    !rsa_public_key_prepare(&pub)) {
		rsa_public_key_clear(&pub);
		set(g, VERIFY_PERMERROR, "RSA key unreadable");
		return -1;
	}
	bits = mpz_sizeinbase(pub.n, 2);
	if (bits < VERIFY_RSA_BITS_MIN || bits > VERIFY_RSA_BITS_MAX) {
		rsa_public_key_clear(&pub);
		set(g, VERIFY_PERMERROR, bits < VERIFY_RSA_BITS_MIN ?
		    "RSA key under 1024 bits" : "RSA key over 4096 bits");
		return -1;
	}
	/* RFC 8017 §8.2.2 wants k bytes; a signer that dropped leading
	 * zero bytes still made the same number. */
	if (g->blen > pub.size) {
		rsa_public_key_clear(&pub);
		return 0;
	}
	mpz_init(s);
	nettle_mpz_set_str_256_u(s, g->blen, g->b);
	ok = g->alg == VERIFY_RSA_SHA1 ? rsa_sha1_verify_digest(&pub, d, s) :
	    rsa_sha256_verify_digest(&pub, d, s);
	mpz_clear(s);
	rsa_public_key_clear(&pub);
	return ok ? 1 : 0;
}

int
verify_sig_key(struct verify_sig *g, verify_txt_fn *txt, void *arg,
    struct verify_key *k)
{
	const char *at;

	if (fetch_key(g, txt, arg, k) == -1)
		return -1;
	if (k->revoked) {
		set(g, VERIFY_PERMERROR, "key revoked, p= empty");
		return -1;
	}
	if (k->ed25519 != (g->alg == VERIFY_ED25519_SHA256)) {
		set(g, VERIFY_PERMERROR, "key k= does not match a=");
		return -1;
	}
	if (!(g->alg == VERIFY_RSA_SHA1 ? k->sha1_ok : k->sha256_ok)) {
		set(g, VERIFY_PERMERROR, "key h= excludes the hash");
		return -1;
	}
	if (k->strict && (at = strrchr(g->i, '@')) != NULL &&
	    strcasecmp(at + 1, g->d) != 0) {
		set(g, VERIFY_PERMERROR, "key t=s and i= in a subdomain");
		return -1;
	}
	return 0;
}

static void
check(struct verify *v, struct verify_sig *g, long long now,
    verify_txt_fn *txt, void *arg)
{
	struct verify_key *k;
	struct verify_body *b = &v->bodies[g->body];
	unsigned char d[SHA256_DIGEST_SIZE];
	int ok;

	/* §6.1.1: the times, before any lookup. */
	if (g->x != -1 && g->x < now) {
		set(g, VERIFY_PERMERROR, "signature expired, x=");
		return;
	}
	if (g->t != -1 && g->t > now + VERIFY_CLOCK_SKEW) {
		set(g, VERIFY_PERMERROR, "signature dated in the future, t=");
		return;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		set(g, VERIFY_TEMPERROR, "out of memory");
		return;
	}
	if (verify_sig_key(g, txt, arg, k) == -1)
		goto out;
	/* §6.1.3: the body hash first. */
	if (b->len < b->limit && g->l != ULLONG_MAX) {
		set(g, VERIFY_FAIL, "body shorter than l=");
		goto testing;
	}
	if (g->bhlen != (b->sha1 ? SHA1_DIGEST_SIZE : SHA256_DIGEST_SIZE) ||
	    sodium_memcmp(g->bh, b->digest, g->bhlen) != 0) {
		set(g, VERIFY_FAIL, "body hash mismatch");
		goto testing;
	}
	if (verify_sig_digest(&v->h, g, d) == -1) {
		set(g, VERIFY_TEMPERROR, "out of memory");
		goto out;
	}
	if ((ok = verify_sig_check(g, k, d)) == -1)
		goto out;
	if (!ok)
		set(g, VERIFY_FAIL, "signature did not verify");
	else if (g->alg == VERIFY_RSA_SHA1)
		set(g, VERIFY_POLICY, "rsa-sha1 is not accepted, RFC 8301");
	else if (g->l != ULLONG_MAX && b->len > g->l)
		set(g, VERIFY_POLICY, "body has unsigned bytes beyond l=");
	else
		set(g, VERIFY_PASS, "");
testing:
	if (k->testing) {
		char r[VERIFY_REASON_MAX];

		str_fmt_cut(r, sizeof(r), "key in testing mode t=y, %s",
		    g->result == VERIFY_PASS ? "good signature" :
		    g->reason);
		set(g, VERIFY_NEUTRAL, r);
	}
out:
	free(k);
}

void
verify_finish(struct verify *v, long long now, verify_txt_fn *txt,
    void *arg)
{
	size_t i;

	for (i = 0; i < v->nbody; i++) {
		struct verify_body *b = &v->bodies[i];

		canon_body_final(&b->c);
		if (b->sha1)
			sha1_digest(&b->h.s1, SHA1_DIGEST_SIZE, b->digest);
		else
			sha256_digest(&b->h.s256, SHA256_DIGEST_SIZE,
			    b->digest);
	}
	for (i = 0; i < v->nsig; i++)
		if (v->sig[i].result == VERIFY_NONE)
			check(v, &v->sig[i], now, txt, arg);
}

/* --- reading a message ------------------------------------------- */

int
verify_read(struct verify *v, int fd, char *hbuf)
{
	size_t n, hlen, body;
	char *io;
	ssize_t got;

	if (hdr_read(fd, hbuf, VERIFY_HEADER_MAX, &n, &hlen, &body) == -1 ||
	    verify_header(v, hbuf, hlen) == -1)
		return -1;
	verify_body(v, hbuf + body, n - body);
	if ((io = malloc(VERIFY_IO)) == NULL)
		return -1;
	do {
		do
			got = read(fd, io, VERIFY_IO);
		while (got == -1 && errno == EINTR);
		if (got > 0)
			verify_body(v, io, (size_t)got);
	} while (got > 0);
	free(io);
	return got == 0 ? 0 : -1;
}

/* --- Authentication-Results ---------------------------------------- */

/* A value as RFC 8601 §2.2 takes it: a token as it is, anything else
 * (the '/' and '=' of base64, say) as a quoted-string. */
int
verify_ar_value(struct str *o, const char *s)
{
	const char *p;
	int tok = s[0] != '\0';

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 ||
		    strchr("()<>@,;:\\\"/[]?=", *p) != NULL)
			tok = 0;
	/* An address-like i= is a value as it stands (RFC 8601 §2.2
	 * pvalue): token characters, dots and one '@'. */
	if (!tok && s[0] != '\0' && (p = strchr(s, '@')) != NULL &&
	    strchr(p + 1, '@') == NULL && p[1] != '\0' &&
	    strpbrk(s, "()<>,;:\\\"/[]?= \t") == NULL) {
		for (p = s; *p != '\0' && (unsigned char)*p > ' ' &&
		    (unsigned char)*p < 127; p++)
			;
		tok = *p == '\0';
	}
	if (tok)
		return str_appends(o, s);
	if (str_appendc(o, '"') == -1)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\') && str_appendc(o, '\\') == -1)
			return -1;
		if (str_appendc(o, (unsigned char)*p < ' ' ? '?' : *p) == -1)
			return -1;
	}
	return str_appendc(o, '"');
}

/* A comment's text (RFC 5322 §3.2.2): parentheses and backslashes
 * escaped, control bytes shown as '?'. */
int
verify_ar_comment(struct str *o, const char *s)
{
	if (str_appends(o, " (") == -1)
		return -1;
	for (; *s != '\0'; s++) {
		if ((*s == '(' || *s == ')' || *s == '\\') &&
		    str_appendc(o, '\\') == -1)
			return -1;
		if (str_appendc(o, (unsigned char)*s < ' ' ||
		    (unsigned char)*s == 127 ? '?' : *s) == -1)
			return -1;
	}
	return str_appendc(o, ')');
}

static int
ar_prop(struct str *o, const char *name, const char *val)
{
	if (val[0] == '\0')
		return 0;
	if (str_appendf(o, " header.%s=", name) == -1)
		return -1;
	return verify_ar_value(o, val);
}

int
verify_ar(const struct verify *v, struct str *o)
{
	size_t save = o->len, i;

	if (v->nsig == 0)
		return str_appends(o, "dkim=none");
	for (i = 0; i < v->nsig; i++) {
		const struct verify_sig *g = &v->sig[i];

		if (i > 0 && str_appends(o, "; ") == -1)
			goto fail;
		if (str_appendf(o, "dkim=%s", verify_result_name(g->result))
		    == -1)
			goto fail;
		if (g->reason[0] != '\0' && verify_ar_comment(o, g->reason)
		    == -1)
			goto fail;
		if (ar_prop(o, "d", g->d) == -1 ||
		    ar_prop(o, "i", g->i) == -1 ||
		    ar_prop(o, "s", g->s) == -1 ||
		    ar_prop(o, "a", g->a) == -1 ||
		    ar_prop(o, "b", g->b8) == -1)
			goto fail;
	}
	return 0;
fail:
	str_truncate(o, save);
	errno = ENOBUFS;
	return -1;
}
