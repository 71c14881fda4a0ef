/* ckproto.c — libFuzzer harness: the texts between smtp-in and the
 * resident checker (lib/ckproto.c), which smtp-checkd decodes from any
 * holder of the listener's socket and smtp-in from the checker.  The
 * input is taken as a request and as an answer; whatever decodes must
 * encode again and decode to the same. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[CKP_DGRAM_MAX];
	static struct ckp_request r, r2;
	static struct ckp_answer a, a2;
	size_t len;

	if (ckp_request_decode((const char *)data, size, &r) == 0) {
		if (ckp_request_encode(&r, buf, sizeof(buf), &len) == -1 ||
		    ckp_request_decode(buf, len, &r2) == -1 ||
		    memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
	}
	if (ckp_answer_decode((const char *)data, size, &a) == 0) {
		if (ckp_answer_encode(&a, buf, sizeof(buf), &len) == -1 ||
		    ckp_answer_decode(buf, len, &a2) == -1 ||
		    memcmp(&a, &a2, sizeof(a)) != 0)
			abort();
	}
	return 0;
}
