/* io.c — the byte channel under the line reader and the reply writer.
 * Waiting is always poll(2) with the time left until an absolute deadline,
 * so that a peer that stalls (or trickles one byte a minute) cannot hold a
 * process longer than the protocol's timeout.  The plain-descriptor ops use
 * MSG_DONTWAIT on sockets so that a write after POLLOUT never blocks past
 * the deadline, without touching the O_NONBLOCK flag of a descriptor that
 * inetd or systemd handed us (it is shared with whoever else holds it).
 * fd_write_all is the same loop over plain write(2), without a deadline. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

/* musl finds the vDSO's clock_gettime on the first call of a process:
 * the vDSO's pages are faulted in and its symbol table read, 0.17 ms of
 * CPU on these VMs (4 page faults), while a clock_gettime system call
 * costs ~1 us and a session makes a few dozen.  glibc's dynamic loader
 * has mapped the vDSO before main, so its calls are free. */
int
clock_now(clockid_t id, struct timespec *ts)
{
#ifdef __GLIBC__
	return clock_gettime(id, ts);
#else
	return (int)syscall(SYS_clock_gettime, id, ts);
#endif
}

int64_t
clock_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux; if it ever did, every
	 * deadline would be wrong, which is worse than stopping. */
	if (clock_now(CLOCK_MONOTONIC, &ts) == -1)
		abort();
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t
fd_read(struct io *io, void *p, size_t n)
{
	ssize_t r;

	r = recv(io->rfd, p, n, MSG_DONTWAIT);
	if (r == -1 && errno == ENOTSOCK)
		r = read(io->rfd, p, n);
	return r;
}

static ssize_t
fd_write(struct io *io, const void *p, size_t n)
{
	ssize_t r;

	/* MSG_NOSIGNAL: EPIPE comes back as an error, never as a signal. */
	r = send(io->wfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r == -1 && errno == ENOTSOCK)
		r = write(io->wfd, p, n);
	return r;
}

static size_t
fd_pending(struct io *io)
{
	(void)io;
	return 0;
}

static const struct io_ops fd_ops = {
	.read = fd_read,
	.write = fd_write,
	.pending = fd_pending,
};

void
io_fd_init(struct io *io, int rfd, int wfd)
{
	io->ops = &fd_ops;
	io->ctx = NULL;
	io->rfd = rfd;
	io->wfd = wfd;
}

/* Wait until fd is ready for events or the deadline passes: 0, or -1 with
 * errno (ETIMEDOUT).  Readiness includes POLLHUP and POLLERR: the read or
 * write that follows reports them. */
static int
io_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int timeout, r;

	for (;;) {
		if (deadline == IO_NO_DEADLINE)
			timeout = -1;
		else {
			left = deadline - clock_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			continue;	/* the top of the loop says ETIMEDOUT */
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		return 0;
	}
}

ssize_t
io_read(struct io *io, void *p, size_t n, int64_t deadline)
{
	ssize_t r;

	for (;;) {
		/* Bytes decoded below us are invisible to poll: take them. */
		if (io->ops->pending == NULL || io->ops->pending(io) == 0)
			if (io_wait(io->rfd, POLLIN, deadline) == -1)
				return -1;
		r = io->ops->read(io, p, n);
		if (r >= 0)
			return r;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
}

int
io_write_all(struct io *io, const void *p, size_t n, int64_t deadline)
{
	const char *cp = p;
	ssize_t r;

	/* Write first and wait only when the descriptor is full: a reply
	 * or a queue-file write costs one system call, not two. */
	while (n > 0) {
		r = io->ops->write(io, cp, n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (io_wait(io->wfd, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		if (r == 0) {
			/* write(2) of n > 0 bytes never returns 0; a layer
			 * that does is broken, and retrying would spin. */
			errno = EIO;
			return -1;
		}
		cp += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Files and pipes: plain write(2), and no deadline (io_write_all waits
 * only if the descriptor is non-blocking and full). */
static ssize_t
plain_write(struct io *io, const void *p, size_t n)
{
	return write(io->wfd, p, n);
}

static const struct io_ops plain_ops = {
	.write = plain_write,
};

int
fd_write_all(int fd, const void *p, size_t n)
{
	struct io io = { &plain_ops, NULL, -1, fd };

	return io_write_all(&io, p, n, IO_NO_DEADLINE);
}

void
fd_close(int *fd)
{
	int saved = errno;

	if (*fd != -1)
		(void)close(*fd);
	*fd = -1;
	errno = saved;
}

int
fd_connect_unix(const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int fd;

	if (n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		if (errno != EINTR) {
			fd_close(&fd);
			return -1;
		}
	return fd;
}

int
fd_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) ==
	    -1)
		return -1;
	return 0;
}

int
fd_move_above(int *fd, int min)
{
	int nfd;

	if (*fd >= min)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, min)) == -1)
		return -1;
	(void)close(*fd);
	*fd = nfd;
	return 0;
}

int
fd_std_open(void)
{
	int fd;

	for (;;) {
		if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			return -1;
		if (fd > STDERR_FILENO) {
			(void)close(fd);
			return 0;
		}
		/* 0-2 must survive exec: open gave it O_CLOEXEC. */
		if (fcntl(fd, F_SETFD, 0) == -1)
			return -1;
	}
}
