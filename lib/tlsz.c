/* tlsz.c — the request of a session to the TLS zygote (tlsz.h): its
 * payload, and the one sendmsg/recvmsg that carries it with the two
 * descriptors.  The receiving side trusts nothing: a datagram with the
 * wrong number of descriptors, descriptors that are not stream sockets, or
 * a payload of another form is refused and everything it brought closed,
 * so that a confused or hostile holder of the shared socket can neither
 * leak descriptors into the zygote nor have it fork for garbage. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "str.h"
#include "tlsz.h"

/* A byte of the peer's text: what an address (or "unknown") holds, and
 * never a blank or a control byte that could bend a log line. */
static int
peer_byte(unsigned char c)
{
	return c > ' ' && c < 0x7f;
}

int
tlsz_encode(const char *peer, unsigned char *buf, size_t size)
{
	size_t i, len = strlen(peer);

	if (size < TLSZ_REQ_SIZE || len >= TLSZ_PEER_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < len; i++)
		if (!peer_byte((unsigned char)peer[i])) {
			errno = EINVAL;
			return -1;
		}
	memset(buf, 0, TLSZ_REQ_SIZE);
	buf[0] = TLSZ_VERSION;
	memcpy(buf + 1, peer, len);
	return 0;
}

int
tlsz_decode(const unsigned char *buf, size_t len, char *peer, size_t size)
{
	size_t i, n;

	if (len != TLSZ_REQ_SIZE || buf[0] != TLSZ_VERSION ||
	    size < TLSZ_PEER_MAX)
		goto bad;
	for (n = 0; n < TLSZ_PEER_MAX && buf[1 + n] != '\0'; n++)
		if (!peer_byte(buf[1 + n]))
			goto bad;
	if (n == TLSZ_PEER_MAX)
		goto bad;		/* no NUL: no end */
	for (i = n; i < TLSZ_PEER_MAX; i++)
		if (buf[1 + i] != '\0')
			goto bad;	/* one form only */
	memcpy(peer, buf + 1, n);
	peer[n] = '\0';
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
tlsz_send(int sock, int net, int ctl, const char *peer)
{
	unsigned char payload[TLSZ_REQ_SIZE];
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * TLSZ_NFDS)];
	} cm;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	int fds[TLSZ_NFDS];

	if (tlsz_encode(peer, payload, sizeof(payload)) == -1)
		return -1;
	fds[0] = net;
	fds[1] = ctl;
	memset(&cm, 0, sizeof(cm));
	memset(&m, 0, sizeof(m));
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	for (;;) {
		/* A datagram goes whole or not at all. */
		if (sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != -1)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* fd is a connected stream socket (what both ends must be). */
static int
stream_socket(int fd)
{
	struct stat st;
	socklen_t len;
	int type;

	len = sizeof(type);
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_STREAM;
}

/* recvmsg(2) says 0 both for an empty datagram and for the end; only
 * the end hangs the socket up. */
static int
hung_up(int sock)
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

enum tlsz_recv
tlsz_recv(int sock, int *net, int *ctl, char *peer, size_t peersize,
    char *why, size_t whysize)
{
	/* One byte more than a request, to see one that is longer. */
	unsigned char payload[TLSZ_REQ_SIZE + 1];
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * TLSZ_FDS_ROOM)];
	} cm;
	int fds[TLSZ_FDS_ROOM];
	size_t nfds = 0, i, k;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	ssize_t n;

	*net = *ctl = -1;
	memset(&m, 0, sizeof(m));
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	if ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) == -1)
		return TLSZ_ERR;
	/* Every descriptor that came, whatever else is wrong, so that each
	 * is closed on the way out. */
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k && nfds < TLSZ_FDS_ROOM; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
	}
	if (n == 0 && nfds == 0) {
		if (hung_up(sock))
			return TLSZ_EOF;
		str_fmt_cut(why, whysize, "an empty datagram");
		return TLSZ_BAD;
	}
	if (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC) || nfds != TLSZ_NFDS) {
		str_fmt_cut(why, whysize, "%zu descriptors, %zd bytes%s", nfds,
		    n, m.msg_flags & (MSG_CTRUNC | MSG_TRUNC) ?
		    ", truncated" : "");
		goto bad;
	}
	if (tlsz_decode(payload, (size_t)n, peer, peersize) == -1) {
		str_fmt_cut(why, whysize, "malformed request of %zd bytes", n);
		goto bad;
	}
	if (!stream_socket(fds[0]) || !stream_socket(fds[1])) {
		str_fmt_cut(why, whysize, "a descriptor is not a stream socket");
		goto bad;
	}
	*net = fds[0];
	*ctl = fds[1];
	return TLSZ_GOT;
bad:
	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
	return TLSZ_BAD;
}
