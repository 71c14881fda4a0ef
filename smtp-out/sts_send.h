/* sts_send.h — what send.c asks of MTA-STS and TLS reporting for one
 * destination: which MX hosts a policy lets us use, what TLS it requires
 * of them, and, after every session, one count for the TLS report
 * (lib/tlsrpt.h).  Kept apart from send.c so that the loop over hosts
 * reads the same with a policy or without one. */
#ifndef POSTHORN_STS_SEND_H
#define POSTHORN_STS_SEND_H

#include "client.h"
#include "conf.h"
#include "dns.h"
#include "sts.h"

struct sts_send {
	const struct conf	*conf;
	const char		*domain;
	struct sts_policy	 pol;
	struct sts_found	 found;
	/* A policy in mode testing or enforce applies to this delivery. */
	int			 active;
	/* Sessions are counted for the domain's TLS report: not through
	 * a route's fixed next hop (not the domain's MX), nor tls=none. */
	int			 counting;
	/* The host in progress: testing mode let it through although it
	 * matches no mx line (its sessions count as that failure). */
	int			 mx_mismatch;
	/* The session in progress: */
	int			 plain_retry;	/* tls=may's retry: not counted */
	int			 tls_tried;	/* the handshake was started */
	int			 tls_ok;	/* and it succeeded */
	char			 sending_ip[46];
};

/* The policy of the destination when mail goes to its MX hosts (mx: 1;
 * a route to a fixed host has none, and neither has tls=none). */
void	sts_send_begin(struct sts_send *, const struct conf *,
	    const char *domain, int mx, int tls_none);
/* 1 when host may get the mail: no policy, mode testing (a mismatch is
 * counted and logged), or a host that matches the policy. */
int	sts_send_host_ok(struct sts_send *, const char *host);
/* The TLS the client must require: CLIENT_TLS_VERIFY under enforce,
 * else base. */
enum client_tls_policy sts_send_tls(const struct sts_send *,
	    enum client_tls_policy base);
/* A session begins on fd (for our own address in the report);
 * plain_retry: the plaintext retry after a failed handshake, whose
 * failure was counted already. */
void	sts_send_session(struct sts_send *, int fd, int plain_retry);
/* The STARTTLS hook's outcome. */
void	sts_send_handshake(struct sts_send *, int ok);
/* The session ended: one count for the report; and the TLS outcome
 * for the result line into tls ("sts" for a delivery under an enforced
 * policy, else left as it is). */
void	sts_send_end(struct sts_send *, const char *host,
	    const struct dns_addr *, enum client_result,
	    const struct client_outcome *, char *tls, size_t tlssize);

#endif
