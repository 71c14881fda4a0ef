/* smtpout_dns_test.c — smtp-out's DNS answers classified: canned
 * responses built here byte by byte go through the parsers under dns_mx
 * and dns_addrs, so that the order of MX hosts, null MX, NXDOMAIN and
 * every flavour of temporary failure are pinned without a DNS server.
 * Address literals and the self check need no server either. */

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "dns.h"

/* A DNS message under construction. */
struct pkt {
	unsigned char	b[4096];
	size_t		len;
	unsigned	an;	/* answer records so far */
};

static void
put8(struct pkt *p, unsigned v)
{
	assert_true(p->len < sizeof(p->b));
	p->b[p->len++] = (unsigned char)v;
}

static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void
put32(struct pkt *p, unsigned long v)
{
	put16(p, (unsigned)(v >> 16));
	put16(p, (unsigned)(v & 0xffff));
}

/* Dotted name as labels; "." is the root. */
static void
put_name(struct pkt *p, const char *name)
{
	const char *dot;
	size_t n;

	while (*name != '\0' && strcmp(name, ".") != 0) {
		dot = strchr(name, '.');
		n = dot != NULL ? (size_t)(dot - name) : strlen(name);
		put8(p, (unsigned)n);
		assert_true(p->len + n <= sizeof(p->b));
		memcpy(p->b + p->len, name, n);
		p->len += n;
		name += n + (dot != NULL);
	}
	put8(p, 0);
}

/* Header and question; the answer count is patched by each record. */
static void
start(struct pkt *p, const char *qname, unsigned qtype, unsigned rcode,
    int tc)
{
	memset(p, 0, sizeof(*p));
	put16(p, 0x1234);
	/* QR, RD, RA; TC when asked; the RCODE. */
	put16(p, 0x8000 | (tc ? 0x0200 : 0) | 0x0100 | 0x0080 | rcode);
	put16(p, 1);
	put16(p, 0);
	put16(p, 0);
	put16(p, 0);
	put_name(p, qname);
	put16(p, qtype);
	put16(p, ns_c_in);
}

static void
rr_start(struct pkt *p, const char *owner, unsigned type)
{
	if (owner == NULL)
		put16(p, 0xc00c);	/* a pointer to the question name */
	else
		put_name(p, owner);
	put16(p, type);
	put16(p, ns_c_in);
	put32(p, 300);
	p->an++;
	p->b[6] = (unsigned char)(p->an >> 8);
	p->b[7] = (unsigned char)(p->an & 0xff);
}

static void
rr_mx(struct pkt *p, const char *owner, unsigned pref, const char *host)
{
	size_t at;

	rr_start(p, owner, ns_t_mx);
	at = p->len;
	put16(p, 0);
	put16(p, pref);
	put_name(p, host);
	p->b[at] = (unsigned char)((p->len - at - 2) >> 8);
	p->b[at + 1] = (unsigned char)((p->len - at - 2) & 0xff);
}

static void
rr_cname(struct pkt *p, const char *owner, const char *target)
{
	size_t at;

	rr_start(p, owner, ns_t_cname);
	at = p->len;
	put16(p, 0);
	put_name(p, target);
	p->b[at] = (unsigned char)((p->len - at - 2) >> 8);
	p->b[at + 1] = (unsigned char)((p->len - at - 2) & 0xff);
}

static void
rr_addr(struct pkt *p, const char *owner, const char *text)
{
	unsigned char a[16];
	int v6 = strchr(text, ':') != NULL;

	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, text, a), 1);
	rr_start(p, owner, v6 ? ns_t_aaaa : ns_t_a);
	put16(p, v6 ? 16 : 4);
	memcpy(p->b + p->len, a, v6 ? 16 : 4);
	p->len += v6 ? 16 : 4;
}

static enum dns_result
mx(const struct pkt *p, const char *qname, struct dns_target *t, size_t max,
    size_t *n, char *why)
{
	return dns_parse_mx(p->b, p->len, qname, t, max, n, why, 256);
}

static void
test_mx_hosts_come_in_preference_order(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 20, "MX2.Example.ORG.");
	rr_mx(&p, NULL, 10, "mx1.example.org");
	rr_mx(&p, "example.org", 30, "mx3.example.net");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_OK);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].host, "mx1.example.org");
	assert_int_equal(t[0].pref, 10);
	assert_string_equal(t[1].host, "mx2.example.org");	/* lowercase */
	assert_string_equal(t[2].host, "mx3.example.net");
	assert_int_equal(t[0].implicit, 0);
}

