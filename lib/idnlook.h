/* idnlook.h — IDNA 2008 with libidn2, for the glibc programs: a domain as
 * the A-labels that DNS and DKIM d= use, with the mapping of UTS #46
 * (non-transitional: ß stays ß) and NFC, so that "BÜCHER.example" is
 * xn--bcher-kva.example, and a name that IDNA 2008 disallows is refused
 * with libidn2's reason, as is one that maps to other than letters,
 * digits, hyphens and dots (U+FF0F to '/').  The static smtp-in has
 * lib/idna.h instead. */
#ifndef POSTHORN_IDNLOOK_H
#define POSTHORN_IDNLOOK_H

#include <stddef.h>

enum {
	/* A why: libidn2's reason and the name it is about. */
	IDNLOOK_WHY_MAX = 512
};

/* domain as A-labels, lowercased, into out (size bytes): 0, or -1 with
 * why (libidn2's words) filled.  An ASCII name is only lowercased and
 * checked by libidn2 when it has an "xn--" label. */
int	idnlook_to_ascii(const char *domain, char *out, size_t size,
	    char *why, size_t whysize);

#endif
