/* dkim_canon.c — libFuzzer harness: DKIM canonicalisation (dkimsign/
 * canon.c).  The input is a header field for both header forms, and a
 * body for both body forms, fed once whole and once in pieces whose sizes
 * its first byte chooses (fuzzutil.h): the canonical body must not
 * depend on where the pieces were cut, since dkimsign and queue-run feed
 * it whatever read(2) returns. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "fuzzutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum { HEADER_OUT = 64 * 1024 };

/* The canonical bytes, kept whole up to a bound, counted beyond it. */
struct sink {
	unsigned char	buf[256 * 1024];
	size_t		len;
	uint64_t	hash;	/* FNV-1a of all of them */
};

static void
sink(void *arg, const void *p, size_t n)
{
	struct sink *k = arg;
	const unsigned char *c = p;
	size_t i;

	if (n > CANON_BUF)
		abort();
	for (i = 0; i < n; i++) {
		k->hash = (k->hash ^ c[i]) * 0x100000001b3ULL;
		if (k->len < sizeof(k->buf))
			k->buf[k->len] = c[i];
		k->len++;
	}
}

static void
body(const uint8_t *data, size_t size, int relaxed, int split,
    struct sink *k)
{
	static struct canon_body c;
	struct fz_io f;
	size_t off = 0, n;

	memset(k, 0, sizeof(*k));
	k->hash = 0xcbf29ce484222325ULL;
	canon_body_init(&c, relaxed, sink, k);
	if (!split) {
		canon_body_update(&c, data + 1, size - 1);
	} else {
		fz_io_init(&f, data, size);
		while (off < size - 1) {
			n = fz_io_next(&f, size - 1 - off);
			canon_body_update(&c, data + 1 + off, n);
			off += n;
		}
	}
	canon_body_final(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sink whole, split;
	static char mem[HEADER_OUT];
	struct str out;
	int relaxed;

	str_init(&out, mem, sizeof(mem));
	if (canon_header_relaxed((const char *)data, size, &out) == 0 &&
	    (out.len < 2 || memcmp(out.s + out.len - 2, "\r\n", 2) != 0))
		abort();
	str_reset(&out);
	(void)canon_header_simple((const char *)data, size, &out);

	if (size == 0)
		return 0;
	for (relaxed = 0; relaxed < 2; relaxed++) {
		body(data, size, relaxed, 0, &whole);
		body(data, size, relaxed, 1, &split);
		if (whole.len != split.len || whole.hash != split.hash) {
			fprintf(stderr, "dkim_canon: %s body differs when cut "
			    "(%zu bytes whole, %zu cut)\n", relaxed ?
			    "relaxed" : "simple", whole.len, split.len);
			abort();
		}
		/* Every canonical body ends in CRLF, or is empty (relaxed). */
		if (whole.len > 0 && whole.len <= sizeof(whole.buf) &&
		    (whole.len < 2 || memcmp(whole.buf + whole.len - 2,
		    "\r\n", 2) != 0))
			abort();
	}
	return 0;
}
