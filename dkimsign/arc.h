/* arc.h — ARC (RFC 8617) for a forwarder: the ARC sets a message
 * already carries, validated as far as the next sealer needs (its cv=),
 * and the next set made: ARC-Authentication-Results,
 * ARC-Message-Signature and ARC-Seal, with a DKIM key of the forwarding
 * domain.
 *
 * Nothing is written twice: the fields are canonicalized by canon.c,
 * the AMS is a DKIM-Signature of sign.c with "i=N" for "v=1", the seal
 * is signed by sign_finish, and the signatures of the sets already there
 * are checked with verify.c's parser, key lookup and signature check.
 * Everything lives in one struct arc that the caller owns; the header
 * block is given whole (and must stay until arc_seal), the body in
 * pieces. */
#ifndef POSTHORN_DKIM_ARC_H
#define POSTHORN_DKIM_ARC_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "canon.h"
#include "hdr.h"
#include "keys.h"
#include "sign.h"
#include "str.h"
#include "verify.h"

enum {
	/* RFC 8617 §4.2.1: instances go from 1 to 50; a message with 50
	 * sets cannot take another. */
	ARC_SETS_MAX = VERIFY_ARC_MAX,
	ARC_REASON_MAX = 128,
	/* RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. */
	ARC_WIDTH = SIGN_WIDTH,
	/* The three fields of one set: a seal and an AMS of a 4096-bit
	 * key, some hundreds of bytes each plus the AMS's h=, and the
	 * results, which smtp-in's checks bound to one line. */
	ARC_SET_MAX = 32 * 1024
};

/* What the chain is worth to the next sealer (RFC 8617 §4.4, §5.2). */
enum arc_cv {
	ARC_CV_NONE = 0,	/* no ARC set: the next is i=1, cv=none */
	ARC_CV_PASS,		/* every seal and the newest AMS verify */
	ARC_CV_FAIL,		/* broken, tampered with, or already failed */
	ARC_CV_TEMP		/* a key could not be fetched for now */
};

/* The fields of one instance, by their index in the header; -1 none. */
struct arc_set {
	long	aar, ams, seal;
};

struct arc {
	struct hdr		 h;
	unsigned		 n;		/* highest instance found */
	struct arc_set		 set[ARC_SETS_MAX + 1];	/* [1..n] */
	int			 broken;	/* structure: why says why */
	enum arc_cv		 cv;		/* after arc_finish */
	char			 why[ARC_REASON_MAX];
	/* The newest AMS and its body hash, in its canonicalization. */
	struct verify_sig	 ams;
	struct canon_body	 theirs;
	crypto_hash_sha256_state theirs_h;
	unsigned long long	 theirs_len;
	/* Our AMS's body hash: relaxed, SHA-256, in base64 after
	 * arc_finish. */
	struct sign_body	 ours;
	char			 bh[SIGN_BH_LEN];
};

/* Take the header block (its lines with their line ends, without the
 * empty line after them): find the ARC sets and check their structure
 * (RFC 8617 §5.2 steps 1-3: every instance 1..N has exactly one field of
 * each kind, i=1 says cv=none and the others cv=pass).  buf must stay
 * until arc_seal.  0, or -1 with E2BIG (more than HDR_FIELDS_MAX
 * fields). */
int	arc_header(struct arc *, const char *buf, size_t len);
/* The next piece of the body, cut anywhere. */
void	arc_body(struct arc *, const void *, size_t);
/* The end of the body: the chain's value in a->cv, with the reason of
 * anything but pass or none in a->why.  Keys are asked of txt(arg, ...)
 * (verify.h), as a DKIM verifier asks them. */
void	arc_finish(struct arc *, verify_txt_fn *txt, void *arg);
/* Key lookups for arc_finish that all end within a time: each asks
 * txt(arg, ...) while ms milliseconds (clock_ms) have not passed since
 * arc_budget_start, and is DNS_TEMP once they have, so that a chain of
 * 50 sets whose keys each answer just before the lookup's timeout costs
 * its validator the budget, not 51 timeouts.  arc_budget_txt is a
 * verify_txt_fn with the budget for arg. */
struct arc_budget {
	verify_txt_fn	*txt;
	void		*arg;
	int64_t		 end;		/* clock_ms() */
};

void	arc_budget_start(struct arc_budget *, verify_txt_fn *txt, void *arg,
	    unsigned ms);
enum dns_result arc_budget_txt(void *budget, const char *name,
	    struct dns_text *out, size_t max, size_t *n, char *why,
	    size_t whysize);
/* The "cv=" word of the next set for a chain of this value: "none" or
 * "pass", or NULL when no set may be added (a failed chain, RFC 8617
 * §5.1.2; 50 sets already; a key not fetched for now). */
const char *arc_next_cv(const struct arc *);
/* Append the next ARC set (instance a->n + 1), top down ARC-Seal,
 * ARC-Message-Signature, ARC-Authentication-Results, each line ended
 * with the line end of the message, signed as domain with key k at
 * time t; authres is the body of the checks' Authentication-Results
 * field ("authserv-id; results", or NULL or "" for none, which makes
 * "hostname; none").  After arc_finish, when arc_next_cv is not NULL.
 * 0, or -1 with errno: ENOBUFS (out too small), EIO (signing), ENOMEM,
 * EINVAL (no set may be added, or the header has none of the fields
 * sign_hlist signs). */
int	arc_seal(struct arc *, const char *domain, const struct keys_key *k,
	    long long t, const char *authres, const char *hostname,
	    struct str *out);
/* Append the ARC-Authentication-Results field of instance i: "i=N; "
 * then authres (or "hostname; none" without it), with "arc=RESULT"
 * added to its results when arcres is not NULL, folded at ARC_WIDTH
 * columns between results, each line ended with eol.  0, or -1 with
 * ENOBUFS or EINVAL (authres has a CR or LF). */
int	arc_aar(struct str *out, unsigned i, const char *authres,
	    const char *hostname, const char *arcres, const char *eol);
/* The key to seal with among keys[n] (keys_load_dir's order): the first
 * RSA key, which every ARC verifier knows (RFC 8617 §4.1.3 names
 * rsa-sha256 alone), else the first key; NULL when n is 0. */
const struct keys_key *arc_pick_key(const struct keys_key *, size_t n);
const char *arc_cv_name(enum arc_cv);

#endif
