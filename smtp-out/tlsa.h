/* tlsa.h — TLSA records (RFC 6698) as SMTP uses them (RFC 7672, RFC
 * 7671): which records are usable, and whether a peer's certificate
 * chain matches them.  Pure functions over DER bytes, with no DNS and no
 * session, so that the tests feed them canned certificates and records;
 * dane.c looks the records up, tlsc.c calls tlsa_match after the
 * handshake. */
#ifndef POSTHORN_TLSA_H
#define POSTHORN_TLSA_H

#include <stddef.h>
#include <stdint.h>

enum {
	/* RFC 6698 §2.1: the usages, selectors and matching types. */
	TLSA_PKIX_TA = 0, TLSA_PKIX_EE = 1, TLSA_DANE_TA = 2, TLSA_DANE_EE = 3,
	TLSA_SEL_CERT = 0, TLSA_SEL_SPKI = 1,
	TLSA_MATCH_FULL = 0, TLSA_MATCH_SHA256 = 1, TLSA_MATCH_SHA512 = 2,
	/* The association data kept: a full certificate (matching type 0)
	 * of a few KB is rare but legal; anything longer is not used. */
	TLSA_DATA_MAX = 4096,
	TLSA_RECORDS_MAX = 16,	/* usable records kept for one host */
	TLSA_NAMES_MAX = 4,	/* reference identifiers (RFC 7672 §3.2.2) */
	TLSA_CHAIN_MAX = 16	/* certificates of a chain looked at */
};

struct tlsa_rr {
	uint8_t		usage, selector, mtype;
	size_t		len;
	unsigned char	data[TLSA_DATA_MAX];
};

struct tlsa_set {
	size_t		n;		/* usable records */
	size_t		unusable;	/* records seen and left out */
	struct tlsa_rr	rr[TLSA_RECORDS_MAX];
	/* The names a DANE-TA chain's leaf must carry (any one of them):
	 * the TLSA base domain, then the MX host name if it differs. */
	size_t		nnames;
	char		names[TLSA_NAMES_MAX][256];
};

/* Add the record with rdata rd[0..len) to set if it is usable for SMTP:
 * DANE-TA(2) or DANE-EE(3) (RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1)
 * are unusable), selector 0 or 1, matching type 0, 1 or 2 with the
 * digest's length.  1 if added, 0 if counted as unusable (or set is
 * full, or rd malformed). */
int	tlsa_add(struct tlsa_set *, const unsigned char *rd, size_t len);
/* A reference identifier for DANE-TA's name check: 0, or -1 (full, or
 * too long). */
int	tlsa_add_name(struct tlsa_set *, const char *name);

/* The peer's chain, certs[0] its own certificate (DER), against set:
 *   DANE-EE: certs[0]'s key or certificate matches; no name, expiry or
 *            issuer check (RFC 7672 §3.1.1);
 *   DANE-TA: some certs[i], i >= 1, matches, the chain certs[0..i)
 *            verifies up to it (signatures, validity times), and
 *            certs[0] carries one of set's names (RFC 7672 §3.2.2-3,
 *            a wildcard in the first label allowed).
 * 1 on a match, with the record that matched in why ("DANE-EE(3) SPKI(1)
 * SHA-256(1)"); 0 with the reason in why. */
struct tlsa_cert {
	const unsigned char	*der;
	size_t			 len;
};
int	tlsa_match(const struct tlsa_set *, const struct tlsa_cert *certs,
	    size_t n, char *why, size_t whysize);

#endif
