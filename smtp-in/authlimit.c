/* authlimit.c — failures per source and per login that outlive a
 * session, and turns for argon2id (authlimit.h says what and why).
 *
 * The table is one file of fixed size: a header with the key of its hash,
 * then AUTHLIM_SLOTS entries read and written in place with pread and
 * pwrite under flock(2).  It is host-local and rebuilt by deleting it
 * (every count then starts again at zero), so its numbers are native.
 * The lock is held for a lookup or an update, never during a
 * verification. */

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "authlimit.h"
#include "idna.h"
#include "io.h"
#include "srctab.h"
#include "str.h"

#define TABLE_FILE	"failures"
#define TABLE_MAGIC	"posthorn-authfail 1\n"

struct entry {
	unsigned char	tag[16];	/* which source or login */
	uint32_t	count;		/* failures, as of last */
	uint32_t	unused;
	int64_t		last;		/* s: the last failure */
};

struct header {
	char		magic[32];
	unsigned char	key[32];
};

_Static_assert(sizeof(struct entry) == 32, "entries are 32 bytes");

enum {
	HEADER_SIZE = 64,
	TABLE_SIZE = HEADER_SIZE + AUTHLIM_SLOTS * (int)sizeof(struct entry),
	KEY_TEXT_MAX = 2 + 2 * SRCTAB_KEY + 1 + 320	/* "l:" and a login */
};

_Static_assert(sizeof(struct header) == HEADER_SIZE, "header is 64");

/* --- keys -------------------------------------------------------------- */

/* "s:" and the source's key (IPv4, or IPv6 cut to its /64) in hex, or
 * "s:" and the text itself when it is no address. */
static void
source_text(const char *source, char *out, size_t size)
{
	struct srckey k;
	char hex[2 * SRCTAB_KEY + 1];

	if (srctab_key_text(source, &k) == -1) {
		str_fmt_cut(out, size, "s:%s", source);
		return;
	}
	sodium_bin2hex(hex, sizeof(hex), k.b, sizeof(k.b));
	str_fmt_cut(out, size, "s:%s", hex);
}

/* One key for a login in either spelling of an international domain
 * (idna.h): anna@bücher.example and anna@xn--bcher-kva.example reach
 * the same password, so they share one count, or a name of k such
 * labels would have 2^k times the failures of its limit. */
static void
login_text(const char *login, char *out, size_t size)
{
	char a[IDNA_DOMAIN_MAX + 1];
	const char *at = strrchr(login, '@');

	if (at != NULL && idna_is_intl(at + 1) &&
	    idna_to_ascii(at + 1, a, sizeof(a)) == IDNA_OK)
		str_fmt_cut(out, size, "l:%.*s@%s", (int)(at - login), login,
		    a);
	else
		str_fmt_cut(out, size, "l:%s", login);
	str_lower(out);
}

/* The slot where a key's probe starts, and its tag. */
static void
locate(const struct authlim *a, const char *text, size_t *slot,
    unsigned char tag[16])
{
	unsigned char h[24];
	uint64_t v = 0;
	size_t i;

	crypto_generichash(h, sizeof(h), (const unsigned char *)text,
	    strlen(text), a->key, sizeof(a->key));
	for (i = 0; i < 8; i++)
		v = v << 8 | h[i];
	*slot = (size_t)(v % AUTHLIM_SLOTS);
	memcpy(tag, h + 8, 16);
}

/* --- the table --------------------------------------------------------- */

