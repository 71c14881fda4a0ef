/* srsfail_test.c — smtp-keeper's count of failed SRS recipients per
 * source (srsfail.h): the limit is reached from one source and not by
 * its neighbours, an IPv6 /64 is one source, failures decay one a
 * minute, an unknown peer is never counted, and a flood of sources
 * keeps the table bounded without losing a source at its limit. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "srsfail.h"

static struct srsfail *
fresh(void)
{
	struct srsfail *t = malloc(sizeof(*t));

	assert_non_null(t);
	srsfail_init(t, 0x5eed);
	return t;
}

static void
fail_n(struct srsfail *t, const char *src, unsigned n, int64_t now)
{
	unsigned i;

	for (i = 0; i < n; i++)
		srsfail_count(t, src, now);
}

static void
test_the_limit_is_per_source(void **state)
{
	struct srsfail *t = fresh();

	(void)state;
	fail_n(t, "192.0.2.7", SRSFAIL_MAX - 1, 1000);
	assert_false(srsfail_over(t, "192.0.2.7", 1000));
	srsfail_count(t, "192.0.2.7", 1000);
	assert_true(srsfail_over(t, "192.0.2.7", 1000));
	assert_int_equal(srsfail_failures(t, "192.0.2.7", 1000), SRSFAIL_MAX);
	/* Its neighbour and an IPv4-mapped form of another are clean; the
	 * mapped form of the same address is the same source. */
	assert_false(srsfail_over(t, "192.0.2.8", 1000));
	assert_true(srsfail_over(t, "::ffff:192.0.2.7", 1000));
	free(t);
}

static void
test_an_ipv6_64_is_one_source(void **state)
{
	struct srsfail *t = fresh();
	char a[64];
	unsigned i;

	(void)state;
	/* Walking the interface identifiers of one /64 does not help. */
	for (i = 0; i < SRSFAIL_MAX; i++) {
		(void)snprintf(a, sizeof(a), "2001:db8:1:2::%x", i + 1);
		srsfail_count(t, a, 50);
	}
	assert_true(srsfail_over(t, "2001:db8:1:2:ffff::1", 50));
	assert_false(srsfail_over(t, "2001:db8:1:3::1", 50));
	free(t);
}

static void
test_failures_decay_one_a_minute(void **state)
{
	struct srsfail *t = fresh();

	(void)state;
	fail_n(t, "198.51.100.1", SRSFAIL_MAX, 0);
	assert_true(srsfail_over(t, "198.51.100.1", SRSFAIL_FORGET - 1));
	/* A minute after the last: one forgotten, one guess allowed. */
	assert_false(srsfail_over(t, "198.51.100.1", SRSFAIL_FORGET));
	assert_int_equal(srsfail_failures(t, "198.51.100.1", SRSFAIL_FORGET),
	    SRSFAIL_MAX - 1);
	srsfail_count(t, "198.51.100.1", SRSFAIL_FORGET);
	assert_true(srsfail_over(t, "198.51.100.1", SRSFAIL_FORGET));
	/* Long after: nothing on record. */
	assert_int_equal(srsfail_failures(t, "198.51.100.1",
	    SRSFAIL_FORGET * (SRSFAIL_MAX + 2)), 0);
	free(t);
}

static void
test_an_unknown_peer_is_not_counted(void **state)
{
	struct srsfail *t = fresh();

	(void)state;
	fail_n(t, "-", SRSFAIL_MAX + 5, 10);
	fail_n(t, "unknown", SRSFAIL_MAX + 5, 10);
	assert_false(srsfail_over(t, "-", 10));
	assert_false(srsfail_over(t, "unknown", 10));
	free(t);
}

static void
test_a_flood_of_sources_stays_bounded(void **state)
{
	struct srsfail *t = fresh();
	char a[64];
	unsigned i;

	(void)state;
	fail_n(t, "203.0.113.9", SRSFAIL_MAX, 100);
	/* Four times the table of one-failure sources: each replaces the
	 * entry nearest to forgotten, never the one at its limit while a
	 * lesser one is in its probe. */
	for (i = 0; i < 4 * SRSFAIL_SLOTS; i++) {
		(void)snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16 & 0xff,
		    i >> 8 & 0xff, i & 0xff);
		srsfail_count(t, a, 100);
	}
	assert_true(srsfail_over(t, "203.0.113.9", 100));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_limit_is_per_source),
		cmocka_unit_test(test_an_ipv6_64_is_one_source),
		cmocka_unit_test(test_failures_decay_one_a_minute),
		cmocka_unit_test(test_an_unknown_peer_is_not_counted),
		cmocka_unit_test(test_a_flood_of_sources_stays_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
