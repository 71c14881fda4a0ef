/* keeper.c — libFuzzer harness: the questions smtp-keeper takes from
 * any session (lib/keeper).  A question that parses has exactly one of
 * its forms: its words non-empty and within their bounds, and written
 * again from the parts it is the same text. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char again[2 * KEEPER_ARG_MAX + KEEPER_PEER_MAX + 16];
	struct keeper_req r;

	if (keeper_parse((const char *)data, size, &r) == -1)
		return 0;
	switch (r.op) {
	case KEEPER_SRS:
		if (r.peer[0] == '\0' || strlen(r.peer) > KEEPER_PEER_MAX)
			abort();
		(void)snprintf(again, sizeof(again), "srs %s %s", r.peer,
		    r.arg);
		break;
	case KEEPER_USER:
		(void)snprintf(again, sizeof(again), "user %s %s", r.arg,
		    r.name);
		break;
	case KEEPER_AUTH:
		if (strlen(r.arg) > KEEPER_PEER_MAX)
			abort();
		(void)snprintf(again, sizeof(again), "auth %s", r.arg);
		break;
	default:
		abort();
	}
	if (r.arg[0] == '\0' || strlen(again) != size ||
	    memcmp(again, data, size) != 0) {
		fprintf(stderr, "keeper: \"%.*s\" parsed as \"%s\"\n",
		    (int)size, (const char *)data, again);
		abort();
	}
	return 0;
}
