/* tlsz.h — the request a session sends the TLS zygote (smtp-tlsd -z, see
 * smtp-tlsd(8)): one SOCK_SEQPACKET datagram on the socket the listener
 * shares among its sessions, carrying by SCM_RIGHTS exactly two
 * descriptors, the connection and smtp-in's end of the socketpair that an
 * exec'd smtp-tlsd would get as fd 3, and a payload of fixed size:
 *
 *	byte 0			TLSZ_VERSION
 *	bytes 1..TLSZ_PEER_MAX	the peer's address as text, for the log:
 *				printable ASCII without blanks, then NUL
 *				bytes to the end (at least one)
 *
 * Both sides are plain libc, so that smtp-in (static, no GnuTLS) and
 * smtp-tlsd share this one definition. */
#ifndef POSTHORN_TLSZ_H
#define POSTHORN_TLSZ_H

#include <stddef.h>

enum {
	TLSZ_VERSION = 1,
	/* An IPv6 address is at most 45 characters (INET6_ADDRSTRLEN 46
	 * with its NUL); smtp-in's SMTP_PEER_MAX is 64. */
	TLSZ_PEER_MAX = 64,
	TLSZ_REQ_SIZE = 1 + TLSZ_PEER_MAX,
	TLSZ_NFDS = 2		/* the connection, then the control end */
};

/* What tlsz_recv got. */
enum tlsz_recv {
	TLSZ_GOT,	/* a well-formed request: net, ctl and peer set */
	TLSZ_EOF,	/* every holder of the other end has closed it */
	TLSZ_BAD,	/* malformed: its descriptors are closed, why says */
	TLSZ_ERR	/* recvmsg failed: errno (EINTR included) */
};

/* The payload for peer into buf[TLSZ_REQ_SIZE]: 0, or -1 (EINVAL) when
 * peer is too long or holds a byte that may not be there. */
int	tlsz_encode(const char *peer, unsigned char *buf, size_t size);
/* A payload of len bytes back into peer[size] (size >= TLSZ_PEER_MAX):
 * 0, or -1 (EINVAL) when it is not exactly the form above. */
int	tlsz_decode(const unsigned char *buf, size_t len, char *peer,
	    size_t size);
/* One request on sock, without blocking (a zygote that does not keep up
 * must not stall the session: it falls back to exec instead).  0, or -1
 * with sendmsg(2)'s errno (EAGAIN, EPIPE, ECONNREFUSED, EBADF, ENOTSOCK,
 * ...) or EINVAL for a peer tlsz_encode refuses. */
int	tlsz_send(int sock, int net, int ctl, const char *peer);
/* One request from sock, blocking; descriptors arrive close-on-exec.
 * On TLSZ_BAD every descriptor that came with it is closed and why[] says
 * what was wrong. */
enum tlsz_recv tlsz_recv(int sock, int *net, int *ctl, char *peer,
	    size_t peersize, char *why, size_t whysize);

#endif
