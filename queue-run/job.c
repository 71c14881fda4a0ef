/* job.c — a delivery under way and its result.  A remote job is smtp-out,
 * started by posix_spawn(3) with the message on its stdin and a pipe on
 * its stdout, on which it writes one line per recipient; a process that
 * dies without a line has failed temporarily for that recipient, and its
 * parent says so.  A local job is a command (deliver.h) that queue-run
 * drives itself; a Maildir is written before job_start_local returns. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "job.h"
#include "log.h"
#include "self.h"
#include "child.h"
#include "str.h"

enum {
	REMOTE_FIELDS = 6,	/* status, rcpt, dsn, host, tls, text */
	/* smtp-out -C DIR -8 -U -H F -R RET -V ENVID -f SENDER -- */
	ARGV_FIXED = 14,
	/* -N K:NOTIFY -O K:ORCPT for each recipient, then itself */
	ARGV_PER_RCPT = 5,
	/* "K:" of -N and -O: a recipient's place, up to JOB_RCPTS_MAX */
	ARG_PLACE_MAX = 8
};

extern char **environ;

struct job *
job_free(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (jobs[i].pid == 0)
			return &jobs[i];
	return NULL;
}

/* The message of entry i of st, as deliver.h takes it. */
static void
msg_of(struct deliver_msg *m, const struct conf *conf,
    const struct state *st, size_t i)
{
	m->conf = conf;
	m->fd = st->fd;
	m->body = st->env.body;
	m->size = st->size;
	m->id = st->env.id;
	m->sender = st->env.sender;
	m->orig = st->e[i].orig;
	m->prefix = st->dkim;		/* DKIM-Signature fields, or NULL */
	m->prefixlen = st->dkimlen;
}

int
job_start_local(struct job *j, const struct conf *conf, struct active *msg,
    const struct state *st, size_t i, const char *dest,
    struct deliver_result *res)
{
	struct deliver_job *dj;
	struct deliver_msg m;
	struct alias_target t;

	/* The strings m points to (the envelope, the entry's, the DKIM
	 * fields) live as long as the message is active, which is as long
	 * as it has a job. */
	if ((dj = malloc(sizeof(*dj))) == NULL)
		return -1;
	msg_of(&m, conf, st, i);
	state_target(&st->e[i], &t);
	if (deliver_start(dj, &m, &t) == 1) {
		*res = dj->r;
		free(dj);
		return 1;
	}
	j->pid = deliver_pid(dj);
	j->fd = -1;
	j->msg = msg;
	j->remote = 0;
	j->local = dj;
	j->done = 0;
	j->entries[0] = i;
	j->n = 1;
	j->len = 0;
	j->deadline = 0;	/* the command's own, in deliver.h */
	(void)str_copy(j->dest, sizeof(j->dest), dest);
	return 0;
}

/* The smtp-out process: the message from its first byte on fd 0, the
 * report pipe on fd 1, every signal at its default and none blocked
 * (queue-run blocks its own into a signalfd and ignores SIGPIPE). */
static int
remote_spawn(pid_t *pid, const struct conf *conf, const struct state *st,
    const size_t *idx, size_t n, const char *sender, int out)
{
	/* RFC 3461's parameters of each recipient, as smtp-out takes
	 * them; static, since queue-run starts one process at a time. */
	static char nopt[JOB_RCPTS_MAX][ARG_PLACE_MAX + DSN_NOTIFY_TEXT_MAX];
	static char oopt[JOB_RCPTS_MAX][ARG_PLACE_MAX + DSN_ORCPT_MAX + 1];
	char path[PATH_MAX], msg[PATH_MAX], dkim[PATH_MAX];
	char *argv[ARGV_FIXED + ARGV_PER_RCPT * JOB_RCPTS_MAX + 1];
	char notify[DSN_NOTIFY_TEXT_MAX];
	size_t k, a = 0;
	long r;
	int fds[2], in = -1, e, rc = -1;

	if (self_sibling(JOB_SMTP_OUT, path, sizeof(path)) == -1)
		return -1;
	if (str_fmt(msg, sizeof(msg), "%s/%s/%s", conf->spool, QUEUE_NEW,
	    st->env.id) == -1 ||
	    (st->dkim != NULL && state_dkim_path(dkim, sizeof(dkim),
	    conf->spool, st->env.id) == -1)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	argv[a++] = path;
	argv[a++] = (char *)"-C";
	argv[a++] = (char *)conf->dir;
	if (st->env.flags & QUEUE_8BITMIME)
		argv[a++] = (char *)"-8";
	if (st->env.flags & QUEUE_SMTPUTF8)
		argv[a++] = (char *)"-U";
	/* The message's DKIM-Signature fields go first (queue-run(8)). */
	if (st->dkim != NULL) {
		argv[a++] = (char *)"-H";
		argv[a++] = dkim;
	}
	/* The DSN parameters go on where the next hop offers DSN. */
	if (st->env.ret != DSN_RET_NONE) {
		argv[a++] = (char *)"-R";
		argv[a++] = (char *)dsn_ret_name(st->env.ret);
	}
	if (st->env.envid[0] != '\0') {
		argv[a++] = (char *)"-V";
		argv[a++] = (char *)st->env.envid;
	}
	for (k = 0; k < n; k++) {
		if ((r = state_rcpt_index(st, &st->e[idx[k]])) == -1)
			continue;
		if (st->env.notify[r] != 0) {
			dsn_notify_format(st->env.notify[r], notify,
			    sizeof(notify));
			if (str_fmt(nopt[k], sizeof(nopt[k]), "%zu:%s", k + 1,
			    notify) == -1) {
				errno = EOVERFLOW;
				return -1;
			}
			argv[a++] = (char *)"-N";
			argv[a++] = nopt[k];
		}
		if (st->env.orcpt[r] != NULL) {
			if (str_fmt(oopt[k], sizeof(oopt[k]), "%zu:%s", k + 1,
			    st->env.orcpt[r]) == -1)
				continue;	/* longer than smtp-in takes */
			argv[a++] = (char *)"-O";
			argv[a++] = oopt[k];
		}
	}
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)sender;
	argv[a++] = (char *)"--";
	for (k = 0; k < n; k++)
		argv[a++] = st->e[idx[k]].addr;
	argv[a] = NULL;
	/* Its own open file at the first message byte: st->fd's offset
	 * would be shared with the others.  main() keeps 0..2 open, so
	 * in and out are above them. */
	if ((in = open(msg, O_RDONLY | O_CLOEXEC)) == -1 ||
	    lseek(in, st->env.body, SEEK_SET) == -1)
		goto out;
	fds[0] = in;
	fds[1] = out;
	e = child_start(pid, path, argv, environ, fds, 2, 0);
	if (e != 0) {
		/* Said once here: every recipient is deferred for it. */
		log_event("error", "id", st->env.id, "error", "exec",
		    "file", path, "reason", strerror(e), (char *)NULL);
		errno = e;
		goto out;
	}
	rc = 0;
out:
	fd_close(&in);
	return rc;
}

