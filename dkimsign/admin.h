/* admin.h — dkimsign -g and -p: make a domain's keys, print the DNS
 * records of its keys. */
#ifndef POSTHORN_DKIM_ADMIN_H
#define POSTHORN_DKIM_ADMIN_H

#include <stddef.h>

/* Make an RSA key of bits and an Ed25519 key for domain in
 * DIR/domains/DOMAIN/dkim/, dated by t (or now when t is -1), and write
 * their TXT records to out.  DIR/domains/DOMAIN must exist, except for
 * the hostname of posthorn.conf, whose directory is made.  0, or -1 with
 * a reason in err. */
int	admin_generate(const char *confdir, const char *domain, unsigned bits,
	    long long t, int out, char *err, size_t errlen);
/* The TXT records of the keys that exist for domain, to out.  0, or -1
 * with a reason in err (no key is an error). */
int	admin_print(const char *confdir, const char *domain, int out,
	    char *err, size_t errlen);

#endif
