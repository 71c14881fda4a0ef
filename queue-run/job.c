/* job.c — a delivery under way and its result.  A remote job goes to a
 * long-lived smtp-out -J, started by posix_spawn(3) with a pipe on its
 * stdin for the jobs (sjob.h) and one on its stdout, on which it writes
 * one line per recipient of each job; between jobs it waits, idle, with
 * its connection kept for the next job to the same destination, until
 * queue-run closes its stdin.  A process that dies without a line has
 * failed temporarily for that recipient, and its parent says so.  A local job is a command (local.h) that queue-run
 * drives itself; a Maildir is written before job_start_local returns. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "queue.h"
#include "job.h"
#include "local.h"
#include "seal.h"
#include "sjob.h"
#include "log.h"
#include "self.h"
#include "child.h"
#include "dsn.h"
#include "str.h"

enum {
	REMOTE_FIELDS = 6,	/* status, rcpt, dsn, host, tls, text */
	/* -8 -U -A AR -H F -L L -m F -s N -R RET -V ENVID -f SENDER -- */
	JOB_ARGS_FIXED = 20,
	/* -N K:NOTIFY -O K:ORCPT for each recipient, then itself */
	JOB_ARGS_PER_RCPT = 5,
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

/* The message of entry i of st, as local.h takes it. */
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
	m->authres = st->env.authres;
}

int
job_start_local(struct job *j, const struct conf *conf, struct active *msg,
    const struct state *st, size_t i, const char *dest,
    struct deliver_result *res)
{
	struct local_job *dj;
	struct deliver_msg m;
	struct alias_target t;

	/* The strings m points to (the envelope, the entry's, the DKIM
	 * fields) live as long as the message is active, which is as long
	 * as it has a job. */
	if ((dj = malloc(sizeof(*dj))) == NULL)
		return -1;
	msg_of(&m, conf, st, i);
	state_target(&st->e[i], &t);
	if (local_start(dj, &m, &t) == 1) {
		*res = dj->r;
		free(dj);
		return 1;
	}
	j->pid = local_pid(dj);
	j->fd = -1;
	j->msg = msg;
	j->remote = 0;
	j->local = dj;
	j->done = 0;
	j->entries[0] = i;
	j->n = 1;
	j->len = 0;
	j->deadline = 0;	/* the command's own, in command.h */
	j->lmtp[0] = '\0';
	(void)str_copy(j->dest, sizeof(j->dest), dest);
	return 0;
}

/* smtp-out faces the network and needs none of the groups queue-run
 * holds for the secrets (posthorn-dkim, posthorn-srs, posthorn-auth) nor
 * posthorn-run or mail: it is started through queue-runas -G, set-uid
 * root, which clears them but the queue's (it opens the queued message
 * by its path, and one that sendmail wrote is its user's, group
 * posthorn-drop) and execs it, as queue-run's uid.  One exec more per
 * smtp-out process, which lives for many jobs under -J.  Without a
 * queue-runas that is root's, set-uid and ours to run (an unprivileged
 * build, the tests), smtp-out is started as before, and that is said
 * once.  Decided at the first start. */
enum out_start {
	OUT_UNDECIDED,
	OUT_DIRECT,		/* posix_spawn of smtp-out itself */
	OUT_RUNAS		/* through queue-runas -G out_keep */
};

enum {
	OUT_GROUPS_MAX = 256,	/* queue-run's supplementary groups */
	OUT_KEEP_MAX = 24	/* a gid in decimal */
};

#define JOB_RUNAS	"queue-runas"	/* beside queue-run */

static enum out_start out_start;
static char out_runas[PATH_MAX];
static char out_keep[OUT_KEEP_MAX];

static void
out_decide(const struct conf *conf)
{
	gid_t g[OUT_GROUPS_MAX];
	char dir[PATH_MAX];
	struct stat st;
	gid_t queue = (gid_t)-1;
	size_t len = 0;
	int n, i, drop = 0;

	out_start = OUT_DIRECT;
	if ((n = getgroups(OUT_GROUPS_MAX, g)) <= 0)
		return;		/* none to drop (or none known) */
	if (str_fmt(dir, sizeof(dir), "%s/%s", conf->spool, QUEUE_NEW) ==
	    0 && stat(dir, &st) == 0)
		queue = st.st_gid;
	/* Kept: the queue's group alone (our own stays our gid). */
	out_keep[0] = '\0';
	for (i = 0; i < n; i++) {
		if (g[i] != queue) {
			drop = 1;
			continue;
		}
		if (str_fmt(out_keep + len, sizeof(out_keep) - len, "%s%lu",
		    len > 0 ? "," : "", (unsigned long)g[i]) == -1)
			return;
		len = strlen(out_keep);
	}
	if (!drop)
		return;
	if (self_sibling(JOB_RUNAS, out_runas, sizeof(out_runas)) == -1 ||
	    stat(out_runas, &st) == -1 || st.st_uid != 0 ||
	    (st.st_mode & S_ISUID) == 0 || access(out_runas, X_OK) == -1) {
		log_event("warning", "op", "smtp-out-groups", "file",
		    out_runas, "reason", "queue-runas is not set-uid root or "
		    "not ours to run: smtp-out keeps queue-run's groups",
		    (char *)NULL);
		return;
	}
	out_start = OUT_RUNAS;
}

