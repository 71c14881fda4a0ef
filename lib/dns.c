/* dns.c — MX and address lookups for smtp-out, with the C library's
 * resolver (glibc's for smtp-out; musl's in smtp-in, which asks for the
 * A and TXT records of DNS blocklists).
 * The point of this file is the classification: a name that does not
 * exist fails the mail at once, a domain that refuses mail (null MX) too,
 * but a server that failed, timed out or sent something we cannot read
 * only defers it — and a failed MX lookup never falls back to the A
 * record, which would deliver to a host that is not the domain's MX.
 *
 * The queries go through res_nmkquery and res_nsend on a private
 * resolver state (not the global _res), so that /etc/resolv.conf is
 * honoured and we see the whole response: res_nquery hides it behind
 * h_errno as soon as the RCODE is not NOERROR.  The parsers take that
 * response as bytes, which is what the unit tests feed them. */

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <resolv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "str.h"

enum {
	/* The largest DNS message: TCP's two-byte length (RFC 1035
	 * §4.2.2); res_nsend moves to TCP when a UDP answer is truncated. */
	DNS_PACKET_MAX = 65535,
	DNS_QUERY_MAX = 512,		/* RFC 1035 §2.3.4: a query fits */
	/* CNAMEs followed from the query name inside one answer.  A
	 * resolver does the chasing; this bounds what we accept. */
	DNS_CHAIN_MAX = 8
};

/* Names a record may be owned by: the query name and its CNAME chain. */
struct chain {
	char	name[DNS_CHAIN_MAX + 1][DNS_NAME_MAX + 1];
	size_t	n;
};

/* Lowercase, without the trailing dot; -1 if it does not fit. */
static int
norm_name(char *dst, size_t size, const char *src)
{
	size_t len;

	if (str_copy(dst, size, src) == -1)
		return -1;
	str_lower(dst);
	len = strlen(dst);
	if (len > 1 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
	return 0;
}

/* qname as the records' owner names are printed (ns_name_ntop: a blank
 * or a byte that is not printable as \DDD), lowercase, no trailing dot,
 * so that name_eq finds the records of a name with such bytes in it (an
 * SPF target made by a macro). */
static int
canon_name(char *dst, size_t size, const char *qname)
{
	unsigned char wire[NS_MAXCDNAME];
	char text[NS_MAXDNAME];

#ifdef __GLIBC__
	if (ns_name_pton(qname, wire, sizeof(wire)) == -1 ||
	    ns_name_ntop(wire, text, sizeof(text)) == -1)
		return norm_name(dst, size, qname);
	return norm_name(dst, size, text);
#else
	/* musl has neither; smtp-in asks no name made by a macro. */
	(void)wire;
	(void)text;
	return norm_name(dst, size, qname);
#endif
}

static int
name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* An MX target we can print and look up: labels of letters, digits, '-'
 * and '_' (seen in the wild), none empty.  ns_name_ntop escapes anything
 * else with a backslash, which would then reach our output lines. */
static int
usable_host(const char *s)
{
	size_t label = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isascii((unsigned char)*s) &&
		    (isalnum((unsigned char)*s) || *s == '-' || *s == '_'))
			label++;
		else
			return 0;
	}
	return label > 0;
}

static const char *
rcode_name(int rcode)
{
	switch (rcode) {
	case ns_r_formerr:
		return "FORMERR";
	case ns_r_servfail:
		return "SERVFAIL";
	case ns_r_notimpl:
		return "NOTIMP";
	case ns_r_refused:
		return "REFUSED";
	default:
		return "an error";
	}
}

static const char *
type_name(int type)
{
	switch (type) {
	case ns_t_mx:
		return "MX";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_a:
		return "A";
	case ns_t_txt:
		return "TXT";
	case ns_t_ptr:
		return "PTR";
	case ns_t_cname:
		return "CNAME";
	default:
		return "?";
	}
}

