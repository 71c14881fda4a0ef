/* resolve.c — does a recipient exist here?  This is smtp-in's RCPT check.
 * It asks alias.c, the one resolver that queue-run and aliases(8) use
 * too, so that smtp-in never accepts an address that queue-run would then
 * bounce: an alias that leads nowhere is refused at RCPT like an unknown
 * user.  A file that cannot be read is a temporary failure: refusing mail
 * for an existing user because of a permission slip would bounce it for
 * good. */

#include <string.h>

#include "alias.h"
#include "domains.h"
#include "resolve.h"
#include "str.h"

static int
count_target(const struct alias_target *t, void *arg)
{
	size_t *n = arg;

	(void)t;
	(*n)++;
	return 0;
}

enum resolve_result
resolve_rcpt(const struct conf *conf, const struct addr *a)
{
	char text[ADDR_TEXT_MAX + 1], why[ALIAS_WHY_MAX];
	size_t n = 0;
	int r;

	if (a->null)
		return RESOLVE_NOUSER;
	if (a->literal)
		return RESOLVE_REMOTE;
	if (a->domain[0] == '\0') {
		/* "<postmaster>", RFC 5321 §4.1.1.3: alias_resolve takes
		 * "postmaster" alone as the hostname's. */
		if (str_casecmp(a->local, ALIAS_POSTMASTER) != 0)
			return RESOLVE_NOUSER;
	} else if ((r = domains_is_local(conf, a->domain)) != 1)
		return r == 0 ? RESOLVE_REMOTE : RESOLVE_TEMPFAIL;
	if (addr_format(a, text, sizeof(text)) == -1)
		return RESOLVE_NOUSER;	/* too long to be one of ours */
	switch (alias_resolve(conf, text, count_target, &n, why,
	    sizeof(why))) {
	case ALIAS_OK:
		return n > 0 ? RESOLVE_LOCAL : RESOLVE_NOUSER;
	case ALIAS_NOUSER:
	case ALIAS_BROKEN:
		return RESOLVE_NOUSER;
	case ALIAS_TEMPFAIL:
	default:
		return RESOLVE_TEMPFAIL;
	}
}
