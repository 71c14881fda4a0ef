/* spfcheck.h — does a domain's SPF record (RFC 7208) let one of our
 * addresses send for it?  posthorn-doctor(8) asks this of each address
 * of the host name, for each domain.  An evaluation that is sure of
 * itself or says it cannot tell: ip4, ip6, a, mx, include, redirect and
 * all are evaluated (with the limit of 10 lookups, RFC 7208 §4.6.4);
 * exists, ptr and macros are not, and a record that needs them before
 * it decides is "cannot tell", never a guess. */
#ifndef POSTHORN_SPFCHECK_H
#define POSTHORN_SPFCHECK_H

#include <stddef.h>

#include "dns.h"

enum {
	SPF_LOOKUPS_MAX = 10	/* RFC 7208 §4.6.4: DNS mechanisms */
};

enum spf_result {
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_NEUTRAL,
	SPF_NONE,
	SPF_PERMERROR,
	SPF_TEMPERROR,
	SPF_UNKNOWN		/* cannot tell (exists, ptr, a macro) */
};

/* check_host() of RFC 7208 §4 for ip and domain; why says what decided
 * (the term and the domain whose record holds it) or what could not be
 * evaluated. */
enum spf_result	 spf_check(const struct dns_addr *ip, const char *domain,
		    char *why, size_t whysize);
/* The result as RFC 7208 §2.6 words it ("cannot tell" for SPF_UNKNOWN). */
const char	*spf_result_name(enum spf_result);

#endif