/* The header checks every parser starts with, and the CNAME chain. */
static enum dns_result
open_answer(const unsigned char *pkt, size_t len, const char *qname,
    int type, ns_msg *msg, struct chain *ch, char *why, size_t whysize)
{
	ns_rr rr;
	int rcode, i, count, grew;
	char target[DNS_NAME_MAX + 1];
	size_t k;

	if (len > DNS_PACKET_MAX ||
	    ns_initparse(pkt, (int)len, msg) == -1 ||
	    ns_msg_getflag(*msg, ns_f_qr) == 0) {
		str_fmt_cut(why, whysize,
		    "DNS: %s: damaged answer to the %s query", qname,
		    type_name(type));
		return DNS_TEMP;
	}
	if (ns_msg_getflag(*msg, ns_f_tc) != 0) {
		str_fmt_cut(why, whysize,
		    "DNS: %s: truncated answer to the %s query", qname,
		    type_name(type));
		return DNS_TEMP;
	}
	rcode = ns_msg_getflag(*msg, ns_f_rcode);
	if (rcode == ns_r_nxdomain) {
		str_fmt_cut(why, whysize, "DNS: %s: no such domain (NXDOMAIN)",
		    qname);
		return DNS_NXDOMAIN;
	}
	if (rcode != ns_r_noerror) {
		str_fmt_cut(why, whysize,
		    "DNS: %s: the server answered the %s query with %s",
		    qname, type_name(type), rcode_name(rcode));
		return DNS_TEMP;
	}
	if (canon_name(ch->name[0], sizeof(ch->name[0]), qname) == -1) {
		str_fmt_cut(why, whysize, "DNS: name too long");
		return DNS_NXDOMAIN;
	}
	ch->n = 1;
	count = ns_msg_count(*msg, ns_s_an);
	/* Each pass may extend the chain by a link, whatever the order of
	 * the records; a loop stops at DNS_CHAIN_MAX. */
	do {
		grew = 0;
		for (i = 0; i < count && ch->n <= DNS_CHAIN_MAX; i++) {
			if (ns_parserr(msg, ns_s_an, i, &rr) == -1)
				goto damaged;
			if (ns_rr_type(rr) != ns_t_cname ||
			    ns_rr_class(rr) != ns_c_in ||
			    !name_eq(ns_rr_name(rr), ch->name[ch->n - 1]))
				continue;
			if (ns_name_uncompress(ns_msg_base(*msg),
			    ns_msg_end(*msg), ns_rr_rdata(rr), target,
			    sizeof(target)) == -1)
				goto damaged;
			for (k = 0; k < ch->n; k++)
				if (name_eq(ch->name[k], target))
					break;
			if (k < ch->n)
				continue;	/* a loop: ignore the link */
			if (ch->n == DNS_CHAIN_MAX + 1 ||
			    norm_name(ch->name[ch->n], sizeof(ch->name[0]),
			    target) == -1)
				goto damaged;
			ch->n++;
			grew = 1;
		}
	} while (grew && ch->n <= DNS_CHAIN_MAX);
	return DNS_OK;
damaged:
	str_fmt_cut(why, whysize, "DNS: %s: damaged answer to the %s query",
	    qname, type_name(type));
	return DNS_TEMP;
}

static int
in_chain(const struct chain *ch, const char *name)
{
	size_t k;

	for (k = 0; k < ch->n; k++)
		if (name_eq(ch->name[k], name))
			return 1;
	return 0;
}

/* The next record of the answer section, from *i on, that is of type and
 * owned by a name of the chain: 1 with rr set, 0 at the end, -1 if a
 * record cannot be parsed (the answer is damaged). */
static int
next_answer(ns_msg *msg, const struct chain *ch, int type, int *i, ns_rr *rr)
{
	int count = ns_msg_count(*msg, ns_s_an);

	while (*i < count) {
		if (ns_parserr(msg, ns_s_an, (*i)++, rr) == -1)
			return -1;
		if (ns_rr_type(*rr) == type && ns_rr_class(*rr) == ns_c_in &&
		    in_chain(ch, ns_rr_name(*rr)))
			return 1;
	}
	return 0;
}

