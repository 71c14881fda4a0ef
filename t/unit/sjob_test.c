/* sjob_test.c — smtp-out's job stream (sjob.h): what queue-run writes is
 * what smtp-out -J reads back, argument for argument, whatever bytes an
 * argument holds (an empty one too: the null sender); a job cut short
 * waits for the rest; a job too large, with too many arguments or
 * without a count is refused, never cut. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sjob.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_written_job_reads_back_argument_for_argument(void **state)
{
	char *args[] = { "-8", "-H", "/spool/state/ID.dkim", "-m",
	    "/spool/new/ID", "-s", "312", "-f", "", "--",
	    "\"a b\tc\"@remote.test", "bob@remote.test" };
	char buf[512], *argv[16];
	size_t len = 0, argc, used, i;

	(void)state;
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, args, N(args)),
	    0);
	assert_int_equal(sjob_parse(buf, len, argv, 16, &argc, &used), 1);
	assert_int_equal(used, len);
	assert_int_equal(argc, N(args));
	for (i = 0; i < argc; i++)
		assert_string_equal(argv[i], args[i]);
	assert_string_equal(argv[8], "");	/* the null sender */
	assert_null(argv[argc]);
}

static void
test_two_jobs_in_one_read_are_taken_one_at_a_time(void **state)
{
	char *a[] = { "-f", "a@x" }, *b[] = { "b@y" };
	char buf[64], *argv[8];
	size_t len = 0, argc, used;

	(void)state;
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 2), 0);
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, b, 1), 0);
	assert_int_equal(sjob_parse(buf, len, argv, 8, &argc, &used), 1);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "a@x");
	assert_int_equal(used, 2 + 3 + 4);
	assert_int_equal(sjob_parse(buf + used, len - used, argv, 8, &argc,
	    &used), 1);
	assert_int_equal(argc, 1);
	assert_string_equal(argv[0], "b@y");
}

static void
test_job_cut_short_waits_for_the_rest(void **state)
{
	char *a[] = { "-f", "", "a@x" };
	char buf[64], *argv[8];
	size_t len = 0, argc, used, cut;

	(void)state;
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 3), 0);
	/* Every prefix is no job yet, and no error either. */
	for (cut = 0; cut < len; cut++)
		assert_int_equal(sjob_parse(buf, cut, argv, 8, &argc, &used),
		    0);
	assert_int_equal(sjob_parse(buf, len, argv, 8, &argc, &used), 1);
	assert_int_equal(argc, 3);
}

static void
test_empty_job_has_no_arguments(void **state)
{
	char buf[] = "0", *argv[2];
	size_t argc = 9, used = 0;

	(void)state;
	assert_int_equal(sjob_parse(buf, 2, argv, 2, &argc, &used), 1);
	assert_int_equal(argc, 0);
	assert_int_equal(used, 2);
	assert_null(argv[0]);
}

static void
test_too_many_arguments_is_refused(void **state)
{
	char *a[] = { "a", "b", "c" };
	char buf[64], *argv[3];
	size_t len = 0, argc, used;

	(void)state;
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 3), 0);
	errno = 0;
	assert_int_equal(sjob_parse(buf, len, argv, 3, &argc, &used), -1);
	assert_int_equal(errno, E2BIG);
	/* Two and the NULL fit in three. */
	len = 0;
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 2), 0);
	assert_int_equal(sjob_parse(buf, len, argv, 3, &argc, &used), 1);
	assert_int_equal(argc, 2);
}

static void
test_stream_without_a_count_is_out_of_step(void **state)
{
	char notnum[] = "-f\0a@x", empty[] = "\0", toolong[] = "1234567";
	char *argv[4];
	size_t argc, used;

	(void)state;
	errno = 0;
	assert_int_equal(sjob_parse(notnum, sizeof(notnum), argv, 4, &argc,
	    &used), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sjob_parse(empty, 1, argv, 4, &argc, &used), -1);
	/* Six digits and no NUL yet: no count is that long. */
	assert_int_equal(sjob_parse(toolong, 6, argv, 4, &argc, &used), -1);
	assert_int_equal(sjob_parse(toolong, 5, argv, 4, &argc, &used), 0);
}

static void
test_job_that_does_not_fit_is_not_written(void **state)
{
	char *a[] = { "abcd", "efgh" };
	char buf[10];
	size_t len = 0;

	(void)state;
	errno = 0;
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 2), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(len, 0);
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 1), 0);
	assert_int_equal(len, 7);
	assert_int_equal(sjob_encode(buf, sizeof(buf), &len, a, 1), -1);
	assert_int_equal(len, 7);
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
		cmocka_unit_test(test_stream_without_a_count_is_out_of_step),
		cmocka_unit_test(test_job_that_does_not_fit_is_not_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
