/* idna.c — U-labels to A-labels and back: RFC 3492's Punycode (the
 * bootstring with its parameters of §5) and the label rules of RFC 5891
 * that need no tables.  Labels are worked one at a time as arrays of
 * code points, bounded: a label holds at most 63 octets as an A-label,
 * so never more than 63 code points. */

#include <stdint.h>
#include <string.h>

#include "idna.h"
#include "utf8.h"

enum {
	PUNY_BASE = 36,		/* RFC 3492 §5 */
	PUNY_TMIN = 1,
	PUNY_TMAX = 26,
	PUNY_SKEW = 38,
	PUNY_DAMP = 700,
	PUNY_BIAS = 72,
	PUNY_N = 0x80,
	CP_MAX = 0x10ffff,	/* RFC 3629 */
	ACE_LEN = 4		/* "xn--", RFC 5890 §2.3.2.5 */
};

static const char ace[] = "xn--";

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
is_ace(const char *s, size_t len)
{
	size_t i;

	if (len < ACE_LEN)
		return 0;
	for (i = 0; i < ACE_LEN; i++)
		if (lower((unsigned char)s[i]) != ace[i])
			return 0;
	return 1;
}

int
idna_is_intl(const char *d)
{
	const char *l = d;

	for (; *d != '\0'; d++) {
		if ((unsigned char)*d >= 0x80)
			return 1;
		if (d == l && is_ace(d, strnlen(d, ACE_LEN)))
			return 1;
		if (*d == '.')
			l = d + 1;
	}
	return 0;
}

/* RFC 3492 §6.1 */
static uint32_t
adapt(uint32_t delta, uint32_t points, int first)
{
	uint32_t k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

static uint32_t
threshold(uint32_t k, uint32_t bias)
{
	if (k <= bias)
		return PUNY_TMIN;
	if (k >= bias + PUNY_TMAX)
		return PUNY_TMAX;
	return k - bias;
}

static char
digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + d - 26);
}

/* An output octet; -1 when the label grows past its limit. */
static int
put(char *out, size_t *o, char c)
{
	if (*o >= IDNA_LABEL_MAX)
		return -1;
	out[(*o)++] = c;
	return 0;
}

/* RFC 3492 §6.3: cp[0..n) to the label "xn--..." in out (at most
 * IDNA_LABEL_MAX octets), its length in *olen. */
static enum idna_err
encode(const uint32_t *cp, size_t n, char *out, size_t *olen)
{
	uint32_t cur = PUNY_N, delta = 0, bias = PUNY_BIAS, m, q, k, t;
	size_t o = 0, h, b = 0, i;

	memcpy(out, ace, ACE_LEN);
	o = ACE_LEN;
	for (i = 0; i < n; i++)
		if (cp[i] < 0x80) {
			if (put(out, &o, (char)cp[i]) == -1)
				return IDNA_ELABEL_LONG;
			b++;
		}
	h = b;
	if (b > 0 && put(out, &o, '-') == -1)
		return IDNA_ELABEL_LONG;
	while (h < n) {
		for (m = UINT32_MAX, i = 0; i < n; i++)
			if (cp[i] >= cur && cp[i] < m)
				m = cp[i];
		/* No overflow: at most 63 code points below U+110000. */
		delta += (m - cur) * (uint32_t)(h + 1);
		cur = m;
		for (i = 0; i < n; i++) {
			if (cp[i] < cur)
				delta++;
			if (cp[i] != cur)
				continue;
			for (q = delta, k = PUNY_BASE;; k += PUNY_BASE) {
				t = threshold(k, bias);
				if (q < t)
					break;
				if (put(out, &o, digit(t + (q - t) %
				    (PUNY_BASE - t))) == -1)
					return IDNA_ELABEL_LONG;
				q = (q - t) / (PUNY_BASE - t);
			}
			if (put(out, &o, digit(q)) == -1)
				return IDNA_ELABEL_LONG;
			bias = adapt(delta, (uint32_t)(h + 1), h == b);
			delta = 0;
			h++;
		}
		delta++;
		cur++;
	}
	*olen = o;
	return IDNA_OK;
}