/* Put t into out[0..*n) sorted by (pref, key), keeping the best max. */
/* A random number for the order of equal MX preferences: glibc's
 * arc4random; musl (smtp-in, which never asks for MX records) has none,
 * and getrandom does as well there. */
static uint32_t
rnd32(void)
{
#ifdef __GLIBC__
	return arc4random();
#else
	uint32_t r = 0;

	while (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		if (errno != EINTR)
			break;
	return r;
#endif
}

static void
insert_target(struct dns_target *out, uint32_t *keys, size_t max, size_t *n,
    const char *host, int pref, uint32_t key)
{
	size_t i, pos;

	for (i = 0; i < *n; i++)
		if (strcmp(out[i].host, host) == 0)
			break;
	if (i < *n) {
		/* The same host twice: its better preference counts. */
		if (out[i].pref <= pref)
			return;
		memmove(&out[i], &out[i + 1], (*n - i - 1) * sizeof(out[0]));
		memmove(&keys[i], &keys[i + 1], (*n - i - 1) * sizeof(keys[0]));
		(*n)--;
	}
	for (pos = 0; pos < *n; pos++)
		if (pref < out[pos].pref ||
		    (pref == out[pos].pref && key < keys[pos]))
			break;
	if (pos == max)
		return;
	if (*n == max)
		(*n)--;
	memmove(&out[pos + 1], &out[pos], (*n - pos) * sizeof(out[0]));
	memmove(&keys[pos + 1], &keys[pos], (*n - pos) * sizeof(keys[0]));
	/* host fits: it came from a buffer of the same size. */
	(void)str_copy(out[pos].host, sizeof(out[pos].host), host);
	out[pos].pref = pref;
	out[pos].implicit = 0;
	keys[pos] = key;
	(*n)++;
}

enum dns_result
dns_parse_mx(const unsigned char *pkt, size_t len, const char *qname,
    struct dns_target *out, size_t max, size_t *n, char *why, size_t whysize)
{
	struct chain ch;
	ns_msg msg;
	ns_rr rr;
	enum dns_result r;
	char host[DNS_NAME_MAX + 1], norm[DNS_NAME_MAX + 1];
	uint32_t keys[DNS_HOSTS_MAX];
	size_t nnull = 0, nbad = 0;
	int i, got, pref;

	*n = 0;
	if (max > DNS_HOSTS_MAX)
		max = DNS_HOSTS_MAX;
	if ((r = open_answer(pkt, len, qname, ns_t_mx, &msg, &ch, why,
	    whysize)) != DNS_OK)
		return r;
	i = 0;
	while ((got = next_answer(&msg, &ch, ns_t_mx, &i, &rr)) == 1) {
		if (ns_rr_rdlen(rr) < 3 ||
		    ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
		    ns_rr_rdata(rr) + 2, host, sizeof(host)) == -1)
			goto damaged;
		pref = (int)ns_get16(ns_rr_rdata(rr));
		if (strcmp(host, ".") == 0 || host[0] == '\0') {
			nnull++;	/* RFC 7505 */
			continue;
		}
		if (norm_name(norm, sizeof(norm), host) == -1 ||
		    !usable_host(norm)) {
			nbad++;
			continue;
		}
		if (max > 0)
			insert_target(out, keys, max, n, norm, pref,
			    rnd32());
	}
	if (got == -1)
		goto damaged;
	if (*n > 0)
		return DNS_OK;
	if (nbad > 0) {
		/* The domain has MX records, so its A record is no
		 * destination; a broken record may yet be fixed. */
		str_fmt_cut(why, whysize,
		    "DNS: %s: no usable MX host name in the answer", qname);
		return DNS_TEMP;
	}
	if (nnull > 0) {
		str_fmt_cut(why, whysize,
		    "DNS: %s: null MX: the domain accepts no mail (RFC 7505)",
		    qname);
		return DNS_NULLMX;
	}
	str_fmt_cut(why, whysize, "DNS: %s: no MX record", qname);
	return DNS_NODATA;
damaged:
	*n = 0;
	str_fmt_cut(why, whysize, "DNS: %s: damaged answer to the MX query",
	    qname);
	return DNS_TEMP;
}

