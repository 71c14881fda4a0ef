/* fuzzutil.c — the scratch configuration and the split-read io that the
 * harnesses share (fuzzutil.h).  The scratch directory goes on /dev/shm
 * when it is there: the session harness commits a queue file (with its
 * fsyncs) for every message it accepts, and a tmpfs makes that cheap. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "str.h"

static struct fz_env	env;
static int		env_ready;

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "fuzzutil: %s %s: %s\n", what, arg, strerror(errno));
	abort();
}

void
fz_path(char *buf, const char *rel)
{
	if (str_fmt(buf, PATH_MAX, "%s/%s", env.root, rel) == -1)
		die("path too long:", rel);
}

void
fz_write(const char *path, const void *p, size_t n)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		die("open", path);
	if (fd_write_all(fd, p, n) == -1)
		die("write", path);
	if (close(fd) == -1)
		die("close", path);
}

static void
put(const char *rel, const char *text)
{
	char path[PATH_MAX];

	fz_path(path, rel);
	fz_write(path, text, strlen(text));
}

static void
mkdir_rel(const char *rel)
{
	char path[PATH_MAX];

	fz_path(path, rel);
	if (mkdir(path, 0755) == -1)
		die("mkdir", path);
}

/* Everything below dirfd, which this closes. */
static void
rm_below(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((d = fdopendir(dirfd)) == NULL) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		if ((errno == EISDIR || errno == EPERM) && (fd = openat(dirfd,
		    de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) != -1) {
			rm_below(fd);
			(void)unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

void
fz_empty_dir(const char *rel)
{
	char path[PATH_MAX];
	int fd;

	fz_path(path, rel);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die("open", path);
	rm_below(fd);
}

static void
cleanup(void)
{
	int fd;

	if (!env_ready)
		return;
	if ((fd = open(env.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1)
		rm_below(fd);
	(void)rmdir(env.root);
}

const struct fz_env *
fz_env(void)
{
	char err[512];
	struct stat st;
	const char *base = "/dev/shm";

	if (env_ready)
		return &env;
	/* run.sh gives a directory that it removes after the run, since a
	 * harness that crashes leaves without its atexit. */
	if (getenv(FZ_SCRATCH_ENV) != NULL && getenv(FZ_SCRATCH_ENV)[0] != '\0')
		base = getenv(FZ_SCRATCH_ENV);
	else if (stat(base, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    access(base, W_OK) == -1)
		base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	if (str_fmt(env.root, sizeof(env.root), "%s/posthorn-fuzz.XXXXXX",
	    base) == -1 || mkdtemp(env.root) == NULL)
		die("mkdtemp", base);
	env_ready = 1;
	atexit(cleanup);
	mkdir_rel("etc");
	mkdir_rel("etc/domains");
	mkdir_rel("etc/domains/" FZ_DOMAIN);
	mkdir_rel("etc/domains/catchall.example");
	put("etc/domains/" FZ_DOMAIN "/users",
	    "alice:!\nbob:!\n");
	put("etc/domains/" FZ_DOMAIN "/aliases",
	    "# the domain's aliases\ninfo: alice\nlist: alice, bob, "
	    "someone@remote.example\nticket: | /bin/true\n");
	put("etc/domains/catchall.example/users", "");
	put("etc/domains/catchall.example/aliases", "*: alice@" FZ_DOMAIN "\n");
	put("etc/srs.secret", "fuzzing secret\n");
	/* Their presence makes smtp-in offer STARTTLS; the stub starts it. */
	mkdir_rel("etc/certs");
	put("etc/certs/fullchain.pem", "cert\n");
	put("etc/certs/privkey.pem", "key\n");
	mkdir_rel("spool");
	mkdir_rel("spool/tmp");
	mkdir_rel("spool/new");
	mkdir_rel("spool/state");
	mkdir_rel("mail");
	if (str_fmt(env.etc, sizeof(env.etc), "%s/etc", env.root) == -1 ||
	    str_fmt(env.spool, sizeof(env.spool), "%s/spool", env.root) == -1)
		die("path too long:", env.root);
	{
		char conf[1024], path[PATH_MAX];

		if (str_fmt(conf, sizeof(conf), "hostname = " FZ_HOST "\n"
		    "spool = %s\nmaildirs = %s/mail\nmax_message_size = 64K\n",
		    env.spool, env.root) == -1)
			die("path too long:", env.root);
		fz_path(path, "etc/posthorn.conf");
		fz_write(path, conf, strlen(conf));
	}
	if (conf_load(&env.conf, env.etc, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzzutil: conf_load: %s\n", err);
		abort();
	}
	return &env;
}

/* xorshift32: the same sizes for the same seed, on every machine. */
static uint32_t
next_rand(struct fz_io *f)
{
	uint32_t x = f->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rng = x;
	return x;
}

size_t
fz_io_next(struct fz_io *f, size_t max)
{
	size_t k;

	if (f->maxchunk == 0 || max == 0)
		return max;
	k = 1 + next_rand(f) % f->maxchunk;
	return k < max ? k : max;
}

static ssize_t
mem_read(struct io *io, void *p, size_t n)
{
	struct fz_io *f = io->ctx;
	size_t k;

	if (f->off >= f->n || n == 0)
		return 0;
	if (f->chunk == 0)
		f->chunk = fz_io_next(f, f->n - f->off);
	k = f->chunk < n ? f->chunk : n;
	memcpy(p, f->p + f->off, k);
	f->off += k;
	f->chunk -= k;
	return (ssize_t)k;
}

static ssize_t
mem_write(struct io *io, const void *p, size_t n)
{
	struct fz_io *f = io->ctx;

	(void)p;
	f->written += n;
	return (ssize_t)n;
}

/* Bytes left count as decoded below us, as a TLS layer's would: io_read
 * takes them without polling.  At the end, the poll of /dev/null says
 * readable at once and the read says end of file. */
static size_t
mem_pending(struct io *io)
{
	struct fz_io *f = io->ctx;

	return f->n - f->off;
}

static const struct io_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.pending = mem_pending,
};

void
fz_io_init(struct fz_io *f, const uint8_t *data, size_t n)
{
	static int devnull = -1;

	if (devnull == -1 && (devnull = open("/dev/null", O_RDWR |
	    O_CLOEXEC)) == -1)
		die("open", "/dev/null");
	memset(f, 0, sizeof(*f));
	if (n > 0) {
		f->maxchunk = data[0];
		f->rng = 0x9e3779b9u ^ data[0];
		data++;
		n--;
	}
	f->p = data;
	f->n = n;
	f->io.ops = &mem_ops;
	f->io.ctx = f;
	f->io.rfd = devnull;
	f->io.wfd = devnull;
}
