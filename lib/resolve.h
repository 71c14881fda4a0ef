/* resolve.h — does a recipient exist here?  Local domains are the
 * directories under DIR/domains/ and the hostname.  Where an address
 * goes is alias.h's; resolve_rcpt is smtp-in's RCPT check on top of it:
 * an address exists when it resolves to at least one target. */
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

/* 1 local, 0 not, -1 error (errno).  A name that cannot be a directory
 * of ours (empty, '/' in it, a leading '.') is not local. */
int			 resolve_domain_is_local(const struct conf *,
			    const char *domain);
/* The same, and *hasdir: whether DIR/domains/DOMAIN exists (the hostname
 * is local without one, and then has no users or aliases file). */
int			 resolve_domain_local(const struct conf *,
			    const char *domain, int *hasdir);
/* The same, and the name the configuration gives the domain into name
 * (size bytes): its directory's or the hostname, lowercased.  An
 * international domain is local in either spelling, U-labels or A-labels
 * (idna.h), and name is the spelling of its directory, so that its files
 * and Maildirs are the same whichever a peer wrote. */
int			 resolve_domain_name(const struct conf *,
			    const char *domain, char *name, size_t size,
			    int *hasdir);
/* The local domains that have a directory under DIR/domains/, sorted,
 * into *names (malloc'd, each name too; the caller frees them): 0, or -1
 * with errno and nothing to free.  No domains directory is no domains. */
int			 resolve_domains(const struct conf *, char ***names,
			    size_t *n);
enum resolve_result	 resolve_rcpt(const struct conf *, const struct addr *);

#endif
