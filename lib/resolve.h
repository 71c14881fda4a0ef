/* resolve.h — does a recipient exist here?  Which domains are local is
 * domains.h's, where an address goes alias.h's; resolve_rcpt is smtp-in's
 * RCPT check on top of both: an address exists when it resolves to at
 * least one target. */
#ifndef POSTHORN_RESOLVE_H
#define POSTHORN_RESOLVE_H

#include "addr.h"
#include "conf.h"

enum resolve_result {
	RESOLVE_LOCAL = 0,	/* a local recipient that resolves */
	RESOLVE_NOUSER,		/* local domain, no such address, or an
				   alias that leads nowhere (aliases(5)) */
	RESOLVE_REMOTE,		/* not one of our domains */
	RESOLVE_TEMPFAIL	/* a file could not be read: try later
				   (errno says why) */
};

enum resolve_result	 resolve_rcpt(const struct conf *, const struct addr *);

#endif
