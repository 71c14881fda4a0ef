/* tlsa.c — TLSA records for SMTP (tlsa.h): the usable subset of RFC
 * 7672 §3.1 and the match of a certificate chain against it.  Our own
 * matching rather than libgnutls-dane's: that one wants to do the DNS
 * lookup itself (through its own libunbound context) and knows nothing
 * of SMTP's rules (PKIX usages unusable, no name check for DANE-EE,
 * the MX host name as a second reference identifier).  Digests come
 * from libsodium, certificates are parsed and chains verified by GnuTLS. */

#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "str.h"
#include "tlsa.h"

static const char *
usage_name(unsigned u)
{
	return u == TLSA_DANE_TA ? "DANE-TA(2)" : "DANE-EE(3)";
}

static const char *
selector_name(unsigned s)
{
	return s == TLSA_SEL_SPKI ? "SPKI(1)" : "Cert(0)";
}

static const char *
mtype_name(unsigned m)
{
	switch (m) {
	case TLSA_MATCH_SHA256:
		return "SHA2-256(1)";
	case TLSA_MATCH_SHA512:
		return "SHA2-512(2)";
	default:
		return "Full(0)";
	}
}

int
tlsa_add(struct tlsa_set *set, const unsigned char *rd, size_t len)
{
	struct tlsa_rr *r;
	size_t dlen;

	if (len < 4 || set->n == TLSA_RECORDS_MAX)
		goto unusable;
	dlen = len - 3;
	/* RFC 7672 §3.1.3: PKIX-TA and PKIX-EE are unusable for SMTP, as
	 * are unknown usages, selectors and matching types. */
	if ((rd[0] != TLSA_DANE_TA && rd[0] != TLSA_DANE_EE) ||
	    rd[1] > TLSA_SEL_SPKI || rd[2] > TLSA_MATCH_SHA512)
		goto unusable;
	if ((rd[2] == TLSA_MATCH_SHA256 && dlen != crypto_hash_sha256_BYTES) ||
	    (rd[2] == TLSA_MATCH_SHA512 && dlen != crypto_hash_sha512_BYTES) ||
	    dlen > TLSA_DATA_MAX)
		goto unusable;
	r = &set->rr[set->n++];
	r->usage = rd[0];
	r->selector = rd[1];
	r->mtype = rd[2];
	r->len = dlen;
	memcpy(r->data, rd + 3, dlen);
	return 1;
unusable:
	set->unusable++;
	return 0;
}

int
tlsa_add_name(struct tlsa_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->nnames; i++)
		if (strcasecmp(set->names[i], name) == 0)
			return 0;
	if (set->nnames == TLSA_NAMES_MAX ||
	    str_copy(set->names[set->nnames], sizeof(set->names[0]),
	    name) == -1)
		return -1;
	set->nnames++;
	return 0;
}

/* The bytes a record's selector picks from crt (der: the certificate):
 * into *out, which the caller gnutls_free()s when *owned. */
static int
selected(gnutls_x509_crt_t crt, const struct tlsa_cert *der, unsigned sel,
    gnutls_datum_t *out, int *owned)
{
	gnutls_pubkey_t pub = NULL;
	int rc = -1;

	*owned = 0;
	if (sel == TLSA_SEL_CERT) {
		out->data = (unsigned char *)der->der;
		out->size = (unsigned)der->len;
		return 0;
	}
	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	if (gnutls_pubkey_import_x509(pub, crt, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, out) < 0)
		goto out;
	*owned = 1;
	rc = 0;
out:
	gnutls_pubkey_deinit(pub);
	return rc;
}

/* 1 if r matches the certificate crt (DER in der), 0 if not. */
static int
rr_matches(const struct tlsa_rr *r, gnutls_x509_crt_t crt,
    const struct tlsa_cert *der)
{
	unsigned char md[crypto_hash_sha512_BYTES];
	gnutls_datum_t d;
	int owned, ok = 0;

	if (selected(crt, der, r->selector, &d, &owned) == -1)
		return 0;
	switch (r->mtype) {
	case TLSA_MATCH_FULL:
		ok = d.size == r->len && memcmp(d.data, r->data, r->len) == 0;
		break;
	case TLSA_MATCH_SHA256:
		crypto_hash_sha256(md, d.data, d.size);
		ok = sodium_memcmp(md, r->data, crypto_hash_sha256_BYTES) == 0;
		break;
	case TLSA_MATCH_SHA512:
		crypto_hash_sha512(md, d.data, d.size);
		ok = sodium_memcmp(md, r->data, crypto_hash_sha512_BYTES) == 0;
		break;
	}
	if (owned)
		gnutls_free(d.data);
	return ok;
}

