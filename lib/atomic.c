/* atomic.c — replace a file so that a reader, a crash or a power loss
 * sees either the whole old version or the whole new one: write a
 * temporary in the same directory (rename(2) is atomic only within one
 * file system), fsync it, rename it over the name, fsync the directory so
 * that the rename itself is on disk. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "atomic.h"
#include "io.h"
#include "str.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	(1 << 0)	/* Linux ABI, <linux/fs.h> */
#endif

int
atomic_open(struct atomic_file *a, const char *path, mode_t mode)
{
	int retried = 0;

	a->fd = -1;
	a->tmp[0] = '\0';
	if (str_copy(a->path, sizeof(a->path), path) == -1 ||
	    str_fmt(a->tmp, sizeof(a->tmp), "%s.tmp.%ld", path,
	    (long)getpid()) == -1) {
		a->tmp[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	for (;;) {
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    mode);
		if (a->fd != -1)
			return 0;
		if (errno == EINTR)
			continue;
		/* The name carries our pid, so no live process owns an
		 * existing one: it is left over from a crash.  Once only. */
		if (errno == EEXIST && !retried) {
			retried = 1;
			if (unlink(a->tmp) == -1 && errno != ENOENT)
				break;
			continue;
		}
		break;
	}
	a->tmp[0] = '\0';	/* not ours: atomic_abort must not remove it */
	return -1;
}

int
atomic_commit(struct atomic_file *a)
{
	int fd = a->fd, saved;

	a->fd = -1;
	if (fsync(fd) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	if (rename(a->tmp, a->path) == -1)	/* the commit */
		goto fail;
	a->tmp[0] = '\0';
	/* After the rename the new file is in place; a failure here only
	 * means that its durability is unknown, and the caller must treat
	 * it as not written. */
	return fsync_parent(a->path);
fail:
	saved = errno;
	unlink(a->tmp);
	a->tmp[0] = '\0';
	errno = saved;
	return -1;
}

void
atomic_abort(struct atomic_file *a)
{
	int saved = errno;

	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
	if (a->tmp[0] != '\0')
		unlink(a->tmp);
	a->tmp[0] = '\0';
	errno = saved;
}

int
atomic_write(const char *path, const void *p, size_t n, mode_t mode)
{
	struct atomic_file a;

	if (atomic_open(&a, path, mode) == -1)
		return -1;
	if (fd_write_all(a.fd, p, n) == -1) {
		atomic_abort(&a);
		return -1;
	}
	return atomic_commit(&a);
}

int
atomic_renameat_noreplace(int fromdir, const char *from, int todir,
    const char *to)
{
	if (syscall(SYS_renameat2, fromdir, from, todir, to,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(fromdir, from, todir, to, 0) == -1)
		return -1;
	(void)unlinkat(fromdir, from, 0);
	return 0;
}

int
atomic_rename_noreplace(const char *from, const char *to)
{
	return atomic_renameat_noreplace(AT_FDCWD, from, AT_FDCWD, to);
}

int
fsync_dir(const char *dir)
{
	int fd, rc = -1, saved;

	do
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	if (fsync(fd) == 0)
		rc = 0;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t n;

	slash = strrchr(path, '/');
	if (slash == NULL)
		return fsync_dir(".");
	n = slash == path ? 1 : (size_t)(slash - path);	/* "/x" is in "/" */
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	return fsync_dir(dir);
}
