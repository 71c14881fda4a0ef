/* listen_test.c — smtp-listen's pure parts: the per-source table (counts,
 * rates, the /64, the bound on its size) and the parsing of nets and
 * addresses its options take. */

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "listen.h"
#include "srctab.h"

static struct srctab tab;	/* large: not on the stack */

static struct sockaddr_storage
sa(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

static struct srckey
key(const char *text)
{
	struct sockaddr_storage ss = sa(text);
	struct srckey k;

	assert_int_equal(srctab_key((struct sockaddr *)&ss, &k), 0);
	return k;
}

static void
test_sessions_per_source_are_bounded_and_recover(void **state)
{
	struct srckey a = key("192.0.2.1"), b = key("192.0.2.2");

	(void)state;
	srctab_init(&tab, 2, 0, 1);
	assert_int_equal(srctab_begin(&tab, &a, 0), SRCTAB_OK);
	assert_int_equal(srctab_begin(&tab, &a, 0), SRCTAB_OK);
	assert_int_equal(srctab_begin(&tab, &a, 0), SRCTAB_TOO_MANY);
	/* another source is not held up by the first */
	assert_int_equal(srctab_begin(&tab, &b, 0), SRCTAB_OK);
	srctab_end(&tab, &a, 1);
	assert_int_equal(srctab_begin(&tab, &a, 1), SRCTAB_OK);
	assert_int_equal(srctab_begin(&tab, &a, 1), SRCTAB_TOO_MANY);
}

static void
test_rate_refills_over_a_second(void **state)
{
	struct srckey a = key("198.51.100.7");
	int i;

	(void)state;
	srctab_init(&tab, 0, 5, 1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(srctab_begin(&tab, &a, 1000), SRCTAB_OK);
		srctab_end(&tab, &a, 1000);
	}
	assert_int_equal(srctab_begin(&tab, &a, 1000), SRCTAB_TOO_FAST);
	/* one fifth of a second gives one connection back */
	assert_int_equal(srctab_begin(&tab, &a, 1199), SRCTAB_TOO_FAST);
	assert_int_equal(srctab_begin(&tab, &a, 1200), SRCTAB_OK);
	assert_int_equal(srctab_begin(&tab, &a, 1200), SRCTAB_TOO_FAST);
}

static void
test_an_ipv6_slash_64_is_one_source(void **state)
{
	struct srckey a = key("2001:db8:1:2::1"), b = key("2001:db8:1:2:ffff::9");
	struct srckey c = key("2001:db8:1:3::1");

	(void)state;
	assert_memory_equal(&a, &b, sizeof(a));
	srctab_init(&tab, 1, 0, 1);
	assert_int_equal(srctab_begin(&tab, &a, 0), SRCTAB_OK);
	assert_int_equal(srctab_begin(&tab, &b, 0), SRCTAB_TOO_MANY);
	assert_int_equal(srctab_begin(&tab, &c, 0), SRCTAB_OK);
}

static void
test_ipv4_mapped_is_the_ipv4_source(void **state)
{
	struct srckey a = key("::ffff:192.0.2.1"), b = key("192.0.2.1");
	struct srckey c = key("::ffff:192.0.2.2");

	(void)state;
	assert_memory_equal(&a, &b, sizeof(a));
	/* mapped addresses are not cut to a /64 */
	assert_memory_not_equal(&a, &c, sizeof(a));
}

static void
test_table_stays_bounded_and_forgets_idle_sources(void **state)
{
	struct srckey k;
	unsigned i;

	(void)state;
	srctab_init(&tab, 1, 1, 7);
	/* a session each from more sources than half the table */
	for (i = 0; i < SRCTAB_SLOTS / 2; i++) {
		k = key("2001:db8::1");
		k.b[4] = (unsigned char)(i >> 8);
		k.b[5] = (unsigned char)i;
		assert_int_equal(srctab_begin(&tab, &k, 0), SRCTAB_OK);
	}
	k = key("203.0.113.9");
	assert_int_equal(srctab_begin(&tab, &k, 0), SRCTAB_UNTRACKED);
	/* they end; a second later every bucket is full again, and a
	 * sweep makes room */
	for (i = 0; i < SRCTAB_SLOTS / 2; i++) {
		k = key("2001:db8::1");
		k.b[4] = (unsigned char)(i >> 8);
		k.b[5] = (unsigned char)i;
		srctab_end(&tab, &k, 0);
	}
	k = key("203.0.113.9");
	assert_int_equal(srctab_begin(&tab, &k, 1000), SRCTAB_OK);
	assert_true(tab.used < 16);
	/* and the entries that remain are still found after the shifts */
	assert_int_equal(srctab_begin(&tab, &k, 1000), SRCTAB_TOO_FAST);
}

static void
test_churn_keeps_counts_right(void **state)
{
	struct srckey k[64];
	unsigned i, round;

	(void)state;
	srctab_init(&tab, 3, 0, 42);
	for (i = 0; i < 64; i++) {
		k[i] = key("192.0.2.0");
		k[i].b[15] = (unsigned char)i;
	}
	for (round = 0; round < 3; round++)
		for (i = 0; i < 64; i++)
			assert_int_equal(srctab_begin(&tab, &k[i], 0),
			    SRCTAB_OK);
	for (i = 0; i < 64; i += 2)	/* delete half: probe runs shift */
		srctab_end(&tab, &k[i], 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(srctab_begin(&tab, &k[i], 0),
		    i % 2 == 0 ? SRCTAB_OK : SRCTAB_TOO_MANY);
}

static void
test_nets_parse_and_match(void **state)
{
	struct listen_net n[3];
	struct sockaddr_storage s;

	(void)state;
	assert_int_equal(listen_net_parse("127.0.0.0/8", &n[0]), 0);
	assert_int_equal(listen_net_parse("2001:db8::/32", &n[1]), 0);
	assert_int_equal(listen_net_parse("192.0.2.5", &n[2]), 0);
	s = sa("127.1.2.3");
	assert_true(listen_net_match(n, 3, (struct sockaddr *)&s));
	s = sa("::ffff:127.0.0.1");
	assert_true(listen_net_match(n, 3, (struct sockaddr *)&s));
	s = sa("2001:db8:ff::1");
	assert_true(listen_net_match(n, 3, (struct sockaddr *)&s));
	s = sa("2001:db9::1");
	assert_false(listen_net_match(n, 3, (struct sockaddr *)&s));
	s = sa("192.0.2.5");
	assert_true(listen_net_match(n, 3, (struct sockaddr *)&s));
	s = sa("192.0.2.6");
	assert_false(listen_net_match(n, 3, (struct sockaddr *)&s));
	assert_int_equal(listen_net_parse("10.0.0.0/33", &n[0]), -1);
	assert_int_equal(listen_net_parse("10.0.0.0/", &n[0]), -1);
	assert_int_equal(listen_net_parse("::/129", &n[0]), -1);
	assert_int_equal(listen_net_parse("example.org", &n[0]), -1);
	assert_int_equal(listen_net_parse("0.0.0.0/0", &n[0]), 0);
	s = sa("8.8.8.8");
	assert_true(listen_net_match(n, 1, (struct sockaddr *)&s));
}

static void
test_addresses_parse(void **state)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	(void)state;
	assert_int_equal(listen_addr_parse("127.0.0.1:25", &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 25);
	assert_int_equal(listen_addr_parse("[::]:587", &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 587);
	assert_int_equal(listen_addr_parse("[2001:db8::1]:465", &ss, &sl), 0);
	assert_int_equal(listen_addr_parse("::1:25", &ss, &sl), -1);
	assert_int_equal(listen_addr_parse("127.0.0.1", &ss, &sl), -1);
	assert_int_equal(listen_addr_parse("127.0.0.1:0", &ss, &sl), -1);
	assert_int_equal(listen_addr_parse("127.0.0.1:65536", &ss, &sl), -1);
	assert_int_equal(listen_addr_parse("[::1:25", &ss, &sl), -1);
	assert_int_equal(listen_addr_parse("localhost:25", &ss, &sl), -1);
}

static int
parse_report(const char *text, struct listen_report *r)
{
	static char buf[512];

	assert_true(strlen(text) < sizeof(buf));
	strcpy(buf, text);
	return listen_report_parse(buf, r);
}

/* A session's report becomes label values in the counters' file: only
 * words of ours, and bounded counts. */
static void
test_reports_parse_and_forgeries_do_not(void **state)
{
	struct listen_report r;

	(void)state;
	assert_int_equal(parse_report("mode=submission end=quit messages=2 "
	    "tls=ok auth_ok=1 auth_failed=2 auth_temp=0", &r), 0);
	assert_string_equal(r.mode, "submission");
	assert_string_equal(r.end, "quit");
	assert_string_equal(r.tls, "ok");
	assert_int_equal(r.messages, 2);
	assert_int_equal(r.auth_ok, 1);
	assert_int_equal(r.auth_failed, 2);
	assert_int_equal(r.auth_temp, 0);
	/* a quote, a newline, another mode, a count too big, a field out
	 * of place, one too many */
	assert_int_equal(parse_report("mode=mx end=quit\" messages=0 tls=ok "
	    "auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
	assert_int_equal(parse_report("mode=mx end=quit\n messages=0 tls=ok "
	    "auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
	assert_int_equal(parse_report("mode=lmtp end=quit messages=0 tls=ok "
	    "auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
	assert_int_equal(parse_report("mode=mx end=quit messages=1000001 "
	    "tls=ok auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
	assert_int_equal(parse_report("mode=mx end=quit messages=-1 "
	    "tls=ok auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
	assert_int_equal(parse_report("end=quit mode=mx messages=0 tls=ok "
	    "auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
	assert_int_equal(parse_report("mode=mx end=quit messages=0 tls=ok "
	    "auth_ok=0 auth_failed=0 auth_temp=0 x=1", &r), -1);
	assert_int_equal(parse_report("mode=mx end=AAAA messages=0 tls=ok "
	    "auth_ok=0 auth_failed=0 auth_temp=0", &r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_per_source_are_bounded_and_recover),
		cmocka_unit_test(test_rate_refills_over_a_second),
		cmocka_unit_test(test_an_ipv6_slash_64_is_one_source),
		cmocka_unit_test(test_ipv4_mapped_is_the_ipv4_source),
		cmocka_unit_test(test_table_stays_bounded_and_forgets_idle_sources),
		cmocka_unit_test(test_churn_keeps_counts_right),
		cmocka_unit_test(test_nets_parse_and_match),
		cmocka_unit_test(test_addresses_parse),
		cmocka_unit_test(test_reports_parse_and_forgeries_do_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
