/* authlimit_test.c — the failure table of smtp-auth and its turns:
 * counts per source and per login, one forgotten a minute, IPv6 /64s as
 * one source, a login under attack still open to clean sources, the
 * table kept across opens and remade when it is not one, and the
 * host-wide turns for argon2id. */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "authlimit.h"
#include "testutil.h"

#define T0	1000000		/* s */
#define AUTHLIM_SOURCE_MAX	30	/* the defaults of posthorn.conf */
#define AUTHLIM_LOGIN_MAX	30

static const struct authlim_max max = { AUTHLIM_SOURCE_MAX,
    AUTHLIM_LOGIN_MAX };

struct fix {
	char		dir[PATH_MAX];
	struct authlim	lim;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL || tu_tmpdir(f->dir, sizeof(f->dir), "authlimit") == -1)
		return -1;
	*state = f;
	return authlim_open(&f->lim, f->dir);
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	authlim_close(&f->lim);
	return tu_teardown(f, f->dir);
}

static enum authlim_verdict
verdict(struct fix *f, const char *source, const char *login, int64_t now)
{
	enum authlim_verdict v;

	assert_int_equal(authlim_check(&f->lim, &max, source, login, now, &v), 0);
	return v;
}

static void
fail_n(struct fix *f, const char *source, const char *login, int n,
    int64_t now)
{
	while (n-- > 0)
		assert_int_equal(authlim_fail(&f->lim, source, login, now), 0);
}

static void
test_a_source_is_refused_at_its_limit_and_no_other(void **state)
{
	struct fix *f = *state;

	fail_n(f, "198.51.100.1", "a@example.com", AUTHLIM_SOURCE_MAX - 1,
	    T0);
	assert_int_equal(verdict(f, "198.51.100.1", "b@example.com", T0),
	    AUTHLIM_OK);
	fail_n(f, "198.51.100.1", "b@example.com", 1, T0);
	assert_int_equal(verdict(f, "198.51.100.1", "c@example.com", T0),
	    AUTHLIM_SOURCE);
	assert_int_equal(verdict(f, "198.51.100.2", "c@example.com", T0),
	    AUTHLIM_OK);
}

static void
test_one_failure_is_forgotten_a_minute_after_the_last(void **state)
{
	struct fix *f = *state;
	const char *s = "198.51.100.1";

	fail_n(f, s, "a@example.com", AUTHLIM_SOURCE_MAX, T0);
	assert_int_equal(verdict(f, s, "z@x", T0 + AUTHLIM_FORGET - 1),
	    AUTHLIM_SOURCE);
	assert_int_equal(verdict(f, s, "z@x", T0 + AUTHLIM_FORGET),
	    AUTHLIM_OK);
	/* a failure now is the 30th again */
	fail_n(f, s, "a@example.com", 1, T0 + AUTHLIM_FORGET);
	assert_int_equal(verdict(f, s, "z@x", T0 + AUTHLIM_FORGET),
	    AUTHLIM_SOURCE);
	/* and all of them are gone in 30 minutes */
	assert_int_equal(verdict(f, s, "z@x", T0 + AUTHLIM_FORGET +
	    AUTHLIM_SOURCE_MAX * AUTHLIM_FORGET), AUTHLIM_OK);
}

static void
test_an_ipv6_64_is_one_source(void **state)
{
	struct fix *f = *state;
	char a[64];
	int i;

	for (i = 0; i < AUTHLIM_SOURCE_MAX; i++) {
		snprintf(a, sizeof(a), "2001:db8:1:2::%x", i + 1);
		fail_n(f, a, "a@example.com", 1, T0);
	}
	assert_int_equal(verdict(f, "2001:db8:1:2:ffff::1", "b@x", T0),
	    AUTHLIM_SOURCE);
	assert_int_equal(verdict(f, "2001:db8:1:3::1", "b@x", T0),
	    AUTHLIM_OK);
	/* IPv4 and its mapped form are one address */
	fail_n(f, "192.0.2.9", "a@example.com", AUTHLIM_SOURCE_MAX, T0);
	assert_int_equal(verdict(f, "::ffff:192.0.2.9", "b@x", T0),
	    AUTHLIM_SOURCE);
}