/* A new smtp-out -J in proc: its jobs' pipe on its fd 0, its lines'
 * on fd 1, every signal at its default and none blocked (queue-run
 * blocks its own into a signalfd and ignores SIGPIPE). */
static int
proc_spawn(struct outproc *p, const struct conf *conf, unsigned gen,
    const char *dest)
{
	char path[PATH_MAX];
	char *argv[] = { path, (char *)"-C", (char *)conf->dir,
	    (char *)"-J", NULL };
	char *rargv[] = { out_runas, (char *)"-G", out_keep, (char *)"--",
	    path, path, (char *)"-C", (char *)conf->dir, (char *)"-J", NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, fds[2], e;
	pid_t pid;

	if (self_sibling(JOB_SMTP_OUT, path, sizeof(path)) == -1)
		return -1;
	if (out_start == OUT_UNDECIDED)
		out_decide(conf);
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		goto fail;
	/* Ours non-blocking: a job is written as the pipe takes it. */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(out[0], F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	fds[0] = in[0];
	fds[1] = out[1];
	if ((e = out_start == OUT_RUNAS ?
	    child_start(&pid, out_runas, rargv, environ, fds, 2, 0) :
	    child_start(&pid, path, argv, environ, fds, 2, 0)) != 0) {
		/* Said once here: every recipient is deferred for it. */
		log_event("error", "error", "exec", "file", out_start ==
		    OUT_RUNAS ? out_runas : path, "reason",
		    strerror(e), (char *)NULL);
		errno = e;
		goto fail;
	}
	fd_close(&in[0]);
	fd_close(&out[1]);
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->in = in[1];
	p->out = out[0];
	p->gen = gen;
	(void)str_copy(p->dest, sizeof(p->dest), dest);
	return 0;
fail:
	e = errno;
	fd_close(&in[0]);
	fd_close(&in[1]);
	fd_close(&out[0]);
	fd_close(&out[1]);
	errno = e;
	return -1;
}

/* The job as smtp-out -J reads it (sjob.h, smtp-out(8)): the options
 * smtp-out takes on its command line, the message named by its path
 * and the offset of its first byte. */
static int
job_bytes(struct outproc *p, const struct conf *conf, const struct state *st,
    const size_t *idx, size_t n, const char *sender, const char *lmtp)
{
	/* RFC 3461's parameters of each recipient, as smtp-out takes
	 * them; static, since one job is made at a time. */
	static char nopt[JOB_RCPTS_MAX][ARG_PLACE_MAX + DSN_NOTIFY_TEXT_MAX];
	static char oopt[JOB_RCPTS_MAX][ARG_PLACE_MAX + DSN_ORCPT_MAX + 1];
	char msg[PATH_MAX], dkim[PATH_MAX], off[32];
	char notify[DSN_NOTIFY_TEXT_MAX];
	char *argv[JOB_ARGS_FIXED + JOB_ARGS_PER_RCPT * JOB_RCPTS_MAX];
	size_t k, cap, a = 0;
	long r;

	if (str_fmt(msg, sizeof(msg), "%s/%s/%s", conf->spool, QUEUE_NEW,
	    st->env.id) == -1 ||
	    (st->dkim != NULL && state_dkim_path(dkim, sizeof(dkim),
	    conf->spool, st->env.id) == -1) ||
	    (st->dkim == NULL && st->arc != NULL && state_arc_path(dkim,
	    sizeof(dkim), conf->spool, st->env.id) == -1) ||
	    str_fmt(off, sizeof(off), "%lld", (long long)st->env.body) ==
	    -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	cap = 2 * sizeof(msg) + sizeof(off) + strlen(sender) +
	    strlen(st->env.envid) + strlen(st->env.authres) +
	    (lmtp != NULL ? strlen(lmtp) : 0) + 64;
	for (k = 0; k < n; k++)
		cap += strlen(st->e[idx[k]].addr) + sizeof(nopt[k]) +
		    sizeof(oopt[k]) + 16;
	if ((p->wbuf = malloc(cap)) == NULL)
		return -1;
	p->wlen = p->woff = 0;
	if (st->env.flags & QUEUE_8BITMIME)
		argv[a++] = (char *)"-8";
	if (st->env.flags & QUEUE_SMTPUTF8)
		argv[a++] = (char *)"-U";
	/* The message's Authentication-Results (smtp-in's checks), which
	 * smtp-out puts above everything else. */
	if (st->env.authres[0] != '\0') {
		argv[a++] = (char *)"-A";
		argv[a++] = (char *)st->env.authres;
	}
	/* The message's DKIM-Signature fields go first (queue-run(8)),
	 * or, for a forwarded copy of mail from outside, its ARC set
	 * (seal.h): never both, since only our own mail is signed. */
	if (st->dkim != NULL) {
		argv[a++] = (char *)"-H";
		argv[a++] = dkim;
	} else if (st->arc != NULL && n > 0 &&
	    seal_forwarded(conf, st, &st->e[idx[0]])) {
		argv[a++] = (char *)"-H";
		argv[a++] = dkim;
	}
	/* A local domain's mailboxes, to its LMTP server. */
	if (lmtp != NULL) {
		argv[a++] = (char *)"-L";
		argv[a++] = (char *)lmtp;
	}
	argv[a++] = (char *)"-m";
	argv[a++] = msg;
	argv[a++] = (char *)"-s";
	argv[a++] = off;
	/* The DSN parameters, which smtp-out passes on where the next hop
	 * offers DSN. */
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
			    notify) == -1)
				continue;	/* cannot be: sized for it */
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
	if (sjob_encode(p->wbuf, cap, &p->wlen, argv, a) == -1) {
		free(p->wbuf);
		p->wbuf = NULL;
		return -1;
	}
	return 0;
}

/* What of the job the pipe takes now: -1 when the process is gone. */
static int
proc_write(struct outproc *p)
{
	ssize_t w;

	while (p->woff < p->wlen) {
		w = write(p->in, p->wbuf + p->woff, p->wlen - p->woff);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		p->woff += (size_t)w;
	}
	free(p->wbuf);
	p->wbuf = NULL;
	p->wlen = p->woff = 0;
	return 0;
}

void
job_proc_retire(struct outproc *p)
{
	if (p->pid == 0 || p->closing || p->job != NULL)
		return;
	fd_close(&p->in);
	p->closing = 1;
}

/* The process is over (its output ended, or it was killed): reaped. */
static void
proc_reap(struct outproc *p)
{
	int status;

	fd_close(&p->in);
	fd_close(&p->out);
	free(p->wbuf);
	p->wbuf = NULL;
	while (waitpid(p->pid, &status, 0) == -1 && errno == EINTR)
		;
	p->pid = 0;
}

void
job_proc_abandon(struct outproc *p)
{
	if (p->pid == 0)
		return;
	fd_close(&p->in);
	fd_close(&p->out);
	free(p->wbuf);
	p->wbuf = NULL;
	p->pid = 0;
}

/* The process for a job to dest: an idle one of dest, else a free entry
 * with a new one.  With every entry taken, the idle process of another
 * destination that waited longest is retired, and EAGAIN says to come
 * back when it is gone. */
static struct outproc *
proc_for(struct outproc *procs, size_t np, const struct conf *conf,
    unsigned gen, const char *dest)
{
	struct outproc *p, *idle = NULL, *oldest = NULL;
	size_t i, live = 0;

	for (i = 0; i < np; i++) {
		p = &procs[i];
		if (p->pid == 0)
			continue;
		if (p->job == NULL && !p->closing && !p->dead) {
			if (p->gen == gen && str_casecmp(p->dest, dest) == 0 &&
			    p->jobs < conf->smtp_reuse_limit)
				idle = idle == NULL || p->idle_since >
				    idle->idle_since ? p : idle;
			else if (oldest == NULL ||
			    p->idle_since < oldest->idle_since)
				oldest = p;
		}
		if (!p->closing)
			live++;
	}
	if (idle != NULL)
		return idle;
	/* No more processes than slots (np / 2, the other half for those
	 * closing): the oldest idle one makes room. */
	if (live >= np / 2) {
		if (oldest == NULL) {
			errno = EAGAIN;
			return NULL;
		}
		job_proc_retire(oldest);
	}
	for (i = 0; i < np; i++)
		if (procs[i].pid == 0) {
			if (proc_spawn(&procs[i], conf, gen, dest) == -1)
				return NULL;
			return &procs[i];
		}
	errno = EAGAIN;
	return NULL;
}

int
job_start_remote(struct job *j, struct outproc *procs, size_t np,
    const struct conf *conf, unsigned gen, struct active *msg,
    const struct state *st, const size_t *idx, size_t n, const char *sender,
    const char *lmtp, const char *dest, time_t now)
{
	struct outproc *p;

	if (n == 0 || n > JOB_RCPTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Sized for the recipients: a line lost is a delivery repeated. */
	j->cap = n * JOB_LINE_MAX;
	if ((j->buf = malloc(j->cap)) == NULL)
		return -1;
	if ((p = proc_for(procs, np, conf, gen, dest)) == NULL ||
	    job_bytes(p, conf, st, idx, n, sender, lmtp) == -1) {
		/* A process just made stays, idle, for the next job. */
		if (p != NULL && p->job == NULL)
			p->idle_since = clock_ms();
		job_release(j);
		return -1;
	}
	if (proc_write(p) == -1) {
		/* Gone while idle: the next job has a new one. */
		log_event("error", "error", "smtp-out gone", "reason",
		    strerror(errno), (char *)NULL);
		(void)kill(p->pid, SIGKILL);
		proc_reap(p);
		job_release(j);
		errno = EAGAIN;
		return -1;
	}
	p->job = j;
	p->jobs++;
	j->pid = p->pid;
	j->fd = -1;
	j->proc = p;
	j->msg = msg;
	j->remote = 1;
	j->local = NULL;
	j->done = 0;
	memcpy(j->entries, idx, n * sizeof(idx[0]));
	j->n = n;
	j->len = 0;
	j->deadline = now + JOB_REMOTE_TIME;
	(void)str_copy(j->dest, sizeof(j->dest), dest);
	(void)str_copy(j->lmtp, sizeof(j->lmtp), lmtp != NULL ? lmtp : "");
	return 0;
}

/* The lines of the job on the process's output: 1 once the job is
 * over: a line for every recipient, or the output at its end (the
 * process gone) or more than the buffer holds. */
static int
remote_read(struct outproc *p)
{
	struct job *j = p->job;
	char tmp[512];
	ssize_t r;
	size_t k, lines;

	if (j == NULL) {
		/* Nothing is due from an idle process: its end, or a
		 * process out of step, which is done with. */
		r = read(p->out, tmp, sizeof(tmp));
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			return 0;
		if (r > 0)
			(void)kill(p->pid, SIGKILL);
		p->dead = 1;
		return 0;
	}
	r = read(p->out, j->buf + j->len, j->cap - j->len);
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0) {
		p->dead = 1;
		return 1;
	}
	j->len += (size_t)r;
	for (k = 0, lines = 0; k < j->len; k++)
		lines += j->buf[k] == '\n';
	if (lines >= j->n)
		return 1;
	if (j->len == j->cap) {
		/* Lines longer than smtp-out writes: out of step. */
		(void)kill(p->pid, SIGKILL);
		p->dead = 1;
		return 1;
	}
	return 0;
}

size_t
job_proc_pollset(struct outproc *p, struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n].fd = p->out;
	pfd[n].events = POLLIN;
	pfd[n++].revents = 0;
	if (p->wbuf != NULL && p->in != -1) {
		pfd[n].fd = p->in;
		pfd[n].events = POLLOUT;
		pfd[n++].revents = 0;
	}
	return n;
}

