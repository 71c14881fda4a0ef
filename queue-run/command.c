/* command.c — delivery to a command: the "| command" of a pipe alias,
 * run by /bin/sh, or the domain's MDA (DIR/domains/DOMAIN/mda), run
 * without a shell.  Either gets the message on stdin, a fixed environment
 * (nothing of queue-run's leaks in), a deadline and a process group of
 * its own, so that a timeout kills whatever it started; its exit status
 * says whether the mail is delivered, to be retried or to be bounced,
 * and the tail of its stderr says why. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver_int.h"
#include "fileline.h"
#include "io.h"
#include "str.h"

/* The PATH of every command, and where an MDA is looked for. */
#define DELIVER_PATH	"/usr/local/bin:/usr/bin:/bin"

enum {
	MDA_LINES_MAX = 100,		/* comments, then the command */
	MDA_ARGS_MAX = 64,
	MDA_EXPAND_MAX = 4096,		/* all arguments, % expanded */
	ENV_COUNT = 9,
	/* "NAME=" and an address, or the configuration directory */
	ENV_VAR_MAX = PATH_MAX + 32,
	STDERR_BLOCK = 4096,		/* bytes per read of stderr */
	/* stderr is read in blocks; a command that writes without pause
	 * must not starve its stdin and the deadline of attention. */
	STDERR_READS_MAX = 16,
	/* Without pidfd_open(2) (Linux < 5.3) the child's exit is polled. */
	PID_POLL_MS = 20,
	EX_TEMPFAIL_ = 75		/* sysexits.h: try again later */
};

static char copybuf[DELIVER_COPY_BUFSZ];

/* --- the child: environment, descriptors, exec ------------------------ */

struct env {
	char	 var[ENV_COUNT][ENV_VAR_MAX];
	char	*envp[ENV_COUNT + 1];
};

static int
env_make(struct env *e, const struct deliver_msg *m,
    const struct alias_target *t)
{
	const char *name[ENV_COUNT] = { "PATH", "SENDER", "RECIPIENT",
	    "ORIGINAL_RECIPIENT", "USER", "DOMAIN", "QUEUE_ID", "HOME",
	    "POSTHORN_CONF" };
	const char *val[ENV_COUNT];
	size_t i;

	val[0] = DELIVER_PATH;
	val[1] = m->sender != NULL ? m->sender : "";
	val[2] = t->addr;
	val[3] = m->orig != NULL ? m->orig : "";
	val[4] = t->user;
	val[5] = t->domain;
	val[6] = m->id != NULL ? m->id : "";
	val[7] = "/";
	/* A program that starts another passes the configuration on
	 * (DESIGN.md): a pipe that runs sendmail queues where we do. */
	val[8] = m->conf->dir;
	for (i = 0; i < ENV_COUNT; i++) {
		if (str_fmt(e->var[i], sizeof(e->var[i]), "%s=%s", name[i],
		    val[i]) == -1)
			return -1;
		e->envp[i] = e->var[i];
	}
	e->envp[ENV_COUNT] = NULL;
	return 0;
}

/* What the child says before it gives up: it cannot return an error, so
 * it writes to the stderr the parent reads and exits EX_TEMPFAIL (the
 * configuration or the system is at fault, not the mail).  Only
 * async-signal-safe calls: strerrordesc_np is a table lookup. */
static void __attribute__((noreturn))
child_fail(int fd, const char *what, const char *arg, int err)
{
	const char *desc = strerrordesc_np(err);
	struct iovec iov[6];

	iov[0].iov_base = (void *)"posthorn: ";
	iov[0].iov_len = 10;
	iov[1].iov_base = (void *)what;
	iov[1].iov_len = strlen(what);
	iov[2].iov_base = (void *)" ";
	iov[2].iov_len = arg[0] != '\0' ? 1 : 0;
	iov[3].iov_base = (void *)arg;
	iov[3].iov_len = strlen(arg);
	iov[4].iov_base = (void *)": ";
	iov[4].iov_len = 2;
	iov[5].iov_base = (void *)(desc != NULL ? desc : "error");
	iov[5].iov_len = strlen(iov[5].iov_base);
	/* Nothing to do if even this fails: the exit status still says. */
	if (writev(fd, iov, 6) == -1)
		_exit(EX_TEMPFAIL_);
	_exit(EX_TEMPFAIL_);
}

