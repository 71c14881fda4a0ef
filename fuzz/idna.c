/* idna.c — libFuzzer harness: lib/idna.c, the Punycode that smtp-in runs
 * on the domain of every RCPT that is not plainly ours.  Whatever the
 * bytes, each conversion ends NUL-terminated in its buffer or says why
 * not; a name that converts to A-labels converts back to U-labels, and
 * those to the same A-labels again. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idna.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum { IN_MAX = 1024, OUT_MAX = 4 * IDNA_DOMAIN_MAX + 1 };

static void
fail(const char *what, const char *in, const char *out)
{
	fprintf(stderr, "idna: %s: \"%s\" -> \"%s\"\n", what, in, out);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[IN_MAX + 1], a[OUT_MAX], u[OUT_MAX], a2[OUT_MAX];

	if (size > IN_MAX)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	(void)idna_is_intl(in);
	(void)idna_other(in, u, sizeof(u));
	(void)idna_to_utf8(in, u, sizeof(u));
	if (idna_to_ascii(in, a, sizeof(a)) != IDNA_OK)
		return 0;
	if (strlen(a) > IDNA_DOMAIN_MAX)
		fail("A-labels too long", in, a);
	if (idna_to_utf8(a, u, sizeof(u)) != IDNA_OK)
		fail("A-labels do not decode", in, a);
	if (idna_to_ascii(u, a2, sizeof(a2)) != IDNA_OK || strcmp(a, a2) != 0)
		fail("U-labels do not encode back", u, a2);
	return 0;
}
