/* child.h — start another program with posix_spawn(3): a vfork-style
 * clone that copies no page tables, which on these machines costs half
 * a fork of a large process.  What a forked child used to do before its
 * exec is said in flags and fds. */
#ifndef POSTHORN_CHILD_H
#define POSTHORN_CHILD_H

#include <sys/types.h>

#include <stddef.h>

enum {
	/* 0-2, the TLS zygote (3), the report socket (4), the checker
	 * (5), the keeper (6): what smtp-listen gives a session. */
	CHILD_FDS_MAX = 7,
	/* Its own session and process group, so that a kill of the group
	 * ends whatever it started too. */
	CHILD_SETSID = 1,
	/* No descriptor above the ones given, and "/" as its directory:
	 * a command of the administrator's gets nothing of ours (glibc
	 * only: smtp-listen, on musl, never asks for it). */
	CHILD_CLEAN = 2
};

/* path with argv and envp; fds[i] becomes its descriptor i for i < n
 * (-1: left as it is), every signal unblocked and SIGPIPE at its default
 * (callers ignore it to see EPIPE, and block the others into a
 * signalfd).  A descriptor given must not be below n itself, where an
 * earlier dup2 could replace it (fd_move_above).  0 with *pid, or an
 * error number. */
int	child_start(pid_t *pid, const char *path, char *const argv[],
	    char *const envp[], const int *fds, size_t n, unsigned flags);

#endif