static void __attribute__((noreturn))
child_exec(int in, int out, int err, const char *path, char *const argv[],
    char *const envp[])
{
	struct sigaction sa;
	sigset_t none;
	int fds[3], i;

	/* Its own session and process group: a timeout kills the command
	 * and whatever it started. */
	if (setsid() == -1)
		child_fail(err, "setsid", "", errno);
	/* Above 2 first, so that no dup2 onto 0..2 overwrites another of
	 * them (queue-run may run with 0..2 closed). */
	fds[0] = in;
	fds[1] = out;
	fds[2] = err;
	for (i = 0; i < 3; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1)
			child_fail(err, "dup", "", errno);
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) == -1)
			child_fail(err, "dup2", "", errno);
#ifdef SYS_close_range
	/* Everything of ours is close-on-exec; this is for descriptors of
	 * the caller's that are not (a queue file, a listener). */
	(void)syscall(SYS_close_range, 3U, ~0U, 0U);
#endif
	/* An ignored SIGPIPE would survive execve. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		child_fail(2, "sigaction", "", errno);
	(void)sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		child_fail(2, "sigprocmask", "", errno);
	if (chdir("/") == -1)
		child_fail(2, "chdir", "/", errno);
	execve(path, argv, envp);
	child_fail(2, "cannot execute", path, errno);
}

/* --- its stderr and its stdin ------------------------------------------ */

/* The last DELIVER_STDERR_TAIL bytes a command wrote to stderr. */
struct tail {
	char	buf[DELIVER_STDERR_TAIL];
	size_t	len;
	int	cut;		/* bytes before buf were dropped */
};

