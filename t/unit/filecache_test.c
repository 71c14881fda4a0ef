/* filecache_test.c — the copies queue-run keeps of users and aliases
 * files: an unchanged file is not read again, a changed one is (another
 * size, another inode, and a rewrite of the same size within the same
 * second), a file too young to be trusted is read again, the bounds
 * hold, and resolution through alias.h sees an edit at once. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alias.h"
#include "conf.h"
#include "filecache.h"
#include "fileline.h"
#include "str.h"
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
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "filecache_test") == -1) {
		free(fx);
		return -1;
	}
	(void)snprintf(fx->path, sizeof(fx->path), "%s/users", fx->dir);
	filecache_enable(1);
	/* Trust a file however young, unless a test says otherwise: the
	 * stat comparison alone is what most tests look at. */
	filecache_set_racy_ms(0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	filecache_enable(0);
	filecache_set_racy_ms(FILECACHE_RACY_MS);
	return tu_teardown(fx, fx->dir);
}

static unsigned long
loads(void)
{
	struct filecache_stats s;

	filecache_stats(&s);
	return s.loads;
}

/* The first line of path as the cache gives it. */
static void
first_line(const char *path, char *buf, size_t size)
{
	struct fileline r;

	assert_int_equal(filecache_open(path, &r, 100), 0);
	assert_true(fileline_get(&r, buf, size) > 0);
	filecache_close(&r);
}

/* Rewrite path in place (same inode), keeping its times as they were:
 * what a second write within one tick of the clock looks like. */
