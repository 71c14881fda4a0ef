/* users.c — the users file of a domain, users(5).  smtp-in reads it at
 * each RCPT and AUTH, so reading streams through a bounded line buffer
 * and needs no crypto; mailuser rewrites it, under flock(2) on the
 * directory so that two writers never lose each other's change, through
 * atomic.h so that a reader sees the old file or the new one and never a
 * mixture.  A line this code does not understand stops it with EINVAL
 * instead of a guess: the SMTP caller turns that into a temporary
 * failure and the administrator fixes the file. */

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "atomic.h"
#include "filecache.h"
#include "fileline.h"
#include "io.h"
#include "str.h"
#include "users.h"
#include "utf8.h"

enum {
	RAW_MAX = USERS_LINE_MAX,	/* a line with its LF or CRLF */
	WBUF_SIZE = 8192,		/* output buffer of a rewrite */
	NEW_FILE_MODE = 0640		/* users(5): hashes are not for all */
};

/* A line reader on a file descriptor and the line it read. */
struct reader {
	struct fileline	in;
	char		raw[RAW_MAX + 1];	/* the line as in the file */
	size_t		rawlen;
};

/* What one line of the file is. */
struct entry {
	enum { ENTRY_OTHER, ENTRY_USER } kind;	/* comment/blank or user */
	char	name[USERS_NAME_MAX + 1];	/* lowercased */
	char	hash[USERS_HASH_MAX];
};

static void
reader_init(struct reader *r, int fd)
{
	fileline_init(&r->in, fd, USERS_MAX);
	r->rawlen = 0;
}

/* The next line, its terminator included, into r->raw: 1, 0 at the end,
 * -1 with errno (EINVAL: longer than USERS_LINE_MAX, or too many).  A
 * last line without its LF is measured with it, as a rewrite writes it:
 * else a file that reads well would not after a user is added. */
static int
reader_next(struct reader *r)
{
	ssize_t n;

	r->rawlen = 0;
	if ((n = fileline_get(&r->in, r->raw, sizeof(r->raw))) <= 0)
		return (int)n;
	if (r->raw[n - 1] != '\n' && (size_t)n >= RAW_MAX) {
		errno = EINVAL;
		return -1;
	}
	r->rawlen = (size_t)n;
	return 1;
}

/* atext with lowercase letters only, and no '/': the name becomes the
 * Maildir directory MAILDIRS/DOMAIN/NAME. */
static int
is_atext(int c)
{
	return addr_is_atext(c) && !(c >= 'A' && c <= 'Z') && c != '/';
}