static void
test_equal_preferences_are_shuffled(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;
	int i, afirst = 0, bfirst = 0;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 10, "a.example.org");
	rr_mx(&p, NULL, 10, "b.example.org");
	rr_mx(&p, NULL, 5, "best.example.org");
	rr_mx(&p, NULL, 50, "last.example.org");
	/* Both orders in 200 runs: fails by chance with p = 2^-199. */
	for (i = 0; i < 200; i++) {
		assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n,
		    why), DNS_OK);
		assert_int_equal(n, 4);
		assert_string_equal(t[0].host, "best.example.org");
		assert_string_equal(t[3].host, "last.example.org");
		if (strcmp(t[1].host, "a.example.org") == 0) {
			assert_string_equal(t[2].host, "b.example.org");
			afirst++;
		} else {
			assert_string_equal(t[1].host, "b.example.org");
			assert_string_equal(t[2].host, "a.example.org");
			bfirst++;
		}
	}
	assert_true(afirst > 0);
	assert_true(bfirst > 0);
}

static void
test_only_the_best_max_hosts_are_kept(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256], host[64];
	size_t n;
	int i;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	/* Worst first, so that keeping the first ones would be wrong. */
	for (i = 40; i > 0; i--) {
		snprintf(host, sizeof(host), "mx%d.example.org", i);
		rr_mx(&p, NULL, (unsigned)i, host);
	}
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_OK);
	assert_int_equal(n, DNS_HOSTS_MAX);
	for (i = 0; i < DNS_HOSTS_MAX; i++)
		assert_int_equal(t[i].pref, i + 1);
	assert_int_equal(mx(&p, "example.org", t, 2, &n, why), DNS_OK);
	assert_int_equal(n, 2);
	assert_string_equal(t[1].host, "mx2.example.org");
}

static void
test_a_host_listed_twice_keeps_its_better_preference(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 30, "a.example.org");
	rr_mx(&p, NULL, 20, "b.example.org");
	rr_mx(&p, NULL, 10, "A.example.org");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_OK);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].host, "a.example.org");
	assert_int_equal(t[0].pref, 10);
}

static void
test_null_mx_is_nullmx(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 0, ".");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_NULLMX);
	assert_int_equal(n, 0);
	assert_non_null(strstr(why, "null MX"));
	assert_string_equal(dns_dsn(DNS_NULLMX, 0), "5.1.10");
	assert_true(dns_permanent(DNS_NULLMX));
}

static void
test_null_mx_beside_a_real_one_is_ignored(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 0, ".");
	rr_mx(&p, NULL, 10, "mx.example.org");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].host, "mx.example.org");
}

static void
test_nxdomain_is_permanent(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct dns_addr a[4];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "nowhere.example", ns_t_mx, ns_r_nxdomain, 0);
	assert_int_equal(mx(&p, "nowhere.example", t, DNS_HOSTS_MAX, &n, why),
	    DNS_NXDOMAIN);
	assert_non_null(strstr(why, "NXDOMAIN"));
	assert_string_equal(dns_dsn(DNS_NXDOMAIN, 1), "5.1.2");
	assert_string_equal(dns_dsn(DNS_NXDOMAIN, 0), "5.4.4");	/* MX host */
	start(&p, "nowhere.example", ns_t_a, ns_r_nxdomain, 0);
	n = 0;
	assert_int_equal(dns_parse_addrs(p.b, p.len, "nowhere.example",
	    ns_t_a, a, 4, &n, why, sizeof(why)), DNS_NXDOMAIN);
}

static void
test_servfail_and_refused_are_temporary(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_servfail, 0);
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
	assert_non_null(strstr(why, "SERVFAIL"));
	assert_string_equal(dns_dsn(DNS_TEMP, 1), "4.4.3");
	assert_false(dns_permanent(DNS_TEMP));
	start(&p, "example.org", ns_t_mx, ns_r_refused, 0);
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
}