static void
tail_add(struct tail *t, const char *p, size_t n)
{
	size_t drop;

	if (n >= sizeof(t->buf)) {
		memcpy(t->buf, p + n - sizeof(t->buf), sizeof(t->buf));
		t->len = sizeof(t->buf);
		t->cut = 1;
		return;
	}
	if (t->len + n > sizeof(t->buf)) {
		drop = t->len + n - sizeof(t->buf);
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->cut = 1;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Read what is there, a bounded number of blocks; *fd is closed at the
 * end of file or on an error. */
static void
tail_read(struct tail *t, int *fd)
{
	char buf[STDERR_BLOCK];
	ssize_t n;
	int reads;

	for (reads = 0; reads < STDERR_READS_MAX; ) {
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			tail_add(t, buf, (size_t)n);
			reads++;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		fd_close(fd);
		return;
	}
}

/* The tail as one line for a log and a DSN: control bytes become
 * spaces, runs of spaces one, none at either end; a UTF-8 sequence cut
 * at the front is dropped. */
static void
tail_text(const struct tail *t, char *out, size_t size)
{
	size_t i = 0, o = 0;
	unsigned char c;

	if (t->cut)
		while (i < t->len && ((unsigned char)t->buf[i] & 0xc0) == 0x80)
			i++;
	for (; i < t->len && o + 1 < size; i++) {
		c = (unsigned char)t->buf[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* The message for the command's stdin, as much as the pipe takes now. */
struct feed {
	struct deliver_src src;
	size_t		pos, len;	/* unwritten: copybuf[pos..len) */
};

/* 0, with *fd closed once all is written or the command stopped
 * reading; -1 with errno when the queue file cannot be read. */
static int
feed_more(struct feed *f, int *fd)
{
	ssize_t n;

	for (;;) {
		if (f->pos == f->len) {
			if ((n = deliver_src_read(&f->src, copybuf,
			    sizeof(copybuf))) == -1)
				return -1;
			if (n == 0) {
				fd_close(fd);	/* end of file for it */
				return 0;
			}
			f->pos = 0;
			f->len = (size_t)n;
		}
		n = write(*fd, copybuf + f->pos, f->len - f->pos);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			/* EPIPE: the command does not want the rest; its
			 * exit status says what became of the mail. */
			fd_close(fd);
			return 0;
		}
		f->pos += (size_t)n;
	}
}

/* --- running it ------------------------------------------------------- */

static pid_t
wait_child(pid_t pid, int *status, int flags)
{
	pid_t r;

	do
		r = waitpid(pid, status, flags);
	while (r == -1 && errno == EINTR);
	return r;
}

/* The command and everything it started, then its exit status. */
static void
kill_reap(pid_t pid, int *status)
{
	/* Before its setsid() the child has no group of its own yet. */
	if (kill(-pid, SIGKILL) == -1)
		(void)kill(pid, SIGKILL);
	(void)wait_child(pid, status, 0);
}

/* A command under way: our ends of its pipes, what it is fed and what
 * it says on stderr.  A descriptor is -1 once closed. */
struct run {
	pid_t		 pid;
	int		 in[2], er[2], null, pidfd;
	int		 status;	/* once reaped */
	struct feed	 feed;
	struct tail	 tail;
};

/* The indices of run_pollset's array. */
enum { RUN_IN, RUN_ERR, RUN_PID };

static void
run_init(struct run *c, const struct deliver_msg *m, const char *pre,
    size_t prelen)
{
	c->pid = -1;
	c->in[0] = c->in[1] = c->er[0] = c->er[1] = -1;
	c->null = c->pidfd = -1;
	c->status = 0;
	deliver_src_init(&c->feed.src, m, pre, prelen);
	c->feed.pos = c->feed.len = 0;
	c->tail.len = 0;
	c->tail.cut = 0;
}

static void
run_close(struct run *c)
{
	fd_close(&c->in[0]);
	fd_close(&c->in[1]);
	fd_close(&c->er[0]);
	fd_close(&c->er[1]);
	fd_close(&c->null);
	fd_close(&c->pidfd);
}

/* The pipes and /dev/null, then the child, which execs path; 0, or -1
 * with errno and *what.  The child's ends are closed here. */
static int
run_start(struct run *c, const char *path, char *const argv[],
    char *const envp[], const char **what)
{
	*what = "pipe";
	if (pipe2(c->in, O_CLOEXEC) == -1 || pipe2(c->er, O_CLOEXEC) == -1)
		return -1;
	*what = "open /dev/null";
	do
		c->null = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	while (c->null == -1 && errno == EINTR);
	if (c->null == -1)
		return -1;
	/* Only our ends: the command gets ordinary blocking descriptors. */
	*what = "fcntl";
	if (fd_nonblock(c->in[1]) == -1 || fd_nonblock(c->er[0]) == -1)
		return -1;
	*what = "fork";
	if ((c->pid = fork()) == -1)
		return -1;
	if (c->pid == 0)
		child_exec(c->in[0], c->null, c->er[1], path, argv, envp);
	fd_close(&c->in[0]);
	fd_close(&c->er[1]);
	fd_close(&c->null);
#ifdef SYS_pidfd_open
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0U);
#endif
	return 0;
}

/* What to wait for: stdin while it is open, stderr while it is open,
 * the pidfd if there is one; ix[RUN_*] is each one's index, or -1. */
static nfds_t
run_pollset(const struct run *c, struct pollfd pfd[3], int ix[3])
{
	const int fd[3] = { c->in[1], c->er[0], c->pidfd };
	const short ev[3] = { POLLOUT, POLLIN, POLLIN };
	nfds_t n = 0;
	int i;

	for (i = 0; i < 3; i++) {
		ix[i] = -1;
		if (fd[i] == -1)
			continue;
		pfd[n].fd = fd[i];
		pfd[n].events = ev[i];
		ix[i] = (int)n++;
	}
	return n;
}

/* After a failed call: the command is killed and reaped, errno kept. */
static int
run_kill(struct run *c)
{
	int err = errno;

	kill_reap(c->pid, &c->status);
	errno = err;
	return -1;
}

/* Feed the command and keep its stderr until it exits: 0 once reaped,
 * 1 with r set when it was killed (the deadline passed, or the queue
 * file could not be read), -1 with errno and *what (killed too). */
static int
run_wait(struct run *c, int64_t deadline, long timeout,
    struct deliver_result *r, const char **what)
{
	struct pollfd pfd[3];
	int ix[3], err;
	int64_t now, wait;
	pid_t w;
	nfds_t nfd;

	for (;;) {
		now = clock_ms();
		if (now >= deadline) {
			kill_reap(c->pid, &c->status);
			deliver_result_set(r, DELIVER_TEMP, "4.3.0",
			    "command timed out after %ld s", timeout);
			return 1;
		}
		wait = deadline - now;
		if (c->pidfd == -1 && wait > PID_POLL_MS)
			wait = PID_POLL_MS;
		if (wait > INT_MAX)	/* a timeout of up to a year */
			wait = INT_MAX;
		nfd = run_pollset(c, pfd, ix);
		if (poll(pfd, nfd, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			*what = "poll";
			return run_kill(c);
		}
		if (ix[RUN_IN] != -1 && pfd[ix[RUN_IN]].revents != 0 &&
		    feed_more(&c->feed, &c->in[1]) == -1) {
			/* Killed before it sees an end of file: a part of
			 * the message must not pass for the whole. */
			err = errno;
			kill_reap(c->pid, &c->status);
			deliver_result_set(r, DELIVER_TEMP, "4.3.0",
			    "cannot read queue file: %s", strerror(err));
			return 1;
		}
		if (ix[RUN_ERR] != -1 && pfd[ix[RUN_ERR]].revents != 0)
			tail_read(&c->tail, &c->er[0]);
		if (c->pidfd == -1 || pfd[ix[RUN_PID]].revents != 0) {
			w = wait_child(c->pid, &c->status,
			    c->pidfd == -1 ? WNOHANG : 0);
			if (w == -1) {
				*what = "waitpid";
				return run_kill(c);
			}
			if (w == c->pid)
				return 0;
		}
	}
}

/* The outcome of a command that exited: its status, and the tail of
 * its stderr as the reason. */
static void
run_result(struct run *c, struct deliver_result *r)
{
	char text[DELIVER_STDERR_TAIL + 1];
	int st = c->status;

	/* What it wrote before it exited; a background process that keeps
	 * stderr open is not waited for. */
	if (c->er[0] != -1)
		tail_read(&c->tail, &c->er[0]);
	tail_text(&c->tail, text, sizeof(text));

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		deliver_result_set(r, DELIVER_OK, "2.0.0", "command exited 0");
	else if (WIFEXITED(st))
		deliver_result_set(r, WEXITSTATUS(st) == EX_TEMPFAIL_ ?
		    DELIVER_TEMP : DELIVER_PERM,
		    WEXITSTATUS(st) == EX_TEMPFAIL_ ? "4.3.0" : "5.3.0",
		    "command exited with status %d%s%s", WEXITSTATUS(st),
		    text[0] != '\0' ? ": " : "", text);
	else
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "command killed by signal %d%s%s",
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0,
		    text[0] != '\0' ? ": " : "", text);
}

void
command_run(const struct deliver_msg *m, const struct alias_target *t,
    const char *path, char *const argv[], const char *pre, size_t prelen,
    struct deliver_result *r)
{
	struct sigaction ign, oldpipe;
	struct env env;
	struct run c;
	const char *what;
	int64_t deadline;
	long timeout;
	int pipe_ignored = 0;

	run_init(&c, m, pre, prelen);
	if (env_make(&env, m, t) == -1) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "environment of the command too long");
		return;
	}
	/* A command that exits without reading all of its input must
	 * give us EPIPE, not kill us. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigemptyset(&ign.sa_mask);
	what = "sigaction";
	if (sigaction(SIGPIPE, &ign, &oldpipe) == -1)
		goto fail;
	pipe_ignored = 1;
	/* 0 would kill every command at once: a second is the least. */
	timeout = m->conf->command_timeout > 0 ? m->conf->command_timeout : 1;
	deadline = clock_ms() + (int64_t)timeout * 1000;
	if (run_start(&c, path, argv, env.envp, &what) == -1)
		goto fail;
	switch (run_wait(&c, deadline, timeout, r, &what)) {
	case 0:
		run_result(&c, r);
		break;
	case -1:
		goto fail;
	}
	goto out;
fail:
	deliver_result_set(r, DELIVER_TEMP, "4.3.0",
	    "cannot run command: %s: %s", what, strerror(errno));
out:
	run_close(&c);
	if (pipe_ignored)
		(void)sigaction(SIGPIPE, &oldpipe, NULL);
}

/* --- the domain's MDA -------------------------------------------------- */

struct mda {
	char	 path[PATH_MAX];	/* the file */
	char	 line[ALIAS_CMD_MAX + 2];
	char	 exe[PATH_MAX];		/* argv[0] found on DELIVER_PATH */
	char	 store[MDA_EXPAND_MAX];
	char	*argv[MDA_ARGS_MAX + 1];
};

/* The command line of DIR/domains/DOMAIN/mda: 1, 0 when there is no such
 * file, -1 with r set. */
static int
mda_read(const struct conf *c, const char *domain, struct mda *a,
    struct deliver_result *r)
{
	struct fileline fl;
	ssize_t n;
	size_t i;
	int fd, rc = -1;

	if (conf_domain_path(c, domain, DELIVER_MDA_FILE, a->path,
	    sizeof(a->path)) == -1) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.5", "domain %s: %s",
		    domain, strerror(errno));
		return -1;
	}
	if ((fd = fileline_open(a->path)) == -1) {
		if (errno == ENOENT)
			return 0;
		deliver_result_errno(r, errno, "cannot open", a->path);
		return -1;
	}
	fileline_init(&fl, fd, MDA_LINES_MAX);
	for (;;) {
		n = fileline_get(&fl, a->line, sizeof(a->line));
		if (n == -1) {
			deliver_result_errno(r, errno, "cannot read", a->path);
			break;
		}
		if (n == 0) {
			deliver_result_set(r, DELIVER_TEMP, "4.3.5",
			    "%s: no command", a->path);
			break;
		}
		while (n > 0 && (a->line[n - 1] == '\n' ||
		    a->line[n - 1] == '\r'))
			a->line[--n] = '\0';
		for (i = 0; deliver_is_wsp(a->line[i]); i++)
			;
		if (a->line[i] != '\0' && a->line[i] != '#') {
			rc = 1;
			break;
		}
	}
	fd_close(&fd);
	return rc;
}

