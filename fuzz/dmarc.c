/* dmarc.c — libFuzzer harness: DMARC records (dkimsign/dmarc.c) as a TXT
 * lookup brings them.  The input is the text of one record; a record
 * that parses must give policies and a pct= within their ranges, and a
 * record refused must say why. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char txt[DNS_TXT_LEN_MAX + 1], why[DMARC_WHY_MAX];
	struct dmarc_record r;

	if (size > DNS_TXT_LEN_MAX)
		return 0;
	memcpy(txt, data, size);
	txt[size] = '\0';
	why[0] = '\0';
	if (dmarc_record_parse(txt, &r, why, sizeof(why)) == 0) {
		if (r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT ||
		    r.pct < 0 || r.pct > 100)
			abort();
	} else if (why[0] == '\0')
		abort();
	return 0;
}
