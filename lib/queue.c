/* queue.c — putting a message into the queue durably, and reading its
 * envelope back.  The layout and the file format are posthorn-queue(5);
 * this file is the only writer of SPOOL/tmp and SPOOL/new.  A message
 * becomes deliverable at exactly one instant, the rename(2) in
 * queue_commit, and only after its bytes are on disk; every failure
 * before or around that instant leaves nothing behind that could be
 * delivered.
 *
 * queue-inject(8) runs this code with its caller's uid (root, when cron
 * mails) and the group posthorn-drop, in a spool that the posthorn user
 * owns.  So tmp/ and new/ are opened once, without following a symbolic
 * link, and every name after that is taken relative to them: a posthorn
 * that swapped either directory for a link (to /etc/cron.d, say) must
 * not steer a write of root's there.  The names inside them are never
 * followed either (O_EXCL, renameat2). */

#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "io.h"
#include "queue.h"
#include "str.h"

enum {
	/* tmp/ID exists only when the same pid reappears within the same
	 * microsecond, or a crashed writer left it; a few new times are
	 * plenty, and an endless loop is not. */
	QUEUE_CREATE_TRIES = 16,
	ID_SEC_DIGITS = 7,		/* 35 bits: good until the year 3058 */
	ID_USEC_DIGITS = 4,		/* 20 bits hold 999999 */
	ID_PID_DIGITS = 5,		/* 25 bits hold pid_max (2^22) */
	ENV_READ_FIRST = 16 * 1024,	/* most envelopes: one read */
	ENV_UID_MAX = 24		/* "uid " and a long in decimal */
};

/* Crockford's base32: no I, L, O, U, so an ID reads back unambiguously;
 * the digits come first, so IDs of equal length sort by value. */
static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
b32_put(char *out, unsigned digits, uint64_t v)
{
	while (digits-- > 0) {
		out[digits] = b32[v & 31];
		v >>= 5;
	}
}

static int
b32_get(const char *s, unsigned digits, uint64_t *v)
{
	const char *p;

	*v = 0;
	for (; digits > 0; digits--, s++) {
		if (*s == '\0' || (p = strchr(b32, *s)) == NULL)
			return -1;
		*v = (*v << 5) | (uint64_t)(p - b32);
	}
	return 0;
}

int
queue_id_valid(const char *s)
{
	return strlen(s) == QUEUE_ID_LEN && strspn(s, b32) == QUEUE_ID_LEN;
}

/* A fresh ID: seconds, microseconds, pid.  Within one process a second
 * ID never reuses the time of the one before, even if the clock did not
 * move (or moved back), so a loop of creates cannot collide with a
 * message it already committed to new/, where O_EXCL on tmp/ cannot see
 * it.  Across processes the pid keeps IDs apart. */
static void
next_id(char *id)
{
	static uint64_t last;	/* microseconds since the epoch */
	struct timespec ts;
	uint64_t us;

	if (clock_now(CLOCK_REALTIME, &ts) == -1) {
		ts.tv_sec = time(NULL);
		ts.tv_nsec = 0;
	}
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (us <= last)
		us = last + 1;
	last = us;
	b32_put(id, ID_SEC_DIGITS, us / 1000000);
	b32_put(id + ID_SEC_DIGITS, ID_USEC_DIGITS, us % 1000000);
	b32_put(id + ID_SEC_DIGITS + ID_USEC_DIGITS, ID_PID_DIGITS,
	    (uint64_t)getpid());
	id[QUEUE_ID_LEN] = '\0';
}

/* dir under the spool, never through a symbolic link; O_PATH for a
 * directory that is only named through (tmp/, where posthorn-drop may
 * write and search but not list), O_RDONLY for one to fsync (new/). */
