/* verify.h — DKIM verification (RFC 6376 §6, RFC 8463, RFC 8301): every
 * DKIM-Signature field of a message checked, each with its own result in
 * the terms of RFC 8601 (pass, fail, neutral, policy, temperror,
 * permerror; none when there is no signature).
 *
 * Everything lives in one struct verify that the caller owns: no global
 * state, so a one-shot command and a resident verifier use the same code.
 * The header block is given whole (and must stay where it is until
 * verify_finish), the body in pieces as it streams; the keys are asked of
 * a TXT lookup function the caller chooses (dns_txt, a cache, a stub).
 *
 * The result policy, also in mailauth(8):
 *   pass       the signature verifies with its key, and nothing below
 *   fail       the body hash or the signature does not verify
 *   policy     it verifies, but is not acceptable: rsa-sha1 (RFC 8301
 *              §3.1 forbids it), or body bytes beyond l= that it does
 *              not cover
 *   neutral    the key is in testing mode (t=y): RFC 6376 §3.6.1 asks
 *              that such mail be treated as unsigned, whatever the
 *              signature gives
 *   permerror  the field or the key record is broken or unusable: syntax,
 *              a required tag missing, h= without From, i= outside d=,
 *              expired (x=), dated in the future (t=), no key record,
 *              a revoked key (p= empty), k=, h=, s= or t=s of the key
 *              excluding this signature, an RSA key outside 1024-4096
 *              bits
 *   temperror  the key could not be fetched for now (DNS) */
#ifndef POSTHORN_DKIM_VERIFY_H
#define POSTHORN_DKIM_VERIFY_H

#include <stddef.h>

#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "canon.h"
#include "dns.h"
#include "hdr.h"
#include "str.h"

enum {
	/* Signatures checked per message; later ones are ignored.  A
	 * message carries one or two of its author's, one or two of each
	 * list or forwarder; each costs a key lookup and a hash of the
	 * body, so the number is bounded. */
	VERIFY_SIGS_MAX = 8,
	/* Tags of one tag-list (RFC 6376 §3.2): a signature has 14 kinds,
	 * a key record 7; duplicates are an error anyway. */
	VERIFY_TAGS_MAX = 32,
	/* Names in one h= list: the signer's fields and oversigning; our
	 * own signer uses ~20. */
	VERIFY_H_MAX = 256,
	/* d= and the key's name: RFC 1035 §3.1, dotted text. */
	VERIFY_NAME_MAX = 255,
	/* RFC 8301 §3.2: keys smaller than 1024 bits MUST NOT be
	 * considered valid, and verifiers need not take more than 4096. */
	VERIFY_RSA_BITS_MIN = 1024,
	VERIFY_RSA_BITS_MAX = 4096,
	/* A signature: 4096-bit RSA, or Ed25519's 64 bytes. */
	VERIFY_SIG_MAX = VERIFY_RSA_BITS_MAX / 8,
	/* A key: the DER SubjectPublicKeyInfo of a 4096-bit RSA key is
	 * 550 bytes; this leaves room for odd encodings. */
	VERIFY_KEY_MAX = 1024,
	/* TXT records looked at for one key name (RFC 6376 §3.6.2.2: there
	 * should be one). */
	VERIFY_TXTS_MAX = 4,
	/* A signature dated this far in the future (t=) is still taken:
	 * the signer's clock may be a little ahead of ours. */
	VERIFY_CLOCK_SKEW = 300,
	VERIFY_REASON_MAX = 96,
	/* header.b: the first 8 characters of b= (RFC 6008 §4). */
	VERIFY_B_PREFIX = 8,
	/* A verifier reads the header block into memory: dkimsign's
	 * bound (filter.h), the same for the same messages. */
	VERIFY_HEADER_MAX = 256 * 1024,
	VERIFY_IO = 65536,
	/* RFC 8617 §4.2.1: ARC instances go from 1 to 50. */
	VERIFY_ARC_MAX = 50
};

