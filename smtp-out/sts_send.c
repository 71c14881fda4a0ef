/* sts_send.c — MTA-STS and TLS-report counting around send.c's sessions
 * (sts_send.h).  Under "enforce" an MX host that matches no pattern is
 * never tried and the others must show a certificate valid for their
 * name, so the mail is deferred rather than sent in clear or to an
 * unverified host (RFC 8461 §5.1); under "testing" the same failures
 * are only counted.  Every session that reached the point of TLS is
 * counted once, for the policy that applied or for no-policy-found. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "log.h"
#include "str.h"
#include "sts_send.h"
#include "tlsrpt.h"

static void
count(struct sts_send *s, const char *host, const char *addr,
    const char *result, const char *reason)
{
	struct tlsrpt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.policy_type = s->active || (s->found.failure[0] != '\0' &&
	    strncmp(result, "sts-", 4) == 0) ? "sts" : "no-policy-found";
	ev.policy_domain = s->domain;
	ev.result = result;
	ev.sending_ip = s->sending_ip[0] != '\0' ? s->sending_ip : NULL;
	ev.mx_host = host;
	ev.receiving_ip = addr;
	ev.reason_code = reason;
	if (tlsrpt_count(s->conf->spool, &ev, time(NULL)) == -1)
		log_event("error", "domain", s->domain, "tlsrpt",
		    strerror(errno), (char *)NULL);
}

void
sts_send_begin(struct sts_send *s, const struct conf *conf,
    const char *domain, int mx, int tls_none)
{
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->domain = domain;
	if (!mx || tls_none)
		return;
	s->counting = 1;
	sts_get(conf, domain, conf->mta_sts_ca, &s->pol, &s->found);
	if (s->found.failure[0] != '\0')
		/* RFC 8460 §4.3.2.2: the policy could not be had. */
		count(s, NULL, NULL, s->found.failure, NULL);
	s->active = s->found.state == STS_POLICY &&
	    s->pol.mode != STS_MODE_NONE;
	if (s->active)
		log_event("mta-sts", "domain", domain, "mode",
		    sts_mode_name(s->pol.mode), "id", s->pol.id, "cached",
		    s->found.cached ? "yes" : "no", (char *)NULL);
}

int
sts_send_host_ok(struct sts_send *s, const char *host)
{
	s->mx_mismatch = 0;
	if (!s->active || sts_mx_match(&s->pol, host))
		return 1;
	log_event("mta-sts", "domain", s->domain, "host", host, "mode",
	    sts_mode_name(s->pol.mode), "reason",
	    "the MX host matches no mx line of the policy", (char *)NULL);
	if (s->pol.mode == STS_MODE_ENFORCE) {
		/* No session: this is the one count. */
		count(s, host, NULL, "validation-failure", "mx-not-in-policy");
		return 0;
	}
	s->mx_mismatch = 1;
	return 1;
}

enum client_tls_policy
sts_send_tls(const struct sts_send *s, enum client_tls_policy base)
{
	if (s->active && s->pol.mode == STS_MODE_ENFORCE)
		return CLIENT_TLS_VERIFY;
	return base;
}

void
sts_send_session(struct sts_send *s, int fd, int plain_retry)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *a = NULL;

	s->plain_retry = plain_retry;
	s->tls_tried = s->tls_ok = 0;
	s->sending_ip[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a == NULL || inet_ntop(ss.ss_family, a, s->sending_ip,
	    sizeof(s->sending_ip)) == NULL)
		s->sending_ip[0] = '\0';
}

void
sts_send_handshake(struct sts_send *s, int ok)
{
	s->tls_tried = 1;
	s->tls_ok = ok;
}

/* RFC 8460 §4.3.1's result type for a certificate that did not verify,
 * from GnuTLS's status bits. */
static const char *
cert_result(unsigned status)
{
	if (status & GNUTLS_CERT_EXPIRED)
		return "certificate-expired";
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND |
	    GNUTLS_CERT_SIGNER_NOT_CA | GNUTLS_CERT_REVOKED))
		return "certificate-not-trusted";
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		return "certificate-host-mismatch";
	return "validation-failure";
}

void
sts_send_end(struct sts_send *s, const char *host,
    const struct dns_addr *da, enum client_result res,
    const struct client_outcome *oc, char *tls, size_t tlssize)
{
	const char *result = NULL, *reason = NULL;

	if (s->plain_retry || !s->counting)
		return;
	if (s->tls_tried && !s->tls_ok) {
		result = "validation-failure";
		reason = "tls-handshake-failed";
	} else if (oc->tls)
		result = oc->tls_info.verified ? "success" :
		    cert_result(oc->tls_info.verify_status);
	else if (res == CLIENT_DONE || strcmp(oc->fail_dsn, "4.7.5") == 0)
		/* Sent in clear, or refused for want of STARTTLS: either
		 * way the host did not offer it (or someone removed it). */
		result = "starttls-not-supported";
	if (result == NULL)
		return;		/* no session got that far */
	/* Under "none" and without a policy, an unverified certificate is
	 * what opportunistic TLS expects: no failure to report. */
	if (!s->active && oc->tls)
		result = "success";
	/* Testing mode, a host outside the policy: that is its failure,
	 * whatever its certificate says, since none would do. */
	if (s->mx_mismatch) {
		result = "validation-failure";
		reason = "mx-not-in-policy";
	}
	count(s, host, da->text, result, reason);
	/* The outcome word of the TLS field (client_tls_describe's third
	 * part): "sts" for a session that met an enforced policy, unless
	 * DANE authenticated it, which wins (RFC 8461 §2). */
	if (s->active && s->pol.mode == STS_MODE_ENFORCE && oc->tls &&
	    oc->tls_info.verified && !oc->tls_info.dane && res == CLIENT_DONE)
		str_fmt_cut(tls, tlssize, "%s/%s/sts", oc->tls_info.version,
		    oc->tls_info.cipher);
}
