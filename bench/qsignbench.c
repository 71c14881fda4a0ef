/* qsignbench.c — signing in queue-run's path, two ways, for
 * bench/qsign.sh: a message is queued in a spool, then signed N times
 * as queue-run signs it now (dkim_run: the kept keys of keycache.h,
 * dkimsign's filter_fields in this process, the fields written to
 * state/ID.dkim), and N times as it did before (posix_spawn of
 * "dkimsign -C DIR -h -d DOMAIN" on the queue file, its output read
 * through a pipe, the same file written).  Prints, per way, messages
 * per second and CPU per message (this process and its children,
 * getrusage(2)):
 *   in-process 812.3 msgs/s 1.201 ms/msg
 *   exec       95.1 msgs/s 10.510 ms/msg
 * and, with -a, N ARC seals of the same message as queue-run seals a
 * forwarded copy of mail from outside (seal_make with the domain's key,
 * the set written to state/ID.arc: the i=1 case, with no chain to
 * validate), then N seals of a copy that already carries one (i=2: the
 * newest AMS and the seal checked first, keys from memory, no DNS):
 *   arc-seal   700.0 msgs/s 1.400 ms/msg
 *   arc-seal2  600.0 msgs/s 1.600 ms/msg
 * Built by "make bench", never installed. */

#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "child.h"
#include "conf.h"
#include "dkim.h"
#include "fileread.h"
#include "io.h"
#include "arc.h"
#include "keycache.h"
#include "seal.h"
#include "queue.h"
#include "state.h"
#include "str.h"

enum {
	COUNT_MAX = 10000000,
	MSG_MAX = 64 * 1024 * 1024	/* a benchmark's message, held */
};

static double
now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process and its reaped children so far. */
static double
cpu(void)
{
	struct rusage s, c;

	if (getrusage(RUSAGE_SELF, &s) == -1 ||
	    getrusage(RUSAGE_CHILDREN, &c) == -1)
		return 0;
	return (double)(s.ru_utime.tv_sec + s.ru_stime.tv_sec +
	    c.ru_utime.tv_sec + c.ru_stime.tv_sec) +
	    (double)(s.ru_utime.tv_usec + s.ru_stime.tv_usec +
	    c.ru_utime.tv_usec + c.ru_stime.tv_usec) / 1e6;
}

static void
usage(void)
{
	fprintf(stderr, "usage: qsignbench [-a] -C dir -d domain -x dkimsign "
	    "[-n count] message\n");
	exit(64);
}

