/* check.c — libFuzzer harness: dkimsign/check.c without DNS.  The input
 * is a header block: the author domain DMARC would take from its From
 * fields (check_from_domain), which must be lowercase and without '@'
 * when there is one; then the same bytes, NUL-cut, as the value of an
 * Authentication-Results field for check_fold, whose lines must all be
 * within RFC 5322's 998 octets and whose continuation lines must begin
 * with white space. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hdr.h"

enum { INPUT_MAX = 8192 };

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hdr h;
	static char in[INPUT_MAX + 1], mem[3 * INPUT_MAX];
	char dom[DNS_NAME_MAX + 1];
	const char *p, *nl;
	struct str o;

	if (size > INPUT_MAX)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (hdr_parse(&h, in, size) == 0 &&
	    check_from_domain(&h, dom, sizeof(dom)) == CHECK_FROM_ONE) {
		if (dom[0] == '\0' || strchr(dom, '@') != NULL)
			abort();
		for (p = dom; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
	}
	/* The value: what precedes the first NUL, newlines as spaces (the
	 * field's values never hold one). */
	for (p = in; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			in[p - in] = ' ';
	str_init(&o, mem, sizeof(mem));
	if (check_fold(&o, "Authentication-Results", in) == -1)
		return 0;
	for (p = o.s; ; p = nl + 1) {
		nl = strchr(p, '\n');
		if ((size_t)((nl != NULL ? nl : o.s + o.len) - p) >
		    CHECK_LINE_MAX)
			abort();
		if (p != o.s && *p != '\t')
			abort();
		if (nl == NULL)
			break;
	}
	return 0;
}
