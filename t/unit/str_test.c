/* str_test.c — bounded strings: what fits is kept whole, what does not
 * fit leaves the string as it was and says ENOBUFS. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "str.h"

static void
test_append_fills_to_capacity_and_stays_terminated(void **state)
{
	char mem[6];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(s.len, 0);
	assert_string_equal(s.s, "");
	assert_int_equal(str_appends(&s, "ab"), 0);
	assert_int_equal(str_appendc(&s, 'c'), 0);
	assert_int_equal(str_append(&s, "de", 2), 0);
	assert_int_equal(s.len, 5);
	assert_string_equal(s.s, "abcde");
}

static void
test_append_that_does_not_fit_leaves_string_unchanged(void **state)
{
	char mem[6];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(str_appends(&s, "abc"), 0);
	errno = 0;
	assert_int_equal(str_appends(&s, "def"), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(s.len, 3);
	assert_string_equal(s.s, "abc");
	assert_int_equal(str_appendc(&s, 'd'), 0);
	assert_int_equal(str_appendc(&s, 'e'), 0);
	assert_int_equal(str_appendc(&s, 'f'), -1);
	assert_string_equal(s.s, "abcde");
}

static void
test_appendf_that_does_not_fit_leaves_string_unchanged(void **state)
{
	char mem[8];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(str_appendf(&s, "%d-", 12), 0);
	errno = 0;
	assert_int_equal(str_appendf(&s, "%s", "abcdef"), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(s.len, 3);
	assert_string_equal(s.s, "12-");
	assert_int_equal(str_appendf(&s, "%s", "abcd"), 0);
	assert_string_equal(s.s, "12-abcd");
}

static void
test_reset_empties(void **state)
{
	char mem[4];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(str_appends(&s, "xyz"), 0);
	str_reset(&s);
	assert_int_equal(s.len, 0);
	assert_string_equal(s.s, "");
}

static void
test_fmt_fails_instead_of_truncating(void **state)
{
	char buf[5];

	(void)state;
	assert_int_equal(str_fmt(buf, sizeof(buf), "%s", "abcd"), 0);
	assert_string_equal(buf, "abcd");
	errno = 0;
	assert_int_equal(str_fmt(buf, sizeof(buf), "%s", "abcde"), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_string_equal(buf, "");
}

static void
test_fmt_cut_truncates_and_terminates(void **state)
{
	char buf[5], guard[2] = "x";

	(void)state;
	str_fmt_cut(buf, sizeof(buf), "%s:%d", "ab", 1);
	assert_string_equal(buf, "ab:1");
	str_fmt_cut(buf, sizeof(buf), "%s:%d", "abcdef", 12);
	assert_string_equal(buf, "abcd");
	/* Size 0 writes nothing at all. */
	str_fmt_cut(guard, 0, "%s", "y");
	assert_string_equal(guard, "x");
}

static void
test_copy_fails_when_too_long(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(str_copy(buf, sizeof(buf), "abc"), 0);
	assert_string_equal(buf, "abc");
	errno = 0;
	assert_int_equal(str_copy(buf, sizeof(buf), "abcd"), -1);
	assert_int_equal(errno, ENOBUFS);
}

static void
test_case_folding_is_ascii_only(void **state)
{
	char s[] = "MiXeD.Example-COM\xc3\x84";

	(void)state;
	str_lower(s);
	assert_string_equal(s, "mixed.example-com\xc3\x84");
	assert_int_equal(str_casecmp("Bob@Example.COM", "bob@example.com"), 0);
	assert_true(str_casecmp("a", "B") < 0);
	assert_true(str_casecmp("b", "A") > 0);
	assert_true(str_casecmp("ab", "a") > 0);
	assert_true(str_casecmp("\xc3\x84", "\xc3\xa4") != 0);
}

static void
test_truncate_undoes_an_append(void **state)
{
	char buf[16];
	struct str sp;

	(void)state;
	str_init(&sp, buf, sizeof(buf));
	assert_int_equal(str_appends(&sp, "abc"), 0);
	assert_int_equal(str_appends(&sp, "defg"), 0);
	str_truncate(&sp, 3);
	assert_int_equal(sp.len, 3);
	assert_string_equal(buf, "abc");
	str_truncate(&sp, 10);		/* longer than it is: nothing */
	assert_int_equal(sp.len, 3);
}

static void
test_split_wants_exactly_n_fields(void **state)
{
	char a[] = "x\t\tz", b[] = "x\ty", c[] = "x\ty\tz\tw", *f[3];

	(void)state;
	assert_int_equal(str_split(a, '\t', f, 3), 0);
	assert_string_equal(f[0], "x");
	assert_string_equal(f[1], "");
	assert_string_equal(f[2], "z");
	assert_int_equal(str_split(b, '\t', f, 3), -1);	/* too few */
	assert_int_equal(str_split(c, '\t', f, 3), -1);	/* too many */
}

static void
test_word_skips_blanks_and_ends_with_null(void **state)
{
	const char *p = " \tbl.one\t two  ", *w;
	size_t n;

	(void)state;
	assert_non_null(w = str_word(&p, &n));
	assert_int_equal(n, 6);
	assert_memory_equal(w, "bl.one", 6);
	assert_non_null(w = str_word(&p, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(w, "two", 3);
	assert_null(str_word(&p, &n));
	assert_null(str_word(&p, &n));		/* and stays at the end */
	p = "";
	assert_null(str_word(&p, &n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_word_skips_blanks_and_ends_with_null),
		cmocka_unit_test(test_split_wants_exactly_n_fields),
		cmocka_unit_test(test_truncate_undoes_an_append),
		cmocka_unit_test(test_append_fills_to_capacity_and_stays_terminated),
		cmocka_unit_test(test_append_that_does_not_fit_leaves_string_unchanged),
		cmocka_unit_test(test_appendf_that_does_not_fit_leaves_string_unchanged),
		cmocka_unit_test(test_reset_empties),
		cmocka_unit_test(test_fmt_fails_instead_of_truncating),
		cmocka_unit_test(test_fmt_cut_truncates_and_terminates),
		cmocka_unit_test(test_copy_fails_when_too_long),
		cmocka_unit_test(test_case_folding_is_ascii_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
