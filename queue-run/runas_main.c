/* runas_main.c — queue-runas(8): run one pipe alias or MDA as the user
 * that the configuration names for its domain (command_user: nobody by
 * default), never as the posthorn user that queue-run is, so that a
 * command fed hostile mail reads no key, no users file, no SRS secret
 * and no queued message of anyone's.
 *
 *	queue-runas -C DIR -d DOMAIN [--] PATH ARG0 [ARG...]
 *
 * It is installed root's, set-uid, and executable by the group
 * posthorn-run alone, which only queue-run is given.  It reads the
 * configuration of DIR only if root alone can write it (runas.h); it
 * clears the supplementary groups, takes the user's group and uid (real,
 * effective and saved) and execs PATH with an environment of its own
 * making (below).  It stays as the command's parent, no longer root
 * (real and saved uid the caller's, so that queue-run can signal it and
 * the command cannot; effective uid the command's, so that it can
 * signal the command): a SIGTERM, SIGINT
 * or SIGHUP kills the command's process group, which queue-run could
 * not (another uid's), and the command's exit status or signal becomes
 * its own.  Its refusals, on stderr, become the reason of the delivery's
 * temporary failure (exit 75).
 *
 *	queue-runas -G GIDS [--] PATH ARG0 [ARG...]
 *
 * is the other mode: it clears the supplementary groups but GIDS (a
 * comma-separated list of the caller's own, "" for none), becomes the
 * caller again for good and execs PATH in its place, with the caller's
 * environment (what the loader leaves of it for a set-uid program).
 * queue-run starts smtp-out so: the program that faces the network
 * keeps none of the groups of the secrets that queue-run holds to sign
 * and rewrite (DKIM keys, srs.secret, users files).  Nothing is gained:
 * the uid is the caller's and the groups a subset of its own. */

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "conf.h"
#include "runas.h"
#include "str.h"

enum {
	EX_USAGE_ = 64,
	EX_TEMPFAIL_ = 75,	/* queue-run retries: nothing is lost */
	GROUPS_MAX = 256,	/* the caller's supplementary groups */
	ENV_MAX = 16
};

/* The PATH of every command (queue-run's DELIVER_PATH). */
#define RUNAS_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"

/* What queue-run sets for a command and passes through: the rest of
 * the environment is dropped. */
static const char *const pass[] = { "SENDER=", "RECIPIENT=",
    "ORIGINAL_RECIPIENT=", "USER=", "DOMAIN=", "QUEUE_ID=",
    "POSTHORN_CONF=", NULL };

#ifdef __SANITIZE_ADDRESS__
/* As queue-inject's: set-id, LeakSanitizer cannot ptrace itself. */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return getauxval(AT_SECURE) != 0 ? "detect_leaks=0" : "";
}
#endif

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "queue-runas: %s%s%s\n", what,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	_exit(EX_TEMPFAIL_);
}

static void
usage(void)
{
	fprintf(stderr, "usage: queue-runas -C DIR -d DOMAIN [--] PATH ARG0 "
	    "[ARG...]\n       queue-runas -G GIDS [--] PATH ARG0 "
	    "[ARG...]\n");
	_exit(EX_USAGE_);
}

/* -G: the caller's supplementary groups cut to those of list, then the
 * caller for good (real, effective and saved uid), then path. */
static void
keep_groups(const char *list, char *const argv[], char *envp[])
{
	gid_t have[GROUPS_MAX], keep[GROUPS_MAX];
	char why[RUNAS_WHY_MAX];
	uid_t caller = getuid(), r, e, s;
	size_t nkeep;
	int n;

	if ((n = getgroups(GROUPS_MAX, have)) == -1)
		fail("getgroups", strerror(errno));
	if (runas_keep_groups(list, have, (size_t)n, keep, GROUPS_MAX,
	    &nkeep, why, sizeof(why)) == -1)
		fail(why, NULL);
	if (setgroups(nkeep, keep) == -1)
		fail("setgroups", strerror(errno));
	if (setresuid(caller, caller, caller) == -1)
		fail("setresuid", strerror(errno));
	if (getresuid(&r, &e, &s) == -1 || r != caller || e != caller ||
	    s != caller || (caller != 0 && setuid(0) != -1))
		fail("could not drop root", NULL);
	execve(argv[0], argv + 1, envp);
	fprintf(stderr, "queue-runas: cannot execute %s: %s\n", argv[0],
	    strerror(errno));
	_exit(EX_TEMPFAIL_);
}

/* The command's environment: PATH, HOME=/, and what queue-run set of
 * pass[]; nothing else of the caller's reaches the command. */
static void
env_make(char **env, char **out)
{
	size_t i, j, n = 0;

	out[n++] = (char *)RUNAS_PATH;
	out[n++] = (char *)"HOME=/";
	for (i = 0; env != NULL && env[i] != NULL && n < ENV_MAX - 1; i++)
		for (j = 0; pass[j] != NULL; j++)
			if (strncmp(env[i], pass[j], strlen(pass[j])) == 0) {
				out[n++] = env[i];
				break;
			}
	out[n] = NULL;
}

