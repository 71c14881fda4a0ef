/* fileline_test.c — the bounded line reader under users(5) and the
 * aliases file: lines come back whole with their LF, the last one
 * without, and a line or a file over its bound is EINVAL. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileline.h"
#include "testutil.h"

struct fx {
	char		dir[64];
	char		path[PATH_MAX];
	struct fileline	r;
	int		fd;
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "fileline_test") == -1) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/f", fx->dir);
	fx->fd = -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->fd != -1)
		close(fx->fd);
	return tu_teardown(fx, fx->dir);
}

/* Write text to the file and open a reader on it. */
static void
reader(struct fx *fx, const void *text, size_t n, size_t maxlines)
{
	tu_write_file(fx->path, text, n);
	assert_true((fx->fd = fileline_open(fx->path)) != -1);
	fileline_init(&fx->r, fx->fd, maxlines);
}

static void
test_lines_come_with_their_lf_and_the_last_without(void **state)
{
	struct fx *fx = *state;
	char buf[16];

	reader(fx, "ab\n\ncd", 6, 10);
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "ab\n");
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "\n");
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "cd");
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 0);
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 0);
	assert_int_equal(fx->r.lines, 3);
}

static void
test_line_filling_the_buffer_exactly_is_read(void **state)
{
	struct fx *fx = *state;
	char buf[4];

	reader(fx, "abc", 3, 10);
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
}

static void
test_line_longer_than_the_buffer_is_einval(void **state)
{
	struct fx *fx = *state;
	char buf[4];

	reader(fx, "abc\n", 4, 10);
	errno = 0;
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_more_lines_than_maxlines_is_einval(void **state)
{
	struct fx *fx = *state;
	char buf[8];

	reader(fx, "a\nb\nc\n", 6, 2);
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 2);
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), 2);
	errno = 0;
	assert_int_equal(fileline_get(&fx->r, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_lines_across_read_blocks_are_whole(void **state)
{
	struct fx *fx = *state;
	char *text, buf[FILELINE_BLOCK];
	size_t n = 2 * FILELINE_BLOCK + 3, i, got = 0;
	ssize_t len;

	assert_non_null(text = malloc(n));
	/* Lines of 100 bytes: some straddle a block boundary. */
	for (i = 0; i < n; i++)
		text[i] = i % 100 == 99 ? '\n' : 'x';
	reader(fx, text, n, n);
	while ((len = fileline_get(&fx->r, buf, sizeof(buf))) > 0) {
		assert_memory_equal(buf, text + got, (size_t)len);
		got += (size_t)len;
		assert_true(len == 100 || got == n);
	}
	assert_int_equal(len, 0);
	assert_int_equal(got, n);
	free(text);
}

static void
test_missing_file_is_enoent(void **state)
{
	struct fx *fx = *state;

	errno = 0;
	assert_int_equal(fileline_open(fx->path), -1);
	assert_int_equal(errno, ENOENT);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lines_come_with_their_lf_and_the_last_without),
		T(test_line_filling_the_buffer_exactly_is_read),
		T(test_line_longer_than_the_buffer_is_einval),
		T(test_more_lines_than_maxlines_is_einval),
		T(test_lines_across_read_blocks_are_whole),
		T(test_missing_file_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