/* Split the line on blanks, with no shell and no quoting, and expand
 * %u %d %a %s %% in each argument; values with blanks stay one
 * argument.  0, or -1 with r set. */
static int
mda_args(struct mda *a, const struct deliver_msg *m,
    const struct alias_target *t, struct deliver_result *r)
{
	struct str s;
	const char *v;
	char *p = a->line;
	size_t argc = 0;

	str_init(&s, a->store, sizeof(a->store));
	for (;;) {
		while (deliver_is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		if (argc == MDA_ARGS_MAX) {
			deliver_result_set(r, DELIVER_TEMP, "4.3.5",
			    "%s: more than %d arguments", a->path,
			    MDA_ARGS_MAX);
			return -1;
		}
		a->argv[argc++] = s.s + s.len;
		for (; *p != '\0' && !deliver_is_wsp(*p); p++) {
			if (*p != '%') {
				if (str_appendc(&s, *p) == -1)
					goto toolong;
				continue;
			}
			switch (*++p) {
			case 'u':
				v = t->user;
				break;
			case 'd':
				v = t->domain;
				break;
			case 'a':
				v = t->addr;
				break;
			case 's':
				v = m->sender != NULL ? m->sender : "";
				break;
			case '%':
				v = "%";
				break;
			default:
				deliver_result_set(r, DELIVER_TEMP, "4.3.5",
				    "%s: unknown escape %%%.1s (known: %%u %%d "
				    "%%a %%s %%%%)", a->path, p);
				return -1;
			}
			if (str_appends(&s, v) == -1)
				goto toolong;
		}
		/* Each argument ends in its own NUL. */
		if (str_appendc(&s, '\0') == -1)
			goto toolong;
	}
	a->argv[argc] = NULL;
	if (argc == 0) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.5", "%s: no command",
		    a->path);
		return -1;
	}
	return 0;
