/* send.h — one delivery attempt of smtp-out: the route of the destination
 * domain, its hosts (MX or a fixed next hop), every address of each host,
 * a session on each until every recipient has a result; then the report,
 * one line per recipient (smtp-out(8)). */
#ifndef POSTHORN_SEND_H
#define POSTHORN_SEND_H

#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "client.h"
#include "conf.h"
#include "dns.h"
#include "route.h"

enum {
	/* A host that does not answer a SYN in 30 s is down; the next
	 * address is tried (Postfix's smtp_connect_timeout is 30 s too). */
	SMTPOUT_CONNECT_TIMEOUT = 30,			/* seconds */
	SEND_EXIT_SENT = 0,		/* every recipient sent */
	SEND_EXIT_FAILED = 1,		/* some failed, none deferred */
	SEND_EXIT_DEFERRED = 75,	/* some deferred (EX_TEMPFAIL) */
	/* A connection's identity: domain, host, port, TLS, AUTH user, CA
	 * file (send.c). */
	SEND_KEY_MAX = ADDR_DOMAIN_MAX + ROUTE_HOST_MAX + ROUTE_USER_MAX +
	    PATH_MAX + 64
};

/* A connection kept between jobs (smtp-out -J): open when c is set. */
struct send_conn {
	int		 fd;			/* -1: none */
	struct io	 io;			/* TLS slides under it */
	struct client	*c;
	char		 key[SEND_KEY_MAX];	/* the next hop, send.c */
	char		 where[CLIENT_HOST_MAX];	/* host[addr] */
	char		 tls[CLIENT_TLSDESC_MAX];	/* "none" or v/c/... */
	unsigned	 msgs;			/* messages it carried */
	int64_t		 last;			/* clock_ms() of the last */
};

struct send_job {
	const struct conf	*conf;
	const char		*domain;	/* lowercase, of every rcpt */
	const char		*sender;	/* "" for the null sender */
	int			 eightbit;	/* -8 */
	int			 smtputf8;	/* -U */
	enum dsn_ret		 ret;		/* -R */
	const char		*envid;		/* -V, or NULL */
	const struct client_msg	*msg;
	/* -L: a local domain's LMTP server (lmtp.h's syntax) instead of
	 * routes(5): LHLO, no TLS, no AUTH; NULL: SMTP. */
	const char		*lmtp;
	struct client_rcpt	*rcpts;
	size_t			 n;
	/* Tests: the session's timeouts; NULL: RFC 5321 §4.5.3.2. */
	const struct client_timeouts *timeouts;
	/* smtp-out -J: the connection kept from the last job, and kept
	 * for the next one if keep (reuse_max messages at most, none after
	 * reuse_idle_ms without one); NULL: a connection for this job. */
	struct send_conn	*conn;
	int			 keep;
	unsigned		 reuse_max;
	int64_t			 reuse_idle_ms;
};

/* Fill in a result for every recipient.  0, or -1 with a configuration
 * error in err (routes(5) unreadable or wrong): exit 78 then. */
int	send_run(const struct send_job *, char *err, size_t errsize);
/* A non-blocking connect from conf's bind4/bind6, within
 * SMTPOUT_CONNECT_TIMEOUT: the socket (non-blocking), or -1 with errno.
 * posthorn-doctor(8) reads our own greeting with it. */
int	send_connect(const struct conf *, const struct dns_addr *,
	    unsigned port);
void	send_conn_init(struct send_conn *);
/* QUIT (unless lost already) and close, logging why; nothing if none. */
void	send_conn_close(struct send_conn *, const char *why);
/* The clock_ms() when an open connection reaches its idle limit. */
int64_t	send_conn_due(const struct send_conn *, int64_t idle_ms);
/* Give every recipient still pending this result (host "-"). */
void	send_fail_all(struct client_rcpt *, size_t, enum client_status,
	    const char *dsn, const char *text);
/* The result lines on fp (a tab, CR or LF in a field becomes a space),
 * a "delivery" log line per recipient, and the exit status. */
int	send_report(FILE *, const struct client_rcpt *, size_t);

#endif
