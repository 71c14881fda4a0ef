/* atomic_test.c — a file is wholly old or wholly new: the content is
 * replaced on commit, and on abort or a failed commit the old content
 * stays and no temporary is left behind. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic.h"
#include "io.h"
#include "str.h"
#include "testutil.h"

struct fx {
	char	dir[PATH_MAX];
	char	path[PATH_MAX];		/* dir/state */
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "atomic_test") == -1 ||
	    str_fmt(fx->path, sizeof(fx->path), "%s/state", fx->dir) == -1) {
		free(fx);
		return -1;
	}
	umask(022);
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
assert_content(const char *path, const char *want)
{
	char buf[256];
	ssize_t n;
	int fd;

	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

/* The names in dir, sorted, joined with spaces. */
static void
assert_dir_holds(const char *dir, const char *want)
{
	struct dirent **names;
	char got[512] = "";
	struct str s;
	int i, n;

	str_init(&s, got, sizeof(got));
	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 &&
		    strcmp(names[i]->d_name, "..") != 0)
			assert_int_equal(str_appendf(&s, "%s%s",
			    s.len > 0 ? " " : "", names[i]->d_name), 0);
		free(names[i]);
	}
	free(names);
	assert_string_equal(got, want);
}

static void
test_write_creates_file_with_content_and_mode(void **state)
{
	struct fx *fx = *state;
	struct stat st;

	assert_int_equal(atomic_write(fx->path, "new\n", 4, 0640), 0);
	assert_content(fx->path, "new\n");
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_dir_holds(fx->dir, "state");
}

static void
test_write_replaces_old_content_wholly(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(atomic_write(fx->path, "old old old\n", 12, 0600), 0);
	assert_int_equal(atomic_write(fx->path, "new\n", 4, 0600), 0);
	assert_content(fx->path, "new\n");
	assert_dir_holds(fx->dir, "state");
}

static void
test_temporary_is_path_tmp_pid_until_commit(void **state)
{
	struct fx *fx = *state;
	struct atomic_file a;
	char want[PATH_MAX];

	assert_int_equal(atomic_write(fx->path, "old\n", 4, 0600), 0);
	assert_int_equal(atomic_open(&a, fx->path, 0600), 0);
	assert_int_equal(str_fmt(want, sizeof(want), "%s.tmp.%ld", fx->path,
	    (long)getpid()), 0);
	assert_string_equal(a.tmp, want);
	assert_string_equal(a.path, fx->path);
	assert_int_equal(fd_write_all(a.fd, "new\n", 4), 0);
	/* Readers still see the old file until the commit. */
	assert_content(fx->path, "old\n");
	assert_content(a.tmp, "new\n");
	assert_int_equal(atomic_commit(&a), 0);
	assert_content(fx->path, "new\n");
	assert_dir_holds(fx->dir, "state");
}

static void
test_abort_keeps_old_content_and_removes_temporary(void **state)
{
	struct fx *fx = *state;
	struct atomic_file a;

	assert_int_equal(atomic_write(fx->path, "old\n", 4, 0600), 0);
	assert_int_equal(atomic_open(&a, fx->path, 0600), 0);
	assert_int_equal(fd_write_all(a.fd, "half", 4), 0);
	errno = EIO;
	atomic_abort(&a);
	assert_int_equal(errno, EIO);
	assert_content(fx->path, "old\n");
	assert_dir_holds(fx->dir, "state");
}

static void
test_failed_commit_keeps_old_and_removes_temporary(void **state)
{
	struct fx *fx = *state;
	struct atomic_file a;
	char sub[PATH_MAX], inner[PATH_MAX];

	/* A non-empty directory where the file should go: rename fails. */
	assert_int_equal(str_fmt(sub, sizeof(sub), "%s/box", fx->dir), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(str_fmt(inner, sizeof(inner), "%s/keep", sub), 0);
	assert_int_equal(atomic_write(inner, "old\n", 4, 0600), 0);

	assert_int_equal(atomic_open(&a, sub, 0600), 0);
	assert_int_equal(fd_write_all(a.fd, "new\n", 4), 0);
	errno = 0;
	assert_int_equal(atomic_commit(&a), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	assert_content(inner, "old\n");
	assert_dir_holds(fx->dir, "box");
	assert_dir_holds(sub, "keep");
}

static void
test_open_in_missing_directory_fails(void **state)
{
	struct fx *fx = *state;
	struct atomic_file a;
	char path[PATH_MAX];

	assert_int_equal(str_fmt(path, sizeof(path), "%s/no/such", fx->dir), 0);
	errno = 0;
	assert_int_equal(atomic_open(&a, path, 0600), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(atomic_write(path, "x", 1, 0600), -1);
	assert_dir_holds(fx->dir, "");
}

static void
test_open_with_too_long_name_fails(void **state)
{
	struct atomic_file a;
	static char path[PATH_MAX];

	(void)state;
	memset(path, 'a', sizeof(path) - 4);
	path[0] = '/';
	path[sizeof(path) - 4] = '\0';	/* fits, but not with .tmp.PID */
	errno = 0;
	assert_int_equal(atomic_open(&a, path, 0600), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_stale_temporary_of_our_pid_is_replaced(void **state)
{
	struct fx *fx = *state;
	char tmp[PATH_MAX];

	/* Left over by a crashed process that had our pid. */
	assert_int_equal(str_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", fx->path,
	    (long)getpid()), 0);
	assert_int_equal(atomic_write(tmp, "stale", 5, 0600), 0);
	assert_int_equal(atomic_write(fx->path, "new\n", 4, 0600), 0);
	assert_content(fx->path, "new\n");
	assert_dir_holds(fx->dir, "state");
}

static void
test_fsync_dir_and_parent(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX];

	assert_int_equal(fsync_dir(fx->dir), 0);
	assert_int_equal(fsync_parent(fx->path), 0);
	assert_int_equal(fsync_parent("/posthorn-no-such-file"), 0);
	assert_int_equal(fsync_parent("relative-name"), 0);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/none", fx->dir), 0);
	errno = 0;
	assert_int_equal(fsync_dir(path), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/none/x", fx->dir), 0);
	assert_int_equal(fsync_parent(path), -1);
}

static void
test_rename_noreplace_moves_but_never_replaces(void **state)
{
	struct fx *fx = *state;
	char from[PATH_MAX];

	assert_int_equal(str_fmt(from, sizeof(from), "%s/from", fx->dir), 0);
	tu_write_str(from, "new");
	tu_write_str(fx->path, "old");
	errno = 0;
	assert_int_equal(atomic_rename_noreplace(from, fx->path), -1);
	assert_int_equal(errno, EEXIST);
	assert_content(fx->path, "old");
	assert_content(from, "new");
	assert_int_equal(unlink(fx->path), 0);
	assert_int_equal(atomic_rename_noreplace(from, fx->path), 0);
	assert_content(fx->path, "new");
	assert_dir_holds(fx->dir, "state");
	errno = 0;
	assert_int_equal(atomic_rename_noreplace(from, fx->path), -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_write_creates_file_with_content_and_mode),
		T(test_write_replaces_old_content_wholly),
		T(test_temporary_is_path_tmp_pid_until_commit),
		T(test_abort_keeps_old_content_and_removes_temporary),
		T(test_failed_commit_keeps_old_and_removes_temporary),
		T(test_open_in_missing_directory_fails),
		T(test_open_with_too_long_name_fails),
		T(test_stale_temporary_of_our_pid_is_replaced),
		T(test_fsync_dir_and_parent),
		T(test_rename_noreplace_moves_but_never_replaces),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
