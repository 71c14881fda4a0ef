/* str.c — bounded strings.  Every append either fits whole or leaves the
 * string as it was, so that a caller can turn "too long" into a protocol
 * reply instead of a truncated value travelling on. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

void
str_init(struct str *sp, char *mem, size_t cap)
{
	sp->s = mem;
	sp->cap = cap;
	str_reset(sp);
}

void
str_reset(struct str *sp)
{
	sp->len = 0;
	if (sp->cap > 0)
		sp->s[0] = '\0';
}

int
str_append(struct str *sp, const void *p, size_t n)
{
	/* cap - len - 1 cannot underflow: len < cap always holds. */
	if (sp->cap == 0 || n > sp->cap - sp->len - 1) {
		errno = ENOBUFS;
		return -1;
	}
	if (n > 0)
		memcpy(sp->s + sp->len, p, n);
	sp->len += n;
	sp->s[sp->len] = '\0';
	return 0;
}

int
str_appends(struct str *sp, const char *s)
{
	return str_append(sp, s, strlen(s));
}

int
str_appendc(struct str *sp, char c)
{
	return str_append(sp, &c, 1);
}

int
str_vappendf(struct str *sp, const char *fmt, va_list ap)
{
	size_t room;
	int n;

	if (sp->cap == 0) {
		errno = ENOBUFS;
		return -1;
	}
	room = sp->cap - sp->len;
	n = vsnprintf(sp->s + sp->len, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		/* vsnprintf wrote a truncated tail: cut it off again. */
		sp->s[sp->len] = '\0';
		if (n >= 0)
			errno = ENOBUFS;
		return -1;
	}
	sp->len += (size_t)n;
	return 0;
}

int
str_appendf(struct str *sp, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = str_vappendf(sp, fmt, ap);
	va_end(ap);
	return rc;
}

int
str_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (size == 0) {
		errno = ENOBUFS;
		return -1;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		/* Leave nothing half-formatted behind for a careless caller. */
		buf[0] = '\0';
		if (n >= 0)
			errno = ENOBUFS;
		return -1;
	}
	return 0;
}

void
str_vfmt_cut(char *buf, size_t size, const char *fmt, va_list ap)
{
	if (size > 0 && vsnprintf(buf, size, fmt, ap) < 0)
		buf[0] = '\0';
}

void
str_fmt_cut(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vfmt_cut(buf, size, fmt, ap);
	va_end(ap);
}

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
str_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int
str_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

int
str_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (!str_isdigit(*s))
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

const char *
str_word(const char **s, size_t *len)
{
	const char *p = *s, *e;

	while (*p == ' ' || *p == '\t')
		p++;
	for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
		;
	*s = e;
	*len = (size_t)(e - p);
	return e > p ? p : NULL;
}

int
str_tolower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)str_tolower((unsigned char)*s);
}

int
str_casecmp(const char *a, const char *b)
{
	int ca, cb;

	do {
		ca = str_tolower((unsigned char)*a++);
		cb = str_tolower((unsigned char)*b++);
	} while (ca == cb && ca != '\0');
	return ca - cb;
}

int
str_split(char *s, int sep, char **f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		f[i] = s;
		if ((s = strchr(s, sep)) != NULL)
			*s++ = '\0';
		else if (i != n - 1)
			return -1;
	}
	return s == NULL ? 0 : -1;
}

void
str_truncate(struct str *sp, size_t len)
{
	if (len < sp->len) {
		sp->len = len;
		sp->s[len] = '\0';
	}
}
