/* testutil.c — fixture helpers shared by the unit tests (testutil.h),
 * written once so that every test sets up and cleans up its scratch
 * directory the same way. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileread.h"
#include "io.h"
#include "str.h"
#include "testutil.h"

int
tu_tmpdir(char *dir, size_t size, const char *name)
{
	if (str_fmt(dir, size, "/tmp/%s.XXXXXX", name) == -1 ||
	    mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

int
tu_rmtree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	/* lstat: a symbolic link goes, never what it points to. */
	if (lstat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (str_fmt(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) == -1 || tu_rmtree(sub) == -1)
			rc = -1;
	}
	closedir(d);
	if (rmdir(path) == -1)
		rc = -1;
	return rc;
}

int
tu_teardown(void *fixture, const char *dir)
{
	int rc;

	rc = tu_rmtree(dir);
	free(fixture);
	return rc;
}

void
tu_write_file(const char *path, const void *p, size_t n)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	assert_true(fd != -1);
	assert_int_equal(fd_write_all(fd, p, n), 0);
	assert_int_equal(close(fd), 0);
}

void
tu_write_str(const char *path, const char *s)
{
	tu_write_file(path, s, strlen(s));
}

void
tu_write_secret(const char *path, const char *s)
{
	tu_write_str(path, s);
	assert_int_equal(chmod(path, 0640), 0);
}

enum { TU_COPY_MAX = 64 * 1024 };	/* a PEM key is a few KB */

void
tu_copy_secret(const char *src, const char *dst)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(fileread_all(src, TU_COPY_MAX, &buf, &len), 0);
	tu_write_secret(dst, buf);
	free(buf);
}

int
tu_spool(const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "state" };
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (str_fmt(p, sizeof(p), "%s/%s", dir, subs[i]) == -1 ||
		    mkdir(p, 0770) == -1)
			return -1;
	return 0;
}

void
tu_mkdomain(const char *confdir, const char *domain)
{
	char p[PATH_MAX];

	assert_int_equal(str_fmt(p, sizeof(p), "%s/domains", confdir), 0);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	assert_int_equal(str_fmt(p, sizeof(p), "%s/domains/%s", confdir,
	    domain), 0);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

void
tu_put_domain(const char *confdir, const char *domain, const char *file,
    const char *s)
{
	char p[PATH_MAX];

	assert_int_equal(str_fmt(p, sizeof(p), "%s/domains/%s/%s", confdir,
	    domain, file), 0);
	tu_write_str(p, s);
}

int
tu_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
tu_open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}
