/* fileread_test.c — a small file read whole: its bytes and a NUL come
 * back, a file over the bound is EFBIG, a directory EINVAL, a missing
 * file ENOENT, and nothing is left allocated on failure. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileread.h"
#include "testutil.h"

struct fx {
	char	dir[64];
	char	path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "fileread_test") == -1) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/f", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	return tu_teardown(fx, fx->dir);
}

static void
test_into_reads_the_whole_file_and_a_nul(void **state)
{
	struct fx *fx = *state;
	char buf[16];
	size_t len = 0;

	memset(buf, 'x', sizeof(buf));
	tu_write_file(fx->path, "ab\0cd\n", 6);
	assert_int_equal(fileread_into(fx->path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "ab\0cd\n", 7);
}

static void
test_into_takes_size_less_one_bytes_and_no_more(void **state)
{
	struct fx *fx = *state;
	char buf[8];
	size_t len = 0;

	tu_write_str(fx->path, "1234567");
	assert_int_equal(fileread_into(fx->path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "1234567");
	tu_write_str(fx->path, "12345678");
	errno = 0;
	assert_int_equal(fileread_into(fx->path, buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, EFBIG);
}

static void
test_all_reads_an_empty_file_as_an_empty_string(void **state)
{
	struct fx *fx = *state;
	char *buf = NULL;
	size_t len = 1;

	tu_write_str(fx->path, "");
	assert_int_equal(fileread_all(fx->path, 10, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
}

static void
test_all_takes_max_bytes_and_no_more(void **state)
{
	struct fx *fx = *state;
	char *buf = NULL;
	size_t len = 0;

	tu_write_str(fx->path, "hello\n");
	assert_int_equal(fileread_all(fx->path, 6, &buf, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	free(buf);
	buf = NULL;
	errno = 0;
	assert_int_equal(fileread_all(fx->path, 5, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);
}

static void
test_a_directory_is_einval(void **state)
{
	struct fx *fx = *state;
	char small[8], *buf = NULL;
	size_t len;

	errno = 0;
	assert_int_equal(fileread_into(fx->dir, small, sizeof(small), &len),
	    -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(fileread_all(fx->dir, 1024, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(buf);
}

static void
test_a_missing_file_is_enoent(void **state)
{
	struct fx *fx = *state;
	char small[8], *buf = NULL;
	size_t len;

	errno = 0;
	assert_int_equal(fileread_into(fx->path, small, sizeof(small), &len),
	    -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(fileread_all(fx->path, 1024, &buf, &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(buf);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_into_reads_the_whole_file_and_a_nul),
		T(test_into_takes_size_less_one_bytes_and_no_more),
		T(test_all_reads_an_empty_file_as_an_empty_string),
		T(test_all_takes_max_bytes_and_no_more),
		T(test_a_directory_is_einval),
		T(test_a_missing_file_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
