/* srs.c — libFuzzer harness: SRS (lib/srs.c) with a fixed secret and a
 * fixed day.  The input is an address to reverse, as a bounce to one of
 * ours brings it, and a sender to forward; a sender that srs_forward
 * rewrites must come back from srs_reverse unchanged (SRS0) or as the
 * SRS0 it wrapped (SRS1 of an SRS0: checked by its maker, not us),
 * its host in lower case. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "srs.h"
#include "str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum { NOW = 1700000000 };	/* a fixed day: replays are exact */

/* 1 if s is a mailbox as addr_format writes it, not an SRS address
 * itself (whose tag comes back "SRS0", in capitals), with *at at its
 * '@'. */
static int
canonical(const char *s, const char **at)
{
	char text[ADDR_TEXT_MAX];
	struct addr a;

	if (addr_parse(s, strlen(s), ADDR_UTF8, &a) != ADDR_OK ||
	    addr_format(&a, text, sizeof(text)) < 0 ||
	    str_casecmp(text, s) != 0 || srs_is_srs(a.local))
		return 0;
	*at = strrchr(s, '@');
	return *at != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct srs srs;
	static int ready;
	char in[ADDR_TEXT_MAX * 2], out[ADDR_TEXT_MAX], back[ADDR_TEXT_MAX];
	char why[256];
	const char *at;

	if (!ready) {
		memcpy(srs.secret, "fuzzing secret", 14);
		srs.secretlen = 14;
		ready = 1;
	}
	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	(void)srs_reverse(&srs, in, NOW, out, sizeof(out), why, sizeof(why));
	if (srs_forward(&srs, in, "fwd.example", NOW, out, sizeof(out)) == 0) {
		if (srs_reverse(&srs, out, NOW, back, sizeof(back), why,
		    sizeof(why)) == -1) {
			fprintf(stderr, "srs: %s made %s, which does not "
			    "reverse: %s\n", in, out, why);
			abort();
		}
		/* A sender as posthorn writes it (addr_format) comes back
		 * the same, but for its host, lowercased. */
		if (canonical(in, &at) && (strlen(back) !=
		    strlen(in) || strncmp(back, in, (size_t)(at - in)) != 0 ||
		    str_casecmp(back + (at - in), at) != 0)) {
			fprintf(stderr, "srs: %s made %s, which reverses to "
			    "%s\n", in, out, back);
			abort();
		}
	}
	return 0;
}