static int
undigit(int c)
{
	c = lower(c);
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

/* RFC 3492 §6.2: the part of an A-label after "xn--" (s, len) to code
 * points cp (at most IDNA_LABEL_MAX), their number in *n. */
static enum idna_err
decode(const char *s, size_t len, uint32_t *cp, size_t *n)
{
	uint32_t cur = PUNY_N, i = 0, bias = PUNY_BIAS, oldi, w, k, t;
	size_t b = 0, in, out = 0, j;
	int d;

	for (j = 0; j < len; j++)
		if (s[j] == '-')
			b = j;
	for (j = 0; j < b; j++)
		cp[out++] = (uint32_t)lower((unsigned char)s[j]);
	for (in = b > 0 ? b + 1 : 0; in < len; out++) {
		for (oldi = i, w = 1, k = PUNY_BASE;; k += PUNY_BASE) {
			if (in >= len || (d = undigit((unsigned char)s[in++]))
			    == -1)
				return IDNA_EPUNYCODE;
			if ((uint32_t)d > (UINT32_MAX - i) / w)
				return IDNA_EPUNYCODE;
			i += (uint32_t)d * w;
			t = threshold(k, bias);
			if ((uint32_t)d < t)
				break;
			if (w > UINT32_MAX / (PUNY_BASE - t))
				return IDNA_EPUNYCODE;
			w *= PUNY_BASE - t;
		}
		if (out >= IDNA_LABEL_MAX)
			return IDNA_EPUNYCODE;
		bias = adapt(i - oldi, (uint32_t)(out + 1), oldi == 0);
		if (i / (out + 1) > CP_MAX - cur)
			return IDNA_EPUNYCODE;
		cur += i / (uint32_t)(out + 1);
		i %= (uint32_t)(out + 1);
		if (cur < 0x80 || (cur >= 0xd800 && cur <= 0xdfff))
			return IDNA_EPUNYCODE;
		memmove(cp + i + 1, cp + i, (out - i) * sizeof(*cp));
		cp[i++] = cur;
	}
	*n = out;
	return IDNA_OK;
}

/* UTF-8 of code point c into out at *o (size bytes in all). */
static int
put_utf8(char *out, size_t size, size_t *o, uint32_t c)
{
	unsigned char b[4];
	size_t k, n;

	if (c < 0x80) {
		b[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | c >> 6);
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | c >> 12);
		b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | c >> 18);
		b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (c & 0x3f));
		n = 4;
	}
	if (*o + n >= size)
		return -1;
	for (k = 0; k < n; k++)
		out[(*o)++] = (char)b[k];
	return 0;
}

/* The hyphen rules of RFC 5891 §4.2.3.1 for a U-label's code points. */
static int
hyphens_ok(const uint32_t *cp, size_t n)
{
	return n > 0 && cp[0] != '-' && cp[n - 1] != '-' &&
	    !(n >= 4 && cp[2] == '-' && cp[3] == '-');
}

/* One label s[0..len) into out at *o (size in all): as its A-label when
 * ascii, else as its U-label. */
