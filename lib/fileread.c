/* fileread.c — the whole of a small regular file in memory.  Several
 * programs read one file whole before parsing it (dkimsign its keys,
 * queue-run a message's state and DKIM fields, smtp-out the fields it
 * sends first); this is the one place that opens it, checks that it is a
 * regular file within its bound before reading a byte, and reads it with
 * EINTR retried.  The size is taken from fstat(2): a file that shrinks
 * meanwhile comes back shorter, one that grows is read up to that size. */

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fileline.h"
#include "fileread.h"

/* Open path and check it: fd and its size, or -1 with errno. */
static int
open_small(const char *path, size_t max, size_t *size)
{
	struct stat st;
	int fd, saved;

	if ((fd = fileline_open(path)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	*size = (size_t)st.st_size;
	return fd;
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

/* Up to want bytes of fd into buf, stopping at the end of the file, and
 * a NUL after them: 0 and *len, or -1. */
static int
read_upto(int fd, char *buf, size_t want, size_t *len)
{
	size_t n = 0;
	ssize_t r;

	while (n < want) {
		r = read(fd, buf + n, want - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return 0;
}

int
fileread_into(const char *path, char *buf, size_t size, size_t *len)
{
	size_t want;
	int fd, rc, saved;

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open_small(path, size - 1, &want)) == -1)
		return -1;
	rc = read_upto(fd, buf, want, len);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return rc;
}

int
fileread_all(const char *path, size_t max, char **buf, size_t *len)
{
	size_t want;
	char *p = NULL;
	int fd, rc = -1, saved;

	if ((fd = open_small(path, max, &want)) == -1)
		return -1;
	if ((p = malloc(want + 1)) == NULL)
		goto out;
	if (read_upto(fd, p, want, len) == -1)
		goto out;
	*buf = p;
	p = NULL;
	rc = 0;
out:
	saved = errno;
	free(p);
	(void)close(fd);
	errno = saved;
	return rc;
}