/* certs[0..k) verify up to crts[k] as the trust anchor: 1, or 0 with
 * why.  The anchor is taken as it is, self-signed or not (RFC 7671
 * §5.2.2: an intermediate CA may be the TA). */
static int
chain_ok(gnutls_x509_crt_t *crts, size_t k, char *why, size_t whysize)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t ta;
	gnutls_datum_t out = { NULL, 0 };
	unsigned status = 0;
	int ok = 0;

	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		return 0;
	/* The list would free the anchor with itself: give it its own. */
	if (gnutls_x509_crt_init(&ta) < 0)
		goto out;
	{
		gnutls_datum_t der = { NULL, 0 };

		if (gnutls_x509_crt_export2(crts[k], GNUTLS_X509_FMT_DER,
		    &der) < 0 || gnutls_x509_crt_import(ta, &der,
		    GNUTLS_X509_FMT_DER) < 0) {
			gnutls_free(der.data);
			gnutls_x509_crt_deinit(ta);
			goto out;
		}
		gnutls_free(der.data);
	}
	if (gnutls_x509_trust_list_add_cas(tl, &ta, 1, 0) != 1) {
		gnutls_x509_crt_deinit(ta);
		goto out;
	}
	if (gnutls_x509_trust_list_verify_crt2(tl, crts, (unsigned)k, NULL,
	    0, 0, &status, NULL) < 0) {
		str_fmt_cut(why, whysize, "the chain to the DANE-TA "
		    "certificate does not verify");
		goto out;
	}
	if (status != 0) {
		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &out, 0) == 0 && out.data != NULL)
			str_fmt_cut(why, whysize, "the chain to the DANE-TA "
			    "certificate does not verify: %s",
			    (const char *)out.data);
		else
			str_fmt_cut(why, whysize, "the chain to the DANE-TA "
			    "certificate does not verify (0x%x)", status);
		gnutls_free(out.data);
		goto out;
	}
	ok = 1;
out:
	gnutls_x509_trust_list_deinit(tl, 1);
	return ok;
}

static int
name_ok(const struct tlsa_set *set, gnutls_x509_crt_t leaf)
{
	size_t i;

	for (i = 0; i < set->nnames; i++)
		if (gnutls_x509_crt_check_hostname2(leaf, set->names[i], 0))
			return 1;
	return 0;
}

int
tlsa_match(const struct tlsa_set *set, const struct tlsa_cert *certs,
    size_t n, char *why, size_t whysize)
{
	gnutls_x509_crt_t crts[TLSA_CHAIN_MAX];
	gnutls_datum_t d;
	const struct tlsa_rr *r = NULL;
	char ta_why[256] = "";
	size_t i, k, got = 0;
	int matched = 0, ta_seen = 0;

	if (n > TLSA_CHAIN_MAX)
		n = TLSA_CHAIN_MAX;
	for (got = 0; got < n; got++) {
		d.data = (unsigned char *)certs[got].der;
		d.size = (unsigned)certs[got].len;
		if (gnutls_x509_crt_init(&crts[got]) < 0)
			break;
		if (gnutls_x509_crt_import(crts[got], &d,
		    GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[got]);
			break;
		}
	}
	if (got == 0) {
		str_fmt_cut(why, whysize, "no certificate from the peer");
		goto out;
	}
	/* DANE-EE first: the peer's own certificate, nothing else. */
	for (i = 0; i < set->n && !matched; i++) {
		r = &set->rr[i];
		if (r->usage == TLSA_DANE_EE && rr_matches(r, crts[0],
		    &certs[0]))
			matched = 1;
	}
	for (i = 0; i < set->n && !matched; i++) {
		r = &set->rr[i];
		if (r->usage != TLSA_DANE_TA)
			continue;
		for (k = 1; k < got && !matched; k++) {
			if (!rr_matches(r, crts[k], &certs[k]))
				continue;
			ta_seen = 1;
			if (!chain_ok(crts, k, ta_why, sizeof(ta_why)))
				continue;
			if (!name_ok(set, crts[0])) {
				str_fmt_cut(ta_why, sizeof(ta_why),
				    "the certificate is not for %s",
				    set->nnames > 0 ? set->names[0] : "?");
				continue;
			}
			matched = 1;
		}
	}
	if (matched)
		str_fmt_cut(why, whysize, "%s %s %s", usage_name(r->usage),
		    selector_name(r->selector), mtype_name(r->mtype));
	else if (ta_seen)
		str_fmt_cut(why, whysize, "%s", ta_why);
	else
		str_fmt_cut(why, whysize, "no TLSA record matches the "
		    "certificate chain");
out:
	for (i = 0; i < got; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return matched;
}
