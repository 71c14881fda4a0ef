/* sts_policy.c — libFuzzer harness: smtp-out's MTA-STS policy parser
 * (smtp-out/sts.c, sts_parse), the cache file around it
 * (sts_cache_parse) and the _mta-sts record's id (sts_txt_id); every MX
 * pattern a policy is taken with must match a host made from it. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sts.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sts_policy pol;
	char why[256], id[STS_ID_MAX + 1], host[DNS_NAME_MAX + 8], *txt;
	const char *body;
	size_t i, bodylen;

	if (sts_parse((const char *)data, size, &pol, why, sizeof(why)) ==
	    0) {
		if (pol.nmx > STS_MX_MAX || pol.max_age < 0 ||
		    pol.max_age > STS_MAX_AGE_MAX)
			abort();
		if (pol.mode != STS_MODE_NONE && pol.nmx == 0)
			abort();
		for (i = 0; i < pol.nmx; i++) {
			const char *p = pol.mx[i];

			if (memchr(p, '\0', sizeof(pol.mx[i])) == NULL)
				abort();
			/* "*.rest" matches "x.rest"; a name matches itself. */
			if (p[0] == '*')
				strcpy(host, "x"), strcat(host, p + 1);
			else
				strcpy(host, p);
			if (!sts_mx_match(&pol, host))
				abort();
		}
	}
	if (sts_cache_parse((const char *)data, size, &pol, &body, &bodylen,
	    why, sizeof(why)) == 0 && (body < (const char *)data ||
	    body + bodylen != (const char *)data + size))
		abort();
	if ((txt = malloc(size + 1)) == NULL)
		return 0;
	memcpy(txt, data, size);
	txt[size] = '\0';
	if (sts_txt_id(txt, id, sizeof(id)) == 0 && (strlen(id) == 0 ||
	    strlen(id) > STS_ID_MAX))
		abort();
	free(txt);
	return 0;
}
