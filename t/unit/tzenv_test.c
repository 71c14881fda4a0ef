/* tzenv_test.c — the TZ that smtp-listen gives its sessions: the footer
 * of a TZif file, and its use only where it agrees with the file. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tzenv.h"

#define ZONES	"/usr/share/zoneinfo/"
#define Y2025	((time_t)1735689600)	/* 2025-01-01T00:00:00Z */

/* A TZif file of version v (RFC 8536 §3): a header and a data block of
 * one transition, one type and a 4-byte designation, in 32-bit times,
 * then the same in 64-bit ones, then footer as it is (with its
 * newlines, or whatever the test wants), into buf. */
static void
header(char *h, char v)
{
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	static const unsigned char counts[24] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4 };

	memset(h, 0, 44);
	memcpy(h, "TZif", 4);
	h[4] = v;
	memcpy(h + 20, counts, sizeof(counts));
}

static size_t
tzif(char *buf, size_t size, char v, const char *footer)
{
	size_t v1 = 4 + 1 + 6 + 4, v2 = 8 + 1 + 6 + 4, n = 0;

	assert_true(44 + v1 + 44 + v2 + strlen(footer) < size);
	header(buf, v);
	n = 44;
	memset(buf + n, '\n', v1);	/* data may hold newlines */
	n += v1;
	header(buf + n, v);
	n += 44;
	memset(buf + n, '\n', v2);
	n += v2;
	memcpy(buf + n, footer, strlen(footer));
	return n + strlen(footer);
}

static void
test_footer(void **state)
{
	char buf[512], out[TZENV_STRING_MAX + 1];
	size_t n;

	(void)state;
	n = tzif(buf, sizeof(buf), '2', "\nCET-1CEST,M3.5.0,M10.5.0/3\n");
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), 0);
	assert_string_equal(out, "CET-1CEST,M3.5.0,M10.5.0/3");
	n = tzif(buf, sizeof(buf), '3', "\n<+0330>-3:30\n");
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), 0);
	assert_string_equal(out, "<+0330>-3:30");
	/* a buffer too small for the string */
	assert_int_equal(tzenv_footer(buf, n, out, 12), -1);
	assert_int_equal(tzenv_footer(buf, n, out, 13), 0);
}

static void
test_footer_none(void **state)
{
	/* after a valid version 2 file's data, refused */
	static const char *const refused[] = {
		"\n\n",		/* empty: a zone no string describes */
		"\nUTC0",		/* not ended by a newline */
		"\nUTC 0\n",		/* bytes no TZ string has */
		"\nUTC0\"\n",
		"\n/etc/passwd\n",	/* a file's name to libc */
		"\n:UTC0\n",
		"\n./x\n",
		"\nUTC0\nX\n",		/* bytes after the footer */
		"UTC0\n",		/* not where the data ends */
	};
	char buf[512], out[TZENV_STRING_MAX + 1], longest[80];
	size_t n, i;

	(void)state;
	/* version 1 has no footer */
	n = tzif(buf, sizeof(buf), '\0', "\nUTC0\n");
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), -1);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		n = tzif(buf, sizeof(buf), '2', refused[i]);
		if (tzenv_footer(buf, n, out, sizeof(out)) != -1)
			fail_msg("footer %zu taken: \"%s\"", i, out);
	}
	/* cut short: the 64-bit data block runs past the end, whatever
	 * its last bytes look like */
	n = tzif(buf, sizeof(buf), '2', "\nUTC0\n");
	assert_int_equal(tzenv_footer(buf, n - 8, out, sizeof(out)), -1);
	memcpy(buf + n - 14, "\nUTC0\n", 6);
	assert_int_equal(tzenv_footer(buf, n - 8, out, sizeof(out)), -1);
	/* counts that do not fit the file */
	n = tzif(buf, sizeof(buf), '2', "\nUTC0\n");
	buf[44 + 15 + 20 + 12] = 0x7f;	/* the 64-bit timecnt, high byte */
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), -1);
	/* no second header where version 1's data ends */
	n = tzif(buf, sizeof(buf), '2', "\nUTC0\n");
	buf[44 + 15] = 'X';
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), -1);
	/* longer than TZENV_STRING_MAX */
	memset(longest, 'A', sizeof(longest));
	longest[0] = '\n';
	longest[TZENV_STRING_MAX + 2] = '\n';
	longest[TZENV_STRING_MAX + 3] = '\0';
	n = tzif(buf, sizeof(buf), '2', longest);
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), -1);
	longest[TZENV_STRING_MAX + 1] = '\n';
	longest[TZENV_STRING_MAX + 2] = '\0';
	n = tzif(buf, sizeof(buf), '2', longest);
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), 0);
	/* not TZif, or too short to be */
	assert_int_equal(tzenv_footer("TZif2\nUTC0\n", 11, out, sizeof(out)),
	    -1);
	n = tzif(buf, sizeof(buf), '2', "\nUTC0\n");
	buf[0] = 'X';
	assert_int_equal(tzenv_footer(buf, n, out, sizeof(out)), -1);
}

/* tzdata's files: where the footer describes the coming year it is
 * used, and where the file lists changes that it does not (Morocco's
 * Ramadan), it is not. */
static void
test_check(void **state)
{
	char var[TZENV_VAR_MAX];

	(void)state;
	if (access(ZONES "Europe/Berlin", R_OK) != 0 ||
	    access(ZONES "Africa/Casablanca", R_OK) != 0)
		skip();
	assert_int_equal(tzenv_check(ZONES "Europe/Berlin", Y2025, var,
	    sizeof(var)), 0);
	assert_string_equal(var, "TZ=CET-1CEST,M3.5.0,M10.5.0/3");
	assert_null(getenv("TZ"));
	assert_int_equal(tzenv_check(ZONES "Etc/UTC", Y2025, var,
	    sizeof(var)), 0);
	assert_string_equal(var, "TZ=UTC0");
	assert_int_equal(tzenv_check(ZONES "Africa/Casablanca", Y2025, var,
	    sizeof(var)), -1);
	assert_string_equal(var, "");
	assert_null(getenv("TZ"));
	/* no room for "TZ=" and the string */
	assert_int_equal(tzenv_check(ZONES "Etc/UTC", Y2025, var, 7), -1);
	assert_string_equal(var, "");
}

static void
test_check_bad_paths(void **state)
{
	char var[TZENV_VAR_MAX];

	(void)state;
	assert_int_equal(tzenv_check("etc/localtime", Y2025, var,
	    sizeof(var)), -1);
	/* No file is UTC, to libc and to the sessions. */
	assert_int_equal(tzenv_check("/nonexistent/localtime", Y2025, var,
	    sizeof(var)), 0);
	assert_string_equal(var, "TZ=UTC0");
	/* A file that cannot be read is not: libc would not say UTC. */
	assert_int_equal(tzenv_check("/etc/shadow/x", Y2025, var,
	    sizeof(var)), -1);
	assert_string_equal(var, "");
	/* a file that is not TZif */
	assert_int_equal(tzenv_check("/etc/passwd", Y2025, var,
	    sizeof(var)), -1);
	assert_null(getenv("TZ"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_footer),
		cmocka_unit_test(test_footer_none),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_bad_paths),
	};

	(void)unsetenv("TZ");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
