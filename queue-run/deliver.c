/* deliver.c — local delivery of one message to one target: a Maildir
 * (tmp/, fsync, rename into new/, fsync new/), the domain's MDA, or the
 * command of a pipe alias.  Both kinds of command get the message on
 * stdin, a fixed environment, a deadline and their own process group, so
 * that a timeout kills whatever they started; their exit status says
 * whether the mail is delivered, to be retried or to be bounced.  The
 * message is streamed from the queue file, never held in memory. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "deliver.h"
#include "fileline.h"
#include "io.h"
#include "mailhdr.h"
#include "str.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	(1 << 0)	/* Linux ABI, <linux/fs.h> */
#endif

/* The whole environment of a command: nothing of queue-run's leaks in. */
#define DELIVER_PATH	"/usr/local/bin:/usr/bin:/bin"
#define DELIVER_SHELL	"/bin/sh"

enum {
	COPY_BUFSZ = 64 * 1024,		/* bytes per read and write */
	/* Delivered-To: fields are prepended, by us and by other MTAs, so a
	 * loop shows near the top of the header; the bound keeps a message
	 * that is all header cheap to scan. */
	HDR_SCAN_MAX = 256 * 1024,
	HDR_BLOCK = 4096,		/* bytes per pread of the scan */
	/* An unfolded header field kept for comparison: a Delivered-To
	 * longer than this cannot hold an address (ADDR_TEXT_MAX). */
	HDR_FIELD_MAX = 1024,
	MAILDIR_MODE = 0700,		/* the mailbox is the user's alone */
	MAILDIR_FILE_MODE = 0600,
	/* A name in tmp/ or new/ that exists already (same second, pid and
	 * counter after a pid wrap) gets a new one, a bounded number of
	 * times. */
	MAILDIR_NAME_TRIES = 16,
	/* The host part of a Maildir name: NAME_MAX (255) bytes hold it with
	 * the time, pid and counter in front. */
	MAILDIR_HOST_MAX = 160,
	MDA_LINES_MAX = 100,		/* comments, then the command */
	MDA_ARGS_MAX = 64,
	MDA_EXPAND_MAX = 4096,		/* all arguments, % expanded */
	ENV_COUNT = 9,
	/* "NAME=" and an address, or the configuration directory */
	ENV_VAR_MAX = PATH_MAX + 32,
	/* stderr is read in blocks; a command that writes without pause
	 * must not starve its stdin and the deadline of attention. */
	STDERR_READS_MAX = 16,
	/* Without pidfd_open(2) (Linux < 5.3) the child's exit is polled. */
	PID_POLL_MS = 20,
	EX_TEMPFAIL_ = 75		/* sysexits.h: try again later */
};

/* The prepended fields: "Return-Path: <S>\nDelivered-To: A\n". */
enum { PREFIX_MAX = 2 * ADDR_TEXT_MAX + 64 };

/* Successive deliveries of this process: the Q part of a Maildir name. */
static unsigned maildir_seq;
static char copybuf[COPY_BUFSZ];

