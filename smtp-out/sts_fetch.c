/* sts_fetch.c — GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt
 * (sts_fetch.h).  The connection is smtp-out's own (send_connect, so
 * bind4/bind6 hold for it too) and the TLS is tlsc.c's, with the
 * certificate required to be valid for mta-sts.DOMAIN.  HTTP/1.0, so
 * that no server answers in chunks; one request, "Connection: close",
 * and anything but a 200 is a failure: a redirect is never followed
 * (RFC 8461 §3.3). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "dns.h"
#include "io.h"
#include "send.h"
#include "str.h"
#include "sts.h"
#include "sts_fetch.h"
#include "tlsc.h"

#define WELL_KNOWN	"/.well-known/mta-sts.txt"

/* The header field name of the line at p (len bytes): its value with
 * leading blanks skipped, or NULL. */
static const char *
field(const char *p, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *v;

	if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return NULL;
	for (v = p + n + 1; v < p + len && (*v == ' ' || *v == '\t'); v++)
		;
	*vlen = (size_t)(p + len - v);
	while (*vlen > 0 && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t'))
		(*vlen)--;
	return v;
}

/* Status line and fields of head (hlen bytes, the blank line
 * excluded): 0 and the body's length (-1: to the end), or -1 and why. */
static int
parse_head(const char *head, size_t hlen, long long *clen, char *why,
    size_t whysize)
{
	const char *p = head, *end = head + hlen, *eol, *v;
	size_t len, vlen;
	int status, text = 0;

	*clen = -1;
	if ((eol = memchr(p, '\n', hlen)) == NULL)
		eol = end;
	len = (size_t)(eol - p);
	if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9') {
		str_fmt_cut(why, whysize, "not an HTTP response");
		return -1;
	}
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (status != 200) {
		str_fmt_cut(why, whysize, "HTTP status %d%s", status,
		    status / 100 == 3 ? " (a redirect, not followed)" : "");
		return -1;
	}
	for (p = eol + 1; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		len = (size_t)(eol - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if ((v = field(p, len, "Content-Type", &vlen)) != NULL) {
			/* RFC 8461 §3.3: text/plain, parameters allowed. */
			text = vlen >= 10 && strncasecmp(v, "text/plain", 10)
			    == 0 && (vlen == 10 || v[10] == ';' ||
			    v[10] == ' ');
		} else if ((v = field(p, len, "Content-Length", &vlen)) !=
		    NULL) {
			long long n = 0;
			size_t i;

			if (vlen == 0 || vlen > 12)
				goto badlen;
			for (i = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9')
					goto badlen;
				n = n * 10 + (v[i] - '0');
			}
			*clen = n;
		} else if (field(p, len, "Transfer-Encoding", &vlen) !=
		    NULL) {
			str_fmt_cut(why, whysize, "a transfer encoding in "
			    "an answer to HTTP/1.0");
			return -1;
		}
	}
	if (!text) {
		str_fmt_cut(why, whysize, "not text/plain");
		return -1;
	}
	if (*clen > STS_POLICY_MAX) {
		str_fmt_cut(why, whysize, "Content-Length over %d bytes",
		    STS_POLICY_MAX);
		return -1;
	}
	return 0;
badlen:
	str_fmt_cut(why, whysize, "bad Content-Length");
	return -1;
}

/* The end of the header (the blank line) in buf[0..n): the offset of
 * the body, or 0 while it is not all there. */
static size_t
head_end(const char *buf, size_t n, size_t *hlen)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n') {
			*hlen = i;
			return i + 2;
		}
		if (i + 2 < n && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			*hlen = i;
			return i + 3;
		}
	}
	return 0;
}

