/* child.c — posix_spawn with the set-up every program of ours wants;
 * see child.h. */

#include <errno.h>
#include <signal.h>
#include <spawn.h>

#include "child.h"

static int
actions(posix_spawn_file_actions_t *fa, const int *fds, size_t n,
    unsigned flags)
{
	size_t i;
	int e;

	for (i = 0; i < n; i++)
		if (fds[i] != -1 && (e = posix_spawn_file_actions_adddup2(fa,
		    fds[i], (int)i)) != 0)
			return e;
	if (flags & CHILD_CLEAN) {
#ifdef __GLIBC__
		if ((e = posix_spawn_file_actions_addclosefrom_np(fa,
		    (int)n)) != 0 ||
		    (e = posix_spawn_file_actions_addchdir_np(fa, "/")) != 0)
			return e;
#else
		return ENOSYS;
#endif
	}
	return 0;
}

int
child_start(pid_t *pid, const char *path, char *const argv[],
    char *const envp[], const int *fds, size_t n, unsigned flags)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	short f = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int e;

	if (n > CHILD_FDS_MAX)
		return EINVAL;
	(void)sigemptyset(&none);
	(void)sigemptyset(&dflt);
	(void)sigaddset(&dflt, SIGPIPE);
	if (flags & CHILD_SETSID)
		f |= POSIX_SPAWN_SETSID;
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		return e;
	if ((e = posix_spawnattr_init(&at)) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		return e;
	}
	if ((e = actions(&fa, fds, n, flags)) == 0 &&
	    (e = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (e = posix_spawnattr_setsigdefault(&at, &dflt)) == 0 &&
	    (e = posix_spawnattr_setflags(&at, f)) == 0)
		e = posix_spawn(pid, path, &fa, &at, argv, envp);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&at);
	return e;
}
