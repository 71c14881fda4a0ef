/* srs.c — the Sender Rewriting Scheme, compatible with postsrsd/libsrs2
 * and Mail::SRS (see srs.h for the format).  The details that make the
 * addresses the same as theirs: each field is ASCII-lowercased before it
 * goes into the HMAC (libsrs2's tolower, Perl's lc on bytes), the fields
 * are concatenated without separators, the hash is standard base64
 * (RFC 4648 §4) cut to its first characters, and the timestamp's first
 * character is the high five bits of the day number.  Local parts are
 * handled unquoted, as those libraries see them inside an MTA, and
 * quoted again by addr_format when they need it. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <sodium.h>

#include "addr.h"
#include "domains.h"
#include "fileline.h"
#include "secret.h"
#include "srs.h"
#include "str.h"

#define SRS_BASE32	"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define SRS_SEP		'='	/* between the fields: always '=' */

enum {
	SRS_DAY = 24 * 60 * 60,		/* the timestamp's unit */
	SRS_TT_BITS = 5,		/* per base32 character */
	SRS_TT_SLOTS = 1 << (2 * SRS_TT_BITS),	/* two characters: 1024 */
	SRS_SHA1_LEN = 20,
	/* base64 of 20 bytes: 27 characters that carry bits, and a pad. */
	SRS_HASH_MAX = (SRS_SHA1_LEN * 8 + 5) / 6,
	SRS_B64_SIZE = 4 * ((SRS_SHA1_LEN + 2) / 3) + 1,
	/* What the HMAC covers: at most a timestamp, a host (from a local
	 * part or a domain) and a local part. */
	SRS_HMAC_IN_MAX = 2 + ADDR_DOMAIN_MAX + ADDR_LOCAL_MAX + 1
};

int
srs_load(struct srs *srs, const struct conf *conf, char *why, size_t whysize)
{
	char line[SRS_SECRET_MAX + 2];		/* its LF, the NUL */
	const char *path = conf->srs_secret_file;
	struct fileline fl;
	ssize_t n;
	int fd, rc = -1, saved;

	memset(srs, 0, sizeof(*srs));
	memset(&fl, 0, sizeof(fl));
	if ((fd = fileline_open(path)) == -1) {
		saved = errno;
		str_fmt_cut(why, whysize, "%s: %s", path, strerror(errno));
		errno = saved;
		return -1;
	}
	if (secret_check(fd, path, why, whysize) == -1)
		goto out;
	fileline_init(&fl, fd, 1);
	if ((n = fileline_get(&fl, line, sizeof(line))) == -1) {
		saved = errno;
		str_fmt_cut(why, whysize, "%s: %s", path, errno == EINVAL ?
		    "first line longer than 255 bytes" : strerror(errno));
		errno = saved;
		goto out;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n == 0 || (size_t)n > SRS_SECRET_MAX) {
		str_fmt_cut(why, whysize, "%s: %s", path, n == 0 ?
		    "empty first line" : "first line longer than 255 bytes");
		errno = EINVAL;
		goto out;
	}
	memcpy(srs->secret, line, (size_t)n);
	srs->secretlen = (size_t)n;
	srs->hashlen = conf->srs_hash_length;
	srs->hashmin = conf->srs_hash_min;
	srs->nocase = conf->srs_postsrsd_compat;
	rc = 0;
out:
	saved = errno;
	sodium_memzero(line, sizeof(line));
	sodium_memzero(&fl, sizeof(fl));
	(void)close(fd);
	errno = saved;
	return rc;
}

/* The base64 HMAC of the fields (NULL-terminated list), each lowercased
 * in ASCII, into b64 (SRS_B64_SIZE).  0, or -1 (EIO, ENAMETOOLONG). */