/* Become id for good: no supplementary group, its group and uid as the
 * real, effective and saved ids. */
static void
become(const struct runas_id *id)
{
	uid_t r, e, s;

	if (setgroups(0, NULL) == -1)
		fail("setgroups", strerror(errno));
	if (setresgid(id->gid, id->gid, id->gid) == -1)
		fail("setresgid", strerror(errno));
	if (setresuid(id->uid, id->uid, id->uid) == -1)
		fail("setresuid", strerror(errno));
	/* No way back: were root still reachable, this would succeed. */
	if (getresuid(&r, &e, &s) == -1 || r != id->uid || e != id->uid ||
	    s != id->uid || setuid(0) != -1)
		fail("could not drop root", NULL);
}

/* The parent: no longer root.  Its real and saved uids are the
 * caller's: queue-run may signal it and the command may not (a command
 * that could stop it would hang queue-run's wait for it); its effective
 * uid is the command's, so that it may signal the command's group. */
static void
step_aside(const struct runas_id *id, uid_t caller)
{
	if (setgroups(0, NULL) == -1 ||
	    setresgid(id->gid, id->gid, id->gid) == -1 ||
	    setresuid(caller, id->uid, caller) == -1)
		fail("cannot drop root", strerror(errno));
}

/* Wait for the command; a signal to stop kills its process group (and
 * this process, its leader).  Then its status becomes ours. */
static void
supervise(pid_t child, const sigset_t *mask, const sigset_t *old)
{
	siginfo_t si;
	pid_t w;
	int st, sig;

	for (;;) {
		if (sigwaitinfo(mask, &si) == -1) {
			if (errno == EINTR)
				continue;
			fail("sigwaitinfo", strerror(errno));
		}
		if (si.si_signo != SIGCHLD) {
			(void)kill(0, SIGKILL);
			(void)kill(child, SIGKILL);
			_exit(EX_TEMPFAIL_);
		}
		do
			w = waitpid(child, &st, WNOHANG);
		while (w == -1 && errno == EINTR);
		if (w == -1)
			fail("waitpid", strerror(errno));
		if (w == child)
			break;
	}
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	sig = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
	(void)signal(sig, SIG_DFL);
	(void)sigprocmask(SIG_SETMASK, old, NULL);
	(void)raise(sig);
	_exit(128 + sig);
}

int
main(int argc, char *argv[], char *envp[])
{
	static struct conf conf;	/* some 8 KiB */
	char real[PATH_MAX], err[RUNAS_WHY_MAX];
	char *env[ENV_MAX];
	gid_t groups[GROUPS_MAX];
	struct runas_id id;
	sigset_t mask, old;
	const char *dir = NULL, *domain = NULL, *keep = NULL;
	uid_t caller = getuid();
	pid_t parent, child;
	int c, n;

	/* Before anything: a stop asked for now is seen once the command
	 * runs, and kills it. */
	(void)sigemptyset(&mask);
	(void)sigaddset(&mask, SIGTERM);
	(void)sigaddset(&mask, SIGINT);
	(void)sigaddset(&mask, SIGHUP);
	(void)sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &old) == -1)
		fail("sigprocmask", strerror(errno));
	/* An ignored SIGCHLD would reap the command unseen. */
	(void)signal(SIGCHLD, SIG_DFL);

	while ((c = getopt(argc, argv, "+C:d:G:")) != -1) {
		switch (c) {
		case 'G':
			keep = optarg;
			break;
		case 'C':
			dir = optarg;
			break;
		case 'd':
			domain = optarg;
			break;
		default:
			usage();
		}
	}
	if (keep != NULL) {
		if (dir != NULL || domain != NULL || argc - optind < 2)
			usage();
		if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
			fail("sigprocmask", strerror(errno));
		keep_groups(keep, argv + optind, envp);
	}
	if (dir == NULL || domain == NULL || argc - optind < 2)
		usage();

	if (runas_trusted_dir(dir, real, sizeof(real), err,
	    sizeof(err)) == -1)
		fail(err, NULL);
	if (conf_load(&conf, real, err, sizeof(err)) == -1)
		fail(err, NULL);
	if ((n = getgroups(GROUPS_MAX, groups)) == -1)
		fail("getgroups", strerror(errno));
	if (runas_target(&conf, domain, caller, getgid(), groups, (size_t)n,
	    &id, err, sizeof(err)) == -1)
		fail(err, NULL);
	env_make(envp, env);

	parent = getpid();
	if ((child = fork()) == -1)
		fail("fork", strerror(errno));
	if (child == 0) {
		become(&id);
		/* The command dies with its parent, whatever kills that. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1 ||
		    getppid() != parent)
			_exit(EX_TEMPFAIL_);
		if (chdir("/") == -1)
			fail("chdir /", strerror(errno));
		(void)signal(SIGCHLD, SIG_DFL);
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		execve(argv[optind], argv + optind + 1, env);
		fprintf(stderr, "queue-runas: cannot execute %s: %s\n",
		    argv[optind], strerror(errno));
		_exit(EX_TEMPFAIL_);
	}
	step_aside(&id, caller);
	supervise(child, &mask, &old);
	return EX_TEMPFAIL_;
}