/* The exchange on a TLS io: request, head, body into buf. */
static enum sts_fetch_result
exchange(struct io *io, const char *name, int64_t deadline, char *buf,
    size_t size, size_t *len, char *why, size_t whysize)
{
	char req[DNS_NAME_MAX + 128], *head;
	size_t n = 0, hlen = 0, off = 0;
	long long clen;
	ssize_t r;
	int rl;
	enum sts_fetch_result rc = STS_FETCH_ERROR;

	rl = snprintf(req, sizeof(req), "GET " WELL_KNOWN " HTTP/1.0\r\n"
	    "Host: %s\r\nUser-Agent: posthorn smtp-out\r\n"
	    "Connection: close\r\n\r\n", name);
	if (rl < 0 || (size_t)rl >= sizeof(req) ||
	    io_write_all(io, req, (size_t)rl, deadline) == -1) {
		str_fmt_cut(why, whysize, "sending the request: %s",
		    strerror(errno));
		return rc;
	}
	if ((head = malloc(STS_HTTP_HEAD_MAX + STS_POLICY_MAX + 1)) == NULL) {
		str_fmt_cut(why, whysize, "out of memory");
		return rc;
	}
	/* Head and the start of the body into head[], then the body. */
	while ((off = head_end(head, n, &hlen)) == 0) {
		if (n >= STS_HTTP_HEAD_MAX) {
			str_fmt_cut(why, whysize, "header over %d bytes",
			    STS_HTTP_HEAD_MAX);
			goto out;
		}
		r = io_read(io, head + n, STS_HTTP_HEAD_MAX - n, deadline);
		if (r <= 0) {
			str_fmt_cut(why, whysize, "reading the answer: %s",
			    r == 0 ? "connection closed" : strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	if (parse_head(head, hlen, &clen, why, whysize) == -1)
		goto out;
	*len = n - off;
	if (*len > STS_POLICY_MAX || *len >= size)
		goto toolong;
	memcpy(buf, head + off, *len);
	for (;;) {
		if (clen >= 0 && (long long)*len >= clen)
			break;
		/* One byte more than a policy may have: to see it. */
		r = io_read(io, buf + *len, size - *len, deadline);
		if (r == 0 || (r == -1 && errno == ECONNRESET && clen < 0))
			break;	/* no close_notify: HTTP/1.0 ends anyway */
		if (r == -1) {
			str_fmt_cut(why, whysize, "reading the policy: %s",
			    strerror(errno));
			goto out;
		}
		*len += (size_t)r;
		if (*len > STS_POLICY_MAX)
			goto toolong;
	}
	if (clen >= 0 && (long long)*len != clen) {
		str_fmt_cut(why, whysize, "the body is not Content-Length "
		    "long");
		goto out;
	}
	buf[*len] = '\0';
	rc = STS_FETCH_OK;
	goto out;
toolong:
	str_fmt_cut(why, whysize, "policy over %d bytes", STS_POLICY_MAX);
out:
	free(head);
	return rc;
}

enum sts_fetch_result
sts_fetch(const struct conf *conf, const char *domain, const char *ca,
    char *buf, size_t size, size_t *len, char *why, size_t whysize)
{
	struct dns_addr *addrs;
	struct client_tls_info info;
	struct tlsc_params tp;
	struct io io;
	char name[DNS_NAME_MAX + 1], w[256];
	int64_t deadline = clock_ms() + STS_FETCH_TIMEOUT_MS;
	enum sts_fetch_result rc = STS_FETCH_ERROR;
	size_t i, n = 0;
	int fd;

	*len = 0;
	if (str_fmt(name, sizeof(name), "mta-sts.%s", domain) == -1) {
		str_fmt_cut(why, whysize, "name too long");
		return rc;
	}
	if ((addrs = calloc(DNS_ADDRS_MAX, sizeof(*addrs))) == NULL) {
		str_fmt_cut(why, whysize, "out of memory");
		return rc;
	}
	w[0] = '\0';
	if (dns_addrs(name, addrs, DNS_ADDRS_MAX, &n, w, sizeof(w)) !=
	    DNS_OK) {
		str_fmt_cut(why, whysize, "%s: %s", name, w[0] != '\0' ? w :
		    "no address");
		goto out;
	}
	str_fmt_cut(why, whysize, "%s: no address answered", name);
	for (i = 0; i < n && clock_ms() < deadline; i++) {
		if ((fd = send_connect(conf, &addrs[i], STS_HTTPS_PORT)) ==
		    -1) {
			str_fmt_cut(why, whysize, "%s[%s]: %s", name,
			    addrs[i].text, strerror(errno));
			continue;
		}
		io_fd_init(&io, fd, fd);
		memset(&tp, 0, sizeof(tp));	/* no TLSA: the web PKI */
		tp.host = name;
		tp.ca = ca;
		if (tlsc_start(&io, &tp, deadline, &info, w, sizeof(w)) ==
		    -1) {
			str_fmt_cut(why, whysize, "%s[%s]: TLS: %s", name,
			    addrs[i].text, w);
			fd_close(&fd);
			continue;
		}
		if (!info.verified) {
			/* The policy's authenticity is the certificate's:
			 * never read a word from a server that fails it. */
			str_fmt_cut(why, whysize, "%s[%s]: certificate: %s",
			    name, addrs[i].text, info.reason);
			rc = STS_FETCH_WEBPKI;
		} else
			rc = exchange(&io, name, deadline, buf, size, len,
			    why, whysize);
		tlsc_end(&io);
		fd_close(&fd);
		break;
	}
out:
	free(addrs);
	return rc;
}