int
users_name_valid(const char *name)
{
	size_t i, k, n = strlen(name);

	if (n == 0 || n > USERS_NAME_MAX)
		return 0;
	/* "#" would start a comment line; '/' (atext) is left out because
	 * the name becomes a Maildir directory, MAILDIRS/DOMAIN/USER. */
	if (name[0] == '#' || name[0] == '.' || name[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i += k) {
		k = 1;
		if (name[i] == '.') {
			if (name[i + 1] == '.')
				return 0;
		} else if ((unsigned char)name[i] >= 0x80) {
			/* UTF-8, as RFC 6531 §3.3 extends atext: the
			 * Maildir's name has the same bytes. */
			if ((k = utf8_seq((const unsigned char *)name + i,
			    n - i)) == 0)
				return 0;
		} else if (!is_atext((unsigned char)name[i]))
			return 0;
	}
	return 1;
}

/* The hash field: "!" or a crypt-style string of printable ASCII. */
static int
hash_valid(const char *h)
{
	size_t n = strlen(h);

	if (strcmp(h, USERS_RECEIVE_ONLY) == 0)
		return 1;
	if (n == 0 || n >= USERS_HASH_MAX || h[0] != '$')
		return 0;
	for (; *h != '\0'; h++)
		if (*h <= ' ' || *h > '~' || *h == ':')
			return 0;
	return 1;
}

/* Parse r->raw into e; -1 with EINVAL when the line is malformed. */
static int
parse_line(const struct reader *r, struct entry *e)
{
	char line[RAW_MAX + 1];
	char *colon;
	size_t n = r->rawlen, i;

	memcpy(line, r->raw, n + 1);
	if (memchr(line, '\0', n) != NULL)
		goto bad;
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	e->kind = ENTRY_OTHER;
	if (line[0] == '#')
		return 0;
	for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == n)
		return 0;		/* blank */
	if ((colon = strchr(line, ':')) == NULL)
		goto bad;
	*colon = '\0';
	if (str_copy(e->name, sizeof(e->name), line) == -1)
		goto bad;
	str_lower(e->name);
	if (!users_name_valid(e->name))
		goto bad;
	if (str_copy(e->hash, sizeof(e->hash), colon + 1) == -1 ||
	    !hash_valid(e->hash))
		goto bad;
	e->kind = ENTRY_USER;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

enum users_result
users_lookup(const char *path, const char *name, char *hash, size_t hashlen)
{
	struct reader r;
	struct entry e;
	enum users_result rc = USERS_ERROR, found = USERS_NOTFOUND;
	int n;

	if (filecache_open(path, &r.in, USERS_MAX) == -1)
		return errno == ENOENT ? USERS_NOTFOUND : USERS_ERROR;
	r.rawlen = 0;
	/* The whole file is read even after a match: a malformed line
	 * anywhere makes every lookup fail the same way. */
	while ((n = reader_next(&r)) == 1) {
		if (parse_line(&r, &e) == -1)
			goto out;
		if (e.kind != ENTRY_USER || found == USERS_FOUND ||
		    str_casecmp(e.name, name) != 0)
			continue;
		if (hash != NULL && str_copy(hash, hashlen, e.hash) == -1)
			goto out;
		found = USERS_FOUND;
	}
	if (n == -1)
		goto out;
	rc = found;
out:
	filecache_close(&r.in);
	return rc;
}

int
users_list(const char *path, int (*cb)(void *, const char *, int),
    void *arg)
{
	struct reader r;
	struct entry e;
	int fd, n, rc = -1;

	if ((fd = fileline_open(path)) == -1)
		return errno == ENOENT ? 0 : -1;
	reader_init(&r, fd);
	while ((n = reader_next(&r)) == 1) {
		if (parse_line(&r, &e) == -1)
			goto out;
		if (e.kind == ENTRY_USER && cb(arg, e.name,
		    strcmp(e.hash, USERS_RECEIVE_ONLY) == 0) != 0)
			break;
	}
	if (n == -1)
		goto out;
	rc = 0;
out:
	fd_close(&fd);
	return rc;
}

/* Buffered writes to the temporary of a rewrite. */
struct writer {
	int	fd;
	char	buf[WBUF_SIZE];
	size_t	len;
};

static int
writer_flush(struct writer *w)
{
	if (fd_write_all(w->fd, w->buf, w->len) == -1)
		return -1;
	w->len = 0;
	return 0;
}

static int
writer_put(struct writer *w, const char *s, size_t n)
{
	if (n > sizeof(w->buf) - w->len && writer_flush(w) == -1)
		return -1;
	memcpy(w->buf + w->len, s, n);	/* n <= RAW_MAX < WBUF_SIZE */
	w->len += n;
	return 0;
}

/* The directory part of path, "." when there is none. */
static int
dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return str_copy(dir, size, ".");
	if (slash == path)
		return str_copy(dir, size, "/");
	if ((size_t)(slash - path) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

/* Lock the directory of path; the descriptor is the lock. */
static int
lock_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	if (dir_of(path, dir, sizeof(dir)) == -1)
		return -1;
	do
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			fd_close(&fd);
			return -1;
		}
	}
	return fd;
}

/* Give the temporary the mode and group of the file it replaces, or for
 * a new file NEW_FILE_MODE and the group USERS_GROUP (the keeper's, that
 * smtp-in has not: smtp-listen(8)) where it exists, else the
 * directory's, whatever the umask and the process's group are. */