static enum idna_err
label(const char *s, size_t len, int ascii, char *out, size_t size,
    size_t *o)
{
	uint32_t cp[IDNA_LABEL_MAX];
	char a[IDNA_LABEL_MAX];
	size_t n = 0, i, k, alen;
	enum idna_err e;
	int intl = 0;

	if (len == 0)
		return IDNA_EEMPTY;
	if (is_ace(s, len)) {
		/* An A-label: it must be the Punycode of a U-label that
		 * gives it back (RFC 5891 §5.4), in lower case. */
		if (len > IDNA_LABEL_MAX)
			return IDNA_ELABEL_LONG;
		if ((e = decode(s + ACE_LEN, len - ACE_LEN, cp, &n)) !=
		    IDNA_OK)
			return e;
		for (i = 0; i < n && cp[i] < 0x80; i++)
			;
		if (i == n || !hyphens_ok(cp, n))
			return IDNA_EPUNYCODE;
		if (encode(cp, n, a, &alen) != IDNA_OK || alen != len)
			return IDNA_EPUNYCODE;
		for (i = 0; i < len; i++)
			if (a[i] != lower((unsigned char)s[i]))
				return IDNA_EPUNYCODE;
		intl = 1;
	} else {
		for (i = 0; i < len; i += k) {
			if ((k = utf8_seq((const unsigned char *)s + i,
			    len - i)) == 0)
				return IDNA_EUTF8;
			if (n == IDNA_LABEL_MAX)
				return IDNA_ELABEL_LONG;
			if (k == 1)
				cp[n++] = (uint32_t)lower((unsigned char)s[i]);
			else {
				intl = 1;
				cp[n] = (unsigned char)s[i] & (0x7f >> k);
				while (--k > 0)
					cp[n] = cp[n] << 6 |
					    ((unsigned char)s[++i] & 0x3f);
				n++;
				k = 1;
			}
		}
		if (intl && !hyphens_ok(cp, n))
			return IDNA_EHYPHEN;
		if (intl && (e = encode(cp, n, a, &alen)) != IDNA_OK)
			return e;
	}
	if (ascii && intl) {
		if (*o + alen >= size)
			return IDNA_EDOMAIN_LONG;
		memcpy(out + *o, a, alen);
		*o += alen;
		return IDNA_OK;
	}
	for (i = 0; i < n; i++)
		if (put_utf8(out, size, o, cp[i]) == -1)
			return IDNA_EDOMAIN_LONG;
	return IDNA_OK;
}

static enum idna_err
convert(const char *d, int ascii, char *out, size_t size)
{
	size_t o = 0, len = strlen(d), i, j;
	enum idna_err e;

	if (size == 0)
		return IDNA_EDOMAIN_LONG;
	out[0] = '\0';
	if (len > 0 && d[len - 1] == '.')
		len--;		/* the root */
	if (len == 0)
		return IDNA_EEMPTY;
	for (i = 0; i <= len; i = j + 1) {
		for (j = i; j < len && d[j] != '.'; j++)
			;
		if ((e = label(d + i, j - i, ascii, out, size, &o)) !=
		    IDNA_OK)
			goto fail;
		if (j < len) {
			if (o + 1 >= size) {
				e = IDNA_EDOMAIN_LONG;
				goto fail;
			}
			out[o++] = '.';
		}
	}
	if (ascii && o > IDNA_DOMAIN_MAX) {
		e = IDNA_EDOMAIN_LONG;
		goto fail;
	}
	out[o] = '\0';
	return IDNA_OK;
fail:
	out[0] = '\0';
	return e;
}

enum idna_err
idna_to_ascii(const char *d, char *out, size_t size)
{
	return convert(d, 1, out, size);
}

enum idna_err
idna_to_utf8(const char *d, char *out, size_t size)
{
	return convert(d, 0, out, size);
}

enum idna_err
idna_other(const char *d, char *out, size_t size)
{
	const char *p;

	for (p = d; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return convert(d, 1, out, size);
	return convert(d, 0, out, size);
}

const char *
idna_why(enum idna_err e)
{
	switch (e) {
	case IDNA_OK:
		return "ok";
	case IDNA_EEMPTY:
		return "empty label";
	case IDNA_EUTF8:
		return "not UTF-8";
	case IDNA_ELABEL_LONG:
		return "label longer than 63 octets as an A-label";
	case IDNA_EDOMAIN_LONG:
		return "domain longer than 253 octets as A-labels";
	case IDNA_EHYPHEN:
		return "label with a hyphen at its start or end, or in its "
		    "3rd and 4th places";
	case IDNA_EPUNYCODE:
		return "xn-- label that is not the Punycode of a U-label";
	}
	return "unknown error";
}