static void result_set(struct deliver_result *, enum deliver_status,
    const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* A reason cut short is still a reason; "..." marks the cut. */
static void
result_set(struct deliver_result *r, enum deliver_status status,
    const char *dsn, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	(void)str_copy(r->dsn, sizeof(r->dsn), dsn);
	va_start(ap, fmt);
	n = vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		r->reason[0] = '\0';
	else if ((size_t)n >= sizeof(r->reason))
		memcpy(r->reason + sizeof(r->reason) - 4, "...", 4);
}

/* A failed system call: always temporary, since the disk, the quota or
 * a permission can be fixed while the mail waits.  RFC 3463 §3.3/§3.4. */
static void
result_errno(struct deliver_result *r, int err, const char *what,
    const char *path)
{
	const char *dsn;

	switch (err) {
	case EDQUOT:
		dsn = "4.2.2";		/* mailbox full */
		break;
	case ENOSPC:
		dsn = "4.3.1";		/* mail system full */
		break;
	case EACCES:
	case EPERM:
		dsn = "4.2.0";		/* the mailbox's own status */
		break;
	default:
		dsn = "4.3.0";
		break;
	}
	result_set(r, DELIVER_TEMP, dsn, "%s %s: %s", what, path,
	    strerror(err));
}

static void
where_set(struct deliver_result *r, const char *prefix, const char *s)
{
	int n;

	/* The place is for the log line: a long command is cut. */
	n = snprintf(r->where, sizeof(r->where), "%s%s", prefix, s);
	if (n < 0)
		r->where[0] = '\0';
}

static void
result_init(struct deliver_result *r)
{
	r->status = DELIVER_TEMP;
	(void)str_copy(r->dsn, sizeof(r->dsn), "4.3.0");
	r->reason[0] = '\0';
	r->where[0] = '\0';
}

/* The message as a command or a Maildir file gets it: the prepended
 * fields, then the bytes of the queue file from body on. */
struct src {
	const struct deliver_msg *m;
	const char	*pre;
	size_t		 prelen, preoff;
	off_t		 off;		/* message bytes given so far */
};

static void
src_init(struct src *s, const struct deliver_msg *m, const char *pre,
    size_t prelen)
{
	s->m = m;
	s->pre = pre;
	s->prelen = prelen;
	s->preoff = 0;
	s->off = 0;
}

/* Up to size bytes into buf: the count, 0 at the end, -1 with errno. */
static ssize_t
src_read(struct src *s, char *buf, size_t size)
{
	ssize_t got;
	size_t n;
	off_t left;

	if (s->preoff < s->prelen) {
		n = s->prelen - s->preoff;
		if (n > size)
			n = size;
		memcpy(buf, s->pre + s->preoff, n);
		s->preoff += n;
		return (ssize_t)n;
	}
	left = s->m->size - s->off;
	if (left <= 0)
		return 0;
	if ((off_t)size > left)
		size = (size_t)left;
	do
		got = pread(s->m->fd, buf, size, s->m->body + s->off);
	while (got == -1 && errno == EINTR);
	if (got == -1)
		return -1;
	if (got == 0) {
		/* Shorter than its envelope says: never deliver a part. */
		errno = EIO;
		return -1;
	}
	s->off += got;
	return got;
}

static int
prefix_make(const struct deliver_msg *m, const struct alias_target *t,
    char *buf, size_t size, size_t *len)
{
	int n;

	n = snprintf(buf, size, "Return-Path: <%s>\nDelivered-To: %s\n",
	    m->sender != NULL ? m->sender : "", t->addr);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* --- the loop check ---------------------------------------------------- */

struct hdrscan {
	const char	*addr;
	char		 field[HDR_FIELD_MAX + 1];
	size_t		 len;
	int		 over;		/* the field did not fit */
	int		 found;
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* One unfolded field is complete: is it a Delivered-To: of addr? */
static void
field_end(struct hdrscan *h)
{
	const char *v;
	size_t i, e;

	if (h->len > 0 && !h->over) {
		h->field[h->len] = '\0';
		if (mailhdr_is(h->field, h->len, "Delivered-To", &v)) {
			i = (size_t)(v - h->field);
			e = h->len;
			while (i < e && is_wsp(h->field[i]))
				i++;
			while (e > i && is_wsp(h->field[e - 1]))
				e--;
			if (e - i >= 2 && h->field[i] == '<' &&
			    h->field[e - 1] == '>') {
				i++;
				e--;
			}
			h->field[e] = '\0';
			if (str_casecmp(h->field + i, h->addr) == 0)
				h->found = 1;
		}
	}
	h->len = 0;
	h->over = 0;
}

/* 1 if the header (up to its empty line, within HDR_SCAN_MAX) holds a
 * Delivered-To: of addr, 0 if not, -1 with errno.  Carriage returns,
 * which a locally injected message may hold, are ignored. */
static int
loop_check(const struct deliver_msg *m, const char *addr)
{
	struct hdrscan h;
	char buf[HDR_BLOCK];
	off_t off = 0, end;
	ssize_t n, i;
	int bol = 1;
	char c;

	h.addr = addr;
	h.len = 0;
	h.over = 0;
	h.found = 0;
	end = m->size < HDR_SCAN_MAX ? m->size : HDR_SCAN_MAX;
	while (off < end) {
		n = end - off < (off_t)sizeof(buf) ? (ssize_t)(end - off) :
		    (ssize_t)sizeof(buf);
		do
			n = pread(m->fd, buf, (size_t)n, m->body + off);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		for (i = 0; i < n; i++) {
			c = buf[i];
			if (c == '\r')
				continue;
			if (bol) {
				if (c == '\n') {	/* the header ends */
					field_end(&h);
					return h.found;
				}
				if (!is_wsp(c))		/* not a fold */
					field_end(&h);
				if (h.found)
					return 1;
			}
			bol = c == '\n';
			if (bol)
				continue;
			if (h.len < HDR_FIELD_MAX)
				h.field[h.len++] = c;
			else
				h.over = 1;
		}
		off += n;
	}
	/* A field cut by the bound could match by accident: only the end
	 * of the message completes it. */
	if (end == m->size)
		field_end(&h);
	return h.found;
}

/* Loop check for target t; 0 to go on, -1 with r set. */
static int
check_loop(const struct deliver_msg *m, const struct alias_target *t,
    struct deliver_result *r)
{
	switch (loop_check(m, t->addr)) {
	case 0:
		return 0;
	case 1:
		result_set(r, DELIVER_PERM, "5.4.6",
		    "mail loop: already delivered to %s", t->addr);
		return -1;
	default:
		result_set(r, DELIVER_TEMP, "4.3.0",
		    "cannot read queue file: %s", strerror(errno));
		return -1;
	}
}

/* --- Maildir ----------------------------------------------------------- */

/* rename(2) that never replaces a message already in new/; link(2) and
 * unlink(2), as qmail does, where the file system lacks
 * RENAME_NOREPLACE. */
static int
rename_noreplace(const char *from, const char *to)
{
	if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) == -1)
		return -1;
	(void)unlink(from);
	return 0;
}

/* The host part of a Maildir name: '/' and ':' would make it a path or
 * end it at the info part, so they become \057 and \072 (maildir(5)). */
static void
maildir_host(const char *in, char *out, size_t size)
{
	const char *rep;
	size_t o = 0, n;

	for (; *in != '\0'; in++) {
		rep = *in == '/' ? "\\057" : *in == ':' ? "\\072" : NULL;
		n = rep != NULL ? 4 : 1;
		if (o + n >= size)
			break;
		if (rep != NULL)
			memcpy(out + o, rep, n);
		else
			out[o] = *in;
		o += n;
	}
	out[o] = '\0';
}

/* SECONDS.MUSECPPIDQN.HOST: unique on this host as long as the clock
 * does not step back while the pid is reused; O_EXCL and the
 * no-replace rename catch that case. */
static int
maildir_name(const struct conf *c, char *buf, size_t size)
{
	char host[MAILDIR_HOST_MAX + 1];
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return -1;
	maildir_host(c->hostname[0] != '\0' ? c->hostname : "localhost",
	    host, sizeof(host));
	if (str_fmt(buf, size, "%lld.M%ldP%ldQ%u.%s", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000, (long)getpid(), ++maildir_seq, host) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir(2) that takes a directory made meanwhile by another delivery as
 * success. */
static int
mkdir_once(const char *path)
{
	if (mkdir(path, MAILDIR_MODE) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* Make MAILDIRS/DOMAIN, the Maildir and its tmp/ new/ cur/, and make
 * each new name durable: a message fsynced into new/ is lost all the
 * same if new/ itself is not on disk.  MAILDIRS itself must exist: a
 * file system that is not mounted must not fill the one below it.  On
 * failure *what and *path say what failed. */
static int
maildir_make(const struct conf *c, const char *domdir, const char *box,
    const char **what, char *path, size_t size)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	size_t i;

	*what = "cannot make";
	(void)str_copy(path, size, domdir);
	if (mkdir_once(domdir) == -1)
		return -1;
	*what = "cannot fsync";
	(void)str_copy(path, size, c->maildirs);
	if (fsync_dir(c->maildirs) == -1)
		return -1;
	*what = "cannot make";
	(void)str_copy(path, size, box);
	if (mkdir_once(box) == -1)
		return -1;
	*what = "cannot fsync";
	(void)str_copy(path, size, domdir);
	if (fsync_dir(domdir) == -1)
		return -1;
	*what = "cannot make";
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		if (str_fmt(path, size, "%s/%s", box, sub[i]) == -1 ||
		    mkdir_once(path) == -1)
			return -1;
	*what = "cannot fsync";
	(void)str_copy(path, size, box);
	return fsync_dir(box);
}

/* A user or domain as one component of a path. */
static int
path_safe(const char *s)
{
	return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL;
}

static void
maildir_deliver(const struct deliver_msg *m, const struct alias_target *t,
    const char *pre, size_t prelen, struct deliver_result *r)
{
	const struct conf *c = m->conf;
	char domdir[PATH_MAX], box[PATH_MAX], tmpdir[PATH_MAX];
	char newdir[PATH_MAX], name[NAME_MAX + 1], cand[PATH_MAX];
	char tmp[PATH_MAX], dst[PATH_MAX], errpath[PATH_MAX];
	const char *what = "cannot deliver to";
	struct src s;
	ssize_t n;
	int fd = -1, made = 0, tries, fd2, err;

	tmp[0] = '\0';
	if (str_fmt(domdir, sizeof(domdir), "%s/%s", c->maildirs,
	    t->domain) == -1 ||
	    str_fmt(box, sizeof(box), "%s/%s", domdir, t->user) == -1 ||
	    str_fmt(tmpdir, sizeof(tmpdir), "%s/tmp", box) == -1 ||
	    str_fmt(newdir, sizeof(newdir), "%s/new", box) == -1) {
		errno = ENAMETOOLONG;
		(void)str_copy(errpath, sizeof(errpath), c->maildirs);
		goto fail;
	}
	where_set(r, "", box);
	(void)str_copy(errpath, sizeof(errpath), box);

	/* The fast path opens tmp/NAME at once; only a missing directory
	 * costs the mkdirs and their fsyncs, once per mailbox. */
	for (tries = 0; fd == -1; tries++) {
		what = "cannot create in";
		(void)str_copy(errpath, sizeof(errpath), tmpdir);
		if (tries == MAILDIR_NAME_TRIES) {
			errno = EEXIST;
			goto fail;
		}
		if (maildir_name(c, name, sizeof(name)) == -1 ||
		    str_fmt(cand, sizeof(cand), "%s/%s", tmpdir,
		    name) == -1) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		fd = open(cand, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY, MAILDIR_FILE_MODE);
		if (fd != -1)
			break;
		if (errno == EINTR || errno == EEXIST)
			continue;
		if (errno == ENOENT && !made) {
			made = 1;
			if (maildir_make(c, domdir, box, &what, errpath,
			    sizeof(errpath)) == -1)
				goto fail;
			continue;
		}
		goto fail;
	}
	(void)str_copy(tmp, sizeof(tmp), cand);
	(void)str_copy(errpath, sizeof(errpath), tmp);

	src_init(&s, m, pre, prelen);
	for (;;) {
		if ((n = src_read(&s, copybuf, sizeof(copybuf))) == -1) {
			err = errno;
			result_set(r, DELIVER_TEMP, "4.3.0",
			    "cannot read queue file: %s", strerror(err));
			goto cleanup;
		}
		if (n == 0)
			break;
		what = "cannot write";
		if (fd_write_all(fd, copybuf, (size_t)n) == -1)
			goto fail;
	}
	what = "cannot fsync";
	if (fsync(fd) == -1)
		goto fail;
	fd2 = fd;
	fd = -1;
	what = "cannot close";
	if (close(fd2) == -1)	/* where NFS reports a failed write */
		goto fail;

	what = "cannot rename into";
	(void)str_copy(errpath, sizeof(errpath), newdir);
	for (tries = 0;; tries++) {
		if (str_fmt(dst, sizeof(dst), "%s/%s", newdir, name) == -1) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		if (rename_noreplace(tmp, dst) == 0)	/* the delivery */
			break;
		if (errno != EEXIST || tries + 1 == MAILDIR_NAME_TRIES ||
		    maildir_name(c, name, sizeof(name)) == -1)
			goto fail;
	}
	tmp[0] = '\0';
	if (fsync_dir(newdir) == -1) {
		/* Not known to be durable, and the mail will come again:
		 * take this copy back rather than deliver it twice. */
		err = errno;
		(void)unlink(dst);
		errno = err;
		what = "cannot fsync";
		goto fail;
	}
	where_set(r, "", dst);
	result_set(r, DELIVER_OK, "2.0.0", "delivered to maildir");
	return;
fail:
	result_errno(r, errno, what, errpath);
cleanup:
	if (fd != -1)
		(void)close(fd);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
}

/* --- commands ---------------------------------------------------------- */

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
	char buf[HDR_BLOCK];
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
	struct src	src;
	size_t		pos, len;	/* unwritten bytes: copybuf[pos..len) */
};

/* 0, with *fd closed once all is written or the command stopped
 * reading; -1 with errno when the queue file cannot be read. */
static int
feed_more(struct feed *f, int *fd)
{
	ssize_t n;

	for (;;) {
		if (f->pos == f->len) {
			if ((n = src_read(&f->src, copybuf,
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

static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

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

/* Run path with argv, the message on stdin, stdout to /dev/null, stderr
 * kept, under the deadline; r says what came of it.  The caller has set
 * r->where. */
static void
run_command(const struct deliver_msg *m, const struct alias_target *t,
    const char *path, char *const argv[], const char *pre, size_t prelen,
    struct deliver_result *r)
{
	struct sigaction ign, oldpipe;
	struct pollfd pfd[3];
	struct env env;
	struct feed feed;
	struct tail tail;
	char text[DELIVER_STDERR_TAIL + 1];
	const char *what;
	int in[2] = { -1, -1 }, er[2] = { -1, -1 }, null = -1, pidfd = -1;
	int status = 0, reaped = 0, ipid, iin, ierr, err, pipe_ignored = 0;
	int64_t deadline, now, wait;
	long timeout;
	pid_t pid = -1, w;
	nfds_t nfd;

	tail.len = 0;
	tail.cut = 0;
	if (env_make(&env, m, t) == -1) {
		result_set(r, DELIVER_TEMP, "4.3.0",
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
	what = "pipe";
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(er, O_CLOEXEC) == -1)
		goto fail;
	what = "open /dev/null";
	do
		null = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	while (null == -1 && errno == EINTR);
	if (null == -1)
		goto fail;
	/* Only our ends: the command gets ordinary blocking descriptors. */
	what = "fcntl";
	if (set_nonblock(in[1]) == -1 || set_nonblock(er[0]) == -1)
		goto fail;

	/* 0 would kill every command at once: a second is the least. */
	timeout = m->conf->command_timeout > 0 ? m->conf->command_timeout : 1;
	deadline = clock_ms() + (int64_t)timeout * 1000;
	what = "fork";
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0)
		child_exec(in[0], null, er[1], path, argv, env.envp);
	fd_close(&in[0]);
	fd_close(&er[1]);
	fd_close(&null);
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0U);
#endif

	src_init(&feed.src, m, pre, prelen);
	feed.pos = feed.len = 0;
	while (!reaped) {
		now = clock_ms();
		if (now >= deadline) {
			kill_reap(pid, &status);
			result_set(r, DELIVER_TEMP, "4.3.0",
			    "command timed out after %ld s", timeout);
			goto out;
		}
		wait = deadline - now;
		if (pidfd == -1 && wait > PID_POLL_MS)
			wait = PID_POLL_MS;
		if (wait > INT_MAX)	/* a timeout of up to a year */
			wait = INT_MAX;
		nfd = 0;
		iin = ierr = ipid = -1;
		if (in[1] != -1) {
			pfd[nfd].fd = in[1];
			pfd[nfd].events = POLLOUT;
			iin = (int)nfd++;
		}
		if (er[0] != -1) {
			pfd[nfd].fd = er[0];
			pfd[nfd].events = POLLIN;
			ierr = (int)nfd++;
		}
		if (pidfd != -1) {
			pfd[nfd].fd = pidfd;
			pfd[nfd].events = POLLIN;
			ipid = (int)nfd++;
		}
		if (poll(pfd, nfd, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			err = errno;
			kill_reap(pid, &status);
			errno = err;
			what = "poll";
			goto fail;
		}
		if (iin != -1 && pfd[iin].revents != 0 &&
		    feed_more(&feed, &in[1]) == -1) {
			/* Killed before it sees an end of file: a part of
			 * the message must not pass for the whole. */
			err = errno;
			kill_reap(pid, &status);
			result_set(r, DELIVER_TEMP, "4.3.0",
			    "cannot read queue file: %s", strerror(err));
			goto out;
		}
		if (ierr != -1 && pfd[ierr].revents != 0)
			tail_read(&tail, &er[0]);
		if (pidfd == -1 || pfd[ipid].revents != 0) {
			w = wait_child(pid, &status,
			    pidfd == -1 ? WNOHANG : 0);
			if (w == -1) {
				err = errno;
				kill_reap(pid, &status);
				errno = err;
				what = "waitpid";
				goto fail;
			}
			reaped = w == pid;
		}
	}
	/* What it wrote before it exited; a background process that keeps
	 * stderr open is not waited for. */
	if (er[0] != -1)
		tail_read(&tail, &er[0]);
	tail_text(&tail, text, sizeof(text));

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		result_set(r, DELIVER_OK, "2.0.0", "command exited 0");
	else if (WIFEXITED(status))
		result_set(r, WEXITSTATUS(status) == EX_TEMPFAIL_ ?
		    DELIVER_TEMP : DELIVER_PERM,
		    WEXITSTATUS(status) == EX_TEMPFAIL_ ? "4.3.0" : "5.3.0",
		    "command exited with status %d%s%s", WEXITSTATUS(status),
		    text[0] != '\0' ? ": " : "", text);
	else
		result_set(r, DELIVER_TEMP, "4.3.0",
		    "command killed by signal %d%s%s",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		    text[0] != '\0' ? ": " : "", text);
	goto out;
fail:
	err = errno;
	result_set(r, DELIVER_TEMP, "4.3.0", "cannot run command: %s: %s",
	    what, strerror(err));
out:
	fd_close(&in[0]);
	fd_close(&in[1]);
	fd_close(&er[0]);
	fd_close(&er[1]);
	fd_close(&null);
	fd_close(&pidfd);
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
		result_set(r, DELIVER_TEMP, "4.3.5", "domain %s: %s", domain,
		    strerror(errno));
		return -1;
	}
	if ((fd = fileline_open(a->path)) == -1) {
		if (errno == ENOENT)
			return 0;
		result_errno(r, errno, "cannot open", a->path);
		return -1;
	}
	fileline_init(&fl, fd, MDA_LINES_MAX);
	for (;;) {
		n = fileline_get(&fl, a->line, sizeof(a->line));
		if (n == -1) {
			result_errno(r, errno, "cannot read", a->path);
			break;
		}
		if (n == 0) {
			result_set(r, DELIVER_TEMP, "4.3.5",
			    "%s: no command", a->path);
			break;
		}
		while (n > 0 && (a->line[n - 1] == '\n' ||
		    a->line[n - 1] == '\r'))
			a->line[--n] = '\0';
		for (i = 0; is_wsp(a->line[i]); i++)
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
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		if (argc == MDA_ARGS_MAX) {
			result_set(r, DELIVER_TEMP, "4.3.5",
			    "%s: more than %d arguments", a->path,
			    MDA_ARGS_MAX);
			return -1;
		}
		a->argv[argc++] = s.s + s.len;
		for (; *p != '\0' && !is_wsp(*p); p++) {
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
				result_set(r, DELIVER_TEMP, "4.3.5",
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
		result_set(r, DELIVER_TEMP, "4.3.5", "%s: no command", a->path);
		return -1;
	}
	return 0;
toolong:
	result_set(r, DELIVER_TEMP, "4.3.5", "%s: command too long", a->path);
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
		result_set(r, DELIVER_TEMP, "4.3.5", "%s: command too long",
		    a->path);
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
	result_set(r, DELIVER_TEMP, "4.3.5", "%s: %s not found in %s",
	    a->path, a->argv[0], DELIVER_PATH);
	return -1;
}

/* --- the entry points -------------------------------------------------- */

void
deliver_mailbox(const struct deliver_msg *m, const struct alias_target *t,
    struct deliver_result *r)
{
	static struct mda mda;	/* some 10 KiB: off the stack */
	char pre[PREFIX_MAX];
	size_t prelen;
	int found;

	result_init(r);
	if (!path_safe(t->user) || !path_safe(t->domain)) {
		result_set(r, DELIVER_PERM, "5.1.3",
		    "mailbox %s is not usable as a file name", t->addr);
		return;
	}
	if (prefix_make(m, t, pre, sizeof(pre), &prelen) == -1) {
		result_set(r, DELIVER_TEMP, "4.3.0", "envelope too long");
		return;
	}
	if (check_loop(m, t, r) == -1)
		return;
	if ((found = mda_read(m->conf, t->domain, &mda, r)) == -1)
		return;
	if (found == 0) {
		maildir_deliver(m, t, pre, prelen, r);
		return;
	}
	if (mda_args(&mda, m, t, r) == -1)
		return;
	where_set(r, "", mda.argv[0]);
	if (mda_find(&mda, r) == -1)
		return;
	run_command(m, t, mda.exe, mda.argv, pre, prelen, r);
}

void
deliver_pipe(const struct deliver_msg *m, const struct alias_target *t,
    struct deliver_result *r)
{
	char sh[] = "sh", dashc[] = "-c", cmd[ALIAS_CMD_MAX + 1];
	char *argv[] = { sh, dashc, cmd, NULL };
	char pre[PREFIX_MAX];
	const char *p;
	size_t prelen;

	result_init(r);
	for (p = t->cmd; is_wsp(*p); p++)
		;
	where_set(r, "| ", p);
	if (*p == '\0') {
		result_set(r, DELIVER_TEMP, "4.3.5", "pipe alias %s: no command",
		    t->addr);
		return;
	}
	if (str_copy(cmd, sizeof(cmd), p) == -1) {
		result_set(r, DELIVER_TEMP, "4.3.5",
		    "pipe alias %s: command too long", t->addr);
		return;
	}
	if (prefix_make(m, t, pre, sizeof(pre), &prelen) == -1) {
		result_set(r, DELIVER_TEMP, "4.3.0", "envelope too long");
		return;
	}
	if (check_loop(m, t, r) == -1)
		return;
	run_command(m, t, DELIVER_SHELL, argv, pre, prelen, r);
}
