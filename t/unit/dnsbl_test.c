/* dnsbl_test.c — the query names of DNS blocklists (RFC 5782 §2.1,
 * §2.4: reversed IPv4 octets, reversed IPv6 nibbles) and what an A
 * answer means (smtp-in/dnsbl.c). */

#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnsbl.h"

static void
test_ipv4_octets_are_reversed(void **state)
{
	char name[DNS_NAME_MAX + 1];

	(void)state;
	assert_int_equal(dnsbl_name("192.0.2.99", "zen.spamhaus.org", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "99.2.0.192.zen.spamhaus.org");
}

static void
test_ipv6_nibbles_are_reversed(void **state)
{
	char name[DNS_NAME_MAX + 1];

	(void)state;
	/* RFC 5782 §2.4's example. */
	assert_int_equal(dnsbl_name("2001:db8:1:2:3:4:567:89ab", "ugly.example",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0."
	    "1.0.0.0.8.b.d.0.1.0.0.2.ugly.example");
}

static void
test_bad_address_or_long_name_fails(void **state)
{
	char name[DNS_NAME_MAX + 1], small[17];
	char zone[300];

	(void)state;
	assert_int_equal(dnsbl_name("unknown", "bl.test", name, sizeof(name)),
	    -1);
	assert_int_equal(dnsbl_name("192.0.2.1", "bl.test", small,
	    sizeof(small)), -1);
	memset(zone, 'a', sizeof(zone) - 1);
	zone[sizeof(zone) - 1] = '\0';
	assert_int_equal(dnsbl_name("::1", zone, name, sizeof(name)), -1);
}

static struct dns_addr
v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	struct dns_addr x;

	memset(&x, 0, sizeof(x));
	x.family = AF_INET;
	x.addr[0] = (unsigned char)a;
	x.addr[1] = (unsigned char)b;
	x.addr[2] = (unsigned char)c;
	x.addr[3] = (unsigned char)d;
	return x;
}

static void
test_answers_in_127_8_are_listings(void **state)
{
	struct dns_addr a[2];
	char why[128];

	(void)state;
	a[0] = v4(127, 0, 0, 2);
	a[1] = v4(127, 0, 0, 11);
	assert_int_equal(dnsbl_classify(a, 2, why, sizeof(why)),
	    DNSBL_LISTED);
	assert_int_equal(dnsbl_classify(a, 0, why, sizeof(why)),
	    DNSBL_NOT_LISTED);
}

static void
test_error_codes_and_foreign_answers_are_errors(void **state)
{
	struct dns_addr a[2];
	char why[128];

	(void)state;
	a[0] = v4(127, 0, 0, 2);
	a[1] = v4(127, 255, 255, 254);	/* Spamhaus: open resolver */
	assert_int_equal(dnsbl_classify(a, 2, why, sizeof(why)),
	    DNSBL_ERROR);
	a[0] = v4(192, 0, 2, 1);		/* a resolver that lies */
	assert_int_equal(dnsbl_classify(a, 1, why, sizeof(why)),
	    DNSBL_ERROR);
	a[0].family = AF_INET6;
	assert_int_equal(dnsbl_classify(a, 1, why, sizeof(why)),
	    DNSBL_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_octets_are_reversed),
		cmocka_unit_test(test_ipv6_nibbles_are_reversed),
		cmocka_unit_test(test_bad_address_or_long_name_fails),
		cmocka_unit_test(test_answers_in_127_8_are_listings),
		cmocka_unit_test(test_error_codes_and_foreign_answers_are_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
