/* fdpass.c — one datagram with descriptors by SCM_RIGHTS (fdpass.h).
 * The receiving side collects every descriptor that came, from every
 * SCM_RIGHTS message, before anything else is looked at, so that a
 * malformed datagram from a confused or hostile holder of a shared socket
 * can be refused with all it brought closed. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

int
fdpass_send(int sock, const void *buf, size_t len, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} cm;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;

	if (nfds > FDPASS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&cm, 0, sizeof(cm));
	memset(&m, 0, sizeof(m));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (nfds > 0) {
		m.msg_control = cm.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	for (;;) {
		/* A datagram goes whole or not at all. */
		if (sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != -1)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

ssize_t
fdpass_recv(int sock, void *buf, size_t size, int *fds, size_t *nfds,
    int *trunc)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} cm;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	size_t i, k;
	ssize_t n;
	int fd;

	*nfds = 0;
	*trunc = 0;
	memset(&m, 0, sizeof(m));
	iov.iov_base = buf;
	iov.iov_len = size;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	if ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < FDPASS_MAX)
				fds[(*nfds)++] = fd;
			else {
				(void)close(fd);
				*trunc = 1;
			}
		}
	}
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*trunc = 1;
	return n;
}

int
fdpass_hung_up(int sock)
{
	struct pollfd p;

	p.fd = sock;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	while (poll(&p, 1, 0) == -1)
		if (errno != EINTR)
			return 1;	/* cannot tell: stop, as at the end */
	return (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

int
fdpass_stream(int fd)
{
	struct stat st;
	socklen_t len;
	int type;

	len = sizeof(type);
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_STREAM;
}

void
fdpass_close(const int *fds, size_t nfds)
{
	size_t i;

	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
}