int
job_proc_step(struct outproc *p, const struct pollfd *pfd, size_t n)
{
	int over = 0;

	if (n > 1 && pfd[1].revents != 0 && proc_write(p) == -1) {
		/* It stopped reading: its end shows on its output. */
		(void)kill(p->pid, SIGKILL);
	}
	if (pfd[0].revents != 0)
		over = remote_read(p);
	if (p->dead && p->job == NULL)
		proc_reap(p);
	return over;
}

size_t
job_pollset(struct job *j, struct pollfd *pfd, int64_t *due)
{
	int64_t d;
	size_t n;

	if (j->remote)
		return 0;	/* its process's, job_proc_pollset */
	/* Its deadline counts even when it has no descriptor left to
	 * watch (no pidfd, its pipes closed): then only the time wakes
	 * the loop to look for its exit. */
	d = INT64_MAX;
	n = local_pollset(j->local, pfd, &d);
	if (d < *due)
		*due = d;
	return n;
}

int
job_step(struct job *j, const struct pollfd *pfd)
{
	if (j->remote)
		return 0;	/* job_proc_step says */
	if (local_step(j->local, pfd) == 0)
		return 0;
	j->done = 1;
	return 1;
}

void
job_kill(struct job *j)
{
	if (j->remote)
		(void)kill(j->proc->pid, SIGKILL);
	else
		local_abort(j->local);	/* killed and reaped */
}

void
job_release(struct job *j)
{
	free(j->buf);
	j->buf = NULL;
	j->cap = 0;
	if (j->local != NULL)
		local_abort(j->local);
	free(j->local);
	j->local = NULL;
}

void
job_end(struct job *j)
{
	struct outproc *p = j->proc;

	if (!j->remote) {
		local_abort(j->local);	/* reaped already, unless killed */
		return;
	}
	p->job = NULL;
	j->proc = NULL;
	if (p->dead)
		proc_reap(p);
	else
		p->idle_since = clock_ms();
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
