/* filecache.h — the small files that address resolution reads at every
 * lookup (users(5), the aliases file, a domain's mda), kept in memory by
 * a process that lives long (queue-run) and read again only when they
 * change, so that a message costs one stat(2) per file instead of an
 * open and its reads.
 *
 * A file is taken as unchanged while stat(2) gives the same device,
 * inode, size, modification time and change time (to the nanosecond)
 * as when it was read.  That misses a rewrite of the same size within
 * one tick of the file system's clock, so a file read while its last
 * change is younger than FILECACHE_RACY_MS is read again at its next
 * use, until it has been read once when older (git's "racily clean"
 * entries, the same idea).
 *
 * Off unless filecache_enable() is called: a process that reads a file
 * once per RCPT and exits (smtp-in) gains nothing from a copy.  Off, or
 * for a file over its bounds, filecache_open opens the file as
 * fileline_open does. */
#ifndef POSTHORN_FILECACHE_H
#define POSTHORN_FILECACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "fileline.h"

enum {
	/* Files kept: the users, aliases and mda files of some tens of
	 * domains; the least recently used goes first. */
	FILECACHE_FILES_MAX = 128,
	/* Bytes kept in all; a users file of some thousands of users is
	 * some hundreds of KiB. */
	FILECACHE_BYTES_MAX = 16 * 1024 * 1024,
	/* A file larger than this is read from disk at each use. */
	FILECACHE_FILE_MAX = 4 * 1024 * 1024,
	/* Above the timestamp granularity of the file systems a
	 * configuration lives on (ext4 and tmpfs: a clock tick of some
	 * ms; NFS and older ones: a second or two). */
	FILECACHE_RACY_MS = 2500
};

struct filecache_stats {
	unsigned long	loads;		/* files read into the cache */
	unsigned long	hits;		/* uses served from memory */
	unsigned long	direct;		/* uses read from the file */
};

/* Keep files from now on (on != 0), or drop every copy and stop. */
void	filecache_enable(int on);
/* Open path for line reading into r (fileline_init or _init_mem): 0, or
 * -1 with errno as open(2) would give it (ENOENT: no such file). */
int	filecache_open(const char *path, struct fileline *r,
	    size_t maxlines);
/* The end of a reading that filecache_open began. */
void	filecache_close(struct fileline *r);
/* What the cache did so far (tests, and a log line if wanted). */
void	filecache_stats(struct filecache_stats *);
/* The test above, for a file that a program watches by itself
 * (confwatch.h): 1 when a and b, two stat(2) results, give the same
 * device, inode, size, modification and change times. */
int	filecache_unchanged(const struct stat *a, const struct stat *b);
/* 1 when st's file changed within the racy window before now, so that
 * a change in the same tick may have left every field as it was. */
int	filecache_racy(const struct stat *st);
/* Tests: the racy window in ms (FILECACHE_RACY_MS by default). */
void	filecache_set_racy_ms(long ms);

#endif
