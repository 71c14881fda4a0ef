/* command.c — delivery to a command: the "| command" of a pipe alias,
 * run by /bin/sh, or the domain's MDA (DIR/domains/DOMAIN/mda), run
 * without a shell.  Either gets the message on stdin, a fixed environment
 * (nothing of queue-run's leaks in), a deadline and a process group of
 * its own, so that a timeout kills whatever it started; its exit status
 * says whether the mail is delivered, to be retried or to be bounced,
 * and the tail of its stderr says why.
 *
 * It runs as the domain's command_user (nobody by default), never as
 * posthorn: it is started through queue-runas(8), set-uid root, which
 * becomes that user and stays as the command's parent, so that a
 * SIGTERM to it kills the command's group (queue-run, another uid,
 * may not signal the command itself).
 *
 * The command is started by posix_spawn(3) and then driven from the
 * caller's poll(2) loop (command_pollset, command_step): queue-run feeds
 * its stdin, keeps its stderr and watches its exit and deadline among
 * its other events, with no process of its own in between. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "deliver.h"
#include "filecache.h"
#include "fileline.h"
#include "io.h"
#include "child.h"
#include "self.h"
#include "str.h"

/* The PATH of every command, and where an MDA is looked for. */
#define DELIVER_PATH	"/usr/local/bin:/usr/bin:/bin"
/* What %s gives for the null sender: Postfix's pipe(8) default, which
 * MDAs (dovecot-lda's -f, procmail's -f) know not to answer. */
#define MDA_NULL_SENDER	"MAILER-DAEMON"
/* The set-uid helper that runs a command as its user (queue-runas(8)). */
#define RUNAS_PROG	"queue-runas"