static void
test_damaged_answers_are_temporary(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct dns_addr a[4];
	struct pkt p;
	char why[256];
	size_t n, full;
	static const unsigned char garbage[] = "\x12\x34 this is no DNS";

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 10, "mx.example.org");
	full = p.len;
	/* Cut inside the record. */
	p.len = full - 5;
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
	assert_non_null(strstr(why, "damaged"));
	/* Cut inside the header. */
	p.len = 7;
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
	assert_int_equal(dns_parse_mx(garbage, sizeof(garbage),
	    "example.org", t, DNS_HOSTS_MAX, &n, why, sizeof(why)), DNS_TEMP);
	/* TC set: part of the answer is missing. */
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 1);
	rr_mx(&p, NULL, 10, "mx.example.org");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
	assert_non_null(strstr(why, "truncated"));
	/* A query, not a response (QR clear). */
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	p.b[2] &= 0x7f;
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
	/* An A record of 5 bytes. */
	start(&p, "example.org", ns_t_a, ns_r_noerror, 0);
	rr_addr(&p, NULL, "192.0.2.1");
	p.b[p.len - 5] = 5;	/* RDLENGTH's low byte */
	put8(&p, 0);
	n = 0;
	assert_int_equal(dns_parse_addrs(p.b, p.len, "example.org", ns_t_a,
	    a, 4, &n, why, sizeof(why)), DNS_TEMP);
}

static void
test_mx_host_that_is_no_host_name_defers(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	rr_mx(&p, NULL, 10, "mx\tx.example.org");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_TEMP);
	assert_non_null(strstr(why, "no usable MX"));
}

static void
test_no_mx_is_nodata_for_the_implicit_mx(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	/* NOERROR, no answer: dns_mx makes the domain its own MX. */
	start(&p, "example.org", ns_t_mx, ns_r_noerror, 0);
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_NODATA);
	/* An answer with only an A record for the name is the same. */
	rr_addr(&p, NULL, "192.0.2.1");
	assert_int_equal(mx(&p, "example.org", t, DNS_HOSTS_MAX, &n, why),
	    DNS_NODATA);
	assert_string_equal(dns_dsn(DNS_NODATA, 1), "5.1.2");
	assert_string_equal(dns_dsn(DNS_NODATA, 0), "5.4.4");
}

static void
test_cname_chain_is_followed(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct dns_addr a[4];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "alias.example.org", ns_t_mx, ns_r_noerror, 0);
	/* The records out of order: the chain is found anyway. */
	rr_mx(&p, "real.example.net", 10, "mx.example.net");
	rr_cname(&p, "middle.example.com", "real.example.net");
	rr_cname(&p, NULL, "middle.example.com");
	/* Not on the chain: ignored. */
	rr_mx(&p, "other.example", 1, "evil.example");
	assert_int_equal(mx(&p, "alias.example.org", t, DNS_HOSTS_MAX, &n,
	    why), DNS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].host, "mx.example.net");

	start(&p, "www.example.org", ns_t_aaaa, ns_r_noerror, 0);
	rr_cname(&p, NULL, "host.example.org");
	rr_addr(&p, "host.example.org", "2001:db8::25");
	rr_addr(&p, "unrelated.example.org", "2001:db8::66");
	n = 0;
	assert_int_equal(dns_parse_addrs(p.b, p.len, "www.example.org",
	    ns_t_aaaa, a, 4, &n, why, sizeof(why)), DNS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].text, "2001:db8::25");
}

static void
test_cname_loop_ends(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "a.example", ns_t_mx, ns_r_noerror, 0);
	rr_cname(&p, NULL, "b.example");
	rr_cname(&p, "b.example", "a.example");
	assert_int_equal(mx(&p, "a.example", t, DNS_HOSTS_MAX, &n, why),
	    DNS_NODATA);
}

