/* peer.c — client addresses as text; see peer.h. */

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "str.h"

static int
unknown(char *out, size_t len)
{
	(void)str_copy(out, len, "unknown");
	return -1;
}

static int
format_v6(const struct in6_addr *a6, char *out, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return inet_ntop(AF_INET, &a6->s6_addr[12], out,
		    (socklen_t)len) != NULL ? 0 : unknown(out, len);
	return inet_ntop(AF_INET6, a6, out, (socklen_t)len) != NULL ? 0 :
	    unknown(out, len);
}

int
peer_normalize(const char *text, char *out, size_t len)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (text != NULL && inet_pton(AF_INET, text, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, (socklen_t)len) != NULL ?
		    0 : unknown(out, len);
	if (text != NULL && inet_pton(AF_INET6, text, &a6) == 1)
		return format_v6(&a6, out, len);
	return unknown(out, len);
}

int
peer_sockaddr(const struct sockaddr *sa, char *out, size_t len)
{
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)sa)->sin_addr, out,
		    (socklen_t)len) != NULL ? 0 : unknown(out, len);
	if (sa->sa_family == AF_INET6)
		return format_v6(&((const struct sockaddr_in6 *)sa)->sin6_addr,
		    out, len);
	return unknown(out, len);
}

int
peer_from_fd(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return unknown(out, len);
	return peer_sockaddr((struct sockaddr *)&ss, out, len);
}

int
peer_of_session(int fd, char *out, size_t len)
{
	const char *e;

	if ((e = getenv("TCPREMOTEIP")) != NULL && e[0] != '\0')
		return peer_normalize(e, out, len);
	if ((e = getenv("REMOTE_ADDR")) != NULL && e[0] != '\0')
		return peer_normalize(e, out, len);
	return peer_from_fd(fd, out, len);
}