static void
rewrite_same_tick(const char *path, const char *s)
{
	struct timespec t[2];
	struct stat st;
	int fd;

	assert_int_equal(stat(path, &st), 0);
	assert_true((fd = open(path, O_WRONLY | O_CLOEXEC)) != -1);
	assert_int_equal(pwrite(fd, s, strlen(s), 0), (ssize_t)strlen(s));
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	assert_int_equal(futimens(fd, t), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_unchanged_file_is_read_once(void **state)
{
	struct fx *fx = *state;
	char line[64];
	unsigned long l0 = loads();
	int i;

	tu_write_str(fx->path, "alice:!\n");
	for (i = 0; i < 5; i++) {
		first_line(fx->path, line, sizeof(line));
		assert_string_equal(line, "alice:!\n");
	}
	assert_int_equal(loads() - l0, 1);
}

static void
test_file_of_another_size_is_read_again(void **state)
{
	struct fx *fx = *state;
	char line[64];
	unsigned long l0 = loads();

	tu_write_str(fx->path, "alice:!\n");
	first_line(fx->path, line, sizeof(line));
	tu_write_str(fx->path, "robert:!\n");
	first_line(fx->path, line, sizeof(line));
	assert_string_equal(line, "robert:!\n");
	assert_int_equal(loads() - l0, 2);
}

/* mailuser's way: a new file renamed over the old one. */
static void
test_file_replaced_by_rename_is_read_again(void **state)
{
	struct fx *fx = *state;
	char line[64], tmp[PATH_MAX];

	tu_write_str(fx->path, "alice:!\n");
	first_line(fx->path, line, sizeof(line));
	(void)snprintf(tmp, sizeof(tmp), "%s/users.new", fx->dir);
	tu_write_str(tmp, "carol:!\n");
	assert_int_equal(rename(tmp, fx->path), 0);
	first_line(fx->path, line, sizeof(line));
	assert_string_equal(line, "carol:!\n");
}

/* The same size and the same modification time, in the same second:
 * the change time (to the nanosecond) and the racy window find it. */
static void
test_same_size_rewrite_in_the_same_second_is_read_again(void **state)
{
	struct fx *fx = *state;
	char line[64];

	filecache_set_racy_ms(FILECACHE_RACY_MS);
	tu_write_str(fx->path, "alice:!\n");
	first_line(fx->path, line, sizeof(line));
	rewrite_same_tick(fx->path, "brian:!\n");
	first_line(fx->path, line, sizeof(line));
	assert_string_equal(line, "brian:!\n");
}

/* A file read while younger than the window is read again at its next
 * use, changed or not: its times may not tell a second change. */
static void
test_young_file_is_not_trusted(void **state)
{
	struct fx *fx = *state;
	char line[64];
	unsigned long l0 = loads();

	filecache_set_racy_ms(FILECACHE_RACY_MS);
	tu_write_str(fx->path, "alice:!\n");
	first_line(fx->path, line, sizeof(line));
	first_line(fx->path, line, sizeof(line));
	assert_int_equal(loads() - l0, 2);
}

static void
test_missing_file_is_enoent(void **state)
{
	struct fx *fx = *state;
	struct fileline r;

	errno = 0;
	assert_int_equal(filecache_open(fx->path, &r, 100), -1);
	assert_int_equal(errno, ENOENT);
	tu_write_str(fx->path, "alice:!\n");
	assert_int_equal(filecache_open(fx->path, &r, 100), 0);
	filecache_close(&r);
	assert_int_equal(unlink(fx->path), 0);
	errno = 0;
	assert_int_equal(filecache_open(fx->path, &r, 100), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_file_over_the_bound_is_read_from_disk(void **state)
{
	struct fx *fx = *state;
	struct filecache_stats a, b;
	char line[64], *big;
	size_t n = FILECACHE_FILE_MAX + 1;

	assert_non_null(big = malloc(n));
	memset(big, 'x', n);
	memcpy(big, "alice:!\n", 8);
	tu_write_file(fx->path, big, n);
	free(big);
	filecache_stats(&a);
	first_line(fx->path, line, sizeof(line));
	first_line(fx->path, line, sizeof(line));
	filecache_stats(&b);
	assert_string_equal(line, "alice:!\n");
	assert_int_equal(b.loads, a.loads);
	assert_int_equal(b.direct - a.direct, 2);
}

/* More files than the table holds: the oldest go, the newest stay. */
static void
test_least_recently_used_file_goes_first(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX], line[64];
	unsigned long l0;
	int i;

	for (i = 0; i <= FILECACHE_FILES_MAX; i++) {
		(void)snprintf(path, sizeof(path), "%s/f%d", fx->dir, i);
		tu_write_str(path, "x\n");
		first_line(path, line, sizeof(line));
	}
	l0 = loads();
	(void)snprintf(path, sizeof(path), "%s/f%d", fx->dir,
	    FILECACHE_FILES_MAX);
	first_line(path, line, sizeof(line));	/* the newest: kept */
	assert_int_equal(loads(), l0);
	(void)snprintf(path, sizeof(path), "%s/f0", fx->dir);
	first_line(path, line, sizeof(line));	/* the oldest: gone */
	assert_int_equal(loads(), l0 + 1);
}

/* The same file opened again while it is being read (an alias that
 * leads back into its own file) reads its own copy safely. */
static void
test_nested_reading_of_a_changed_file_is_safe(void **state)
{
	struct fx *fx = *state;
	struct fileline outer;
	char a[64], b[64];

	tu_write_str(fx->path, "alice:!\nbob:!\n");
	assert_int_equal(filecache_open(fx->path, &outer, 100), 0);
	assert_true(fileline_get(&outer, a, sizeof(a)) > 0);
	tu_write_str(fx->path, "carol:!\n");
	first_line(fx->path, b, sizeof(b));
	assert_string_equal(b, "carol:!\n");
	assert_true(fileline_get(&outer, a, sizeof(a)) > 0);
	assert_string_equal(a, "bob:!\n");
	filecache_close(&outer);
}

static int
count(const struct alias_target *t, void *arg)
{
	(void)t;
	++*(int *)arg;
	return 0;
}

/* Through alias.h, as queue-run resolves: an alias added to the file
 * between two messages takes effect at the second. */
static void
test_alias_edit_takes_effect_at_the_next_resolution(void **state)
{
	struct fx *fx = *state;
	struct conf c;
	char why[ALIAS_WHY_MAX], etc[PATH_MAX];
	int n = 0;

	filecache_set_racy_ms(FILECACHE_RACY_MS);
	memset(&c, 0, sizeof(c));
	(void)snprintf(etc, sizeof(etc), "%s/etc", fx->dir);
	assert_int_equal(str_copy(c.dir, sizeof(c.dir), etc), 0);
	assert_int_equal(str_copy(c.hostname, sizeof(c.hostname),
	    "mx.example.org"), 0);
	assert_int_equal(mkdir(etc, 0755), 0);
	tu_mkdomain(etc, "example.org");
	tu_put_domain(etc, "example.org", "users", "alice:!\n");
	tu_put_domain(etc, "example.org", "aliases", "# none\n");
	assert_int_equal(alias_resolve(&c, "sales@example.org", count, &n,
	    why, sizeof(why)), ALIAS_NOUSER);
	tu_put_domain(etc, "example.org", "aliases", "sales: alice\n");
	assert_int_equal(alias_resolve(&c, "sales@example.org", count, &n,
	    why, sizeof(why)), ALIAS_OK);
	assert_int_equal(n, 1);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unchanged_file_is_read_once),
		T(test_file_of_another_size_is_read_again),
		T(test_file_replaced_by_rename_is_read_again),
		T(test_same_size_rewrite_in_the_same_second_is_read_again),
		T(test_young_file_is_not_trusted),
		T(test_missing_file_is_enoent),
		T(test_file_over_the_bound_is_read_from_disk),
		T(test_least_recently_used_file_goes_first),
		T(test_nested_reading_of_a_changed_file_is_safe),
		T(test_alias_edit_takes_effect_at_the_next_resolution),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
