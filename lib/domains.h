/* domains.h — which domains are ours.  Local domains are the directories
 * under DIR/domains/ and the hostname.  alias.h (where an address goes)
 * and resolve.h (does a recipient exist) sit on top of it. */
#ifndef POSTHORN_DOMAINS_H
#define POSTHORN_DOMAINS_H

#include <stddef.h>

#include "addr.h"
#include "conf.h"

/* 1 local, 0 not, -1 error (errno).  A name that cannot be a directory
 * of ours (empty, '/' in it, a leading '.') is not local. */
int	domains_is_local(const struct conf *, const char *domain);
/* The same, and *hasdir: whether DIR/domains/DOMAIN exists (the hostname
 * is local without one, and then has no users or aliases file). */
int	domains_local(const struct conf *, const char *domain, int *hasdir);
/* The same, and the name the configuration gives the domain into name
 * (size bytes): its directory's or the hostname, lowercased.  An
 * international domain is local in either spelling, U-labels or A-labels
 * (idna.h), and name is the spelling of its directory, so that its files
 * and Maildirs are the same whichever a peer wrote. */
int	domains_name(const struct conf *, const char *domain, char *name,
	    size_t size, int *hasdir);
/* The local domains that have a directory under DIR/domains/, sorted,
 * into *names (malloc'd, each name too; the caller frees them): 0, or -1
 * with errno and nothing to free.  No domains directory is no domains. */
int	domains_list(const struct conf *, char ***names, size_t *n);

#endif
