/* maildir.c — delivery into a Maildir (maildir(5)): the message is
 * written to tmp/ under a name unique on this host, fsynced, renamed into
 * new/ without ever replacing a message there, and new/ is fsynced; only
 * then is the mail delivered.  The Maildir and the domain's directory
 * above it are made on first delivery, each new name made durable. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "deliver.h"
#include "maildir.h"
#include "io.h"
#include "str.h"

enum {
	MAILDIR_MODE = 0700,		/* the mailbox is the user's alone */
	MAILDIR_FILE_MODE = 0600,
	/* A name in tmp/ or new/ that exists already (same second, pid and
	 * counter after a pid wrap) gets a new one, a bounded number of
	 * times. */
	MAILDIR_NAME_TRIES = 16,
	/* The host part of a Maildir name: NAME_MAX (255) bytes hold it with
	 * the time, pid and counter in front. */
	MAILDIR_HOST_MAX = 160
};

/* One delivery: the paths, and what failed on which of them. */
struct box {
	const struct conf *c;
	char	 domdir[PATH_MAX];	/* MAILDIRS/DOMAIN */
	char	 box[PATH_MAX];		/* the Maildir */
	char	 tmpdir[PATH_MAX], newdir[PATH_MAX];
	char	 name[NAME_MAX + 1];	/* the file's, in tmp/ and new/ */
	char	 tmp[PATH_MAX];		/* tmp/NAME while it is ours, or "" */
	char	 dst[PATH_MAX];		/* new/NAME */
	const char *what;		/* "cannot write", ... */
	char	 errpath[PATH_MAX];	/* ... on this */
};

/* Successive deliveries of this process: the Q part of a Maildir name. */
static unsigned maildir_seq;
static char copybuf[DELIVER_COPY_BUFSZ];

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

/* The failed system call of b (errno) as the result; -1. */
static int
box_fail(const struct box *b, struct deliver_result *r)
{
	deliver_result_errno(r, errno, b->what, b->errpath);
	return -1;
}

static int
box_paths(struct box *b, const struct alias_target *t)
{
	if (str_fmt(b->domdir, sizeof(b->domdir), "%s/%s", b->c->maildirs,
	    t->domain) == -1 ||
	    str_fmt(b->box, sizeof(b->box), "%s/%s", b->domdir,
	    t->user) == -1 ||
	    str_fmt(b->tmpdir, sizeof(b->tmpdir), "%s/tmp", b->box) == -1 ||
	    str_fmt(b->newdir, sizeof(b->newdir), "%s/new", b->box) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Create tmp/NAME: the descriptor, with b->tmp set, or -1 with r set.
 * The fast path opens it at once; only a missing directory costs the
 * mkdirs and their fsyncs, once per mailbox. */
static int
box_create(struct box *b, struct deliver_result *r)
{
	char cand[PATH_MAX];
	int fd = -1, made = 0, tries;

	for (tries = 0; fd == -1; tries++) {
		b->what = "cannot create in";
		(void)str_copy(b->errpath, sizeof(b->errpath), b->tmpdir);
		if (tries == MAILDIR_NAME_TRIES) {
			errno = EEXIST;
			return box_fail(b, r);
		}
		if (maildir_name(b->c, b->name, sizeof(b->name)) == -1 ||
		    str_fmt(cand, sizeof(cand), "%s/%s", b->tmpdir,
		    b->name) == -1) {
			errno = ENAMETOOLONG;
			return box_fail(b, r);
		}
		fd = open(cand, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW | O_NOCTTY, MAILDIR_FILE_MODE);
		if (fd != -1)
			break;
		if (errno == EINTR || errno == EEXIST)
			continue;
		if (errno == ENOENT && !made) {
			made = 1;
			if (maildir_make(b->c, b->domdir, b->box, &b->what,
			    b->errpath, sizeof(b->errpath)) == -1)
				return box_fail(b, r);
			continue;
		}
		return box_fail(b, r);
	}
	(void)str_copy(b->tmp, sizeof(b->tmp), cand);
	(void)str_copy(b->errpath, sizeof(b->errpath), b->tmp);
	return fd;
}

/* The message into *fd, fsynced and closed (*fd = -1 then); 0, or -1
 * with r set. */
static int
box_write(struct box *b, int *fd, const struct deliver_msg *m,
    const char *pre, size_t prelen, struct deliver_result *r)
{
	struct deliver_src s;
	ssize_t n;
	int fd2;

	deliver_src_init(&s, m, pre, prelen);
	for (;;) {
		if ((n = deliver_src_read(&s, copybuf,
		    sizeof(copybuf))) == -1) {
			deliver_result_set(r, DELIVER_TEMP, "4.3.0",
			    "cannot read queue file: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		b->what = "cannot write";
		if (fd_write_all(*fd, copybuf, (size_t)n) == -1)
			return box_fail(b, r);
	}
	b->what = "cannot fsync";
	if (fsync(*fd) == -1)
		return box_fail(b, r);
	fd2 = *fd;
	*fd = -1;
	b->what = "cannot close";
	if (close(fd2) == -1)	/* where NFS reports a failed write */
		return box_fail(b, r);
	return 0;
}

/* tmp/NAME into new/, under a new name if NAME is taken there, and new/
 * fsynced; 0, or -1 with r set. */
static int
box_move(struct box *b, struct deliver_result *r)
{
	int tries, err;

	b->what = "cannot rename into";
	(void)str_copy(b->errpath, sizeof(b->errpath), b->newdir);
	for (tries = 0;; tries++) {
		if (str_fmt(b->dst, sizeof(b->dst), "%s/%s", b->newdir,
		    b->name) == -1) {
			errno = ENAMETOOLONG;
			return box_fail(b, r);
		}
		/* Never over a message already in new/: the delivery. */
		if (atomic_rename_noreplace(b->tmp, b->dst) == 0)
			break;
		if (errno != EEXIST || tries + 1 == MAILDIR_NAME_TRIES ||
		    maildir_name(b->c, b->name, sizeof(b->name)) == -1)
			return box_fail(b, r);
	}
	b->tmp[0] = '\0';
	if (fsync_dir(b->newdir) == -1) {
		/* Not known to be durable, and the mail will come again:
		 * take this copy back rather than deliver it twice. */
		err = errno;
		(void)unlink(b->dst);
		errno = err;
		b->what = "cannot fsync";
		return box_fail(b, r);
	}
	return 0;
}

void
maildir_deliver(const struct deliver_msg *m, const struct alias_target *t,
    const char *pre, size_t prelen, struct deliver_result *r)
{
	struct box b;
	int fd = -1;

	b.c = m->conf;
	b.tmp[0] = '\0';
	if (box_paths(&b, t) == -1) {
		deliver_result_errno(r, errno, "cannot deliver to",
		    b.c->maildirs);
		return;
	}
	deliver_where_set(r, "", b.box);
	if ((fd = box_create(&b, r)) == -1 ||
	    box_write(&b, &fd, m, pre, prelen, r) == -1 ||
	    box_move(&b, r) == -1)
		goto out;
	deliver_where_set(r, "", b.dst);
	deliver_result_set(r, DELIVER_OK, "2.0.0", "delivered to maildir");
out:
	if (fd != -1)
		(void)close(fd);
	if (b.tmp[0] != '\0')
		(void)unlink(b.tmp);
}