static int
srs_hash(const struct srs *srs, char *b64, const char *field, ...)
{
	unsigned char in[SRS_HMAC_IN_MAX], mac[SRS_SHA1_LEN];
	const char *f;
	size_t len = 0;
	va_list ap;
	int rc = -1;

	va_start(ap, field);
	for (f = field; f != NULL; f = va_arg(ap, const char *)) {
		for (; *f != '\0'; f++) {
			if (len == sizeof(in)) {
				errno = ENAMETOOLONG;
				goto out;
			}
			in[len++] = (unsigned char)str_tolower(
			    (unsigned char)*f);
		}
	}
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, srs->secret, srs->secretlen,
	    in, len, mac) < 0) {
		errno = EIO;
		goto out;
	}
	(void)sodium_bin2base64(b64, SRS_B64_SIZE, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	rc = 0;
out:
	va_end(ap);
	return rc;
}

/* A hash length within what posthorn.conf allows, whatever the struct
 * holds: never a hash of fewer than 24 bits. */
static size_t
srs_bound(size_t n)
{
	if (n < CONF_SRS_HASH_LENGTH_MIN)
		return CONF_SRS_HASH_LENGTH_MIN;
	if (n > CONF_SRS_HASH_LENGTH_MAX)
		return CONF_SRS_HASH_LENGTH_MAX;
	return n;
}

/* Today's timestamp: the day number mod 1024, high five bits first. */
static void
srs_tt(time_t now, char tt[3])
{
	unsigned long day = (unsigned long)(now / SRS_DAY);

	tt[0] = SRS_BASE32[(day >> SRS_TT_BITS) & 31];
	tt[1] = SRS_BASE32[day & 31];
	tt[2] = '\0';
}

/* A base32 character in either case: its value, or -1. */
static int
srs_b32(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == '\0' || (p = strchr(SRS_BASE32, c)) == NULL)
		return -1;
	return (int)(p - SRS_BASE32);
}

