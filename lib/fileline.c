/* fileline.c — bounded line reading from a small file.  The users file
 * and the aliases file are read at each RCPT by a process that lives for
 * one connection: a block buffer keeps that at one read(2) per 4 KiB
 * instead of one per byte, and the caller's fixed buffer bounds a line. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fileline.h"

int
fileline_open(const char *path)
{
	int fd;

	/* openat, not open: musl's open(2) follows an O_CLOEXEC open with
	 * an fcntl(2) for kernels older than 2.6.23, a system call per file
	 * that smtp-in would pay at every RCPT. */
	do
		fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd == -1 && errno == EINTR);
	return fd;
}

void
fileline_init(struct fileline *r, int fd, size_t maxlines)
{
	r->fd = fd;
	r->mem = NULL;
	r->memlen = r->memoff = 0;
	r->pos = r->len = 0;
	r->eof = 0;
	r->lines = 0;
	r->maxlines = maxlines;
}

void
fileline_init_mem(struct fileline *r, const char *mem, size_t len,
    size_t maxlines)
{
	fileline_init(r, -1, maxlines);
	r->mem = mem;
	r->memlen = len;
}

/* The next block into r->blk: its length, 0 at the end, -1 with errno. */
static ssize_t
fill(struct fileline *r)
{
	size_t n;

	if (r->mem == NULL)
		return read(r->fd, r->blk, sizeof(r->blk));
	n = r->memlen - r->memoff;
	if (n > sizeof(r->blk))
		n = sizeof(r->blk);
	memcpy(r->blk, r->mem + r->memoff, n);
	r->memoff += n;
	return (ssize_t)n;
}

ssize_t
fileline_get(struct fileline *r, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t got;
	char c;

	for (;;) {
		if (r->pos == r->len) {
			if (r->eof)
				break;
			got = fill(r);
			if (got == -1) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (got == 0) {
				r->eof = 1;
				break;
			}
			r->pos = 0;
			r->len = (size_t)got;
		}
		c = r->blk[r->pos++];
		if (n + 1 >= size) {
			errno = EINVAL;
			return -1;
		}
		buf[n++] = c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	if (n == 0)
		return 0;
	if (++r->lines > r->maxlines) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)n;
}
