/* filecache.c — small files kept in memory while stat(2) says they are
 * unchanged (filecache.h).  A table of FILECACHE_FILES_MAX entries
 * searched in order: a lookup compares some tens of paths, nothing next
 * to the stat that every use makes anyway.  A copy in use by a reader
 * (an alias expansion that opens the same file again inside a scan) is
 * never freed under it: a changed file is then read from disk. */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filecache.h"

struct entry {
	char		*path;		/* NULL: free */
	char		*buf;
	size_t		 len;
	struct stat	 st;		/* as it was read */
	int		 racy;		/* read again at the next use */
	unsigned	 readers;	/* fileline's reading buf now */
	unsigned long	 used;		/* for the least recently used */
};

static struct {
	int			 on;
	struct entry		 e[FILECACHE_FILES_MAX];
	size_t			 bytes;
	unsigned long		 clock;
	struct filecache_stats	 stats;
} fc;
static long racy_ms = FILECACHE_RACY_MS;

static int
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int
filecache_unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && same_time(&a->st_mtim, &b->st_mtim) &&
	    same_time(&a->st_ctim, &b->st_ctim);
}

static int64_t
ms_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

/* Changed within the racy window before now (or after it: a clock set
 * back, or another host's), so that a change in the same tick as the
 * one we read could leave every field stat gives as it was. */
int
filecache_racy(const struct stat *st)
{
	struct timespec now;
	int64_t n, m, c;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return 1;
	n = ms_of(&now);
	m = ms_of(&st->st_mtim);
	c = ms_of(&st->st_ctim);
	return n - m < racy_ms || n - c < racy_ms;
}

static void
entry_drop(struct entry *e)
{
	fc.bytes -= e->len;
	free(e->path);
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

static struct entry *
find(const char *path)
{
	size_t i;

	for (i = 0; i < FILECACHE_FILES_MAX; i++)
		if (fc.e[i].path != NULL && strcmp(fc.e[i].path, path) == 0)
			return &fc.e[i];
	return NULL;
}

/* Room for len more bytes and one more file, the least recently used
 * copies dropped first (never one being read): a free entry, or NULL. */
static struct entry *
make_room(size_t len)
{
	struct entry *lru, *freee;
	size_t i;

	for (;;) {
		lru = freee = NULL;
		for (i = 0; i < FILECACHE_FILES_MAX; i++) {
			struct entry *e = &fc.e[i];

			if (e->path == NULL) {
				if (freee == NULL)
					freee = e;
			} else if (e->readers == 0 &&
			    (lru == NULL || e->used < lru->used))
				lru = e;
		}
		if (freee != NULL && fc.bytes + len <= FILECACHE_BYTES_MAX)
			return freee;
		if (lru == NULL)
			return NULL;
		entry_drop(lru);
	}
}

/* The whole of fd, whose fstat is st, into a new buffer: 0, or -1 with
 * errno (EAGAIN: it changed size while read, so not kept). */
static int
slurp(int fd, const struct stat *st, char **out)
{
	size_t len = (size_t)st->st_size, got = 0;
	ssize_t n;
	char *buf;
	char extra;

	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	do
		n = read(fd, &extra, 1);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		goto fail;
	if (got != len || n != 0) {
		errno = EAGAIN;
		goto fail;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
fail:
	free(buf);
	return -1;
}

/* Read path into a copy: the entry, or NULL with errno, or NULL with
 * errno 0 and *fdp open on the file when it is not to be kept (too
 * large, not regular, no room, changed while read: read from the file
 * as it is, then). */
static struct entry *
load(const char *path, int *fdp)
{
	struct entry *e;
	struct stat st;
	char *buf = NULL, *p = NULL;
	int fd;

	*fdp = -1;
	if ((fd = fileline_open(path)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > FILECACHE_FILE_MAX ||
	    (e = make_room((size_t)st.st_size)) == NULL)
		goto direct;
	if (slurp(fd, &st, &buf) == -1) {
		if (errno != EAGAIN || lseek(fd, 0, SEEK_SET) == -1)
			goto fail;
		goto direct;
	}
	if ((p = strdup(path)) == NULL) {
		free(buf);
		goto fail;
	}
	(void)close(fd);
	e->path = p;
	e->buf = buf;
	e->len = (size_t)st.st_size;
	e->st = st;
	e->racy = filecache_racy(&st);
	e->readers = 0;
	fc.bytes += e->len;
	fc.stats.loads++;
	return e;
direct:
	*fdp = fd;
	errno = 0;
	return NULL;
fail:
	{
		int err = errno;

		(void)close(fd);
		errno = err;
	}
	return NULL;
}

int
filecache_open(const char *path, struct fileline *r, size_t maxlines)
{
	struct entry *e;
	struct stat st;
	int fd;

	if (!fc.on)
		goto direct;
	if ((e = find(path)) != NULL) {
		if (stat(path, &st) == -1) {
			if (e->readers == 0)
				entry_drop(e);
			return -1;	/* gone meanwhile: ENOENT */
		}
		if (!e->racy && filecache_unchanged(&st, &e->st)) {
			fc.stats.hits++;
			goto hit;
		}
		if (e->readers > 0)
			goto direct;	/* in use: not replaced under it */
		entry_drop(e);
	}
	if ((e = load(path, &fd)) == NULL) {
		if (errno != 0)
			return -1;
		fc.stats.direct++;
		fileline_init(r, fd, maxlines);
		return 0;
	}
hit:
	e->used = ++fc.clock;
	e->readers++;
	fileline_init_mem(r, e->buf, e->len, maxlines);
	return 0;
direct:
	if ((fd = fileline_open(path)) == -1)
		return -1;
	if (fc.on)
		fc.stats.direct++;
	fileline_init(r, fd, maxlines);
	return 0;
}

void
filecache_close(struct fileline *r)
{
	size_t i;

	if (r->mem == NULL) {
		if (r->fd != -1)
			(void)close(r->fd);
		r->fd = -1;
		return;
	}
	for (i = 0; i < FILECACHE_FILES_MAX; i++)
		if (fc.e[i].buf == r->mem && fc.e[i].readers > 0) {
			fc.e[i].readers--;
			break;
		}
	r->mem = NULL;
}

void
filecache_enable(int on)
{
	size_t i;

	if (!on)
		for (i = 0; i < FILECACHE_FILES_MAX; i++)
			if (fc.e[i].path != NULL && fc.e[i].readers == 0)
				entry_drop(&fc.e[i]);
	fc.on = on;
}

void
filecache_stats(struct filecache_stats *s)
{
	*s = fc.stats;
}

void
filecache_set_racy_ms(long ms)
{
	racy_ms = ms;
}