enum {
	MDA_LINES_MAX = 100,		/* comments, then the command */
	MDA_ARGS_MAX = 64,
	MDA_EXPAND_MAX = 4096,		/* all arguments, % expanded */
	ENV_COUNT = 9,
	/* queue-runas -C DIR -d DOMAIN -- PATH, then the command's own. */
	RUNAS_ARGS = 7,
	CMD_ARGS_MAX = MDA_ARGS_MAX,	/* or sh -c COMMAND */
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

/* --- the process: environment, descriptors, spawn --------------------- */

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

/* Start path with in, out and err as its 0, 1 and 2, by posix_spawn(3)
 * (a vfork: no copy of queue-run's page tables).  What a forked child
 * used to do before its exec is done by the spawn: its own session and
 * process group (so that a timeout kills the command and whatever it
 * started), no signal blocked and SIGPIPE at its default (queue-run
 * blocks its own into a signalfd and ignores SIGPIPE alone, and an
 * ignored signal would survive the exec), no descriptor above 2 (ours are all
 * close-on-exec; this is for a caller's that are not), "/" as its
 * directory.  0, or the error number. */
static int
spawn(pid_t *pid, int in, int out, int err, const char *path,
    char *const argv[], char *const envp[])
{
	const int fds[] = { in, out, err };

	return child_start(pid, path, argv, envp, fds, 3,
	    CHILD_SETSID | CHILD_CLEAN);
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

/* The message for the command's stdin, as much as the pipe takes now:
 * buf[pos..len) is read from the queue and not written yet.  Each
 * command has its own buffer, since several run at once. */
struct feed {
	struct deliver_src src;
	size_t		pos, len;
	char		buf[DELIVER_COPY_BUFSZ];
};

/* 0, with *fd closed once all is written or the command stopped
 * reading; -1 with errno when the queue file cannot be read. */
static int
feed_more(struct feed *f, int *fd)
{
	ssize_t n;

	for (;;) {
		if (f->pos == f->len) {
			if ((n = deliver_src_read(&f->src, f->buf,
			    sizeof(f->buf))) == -1)
				return -1;
			if (n == 0) {
				fd_close(fd);	/* end of file for it */
				return 0;
			}
			f->pos = 0;
			f->len = (size_t)n;
		}
		n = write(*fd, f->buf + f->pos, f->len - f->pos);
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

/* The command and everything it started, then its exit status.  The
 * process is queue-runas, the command's parent and the leader of their
 * group: SIGTERM makes it kill the group, which queue-run cannot (the
 * command is another uid), and it never ignores it.  SIGKILL would
 * leave the command running without it. */
static void
kill_reap(pid_t pid, int *status)
{
	(void)kill(pid, SIGTERM);
	/* Stopped, it would never see it (the command cannot stop it:
	 * queue-runas keeps its real and saved uids ours). */
	(void)kill(pid, SIGCONT);
	(void)wait_child(pid, status, 0);
}

/* The indices of command_pollset's array. */
enum { RUN_IN, RUN_ERR, RUN_PID, RUN_FDS };

/* A command under way: our ends of its pipes, what it is fed and what
 * it says on stderr.  A descriptor is -1 once closed. */
struct command {
	pid_t		 pid;		/* -1 once reaped */
	int		 in[2], er[2], null, pidfd;
	int		 status;	/* once reaped */
	int64_t		 deadline;	/* clock_ms() */
	long		 timeout;	/* s, for the reason */
	int		 ix[RUN_FDS];	/* in the last pollset, or -1 */
	struct tail	 tail;
	struct feed	 feed;
};

static void
run_init(struct command *c, const struct deliver_msg *m, const char *pre,
    size_t prelen)
{
	int i;

	c->pid = -1;
	c->in[0] = c->in[1] = c->er[0] = c->er[1] = -1;
	c->null = c->pidfd = -1;
	c->status = 0;
	for (i = 0; i < RUN_FDS; i++)
		c->ix[i] = -1;
	deliver_src_init(&c->feed.src, m, pre, prelen);
	c->feed.pos = c->feed.len = 0;
	c->tail.len = 0;
	c->tail.cut = 0;
}

static void
run_close(struct command *c)
{
	fd_close(&c->in[0]);
	fd_close(&c->in[1]);
	fd_close(&c->er[0]);
	fd_close(&c->er[1]);
	fd_close(&c->null);
	fd_close(&c->pidfd);
}

/* The pipes and /dev/null, then the process; 0, or -1 with errno and
 * *what.  The child's ends are closed here. */
static int
run_start(struct command *c, const char *path, char *const argv[],
    char *const envp[], const char **what)
{
	int e;

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
	if (fd_nonblock(c->in[1]) == -1 || fd_nonblock(c->er[0]) == -1 ||
	    fd_move_above(&c->in[0], 3) == -1 ||
	    fd_move_above(&c->null, 3) == -1 ||
	    fd_move_above(&c->er[1], 3) == -1)
		return -1;
	*what = "cannot execute";
	if ((e = spawn(&c->pid, c->in[0], c->null, c->er[1], path, argv,
	    envp)) != 0) {
		c->pid = -1;
		errno = e;
		return -1;
	}
	fd_close(&c->in[0]);
	fd_close(&c->er[1]);
	fd_close(&c->null);
#ifdef SYS_pidfd_open
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0U);
#endif
	return 0;
}

size_t
command_pollset(struct command *c, struct pollfd *pfd, int64_t *due)
{
	const int fd[RUN_FDS] = { c->in[1], c->er[0], c->pidfd };
	const short ev[RUN_FDS] = { POLLOUT, POLLIN, POLLIN };
	int64_t d = c->deadline;
	size_t n = 0;
	int i;

	for (i = 0; i < RUN_FDS; i++) {
		c->ix[i] = -1;
		if (fd[i] == -1)
			continue;
		pfd[n].fd = fd[i];
		pfd[n].events = ev[i];
		pfd[n].revents = 0;
		c->ix[i] = (int)n++;
	}
	/* Without a pidfd its exit is looked for every PID_POLL_MS. */
	if (c->pidfd == -1 && clock_ms() + PID_POLL_MS < d)
		d = clock_ms() + PID_POLL_MS;
	*due = d;
	return n;
}

/* Did the last poll see an event on descriptor RUN_*? */
static int
ready(const struct command *c, const struct pollfd *pfd, int which)
{
	return pfd != NULL && c->ix[which] != -1 &&
	    pfd[c->ix[which]].revents != 0;
}

/* The outcome of a command that exited: its status, and the tail of
 * its stderr as the reason. */
static void
run_result(struct command *c, struct deliver_result *r)
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

/* Killed and reaped, with r set to a temporary failure: 1. */
static int
run_abandon(struct command *c, struct deliver_result *r, const char *why)
{
	kill_reap(c->pid, &c->status);
	c->pid = -1;
	deliver_result_set(r, DELIVER_TEMP, "4.3.0", "%s", why);
	return 1;
}

int
command_step(struct command *c, const struct pollfd *pfd,
    struct deliver_result *r)
{
	char why[DELIVER_REASON_MAX];
	pid_t w;

	/* Its exit before its deadline: a command that ended in time is
	 * not timed out because queue-run looked late (a late look would
	 * deliver the message twice). */
	if (ready(c, pfd, RUN_ERR))
		tail_read(&c->tail, &c->er[0]);
	if (c->pidfd == -1 || ready(c, pfd, RUN_PID)) {
		w = wait_child(c->pid, &c->status,
		    c->pidfd == -1 ? WNOHANG : 0);
		if (w == -1) {
			str_fmt_cut(why, sizeof(why), "cannot run command: "
			    "waitpid: %s", strerror(errno));
			return run_abandon(c, r, why);
		}
		if (w == c->pid) {
			c->pid = -1;
			run_result(c, r);
			return 1;
		}
	}
	if (clock_ms() >= c->deadline) {
		str_fmt_cut(why, sizeof(why), "command timed out after %ld s",
		    c->timeout);
		return run_abandon(c, r, why);
	}
	if (ready(c, pfd, RUN_IN) && feed_more(&c->feed, &c->in[1]) == -1) {
		/* Killed before it sees an end of file: a part of the
		 * message must not pass for the whole. */
		str_fmt_cut(why, sizeof(why), "cannot read queue file: %s",
		    strerror(errno));
		return run_abandon(c, r, why);
	}
	return 0;
}

pid_t
command_pid(const struct command *c)
{
	return c->pid;
}

void
command_free(struct command *c)
{
	if (c == NULL)
		return;
	if (c->pid != -1)
		kill_reap(c->pid, &c->status);
	run_close(c);
	free(c);
}

/* argv for queue-runas: the configuration, the domain, then path and
 * the command's own argv; 0, or -1 when it is too long. */
static int
runas_argv(char **out, size_t size, const struct deliver_msg *m,
    const struct alias_target *t, const char *path, char *const argv[])
{
	static char prog[] = RUNAS_PROG, optc[] = "-C", optd[] = "-d",
	    dashes[] = "--";
	size_t n = 0, i;

	out[n++] = prog;
	out[n++] = optc;
	out[n++] = (char *)m->conf->dir;
	out[n++] = optd;
	out[n++] = (char *)t->domain;
	out[n++] = dashes;
	out[n++] = (char *)path;
	for (i = 0; argv[i] != NULL; i++) {
		if (n + 1 >= size)
			return -1;
		out[n++] = argv[i];
	}
	out[n] = NULL;
	return 0;
}

int
command_start(const struct deliver_msg *m, const struct alias_target *t,
    const char *path, char *const argv[], const char *pre, size_t prelen,
    struct deliver_result *r, struct command **cp)
{
	struct command *c = NULL;
	struct env env;
	char runas[PATH_MAX];
	char *rargv[RUNAS_ARGS + CMD_ARGS_MAX + 1];
	const char *what = "malloc";
	int err;

	*cp = NULL;
	if (env_make(&env, m, t) == -1 ||
	    runas_argv(rargv, sizeof(rargv) / sizeof(rargv[0]), m, t, path,
	    argv) == -1) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "environment or arguments of the command too long");
		return 1;
	}
	if (self_sibling(RUNAS_PROG, runas, sizeof(runas)) == -1) {
		what = RUNAS_PROG;
		goto fail;
	}
	if ((c = malloc(sizeof(*c))) == NULL)
		goto fail;
	run_init(c, m, pre, prelen);
	/* 0 would kill every command at once: a second is the least. */
	c->timeout = m->conf->command_timeout > 0 ?
	    m->conf->command_timeout : 1;
	c->deadline = clock_ms() + (int64_t)c->timeout * 1000;
	if (run_start(c, runas, rargv, env.envp, &what) == -1)
		goto fail;
	*cp = c;
	return 0;
fail:
	err = errno;
	if (strcmp(what, "cannot execute") == 0)
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "cannot execute %s: %s", runas, strerror(err));
	else
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "cannot run command: %s: %s", what, strerror(err));
	command_free(c);
	return 1;
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
	int rc = -1;

	if (conf_domain_path(c, domain, DELIVER_MDA_FILE, a->path,
	    sizeof(a->path)) == -1) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.5", "domain %s: %s",
		    domain, strerror(errno));
		return -1;
	}
	if (filecache_open(a->path, &fl, MDA_LINES_MAX) == -1) {
		if (errno == ENOENT)
			return 0;
		deliver_result_errno(r, errno, "cannot open", a->path);
		return -1;
	}
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
	filecache_close(&fl);
	return rc;
}