/* What a signature field is: DKIM-Signature, or ARC-Message-Signature
 * or ARC-Seal (RFC 8617 §4.1), which differ in a few tags. */
enum verify_kind {
	VERIFY_KIND_DKIM = 0,
	VERIFY_KIND_AMS,
	VERIFY_KIND_SEAL
};

enum verify_result {
	VERIFY_NONE = 0,
	VERIFY_PASS,
	VERIFY_FAIL,
	VERIFY_NEUTRAL,
	VERIFY_POLICY,
	VERIFY_TEMPERROR,
	VERIFY_PERMERROR
};

enum verify_alg {
	VERIFY_RSA_SHA256 = 0,
	VERIFY_RSA_SHA1,
	VERIFY_ED25519_SHA256
};

/* One tag of a tag-list: name and value as slices of the text, the
 * value without the FWS around it; raw_* the value with that FWS (what
 * b= removes from the field it signs, RFC 6376 §3.5). */
struct verify_tag {
	const char	*name;
	size_t		 nlen;
	const char	*val;
	size_t		 vlen;
	size_t		 raw_off;	/* from the start of the text */
	size_t		 raw_len;
};

/* Parse a tag-list (RFC 6376 §3.2): tags separated by ';', an optional
 * ';' at the end, FWS anywhere around names, '=' and values.  0 and *n
 * tags, or -1: a syntax error, a tag named twice, more than max tags. */
int	verify_tags(const char *s, size_t len, struct verify_tag *, size_t max,
	    size_t *n);

/* A key record (RFC 6376 §3.6.1, RFC 8463 §4). */
struct verify_key {
	int		 ed25519;	/* k=ed25519, else k=rsa */
	int		 sha1_ok;	/* h= allows sha1 (or no h=) */
	int		 sha256_ok;
	int		 testing;	/* t=y */
	int		 strict;	/* t=s: i= must be in d= itself */
	int		 revoked;	/* p= empty */
	unsigned char	 p[VERIFY_KEY_MAX];
	size_t		 plen;
};

/* Parse the text of a key record.  0, or -1 with the reason in why: a
 * syntax error, v= not DKIM1 or not first, no p=, an unknown k=, s= not
 * for email, p= not base64.  A revoked key (p= empty) parses: 0 with
 * revoked set. */
int	verify_key_parse(const char *s, size_t len, struct verify_key *,
	    char *why, size_t whysize);

/* The TXT records of name (dns_txt's contract). */
typedef enum dns_result verify_txt_fn(void *arg, const char *name,
    struct dns_text *out, size_t max, size_t *n, char *why, size_t whysize);

/* The body of one canonicalization, hash and l=, shared by the
 * signatures that ask for the same. */
struct verify_body {
	int			 relaxed;
	int			 sha1;
	unsigned long long	 limit;		/* l=, or ULLONG_MAX */
	unsigned long long	 len;		/* canonical bytes seen */
	struct canon_body	 c;
	union {
		struct sha1_ctx		s1;
		struct sha256_ctx	s256;
	}			 h;
	unsigned char		 digest[SHA256_DIGEST_SIZE];
};

struct verify_hname {
	const char	*s;
	size_t		 len;
};

struct verify_sig {
	enum verify_result	 result;
	char			 reason[VERIFY_REASON_MAX];
	size_t			 field;		/* index in the header */
	int			 parsed;	/* the tags made sense */
	enum verify_alg		 alg;
	char			 a[32];		/* a= as given, for header.a */
	char			 d[VERIFY_NAME_MAX + 1];
	char			 s[VERIFY_NAME_MAX + 1];
	char			 i[VERIFY_NAME_MAX + 1]; /* "@d" without i= */
	char			 b8[VERIFY_B_PREFIX + 1];
	int			 hrelaxed, brelaxed; /* c=, header/body */
	long long		 t, x;		/* -1: none */
	unsigned long long	 l;		/* ULLONG_MAX: none */
	struct verify_hname	 h[VERIFY_H_MAX];
	size_t			 nh;
	unsigned char		 bh[SHA256_DIGEST_SIZE];
	size_t			 bhlen;
	unsigned char		 b[VERIFY_SIG_MAX];
	size_t			 blen;
	size_t			 braw_off, braw_len; /* b='s value in the field */
	int			 body;		/* index in bodies, or -1 */
	unsigned		 instance;	/* ARC: i= */
	char			 cv[8];		/* ARC-Seal: cv= */
};

