/* job.c — a delivery process and its report.  The child delivers one
 * entry (deliver.h) and writes one line to the pipe its parent reads:
 * the entry's index, "ok", "temp" or "perm", the DSN code, where, and the
 * reason, in the field syntax of the state files (state.h), so that any
 * byte of a reason travels safely.  A process that dies without writing
 * the line has failed temporarily; its parent says so. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "job.h"
#include "self.h"
#include "str.h"

enum {
	RESULT_FIELDS = 5,	/* entry, status, dsn, where, reason */
	REMOTE_FIELDS = 6,	/* status, rcpt, dsn, host, tls, text */
	ARGV_FIXED = 10		/* smtp-out -C DIR -8 -U -H F -f SENDER -- */
};

/* Fork a child with a pipe to its parent: in the parent the child's pid
 * and *rfd, the pipe's read end; in the child 0 and *wfd, the write end,
 * once init(arg) has run and its parent's blocked signals and ignored
 * SIGPIPE are undone, which must not carry over; -1 with errno. */
static pid_t
fork_child(int *rfd, int *wfd, job_child_init *init, void *arg)
{
	sigset_t none;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		fd_close(&p[0]);
		fd_close(&p[1]);
		return -1;
	}
	if (pid == 0) {
		(void)close(p[0]);
		init(arg);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		*wfd = p[1];
		return 0;
	}
	fd_close(&p[1]);
	*rfd = p[0];
	return pid;
}

/* The delivery process: deliver, report one line, exit. */
static void	job_child(const struct conf *, const struct state *, size_t,
		    int) __attribute__((noreturn));

static void
job_child(const struct conf *conf, const struct state *st, size_t i,
    int fd)
{
	const struct state_entry *e = &st->e[i];
	struct deliver_result r;
	struct deliver_msg m;
	struct alias_target t;
	char num[32];
	FILE *f;

	memset(&r, 0, sizeof(r));
	m.conf = conf;
	m.fd = st->fd;
	m.body = st->env.body;
	m.size = st->size;
	m.id = st->env.id;
	m.sender = st->env.sender;
	m.orig = e->orig;
	m.prefix = st->dkim;		/* DKIM-Signature fields, or NULL */
	m.prefixlen = st->dkimlen;
	state_target(e, &t);
	if (e->kind == STATE_PIPE)
		deliver_pipe(&m, &t, &r);
	else
		deliver_mailbox(&m, &t, &r);
	if ((f = fdopen(fd, "w")) == NULL)
		_exit(1);
	(void)str_fmt(num, sizeof(num), "%zu", i);
	state_put_field(f, num, 0);
	state_put_field(f, r.status == DELIVER_OK ? "ok" :
	    r.status == DELIVER_TEMP ? "temp" : "perm", 0);
	state_put_field(f, r.dsn, 0);
	state_put_field(f, r.where, 0);
	state_put_field(f, r.reason, 1);
	_exit(fclose(f) == 0 ? 0 : 1);
}

struct job *
job_free(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (jobs[i].pid == 0)
			return &jobs[i];
	return NULL;
}

int
job_start(struct job *j, const struct conf *conf, struct active *msg,
    const struct state *st, size_t i, const char *dest, time_t now,
    job_child_init *init, void *arg)
{
	int rfd = -1, wfd = -1;
	pid_t pid;

	if ((j->buf = malloc(SCHED_RESULT_MAX)) == NULL)
		return -1;
	j->cap = SCHED_RESULT_MAX;
	if ((pid = fork_child(&rfd, &wfd, init, arg)) == -1) {
		job_release(j);
		return -1;
	}
	if (pid == 0)
		job_child(conf, st, i, wfd);
	j->pid = pid;
	j->fd = rfd;
	j->msg = msg;
	j->remote = 0;
	j->entries[0] = i;
	j->n = 1;
	j->len = 0;
	j->deadline = now + conf->command_timeout + SCHED_JOB_GRACE;
	(void)str_copy(j->dest, sizeof(j->dest), dest);
	return 0;
}

/* The smtp-out process: the message from its first byte on fd 0, the
 * report pipe on fd 1.  A failed exec writes no line: every recipient is
 * then deferred by the parent, with the reason on stderr. */
static void	remote_child(const struct conf *, const struct state *,
		    const size_t *, size_t, const char *, int)
		    __attribute__((noreturn));

