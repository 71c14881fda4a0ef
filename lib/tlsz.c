/* tlsz.c — the request of a session to the TLS zygote (tlsz.h): its
 * payload, carried with the two descriptors by fdpass.  The receiving
 * side trusts nothing: a datagram with the wrong number of descriptors,
 * descriptors that are not stream sockets, or a payload of another form
 * is refused and everything it brought closed, so that a confused or
 * hostile holder of the shared socket can neither leak descriptors into
 * the zygote nor have it fork for garbage. */

#include <errno.h>
#include <string.h>

#include "fdpass.h"
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
	int fds[TLSZ_NFDS];

	if (tlsz_encode(peer, payload, sizeof(payload)) == -1)
		return -1;
	fds[0] = net;
	fds[1] = ctl;
	return fdpass_send(sock, payload, sizeof(payload), fds, TLSZ_NFDS);
}

enum tlsz_recv
tlsz_recv(int sock, int *net, int *ctl, char *peer, size_t peersize,
    char *why, size_t whysize)
{
	/* One byte more than a request, to see one that is longer. */
	unsigned char payload[TLSZ_REQ_SIZE + 1];
	int fds[FDPASS_MAX], trunc;
	size_t nfds;
	ssize_t n;

	*net = *ctl = -1;
	if ((n = fdpass_recv(sock, payload, sizeof(payload), fds, &nfds,
	    &trunc)) == -1)
		return TLSZ_ERR;
	if (n == 0 && nfds == 0) {
		if (fdpass_hung_up(sock))
			return TLSZ_EOF;
		str_fmt_cut(why, whysize, "an empty datagram");
		return TLSZ_BAD;
	}
	if (trunc || nfds != TLSZ_NFDS) {
		str_fmt_cut(why, whysize, "%zu descriptors, %zd bytes%s", nfds,
		    n, trunc ? ", truncated" : "");
		goto bad;
	}
	if (tlsz_decode(payload, (size_t)n, peer, peersize) == -1) {
		str_fmt_cut(why, whysize, "malformed request of %zd bytes", n);
		goto bad;
	}
	if (!fdpass_stream(fds[0]) || !fdpass_stream(fds[1])) {
		str_fmt_cut(why, whysize, "a descriptor is not a stream socket");
		goto bad;
	}
	*net = fds[0];
	*ctl = fds[1];
	return TLSZ_GOT;
bad:
	fdpass_close(fds, nfds);
	return TLSZ_BAD;
}
