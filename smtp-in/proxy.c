/* proxy.c — the HAProxy PROXY protocol header, versions 1 and 2 (HAProxy's
 * proxy-protocol.txt), before the SMTP session when smtp-in sits behind a
 * load balancer.  proxy_parse judges bytes in memory; proxy_read feeds it
 * from the socket without ever taking a byte past the header: it peeks
 * (MSG_PEEK) at what has arrived, asks proxy_parse where the header ends,
 * and reads exactly that many.  Bytes peeked but not yet known to end the
 * header are all part of it (a v1 line without its LF yet, the first 16
 * bytes of v2 or its announced length), so they are read too, and the
 * next wait is for new bytes: a partial header never makes poll(2) spin.
 * Only a header that parses completely and strictly is accepted; anything
 * else closes the connection without a word (the caller logs why). */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

#include "io.h"
#include "proxy.h"
#include "peer.h"
#include "str.h"

enum {
	V2_SIG_LEN = 12,
	V2_INET_LEN = 12,	/* two IPv4 addresses, two ports */
	V2_INET6_LEN = 36,	/* two IPv6 addresses, two ports */
	V2_CMD_LOCAL = 0x0,
	V2_CMD_PROXY = 0x1,
	V2_TCP4 = 0x11,		/* AF_INET, SOCK_STREAM */
	V2_TCP6 = 0x21,		/* AF_INET6, SOCK_STREAM */
	V1_FIELD_MAX = 48,	/* an IPv6 address in text, with room */
	PORT_MAX = 65535
};

static const unsigned char v2_sig[V2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1_sig[] = "PROXY ";

#define V1_SIG_LEN	(sizeof(v1_sig) - 1)

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* --- version 1 --------------------------------------------------------- */

/* The next space-separated field of s[0..len) from *pos into out[size]:
 * 0, or -1 when it is empty or does not fit. */
static int
v1_field(const char *s, size_t len, size_t *pos, char *out, size_t size)
{
	size_t start = *pos, n;

	while (*pos < len && s[*pos] != ' ')
		(*pos)++;
	n = *pos - start;
	if (n == 0 || n >= size)
		return -1;
	memcpy(out, s + start, n);
	out[n] = '\0';
	if (*pos < len)
		(*pos)++;	/* the space */
	return 0;
}

/* A decimal port, 0..65535, no sign and no leading zero. */
static int
v1_port(const char *s, unsigned *port)
{
	unsigned long v = 0;
	const char *p;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > PORT_MAX)
			return -1;
	}
	*port = (unsigned)v;
	return 0;
}

/* One address of family af in text: valid, then normalized. */
static int
v1_addr(int af, const char *text, char *out, size_t size)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(af, text, bin) != 1)
		return -1;
	return peer_normalize(text, out, size);
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT" or "PROXY UNKNOWN...", without
 * its CR LF, n bytes. */
