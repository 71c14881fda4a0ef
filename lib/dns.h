/* dns.h — where mail for a domain goes: MX records (RFC 5321 §5.1,
 * RFC 7505 null MX) and the AAAA and A records of a host, through the C
 * library's resolver (glibc's, or musl's in smtp-in; /etc/resolv.conf
 * honoured), with the answer classified so that the caller can tell
 * "try later" from "fail now".  The parsers take a
 * whole DNS response so that the tests feed them canned packets.
 *
 * What a result means to smtp-out (DSN codes of smtp-out(8)):
 *   DNS_OK        use what was returned
 *   DNS_NXDOMAIN  the name does not exist: for the destination domain
 *                 (dns_mx, or dns_addrs of an implicit MX) failed 5.1.2;
 *                 for an MX host, skip that host
 *   DNS_NULLMX    the domain accepts no mail (RFC 7505): failed 5.1.10
 *   DNS_NODATA    the name exists without records of the type: for
 *                 dns_addrs of an implicit MX (the domain itself, no MX
 *                 at all) failed 5.1.2 (RFC 5321 §5.1); for an MX host,
 *                 skip that host
 *   DNS_TEMP      SERVFAIL, REFUSED, a timeout, a damaged or truncated
 *                 answer: deferred 4.4.3, and never a fallback to A
 * When every MX host was skipped that way: failed 5.4.4 (unable to
 * route), unless one of them was DNS_TEMP (then deferred 4.4.3).
 * dns_dsn() gives those codes. */
#ifndef POSTHORN_DNS_H
#define POSTHORN_DNS_H

#include <stddef.h>

#include "conf.h"

enum {
	DNS_HOSTS_MAX = 32,	/* MX hosts kept, the best preferences */
	DNS_ADDRS_MAX = 64,	/* addresses of one host, AAAA and A */
	DNS_NAME_MAX = 255	/* RFC 1035 §3.1, dotted text */
};
enum {
	/* The text of one TXT record, its strings joined: a DKIM record of
	 * a 4096-bit RSA key is ~750 bytes; SPF and DMARC are shorter. */
	DNS_TXT_LEN_MAX = 4096,
	DNS_TXTS_MAX = 16,	/* TXT records kept of one name */
	DNS_PTRS_MAX = 8	/* PTR records kept of one address */
};

enum dns_result {
	DNS_OK = 0,
	DNS_NXDOMAIN,		/* 5.1.2 */
	DNS_NULLMX,		/* 5.1.10 */
	DNS_NODATA,		/* see above */
	DNS_TEMP		/* 4.4.3 */
};

/* One MX host, or the domain itself as its implicit MX (implicit = 1,
 * pref 0).  host: lowercase, no trailing dot; for an address literal
 * ("[192.0.2.1]", "[IPv6:2001:db8::1]") the literal as given. */
struct dns_target {
	char	host[DNS_NAME_MAX + 1];
	int	pref;
	int	implicit;
};

struct dns_addr {
	int		family;		/* AF_INET6 or AF_INET */
	unsigned char	addr[16];	/* 4 bytes used for AF_INET */
	char		text[46];	/* INET6_ADDRSTRLEN */
};

/* The MX hosts of domain in preference order, equal preferences in a
 * random order (arc4random), at most max of them (the best).  No MX
 * record: one implicit target, the domain itself (whether it has an
 * address is dns_addrs' answer).  Every MX being "." (RFC 7505):
 * DNS_NULLMX.  An address literal: one implicit target, the literal.
 * Anything but DNS_OK leaves a sentence for a DSN in why. */
enum dns_result	 dns_mx(const char *domain, struct dns_target *out,
		    size_t max, size_t *n, char *why, size_t whysize);
/* The addresses of host, IPv6 (AAAA) first, then IPv4 (A), at most max.
 * host may be an address: "192.0.2.1", "2001:db8::1", "[192.0.2.1]",
 * "[IPv6:2001:db8::1]".  A temporary failure of one family with answers
 * in the other is DNS_OK (a server that fails AAAA queries is common);
 * DNS_TEMP only when nothing was found and one query failed for now. */
enum dns_result	 dns_addrs(const char *host, struct dns_addr *out,
		    size_t max, size_t *n, char *why, size_t whysize);
/* 1 if host is this machine: its name is conf->hostname, or addr (may be
 * NULL) is one of the addresses of our interfaces (getifaddrs), IPv4 or
 * IPv6 (an IPv4-mapped IPv6 address as its IPv4 one), or the unspecified
 * address.  Loopback addresses (127/8, ::1, and any on a loopback
 * interface) are not counted: they are where local relays (a content
 * filter on 127.0.0.1:10025) and the test peers listen; a loop through
 * them ends at smtp-in's relay check.  send.c asks it of every next hop:
 * MX hosts, the implicit MX, and a route's host on one of our ports. */
int		 dns_is_self(const struct conf *, const char *host,
		    const struct dns_addr *addr);
/* For posthorn-doctor(8): the records the tutorial asks to publish.
 * The TXT records of name, each one's strings joined into text (a byte
 * that is not printable ASCII as '?'), at most max; DNS_NODATA when
 * there is none. */