static void
test_addresses_are_parsed_and_bounded(void **state)
{
	struct dns_addr a[3];
	struct pkt p;
	char why[256];
	size_t n = 0;

	(void)state;
	start(&p, "mx.example.org", ns_t_aaaa, ns_r_noerror, 0);
	rr_addr(&p, NULL, "2001:db8::1");
	assert_int_equal(dns_parse_addrs(p.b, p.len, "mx.example.org",
	    ns_t_aaaa, a, 3, &n, why, sizeof(why)), DNS_OK);
	start(&p, "mx.example.org", ns_t_a, ns_r_noerror, 0);
	rr_addr(&p, NULL, "192.0.2.1");
	rr_addr(&p, NULL, "192.0.2.2");
	rr_addr(&p, NULL, "192.0.2.3");
	/* Appended after the AAAA, and only what fits. */
	assert_int_equal(dns_parse_addrs(p.b, p.len, "mx.example.org",
	    ns_t_a, a, 3, &n, why, sizeof(why)), DNS_OK);
	assert_int_equal(n, 3);
	assert_int_equal(a[0].family, AF_INET6);
	assert_string_equal(a[0].text, "2001:db8::1");
	assert_int_equal(a[1].family, AF_INET);
	assert_string_equal(a[1].text, "192.0.2.1");
	assert_memory_equal(a[2].addr, "\xc0\x00\x02\x02", 4);
	start(&p, "mx.example.org", ns_t_a, ns_r_noerror, 0);
	n = 0;
	assert_int_equal(dns_parse_addrs(p.b, p.len, "mx.example.org",
	    ns_t_a, a, 3, &n, why, sizeof(why)), DNS_NODATA);
}

static void
test_address_literals_need_no_dns(void **state)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct dns_addr a[4];
	char why[256];
	size_t n;

	(void)state;
	assert_int_equal(dns_mx("[192.0.2.7]", t, DNS_HOSTS_MAX, &n, why,
	    sizeof(why)), DNS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].implicit, 1);
	assert_string_equal(t[0].host, "[192.0.2.7]");
	assert_int_equal(dns_addrs(t[0].host, a, 4, &n, why, sizeof(why)),
	    DNS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].family, AF_INET);
	assert_string_equal(a[0].text, "192.0.2.7");
	assert_int_equal(dns_addrs("[IPv6:2001:DB8::7]", a, 4, &n, why,
	    sizeof(why)), DNS_OK);
	assert_int_equal(a[0].family, AF_INET6);
	assert_string_equal(a[0].text, "2001:db8::7");
	assert_int_equal(dns_addrs("::1", a, 4, &n, why, sizeof(why)),
	    DNS_OK);
	assert_string_equal(a[0].text, "::1");
	assert_int_equal(dns_addrs("127.0.0.2", a, 4, &n, why, sizeof(why)),
	    DNS_OK);
	assert_int_equal(a[0].family, AF_INET);
	assert_int_equal(dns_mx("[300.1.2.3]", t, DNS_HOSTS_MAX, &n, why,
	    sizeof(why)), DNS_NXDOMAIN);
	assert_int_equal(dns_addrs("[2001:db8::1]", a, 4, &n, why,
	    sizeof(why)), DNS_NXDOMAIN);	/* needs "IPv6:" */
}

static void
addr_of(struct dns_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a->family, text, a->addr), 1);
	snprintf(a->text, sizeof(a->text), "%s", text);
}

static void
test_self_is_our_name_or_an_interface_address(void **state)
{
	struct conf c;
	struct dns_addr a;
	struct ifaddrs *ifs, *i;
	char text[INET6_ADDRSTRLEN], mapped[INET6_ADDRSTRLEN + 8];
	int found = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.hostname, sizeof(c.hostname), "mail.example.org");
	assert_true(dns_is_self(&c, "MAIL.example.org.", NULL));
	assert_false(dns_is_self(&c, "mx.example.org", NULL));
	addr_of(&a, "0.0.0.0");
	assert_true(dns_is_self(&c, "mx.example.org", &a));
	addr_of(&a, "::");
	assert_true(dns_is_self(&c, "mx.example.org", &a));
	/* Loopback is where local relays and test peers listen. */
	addr_of(&a, "127.0.0.1");
	assert_false(dns_is_self(&c, "mx.example.org", &a));
	addr_of(&a, "::1");
	assert_false(dns_is_self(&c, "mx.example.org", &a));
	addr_of(&a, "192.0.2.200");	/* TEST-NET-1: nobody's */
	assert_false(dns_is_self(&c, "mx.example.org", &a));
	addr_of(&a, "::ffff:127.0.0.1");	/* loopback, mapped */
	assert_false(dns_is_self(&c, "mx.example.org", &a));
	addr_of(&a, "::ffff:0.0.0.0");
	assert_true(dns_is_self(&c, "mx.example.org", &a));
	/* An address of a real interface, where there is one. */
	assert_int_equal(getifaddrs(&ifs), 0);
	for (i = ifs; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL ||
		    i->ifa_addr->sa_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
		    i->ifa_addr)->sin_addr, text, sizeof(text));
		if (strncmp(text, "127.", 4) == 0)
			continue;
		addr_of(&a, text);
		assert_true(dns_is_self(&c, "mx.example.org", &a));
		/* The same, as an AAAA record may give it: IPv4-mapped. */
		snprintf(mapped, sizeof(mapped), "::ffff:%s", text);
		addr_of(&a, mapped);
		assert_int_equal(a.family, AF_INET6);
		assert_true(dns_is_self(&c, "mx.example.org", &a));
		found = 1;
	}
	freeifaddrs(ifs);
	if (!found)
		print_message("no non-loopback IPv4 address: part skipped\n");
}