static int
v1_line(const char *s, size_t n, struct proxy_info *pi, const char **why)
{
	char proto[8], src[V1_FIELD_MAX], dst[V1_FIELD_MAX];
	char sport[8], dport[8];
	size_t pos = V1_SIG_LEN;
	int af;

	pi->version = 1;
	/* "UNKNOWN", and anything after it, which a receiver ignores. */
	if (n - pos >= 7 && memcmp(s + pos, "UNKNOWN", 7) == 0 &&
	    (n - pos == 7 || s[pos + 7] == ' ')) {
		pi->local = 1;
		return 0;
	}
	if (v1_field(s, n, &pos, proto, sizeof(proto)) == -1)
		goto syntax;
	if (strcmp(proto, "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		af = AF_INET6;
	else {
		*why = "family";
		return -1;
	}
	if (v1_field(s, n, &pos, src, sizeof(src)) == -1 ||
	    v1_field(s, n, &pos, dst, sizeof(dst)) == -1 ||
	    v1_field(s, n, &pos, sport, sizeof(sport)) == -1 ||
	    v1_field(s, n, &pos, dport, sizeof(dport)) == -1 ||
	    pos != n || s[n - 1] == ' ')
		goto syntax;
	if (v1_addr(af, src, pi->src, sizeof(pi->src)) == -1 ||
	    v1_addr(af, dst, pi->dst, sizeof(pi->dst)) == -1) {
		*why = "address";
		return -1;
	}
	if (v1_port(sport, &pi->sport) == -1 ||
	    v1_port(dport, &pi->dport) == -1) {
		*why = "port";
		return -1;
	}
	return 0;
syntax:
	*why = "syntax";
	return -1;
}

static int
v1_parse(const unsigned char *buf, size_t len, size_t *used,
    struct proxy_info *pi, const char **why)
{
	const unsigned char *lf;
	size_t n = min_size(len, PROXY_V1_MAX);

	if ((lf = memchr(buf, '\n', n)) == NULL) {
		if (n == PROXY_V1_MAX) {
			*why = "too-long";
			return -1;
		}
		return 1;
	}
	n = (size_t)(lf - buf);
	if (n < V1_SIG_LEN + 1 || buf[n - 1] != '\r' ||
	    memchr(buf, '\0', n) != NULL) {
		*why = "syntax";
		return -1;
	}
	if (v1_line((const char *)buf, n - 1, pi, why) == -1)
		return -1;
	*used = n + 1;
	return 0;
}

/* --- version 2 --------------------------------------------------------- */

/* A binary address of family af, as text, normalized. */
static int
v2_addr(int af, const unsigned char *p, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(af, p, text, sizeof(text)) == NULL)
		return -1;
	return peer_normalize(text, out, size);
}

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int
v2_parse(const unsigned char *buf, size_t len, size_t *used,
    struct proxy_info *pi, const char **why)
{
	unsigned cmd, fam, body;
	const unsigned char *a;

	if (len < PROXY_V2_HEAD)
		return 1;
	pi->version = 2;
	if ((buf[12] >> 4) != 2) {
		*why = "version";
		return -1;
	}
	cmd = buf[12] & 0x0f;
	fam = buf[13];
	body = be16(buf + 14);
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY) {
		*why = "command";
		return -1;
	}
	if (body > PROXY_V2_LEN_MAX) {
		*why = "too-long";
		return -1;
	}
	/* LOCAL: the proxy's own connection (a health check); whatever
	 * follows is skipped. */
	if (cmd == V2_CMD_PROXY && fam != V2_TCP4 && fam != V2_TCP6) {
		*why = "family";
		return -1;
	}
	if (cmd == V2_CMD_PROXY &&
	    body < (fam == V2_TCP4 ? V2_INET_LEN : V2_INET6_LEN)) {
		*why = "length";
		return -1;
	}
	if (len < PROXY_V2_HEAD + body)
		return 1;
	*used = PROXY_V2_HEAD + body;
	if (cmd == V2_CMD_LOCAL) {
		pi->local = 1;
		return 0;
	}
	/* The addresses, then TLVs up to the length, which are skipped. */
	a = buf + PROXY_V2_HEAD;
	if (fam == V2_TCP4) {
		if (v2_addr(AF_INET, a, pi->src, sizeof(pi->src)) == -1 ||
		    v2_addr(AF_INET, a + 4, pi->dst, sizeof(pi->dst)) == -1)
			goto bad;
		pi->sport = be16(a + 8);
		pi->dport = be16(a + 10);
	} else {
		if (v2_addr(AF_INET6, a, pi->src, sizeof(pi->src)) == -1 ||
		    v2_addr(AF_INET6, a + 16, pi->dst, sizeof(pi->dst)) == -1)
			goto bad;
		pi->sport = be16(a + 32);
		pi->dport = be16(a + 34);
	}
	return 0;
bad:
	*why = "address";
	return -1;
}

/* --- either ----------------------------------------------------------- */

int
proxy_parse(const unsigned char *buf, size_t len, size_t *used,
    struct proxy_info *pi, const char **why)
{
	memset(pi, 0, sizeof(*pi));
	*used = 0;
	*why = NULL;
	if (len == 0)
		return 1;
	/* The signature so far says which version, or that it is none. */
	if (memcmp(buf, v2_sig, min_size(len, V2_SIG_LEN)) == 0)
		return len < V2_SIG_LEN ? 1 : v2_parse(buf, len, used, pi, why);
	if (memcmp(buf, v1_sig, min_size(len, V1_SIG_LEN)) == 0)
		return len < V1_SIG_LEN ? 1 : v1_parse(buf, len, used, pi, why);
	*why = "signature";
	return -1;
}

/* Wait for bytes and peek at up to n of them: their count, 0 at end of
 * file, -1 (errno; ETIMEDOUT past the deadline). */
static ssize_t
peek(int fd, unsigned char *p, size_t n, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	ssize_t r;

	for (;;) {
		r = recv(fd, p, n, MSG_PEEK | MSG_DONTWAIT);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if ((left = deadline - clock_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) == -1 &&
		    errno != EINTR)
			return -1;
	}
}

/* Take n bytes that are known to be waiting. */
static int
take(int fd, unsigned char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = recv(fd, p, n, MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
proxy_read(int fd, int64_t deadline, struct proxy_info *pi,
    const char **why)
{
	unsigned char buf[PROXY_V2_HEAD + PROXY_V2_LEN_MAX];
	size_t have = 0, used;
	ssize_t n;
	int r;

	for (;;) {
		if ((n = peek(fd, buf + have, sizeof(buf) - have, deadline)) <=
		    0) {
			if (n == 0)
				*why = "eof";
			else
				*why = errno == ETIMEDOUT ? "timeout" : "read";
			return -1;
		}
		r = proxy_parse(buf, have + (size_t)n, &used, pi, why);
		if (r == -1)
			return -1;
		/* Complete: up to its end.  Incomplete: all of it is
		 * header. */
		if (r == 0)
			n = (ssize_t)(used - have);
		if (take(fd, buf + have, (size_t)n) == -1) {
			*why = "read";
			return -1;
		}
		have += (size_t)n;
		if (r == 0)
			return 0;
		if (have == sizeof(buf)) {
			/* Cannot happen: both versions end within buf. */
			*why = "too-long";
			return -1;
		}
	}
}
