/* spf.c — libFuzzer harness: lib/spf.c's record parser and macro
 * expander, no DNS.  The input: byte 0 chooses the client's family
 * (bit 0) and the buffer the expansions get (bits 1-3: a small one, to
 * reach the cut); then a record up to a NUL, then a macro-string that
 * is expanded as an explanation.  What it promises: a record that
 * spf_parse accepts yields its terms without an error, each domain-spec
 * of it passes spf_domain_spec_ok and expands (in a buffer big enough
 * for the worst growth); every expansion is NUL-terminated within its
 * buffer. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "spf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum {
	INPUT_MAX = 1024,	/* a valid spec of this size fits BIG */
	/* The worst growth: a 4-byte macro to a 64-byte value escaped
	 * three times over. */
	BIG = INPUT_MAX * 48 + 1
};

static void
expand_checked(const struct spf_macros *m, const char *s, size_t len,
    int exp, size_t size, int must)
{
	static char out[BIG];
	int rc;

	memset(out, 'x', size);
	rc = spf_expand(m, s, len, exp, out, size);
	if (memchr(out, '\0', size) == NULL)
		abort();
	if (must && rc == -1 && size < BIG)
		rc = spf_expand(m, s, len, exp, out, BIG);
	if (must && rc == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[8] = { 1, 2, 8, 64, 253, 1024, 8192, BIG };
	struct dns_addr ip;
	struct spf_macros m;
	struct spf_term t;
	char rec[INPUT_MAX + 1], why[256];
	const char *pos, *nul;
	size_t reclen, outsize;
	int r, parsed;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	if (dns_addr_parse(data[0] & 1 ? "2001:db8::cb01" : "192.0.2.3",
	    &ip) == -1)
		abort();
	outsize = sizes[(data[0] >> 1) & 7];
	data++;
	size--;
	nul = memchr(data, '\0', size);
	reclen = nul != NULL ? (size_t)((const uint8_t *)nul - data) : size;
	memcpy(rec, data, reclen);
	rec[reclen] = '\0';

	memset(&m, 0, sizeof(m));
	m.sender = "strong-bad@email.example.com";
	m.local = "strong-bad";
	m.sender_domain = "email.example.com";
	m.domain = "email.example.com";
	m.ip = &ip;
	m.helo = "mx.example.org";
	m.receiver = "mx.receiver.example";
	m.now = 1700000000;
	m.p = "mx.example.org";

	(void)spf_is_record(rec);
	parsed = spf_parse(rec, why, sizeof(why)) == 0;
	pos = strncasecmp(rec, "v=spf1", 6) == 0 ? rec + 6 : rec;
	while ((r = spf_term_next(&pos, &t, why, sizeof(why))) == 1) {
		if (t.textlen == 0 || pos < t.text + t.textlen ||
		    (t.spec != NULL && (t.spec < t.text ||
		    t.spec + t.speclen > t.text + t.textlen)))
			abort();
		if (t.cidr4 > 32 || t.cidr6 > 128)
			abort();
		if (t.spec == NULL || t.kind == SPF_IP4 || t.kind == SPF_IP6)
			continue;
		if (t.kind != SPF_UNKNOWN_MOD &&
		    !spf_domain_spec_ok(t.spec, t.speclen))
			abort();
		expand_checked(&m, t.spec, t.speclen, 0, outsize,
		    t.kind != SPF_UNKNOWN_MOD);
	}
	if (parsed && r == -1)
		abort();
	if (nul != NULL)
		expand_checked(&m, nul + 1, size - reclen - 1, 1, outsize, 0);
	(void)spf_domain_spec_ok(rec, reclen);
	return 0;
}