static int
lock(const struct authlim *a, int how)
{
	while (flock(a->fd, how) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Entry slot of the table, read into e or written from it. */
static int
entry_io(const struct authlim *a, size_t slot, struct entry *e, int write)
{
	off_t at = HEADER_SIZE + (off_t)slot * (off_t)sizeof(*e);
	ssize_t r;

	do
		r = write ? pwrite(a->fd, e, sizeof(*e), at) :
		    pread(a->fd, e, sizeof(*e), at);
	while (r == -1 && errno == EINTR);
	if (r == (ssize_t)sizeof(*e))
		return 0;
	if (r >= 0)
		errno = EIO;
	return -1;
}

/* Failures an entry still counts at now. */
static uint32_t
current(const struct entry *e, int64_t now)
{
	int64_t forgotten;

	if (e->count == 0)
		return 0;
	forgotten = now > e->last ? (now - e->last) / AUTHLIM_FORGET : 0;
	return forgotten >= (int64_t)e->count ? 0 :
	    e->count - (uint32_t)forgotten;
}

/* The slot of text's entry, or where a new one goes (*found 0): the
 * first slot of the probe that counts nothing, else the one that counts
 * least.  -1 on a read error. */
static int
find(const struct authlim *a, const char *text, int64_t now, size_t *at,
    struct entry *e, int *found)
{
	unsigned char tag[16];
	struct entry cur;
	size_t start, slot, i;
	uint32_t least = UINT32_MAX, n;

	locate(a, text, &start, tag);
	*found = 0;
	for (i = 0; i < AUTHLIM_PROBE; i++) {
		slot = (start + i) % AUTHLIM_SLOTS;
		if (entry_io(a, slot, &cur, 0) == -1)
			return -1;
		n = current(&cur, now);
		if (n > 0 && sodium_memcmp(cur.tag, tag, sizeof(tag)) == 0) {
			*at = slot;
			*e = cur;
			*found = 1;
			return 0;
		}
		if (n < least) {
			least = n;
			*at = slot;
		}
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->tag, tag, sizeof(tag));
	return 0;
}

static int
count_of(const struct authlim *a, const char *text, int64_t now,
    uint32_t *n)
{
	struct entry e;
	size_t at;
	int found;

	if (find(a, text, now, &at, &e, &found) == -1)
		return -1;
	*n = found ? current(&e, now) : 0;
	return 0;
}

static int
add_failure(const struct authlim *a, const char *text, int64_t now)
{
	struct entry e;
	size_t at;
	int found;
	uint32_t n;

	if (find(a, text, now, &at, &e, &found) == -1)
		return -1;
	n = found ? current(&e, now) : 0;
	e.count = n < UINT32_MAX ? n + 1 : n;
	e.last = now;
	return entry_io(a, at, &e, 1);
}

/* A new table: the header with a fresh key, the entries zero. */
static int
table_init(struct authlim *a)
{
	struct header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, TABLE_MAGIC, sizeof(TABLE_MAGIC) - 1);
	randombytes_buf(h.key, sizeof(h.key));
	if (ftruncate(a->fd, 0) == -1 || ftruncate(a->fd, TABLE_SIZE) == -1 ||
	    pwrite(a->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	memcpy(a->key, h.key, sizeof(a->key));
	return 0;
}

/* The key from the header; a table that is not one (new, cut, another
 * size) is made again, which forgets what it counted. */
static int
table_load(struct authlim *a)
{
	struct header h;
	struct stat st;
	int r = -1;

	if (lock(a, LOCK_EX) == -1)
		return -1;
	if (fstat(a->fd, &st) == -1)
		goto out;
	if (st.st_size == TABLE_SIZE &&
	    pread(a->fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    memcmp(h.magic, TABLE_MAGIC, sizeof(TABLE_MAGIC) - 1) == 0) {
		memcpy(a->key, h.key, sizeof(a->key));
		r = 0;
	} else
		r = table_init(a);
out:
	(void)lock(a, LOCK_UN);
	return r;
}

/* SPOOL/auth, made when missing; 0 or -1. */
static int
dir_path(const char *spool, char *out, size_t size)
{
	struct stat st;

	if (str_fmt(out, size, "%s/" AUTHLIM_DIR, spool) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(out, 0700) == -1 && errno != EEXIST)
		return -1;
	/* Never a link someone left: the table is written in place. */
	if (lstat(out, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
authlim_open(struct authlim *a, const char *spool)
{
	char dir[PATH_MAX], path[PATH_MAX];

	a->fd = -1;
	if (sodium_init() < 0) {
		errno = ENOSYS;
		return -1;
	}
	if (dir_path(spool, dir, sizeof(dir)) == -1)
		return -1;
	if (str_fmt(path, sizeof(path), "%s/" TABLE_FILE, dir) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	a->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (a->fd == -1)
		return -1;
	if (table_load(a) == -1) {
		authlim_close(a);
		return -1;
	}
	return 0;
}

void
authlim_close(struct authlim *a)
{
	fd_close(&a->fd);
	sodium_memzero(a->key, sizeof(a->key));
}

int
authlim_check(struct authlim *a, const struct authlim_max *max,
    const char *source, const char *login, int64_t now,
    enum authlim_verdict *v)
{
	char s[KEY_TEXT_MAX], l[KEY_TEXT_MAX];
	uint32_t ns = 0, nl = 0;
	int r = -1;

	source_text(source, s, sizeof(s));
	login_text(login, l, sizeof(l));
	if (lock(a, LOCK_SH) == -1)
		return -1;
	if (count_of(a, s, now, &ns) == -1 || count_of(a, l, now, &nl) == -1)
		goto out;
	if (ns >= max->source)
		*v = AUTHLIM_SOURCE;
	else if (nl >= max->login && ns > 0)
		*v = AUTHLIM_LOGIN;
	else
		*v = AUTHLIM_OK;
	r = 0;
out:
	(void)lock(a, LOCK_UN);
	return r;
}

int
authlim_fail(struct authlim *a, const char *source, const char *login,
    int64_t now)
{
	char s[KEY_TEXT_MAX], l[KEY_TEXT_MAX];
	int r = -1;

	source_text(source, s, sizeof(s));
	login_text(login, l, sizeof(l));
	if (lock(a, LOCK_EX) == -1)
		return -1;
	if (add_failure(a, s, now) == 0 && add_failure(a, l, now) == 0)
		r = 0;
	(void)lock(a, LOCK_UN);
	return r;
}

/* --- turns ------------------------------------------------------------- */

static void
on_alarm(int sig)
{
	(void)sig;	/* only to interrupt flock(2) */
}

/* Wait for the turn at path; the alarm set by the caller ends the wait
 * with EINTR. */
static int
wait_turn(const char *path)
{
	struct sigaction sa, old;
	int fd, r;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: flock returns */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, &old) == -1) {
		fd_close(&fd);
		return -1;
	}
	r = flock(fd, LOCK_EX);
	(void)sigaction(SIGALRM, &old, NULL);
	if (r == -1) {
		if (errno == EINTR)
			errno = ETIMEDOUT;
		fd_close(&fd);
	}
	return fd;
}

int
authlim_turn(const char *spool, unsigned wait_s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned i, left;
	int fd;

	if (dir_path(spool, dir, sizeof(dir)) == -1)
		return -1;
	for (i = 0; i < AUTHLIM_CHECKS; i++) {
		if (str_fmt(path, sizeof(path), "%s/turn.%u", dir, i) == -1) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		fd_close(&fd);
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
	}
	/* All taken: queue on one of them, chosen by pid so that waiters
	 * spread, until the wait's end. */
	if (str_fmt(path, sizeof(path), "%s/turn.%u", dir,
	    (unsigned)getpid() % AUTHLIM_CHECKS) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	left = alarm(wait_s);
	fd = wait_turn(path);
	(void)alarm(left);
	return fd;
}