static void
test_a_login_under_attack_stays_open_to_clean_sources(void **state)
{
	struct fix *f = *state;
	char a[64];
	int i;

	for (i = 0; i < AUTHLIM_LOGIN_MAX; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i + 1);
		fail_n(f, a, "Alice@Example.com", 1, T0);
	}
	assert_int_equal(verdict(f, "203.0.113.1", "alice@example.com", T0),
	    AUTHLIM_LOGIN);
	assert_int_equal(verdict(f, "203.0.113.1", "bob@example.com", T0),
	    AUTHLIM_OK);
	assert_int_equal(verdict(f, "192.0.2.1", "alice@example.com", T0),
	    AUTHLIM_OK);
}

/* Both spellings of an international domain reach one users file and
 * one password: their failures are one login's. */
static void
test_both_spellings_of_a_login_are_one_login(void **state)
{
	struct fix *f = *state;
	char a[64];
	int i;

	for (i = 0; i < AUTHLIM_LOGIN_MAX; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i + 1);
		fail_n(f, a, i % 2 ? "anna@b\xc3\xbc" "cher.example" :
		    "Anna@XN--BCHER-KVA.example", 1, T0);
	}
	assert_int_equal(verdict(f, "203.0.113.1", "anna@b\xc3\xbc"
	    "cher.example", T0), AUTHLIM_LOGIN);
	assert_int_equal(verdict(f, "203.0.113.2",
	    "anna@xn--bcher-kva.example", T0), AUTHLIM_LOGIN);
	assert_int_equal(verdict(f, "203.0.113.1", "bob@b\xc3\xbc"
	    "cher.example", T0), AUTHLIM_OK);
}

static void
test_the_table_outlives_its_opener_and_is_remade_when_broken(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX + 32];

	fail_n(f, "198.51.100.1", "a@example.com", AUTHLIM_SOURCE_MAX, T0);
	authlim_close(&f->lim);
	assert_int_equal(authlim_open(&f->lim, f->dir), 0);
	assert_int_equal(verdict(f, "198.51.100.1", "a@x", T0),
	    AUTHLIM_SOURCE);
	authlim_close(&f->lim);
	snprintf(path, sizeof(path), "%s/" AUTHLIM_DIR "/failures", f->dir);
	tu_write_str(path, "not a table");
	assert_int_equal(authlim_open(&f->lim, f->dir), 0);
	assert_int_equal(verdict(f, "198.51.100.1", "a@x", T0), AUTHLIM_OK);
}

static void
test_a_full_probe_replaces_the_entry_nearest_to_forgotten(void **state)
{
	struct fix *f = *state;
	char a[64];
	int i;

	/* Far more sources than the table holds: nothing fails, and the
	 * newest, counted last, are still there. */
	for (i = 0; i < 2 * AUTHLIM_SLOTS; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 256, i % 256);
		fail_n(f, a, "a@example.com", 1, T0 + i / 64);
	}
	fail_n(f, "10.255.255.1", "a@example.com", AUTHLIM_SOURCE_MAX,
	    T0 + 2 * AUTHLIM_SLOTS / 64);
	assert_int_equal(verdict(f, "10.255.255.1", "x@y",
	    T0 + 2 * AUTHLIM_SLOTS / 64), AUTHLIM_SOURCE);
}

static void
test_turns_are_bounded_and_a_wait_ends(void **state)
{
	struct fix *f = *state;
	int turn[AUTHLIM_CHECKS], i, fd;

	for (i = 0; i < AUTHLIM_CHECKS; i++)
		assert_true((turn[i] = authlim_turn(f->dir, 1)) >= 0);
	errno = 0;
	fd = authlim_turn(f->dir, 1);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(close(turn[0]), 0);
	assert_true((fd = authlim_turn(f->dir, 1)) >= 0);
	assert_int_equal(close(fd), 0);
	for (i = 1; i < AUTHLIM_CHECKS; i++)
		assert_int_equal(close(turn[i]), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_a_source_is_refused_at_its_limit_and_no_other),
		T(test_one_failure_is_forgotten_a_minute_after_the_last),
		T(test_an_ipv6_64_is_one_source),
		T(test_a_login_under_attack_stays_open_to_clean_sources),
		T(test_both_spellings_of_a_login_are_one_login),
		T(test_the_table_outlives_its_opener_and_is_remade_when_broken),
		T(test_a_full_probe_replaces_the_entry_nearest_to_forgotten),
		T(test_turns_are_bounded_and_a_wait_ends),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
