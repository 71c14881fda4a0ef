/* tls.c — the pieces of a GnuTLS session that smtp-tlsd and smtp-out
 * both need: waiting on the descriptors of a non-blocking session with a
 * deadline, and the protocol and cipher as the logs show them.  The two
 * ends differ in everything else (credentials, SNI, verification), which
 * stays in their own modules. */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

#include "io.h"
#include "str.h"
#include "tls.h"

int
tls_wait(gnutls_session_t s, int rfd, int wfd, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	if (gnutls_record_get_direction(s) == 1) {
		pfd.fd = wfd;
		pfd.events = POLLOUT;
	} else {
		pfd.fd = rfd;
		pfd.events = POLLIN;
	}
	for (;;) {
		if ((left = deadline - clock_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

void
tls_version(gnutls_session_t s, char *buf, size_t size)
{
	const char *v;

	if ((v = gnutls_protocol_get_name(gnutls_protocol_get_version(s))) ==
	    NULL)
		v = "-";
	str_fmt_cut(buf, size, "%s%s", strncmp(v, "TLS", 3) == 0 ? "TLSv" :
	    "", strncmp(v, "TLS", 3) == 0 ? v + 3 : v);
}

const char *
tls_cipher(gnutls_session_t s)
{
	const char *cs;

	return (cs = gnutls_ciphersuite_get(s)) != NULL ? cs : "-";
}
