/* resolve.h — does a recipient exist here?  Local domains are the
 * directories under DIR/domains/ and the hostname; an address exists when
 * it is postmaster, a user of the domain's users file or a name of its
 * aliases file, whose "*" catches everything.  The aliases issue grows
 * this into full resolution; smtp-in's RCPT check stays this call. */
#ifndef POSTHORN_RESOLVE_H
#define POSTHORN_RESOLVE_H

#include "addr.h"
#include "conf.h"

#define RESOLVE_ALIASES_FILE	"aliases"

enum resolve_result {
	RESOLVE_LOCAL = 0,	/* a local recipient that exists */
	RESOLVE_NOUSER,		/* local domain, no such address */
	RESOLVE_REMOTE,		/* not one of our domains */
	RESOLVE_TEMPFAIL	/* a file could not be read: try later */
};

/* 1 local, 0 not, -1 error (errno). */
int			 resolve_domain_is_local(const struct conf *,
			    const char *domain);
enum resolve_result	 resolve_rcpt(const struct conf *, const struct addr *);

#endif