struct verify {
	struct hdr		 h;
	size_t			 nsig;
	size_t			 nfields;	/* DKIM-Signature fields seen */
	struct verify_sig	 sig[VERIFY_SIGS_MAX];
	size_t			 nbody;
	struct verify_body	 bodies[VERIFY_SIGS_MAX];
};

/* Take the header block (its lines with their line ends, without the
 * empty line after them): find and parse the DKIM-Signature fields.  buf
 * must stay until verify_finish.  0, or -1 with E2BIG (more than
 * HDR_FIELDS_MAX fields). */
int	verify_header(struct verify *, const char *buf, size_t len);
/* The next piece of the body, cut anywhere. */
void	verify_body(struct verify *, const void *, size_t);
/* The end of the body: look the keys up with txt(arg, ...) and give each
 * signature its result, checking times against now (seconds since the
 * epoch). */
void	verify_finish(struct verify *, long long now, verify_txt_fn *txt,
	    void *arg);
/* Read a message from fd (header, then body) through verify_header and
 * verify_body; hbuf holds VERIFY_HEADER_MAX bytes and must stay until
 * verify_finish.  0, or -1 with errno (E2BIG: the header does not fit in
 * hbuf or has too many fields). */
int	verify_read(struct verify *, int fd, char *hbuf);

/* One signature at a time, for ARC (dkimsign/arc.h), which picks its
 * fields and hashes its seals itself.  Parse field f[flen] of kind into
 * g (memset to zero first; g->field is the caller's): g->parsed, or
 * g->result with the reason. */
void	verify_sig_parse(struct verify_sig *, const char *f, size_t flen,
	    enum verify_kind);
/* g's key through txt, checked against g (revoked, k=, h=, t=s): 0, or
 * -1 with g's result set. */
int	verify_sig_key(struct verify_sig *, verify_txt_fn *txt, void *arg,
	    struct verify_key *);
/* The digest of g's h= fields of h and of g's own field (h->f[g->field])
 * with b= empty, in g's header canonicalization: 0, or -1 (memory). */
int	verify_sig_digest(const struct hdr *, const struct verify_sig *,
	    unsigned char *d);
/* g's b= over the SHA-256 digest d with k: 1 good, 0 bad, -1 the key
 * is unusable (g's result set). */
int	verify_sig_check(struct verify_sig *, const struct verify_key *,
	    const unsigned char *d);

/* The word of RFC 8601 §2.7.1. */
const char *verify_result_name(enum verify_result);
/* The a= name. */
const char *verify_alg_name(enum verify_alg);
/* Append the dkim= part of an Authentication-Results field: one
 * "dkim=RESULT (reason) header.d=D header.i=I header.s=S header.a=A
 * header.b=B" per signature, joined with "; ", or "dkim=none".  0, or -1
 * with ENOBUFS. */
int	verify_ar(const struct verify *, struct str *);
/* Append a property value as RFC 8601 §2.2 takes it: a token or an
 * address as it is, anything else quoted.  0, or -1 with ENOBUFS. */
int	verify_ar_value(struct str *, const char *);
/* Append " (text)", text as an RFC 5322 §3.2.2 comment: parentheses
 * and backslashes escaped, control bytes shown as '?'.  0, or -1. */
int	verify_ar_comment(struct str *, const char *);

#endif
