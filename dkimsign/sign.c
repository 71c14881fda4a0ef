/* sign.c — what goes into a DKIM-Signature field and how b= is made
 * (RFC 6376 §3.5, §3.7, §5; RFC 8463).  Both algorithms share one body
 * hash and one hash state of the signed header fields; only the field
 * itself (a=, s=) differs per key, so a second signature costs one more
 * hash of a few hundred bytes and the private-key operation.
 *
 * Which fields are signed is fixed here, not configurable: the ones a
 * reader sees and a replay would want to change (RFC 6376 §5.4.1), each
 * as many times as it occurs, and the ones whose second copy would
 * change what a reader sees (From, To, Cc, Subject, Date, Reply-To, the
 * MIME fields) once more, so that adding a copy breaks the signature.
 * l= is never used: a body length limit lets anyone append to the body. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canon.h"
#include "hdr.h"
#include "keys.h"
#include "mailhdr.h"
#include "sign.h"
#include "str.h"

static const struct {
	const char	*name;
	int		 over;		/* oversigned when present */
} signed_fields[] = {
	{ "from", 1 },
	{ "to", 1 },
	{ "cc", 1 },
	{ "subject", 1 },
	{ "date", 1 },
	{ "message-id", 0 },
	{ "reply-to", 1 },
	{ "in-reply-to", 0 },
	{ "references", 0 },
	{ "mime-version", 1 },
	{ "content-type", 1 },
	{ "content-transfer-encoding", 1 }
};

#define LIST_PREFIX	"list-"		/* RFC 2369, RFC 2919, RFC 8058 */

struct first_addr {
	char	a[512];
	int	found;
};

static int
first_addr_cb(void *arg, const char *addr, size_t len)
{
	struct first_addr *fa = arg;

	if (len >= sizeof(fa->a))
		return -1;
	memcpy(fa->a, addr, len);
	fa->a[len] = '\0';
	fa->found = 1;
	return 1;		/* the first one is enough */
}

