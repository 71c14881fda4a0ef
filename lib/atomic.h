/* atomic.h — files that are either wholly the old version or wholly the
 * new one, whatever happens: write a temporary in the same directory,
 * fsync it, rename(2) it over the name, fsync the directory. */
#ifndef POSTHORN_ATOMIC_H
#define POSTHORN_ATOMIC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct atomic_file {
	int	fd;			/* write the new content here */
	char	path[PATH_MAX];		/* the final name */
	char	tmp[PATH_MAX];		/* PATH.tmp.PID, same directory */
};

/* Create the temporary (O_EXCL, mode) for path; -1 with errno. */
int	atomic_open(struct atomic_file *, const char *path, mode_t mode);
/* fsync, close, rename over path, fsync the directory.  On a failure
 * before the rename the temporary is removed and the old file, if any, is
 * untouched; if only the directory fsync fails, the new file is in place
 * but not known to be durable (-1 all the same).  Either way the
 * atomic_file is finished: no atomic_abort after it. */
int	atomic_commit(struct atomic_file *);
/* Close and remove the temporary; errno is preserved. */
void	atomic_abort(struct atomic_file *);
/* The whole thing for content already in memory. */
int	atomic_write(const char *path, const void *, size_t, mode_t mode);
/* rename(2) that never replaces: -1 with EEXIST when to exists.  Where
 * the file system lacks renameat2's RENAME_NOREPLACE, link(2) and
 * unlink(2), as qmail does; a crash between the two leaves from as a
 * second name, and an unlink that fails then is ignored.  0, or -1 with
 * errno of the rename or the link. */
int	atomic_rename_noreplace(const char *from, const char *to);
/* The same, each name relative to a directory descriptor (AT_FDCWD, or
 * an O_PATH one): no symbolic link on the way to the directories is
 * followed again, and the last components never are. */
int	atomic_renameat_noreplace(int fromdir, const char *from, int todir,
	    const char *to);
/* fsync(2) of a directory, so that a rename or unlink in it is durable. */
int	fsync_dir(const char *dir);
/* fsync of the directory that holds path. */
int	fsync_parent(const char *path);

#endif