/* How a parse of records of type ends: got is next_answer's last
 * answer (-1: a damaged record), found the records of the type seen; n,
 * when given, is set to 0 on a damaged answer. */
static enum dns_result
parse_end(int got, size_t found, size_t *n, const char *qname, int type,
    char *why, size_t whysize)
{
	if (got == -1) {
		if (n != NULL)
			*n = 0;
		str_fmt_cut(why, whysize,
		    "DNS: %s: damaged answer to the %s query", qname,
		    type_name(type));
		return DNS_TEMP;
	}
	if (found > 0)
		return DNS_OK;
	str_fmt_cut(why, whysize, "DNS: %s: no %s record", qname,
	    type_name(type));
	return DNS_NODATA;
}

static void
addr_set(struct dns_addr *a, int family, const void *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, bytes, family == AF_INET6 ? 16 : 4);
	/* Cannot fail: a known family and a buffer of INET6_ADDRSTRLEN. */
	(void)inet_ntop(family, a->addr, a->text, sizeof(a->text));
}

enum dns_result
dns_parse_addrs(const unsigned char *pkt, size_t len, const char *qname,
    int type, struct dns_addr *out, size_t max, size_t *n, char *why,
    size_t whysize)
{
	struct chain ch;
	ns_msg msg;
	ns_rr rr;
	enum dns_result r;
	size_t want = type == ns_t_aaaa ? 16 : 4, found = 0;
	int i, got;

	if ((r = open_answer(pkt, len, qname, type, &msg, &ch, why,
	    whysize)) != DNS_OK)
		return r;
	i = 0;
	while ((got = next_answer(&msg, &ch, type, &i, &rr)) == 1) {
		if (ns_rr_rdlen(rr) != want) {
			got = -1;
			break;
		}
		found++;
		if (*n < max)
			addr_set(&out[(*n)++],
			    type == ns_t_aaaa ? AF_INET6 : AF_INET,
			    ns_rr_rdata(rr));
	}
	return parse_end(got, found, NULL, qname, type, why, whysize);
}

static dns_transport_fn	*transport;
static void		*transport_arg;

void
dns_set_transport(dns_transport_fn *fn, void *arg)
{
	transport = fn;
	transport_arg = arg;
}

#ifndef __GLIBC__
/* musl has no res_n* functions: its res_mkquery and res_send read
 * /etc/resolv.conf at each call and keep no state between them, so they
 * are what res_ninit gives glibc's, and these stand in for the rest.
 * musl's res_send takes resolv.conf's timeout and attempts: a state's
 * retrans and retry (dns_opts) go nowhere there. */
static int
res_ninit(struct __res_state *rs)
{
	(void)rs;
	return 0;
}

static void
res_nclose(struct __res_state *rs)
{
	(void)rs;
}

#define res_nmkquery(rs, ...)	res_mkquery(__VA_ARGS__)
#define res_nsend(rs, ...)	res_send(__VA_ARGS__)
#endif

/* One query of type for name, the response into ans: its length, or -1
 * with a result and why set. */