struct dns_text {
	char	text[DNS_TXT_LEN_MAX + 1];
	int	cut;		/* longer than DNS_TXT_LEN_MAX */
	size_t	odd;		/* bytes not printable ASCII, now '?' */
};
enum dns_result	 dns_txt(const char *name, struct dns_text *out, size_t max,
		    size_t *n, char *why, size_t whysize);
/* 1 when a TXT record's text is of the kind version names ("v=STSv1",
 * "v=TLSRPTv1", "v=DMARC1"): it starts with version, then ';', a blank
 * or its end, so that "v=TLSRPTv10" is not "v=TLSRPTv1"; else 0. */
int		 dns_txt_tagged(const char *text, const char *version);
/* The names the PTR records of an address give (lowercase, no trailing
 * dot), at most max. */
struct dns_name {
	char	name[DNS_NAME_MAX + 1];
};
enum dns_result	 dns_ptr(const struct dns_addr *, struct dns_name *out,
		    size_t max, size_t *n, char *why, size_t whysize);
/* DNS_OK and the target when name is a CNAME, DNS_NODATA when it has
 * no CNAME record (and exists). */
enum dns_result	 dns_cname(const char *name, struct dns_name *target,
		    char *why, size_t whysize);
/* The reverse name of an address, "4.3.2.1.in-addr.arpa" or the 32
 * nibbles of an IPv6 one under ip6.arpa (RFC 1035 §3.5, RFC 3596 §2.5),
 * into rev (DNS_REVERSE_MAX bytes hold it). */
enum { DNS_REVERSE_MAX = 74 };	/* 64 + "ip6.arpa" + NUL */
void		 dns_reverse_name(const struct dns_addr *, char *rev,
		    size_t size);

/* The lookups under posthorn's checks of incoming mail (lib/spf.c),
 * where the caller bounds the wait: opts, when not NULL, replaces
 * resolv.conf's timeout (seconds for a try) and attempts (tries per
 * server); zeros keep resolv.conf's.  Each answer is classified as
 * above, with DNS_NXDOMAIN and DNS_NODATA told apart (RFC 7208 §4.6.4
 * counts both as a void lookup), and never a fallback: */
struct dns_opts {
	int	timeout;
	int	attempts;
};
/* dns_txt's records, bytes not printable counted in odd. */
enum dns_result	 dns_txt_with(const struct dns_opts *, const char *name,
		    struct dns_text *out, size_t max, size_t *n, char *why,
		    size_t whysize);
/* The A (AF_INET) or AAAA (AF_INET6) records of name only; name is a
 * name, never an address literal. */
enum dns_result	 dns_addrs_family(const struct dns_opts *, const char *name,
		    int family, struct dns_addr *out, size_t max, size_t *n,
		    char *why, size_t whysize);
/* The names of name's records of type ns_t_mx (the hosts, in the
 * answer's order, without preferences; a null MX's "." left out),
 * ns_t_ptr or ns_t_cname, at most max. */
enum dns_result	 dns_names(const struct dns_opts *, const char *name,
		    int type, struct dns_name *out, size_t max, size_t *n,
		    char *why, size_t whysize);

/* An address as a dns_addr: 0, or -1 if text is not one. */
int		 dns_addr_parse(const char *text, struct dns_addr *);

/* Every query of this module (dns_mx, dns_addrs, dns_txt, ...) through
 * fn instead of glibc's resolver, or through glibc's again (fn NULL):
 * smtp-out's DNSSEC-validating resolver (smtp-out/dane.c).  fn returns
 * the whole response's length in ans (at most anssize), or -1 with *r
 * (DNS_TEMP, or DNS_NXDOMAIN for a name that cannot be asked) and a
 * sentence in why. */
typedef int dns_transport_fn(void *arg, const char *name, int type,
    unsigned char *ans, size_t anssize, enum dns_result *r, char *why,
    size_t whysize);
void		 dns_set_transport(dns_transport_fn *fn, void *arg);

/* The DSN code of a result, as above: of_domain is 1 when the name
 * looked up was the destination domain (dns_mx, or dns_addrs of an
 * implicit target), 0 for an MX host.  "2.0.0" for DNS_OK. */
const char	*dns_dsn(enum dns_result, int of_domain);
/* 1 for a permanent result (NXDOMAIN, NULLMX, NODATA), 0 otherwise. */
int		 dns_permanent(enum dns_result);

/* The parsers under dns_mx and dns_addrs: pkt is a whole response
 * (header included) to a query for qname.  Records are taken from the
 * answer section for qname or the names a CNAME chain from it leads to.
 * For dns_parse_addrs, type is ns_t_aaaa or ns_t_a; out receives up to
 * max - *n more, *n counts them. */
enum dns_result	 dns_parse_mx(const unsigned char *pkt, size_t len,
		    const char *qname, struct dns_target *out, size_t max,
		    size_t *n, char *why, size_t whysize);
enum dns_result	 dns_parse_addrs(const unsigned char *pkt, size_t len,
		    const char *qname, int type, struct dns_addr *out,
		    size_t max, size_t *n, char *why, size_t whysize);
enum dns_result	 dns_parse_txt(const unsigned char *pkt, size_t len,
		    const char *qname, struct dns_text *out, size_t max,
		    size_t *n, char *why, size_t whysize);

#endif