int
sign_from_domain(const struct hdr *h, char *dom, size_t cap)
{
	struct first_addr fa;
	const char *value, *at;
	size_t i;

	for (i = 0; i < h->n; i++) {
		const struct hdr_field *f = &h->f[i];

		if (!mailhdr_is(h->buf + f->off, f->len, "From", &value))
			continue;
		fa.found = 0;
		if (mailhdr_addresses(value, f->len - (size_t)(value -
		    (h->buf + f->off)), first_addr_cb, &fa) == -1 ||
		    !fa.found) {
			errno = ENOENT;
			return -1;
		}
		if ((at = strrchr(fa.a, '@')) == NULL || at[1] == '\0') {
			errno = EINVAL;
			return -1;
		}
		if (str_copy(dom, cap, at + 1) == -1) {
			errno = ENAMETOOLONG;
			return -1;
		}
		str_lower(dom);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

static size_t
count(const struct hdr *h, const char *name, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < h->n; i++)
		n += hdr_name_is(h, i, name, len);
	return n;
}

size_t
sign_hlist(const struct hdr *h, struct sign_hname *out, size_t max)
{
	size_t k, i, j, c, n = 0, pl = strlen(LIST_PREFIX);

	for (k = 0; k < sizeof(signed_fields) / sizeof(signed_fields[0]);
	    k++) {
		const char *name = signed_fields[k].name;
		size_t len = strlen(name);

		c = count(h, name, len);
		if (c > 0 && signed_fields[k].over)
			c++;
		for (; c > 0 && n < max; c--) {
			out[n].s = name;
			out[n++].len = len;
		}
	}
	for (i = 0; i < h->n; i++) {
		const struct hdr_field *f = &h->f[i];
		const char *name = h->buf + f->off;

		if (f->namelen <= pl || f->namelen > SIGN_NAME_MAX ||
		    strncasecmp(name, LIST_PREFIX, pl) != 0)
			continue;
		for (j = 0; j < i; j++)
			if (hdr_name_is(h, j, name, f->namelen))
				break;
		if (j < i)
			continue;	/* listed with its first instance */
		for (c = count(h, name, f->namelen); c > 0 && n < max; c--) {
			out[n].s = name;
			out[n++].len = f->namelen;
		}
	}
	return n;
}

int
sign_header_hash(const struct hdr *h, const struct sign_hname *hn,
    size_t n, crypto_hash_sha256_state *st)
{
	struct str c;
	char *mem;
	size_t k, j, i, occ, maxlen = 0;
	long idx;

	for (i = 0; i < h->n; i++)
		if (h->f[i].len > maxlen)
			maxlen = h->f[i].len;
	/* The relaxed form is never longer than the field, plus CRLF. */
	if ((mem = malloc(maxlen + 3)) == NULL)
		return -1;
	str_init(&c, mem, maxlen + 3);
	crypto_hash_sha256_init(st);
	for (k = 0; k < n; k++) {
		for (occ = 0, j = 0; j < k; j++)
			occ += hn[j].len == hn[k].len &&
			    strncasecmp(hn[j].s, hn[k].s, hn[k].len) == 0;
		/* The occ-th instance from the bottom, if there is one. */
		if ((idx = hdr_pick(h, hn[k].s, hn[k].len, occ)) == -1)
			continue;
		str_reset(&c);
		if (canon_header_relaxed(h->buf + h->f[idx].off,
		    h->f[idx].len, &c) == -1) {
			free(mem);
			return -1;
		}
		crypto_hash_sha256_update(st, (const unsigned char *)c.s,
		    c.len);
	}
	free(mem);
	return 0;
}

static void
body_sink(void *arg, const void *p, size_t n)
{
	crypto_hash_sha256_update(arg, p, n);
}

void
sign_body_init(struct sign_body *b)
{
	crypto_hash_sha256_init(&b->h);
	canon_body_init(&b->c, 1, body_sink, &b->h);
}

void
sign_body_update(struct sign_body *b, const void *p, size_t n)
{
	canon_body_update(&b->c, p, n);
}

void
sign_body_final(struct sign_body *b, char bh[SIGN_BH_LEN])
{
	unsigned char d[crypto_hash_sha256_BYTES];

	canon_body_final(&b->c);
	crypto_hash_sha256_final(&b->h, d);
	sodium_bin2base64(bh, SIGN_BH_LEN, d, sizeof(d),
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Greedy folding of tag=value tokens into lines of at most width
 * columns; a token longer than a line gets a line of its own. */
struct fold {
	struct str	*o;
	size_t		 col;
	size_t		 width;
	const char	*eol;
	int		 fresh;		/* nothing yet on this continuation */
};

static int
fold_break(struct fold *f)
{
	if (str_appends(f->o, f->eol) == -1 || str_appendc(f->o, ' ') == -1)
		return -1;
	f->col = 1;
	f->fresh = 1;
	return 0;
}

/* glue: the token continues the previous one (h= names after the
 * first); a fold between them is FWS, which h= allows around ':'. */
static int
fold_put(struct fold *f, const char *tok, size_t len, int glue)
{
	size_t need = len + (glue ? 0 : 1);

	if (!f->fresh && f->col + need > f->width && fold_break(f) == -1)
		return -1;
	if (!f->fresh && !glue) {
		if (str_appendc(f->o, ' ') == -1)
			return -1;
		f->col++;
	}
	if (str_append(f->o, tok, len) == -1)
		return -1;
	f->col += len;
	f->fresh = 0;
	return 0;
}

static int
fold_putf(struct fold *f, int glue, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fold_putf(struct fold *f, int glue, const char *fmt, ...)
{
	char tok[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tok, sizeof(tok), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tok)) {
		errno = ENOBUFS;
		return -1;
	}
	return fold_put(f, tok, (size_t)n, glue);
}

int
sign_prefix(struct str *out, const struct sign_tags *t,
    const struct keys_key *k)
{
	char tok[SIGN_NAME_MAX + 4];
	const char *name;
	struct fold f;
	size_t save = out->len, i, j, tl;

	f.o = out;
	f.width = t->width;
	f.eol = t->eol;
	f.fresh = 0;
	name = t->instance == 0 ? "DKIM-Signature:" : t->cv == NULL ?
	    "ARC-Message-Signature:" : "ARC-Seal:";
	if (str_appends(out, name) == -1)
		goto fail;
	f.col = strlen(name);
	if ((t->instance == 0 ? fold_putf(&f, 0, "v=1;") :
	    fold_putf(&f, 0, "i=%u;", t->instance)) == -1 ||
	    (t->cv != NULL && fold_putf(&f, 0, "cv=%s;", t->cv) == -1) ||
	    fold_putf(&f, 0, "a=%s;", k->type == KEYS_RSA ? "rsa-sha256" :
	    "ed25519-sha256") == -1 ||
	    (t->cv == NULL && fold_putf(&f, 0, "c=relaxed/relaxed;") == -1) ||
	    fold_putf(&f, 0, "d=%s;", t->domain) == -1 ||
	    fold_putf(&f, 0, "s=%s;", k->selector) == -1)
		goto fail;
	if (t->t >= 0 && fold_putf(&f, 0, "t=%lld;", t->t) == -1)
		goto fail;
	/* An ARC-Seal signs the ARC sets, not chosen fields or the body. */
	for (i = 0; t->cv == NULL && i < t->nh; i++) {
		tl = 0;
		if (i == 0) {
			tok[tl++] = 'h';
			tok[tl++] = '=';
		}
		for (j = 0; j < t->h[i].len && j < SIGN_NAME_MAX; j++)
			tok[tl++] = (char)str_tolower((unsigned char)
			    t->h[i].s[j]);
		tok[tl++] = i + 1 < t->nh ? ':' : ';';
		if (fold_put(&f, tok, tl, i > 0) == -1)
			goto fail;
	}
	if (t->cv == NULL && (fold_break(&f) == -1 ||
	    fold_putf(&f, 0, "bh=%s;", t->bh) == -1))
		goto fail;
	if (fold_break(&f) == -1 || fold_put(&f, "b=", 2, 0) == -1)
		goto fail;
	return 0;
fail:
	str_truncate(out, save);
	errno = ENOBUFS;
	return -1;
}

int
sign_finish(struct str *out, size_t start,
    const crypto_hash_sha256_state *hdr, const struct keys_key *k, size_t width,
    const char *eol)
{
	crypto_hash_sha256_state st = *hdr;
	unsigned char d[crypto_hash_sha256_BYTES], sig[KEYS_SIG_MAX];
	char b64[sodium_base64_ENCODED_LEN(KEYS_SIG_MAX,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct str c;
	char *mem = NULL, *nl;
	size_t save = out->len, siglen, col, room, n, off, bl;
	int rc = -1;

	if (start > out->len) {
		errno = EINVAL;
		return -1;
	}
	if ((mem = malloc(out->len - start + 3)) == NULL)
		return -1;
	str_init(&c, mem, out->len - start + 3);
	if (canon_header_relaxed(out->s + start, out->len - start, &c) == -1)
		goto out;
	/* RFC 6376 §3.7: the field itself, b= empty, without its CRLF. */
	crypto_hash_sha256_update(&st, (const unsigned char *)c.s, c.len - 2);
	crypto_hash_sha256_final(&st, d);
	if (keys_sign(k, d, sig, &siglen) == -1)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), sig, siglen,
	    sodium_base64_VARIANT_ORIGINAL);
	bl = strlen(b64);
	nl = memrchr(out->s + start, '\n', out->len - start);
	col = nl != NULL ? out->len - (size_t)(nl - out->s) - 1 :
	    out->len - start;
	for (off = 0; off < bl; off += n) {
		room = width > col ? width - col : 0;
		if (room == 0) {
			if (str_appends(out, eol) == -1 ||
			    str_appendc(out, ' ') == -1)
				goto nobufs;
			col = 1;
			room = width > 1 ? width - 1 : 1;
		}
		n = bl - off < room ? bl - off : room;
		if (str_append(out, b64 + off, n) == -1)
			goto nobufs;
		col += n;
	}
	if (str_appends(out, eol) == -1)
		goto nobufs;
	rc = 0;
	goto out;
nobufs:
	errno = ENOBUFS;
out:
	if (rc == -1)
		str_truncate(out, save);
	sodium_memzero(&st, sizeof(st));
	free(mem);
	return rc;
}
