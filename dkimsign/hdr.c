/* hdr.c — a header block cut into fields: a field is a line that does
 * not begin with WSP, with the continuation lines that follow it (RFC
 * 5322 §2.2.3).  Offsets into the caller's buffer, nothing copied.
 * And the reading of a header block, bounded, which the signer and the
 * verifier both do. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hdr.h"

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

int
hdr_parse(struct hdr *h, const char *buf, size_t len)
{
	size_t i = 0, end, next, j;
	const char *nl;
	struct hdr_field *f = NULL;

	h->buf = buf;
	h->len = len;
	h->n = 0;
	h->eol = "\r\n";
	nl = memchr(buf, '\n', len);
	if (nl != NULL && (nl == buf || nl[-1] != '\r'))
		h->eol = "\n";
	while (i < len) {
		nl = memchr(buf + i, '\n', len - i);
		next = nl != NULL ? (size_t)(nl - buf) + 1 : len;
		end = next;
		if (nl != NULL) {
			end--;
			if (end > i && buf[end - 1] == '\r')
				end--;
		}
		if (f != NULL && is_wsp((unsigned char)buf[i])) {
			/* A continuation line: the field grows to here. */
			f->len = end - f->off;
		} else {
			if (h->n == HDR_FIELDS_MAX) {
				errno = E2BIG;
				return -1;
			}
			f = &h->f[h->n++];
			f->off = i;
			f->len = end - i;
			f->namelen = 0;
			nl = memchr(buf + i, ':', end - i);
			if (nl != NULL) {
				j = (size_t)(nl - buf);
				while (j > i &&
				    is_wsp((unsigned char)buf[j - 1]))
					j--;
				f->namelen = j - i;
			}
		}
		i = next;
	}
	return 0;
}

int
hdr_name_is(const struct hdr *h, size_t i, const char *name, size_t len)
{
	const struct hdr_field *f = &h->f[i];

	return f->namelen == len && len > 0 &&
	    strncasecmp(h->buf + f->off, name, len) == 0;
}

long
hdr_pick(const struct hdr *h, const char *name, size_t len, size_t occ)
{
	size_t i, seen = 0;

	for (i = h->n; i > 0; i--) {
		if (!hdr_name_is(h, i - 1, name, len))
			continue;
		if (seen++ == occ)
			return (long)(i - 1);
	}
	return -1;
}

int
hdr_read(int fd, char *buf, size_t cap, size_t *n, size_t *hlen,
    size_t *body)
{
	size_t pos = 0, e;
	char *nl;
	ssize_t got;

	*n = 0;
	for (;;) {
		while ((nl = memchr(buf + pos, '\n', *n - pos)) != NULL) {
			e = (size_t)(nl - buf);
			if (e == pos || (e == pos + 1 && buf[pos] == '\r')) {
				*hlen = pos;
				*body = e + 1;
				return 0;
			}
			pos = e + 1;
		}
		if (*n == cap) {
			errno = E2BIG;
			return -1;
		}
		do
			got = read(fd, buf + *n, cap - *n);
		while (got == -1 && errno == EINTR);
		if (got == -1)
			return -1;
		if (got == 0) {
			*hlen = *body = *n;
			return 0;
		}
		*n += (size_t)got;
	}
}