toolong:
	deliver_result_set(r, DELIVER_TEMP, "4.3.5", "%s: command too long",
	    a->path);
	return -1;
}

/* argv[0] on DELIVER_PATH, as execvp would search the command's own
 * PATH (glibc's execvpe searches the caller's). */
static int
mda_find(struct mda *a, struct deliver_result *r)
{
	const char *dir = DELIVER_PATH, *colon;
	int n;

	if (strchr(a->argv[0], '/') != NULL) {
		if (str_copy(a->exe, sizeof(a->exe), a->argv[0]) == 0)
			return 0;
		deliver_result_set(r, DELIVER_TEMP, "4.3.5",
		    "%s: command too long", a->path);
		return -1;
	}
	for (;;) {
		colon = strchr(dir, ':');
		n = colon != NULL ? (int)(colon - dir) : (int)strlen(dir);
		if (str_fmt(a->exe, sizeof(a->exe), "%.*s/%s", n, dir,
		    a->argv[0]) == 0 && access(a->exe, X_OK) == 0)
			return 0;
		if (colon == NULL)
			break;
		dir = colon + 1;
	}
	deliver_result_set(r, DELIVER_TEMP, "4.3.5", "%s: %s not found in %s",
	    a->path, a->argv[0], DELIVER_PATH);
	return -1;
}

int
command_mda(const struct deliver_msg *m, const struct alias_target *t,
    const char *pre, size_t prelen, struct deliver_result *r)
{
	static struct mda mda;	/* some 10 KiB: off the stack */
	int found;

	if ((found = mda_read(m->conf, t->domain, &mda, r)) == 0)
		return 0;
	if (found == -1 || mda_args(&mda, m, t, r) == -1)
		return 1;
	deliver_where_set(r, "", mda.argv[0]);
	if (mda_find(&mda, r) == 0)
		command_run(m, t, mda.exe, mda.argv, pre, prelen, r);
	return 1;
}
