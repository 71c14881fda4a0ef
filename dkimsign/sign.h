/* sign.h — the DKIM-Signature field (RFC 6376 §3.5, RFC 8463): which
 * header fields are signed, the body hash, the tags and their folding,
 * and the b= value.  Everything works on a header block already in memory
 * and a body fed in pieces; reading and writing the message is
 * filter.c's. */
#ifndef POSTHORN_DKIM_SIGN_H
#define POSTHORN_DKIM_SIGN_H

#include <stddef.h>
#include <time.h>

#include <sodium.h>

#include "canon.h"
#include "hdr.h"
#include "keys.h"
#include "str.h"

enum {
	/* A List-* field name longer than this is not signed. */
	SIGN_NAME_MAX = 64,
	/* Entries of h=: every field signed, plus one per oversigned
	 * name. */
	SIGN_H_MAX = HDR_FIELDS_MAX + 16,
	/* RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. */
	SIGN_WIDTH = 78,
	/* base64 of a SHA-256 digest, with its NUL */
	SIGN_BH_LEN = 45
};

struct sign_hname {
	const char	*s;
	size_t		 len;
};

/* The domain of the first address of the first From: field, lowercased,
 * into dom[cap].  0, or -1: ENOENT (no From: or no address in it), EINVAL
 * (no domain), ENAMETOOLONG. */
int	sign_from_domain(const struct hdr *, char *dom, size_t cap);
/* The h= list for this header: From, To, Cc, Subject, Date, Message-ID,
 * Reply-To, In-Reply-To, References, MIME-Version, Content-Type,
 * Content-Transfer-Encoding and List-*, once per field present; From, To,
 * Cc, Subject, Date, Reply-To and the three MIME fields once more when
 * present (oversigning: a copy added later breaks the signature).
 * Returns the number of entries, at most max. */
size_t	sign_hlist(const struct hdr *, struct sign_hname *, size_t max);
/* Start st and feed it the relaxed canonical form of the fields h names,
 * taking the instances of a repeated name from the bottom up and nothing
 * for a name with no instance left (RFC 6376 §5.4.2).  0, or -1 with
 * ENOMEM. */
int	sign_header_hash(const struct hdr *, const struct sign_hname *,
	    size_t n, crypto_hash_sha256_state *st);

/* The body hash: relaxed canonical body through SHA-256. */
struct sign_body {
	struct canon_body		c;
	crypto_hash_sha256_state	h;
};
void	sign_body_init(struct sign_body *);
void	sign_body_update(struct sign_body *, const void *, size_t);
/* bh[SIGN_BH_LEN]: the base64 of the digest. */
void	sign_body_final(struct sign_body *, char bh[SIGN_BH_LEN]);

struct sign_tags {
	const char	*domain;	/* d= */
	long long	 t;		/* t=, or -1 for none */
	const char	*bh;
	const struct sign_hname *h;
	size_t		 nh;
	size_t		 width;		/* fold lines at this many columns */
	const char	*eol;		/* the line end of the message */
	/* ARC (RFC 8617 §4.1): zero for a DKIM-Signature.  instance > 0
	 * makes an ARC-Message-Signature, "i=N;" where DKIM has "v=1;";
	 * with cv (none, pass or fail) as well, an ARC-Seal: "i=N;
	 * cv=...;" and neither c=, h= nor bh= (§4.1.3). */
	unsigned	 instance;
	const char	*cv;
};

/* Append "DKIM-Signature: v=1; a=...; c=relaxed/relaxed; d=; s=; t=;
 * h=; bh=;" folded, and "b=" on a line of its own (the ARC fields as
 * sign_tags says). */
int	sign_prefix(struct str *, const struct sign_tags *,
	    const struct keys_key *);
/* out holds, from start on, a DKIM-Signature field up to and including
 * "b=" (any tags, any folding).  Sign it: hdr is the state after sign_header_hash; the
 * field is added in its relaxed form without its CRLF (RFC 6376 §3.7),
 * and the base64 of the signature appended, folded at width columns with
 * eol, then a final eol.  0, or -1 (ENOBUFS, EIO). */
int	sign_finish(struct str *out, size_t start,
	    const crypto_hash_sha256_state *hdr, const struct keys_key *,
	    size_t width, const char *eol);

#endif
