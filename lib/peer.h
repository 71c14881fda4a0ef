/* peer.h — the client's address as text, one way for every program that
 * logs it or writes it into a Received: field: an IPv4-mapped IPv6
 * address ::ffff:a.b.c.d is a.b.c.d, and what is not an address is
 * "unknown".  Each function returns 0, or -1 with "unknown" in out. */
#ifndef POSTHORN_PEER_H
#define POSTHORN_PEER_H

#include <sys/socket.h>

#include <stddef.h>

/* An address in text (from the environment, a PROXY header). */
int	peer_normalize(const char *text, char *out, size_t);
/* The address of a socket address (from accept, getpeername). */
int	peer_sockaddr(const struct sockaddr *, char *out, size_t);
/* The other end of the socket fd. */
int	peer_from_fd(int fd, char *out, size_t);
/* The peer of a session on fd, as its starter says: TCPREMOTEIP
 * (tcpserver), then REMOTE_ADDR (systemd, smtp-listen), then the
 * socket itself. */
int	peer_of_session(int fd, char *out, size_t);

#endif