static int
query(const struct dns_opts *o, const char *name, int type,
    unsigned char *ans, size_t anssize, enum dns_result *r, char *why,
    size_t whysize)
{
	struct __res_state rs;
	unsigned char q[DNS_QUERY_MAX];
	int qlen, alen = -1;

	if (transport != NULL)
		return transport(transport_arg, name, type, ans, anssize, r,
		    why, whysize);
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) == -1) {
		*r = DNS_TEMP;
		str_fmt_cut(why, whysize,
		    "DNS: cannot set up the resolver (/etc/resolv.conf)");
		return -1;	/* glibc frees what it took on failure */
	}
	/* The caller's bound, in place of resolv.conf's: retrans is the
	 * first try's timeout in seconds, retry the tries per server. */
	if (o != NULL && o->timeout > 0)
		rs.retrans = o->timeout;
	if (o != NULL && o->attempts > 0)
		rs.retry = o->attempts;
	if ((qlen = res_nmkquery(&rs, ns_o_query, name, ns_c_in, type, NULL,
	    0, NULL, q, sizeof(q))) == -1) {
		*r = DNS_NXDOMAIN;
		str_fmt_cut(why, whysize, "DNS: %s: not a valid domain name",
		    name);
		goto out;
	}
	if ((alen = res_nsend(&rs, q, qlen, ans, (int)anssize)) == -1) {
		*r = DNS_TEMP;
		str_fmt_cut(why, whysize,
		    "DNS: %s: no answer to the %s query (%s)", name,
		    type_name(type), errno == ETIMEDOUT ? "timeout" :
		    errno == ECONNREFUSED ? "connection refused" :
		    "no server reachable");
		goto out;
	}
	if (alen > (int)anssize)
		alen = (int)anssize;	/* a TCP answer cut to our buffer */
out:
	res_nclose(&rs);
	return alen;
}

/* An address literal: 1 and *a set, 0 if host is not one, -1 if it is
 * bracketed and not a valid address (RFC 5321 §4.1.3). */
static int
literal(const char *host, struct dns_addr *a)
{
	unsigned char bytes[16];
	char buf[DNS_NAME_MAX + 1];
	size_t len = strlen(host);
	const char *p;
	int family;

	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (strncasecmp(buf, "IPv6:", 5) == 0) {
			p = buf + 5;
			family = AF_INET6;
		} else {
			p = buf;
			family = AF_INET;
		}
	} else {
		p = host;
		family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	}
	if (inet_pton(family, p, bytes) != 1)
		return host[0] == '[' ? -1 : 0;
	addr_set(a, family, bytes);
	return 1;
}

enum dns_result
dns_mx(const char *domain, struct dns_target *out, size_t max, size_t *n,
    char *why, size_t whysize)
{
	unsigned char *ans = NULL;
	struct dns_addr a;
	enum dns_result r;
	int alen;

	*n = 0;
	if (whysize > 0)
		why[0] = '\0';
	if (domain[0] == '[') {
		if (literal(domain, &a) != 1) {
			str_fmt_cut(why, whysize,
			    "%s: not a valid address literal", domain);
			return DNS_NXDOMAIN;
		}
		r = DNS_OK;
		goto implicit;
	}
	if ((ans = malloc(DNS_PACKET_MAX)) == NULL) {
		str_fmt_cut(why, whysize, "DNS: out of memory");
		return DNS_TEMP;
	}
	if ((alen = query(NULL, domain, ns_t_mx, ans, DNS_PACKET_MAX, &r, why,
	    whysize)) == -1)
		goto out;
	r = dns_parse_mx(ans, (size_t)alen, domain, out, max, n, why,
	    whysize);
	if (r != DNS_NODATA)
		goto out;
	/* No MX: the domain is its own MX (RFC 5321 §5.1). */
	r = DNS_OK;
	if (whysize > 0)
		why[0] = '\0';
implicit:
	if (max == 0)
		goto out;
	if (norm_name(out[0].host, sizeof(out[0].host), domain) == -1) {
		str_fmt_cut(why, whysize, "DNS: name too long");
		r = DNS_NXDOMAIN;
		goto out;
	}
	out[0].pref = 0;
	out[0].implicit = 1;
	*n = 1;
out:
	free(ans);
	return r;
}