static int
match_attrs(int tmpfd, int oldfd, int dirfd)
{
	struct stat want, have;
	struct group *g;
	mode_t mode;

	if (fstat(oldfd != -1 ? oldfd : dirfd, &want) == -1 ||
	    fstat(tmpfd, &have) == -1)
		return -1;
	mode = oldfd != -1 ? want.st_mode & 07777 : NEW_FILE_MODE;
	if (oldfd == -1 && (g = getgrnam(USERS_GROUP)) != NULL)
		want.st_gid = g->gr_gid;
	if (have.st_gid != want.st_gid &&
	    fchown(tmpfd, (uid_t)-1, want.st_gid) == -1)
		return -1;
	return fchmod(tmpfd, mode);
}

/* Rewrite path under the lock: every line as it was, except the lines of
 * name, which become "name:hash" (hash NULL: removed).  A new entry goes
 * at the end.  *had says whether name was there. */
static int
rewrite(const char *path, const char *name, const char *hash, int *had)
{
	struct atomic_file af;
	struct reader r;
	struct entry e;
	struct writer w;
	char line[RAW_MAX + 1];
	int lockfd = -1, oldfd = -1, opened = 0, rc = -1, n, wrote = 0;
	int lastnl = 1;

	*had = 0;
	if (hash != NULL && (str_fmt(line, sizeof(line), "%s:%s\n", name,
	    hash) == -1 || !hash_valid(hash))) {
		errno = EINVAL;
		return -1;
	}
	if ((lockfd = lock_dir(path)) == -1) {
		/* No directory: nothing to delete. */
		if (hash == NULL && errno == ENOENT)
			rc = 0;
		goto out;
	}
	if ((oldfd = fileline_open(path)) == -1) {
		if (errno != ENOENT)
			goto out;
		if (hash == NULL) {
			rc = 0;
			goto out;
		}
	}
	if (atomic_open(&af, path, NEW_FILE_MODE) == -1)
		goto out;
	opened = 1;
	if (match_attrs(af.fd, oldfd, lockfd) == -1)
		goto out;
	w.fd = af.fd;
	w.len = 0;
	if (oldfd != -1) {
		reader_init(&r, oldfd);
		while ((n = reader_next(&r)) == 1) {
			if (parse_line(&r, &e) == -1)
				goto out;
			lastnl = r.raw[r.rawlen - 1] == '\n';
			if (e.kind == ENTRY_USER &&
			    str_casecmp(e.name, name) == 0) {
				/* Later duplicates of name go with it. */
				*had = 1;
				if (hash == NULL || wrote)
					continue;
				if (writer_put(&w, line, strlen(line)) == -1)
					goto out;
				wrote = 1;
				lastnl = 1;
				continue;
			}
			if (writer_put(&w, r.raw, r.rawlen) == -1)
				goto out;
		}
		if (n == -1)
			goto out;
	}
	if (hash == NULL && !*had) {
		rc = 0;			/* nothing changes: keep the file */
		goto out;
	}
	if (hash != NULL && !wrote) {
		if (oldfd != -1 && r.in.lines >= USERS_MAX) {
			errno = EFBIG;
			goto out;
		}
		if ((!lastnl && writer_put(&w, "\n", 1) == -1) ||
		    writer_put(&w, line, strlen(line)) == -1)
			goto out;
	}
	if (writer_flush(&w) == -1)
		goto out;
	opened = 0;
	if (atomic_commit(&af) == -1)	/* the commit */
		goto out;
	rc = 0;
out:
	if (opened)
		atomic_abort(&af);
	fd_close(&oldfd);
	fd_close(&lockfd);	/* and with it the lock */
	return rc;
}

int
users_set(const char *path, const char *name, const char *hash)
{
	int had;

	if (!users_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	return rewrite(path, name, hash, &had);
}

enum users_result
users_del(const char *path, const char *name)
{
	int had;

	if (rewrite(path, name, NULL, &had) == -1)
		return USERS_ERROR;
	return had ? USERS_FOUND : USERS_NOTFOUND;
}
