/* sjob_test.c — smtp-out's job stream (sjob.h): what queue-run writes is
 * what smtp-out -J reads back, argument for argument, whatever bytes an
 * argument holds; a job cut short waits for the rest; a job too large or
 * with too many arguments is refused, never cut. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sjob.h"

static void
test_written_job_reads_back_argument_for_argument(void **state)
{
	const char *args[] = { "-8", "-H", "/spool/state/ID.dkim", "-m",
	    "/spool/new/ID", "-s", "312", "-f", "alice@example.com", "--",
	    "\"a b\tc\"@remote.test", "bob@remote.test" };
	char buf[512], *argv[16];
	size_t len = 0, argc, used, i;

	(void)state;
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		assert_int_equal(sjob_put(buf, sizeof(buf), &len, args[i]), 0);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), 0);
	assert_int_equal(sjob_parse(buf, len, argv, 16, &argc, &used), 1);
	assert_int_equal(used, len);
	assert_int_equal(argc, sizeof(args) / sizeof(args[0]));
	for (i = 0; i < argc; i++)
		assert_string_equal(argv[i], args[i]);
	assert_null(argv[argc]);
}

static void
test_two_jobs_in_one_read_are_taken_one_at_a_time(void **state)
{
	char buf[64], *argv[8];
	size_t len = 0, argc, used;

	(void)state;
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "-f"), 0);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "a@x"), 0);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), 0);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "b@y"), 0);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), 0);
	assert_int_equal(sjob_parse(buf, len, argv, 8, &argc, &used), 1);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "a@x");
	assert_int_equal(used, 3 + 4 + 1);
	assert_int_equal(sjob_parse(buf + used, len - used, argv, 8, &argc,
	    &used), 1);
	assert_int_equal(argc, 1);
	assert_string_equal(argv[0], "b@y");
}

static void
test_job_cut_short_waits_for_the_rest(void **state)
{
	char buf[64], *argv[8];
	size_t len = 0, argc, used, cut;

	(void)state;
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "-f"), 0);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "a@x"), 0);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), 0);
	/* Every prefix short of the end mark is no job yet. */
	for (cut = 0; cut < len; cut++)
		assert_int_equal(sjob_parse(buf, cut, argv, 8, &argc, &used),
		    0);
	assert_int_equal(sjob_parse(buf, len, argv, 8, &argc, &used), 1);
}

static void
test_empty_job_has_no_arguments(void **state)
{
	char buf[1] = { '\0' }, *argv[2];
	size_t argc = 9, used = 0;

	(void)state;
	assert_int_equal(sjob_parse(buf, 1, argv, 2, &argc, &used), 1);
	assert_int_equal(argc, 0);
	assert_int_equal(used, 1);
	assert_null(argv[0]);
}

static void
test_too_many_arguments_is_refused(void **state)
{
	char buf[64], *argv[3];
	size_t len = 0, argc, used;

	(void)state;
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "a"), 0);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "b"), 0);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "c"), 0);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), 0);
	errno = 0;
	assert_int_equal(sjob_parse(buf, len, argv, 3, &argc, &used), -1);
	assert_int_equal(errno, E2BIG);
	/* Two and the NULL fit in three. */
	len = 0;
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "a"), 0);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "b"), 0);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), 0);
	assert_int_equal(sjob_parse(buf, len, argv, 3, &argc, &used), 1);
	assert_int_equal(argc, 2);
}

static void
test_argument_that_does_not_fit_is_not_written(void **state)
{
	char buf[8];
	size_t len = 0;

	(void)state;
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "abcd"), 0);
	errno = 0;
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "efgh"), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(len, 5);
	assert_int_equal(sjob_put(buf, sizeof(buf), &len, "ef"), 0);
	assert_int_equal(len, 8);
	assert_int_equal(sjob_end(buf, sizeof(buf), &len), -1);
	assert_int_equal(len, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_written_job_reads_back_argument_for_argument),
		cmocka_unit_test(
		    test_two_jobs_in_one_read_are_taken_one_at_a_time),
		cmocka_unit_test(test_job_cut_short_waits_for_the_rest),
		cmocka_unit_test(test_empty_job_has_no_arguments),
		cmocka_unit_test(test_too_many_arguments_is_refused),
		cmocka_unit_test(
		    test_argument_that_does_not_fit_is_not_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
