/* dsn.c — RFC 3461's parameters and their xtext (dsn.h).  Everything is
 * bounded by the caller's buffer and the RFC's lengths; a value that
 * does not parse is refused whole, never guessed at. */

#include <errno.h>
#include <string.h>

#include "dsn.h"
#include "str.h"

static const struct {
	const char	*word;
	unsigned	 bit;
} notify_words[] = {
	{ "NEVER", DSN_NOTIFY_NEVER },
	{ "SUCCESS", DSN_NOTIFY_SUCCESS },
	{ "FAILURE", DSN_NOTIFY_FAILURE },
	{ "DELAY", DSN_NOTIFY_DELAY }
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;		/* RFC 3461 §4: upper-case hexchar only */
}

/* A character that xtext carries as itself. */
static int
xchar_plain(int c)
{
	return c >= '!' && c <= '~' && c != '+' && c != '=';
}

int
dsn_xtext_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t i, o = 0;
	int c, hi, lo;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '+') {
			if (i + 2 >= len || (hi = hexval(in[i + 1])) == -1 ||
			    (lo = hexval(in[i + 2])) == -1)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		} else if (!xchar_plain(c))
			goto bad;
		if (c < 0x20 || c > 0x7e)
			goto bad;
		if (o + 1 >= size) {
			errno = ENOBUFS;
			return -1;
		}
		out[o++] = (char)c;
	}
	if (size == 0) {
		errno = ENOBUFS;
		return -1;
	}
	out[o] = '\0';
	return (int)o;
bad:
	errno = EINVAL;
	return -1;
}

int
dsn_xtext_encode(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	for (; *p != '\0'; p++) {
		if (xchar_plain(*p)) {
			if (o + 1 >= size)
				goto full;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= size)
				goto full;
			out[o++] = '+';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (size == 0)
		goto full;
	out[o] = '\0';
	return 0;
full:
	errno = ENOBUFS;
	return -1;
}

static int
word_eq(const char *s, size_t n, const char *w)
{
	size_t i;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (str_tolower((unsigned char)s[i]) !=
		    str_tolower((unsigned char)w[i]))
			return 0;
	return 1;
}

int
dsn_notify_parse(const char *s, size_t len, unsigned *mask)
{
	unsigned m = 0, bit;
	size_t i = 0, j, k;

	if (len == 0)
		return -1;
	while (i <= len) {
		for (j = i; j < len && s[j] != ','; j++)
			;
		bit = 0;
		for (k = 0; k < sizeof(notify_words) / sizeof(notify_words[0]);
		    k++)
			if (word_eq(s + i, j - i, notify_words[k].word))
				bit = notify_words[k].bit;
		if (bit == 0 || (m & bit))
			return -1;
		m |= bit;
		i = j + 1;
	}
	if ((m & DSN_NOTIFY_NEVER) && m != DSN_NOTIFY_NEVER)
		return -1;		/* §4.1: NEVER stands alone */
	*mask = m;
	return 0;
}

void
dsn_notify_format(unsigned mask, char *buf, size_t size)
{
	struct str s;
	size_t k;

	if (size == 0)
		return;
	str_init(&s, buf, size);
	for (k = 0; k < sizeof(notify_words) / sizeof(notify_words[0]); k++)
		if ((mask & notify_words[k].bit) &&
		    ((s.len > 0 && str_appendc(&s, ',') == -1) ||
		    str_appends(&s, notify_words[k].word) == -1))
			break;
}

int
dsn_notify_wants(unsigned mask, unsigned kind)
{
	if (mask == 0)
		mask = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
	return (mask & kind) != 0 && !(mask & DSN_NOTIFY_NEVER);
}

int
dsn_ret_parse(const char *s, size_t len, enum dsn_ret *ret)
{
	if (word_eq(s, len, "FULL"))
		*ret = DSN_RET_FULL;
	else if (word_eq(s, len, "HDRS"))
		*ret = DSN_RET_HDRS;
	else
		return -1;
	return 0;
}

const char *
dsn_ret_name(enum dsn_ret r)
{
	return r == DSN_RET_FULL ? "FULL" : r == DSN_RET_HDRS ? "HDRS" : "";
}

int
dsn_orcpt_parse(const char *s, size_t len, char *out, size_t size)
{
	const char *semi;
	size_t tl, i;

	if (len > DSN_ORCPT_MAX ||
	    (semi = memchr(s, ';', len)) == NULL || semi == s)
		return -1;
	tl = (size_t)(semi - s);
	for (i = 0; i < tl; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return -1;
	if (tl + 2 > size || tl + 1 == len)
		return -1;
	memcpy(out, s, tl + 1);
	if (dsn_xtext_decode(semi + 1, len - tl - 1, out + tl + 1,
	    size - tl - 1) <= 0)
		return -1;
	return 0;
}

int
dsn_orcpt_encode(const char *decoded, char *out, size_t size)
{
	const char *semi = strchr(decoded, ';');
	size_t tl;

	if (semi == NULL || semi == decoded) {
		errno = EINVAL;
		return -1;
	}
	tl = (size_t)(semi - decoded) + 1;
	if (tl >= size) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(out, decoded, tl);
	return dsn_xtext_encode(semi + 1, out + tl, size - tl);
}

int
dsn_envid_parse(const char *s, size_t len, char *out, size_t size)
{
	if (len == 0 || len > DSN_ENVID_MAX ||
	    dsn_xtext_decode(s, len, out, size) <= 0)
		return -1;
	return 0;
}
