/* fileline.h — bounded line reading from a small file on a descriptor,
 * for the files that smtp-in reads once per RCPT or AUTH (users(5), the
 * aliases file): one read(2) per block, never a whole file in memory,
 * and a cap on the length of a line and on the number of lines so that
 * a damaged file costs a temporary failure, not the process. */
#ifndef POSTHORN_FILELINE_H
#define POSTHORN_FILELINE_H

#include <stddef.h>
#include <sys/types.h>

enum { FILELINE_BLOCK = 4096 };	/* bytes per read(2) */

struct fileline {
	int	fd;		/* -1 when reading from mem */
	const char *mem;	/* a file's bytes in memory, or NULL */
	size_t	memlen, memoff;
	char	blk[FILELINE_BLOCK];
	size_t	pos, len;	/* unread bytes are blk[pos..len) */
	int	eof;
	size_t	lines;		/* lines returned so far */
	size_t	maxlines;	/* more than this is EINVAL */
};

/* Open path read-only (close-on-exec, EINTR retried): fd or -1. */
int	fileline_open(const char *path);
void	fileline_init(struct fileline *, int fd, size_t maxlines);
/* The same lines from len bytes at mem, which stay until the reading
 * ends (filecache.h keeps a file's bytes so). */
void	fileline_init_mem(struct fileline *, const char *mem, size_t len,
	    size_t maxlines);
/* The next line, its LF included when it has one, into buf[size]
 * (NUL-terminated): its length, 0 at the end of the file, -1 with errno
 * (EINVAL: longer than size - 1 bytes, or more than maxlines lines). */
ssize_t	fileline_get(struct fileline *, char *buf, size_t size);

#endif
