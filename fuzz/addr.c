/* addr.c — libFuzzer harness: the address parser (lib/addr), a path as
 * MAIL and RCPT give it and a bare mailbox, under every combination of
 * flags.  An address that parses is formatted, and what addr_format
 * writes must parse again to the same address: smtp-in queues the
 * formatted text and queue-run, aliases(8) and smtp-out read it back. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same(const struct addr *a, const struct addr *b, const char *text)
{
	if (strcmp(a->local, b->local) != 0 ||
	    strcmp(a->domain, b->domain) != 0 || a->null != b->null ||
	    a->literal != b->literal) {
		fprintf(stderr, "addr: \"%s\" parses back to <%s@%s>, not "
		    "<%s@%s>\n", text, b->local, b->domain, a->local,
		    a->domain);
		abort();
	}
}

/* What addr_format wrote is a mailbox (or "" or "postmaster"): parse it
 * again, bare and as a path. */
static void
round_trip(const struct addr *a, unsigned flags)
{
	char text[ADDR_TEXT_MAX], path[ADDR_TEXT_MAX + 2];
	struct addr b;
	size_t end;
	int n;

	if ((n = addr_format(a, text, sizeof(text))) < 0)
		return;
	if (a->null || a->domain[0] == '\0')
		return;
	if (addr_parse(text, (size_t)n, flags, &b) != ADDR_OK) {
		fprintf(stderr, "addr: formatted \"%s\" does not parse\n",
		    text);
		abort();
	}
	same(a, &b, text);
	(void)snprintf(path, sizeof(path), "<%s>", text);
	if (addr_parse_path(path, strlen(path), flags, &b, &end) != ADDR_OK ||
	    end != strlen(path)) {
		fprintf(stderr, "addr: formatted path \"%s\" does not parse\n",
		    path);
		abort();
	}
	same(a, &b, path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct addr a;
	unsigned flags;
	size_t end;

	for (flags = 0; flags < 8; flags++) {
		end = 0;
		if (addr_parse_path(s, size, flags, &a, &end) == ADDR_OK) {
			if (end > size)
				abort();
			round_trip(&a, flags);
		}
		if (addr_parse(s, size, flags, &a) == ADDR_OK)
			round_trip(&a, flags);
	}
	(void)addr_utf8_valid(s, size);
	return 0;
}