/* One TXT record of the character-strings strs[0..n), lens given so
 * that a test can put any byte in. */
static void
rr_txt(struct pkt *p, const char *owner, const char *const *strs, size_t n)
{
	size_t at, i, l;

	rr_start(p, owner, ns_t_txt);
	at = p->len;
	put16(p, 0);
	for (i = 0; i < n; i++) {
		l = strlen(strs[i]);
		put8(p, (unsigned)l);
		assert_true(p->len + l <= sizeof(p->b));
		memcpy(p->b + p->len, strs[i], l);
		p->len += l;
	}
	p->b[at] = (unsigned char)((p->len - at - 2) >> 8);
	p->b[at + 1] = (unsigned char)((p->len - at - 2) & 0xff);
}

static void
test_txt_strings_of_a_record_are_joined(void **state)
{
	static const char *const dkim[] = { "v=DKIM1; k=rsa; p=MIIB", "IjAN" };
	static const char *const spf[] = { "v=spf1 mx -all" };
	static const char *const ctl[] = { "a\tb\001c" };
	struct dns_text t[3];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "s._domainkey.example.org", ns_t_txt, ns_r_noerror, 0);
	rr_txt(&p, NULL, dkim, 2);
	rr_txt(&p, NULL, spf, 1);
	rr_txt(&p, NULL, ctl, 1);
	/* Another name's record is not ours. */
	rr_txt(&p, "other.example.org", spf, 1);
	assert_int_equal(dns_parse_txt(p.b, p.len,
	    "s._domainkey.example.org", t, 3, &n, why, sizeof(why)), DNS_OK);
	assert_int_equal(n, 3);
	/* RFC 6376 §3.6.2.2: the strings are joined with nothing between. */
	assert_string_equal(t[0].text, "v=DKIM1; k=rsa; p=MIIBIjAN");
	assert_string_equal(t[1].text, "v=spf1 mx -all");
	/* What is not printable never reaches the checklist as is. */
	assert_string_equal(t[2].text, "a?b?c");
	/* ... and is counted, for SPF's 7-bit check (RFC 7208 §3.1). */
	assert_int_equal(t[2].odd, 2);
	assert_int_equal(t[1].odd, 0);
	assert_int_equal(t[0].cut, 0);
	/* Room for one: the first is kept, the answer is still OK. */
	assert_int_equal(dns_parse_txt(p.b, p.len,
	    "s._domainkey.example.org", t, 1, &n, why, sizeof(why)), DNS_OK);
	assert_int_equal(n, 1);
}

static void
test_txt_none_and_damaged(void **state)
{
	static const char *const spf[] = { "v=spf1 -all" };
	struct dns_text t[2];
	struct pkt p;
	char why[256];
	size_t n;

	(void)state;
	start(&p, "example.org", ns_t_txt, ns_r_noerror, 0);
	assert_int_equal(dns_parse_txt(p.b, p.len, "example.org", t, 2, &n,
	    why, sizeof(why)), DNS_NODATA);
	assert_string_equal(why, "DNS: example.org: no TXT record");
	start(&p, "example.org", ns_t_txt, ns_r_nxdomain, 0);
	assert_int_equal(dns_parse_txt(p.b, p.len, "example.org", t, 2, &n,
	    why, sizeof(why)), DNS_NXDOMAIN);
	start(&p, "example.org", ns_t_txt, ns_r_noerror, 0);
	rr_txt(&p, NULL, spf, 1);
	/* A string length past the end of the record. */
	p.b[p.len - strlen(spf[0]) - 1] = 200;
	assert_int_equal(dns_parse_txt(p.b, p.len, "example.org", t, 2, &n,
	    why, sizeof(why)), DNS_TEMP);
	assert_int_equal(n, 0);
}

