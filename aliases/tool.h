/* tool.h — the work of aliases(8), apart from its arguments: print where
 * addresses go, check the aliases files of the local domains, and check
 * an SRS address. */
#ifndef POSTHORN_ALIASES_TOOL_H
#define POSTHORN_ALIASES_TOOL_H

#include <stdio.h>

#include "conf.h"

enum aliases_result {
	ALIASES_OK,		/* every address resolved; no problem */
	ALIASES_FAIL,		/* an address did not; a problem */
	ALIASES_TEMP		/* a file unreadable, or no memory */
};

/* For each address, its targets one a line on out ("ADDR: mailbox ...",
 * "ADDR: pipe ...", "ADDR: remote ...", each once), or why it has none. */
enum aliases_result	aliases_show(const struct conf *, char *const *addrs,
			    size_t n, FILE *out);
/* "FILE:LINE: why" on out for every problem of the aliases file of each
 * domain named, or of every local domain when n is 0; a file that cannot
 * be read is said on err. */
enum aliases_result	aliases_check(const struct conf *,
			    char *const *domains, size_t n, FILE *out,
			    FILE *err);

/* The original address of an SRS address of a local domain (srs.h), one
 * line on out; or why not on err: FAIL when it is not one (not local,
 * not SRS, malformed, bad hash, expired), TEMP when the secret cannot
 * be read. */
enum aliases_result	aliases_srs(const struct conf *, const char *address,
			    FILE *out, FILE *err);

#endif