static void
remote_child(const struct conf *conf, const struct state *st,
    const size_t *idx, size_t n, const char *sender, int fd)
{
	char path[PATH_MAX], msg[PATH_MAX], dkim[PATH_MAX];
	char *argv[ARGV_FIXED + JOB_RCPTS_MAX + 1];
	size_t k, a = 0;
	int in;

	/* Its own open file: the parent's offset is shared with others. */
	if (str_fmt(msg, sizeof(msg), "%s/%s/%s", conf->spool, QUEUE_NEW,
	    st->env.id) == -1 || (in = open(msg, O_RDONLY | O_CLOEXEC)) == -1 ||
	    lseek(in, st->env.body, SEEK_SET) == -1 || dup2(in, 0) == -1 ||
	    dup2(fd, 1) == -1 || self_sibling(JOB_SMTP_OUT, path,
	    sizeof(path)) == -1)
		_exit(127);
	argv[a++] = path;
	argv[a++] = (char *)"-C";
	argv[a++] = (char *)conf->dir;
	if (st->env.flags & QUEUE_8BITMIME)
		argv[a++] = (char *)"-8";
	if (st->env.flags & QUEUE_SMTPUTF8)
		argv[a++] = (char *)"-U";
	/* The message's DKIM-Signature fields go first (queue-run(8)). */
	if (st->dkim != NULL) {
		if (state_dkim_path(dkim, sizeof(dkim), conf->spool,
		    st->env.id) == -1)
			_exit(127);
		argv[a++] = (char *)"-H";
		argv[a++] = dkim;
	}
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)sender;
	argv[a++] = (char *)"--";
	for (k = 0; k < n; k++)
		argv[a++] = st->e[idx[k]].addr;
	argv[a] = NULL;
	execv(path, argv);
	dprintf(2, "queue-run: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

int
job_start_remote(struct job *j, const struct conf *conf, struct active *msg,
    const struct state *st, const size_t *idx, size_t n, const char *sender,
    const char *dest, time_t now, job_child_init *init, void *arg)
{
	int rfd = -1, wfd = -1;
	pid_t pid;

	if (n == 0 || n > JOB_RCPTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Sized for the recipients: a line lost is a delivery repeated. */
	j->cap = n * JOB_LINE_MAX;
	if ((j->buf = malloc(j->cap)) == NULL)
		return -1;
	if ((pid = fork_child(&rfd, &wfd, init, arg)) == -1) {
		job_release(j);
		return -1;
	}
	if (pid == 0)
		remote_child(conf, st, idx, n, sender, wfd);
	j->pid = pid;
	j->fd = rfd;
	j->msg = msg;
	j->remote = 1;
	memcpy(j->entries, idx, n * sizeof(idx[0]));
	j->n = n;
	j->len = 0;
	j->deadline = now + JOB_REMOTE_TIME;
	(void)str_copy(j->dest, sizeof(j->dest), dest);
	return 0;
}

int
job_read(struct job *j)
{
	ssize_t r;

	r = read(j->fd, j->buf + j->len, j->cap - j->len);
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r > 0) {
		j->len += (size_t)r;
		if (j->len < j->cap)
			return 0;
	}
	return 1;
}

void
job_release(struct job *j)
{
	free(j->buf);
	j->buf = NULL;
	j->cap = 0;
}

void
job_end(struct job *j)
{
	int status;

	fd_close(&j->fd);
	while (waitpid(j->pid, &status, 0) == -1 && errno == EINTR)
		;
}

int
job_parse(struct job *j, struct job_report *rep)
{
	char *f[RESULT_FIELDS], *nl;

	if (j->len == 0 || (nl = memchr(j->buf, '\n', j->len)) == NULL ||
	    (*nl = '\0', state_split(j->buf, f, RESULT_FIELDS)) == -1 ||
	    strtoul(f[0], NULL, 10) != j->entries[0])
		return -1;
	rep->status = strcmp(f[1], "ok") == 0 ? DELIVER_OK :
	    strcmp(f[1], "perm") == 0 ? DELIVER_PERM : DELIVER_TEMP;
	rep->dsn = f[2];
	rep->where = f[3];
	rep->reason = f[4];
	return 0;
}

/* smtp-out's fields hold no tab, CR or LF (smtp-out(8)) and are not
 * escaped: a backslash in a reply or an address is itself, so its lines
 * are split raw, never with the state file's unescaping. */
void
job_parse_remote(struct job *j, const struct state *st,
    struct job_report *reps)
{
	char *line = j->buf, *end = j->buf + j->len, *nl, *f[REMOTE_FIELDS];
	size_t k;

	memset(reps, 0, j->n * sizeof(reps[0]));
	for (k = 0; k < j->n && line < end; k++, line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
		*nl = '\0';
		if (str_split(line, '\t', f, REMOTE_FIELDS) == -1 ||
		    str_casecmp(f[1], st->e[j->entries[k]].addr) != 0)
			break;	/* out of step: the rest are unknown */
		reps[k].valid = 1;
		reps[k].status = strcmp(f[0], "sent") == 0 ? DELIVER_OK :
		    strcmp(f[0], "failed") == 0 ? DELIVER_PERM : DELIVER_TEMP;
		reps[k].dsn = f[2];
		reps[k].where = f[3];
		reps[k].tls = f[4];
		reps[k].reason = f[5];
	}
}
