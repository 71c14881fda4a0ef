/* firsttouch.c — what a page costs the first time a process touches it,
 * on this machine: the cost that stands between a fresh process per
 * session and Postfix's reused ones (issue 10).  For "make bench".
 *
 *	firsttouch [PAGES]
 *
 * Prints microseconds of CPU per 4 KiB page, each the median of ROUNDS:
 *
 *	zero     a demand-zero fault: a fresh anonymous page written once
 *	         (what a fresh process pays for each page of its stack, its
 *	         .bss and its heap);
 *	populate the same pages made present by MADV_POPULATE_WRITE, then
 *	         written: whether faulting them in one call is cheaper (on a
 *	         guest with shadow page tables the first access still traps);
 *	child4k  a child forked from a parent whose PAGES pages are present,
 *	         reading each once: what a fork-per-session server's child
 *	         pays for the memory it inherits, on 4 KiB pages (its fork
 *	         and exit included, divided by PAGES);
 *	child2m  the same, the parent's pages on transparent huge pages
 *	         (MADV_HUGEPAGE; "n/a" when the kernel gave none).
 *
 * On bare metal a fault costs about 1 µs and a read of an inherited page
 * next to nothing; on this machine's PVM guest the rows say otherwise.
 * Pages are touched with a stride of one page, in order; the parent
 * writes its pages before it forks so that they are present. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum {
	PAGE = 4096,
	HUGE = 2 * 1024 * 1024,
	PAGES_DEFAULT = 1024,
	PAGES_MAX = 65536,
	ROUNDS = 9
};

static double
cpu_us(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == -1) {
		perror("clock_gettime");
		exit(1);
	}
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp);
	return v[ROUNDS / 2];
}

struct region {
	char	*map;		/* what mmap gave */
	size_t	 len;
	char	*q;		/* the n pages, 2 MiB aligned, in it */
};

/* n pages not yet touched; huge: THP asked for. */
static struct region
region(size_t n, int huge)
{
	struct region r;

	r.len = n * PAGE + HUGE;
	r.map = mmap(NULL, r.len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.map == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	r.q = (char *)(((uintptr_t)r.map + HUGE - 1) &
	    ~(uintptr_t)(HUGE - 1));
	(void)madvise(r.q, n * PAGE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return r;
}

static void
release(const struct region *r)
{
	if (munmap(r->map, r->len) == -1) {
		perror("munmap");
		exit(1);
	}
}

static double
zero(size_t n, int populate)
{
	struct region r = region(n, 0);
	double t0, t1;
	size_t i;

	t0 = cpu_us();
	if (populate && madvise(r.q, n * PAGE, MADV_POPULATE_WRITE) == -1) {
		release(&r);
		return -1;
	}
	for (i = 0; i < n; i++)
		r.q[i * PAGE] = 1;
	t1 = cpu_us();
	release(&r);
	return (t1 - t0) / (double)n;
}

static long
anon_huge_kb(void)
{
	char line[256];
	long kb = 0, v;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "AnonHugePages: %ld", &v) == 1)
			kb = v;
	(void)fclose(f);
	return kb;
}

/* A forked child's CPU reading each of n present pages once, per page;
 * -1 when huge was asked for and none was given. */
static double
child(size_t n, int huge)
{
	struct region r = region(n, huge);
	struct rusage ru;
	volatile char sink = 0;
	double us;
	size_t i;
	pid_t pid;
	int st;

	for (i = 0; i < n; i++)
		r.q[i * PAGE] = 1;
	if (huge && anon_huge_kb() <= 0) {
		release(&r);
		return -1;
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		for (i = 0; i < n; i++)
			sink += r.q[i * PAGE];
		_exit(sink == 42);
	}
	if (wait4(pid, &st, 0, &ru) == -1) {
		perror("wait4");
		exit(1);
	}
	us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	release(&r);
	return us / (double)n;
}

static void
row(const char *name, double (*f)(size_t, int), size_t n, int arg)
{
	double v[ROUNDS];
	int i;

	for (i = 0; i < ROUNDS; i++)
		if ((v[i] = f(n, arg)) < 0) {
			printf("%-9s n/a\n", name);
			return;
		}
	printf("%-9s %6.2f us/page\n", name, median(v));
}

int
main(int argc, char *argv[])
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : PAGES_DEFAULT;

	if (argc > 2 || n < 1 || n > PAGES_MAX) {
		fprintf(stderr, "usage: firsttouch [PAGES (1-%d)]\n",
		    PAGES_MAX);
		return 2;
	}
	printf("first touch of a 4 KiB page, %ld pages, median of %d:\n",
	    n, ROUNDS);
	row("zero", zero, (size_t)n, 0);
	row("populate", zero, (size_t)n, 1);
	row("child4k", child, (size_t)n, 0);
	row("child2m", child, (size_t)n, 1);
	return 0;
}
