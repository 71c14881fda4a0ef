/* spawn.c — what starting one session process costs on this machine,
 * three ways, for "make bench": the CPU (this process and its reaped
 * children, getrusage) per start, over N starts of each, in turns.
 *
 *   spawn   posix_spawn of PROGRAM, as smtp-listen starts smtp-in
 *   forkx   fork, then execve of PROGRAM in the child
 *   fork    fork only, the child running code already in memory (here:
 *           touching TOUCH_KB of fresh memory as a session's state
 *           would, then _exit), as a listener that links smtp-in's code
 *           could do
 *
 * PROGRAM is run with no arguments: smtp-in then exits at once with its
 * usage message (stderr goes to /dev/null), so what is measured is the
 * start of a process and the exec of the binary, not a session.
 *
 *	spawn PROGRAM N TOUCH_KB
 */

#include <sys/resource.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static double
cpu_ms(void)
{
	struct rusage s, c;

	getrusage(RUSAGE_SELF, &s);
	getrusage(RUSAGE_CHILDREN, &c);
	return (s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec +
	    c.ru_stime.tv_sec) * 1e3 + (s.ru_utime.tv_usec +
	    s.ru_stime.tv_usec + c.ru_utime.tv_usec + c.ru_stime.tv_usec) / 1e3;
}

static void
reap(pid_t pid)
{
	int st;

	if (pid == -1 || waitpid(pid, &st, 0) != pid) {
		perror("spawn");
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	static const char *const how[] = { "spawn", "forkx", "fork" };
	double total[3] = { 0 }, t;
	char *args[2];
	long n, touch, i;
	int k;
	pid_t pid;

	if (argc != 4) {
		fprintf(stderr, "usage: spawn PROGRAM N TOUCH_KB\n");
		return 64;
	}
	args[0] = argv[1];
	args[1] = NULL;
	n = atol(argv[2]);
	touch = atol(argv[3]) * 1024;
	if (open("/dev/null", O_WRONLY) == -1 || dup2(3, 2) == -1)
		return 1;
	for (i = 0; i < n; i++)
		for (k = 0; k < 3; k++) {
			t = cpu_ms();
			if (k == 0) {
				if (posix_spawn(&pid, args[0], NULL, NULL, args,
				    environ) != 0)
					pid = -1;
			} else if ((pid = fork()) == 0) {
				if (k == 1)
					execve(args[0], args, environ);
				else if (touch > 0) {
					char *p = malloc(touch);

					if (p != NULL)
						memset(p, 1, touch);
				}
				_exit(0);
			}
			reap(pid);
			total[k] += cpu_ms() - t;
		}
	for (k = 0; k < 3; k++)
		printf("%-6s %8.3f ms of CPU per start\n", how[k], total[k] / n);
	return 0;
}
