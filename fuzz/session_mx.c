/* session_mx.c — libFuzzer harness: a whole SMTP session of smtp-in in
 * "mx" mode on the input, read in pieces whose sizes its first byte
 * chooses (fuzz/README.md). */

#include <stddef.h>
#include <stdint.h>

#include "fuzzsession.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fzs_run(data, size, SESSION_MX);
	return 0;
}
