/* keycache.h — the DKIM keys of the domains queue-run signs for, loaded
 * once and kept, so that signing a message costs its hashes and one
 * private-key operation per key, not a program start and a read of each
 * key file (dkim.h).
 *
 * A domain's keys are read again when its key directory or one of its
 * key files changes: one stat(2) of the directory and one of each key
 * file per use, compared as filecache.h compares its files (adding,
 * removing or renaming a key changes the directory; rewriting one in
 * place changes its file).  Keys read while a change was younger than
 * the racy window (filecache.h) are read again at the next use.  A
 * directory whose keys do not load is not kept: the next use tries
 * again and gives the error again. */
#ifndef POSTHORN_QR_KEYCACHE_H
#define POSTHORN_QR_KEYCACHE_H

#include <stddef.h>

#include "conf.h"
#include "keys.h"

enum {
	/* Domains kept; the least recently used goes first.  A host signs
	 * for its own few domains. */
	KEYCACHE_DOMAINS_MAX = 32
};

struct keycache_stats {
	unsigned long	loads;		/* directories read */
	unsigned long	hits;		/* uses served from memory */
};

/* The keys of domain (lowercase), as keys_load_dir gives them for
 * DIR/domains/DOMAIN/dkim/: *keys and *n, valid until the next call.
 * 0 (n may be 0: no keys), or -1 with "PATH: reason" in err. */
int	keycache_get(const struct conf *, const char *domain,
	    const struct keys_key **keys, size_t *n, char *err, size_t errlen);
/* Forget every key (their memory wiped by keys_free). */
void	keycache_clear(void);
void	keycache_stats(struct keycache_stats *);

#endif