/* The old way, once: dkimsign -h on the queue file, its fields kept. */
static int
exec_once(const struct conf *c, const struct state *st, const char *prog,
    const char *domain, char *buf)
{
	char msg[PATH_MAX], path[PATH_MAX];
	char *argv[] = { (char *)prog, (char *)"-C", (char *)c->dir,
	    (char *)"-h", (char *)"-d", (char *)domain, NULL };
	int p[2] = { -1, -1 }, in = -1, fds[3], status, rc = -1;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (str_fmt(msg, sizeof(msg), "%s/%s/%s", c->spool, QUEUE_NEW,
	    st->env.id) == -1 || (in = open(msg, O_RDONLY | O_CLOEXEC)) ==
	    -1 || lseek(in, st->env.body, SEEK_SET) == -1 ||
	    pipe2(p, O_CLOEXEC) == -1 || fd_move_above(&in, 3) == -1 ||
	    fd_move_above(&p[1], 3) == -1)
		goto out;
	fds[0] = in;
	fds[1] = p[1];
	fds[2] = -1;
	if ((errno = child_start(&pid, prog, argv, environ, fds, 3, 0)) != 0)
		goto out;
	fd_close(&p[1]);
	while (len < STATE_DKIM_MAX && (n = read(p[0], buf + len,
	    STATE_DKIM_MAX - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    !state_dkim_valid(buf, len) || state_dkim_path(path,
	    sizeof(path), c->spool, st->env.id) == -1 ||
	    atomic_write(path, buf, len, 0640) == -1)
		goto out;
	rc = 0;
out:
	fd_close(&in);
	fd_close(&p[0]);
	fd_close(&p[1]);
	return rc;
}

/* The key record of the seal's own key, whatever the name: the chain
 * of the i=2 round was made with it. */
static enum dns_result
own_key(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	(void)name;
	(void)why;
	(void)whysize;
	*n = 0;
	if (max == 0)
		return DNS_NXDOMAIN;
	memset(&out[0], 0, sizeof(out[0]));
	if (keys_record_value(arg, out[0].text, sizeof(out[0].text)) == -1)
		return DNS_TEMP;
	*n = 1;
	return DNS_OK;
}

/* count ARC seals of the message in path, as seal_prepare makes them;
 * label names the row. */
static int
seal_rounds(const struct conf *c, const char *path, off_t body,
    const char *arcpath, const char *domain, const struct keys_key *k,
    long count, const char *label, char *out, size_t *len)
{
	char err[1024];
	double t0, c0, t, cp;
	long i;
	int fd;

	t0 = now();
	c0 = cpu();
	for (i = 0; i < count; i++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    lseek(fd, body, SEEK_SET) == -1 ||
		    seal_make(c, fd, domain, k, NULL, own_key, (void *)k, out,
		    STATE_ARC_MAX, len, err, sizeof(err)) != 0 ||
		    atomic_write(arcpath, out, *len, 0640) == -1) {
			fprintf(stderr, "qsignbench: sealing: %s\n", err);
			return -1;
		}
		close(fd);
	}
	t = now() - t0;
	cp = cpu() - c0;
	printf("%-10s %.1f msgs/s %.3f ms/msg\n", label, (double)count / t,
	    cp * 1000 / (double)count);
	return 0;
}

/* count ARC seals of st's message (i=1), then of the same message with
 * that set in front (i=2). */
static int
seal_bench(const struct conf *c, const struct state *st, const char *domain,
    long count)
{
	const struct keys_key *keys, *k;
	char path[PATH_MAX], path2[PATH_MAX], arcpath[PATH_MAX], err[1024];
	char *out = NULL, *msg = NULL;
	size_t n, len, mlen;
	int fd = -1, rc = -1;

	if (keycache_get(c, domain, &keys, &n, err, sizeof(err)) == -1 ||
	    (k = arc_pick_key(keys, n)) == NULL) {
		fprintf(stderr, "qsignbench: no key for %s\n", domain);
		return -1;
	}
	if ((out = malloc(STATE_ARC_MAX)) == NULL ||
	    str_fmt(path, sizeof(path), "%s/%s/%s", c->spool, QUEUE_NEW,
	    st->env.id) == -1 || str_fmt(path2, sizeof(path2), "%s/arc2.eml",
	    c->spool) == -1 || state_arc_path(arcpath, sizeof(arcpath),
	    c->spool, st->env.id) == -1)
		goto out;
	if (seal_rounds(c, path, st->env.body, arcpath, domain, k, count,
	    "arc-seal", out, &len) == -1)
		goto out;
	/* The message as the next hop gets it: the set, then the message. */
	if (fileread_all(path, MSG_MAX, &msg, &mlen) == -1 ||
	    (fd = open(path2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || fd_write_all(fd, out, len) == -1 ||
	    fd_write_all(fd, msg + st->env.body, mlen - (size_t)st->env.body)
	    == -1) {
		fprintf(stderr, "qsignbench: %s: %s\n", path2,
		    strerror(errno));
		goto out;
	}
	fd_close(&fd);
	if (seal_rounds(c, path2, 0, arcpath, domain, k, count, "arc-seal2",
	    out, &len) == -1)
		goto out;
	if (strncmp(out, "ARC-Seal: i=2; cv=pass;", 23) != 0) {
		fprintf(stderr, "qsignbench: the second set is not i=2 "
		    "cv=pass\n");
		goto out;
	}
	rc = 0;
out:
	fd_close(&fd);
	free(out);
	free(msg);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *confdir = NULL, *domain = NULL, *prog = NULL;
	const char *rcpts[] = { "bob@remote.example" };
	struct queue_env env = { "alice@example.com", rcpts, 1, 0, "local",
	    NULL, NULL, -1, NULL, DSN_RET_NONE, NULL, NULL, NULL,
	    NULL, 0 };
	struct queue_msg *m = NULL;
	struct conf conf;
	struct state st;
	char err[1024], *msg = NULL, *buf = NULL, *end;
	size_t len;
	long count = 1000, i;
	double t0, c0, t, cp;
	int c, arc = 0;

	while ((c = getopt(argc, argv, "aC:d:n:x:")) != -1) {
		switch (c) {
		case 'a':
			arc = 1;
			break;
		case 'C':
			confdir = optarg;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || count < 1 ||
			    count > COUNT_MAX)
				usage();
			break;
		case 'x':
			prog = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || confdir == NULL || domain == NULL ||
	    prog == NULL)
		usage();
	if (conf_load(&conf, confdir, err, sizeof(err)) == -1) {
		fprintf(stderr, "qsignbench: %s\n", err);
		return 1;
	}
	if (fileread_all(argv[optind], MSG_MAX, &msg, &len) == -1 ||
	    (m = malloc(sizeof(*m))) == NULL ||
	    (buf = malloc(STATE_DKIM_MAX)) == NULL ||
	    queue_create(m, conf.spool) == -1 || queue_put_env(m, &env) == -1 ||
	    queue_put(m, msg, len) == -1 || queue_commit(m) == -1 ||
	    state_load(&st, conf.spool, m->id) == -1) {
		fprintf(stderr, "qsignbench: queueing %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	}

	t0 = now();
	c0 = cpu();
	for (i = 0; i < count; i++)
		if (dkim_run(&conf, &st, domain, err, sizeof(err)) == -1) {
			fprintf(stderr, "qsignbench: %s\n", err);
			return 1;
		}
	t = now() - t0;
	cp = cpu() - c0;
	printf("in-process %.1f msgs/s %.3f ms/msg\n", (double)count / t,
	    cp * 1000 / (double)count);

	t0 = now();
	c0 = cpu();
	for (i = 0; i < count; i++)
		if (exec_once(&conf, &st, prog, domain, buf) == -1) {
			fprintf(stderr, "qsignbench: %s failed\n", prog);
			return 1;
		}
	t = now() - t0;
	cp = cpu() - c0;
	printf("exec       %.1f msgs/s %.3f ms/msg\n", (double)count / t,
	    cp * 1000 / (double)count);
	if (arc && seal_bench(&conf, &st, domain, count) == -1)
		return 1;
	state_free(&st);
	free(m);
	free(msg);
	free(buf);
	return 0;
}