/* An SPF target made by a macro may hold a blank: the answer's owner
 * name, printed by the resolver as "a\\032b", is still the query's. */
static void
test_owner_name_with_a_blank_is_the_query_name(void **state)
{
	struct dns_addr a[2];
	struct pkt p;
	char why[256];
	size_t n = 0;

	(void)state;
	start(&p, "macro%percent  space.example", ns_t_a, ns_r_noerror, 0);
	rr_addr(&p, NULL, "192.0.2.7");
	assert_int_equal(dns_parse_addrs(p.b, p.len,
	    "macro%percent  space.example", ns_t_a, a, 2, &n, why,
	    sizeof(why)), DNS_OK);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].text, "192.0.2.7");
}

static void
test_txt_tagged_needs_the_version_then_a_delimiter(void **state)
{
	(void)state;
	assert_int_equal(dns_txt_tagged("v=STSv1; id=20260101", "v=STSv1"),
	    1);
	assert_int_equal(dns_txt_tagged("v=STSv1 ; id=1", "v=STSv1"), 1);
	assert_int_equal(dns_txt_tagged("v=DMARC1\tp=none", "v=DMARC1"), 1);
	assert_int_equal(dns_txt_tagged("v=DMARC1", "v=DMARC1"), 1);
	/* A later version, or another record that shares the prefix. */
	assert_int_equal(dns_txt_tagged("v=TLSRPTv10; rua=mailto:a@b",
	    "v=TLSRPTv1"), 0);
	assert_int_equal(dns_txt_tagged("v=STSv1x; id=1", "v=STSv1"), 0);
	assert_int_equal(dns_txt_tagged(" v=STSv1; id=1", "v=STSv1"), 0);
	assert_int_equal(dns_txt_tagged("v=STS", "v=STSv1"), 0);
	assert_int_equal(dns_txt_tagged("", "v=STSv1"), 0);
}

static void
test_reverse_names(void **state)
{
	struct dns_addr a;
	char rev[DNS_REVERSE_MAX];

	(void)state;
	assert_int_equal(dns_addr_parse("192.0.2.3", &a), 0);
	dns_reverse_name(&a, rev, sizeof(rev));
	assert_string_equal(rev, "3.2.0.192.in-addr.arpa");
	assert_int_equal(dns_addr_parse("2001:db8::cb01", &a), 0);
	dns_reverse_name(&a, rev, sizeof(rev));
	assert_string_equal(rev, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_hosts_come_in_preference_order),
		cmocka_unit_test(test_equal_preferences_are_shuffled),
		cmocka_unit_test(test_only_the_best_max_hosts_are_kept),
		cmocka_unit_test(
		    test_a_host_listed_twice_keeps_its_better_preference),
		cmocka_unit_test(test_null_mx_is_nullmx),
		cmocka_unit_test(test_null_mx_beside_a_real_one_is_ignored),
		cmocka_unit_test(test_nxdomain_is_permanent),
		cmocka_unit_test(test_servfail_and_refused_are_temporary),
		cmocka_unit_test(test_damaged_answers_are_temporary),
		cmocka_unit_test(test_mx_host_that_is_no_host_name_defers),
		cmocka_unit_test(test_no_mx_is_nodata_for_the_implicit_mx),
		cmocka_unit_test(test_cname_chain_is_followed),
		cmocka_unit_test(test_cname_loop_ends),
		cmocka_unit_test(test_addresses_are_parsed_and_bounded),
		cmocka_unit_test(test_address_literals_need_no_dns),
		cmocka_unit_test(test_self_is_our_name_or_an_interface_address),
		cmocka_unit_test(test_txt_strings_of_a_record_are_joined),
		cmocka_unit_test(test_txt_none_and_damaged),
		cmocka_unit_test(
		    test_owner_name_with_a_blank_is_the_query_name),
		cmocka_unit_test(test_reverse_names),
		cmocka_unit_test(
		    test_txt_tagged_needs_the_version_then_a_delimiter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