int
job_start_remote(struct job *j, const struct conf *conf, struct active *msg,
    const struct state *st, const size_t *idx, size_t n, const char *sender,
    const char *dest, time_t now)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (n == 0 || n > JOB_RCPTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Sized for the recipients: a line lost is a delivery repeated. */
	j->cap = n * JOB_LINE_MAX;
	if ((j->buf = malloc(j->cap)) == NULL)
		return -1;
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    remote_spawn(&pid, conf, st, idx, n, sender, p[1]) == -1) {
		fd_close(&p[0]);
		fd_close(&p[1]);
		job_release(j);
		return -1;
	}
	fd_close(&p[1]);
	j->pid = pid;
	j->fd = p[0];
	j->msg = msg;
	j->remote = 1;
	j->local = NULL;
	j->done = 0;
	memcpy(j->entries, idx, n * sizeof(idx[0]));
	j->n = n;
	j->len = 0;
	j->deadline = now + JOB_REMOTE_TIME;
	(void)str_copy(j->dest, sizeof(j->dest), dest);
	return 0;
}

/* What the report pipe holds: 0 while more may come, 1 once it is at
 * its end (or the buffer full). */
static int
remote_read(struct job *j)
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

size_t
job_pollset(struct job *j, struct pollfd *pfd, int64_t *due)
{
	int64_t d;
	size_t n;

	if (j->remote) {
		pfd[0].fd = j->fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		return 1;
	}
	/* Its deadline counts even when it has no descriptor left to
	 * watch (no pidfd, its pipes closed): then only the time wakes
	 * the loop to look for its exit. */
	d = INT64_MAX;
	n = deliver_pollset(j->local, pfd, &d);
	if (d < *due)
		*due = d;
	return n;
}

int
job_step(struct job *j, const struct pollfd *pfd)
{
	if (j->remote)
		return pfd[0].revents != 0 ? remote_read(j) : 0;
	if (deliver_step(j->local, pfd) == 0)
		return 0;
	j->done = 1;
	return 1;
}

void
job_kill(struct job *j)
{
	if (j->remote)
		(void)kill(j->pid, SIGKILL);
	else
		deliver_abort(j->local);	/* killed and reaped */
}

void
job_release(struct job *j)
{
	free(j->buf);
	j->buf = NULL;
	j->cap = 0;
	if (j->local != NULL)
		deliver_abort(j->local);
	free(j->local);
	j->local = NULL;
}

void
job_end(struct job *j)
{
	int status;

	if (!j->remote) {
		deliver_abort(j->local);	/* reaped already, unless killed */
		return;
	}
	fd_close(&j->fd);
	while (waitpid(j->pid, &status, 0) == -1 && errno == EINTR)
		;
}

int
job_parse(struct job *j, struct job_report *rep)
{
	const struct deliver_result *r;

	if (j->remote || j->local == NULL || !j->done)
		return -1;
	r = &j->local->r;
	rep->valid = 1;
	rep->status = r->status;
	rep->dsn = r->dsn;
	rep->where = r->where;
	rep->reason = r->reason;
	rep->tls = NULL;
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