static int
open_sub(int spoolfd, const char *dir, int how)
{
	int fd;

	do
		fd = openat(spoolfd, dir, how | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	return fd;
}

int
queue_create(struct queue_msg *m, const char *spool)
{
	int spoolfd = -1, tries;

	m->fd = -1;
	m->tmpdir = -1;
	m->newfd = -1;
	m->size = 0;
	m->envlen = 0;
	m->reserve_off = 0;
	m->reserve = 0;
	m->len = 0;
	m->id[0] = '\0';	/* no ID of an earlier message in a log line */
	m->tmp[0] = '\0';
	/* Opened now so that the commit is one rename and one fsync, and so
	 * that a missing spool is found before any byte is taken in. */
	if ((spoolfd = open(spool, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (m->tmpdir = open_sub(spoolfd, QUEUE_TMP, O_PATH)) == -1 ||
	    (m->newfd = open_sub(spoolfd, QUEUE_NEW, O_RDONLY)) == -1)
		goto fail;
	fd_close(&spoolfd);
	for (tries = 0; tries < QUEUE_CREATE_TRIES; tries++) {
		next_id(m->id);
		if (str_fmt(m->tmp, sizeof m->tmp, "%s/%s/%s", spool,
		    QUEUE_TMP, m->id) == -1)
			goto fail;
		m->fd = openat(m->tmpdir, m->id, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0640);
		if (m->fd != -1)
			return 0;
		if (errno != EEXIST && errno != EINTR)
			goto fail;
	}
	/* errno is EEXIST (or EINTR): the caller reports a temporary
	 * failure. */
fail:
	m->tmp[0] = '\0';	/* nothing of ours to unlink */
	fd_close(&spoolfd);
	fd_close(&m->tmpdir);
	fd_close(&m->newfd);
	return -1;
}

static int
flush(struct queue_msg *m)
{
	if (m->len > 0 && fd_write_all(m->fd, m->buf, m->len) == -1)
		return -1;
	m->len = 0;
	return 0;
}

/* Buffer n bytes; a chunk at least as large as the buffer goes straight
 * to write(2) rather than being copied through it. */
static int
put_raw(struct queue_msg *m, const char *p, size_t n)
{
	size_t k;

	if (m->fd == -1) {
		errno = EBADF;
		return -1;
	}
	while (n > 0) {
		if (m->len == 0 && n >= sizeof m->buf)
			return fd_write_all(m->fd, p, n);
		k = sizeof m->buf - m->len;
		if (k > n)
			k = n;
		memcpy(m->buf + m->len, p, k);
		m->len += k;
		p += k;
		n -= k;
		if (m->len == sizeof m->buf && flush(m) == -1)
			return -1;
	}
	return 0;
}

/* An envelope value must stay on its line: posthorn-queue(5) has no
 * escapes, so a value that could break the line is refused outright. */
static int
value_ok(const char *v)
{
	return v != NULL && strpbrk(v, "\r\n") == NULL;
}

/* One envelope line, "key" alone when value is NULL; *total tracks the
 * block against QUEUE_ENV_MAX. */
static int
put_line(struct queue_msg *m, size_t *total, const char *key,
    const char *open, const char *value, const char *close)
{
	size_t n;

	n = strlen(key) + 1;
	if (value != NULL)
		n += 1 + strlen(open) + strlen(value) + strlen(close);
	if (*total + n + 1 > QUEUE_ENV_MAX) {	/* + 1: the empty line */
		errno = E2BIG;
		return -1;
	}
	*total += n;
	if (put_raw(m, key, strlen(key)) == -1)
		return -1;
	if (value != NULL &&
	    (put_raw(m, " ", 1) == -1 ||
	    put_raw(m, open, strlen(open)) == -1 ||
	    put_raw(m, value, strlen(value)) == -1 ||
	    put_raw(m, close, strlen(close)) == -1))
		return -1;
	return put_raw(m, "\n", 1);
}

static int	put_pad(struct queue_msg *, size_t *, size_t);

int
queue_put_env(struct queue_msg *m, const struct queue_env *e)
{
	char num[ENV_UID_MAX], notify[DSN_NOTIFY_TEXT_MAX];
	uint64_t secs;
	size_t i, total = 0;

	if (!value_ok(e->sender) || e->nrcpts == 0 || e->rcpts == NULL ||
	    !value_ok(e->via) || e->via[0] == '\0' ||
	    (e->peer != NULL && !value_ok(e->peer)) ||
	    (e->helo != NULL && !value_ok(e->helo)) ||
	    (e->auth != NULL && !value_ok(e->auth)) ||
	    (e->authres != NULL && !value_ok(e->authres)) ||
	    (e->envid != NULL && (!value_ok(e->envid) ||
	    e->envid[0] == '\0'))) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < e->nrcpts; i++)
		if (!value_ok(e->rcpts[i]) || e->rcpts[i][0] == '\0' ||
		    (e->orcpt != NULL && e->orcpt[i] != NULL &&
		    (!value_ok(e->orcpt[i]) || strchr(e->orcpt[i], ';') ==
		    NULL))) {
			errno = EINVAL;
			return -1;
		}
	/* The arrival time is the one the ID was made of. */
	if (b32_get(m->id, ID_SEC_DIGITS, &secs) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (str_fmt(num, sizeof num, "%d", QUEUE_FORMAT_VERSION) == -1 ||
	    put_line(m, &total, QUEUE_MAGIC, "", num, "") == -1 ||
	    put_line(m, &total, "id", "", m->id, "") == -1 ||
	    str_fmt(num, sizeof num, "%llu", (unsigned long long)secs) == -1 ||
	    put_line(m, &total, "time", "", num, "") == -1 ||
	    put_line(m, &total, "from", "<", e->sender, ">") == -1)
		return -1;
	/* A recipient's DSN parameters follow its line: a reader that
	 * does not know them skips them. */
	for (i = 0; i < e->nrcpts; i++) {
		if (put_line(m, &total, "rcpt", "<", e->rcpts[i], ">") == -1)
			return -1;
		if (e->notify != NULL && e->notify[i] != 0) {
			dsn_notify_format(e->notify[i], notify, sizeof notify);
			if (put_line(m, &total, "notify", "", notify, "") == -1)
				return -1;
		}
		if (e->orcpt != NULL && e->orcpt[i] != NULL &&
		    put_line(m, &total, "orcpt", "", e->orcpt[i], "") == -1)
			return -1;
	}
	if ((e->ret == DSN_RET_FULL || e->ret == DSN_RET_HDRS) &&
	    put_line(m, &total, "ret", "", dsn_ret_name(e->ret), "") == -1)
		return -1;
	if (e->envid != NULL &&
	    put_line(m, &total, "envid", "", e->envid, "") == -1)
		return -1;
	if ((e->flags & QUEUE_SMTPUTF8) &&
	    put_line(m, &total, "smtputf8", NULL, NULL, NULL) == -1)
		return -1;
	if ((e->flags & QUEUE_8BITMIME) &&
	    put_line(m, &total, "body", "", "8bitmime", "") == -1)
		return -1;
	if (put_line(m, &total, "via", "", e->via, "") == -1 ||
	    (e->peer != NULL &&
	    put_line(m, &total, "peer", "", e->peer, "") == -1) ||
	    (e->helo != NULL &&
	    put_line(m, &total, "helo", "", e->helo, "") == -1) ||
	    (e->auth != NULL &&
	    put_line(m, &total, "auth", "", e->auth, "") == -1) ||
	    (e->authres != NULL &&
	    put_line(m, &total, "authres", "", e->authres, "") == -1))
		return -1;
	if (e->uid >= 0 &&
	    (str_fmt(num, sizeof num, "%ld", e->uid) == -1 ||
	    put_line(m, &total, "uid", "", num, "") == -1))
		return -1;
	if (e->reserve > 0 && put_pad(m, &total, e->reserve) == -1)
		return -1;
	m->envlen = total + 1;
	return put_raw(m, "\n", 1);
}

/* The "pad" line of n bytes (at least 4) at the end of the envelope. */
static int
put_pad(struct queue_msg *m, size_t *total, size_t n)
{
	char blanks[64];
	size_t k, left;

	memset(blanks, ' ', sizeof(blanks));
	if (n < sizeof(QUEUE_ENV_PAD) || *total + n + 1 > QUEUE_ENV_MAX) {
		errno = n < sizeof(QUEUE_ENV_PAD) ? EINVAL : E2BIG;
		return -1;
	}
	m->reserve_off = *total;
	m->reserve = n;
	*total += n;
	if (put_raw(m, QUEUE_ENV_PAD, sizeof(QUEUE_ENV_PAD) - 1) == -1)
		return -1;
	for (left = n - sizeof(QUEUE_ENV_PAD); left > 0; left -= k) {
		k = left < sizeof(blanks) ? left : sizeof(blanks);
		if (put_raw(m, blanks, k) == -1)
			return -1;
	}
	return put_raw(m, "\n", 1);
}

int
queue_env_fill(struct queue_msg *m, const char *text, size_t n)
{
	char buf[QUEUE_RESERVE_MAX];
	size_t i;
	ssize_t w;

	if (m->fd == -1 || m->reserve == 0 || n == 0 ||
	    m->reserve > sizeof(buf) || text[n - 1] != '\n' ||
	    text[0] == '\n' || memchr(text, '\0', n) != NULL ||
	    memchr(text, '\r', n) != NULL) {
		errno = EINVAL;
		return -1;
	}
	for (i = 1; i < n; i++)
		if (text[i] == '\n' && text[i - 1] == '\n') {
			errno = EINVAL;	/* an empty line ends the envelope */
			return -1;
		}
	if (n != m->reserve && n + sizeof(QUEUE_ENV_PAD) > m->reserve) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf, text, n);
	if (n < m->reserve) {
		memcpy(buf + n, QUEUE_ENV_PAD, sizeof(QUEUE_ENV_PAD) - 1);
		memset(buf + n + sizeof(QUEUE_ENV_PAD) - 1, ' ',
		    m->reserve - n - sizeof(QUEUE_ENV_PAD));
		buf[m->reserve - 1] = '\n';
	}
	/* What is buffered goes first, so that the pwrite is the last
	 * word on those bytes whether they were flushed or not. */
	if (flush(m) == -1)
		return -1;
	do
		w = pwrite(m->fd, buf, m->reserve, (off_t)m->reserve_off);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return -1;
	if ((size_t)w != m->reserve) {
		errno = EIO;
		return -1;
	}
	m->reserve = 0;
	return 0;
}

int
queue_put(struct queue_msg *m, const void *p, size_t n)
{
	if (put_raw(m, p, n) == -1)
		return -1;
	m->size += n;
	return 0;
}

int
queue_reader(struct queue_msg *m)
{
	int fd;

	if (m->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (flush(m) == -1)
		return -1;
	do
		fd = openat(m->tmpdir, m->id, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	if (lseek(fd, (off_t)m->envlen, SEEK_SET) == -1) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Copy n bytes (or to the end when n is UINT64_MAX) of from at *off to
 * to, through the write buffer, which is empty. */
static int
copy_range(struct queue_msg *m, int from, off_t *off, int to, uint64_t n)
{
	ssize_t r;
	size_t k;

	while (n > 0) {
		k = n < sizeof m->buf ? (size_t)n : sizeof m->buf;
		if ((r = pread(from, m->buf, k, *off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			if (n == UINT64_MAX)
				return 0;
			errno = EIO;	/* the file is shorter than we wrote */
			return -1;
		}
		if (fd_write_all(to, m->buf, (size_t)r) == -1)
			return -1;
		*off += r;
		if (n != UINT64_MAX)
			n -= (uint64_t)r;
	}
	return 0;
}

int
queue_rewrite(struct queue_msg *m, const char *envline, const void *p,
    size_t n)
{
	size_t el = envline != NULL ? strlen(envline) : 0;
	char name[QUEUE_ID_LEN + 8];
	int in = -1, out = -1, rc = -1, saved;
	off_t off = 0;

	if (m->fd == -1) {
		errno = EBADF;
		return -1;
	}
	if (n == 0 && el == 0)
		return 0;
	if (m->envlen == 0 || (envline != NULL && (!value_ok(envline) ||
	    m->envlen + el + 1 > QUEUE_ENV_MAX))) {
		errno = EINVAL;
		return -1;
	}
	/* A name the sweep of tmp/ removes should we crash meanwhile. */
	if (flush(m) == -1 ||
	    str_fmt(name, sizeof name, "%s.new", m->id) == -1)
		return -1;
	do
		in = openat(m->tmpdir, m->id, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
	while (in == -1 && errno == EINTR);
	if (in == -1)
		return -1;
	do
		out = openat(m->tmpdir, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0640);
	while (out == -1 && errno == EINTR);
	if (out == -1)
		goto out;
	/* The envelope without its empty line, the new line, the empty
	 * line, the fields, then the message from the old file's first
	 * byte after its empty line. */
	if (copy_range(m, in, &off, out, m->envlen - 1) == -1 ||
	    (el > 0 && (fd_write_all(out, envline, el) == -1 ||
	    fd_write_all(out, "\n", 1) == -1)) ||
	    fd_write_all(out, "\n", 1) == -1 ||
	    (n > 0 && fd_write_all(out, p, n) == -1))
		goto undo;
	off = (off_t)m->envlen;
	if (copy_range(m, in, &off, out, UINT64_MAX) == -1 ||
	    renameat(m->tmpdir, name, m->tmpdir, m->id) == -1)
		goto undo;
	/* The new file is tmp/ID now; the commit fsyncs it. */
	fd_close(&m->fd);
	m->fd = out;
	out = -1;
	m->size += n;
	if (el > 0)
		m->envlen += el + 1;
	rc = 0;
	goto out;
undo:
	saved = errno;
	(void)unlinkat(m->tmpdir, name, 0);
	errno = saved;
out:
	saved = errno;
	fd_close(&in);
	fd_close(&out);
	errno = saved;
	return rc;
}

/* Close everything and remove the temporary; errno is kept for the
 * caller, who reports why the commit or the write failed. */
static void
discard(struct queue_msg *m)
{
	int saved = errno;

	fd_close(&m->fd);
	if (m->tmp[0] != '\0' && m->tmpdir != -1)
		(void)unlinkat(m->tmpdir, m->id, 0);
	m->tmp[0] = '\0';
	fd_close(&m->tmpdir);
	fd_close(&m->newfd);
	m->len = 0;
	errno = saved;
}

int
queue_commit(struct queue_msg *m)
{
	int fd;

	if (m->fd == -1 || m->newfd == -1) {
		errno = EBADF;
		goto fail;
	}
	if (flush(m) == -1)
		goto fail;
	if (fsync(m->fd) == -1)
		goto fail;
	fd = m->fd;
	m->fd = -1;
	/* On NFS and friends close(2) is where a write error shows. */
	if (close(fd) == -1)
		goto fail;
	/* Never over another message: IDs are unique by time and pid, but
	 * a clock stepped back with a pid reused, or two pid namespaces
	 * sharing a spool, must not overwrite one already acknowledged.  A
	 * crash inside the link(2) fallback leaves a second name in tmp/,
	 * which is never delivered from and is swept. */
	if (atomic_renameat_noreplace(m->tmpdir, m->id, m->newfd, m->id) ==
	    -1)						/* commit */
		goto fail;
	m->tmp[0] = '\0';
	if (fsync(m->newfd) == -1) {
		/* The rename may not survive a crash, yet the caller will
		 * answer 451 and the client will send again: the message
		 * must not be delivered from here as well.  Take it back
		 * out of new/.  (A queue-run that already picked it up may
		 * still deliver it: at least once, never zero times.) */
		int saved = errno;

		(void)unlinkat(m->newfd, m->id, 0);
		errno = saved;
		goto fail;
	}
	fd_close(&m->tmpdir);
	fd_close(&m->newfd);
	return 0;
fail:
	discard(m);
	return -1;
}

void
queue_abort(struct queue_msg *m)
{
	discard(m);
}

/* --- reading an envelope back ------------------------------------------ */

/* The envelope block at the start of fd, up to and including the empty
 * line: *blockp gets the text (NUL-terminated, the empty line cut off),
 * *bodyp the offset of the message.  pread(2) leaves the file offset
 * alone for the caller. */
static int
load_block(int fd, char **blockp, size_t *lenp, off_t *bodyp)
{
	char *buf = NULL, *nb, *end;
	size_t len = 0, cap = 0, scan = 0;
	ssize_t r;

	for (;;) {
		if (len == cap) {
			if (cap == QUEUE_ENV_MAX)
				goto bad;	/* no end within the bound */
			cap = cap == 0 ? ENV_READ_FIRST : cap * 2;
			if (cap > QUEUE_ENV_MAX)
				cap = QUEUE_ENV_MAX;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		r = pread(fd, buf + len, cap - len, (off_t)len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			goto bad;	/* no empty line: not a queue file */
		len += (size_t)r;
		/* The first "\n\n" ends the block; the search starts one
		 * byte back so that a pair split across reads is found. */
		if ((end = memmem(buf + scan, len - scan, "\n\n", 2)) != NULL) {
			*lenp = (size_t)(end - buf) + 1;
			*bodyp = (off_t)(*lenp + 1);
			buf[*lenp] = '\0';
			*blockp = buf;
			return 0;
		}
		scan = len - 1;
	}
bad:
	errno = EINVAL;
fail:
	free(buf);
	return -1;
}

/* "<address>" to "address", in place. */
static char *
unbracket(char *v)
{
	size_t n = strlen(v);

	if (n < 2 || v[0] != '<' || v[n - 1] != '>')
		return NULL;
	v[n - 1] = '\0';
	return v + 1;
}

int
queue_env_read(int fd, struct queue_envelope *env)
{
	char *line, *next, *value, *magic, *endp;
	size_t len, nr = 0;
	unsigned long long t;
	int have_time = 0;
	char ver[sizeof QUEUE_MAGIC + 16];

	memset(env, 0, sizeof *env);
	env->via = env->peer = env->helo = env->auth = env->envid = "";
	env->authres = "";
	env->uid = -1;
	if (load_block(fd, &env->block, &len, &env->body) == -1)
		return -1;
	if (memchr(env->block, '\0', len) != NULL)
		goto bad;
	/* Count the recipients first, so the array is allocated once. */
	for (line = env->block; (line = strstr(line, "\nrcpt ")) != NULL;
	    line++)
		nr++;
	if (nr == 0)
		goto bad;
	if ((env->rcpts = calloc(nr, sizeof *env->rcpts)) == NULL ||
	    (env->notify = calloc(nr, sizeof *env->notify)) == NULL ||
	    (env->orcpt = calloc(nr, sizeof *env->orcpt)) == NULL) {
		queue_env_free(env);
		return -1;
	}

	if (str_fmt(ver, sizeof ver, "%s %d", QUEUE_MAGIC,
	    QUEUE_FORMAT_VERSION) == -1)
		goto bad;
	magic = env->block;
	for (line = env->block; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line == magic) {
			if (strcmp(line, ver) != 0)
				goto bad;
			continue;
		}
		if ((value = strchr(line, ' ')) != NULL)
			*value++ = '\0';
		else
			value = line + strlen(line);	/* "" */
		if (strcmp(line, "id") == 0) {
			if (env->id[0] != '\0' || !queue_id_valid(value))
				goto bad;
			memcpy(env->id, value, QUEUE_ID_LEN + 1);
		} else if (strcmp(line, "time") == 0) {
			errno = 0;
			t = strtoull(value, &endp, 10);
			if (have_time || *value < '0' || *value > '9' ||
			    *endp != '\0' || errno != 0)
				goto bad;
			env->time = (time_t)t;
			have_time = 1;
		} else if (strcmp(line, "from") == 0) {
			if (env->sender != NULL ||
			    (env->sender = unbracket(value)) == NULL)
				goto bad;
		} else if (strcmp(line, "rcpt") == 0) {
			if (env->nrcpts == nr ||
			    (env->rcpts[env->nrcpts] = unbracket(value)) == NULL
			    || env->rcpts[env->nrcpts][0] == '\0')
				goto bad;
			env->nrcpts++;
		} else if (strcmp(line, "notify") == 0) {
			/* Of the recipient just before, once. */
			if (env->nrcpts == 0 ||
			    env->notify[env->nrcpts - 1] != 0 ||
			    dsn_notify_parse(value, strlen(value),
			    &env->notify[env->nrcpts - 1]) == -1)
				goto bad;
		} else if (strcmp(line, "orcpt") == 0) {
			if (env->nrcpts == 0 ||
			    env->orcpt[env->nrcpts - 1] != NULL ||
			    strchr(value, ';') == NULL)
				goto bad;
			env->orcpt[env->nrcpts - 1] = value;
		} else if (strcmp(line, "ret") == 0) {
			if (env->ret != DSN_RET_NONE ||
			    dsn_ret_parse(value, strlen(value), &env->ret) == -1)
				goto bad;
		} else if (strcmp(line, "envid") == 0) {
			if (env->envid[0] != '\0' || value[0] == '\0')
				goto bad;
			env->envid = value;
		} else if (strcmp(line, "via") == 0) {
			env->via = value;
		} else if (strcmp(line, "peer") == 0) {
			env->peer = value;
		} else if (strcmp(line, "helo") == 0) {
			env->helo = value;
		} else if (strcmp(line, "auth") == 0) {
			env->auth = value;
		} else if (strcmp(line, "uid") == 0) {
			errno = 0;
			t = strtoull(value, &endp, 10);
			if (*value < '0' || *value > '9' || *endp != '\0' ||
			    errno != 0 || t > LONG_MAX)
				goto bad;
			env->uid = (long)t;
		} else if (strcmp(line, "smtputf8") == 0) {
			env->flags |= QUEUE_SMTPUTF8;
		} else if (strcmp(line, QUEUE_ENV_AUTHRES) == 0) {
			env->authres = value;
		} else if (strcmp(line, QUEUE_ENV_LOCAL_ONLY) == 0) {
			env->flags |= QUEUE_LOCAL_ONLY;
		} else if (strcmp(line, "body") == 0) {
			if (strcmp(value, "8bitmime") == 0)
				env->flags |= QUEUE_8BITMIME;
		}
		/* Any other key is from a newer writer: ignored. */
	}
	if (env->id[0] == '\0' || !have_time || env->sender == NULL ||
	    env->nrcpts != nr)
		goto bad;
	return 0;
bad:
	queue_env_free(env);
	errno = EINVAL;
	return -1;
}

void
queue_env_free(struct queue_envelope *env)
{
	free(env->rcpts);
	free(env->notify);
	free(env->orcpt);
	free(env->block);
	env->rcpts = NULL;
	env->notify = NULL;
	env->orcpt = NULL;
	env->block = NULL;
	env->sender = NULL;
	env->via = env->peer = env->helo = env->auth = env->envid = "";
	env->authres = "";
	env->nrcpts = 0;
}

int
queue_room(int fd, const char *spool, uint64_t floor, uint64_t size)
{
	struct statvfs sv;
	uint64_t avail;
	int r;

	if (floor == 0)
		return 1;
	do
		r = fd != -1 ? fstatvfs(fd, &sv) : statvfs(spool, &sv);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return avail >= floor && avail - floor >= size;
}