enum dns_result
dns_addrs(const char *host, struct dns_addr *out, size_t max, size_t *n,
    char *why, size_t whysize)
{
	static const int types[] = { ns_t_aaaa, ns_t_a };  /* the order */
	unsigned char *ans = NULL;
	struct dns_addr a;
	enum dns_result r, worst = DNS_NODATA;
	char w[256];
	size_t i;
	int alen, lit;

	*n = 0;
	if (whysize > 0)
		why[0] = '\0';
	if ((lit = literal(host, &a)) != 0) {
		if (lit == -1) {
			str_fmt_cut(why, whysize,
			    "%s: not a valid address literal", host);
			return DNS_NXDOMAIN;
		}
		if (max > 0)
			out[(*n)++] = a;
		return DNS_OK;
	}
	if ((ans = malloc(DNS_PACKET_MAX)) == NULL) {
		str_fmt_cut(why, whysize, "DNS: out of memory");
		return DNS_TEMP;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((alen = query(NULL, host, types[i], ans, DNS_PACKET_MAX, &r, w,
		    sizeof(w))) != -1)
			r = dns_parse_addrs(ans, (size_t)alen, host, types[i],
			    out, max, n, w, sizeof(w));
		if (r == DNS_NXDOMAIN) {
			/* The name is gone, whatever the type. */
			worst = r;
			str_fmt_cut(why, whysize, "%s", w);
			break;
		}
		if (r == DNS_TEMP && worst != DNS_TEMP) {
			worst = r;
			str_fmt_cut(why, whysize, "%s", w);
		}
	}
	free(ans);
	if (*n > 0) {
		if (whysize > 0)
			why[0] = '\0';
		return DNS_OK;
	}
	if (worst == DNS_NODATA)
		str_fmt_cut(why, whysize, "DNS: %s: no AAAA or A record", host);
	return worst;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4
 * address: compared as that. */
static void
unmapped(const struct dns_addr *in, struct dns_addr *out)
{
	static const unsigned char prefix[12] = { [10] = 0xff, [11] = 0xff };

	*out = *in;
	if (in->family == AF_INET6 && memcmp(in->addr, prefix, 12) == 0) {
		out->family = AF_INET;
		memmove(out->addr, in->addr + 12, 4);
	}
}

static int
is_loopback(const struct dns_addr *a)
{
	static const unsigned char v6lo[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->addr[0] == 127;
	return memcmp(a->addr, v6lo, 16) == 0;
}

static int
is_unspecified(const struct dns_addr *a)
{
	static const unsigned char zero[16];

	return memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16) == 0;
}

int
dns_is_self(const struct conf *c, const char *host, const struct dns_addr *in)
{
	struct ifaddrs *ifs, *i;
	struct dns_addr a;
	const void *p;
	int self = 0;

	if (host != NULL && c->hostname[0] != '\0' &&
	    name_eq(host, c->hostname))
		return 1;
	if (in == NULL)
		return 0;
	unmapped(in, &a);
	if (is_unspecified(&a))
		return 1;	/* connecting to it reaches this machine */
	if (is_loopback(&a))
		return 0;
	/* Without the list we cannot tell: deliver, and let the greeting
	 * or smtp-in's relay check stop a loop. */
	if (getifaddrs(&ifs) == -1)
		return 0;
	for (i = ifs; i != NULL && !self; i = i->ifa_next) {
		/* Loopback interfaces are not ours to the world, whatever
		 * their addresses (127/8 above, and the ::N the tests add):
		 * a relay to a content filter there is a route, not a loop. */
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != a.family ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (a.family == AF_INET)
			p = &((struct sockaddr_in *)(void *)i->ifa_addr)->
			    sin_addr;
		else
			p = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->
			    sin6_addr;
		self = memcmp(p, a.addr, a.family == AF_INET ? 4 : 16) == 0;
	}
	freeifaddrs(ifs);
	return self;
}

const char *
dns_dsn(enum dns_result r, int of_domain)
{
	switch (r) {
	case DNS_OK:
		return "2.0.0";
	case DNS_NULLMX:
		return "5.1.10";	/* RFC 7505 §4.2 */
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		/* No such domain, or no MX and no address: a bad
		 * destination system address.  An MX host that does not
		 * resolve: unable to route (RFC 3463). */
		return of_domain ? "5.1.2" : "5.4.4";
	case DNS_TEMP:
	default:
		return "4.4.3";		/* directory server failure */
	}
}

int
dns_permanent(enum dns_result r)
{
	return r == DNS_NXDOMAIN || r == DNS_NULLMX || r == DNS_NODATA;
}

/* A TXT record's length-prefixed strings (RFC 1035 §3.3.14), joined
 * without a separator (RFC 7208 §3.3, RFC 6376 §3.6.2.2) into t, cut at
 * DNS_TXT_LEN_MAX and made printable: 0, or -1 for a string that runs
 * past the record. */
static int
txt_join(ns_rr rr, struct dns_text *t)
{
	const unsigned char *p = ns_rr_rdata(rr), *end = p + ns_rr_rdlen(rr);
	size_t tl = 0, sl, k;

	t->cut = 0;
	t->odd = 0;
	while (p < end) {
		sl = *p++;
		if (sl > (size_t)(end - p))
			return -1;
		for (k = 0; k < sl; k++) {
			if (tl == DNS_TXT_LEN_MAX) {
				t->cut = 1;
				break;
			}
			if (p[k] < 0x20 || p[k] >= 0x7f)
				t->odd++;
			t->text[tl++] = p[k] >= 0x20 && p[k] < 0x7f ?
			    (char)p[k] : '?';
		}
		p += sl;
	}
	t->text[tl] = '\0';
	return 0;
}

enum dns_result
dns_parse_txt(const unsigned char *pkt, size_t len, const char *qname,
    struct dns_text *out, size_t max, size_t *n, char *why, size_t whysize)
{
	struct chain ch;
	ns_msg msg;
	ns_rr rr;
	enum dns_result r;
	size_t found = 0;
	int i, got;

	*n = 0;
	if ((r = open_answer(pkt, len, qname, ns_t_txt, &msg, &ch, why,
	    whysize)) != DNS_OK)
		return r;
	i = 0;
	while ((got = next_answer(&msg, &ch, ns_t_txt, &i, &rr)) == 1) {
		found++;
		if (*n >= max)
			continue;
		if (txt_join(rr, &out[*n]) == -1) {
			got = -1;
			break;
		}
		(*n)++;
	}
	return parse_end(got, found, n, qname, ns_t_txt, why, whysize);
}

/* The names of records of type (PTR, CNAME) owned by qname or its
 * chain, from a whole response. */
static enum dns_result
parse_names(const unsigned char *pkt, size_t len, const char *qname,
    int type, struct dns_name *out, size_t max, size_t *n, char *why,
    size_t whysize)
{
	struct chain ch;
	ns_msg msg;
	ns_rr rr;
	enum dns_result r;
	char name[DNS_NAME_MAX + 1];
	size_t found = 0, skip;
	int i, got;

	*n = 0;
	if ((r = open_answer(pkt, len, qname, type, &msg, &ch, why,
	    whysize)) != DNS_OK)
		return r;
	i = 0;
	while ((got = next_answer(&msg, &ch, type, &i, &rr)) == 1) {
		/* An MX record's name follows its preference. */
		skip = type == ns_t_mx ? 2 : 0;
		if (ns_rr_rdlen(rr) <= skip ||
		    ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
		    ns_rr_rdata(rr) + skip, name, sizeof(name)) == -1) {
			got = -1;
			break;
		}
		found++;
		if (type == ns_t_mx && (name[0] == '\0' ||
		    strcmp(name, ".") == 0))
			continue;	/* a null MX (RFC 7505) names no host */
		if (*n < max && norm_name(out[*n].name, sizeof(out[0].name),
		    name) == 0)
			(*n)++;
	}
	return parse_end(got, found, n, qname, type, why, whysize);
}

