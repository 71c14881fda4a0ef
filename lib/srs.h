/* srs.h — the Sender Rewriting Scheme, as postsrsd/libsrs2 and Mail::SRS
 * write it, so that the same secret makes the same addresses with any of
 * them.  Mail forwarded to another domain leaves with an envelope sender
 * of the forwarding domain (SPF passes there), and a bounce to it comes
 * back to us, is checked and goes on to the original sender:
 *
 *	SRS0=HASH=TT=host=local@fwd		the first forwarder
 *	SRS1=HASH=host0==HASH0=TT=h=l@fwd	forwarding an SRS0 (of host0)
 *
 * HASH: the first hashlen characters (srs_hash_length, 4 by default) of
 * the base64 of
 * HMAC-SHA1(secret, the fields ASCII-lowercased and concatenated: TT host
 * local for SRS0, host0 and the rest for SRS1); TT: the day number since
 * the epoch modulo 1024, as two base32 characters (A-Z2-7).  An SRS0
 * address is good for SRS_MAX_AGE_DAYS days; an SRS1 address carries no
 * time of its own (the SRS0 inside it does, checked by its maker).
 *
 * The program modules that link this need GnuTLS and libsodium; smtp-in
 * does not, and uses srs_is_srs() alone (inline below) to hand an SRS
 * recipient to aliases(8). */
#ifndef POSTHORN_SRS_H
#define POSTHORN_SRS_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "secret.h"

enum {
	SRS_MAX_AGE_DAYS = 21,	/* libsrs2's and Mail::SRS's default */
	SRS_SECRET_MAX = 255,	/* bytes of the secret file's first line */
	/* srs_load's message: a path and the fix that names it again. */
	SRS_WHY_MAX = SECRET_WHY_MAX
};

struct srs {
	unsigned char	secret[SRS_SECRET_MAX + 1];
	size_t		secretlen;
	size_t		hashlen;	/* characters written */
	size_t		hashmin;	/* fewest read, <= hashlen */
	int		nocase;		/* compare them without case */
};

/* The first line of conf->srs_secret_file, its LF removed (a CR stays,
 * as postsrsd keeps it), and the hash's length and case rule from conf
 * (srs_hash_length, srs_hash_min, srs_postsrsd_compat): 0, or -1 with
 * errno (EINVAL: the line is empty or longer than SRS_SECRET_MAX; EPERM:
 * others can read or write the file, secret.h; those of open(2) and
 * read(2)) and why the secret was not read, "FILE: reason", in
 * why[whysize]. */
int	srs_load(struct srs *, const struct conf *, char *why, size_t whysize);

/* The SRS address of sender (local@host, as addr_format writes it) for
 * mail forwarded by the domain fwd, into out: SRS0=... ; or SRS1=... when
 * sender's local part is already SRS0 or SRS1 (libsrs2's "guarded"
 * rules: an SRS1 keeps its first host and is re-signed with our secret,
 * an SRS0 is wrapped whole).  The caller leaves the null sender and the
 * senders of its own domains as they are, and does not call this.
 * now: time(NULL), or a fixed time in tests.  0, or -1 with errno:
 *   ENAMETOOLONG  the new local part would exceed 64 octets (RFC 5321
 *                 §4.5.3.1.1).  libsrs2 and Mail::SRS write it anyway;
 *                 but smtp-in (ours too) refuses such a local part, so a
 *                 bounce could never come back: send the mail with its
 *                 sender unrewritten instead, and log it.
 *   EINVAL        sender is not an address, its local part is empty
 *                 (""@host: the SRS address would have an empty last
 *                 field, which srs_reverse refuses), fwd is not a
 *                 domain, or an SRS1 sender is malformed (libsrs2
 *                 refuses too): likewise, unrewritten.
 *   ENOSPC        out is too small (ADDR_TEXT_MAX always fits).
 *   EIO           the HMAC failed. */
int	srs_forward(const struct srs *, const char *sender, const char *fwd,
	    time_t now, char *out, size_t size);

/* The address an SRS address (local@domain, any domain: the caller
 * checks it is one of ours) stands for, into out: user@host for SRS0,
 * SRS0...@host0 for SRS1 (the first forwarder's address, which it
 * checks in turn).  The hash is compared over as many characters as
 * given but at least hashmin, as Mail::SRS does; with case unless
 * nocase (postsrsd and Mail::SRS ignore it, for relays that lowercase a
 * local part, at the price of 2^20 guesses for 4 characters rather than
 * 2^24); an SRS0's TT must be 0 to SRS_MAX_AGE_DAYS days old.  0, or -1
 * with errno EINVAL and the reason in why ("not an SRS address",
 * "malformed SRS address", "bad hash", "expired", ...), ENOSPC when out
 * is too small, EIO when the HMAC failed. */
int	srs_reverse(const struct srs *, const char *address, time_t now,
	    char *out, size_t size, char *why, size_t whysize);

/* What srs_check says of an address. */
enum srs_check {
	SRS_CHECK_OK,		/* ours and good: out is the original */
	SRS_CHECK_BAD,		/* not an address, not of a local domain,
				 * not SRS, bad hash, expired, malformed */
	SRS_CHECK_TEMP		/* cannot tell now: no secret, a read */
};

/* The whole check of an SRS recipient, as aliases -r and smtp-keeper
 * make it: address parses, its domain is local (domains.h), its local
 * part is SRS, and srs_reverse takes it with the secret read now (so a
 * plain address costs no read of it).  The original into out; the
 * reason, "ADDRESS: why" or the secret's "FILE: why", into why. */
enum srs_check srs_check(const struct conf *, const char *address,
	    time_t now, char *out, size_t size, char *why, size_t whysize);

/* 1 if local (a local part, unquoted) is SRS0 or SRS1, in any case,
 * followed by a separator '=', '+' or '-': what libsrs2 and Mail::SRS
 * take for one.  Inline so that smtp-in, which links no crypto, asks the
 * same question as everything else. */
static inline int
srs_is_srs(const char *local)
{
	return (local[0] == 'S' || local[0] == 's') &&
	    (local[1] == 'R' || local[1] == 'r') &&
	    (local[2] == 'S' || local[2] == 's') &&
	    (local[3] == '0' || local[3] == '1') &&
	    (local[4] == '=' || local[4] == '+' || local[4] == '-');
}

#endif
