/* dkim_verify.c — libFuzzer harness: the DKIM verifier (dkimsign/
 * verify.c).  The input is a message, then optionally a NUL and the text
 * of the key record that every key lookup gets (none: no key record).
 * The signature fields and the key record go through their parsers and
 * the whole verification, with a fixed clock; the tag-list and key
 * parsers also get the whole input alone.  What must hold: every
 * signature ends with a result, the count stays within VERIFY_SIGS_MAX,
 * and the Authentication-Results text fits its bound or says ENOBUFS. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "str.h"
#include "verify.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum {
	/* 2018-06-10, the t= of RFC 8463 A.3: no dependence on the
	 * clock. */
	NOW = 1528637909,
	AR_MAX = 16384
};

struct rec {
	const char	*p;
	size_t		 n;
	int		 have;
};

static enum dns_result
stub_txt(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	const struct rec *r = arg;
	size_t len;

	(void)name;
	(void)why;
	(void)whysize;
	*n = 0;
	if (!r->have || max == 0)
		return DNS_NXDOMAIN;
	/* What dns_txt gives: printable text, cut at the bound. */
	len = r->n < DNS_TXT_LEN_MAX ? r->n : DNS_TXT_LEN_MAX;
	memcpy(out[0].text, r->p, len);
	out[0].text[len] = '\0';
	out[0].cut = r->n > DNS_TXT_LEN_MAX;
	*n = 1;
	return DNS_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct verify v;
	static struct verify_tag t[VERIFY_TAGS_MAX];
	static struct verify_key k;
	static char ar[AR_MAX];
	const char *s = (const char *)data, *sep, *nul;
	struct rec r = { NULL, 0, 0 };
	struct str o;
	size_t n, mlen = size, hlen, body, i;
	char why[64];

	(void)verify_tags(s, size, t, VERIFY_TAGS_MAX, &n);
	if (n > VERIFY_TAGS_MAX)
		abort();
	(void)verify_key_parse(s, size, &k, why, sizeof(why));
	if (k.plen > sizeof(k.p))
		abort();

	if ((nul = memchr(s, '\0', size)) != NULL) {
		mlen = (size_t)(nul - s);
		r.p = nul + 1;
		r.n = size - mlen - 1;
		r.have = 1;
	}
	/* The header ends at the first empty line (LF or CRLF). */
	hlen = body = mlen;
	for (sep = s; (sep = memchr(sep, '\n', (size_t)(s + mlen - sep))) !=
	    NULL; sep++) {
		if (sep + 1 < s + mlen && sep[1] == '\n') {
			hlen = (size_t)(sep - s) + 1;
			body = hlen + 1;
			break;
		}
		if (sep + 2 < s + mlen && sep[1] == '\r' && sep[2] == '\n') {
			hlen = (size_t)(sep - s) + 1;
			body = hlen + 2;
			break;
		}
	}
	if (verify_header(&v, s, hlen) == -1)
		return 0;
	if (v.nsig > VERIFY_SIGS_MAX || v.nsig > v.nfields)
		abort();
	/* In two pieces, to cross the canonicalizers' state. */
	verify_body(&v, s + body, (mlen - body) / 2);
	verify_body(&v, s + body + (mlen - body) / 2, mlen - body -
	    (mlen - body) / 2);
	verify_finish(&v, NOW, stub_txt, &r);
	for (i = 0; i < v.nsig; i++)
		if (v.sig[i].result == VERIFY_NONE ||
		    v.sig[i].result > VERIFY_PERMERROR)
			abort();
	str_init(&o, ar, sizeof(ar));
	if (verify_ar(&v, &o) == -1 && errno != ENOBUFS)
		abort();
	return 0;
}