/* One query of type for name, its answer parsed into out: struct
 * dns_text for TXT, struct dns_name for PTR and CNAME. */
static enum dns_result
lookup(const struct dns_opts *o, const char *name, int type, void *out,
    size_t max, size_t *n, char *why, size_t whysize)
{
	unsigned char *ans;
	enum dns_result r;
	int alen;

	*n = 0;
	if ((ans = malloc(DNS_PACKET_MAX)) == NULL) {
		str_fmt_cut(why, whysize, "DNS: out of memory");
		return DNS_TEMP;
	}
	if ((alen = query(o, name, type, ans, DNS_PACKET_MAX, &r, why,
	    whysize)) != -1)
		r = type == ns_t_txt ? dns_parse_txt(ans, (size_t)alen, name,
		    out, max, n, why, whysize) : parse_names(ans,
		    (size_t)alen, name, type, out, max, n, why, whysize);
	free(ans);
	return r;
}

enum dns_result
dns_txt(const char *name, struct dns_text *out, size_t max, size_t *n,
    char *why, size_t whysize)
{
	return lookup(NULL, name, ns_t_txt, out, max, n, why, whysize);
}

int
dns_txt_tagged(const char *text, const char *version)
{
	size_t vl = strlen(version);

	return strncmp(text, version, vl) == 0 && (text[vl] == ';' ||
	    text[vl] == ' ' || text[vl] == '\t' || text[vl] == '\0');
}

