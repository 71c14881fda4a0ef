/* keeper.c — the questions to smtp-keeper (keeper.h): their text, and
 * the one sendmsg/recvmsg that carries each with the asker's socket.
 * The receiving side trusts nothing: a datagram without exactly one
 * stream socket is refused and whatever it brought closed, and a text
 * of another form than keeper.h's is refused by keeper_parse. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"
#include "str.h"

/* A byte of a question: no control byte, no DEL. */
static int
text_byte(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c >= 0x80;
}

/* The word of s up to its first space (or its end) into out[size]:
 * what follows it, or NULL when it is empty or too long. */
static const char *
word(const char *s, char *out, size_t size)
{
	size_t n = strcspn(s, " ");

	if (n == 0 || n >= size)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return s + n;
}

/* The rest of a line, non-empty, into out[size]: 0 or -1. */
static int
rest(const char *s, char *out, size_t size)
{
	if (*s == '\0')
		return -1;
	return str_copy(out, size, s);
}

int
keeper_parse(const char *buf, size_t len, struct keeper_req *r)
{
	char text[KEEPER_REQ_MAX + 1], op[8];
	const char *p;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (len == 0 || len > KEEPER_REQ_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (!text_byte((unsigned char)buf[i]))
			goto bad;
	memcpy(text, buf, len);
	text[len] = '\0';
	if ((p = word(text, op, sizeof(op))) == NULL || *p++ != ' ')
		goto bad;
	if (strcmp(op, "srs") == 0) {
		r->op = KEEPER_SRS;
		if ((p = word(p, r->peer, sizeof(r->peer))) == NULL ||
		    *p++ != ' ' || rest(p, r->arg, sizeof(r->arg)) == -1)
			goto bad;
	} else if (strcmp(op, "user") == 0) {
		r->op = KEEPER_USER;
		if ((p = word(p, r->arg, sizeof(r->arg))) == NULL ||
		    *p++ != ' ' || rest(p, r->name, sizeof(r->name)) == -1)
			goto bad;
	} else if (strcmp(op, "auth") == 0) {
		r->op = KEEPER_AUTH;
		if ((p = word(p, r->arg, KEEPER_PEER_MAX + 1)) == NULL ||
		    *p != '\0')
			goto bad;
	} else
		goto bad;
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	errno = EINVAL;
	return -1;
}

int
keeper_send(int sock, int fd, const char *text)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	size_t len = strlen(text);

	if (len == 0 || len > KEEPER_REQ_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&cm, 0, sizeof(cm));
	memset(&m, 0, sizeof(m));
	iov.iov_base = (void *)text;
	iov.iov_len = len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		/* A datagram goes whole or not at all; a keeper that does
		 * not keep up must not stall the session. */
		if (sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != -1)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* fd is a stream socket. */
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
			return 1;
	return (p.revents & (POLLHUP | POLLRDHUP)) != 0;
}

enum keeper_recv
keeper_recv(int sock, int *fd, char *buf, size_t size, size_t *len,
    char *why, size_t whysize)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * KEEPER_FDS_ROOM)];
	} cm;
	int fds[KEEPER_FDS_ROOM];
	size_t nfds = 0, i, k;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	*len = 0;
	if (size < 2) {
		errno = EINVAL;
		return KEEPER_ERR;
	}
	memset(&m, 0, sizeof(m));
	iov.iov_base = buf;
	iov.iov_len = size - 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	if ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) == -1)
		return KEEPER_ERR;
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k && nfds < KEEPER_FDS_ROOM; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
	}
	if (n == 0 && nfds == 0 && hung_up(sock))
		return KEEPER_EOF;
	if (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC) || nfds != 1 ||
	    !stream_socket(fds[0])) {
		str_fmt_cut(why, whysize, "%zu descriptors, %zd bytes%s", nfds,
		    n, m.msg_flags & (MSG_CTRUNC | MSG_TRUNC) ?
		    ", truncated" : "");
		for (i = 0; i < nfds; i++)
			(void)close(fds[i]);
		return KEEPER_BAD;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	*fd = fds[0];
	return KEEPER_GOT;
}
