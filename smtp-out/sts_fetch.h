/* sts_fetch.h — the HTTPS GET of an MTA-STS policy (RFC 8461 §3.3):
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt, the server's
 * certificate verified for that name (system trust store, plus a CA
 * file for tests), within STS_FETCH_TIMEOUT_MS, a body of at most
 * STS_POLICY_MAX bytes, 200 only (no redirect is followed, RFC 8461
 * §3.3), and text/plain. */
#ifndef POSTHORN_STS_FETCH_H
#define POSTHORN_STS_FETCH_H

#include <stddef.h>

#include "conf.h"

enum {
	/* RFC 8461 §3.3 suggests a timeout of a minute for the fetch;
	 * this is the whole of it, DNS, connect, TLS and body. */
	STS_FETCH_TIMEOUT_MS = 60 * 1000,
	STS_HTTPS_PORT = 443,
	/* The response's status line and header fields: servers send
	 * well under 2 KB; more is not a policy server. */
	STS_HTTP_HEAD_MAX = 16 * 1024
};

enum sts_fetch_result {
	STS_FETCH_OK = 0,
	STS_FETCH_ERROR,	/* sts-policy-fetch-error (RFC 8460) */
	STS_FETCH_WEBPKI	/* sts-webpki-invalid: the certificate */
};

/* The body of the policy into buf (size > STS_POLICY_MAX), NUL-ended,
 * its length in *len; otherwise a reason in why. */
enum sts_fetch_result sts_fetch(const struct conf *, const char *domain,
		    const char *ca, char *buf, size_t size, size_t *len,
		    char *why, size_t whysize);

#endif