void
dns_reverse_name(const struct dns_addr *a, char *rev, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char buf[DNS_REVERSE_MAX];
	size_t len = 0;
	int i;

	/* RFC 1035 §3.5, RFC 3596 §2.5: the reversed octets or nibbles. */
	if (a->family == AF_INET)
		str_fmt_cut(buf, sizeof(buf), "%u.%u.%u.%u.in-addr.arpa",
		    a->addr[3], a->addr[2], a->addr[1], a->addr[0]);
	else {
		for (i = 15; i >= 0; i--) {
			buf[len++] = hex[a->addr[i] & 0xf];
			buf[len++] = '.';
			buf[len++] = hex[a->addr[i] >> 4];
			buf[len++] = '.';
		}
		(void)str_copy(buf + len, sizeof(buf) - len, "ip6.arpa");
	}
	str_fmt_cut(rev, size, "%s", buf);
}

enum dns_result
dns_ptr(const struct dns_addr *a, struct dns_name *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	char rev[DNS_NAME_MAX + 1];

	dns_reverse_name(a, rev, sizeof(rev));
	return lookup(NULL, rev, ns_t_ptr, out, max, n, why, whysize);
}

enum dns_result
dns_cname(const char *name, struct dns_name *target, char *why,
    size_t whysize)
{
	size_t n;

	return lookup(NULL, name, ns_t_cname, target, 1, &n, why, whysize);
}

int
dns_addr_parse(const char *text, struct dns_addr *a)
{
	return literal(text, a) == 1 ? 0 : -1;
}

enum dns_result
dns_txt_with(const struct dns_opts *o, const char *name,
    struct dns_text *out, size_t max, size_t *n, char *why, size_t whysize)
{
	return lookup(o, name, ns_t_txt, out, max, n, why, whysize);
}

enum dns_result
dns_names(const struct dns_opts *o, const char *name, int type,
    struct dns_name *out, size_t max, size_t *n, char *why, size_t whysize)
{
	return lookup(o, name, type, out, max, n, why, whysize);
}

enum dns_result
dns_addrs_family(const struct dns_opts *o, const char *name, int family,
    struct dns_addr *out, size_t max, size_t *n, char *why, size_t whysize)
{
	unsigned char *ans;
	enum dns_result r;
	int type = family == AF_INET6 ? ns_t_aaaa : ns_t_a, alen;

	*n = 0;
	if (whysize > 0)
		why[0] = '\0';
	if ((ans = malloc(DNS_PACKET_MAX)) == NULL) {
		str_fmt_cut(why, whysize, "DNS: out of memory");
		return DNS_TEMP;
	}
	if ((alen = query(o, name, type, ans, DNS_PACKET_MAX, &r, why,
	    whysize)) != -1)
		r = dns_parse_addrs(ans, (size_t)alen, name, type, out, max, n,
		    why, whysize);
	free(ans);
	return r;
}
