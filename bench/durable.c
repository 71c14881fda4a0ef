/* durable.c — the floor that smtp-in's own cost is measured against
 * (bench/cost.py): a do-nothing SMTP responder on fd 0/1 that still
 * commits each message the way the queue must, tmp/ID written and
 * fsynced, renamed into new/ID, new/ fsynced, before its 250.  It parses
 * nothing, checks nothing and logs nothing: every command but DATA and
 * QUIT gets a 250 (EHLO a short multi-line one), so what smtp-in costs
 * beyond it is the price of being an MTA rather than of talking SMTP and
 * of the fsyncs.  Built static against musl like smtp-in, so both pay the
 * same exec:
 *
 *	musl-gcc -static -O2 -o durable bench/durable.c
 *	durable SPOOL	(SPOOL/tmp and SPOOL/new exist)
 *
 * Not a server: no limits beyond its buffers, no timeouts. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
	BUFSZ = 16384,		/* one read(2), as smtp-in's line reader */
	LINEMAX = 1024
};

static char	 in[BUFSZ];
static size_t	 in_start, in_end;
static char	 wbuf[65536];	/* the message, as smtp-in's queue buffer */
static size_t	 wlen;

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
say(const char *s)
{
	return write_all(1, s, strlen(s));
}

/* One line, LF included, into line[LINEMAX]: its length, 0 at EOF. */
static size_t
get_line(char *line)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		if (in_start == in_end) {
			do
				r = read(0, in, sizeof(in));
			while (r == -1 && errno == EINTR);
			if (r <= 0)
				return 0;
			in_start = 0;
			in_end = (size_t)r;
		}
		while (in_start < in_end) {
			char c = in[in_start++];

			if (n < LINEMAX - 1)
				line[n++] = c;
			if (c == '\n')
				return n;
		}
	}
}

static int
put(int fd, const char *p, size_t n)
{
	if (wlen + n > sizeof(wbuf)) {
		if (write_all(fd, wbuf, wlen) == -1)
			return -1;
		wlen = 0;
	}
	if (n > sizeof(wbuf))
		return write_all(fd, p, n);
	memcpy(wbuf + wlen, p, n);
	wlen += n;
	return 0;
}

/* DATA to the end: tmp/ID, fsync, rename, fsync new/. */
static int
message(const char *spool, unsigned seq)
{
	char tmp[4096], path[4096], dir[4096], line[LINEMAX];
	int fd = -1, dfd = -1, rc = -1;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/new", spool);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%ld.%u", spool, (long)getpid(), seq);
	snprintf(path, sizeof(path), "%s/new/%ld.%u", spool, (long)getpid(),
	    seq);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) ==
	    -1)
		goto out;
	if (say("354 go ahead\r\n") == -1)
		goto out;
	wlen = 0;
	while ((n = get_line(line)) > 0) {
		if (n == 3 && memcmp(line, ".\r\n", 3) == 0)
			break;
		if (put(fd, line, n) == -1)
			goto out;
	}
	if (n == 0)
		goto out;
	if (write_all(fd, wbuf, wlen) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1)
		goto out;
	fd = -1;
	if (rename(tmp, path) == -1 || fsync(dfd) == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	return rc;
}

int
main(int argc, char *argv[])
{
	char line[LINEMAX];
	unsigned seq = 0;
	size_t n;

	if (argc != 2)
		return 64;
	if (say("220 durable ESMTP\r\n") == -1)
		return 1;
	while ((n = get_line(line)) > 0) {
		if (n >= 4 && strncasecmp(line, "EHLO", 4) == 0)
			say("250-durable\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
		else if (n >= 4 && strncasecmp(line, "DATA", 4) == 0)
			say(message(argv[1], seq++) == 0 ? "250 queued\r\n" :
			    "451 failed\r\n");
		else if (n >= 4 && strncasecmp(line, "QUIT", 4) == 0) {
			say("221 bye\r\n");
			return 0;
		} else
			say("250 ok\r\n");
	}
	return 0;
}
