/* fdpass.h — one datagram with descriptors by SCM_RIGHTS, on an AF_UNIX
 * SOCK_SEQPACKET (or SOCK_DGRAM) socket: the one sendmsg/recvmsg under
 * the requests to the TLS zygote (tlsz.h), the keeper (keeper.h) and the
 * checker (ckproto.h).  Each of those keeps its own framing and its own
 * count of descriptors; this module only carries them, and on the
 * receiving side never leaves one open that the caller is not handed.
 *
 * Plain libc, so that smtp-in (static, no GnuTLS) links it. */
#ifndef POSTHORN_FDPASS_H
#define POSTHORN_FDPASS_H

#include <sys/types.h>

#include <stddef.h>

enum {
	/* Descriptors one datagram may carry or bring: every protocol
	 * here wants at most two; a datagram with more is received into
	 * room for a few too many (the kernel drops the rest, MSG_CTRUNC)
	 * and the caller closes them all. */
	FDPASS_MAX = 8
};

/* buf[len] with fds[nfds] (none when nfds is 0) on sock as one datagram,
 * without blocking (a peer that does not keep up must not stall the
 * sender: it gets EAGAIN and decides) and without SIGPIPE; EINTR is
 * retried.  0, or -1 with sendmsg(2)'s errno, or EINVAL when nfds >
 * FDPASS_MAX. */
int	fdpass_send(int sock, const void *buf, size_t len, const int *fds,
	    size_t nfds);
/* One datagram from sock into buf[size] (blocking as sock is), the
 * descriptors it brought close-on-exec into fds[FDPASS_MAX], *nfds of
 * them, whatever else is wrong with it: the caller closes those it does
 * not keep (fdpass_close).  *trunc is set when the payload or the
 * descriptors were cut (MSG_TRUNC, MSG_CTRUNC, or more than FDPASS_MAX:
 * those beyond are closed here).  The payload's length, or -1 with
 * recvmsg(2)'s errno (EINTR, EAGAIN included) and no descriptor.  0 bytes
 * and no descriptor is an empty datagram or the end: fdpass_hung_up
 * tells them apart. */
ssize_t	fdpass_recv(int sock, void *buf, size_t size, int *fds,
	    size_t *nfds, int *trunc);
/* Every holder of sock's other end has closed it (or poll(2) fails and
 * cannot tell: then as at the end). */
int	fdpass_hung_up(int sock);
/* fd is a stream socket (what the protocols here pass). */
int	fdpass_stream(int fd);
/* Close fds[nfds]. */
void	fdpass_close(const int *fds, size_t nfds);

#endif