/* local@fwd into out, quoted as it needs: 0, or -1 with errno. */
static int
srs_format(const char *local, const char *domain, char *out, size_t size)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (str_copy(a.local, sizeof(a.local), local) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (str_copy(a.domain, sizeof(a.domain), domain) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (addr_format(&a, out, size) == -1) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int
srs_forward(const struct srs *srs, const char *sender, const char *fwd,
    time_t now, char *out, size_t size)
{
	char local[ADDR_TEXT_MAX], hash[SRS_B64_SIZE], tt[3];
	char orig[ADDR_TEXT_MAX];
	char *h, *u, *p;
	struct addr a, r;
	int n, hashlen = (int)srs_bound(srs->hashlen);

	if (size > 0)
		out[0] = '\0';
	/* An empty local part ("\"\"@host") would make an SRS0 whose
	 * last field is empty, which no reverse (ours, libsrs2's) takes
	 * back: a bounce could never come back, so it is not rewritten. */
	if (addr_parse(sender, strlen(sender), ADDR_UTF8, &a) != ADDR_OK ||
	    a.null || a.domain[0] == '\0' || a.local[0] == '\0' ||
	    !conf_valid_hostname(fwd)) {
		errno = EINVAL;
		return -1;
	}
	if (srs_is_srs(a.local) && (a.local[3] == '1')) {
		/* SRS1=HASH=host0=rest: keep host0 and rest, sign anew. */
		h = strchr(a.local + 5, SRS_SEP);
		u = h != NULL ? strchr(h + 1, SRS_SEP) : NULL;
		if (h == NULL || h == a.local + 5 || u == NULL ||
		    u == h + 1 || u[1] == '\0') {
			errno = EINVAL;
			return -1;
		}
		*h++ = '\0';
		*u++ = '\0';
		/* srs_reverse hands a bounce on to SRS0<rest>@host0: what
		 * is not an address there (host0 no domain) is malformed. */
		if (str_fmt(local, sizeof(local), "SRS0%s", u) == -1 ||
		    srs_format(local, h, orig, sizeof(orig)) == -1 ||
		    addr_parse(orig, strlen(orig), ADDR_UTF8, &r) != ADDR_OK ||
		    r.domain[0] == '\0') {
			errno = EINVAL;
			return -1;
		}
		if (srs_hash(srs, hash, h, u, (char *)NULL) == -1)
			return -1;
		n = snprintf(local, sizeof(local), "SRS1%c%.*s%c%s%c%s",
		    SRS_SEP, hashlen, hash, SRS_SEP, h, SRS_SEP, u);
	} else if (srs_is_srs(a.local)) {
		/* SRS0<sep>rest@host0: wrapped whole, its separator kept
		 * (hence the "==" of SRS1). */
		p = a.local + 4;
		if (srs_hash(srs, hash, a.domain, p, (char *)NULL) == -1)
			return -1;
		n = snprintf(local, sizeof(local), "SRS1%c%.*s%c%s%c%s",
		    SRS_SEP, hashlen, hash, SRS_SEP, a.domain, SRS_SEP, p);
	} else {
		srs_tt(now, tt);
		if (srs_hash(srs, hash, tt, a.domain, a.local,
		    (char *)NULL) == -1)
			return -1;
		n = snprintf(local, sizeof(local), "SRS0%c%.*s%c%s%c%s%c%s",
		    SRS_SEP, hashlen, hash, SRS_SEP, tt, SRS_SEP,
		    a.domain, SRS_SEP, a.local);
	}
	if (n < 0 || (size_t)n >= sizeof(local) || n > ADDR_LOCAL_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (srs_format(local, fwd, out, size) == -1)
		return -1;
	/* The quotes that a local part with a space needs count in its 64
	 * octets too: what smtp-in refuses as too long cannot come back. */
	if (addr_parse(out, strlen(out), ADDR_UTF8, &r) != ADDR_OK) {
		out[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Does the hash given match the fields?  As many characters as given,
 * at least hashmin (Mail::SRS), with case unless nocase. */
static int
srs_hash_ok(const struct srs *srs, const char *given, const char *f1,
    const char *f2, const char *f3, char *why, size_t whysize)
{
	char hash[SRS_B64_SIZE];
	size_t len = strlen(given);

	if (len < srs_bound(srs->hashmin) || len > SRS_HASH_MAX) {
		str_fmt_cut(why, whysize, "bad hash");
		errno = EINVAL;
		return -1;
	}
	if (srs_hash(srs, hash, f1, f2, f3, (char *)NULL) == -1) {
		str_fmt_cut(why, whysize, "HMAC: %s", strerror(errno));
		return -1;
	}
	if ((srs->nocase ? strncasecmp(hash, given, len) :
	    strncmp(hash, given, len)) != 0) {
		str_fmt_cut(why, whysize, "bad hash");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Split s at its first n - 1 separators into f[0..n): the last field
 * takes the rest, separators and all.  Every field must be non-empty. */
static int
srs_split(char *s, char **f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		f[i] = s;
		if (i + 1 < n) {
			if ((s = strchr(s, SRS_SEP)) == NULL)
				return -1;
			*s++ = '\0';
		}
		if (f[i][0] == '\0')
			return -1;
	}
	return 0;
}

int
srs_reverse(const struct srs *srs, const char *address, time_t now,
    char *out, size_t size, char *why, size_t whysize)
{
	char orig[ADDR_TEXT_MAX], local[ADDR_LOCAL_MAX + 1];
	char *f[4], *host;
	struct addr a, r;
	long age;
	int t0, t1;

	if (size > 0)
		out[0] = '\0';
	if (whysize > 0)
		why[0] = '\0';
	errno = EINVAL;
	if (addr_parse(address, strlen(address), ADDR_UTF8, &a) != ADDR_OK ||
	    a.null || a.domain[0] == '\0') {
		str_fmt_cut(why, whysize, "not an address");
		return -1;
	}
	if (!srs_is_srs(a.local)) {
		str_fmt_cut(why, whysize, "not an SRS address");
		return -1;
	}
	if (a.local[3] == '0') {
		/* SRS0<sep>HASH=TT=host=local */
		if (srs_split(a.local + 5, f, 4) == -1 || strlen(f[1]) != 2 ||
		    (t0 = srs_b32(f[1][0])) == -1 ||
		    (t1 = srs_b32(f[1][1])) == -1) {
			str_fmt_cut(why, whysize, "malformed SRS address");
			return -1;
		}
		if (srs_hash_ok(srs, f[0], f[1], f[2], f[3], why,
		    whysize) == -1)
			return -1;
		/* Days since the stamp, modulo its period: a stamp "from
		 * the future" is one from long ago, as for libsrs2. */
		age = ((long)(now / SRS_DAY) - (t0 << SRS_TT_BITS | t1)) %
		    SRS_TT_SLOTS;
		if (age < 0)
			age += SRS_TT_SLOTS;
		if (age > SRS_MAX_AGE_DAYS) {
			str_fmt_cut(why, whysize, "expired (%ld days old, "
			    "more than %d)", age, SRS_MAX_AGE_DAYS);
			errno = EINVAL;
			return -1;
		}
		host = f[2];
		(void)str_copy(local, sizeof(local), f[3]);
	} else {
		/* SRS1<sep>HASH=host0=rest: rest is SRS0's, minus "SRS0". */
		if (srs_split(a.local + 5, f, 3) == -1) {
			str_fmt_cut(why, whysize, "malformed SRS address");
			return -1;
		}
		if (srs_hash_ok(srs, f[0], f[1], f[2], NULL, why,
		    whysize) == -1)
			return -1;
		host = f[1];
		if (str_fmt(local, sizeof(local), "SRS0%s", f[2]) == -1) {
			str_fmt_cut(why, whysize, "malformed SRS address");
			errno = EINVAL;
			return -1;
		}
	}
	/* Signed by us, so made by us from an address; checked all the
	 * same, so that nothing but an address ever comes out. */
	if (srs_format(local, host, orig, sizeof(orig)) == -1 ||
	    addr_parse(orig, strlen(orig), ADDR_UTF8, &r) != ADDR_OK ||
	    r.domain[0] == '\0') {
		str_fmt_cut(why, whysize, "the original is not an address");
		errno = EINVAL;
		return -1;
	}
	if (addr_format(&r, out, size) == -1) {
		str_fmt_cut(why, whysize, "no room for the address");
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

enum srs_check
srs_check(const struct conf *conf, const char *address, time_t now,
    char *out, size_t size, char *why, size_t whysize)
{
	char reason[SRS_WHY_MAX];
	struct srs srs;
	struct addr a;
	enum addr_err ae;
	enum srs_check rc = SRS_CHECK_TEMP;

	if (size > 0)
		out[0] = '\0';
	if ((ae = addr_parse(address, strlen(address), ADDR_UTF8, &a)) !=
	    ADDR_OK) {
		str_fmt_cut(why, whysize, "%s: not an address: %s", address,
		    addr_strerror(ae));
		return SRS_CHECK_BAD;
	}
	switch (domains_is_local(conf, a.domain)) {
	case 1:
		break;
	case 0:
		str_fmt_cut(why, whysize, "%s: not a local domain", address);
		return SRS_CHECK_BAD;
	default:
		str_fmt_cut(why, whysize, "%s: %s", a.domain, strerror(errno));
		return SRS_CHECK_TEMP;
	}
	if (!srs_is_srs(a.local)) {
		str_fmt_cut(why, whysize, "%s: not an SRS address", address);
		return SRS_CHECK_BAD;
	}
	if (srs_load(&srs, conf, why, whysize) == -1)
		goto out;
	if (srs_reverse(&srs, address, now, out, size, reason,
	    sizeof(reason)) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", address, reason);
		rc = errno == EINVAL ? SRS_CHECK_BAD : SRS_CHECK_TEMP;
		goto out;
	}
	rc = SRS_CHECK_OK;
out:
	sodium_memzero(&srs, sizeof(srs));
	return rc;
}
