/* dnsbl.h — DNS blocklists (RFC 5782) asked at connect by smtp-in on
 * port 25 (posthorn.conf's dnsbl): is the client's address listed in a
 * zone, and why.  A session without zones asks nothing. */
#ifndef POSTHORN_DNSBL_H
#define POSTHORN_DNSBL_H

#include <stddef.h>

#include "dns.h"

enum {
	/* The list's reason as it reaches the client and the log: a TXT
	 * record is up to 255 octets a string; Spamhaus's are ~60. */
	DNSBL_REASON_MAX = 200,
	/* A records and TXT records read of one answer. */
	DNSBL_ANSWERS_MAX = 8
};

enum dnsbl_result {
	DNSBL_NOT_LISTED,
	DNSBL_LISTED,		/* reason set */
	DNSBL_ERROR		/* why set: a failure is not a listing */
};

/* The name to ask of zone for address (as text, IPv4 or IPv6): the
 * octets reversed, or the 32 nibbles of IPv6 reversed (RFC 5782 §2.1,
 * §2.4), then the zone.  0, or -1 when addr is not an address or the
 * name does not fit. */
int	dnsbl_name(const char *addr, const char *zone, char *buf, size_t);

/* What an A answer says (RFC 5782 §2.1: an address in 127.0.0.0/8 is a
 * listing).  127.255.255.0/24 is the error code of lists that refuse a
 * query (Spamhaus's: through an open resolver, over the limit), and an
 * address outside 127/8 a resolver that invents answers: both
 * DNSBL_ERROR with why. */
enum dnsbl_result dnsbl_classify(const struct dns_addr *, size_t n,
	    char *why, size_t whysize);

/* Ask zone about addr: its A records, then (listed) its TXT record for
 * the reason, made printable and cut at DNSBL_REASON_MAX ("listed by
 * ZONE" when there is none). */
enum dnsbl_result dnsbl_check(const char *addr, const char *zone,
	    char *reason, size_t reasonsize, char *why, size_t whysize);

#endif