/* Split the line on blanks, with no shell and no quoting, and expand
 * %u %d %a %s %% in each argument; values with blanks stay one
 * argument.  %s of the null sender is MDA_NULL_SENDER, never an empty
 * argument.  An argument that an expansion would start with '-' is
 * refused for good (5.1.7): the sender is the client's choice, and
 * "%s" alone as an argument must not become an option of the MDA (a
 * sender "-oQ/tmp@x" as sendmail's argv, say); "-f %s" and "--from=%s"
 * are what a line means.  0, or -1 with r set. */
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
				v = m->sender != NULL && m->sender[0] != '\0' ?
				    m->sender : MDA_NULL_SENDER;
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
			if (v[0] == '-' && s.s + s.len == a->argv[argc - 1]) {
				deliver_result_set(r, DELIVER_PERM, "5.1.7",
				    "%s: %%%c would start an argument with "
				    "'-': %.*s", a->path, *p,
				    (int)strnlen(v, ADDR_TEXT_MAX), v);
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
    const char *pre, size_t prelen, struct deliver_result *r,
    struct command **cp)
{
	static struct mda mda;	/* some 10 KiB: off the stack */
	int found;

	*cp = NULL;
	if ((found = mda_read(m->conf, t->domain, &mda, r)) == 0)
		return COMMAND_NONE;
	if (found == -1 || mda_args(&mda, m, t, r) == -1)
		return COMMAND_DONE;
	deliver_where_set(r, "", mda.argv[0]);
	if (mda_find(&mda, r) == -1 ||
	    command_start(m, t, mda.exe, mda.argv, pre, prelen, r, cp) == 1)
		return COMMAND_DONE;
	return COMMAND_RUNNING;
}
