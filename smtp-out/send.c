/* send.c — the per-destination loop of smtp-out (send.h): route, hosts,
 * addresses, sessions.  The order is the one smtp-out(8) documents: MX
 * hosts by preference (equal ones shuffled by dns_mx), and for each host
 * its IPv6 addresses, then its IPv4 ones.  A host that fails as a whole
 * (no connection, a 4xx or 5xx greeting, 421, a lost connection, TLS
 * policy) passes the recipients still pending to the next address; an
 * answer about a recipient (a 4xx or 5xx to RCPT, to DATA or after the
 * dot) is final for this attempt, and queue-run retries what was
 * deferred on its own schedule.
 *
 * Under smtp-out -J the connection of the last job is kept (struct
 * send_conn) and tried first when the next job has the same next hop:
 * the same key, made of the domain (for MX routes) and of everything in
 * the route that decides who we are to the host (host, port, TLS
 * requirement, AUTH user, CA file).  A kept connection that fails before
 * the final dot is dropped and the job starts again as if it were the
 * first, so that a 421 or a close between messages costs a reconnection
 * and nothing else.
 *
 * For a local domain's LMTP server (smtp-out -L) the route is that
 * server: a UNIX socket, or a host and port tried like a route's host,
 * in plaintext, never one of ours to skip; the connection is kept the
 * same way, keyed by the server alone. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dane.h"
#include "dns.h"
#include "lmtp.h"
#include "log.h"
#include "route.h"
#include "send.h"
#include "str.h"
#include "sts_send.h"
#include "tlsc.h"

enum {
	PORT_SUBMISSION = 587		/* RFC 6409 */
};

struct attempt {
	const struct send_job	*job;
	const struct route	*route;
	struct send_conn	*conn;		/* the job's, or one for it */
	const char		*key;		/* what may share it */
	const char		*host;		/* the name, for TLS */
	const char		*unix_path;	/* LMTP: its socket, or NULL */
	char			 where[CLIENT_HOST_MAX];	/* host[addr] */
	/* The reason to report if no host does better. */
	enum client_status	 fail_status;
	char			 fail_dsn[CLIENT_DSN_MAX];
	char			 fail_text[CLIENT_TEXT_MAX];
	char			 fail_host[CLIENT_HOST_MAX];
	char			 fail_tls[CLIENT_TLSDESC_MAX];
	int			 tried;		/* any host reached or tried */
	/* Why the next hops that were skipped are this machine: the
	 * first of them, for the 5.4.6 when nothing else was tried. */
	char			 self_why[CLIENT_TEXT_MAX];
	size_t			 self;		/* next hops skipped as ours */
	struct sts_send		 sts;		/* MTA-STS, TLS-RPT counts */
	/* DANE (RFC 7672): the next hops came from DNSSEC-secure MX
	 * records (or from routes(5)), and the TLS policy of the host
	 * being tried, with its usable TLSA records (tlsa_buf) or none. */
	int			 hop_secure;
	enum client_tls_policy	 host_tls;
	const struct tlsa_set	*tlsa;
	struct tlsa_set		*tlsa_buf;
};

static void
set_fail(struct attempt *a, enum client_status st, const char *dsn,
    const char *host, const char *tls, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
set_fail(struct attempt *a, enum client_status st, const char *dsn,
    const char *host, const char *tls, const char *fmt, ...)
{
	va_list ap;

	a->fail_status = st;
	str_fmt_cut(a->fail_dsn, sizeof(a->fail_dsn), "%s", dsn);
	str_fmt_cut(a->fail_host, sizeof(a->fail_host), "%s", host);
	str_fmt_cut(a->fail_tls, sizeof(a->fail_tls), "%s", tls);
	va_start(ap, fmt);
	str_vfmt_cut(a->fail_text, sizeof(a->fail_text), fmt, ap);
	va_end(ap);
}

void
send_fail_all(struct client_rcpt *r, size_t n, enum client_status st,
    const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].status != CLIENT_PENDING)
			continue;
		r[i].status = st;
		str_fmt_cut(r[i].dsn, sizeof(r[i].dsn), "%s", dsn);
		str_fmt_cut(r[i].text, sizeof(r[i].text), "%s", text);
		str_fmt_cut(r[i].host, sizeof(r[i].host), "-");
		str_fmt_cut(r[i].tls, sizeof(r[i].tls), "none");
	}
}

static size_t
pending(const struct send_job *job)
{
	size_t i, k = 0;

	for (i = 0; i < job->n; i++)
		if (job->rcpts[i].status == CLIENT_PENDING)
			k++;
	return k;
}

int
send_connect(const struct conf *conf, const struct dns_addr *da,
    unsigned port)
{
	struct sockaddr_storage ss, src;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	struct pollfd pfd;
	socklen_t sl, len;
	const char *bind_to;
	int64_t deadline, left;
	int fd, r, err;

	memset(&ss, 0, sizeof(ss));
	memset(&src, 0, sizeof(src));
	if (da->family == AF_INET6) {
		s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, da->addr, 16);
		sl = sizeof(*s6);
		bind_to = conf->bind6;
		s6 = (struct sockaddr_in6 *)&src;
		s6->sin6_family = AF_INET6;
		r = bind_to[0] != '\0' ? inet_pton(AF_INET6, bind_to,
		    &s6->sin6_addr) : 0;
	} else {
		s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, da->addr, 4);
		sl = sizeof(*s4);
		bind_to = conf->bind4;
		s4 = (struct sockaddr_in *)&src;
		s4->sin_family = AF_INET;
		r = bind_to[0] != '\0' ? inet_pton(AF_INET, bind_to,
		    &s4->sin_addr) : 0;
	}
	fd = socket(da->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (r == 1 && bind(fd, (struct sockaddr *)&src, sl) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR)
		goto fail;
	deadline = clock_ms() + SMTPOUT_CONNECT_TIMEOUT * 1000LL;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		if ((left = deadline - clock_ms()) <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			break;
		if (r == -1 && errno != EINTR)
			goto fail;
	}
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	fd_close(&fd);
	return -1;
}

static void
log_tls(const struct attempt *a, const struct client_tls_info *info)
{
	log_event("tls", "domain", a->job->domain, "host", a->where,
	    "version", info->version, "cipher", info->cipher,
	    "verified", info->verified ? "yes" : "no",
	    "reason", info->verified ? NULL : info->reason,
	    "dane", a->tlsa == NULL ? NULL : info->dane ? "match" : "mismatch",
	    "dane_reason", a->tlsa == NULL ? NULL : info->dane_why,
	    (char *)NULL);
}

static int
starttls_hook(void *arg, struct io *io, int64_t deadline,
    struct client_tls_info *info, char *why, size_t whysz)
{
	struct attempt *a = arg;
	struct tlsc_params tp = { a->host, a->route->ca, a->tlsa };

	if (tlsc_start(io, &tp, deadline, info, why, whysz) == -1) {
		sts_send_handshake(&a->sts, 0);
		log_event("tls-failed", "domain", a->job->domain, "host",
		    a->where, "reason", why, (char *)NULL);
		return -1;
	}
	sts_send_handshake(&a->sts, 1);
	log_tls(a, info);
	return 0;
}

static enum client_tls_policy
policy(enum route_tls t)
{
	switch (t) {
	case ROUTE_TLS_NONE:
		return CLIENT_TLS_NONE;
	case ROUTE_TLS_ENCRYPT:
		return CLIENT_TLS_ENCRYPT;
	case ROUTE_TLS_VERIFY:
		return CLIENT_TLS_VERIFY;
	case ROUTE_TLS_MAY:
	default:
		return CLIENT_TLS_MAY;
	}
}

void
send_conn_init(struct send_conn *k)
{
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

void
send_conn_close(struct send_conn *k, const char *why)
{
	char msgs[24];

	if (k->fd == -1)
		return;
	if (k->c != NULL) {
		(void)str_fmt(msgs, sizeof(msgs), "%u", k->msgs);
		log_event("disconnect", "host", k->where, "messages", msgs,
		    "reason", why, (char *)NULL);
	}
	/* QUIT unless the connection is known to be lost already. */
	client_close(k->c, 1);
	k->c = NULL;
	tlsc_end(&k->io);
	fd_close(&k->fd);
	k->msgs = 0;
	k->key[0] = '\0';
}

int64_t
send_conn_due(const struct send_conn *k, int64_t idle_ms)
{
	return k->c != NULL ? k->last + idle_ms : INT64_MAX;
}

static void
params(const struct attempt *a, struct client_params *p)
{
	const struct send_job *job = a->job;

	memset(p, 0, sizeof(*p));
	p->lmtp = job->lmtp != NULL;
	p->helo = job->conf->hostname;
	p->sender = job->sender;
	p->eightbit = job->eightbit;
	p->smtputf8 = job->smtputf8;
	p->ret = job->ret;
	p->envid = job->envid;
	if (job->timeouts != NULL)
		p->to = *job->timeouts;
	else
		client_timeouts_default(&p->to);
}

/* One message on the open connection k: the recipients it settles are
 * stamped with its host and TLS; the connection is kept for the next
 * one while it is good and under the limit. */
static enum client_result
deliver(struct attempt *a, struct send_conn *k, const struct client_params *p)
{
	const struct send_job *job = a->job;
	struct client_outcome oc;
	unsigned char *was;
	enum client_result res;
	size_t i;

	if ((was = calloc(job->n ? job->n : 1, 1)) == NULL) {
		set_fail(a, CLIENT_DEFERRED, "4.3.0", k->where, "none",
		    "out of memory");
		send_conn_close(k, "out of memory");
		return CLIENT_NEXT;
	}
	for (i = 0; i < job->n; i++)
		was[i] = job->rcpts[i].status == CLIENT_PENDING;
	res = client_send(k->c, p, job->msg, job->rcpts, job->n, &oc);
	k->msgs++;
	k->last = clock_ms();
	for (i = 0; i < job->n; i++) {
		if (!was[i] || job->rcpts[i].status == CLIENT_PENDING)
			continue;
		str_fmt_cut(job->rcpts[i].host, sizeof(job->rcpts[i].host),
		    "%s", k->where);
		str_fmt_cut(job->rcpts[i].tls, sizeof(job->rcpts[i].tls),
		    "%s", k->tls);
	}
	free(was);
	if (res != CLIENT_DONE) {
		log_event("host-failed", "domain", job->domain, "host",
		    k->where, "dsn", oc.fail_dsn, "reason", oc.fail_text,
		    (char *)NULL);
		set_fail(a, oc.fail_status, oc.fail_dsn, k->where, k->tls,
		    "%s", oc.fail_text);
		send_conn_close(k, "host failed");
	} else if (!job->keep || !client_reusable(k->c))
		send_conn_close(k, "done");
	else if (k->msgs >= job->reuse_max)
		send_conn_close(k, "message limit");
	return res;
}

/* The connection kept from the last job, if it may carry this one: the
 * same next hop under the same route (host, port, TLS requirement, AUTH
 * identity), within the message and idle limits.  1 when every
 * recipient has a result; a connection that fails is dropped, and the
 * recipients still pending go the usual way, over a new one: nothing
 * was accepted for them (a reply lost after the dot defers them). */
static int
reuse(struct attempt *a)
{
	const struct send_job *job = a->job;
	struct send_conn *k = a->conn;
	struct client_params p;

	if (k->c == NULL)
		return 0;
	if (strcmp(k->key, a->key) != 0) {
		send_conn_close(k, "another next hop");
		return 0;
	}
	if (clock_ms() >= k->last + job->reuse_idle_ms) {
		send_conn_close(k, "idle limit");
		return 0;
	}
	params(a, &p);
	log_event("reuse", "domain", job->domain, "host", k->where,
	    (char *)NULL);
	a->tried = 1;
	(void)deliver(a, k, &p);
	return pending(job) == 0;
}

/* The host cannot be used under DANE now: the reason for the report,
 * and a log line. */
static int
dane_refuse(struct attempt *a, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
dane_refuse(struct attempt *a, const char *name, const char *fmt, ...)
{
	char why[CLIENT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	str_vfmt_cut(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_event("dane-failed", "domain", a->job->domain, "host", name,
	    "reason", why, (char *)NULL);
	set_fail(a, CLIENT_DEFERRED, "4.7.5", "-", "none", "%s", why);
	a->tried = 1;
	return -1;
}

/* The TLS policy for host name, whose addresses were DNSSEC-secure or
 * not: the route's, or DANE's when the host has usable TLSA records
 * (RFC 7672 §2.2), into a->host_tls and a->tlsa.  -1 when the host must
 * not be used now (a failed or bogus TLSA lookup, or tls=dane without
 * what it needs): a reason is set and the next host is tried. */
static int
tls_for_host(struct attempt *a, const char *name, int addrs_secure)
{
	const struct route *rt = a->route;
	unsigned port = rt->mx ? ROUTE_PORT_DEFAULT : rt->port;
	char why[256];
	enum dane_tlsa_result r;

	a->tlsa = NULL;
	a->host_tls = policy(rt->tls);
	/* none is none; verify asks for the trust store (Postfix's
	 * "verify" is the same: no TLSA lookup). */
	if (rt->tls == ROUTE_TLS_NONE || rt->tls == ROUTE_TLS_VERIFY)
		return 0;
	if (!dane_on() || !a->hop_secure || !addrs_secure) {
		if (rt->tls != ROUTE_TLS_DANE)
			return 0;	/* RFC 7672 §2.2.1: no DANE */
		return dane_refuse(a, name, "DANE is required (routes tls=dane)"
		    " but %s", !dane_on() ? "dnssec is off in posthorn.conf" :
		    !a->hop_secure ? "the MX records are not DNSSEC-signed" :
		    "the host's addresses are not DNSSEC-signed");
	}
	r = dane_tlsa(name, port, a->tlsa_buf, why, sizeof(why));
	log_event("tlsa", "domain", a->job->domain, "host", name, "result",
	    r == DANE_TLSA_FOUND ? "found" : r == DANE_TLSA_NONE ? "none" :
	    "failed", "reason", why, (char *)NULL);
	if (r == DANE_TLSA_TEMP)
		return dane_refuse(a, name, "%s", why);
	if (r == DANE_TLSA_NONE) {
		if (rt->tls == ROUTE_TLS_DANE)
			return dane_refuse(a, name, "DANE is required (routes "
			    "tls=dane) but %s", why);
		return 0;
	}
	if (a->tlsa_buf->n == 0) {
		/* RFC 7672 §2.2: TLSA records, none usable: TLS is still
		 * required, without authentication. */
		if (rt->tls == ROUTE_TLS_DANE)
			return dane_refuse(a, name, "DANE is required (routes "
			    "tls=dane) but %s", why);
		a->host_tls = CLIENT_TLS_ENCRYPT;
		return 0;
	}
	/* RFC 7672 §3.2.2: the TLSA base domain is the reference
	 * identifier (no CNAME is followed for it here, so it is the MX
	 * host name itself). */
	if (tlsa_add_name(a->tlsa_buf, name) == -1)
		return dane_refuse(a, name, "host name too long for DANE");
	a->tlsa = a->tlsa_buf;
	a->host_tls = CLIENT_TLS_DANE;
	return 0;
}

/* One connection to one address: CLIENT_DONE when every recipient has
 * its result, CLIENT_NEXT to go on, CLIENT_RETRY_PLAIN to come back. */
static enum client_result
session(struct attempt *a, const struct dns_addr *da, int tls_off)
{
	const struct send_job *job = a->job;
	const struct route *rt = a->route;
	struct send_conn *k = a->conn;
	struct client_params p;
	struct client_outcome oc;
	char why[256], tls[CLIENT_TLSDESC_MAX];
	unsigned port = rt->mx ? ROUTE_PORT_DEFAULT : rt->port;
	enum client_result res;
	int fd;

	a->tried = 1;
	send_conn_close(k, "another host");
	if (a->unix_path != NULL) {
		if ((fd = fd_connect_unix(a->unix_path)) == -1) {
			log_event("connect-failed", "domain", job->domain,
			    "host", a->where, "reason", strerror(errno),
			    (char *)NULL);
			set_fail(a, CLIENT_DEFERRED, "4.4.1", a->where, "none",
			    "connect to %s: %s", a->where, strerror(errno));
			return CLIENT_NEXT;
		}
	} else if ((fd = send_connect(job->conf, da, port)) == -1) {
		log_event("connect-failed", "domain", job->domain, "host",
		    a->where, "reason", strerror(errno), (char *)NULL);
		set_fail(a, CLIENT_DEFERRED, "4.4.1", a->where, "none",
		    "connect to %s port %u: %s", a->where, port,
		    strerror(errno));
		return CLIENT_NEXT;
	}
	log_event("connect", "domain", job->domain, "host", a->where,
	    "plaintext", tls_off ? "retry after a failed TLS handshake" :
	    NULL, (char *)NULL);
	k->fd = fd;
	io_fd_init(&k->io, fd, fd);
	sts_send_session(&a->sts, fd, tls_off);

	params(a, &p);
	/* DANE wins where the host has usable TLSA records (RFC 8461
	 * §2); elsewhere an enforced MTA-STS policy asks for verify. */
	p.tls = tls_off ? CLIENT_TLS_NONE : a->host_tls == CLIENT_TLS_DANE ?
	    CLIENT_TLS_DANE : sts_send_tls(&a->sts, a->host_tls);
	p.auth_user = rt->auth_user;
	p.auth_pass = rt->auth_pass;
	p.starttls = starttls_hook;
	p.starttls_arg = a;
	if (rt->implicit_tls && !rt->mx) {
		/* Port 465 (RFC 8314): TLS from the first byte; no
		 * plaintext to fall back to. */
		if (starttls_hook(a, &k->io, clock_ms() + p.to.cmd,
		    &p.tls_info, why, sizeof(why)) == -1) {
			set_fail(a, CLIENT_DEFERRED, "4.7.5", a->where, "none",
			    "TLS handshake failed: %s", why);
			send_conn_close(k, "TLS");
			return CLIENT_NEXT;
		}
		p.implicit_tls = 1;
	}
	res = client_open(&k->io, &p, &oc, &k->c);
	if (res != CLIENT_DONE) {
		client_tls_describe(&oc, tls, sizeof(tls));
		sts_send_end(&a->sts, a->host, da, res, &oc, tls, sizeof(tls));
		log_event("host-failed", "domain", job->domain, "host",
		    a->where, "dsn", oc.fail_dsn, "reason", oc.fail_text,
		    (char *)NULL);
		set_fail(a, oc.fail_status, oc.fail_dsn, a->where, tls, "%s",
		    oc.fail_text);
		send_conn_close(k, "host failed");
		return res;
	}
	/* The TLS report counts sessions, and the session's TLS is
	 * settled once it is open: counted here, once, however many
	 * messages the connection carries. */
	client_tls_describe(&oc, k->tls, sizeof(k->tls));
	sts_send_end(&a->sts, a->host, da, res, &oc, k->tls, sizeof(k->tls));
	(void)str_copy(k->where, sizeof(k->where), a->where);
	(void)str_copy(k->key, sizeof(k->key), a->key);
	k->msgs = 0;
	return deliver(a, k, &p);
}

/* A next hop found to be this machine: counted, and the first one's
 * reason kept. */
static void
note_self(struct attempt *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note_self(struct attempt *a, const char *fmt, ...)
{
	va_list ap;

	if (a->self++ > 0)
		return;
	va_start(ap, fmt);
	str_vfmt_cut(a->self_why, sizeof(a->self_why), fmt, ap);
	va_end(ap);
}

static void
log_skip(const struct attempt *a, const char *host, const char *addr)
{
	log_event("skip", "domain", a->job->domain, "host", host, "addr",
	    addr, "reason", "ourselves", (char *)NULL);
}

/* The words for a next hop in a reason: what kind of hop it is. */
static const char *
hop_kind(const struct attempt *a, int implicit)
{
	if (!a->route->mx)
		return "its route's host";
	return implicit ? "it has no MX record, and" : "its MX host";
}

/* Every address of one host: 1 when nothing is pending any more.  With
 * check_self, an address of this machine is skipped, and a host whose
 * every address is ours counts as a next hop that is ourselves. */
static int
host(struct attempt *a, const char *name, int implicit, int check_self)
{
	const struct send_job *job = a->job;
	struct dns_addr *addrs;
	char why[256], dsn[CLIENT_DSN_MAX], first[sizeof(addrs->text)];
	enum dns_result dr;
	enum client_result res;
	size_t i, n = 0, mine = 0;
	int done = 0, perm, secure;

	if ((addrs = calloc(DNS_ADDRS_MAX, sizeof(*addrs))) == NULL) {
		set_fail(a, CLIENT_DEFERRED, "4.3.0", "-", "none",
		    "out of memory");
		return 0;
	}
	a->host = name;
	why[0] = '\0';
	dane_mark();
	dr = dns_addrs(name, addrs, DNS_ADDRS_MAX, &n, why, sizeof(why));
	secure = dane_secure();
	if (dr != DNS_OK) {
		log_event("dns", "domain", job->domain, "host", name,
		    "dsn", dns_dsn(dr, implicit), "reason", why, (char *)NULL);
		/* An MX host without an address is the next host's turn;
		 * if it is the last, the mail stays queued (4.x.x). */
		perm = implicit && dns_permanent(dr);
		str_fmt_cut(dsn, sizeof(dsn), "%s", dns_dsn(dr, implicit));
		if (!perm)
			dsn[0] = '4';
		set_fail(a, perm ? CLIENT_FAILED : CLIENT_DEFERRED, dsn, "-",
		    "none", "%s", why[0] != '\0' ? why :
		    "no address for the host");
		a->tried = 1;
		goto out;
	}
	if (tls_for_host(a, name, secure) == -1)
		goto out;
	for (i = 0; i < n && !done; i++) {
		if (check_self && dns_is_self(job->conf, NULL, &addrs[i])) {
			log_skip(a, name, addrs[i].text);
			if (mine++ == 0)
				(void)str_copy(first, sizeof(first),
				    addrs[i].text);
			continue;
		}
		str_fmt_cut(a->where, sizeof(a->where), "%s[%s]", name,
		    addrs[i].text);
		res = session(a, &addrs[i], 0);
		if (res == CLIENT_RETRY_PLAIN)
			/* tls=may: the same host once more, in plaintext. */
			res = session(a, &addrs[i], 1);
		done = res == CLIENT_DONE || pending(job) == 0;
	}
	/* Only when every address is ours is the host ourselves; with some
	 * of another machine, those were tried. */
	if (mine > 0 && mine == n)
		note_self(a, "%s %s has this machine's address %s",
		    hop_kind(a, implicit), name, first);
out:
	free(addrs);
	return done;
}

/* Ports where posthorn's own listeners take mail (MX, submission with
 * STARTTLS, submissions): a route to one of them on this machine comes
 * back to us.  Any other port is a filter or a relay, not a loop. */
static int
port_is_ours(unsigned port)
{
	return port == ROUTE_PORT_DEFAULT || port == ROUTE_PORT_SMTPS ||
	    port == PORT_SUBMISSION;
}

/* The route of smtp-out -L: the LMTP server, in plaintext (a local
 * store: loopback or a socket; RFC 2033 §6), no AUTH.  0, or -1 with
 * why in err (a configuration error). */
static int
lmtp_route(const char *target, struct route *rt, struct lmtp_target *t,
    char *err, size_t errsize)
{
	const char *why;

	memset(rt, 0, sizeof(*rt));
	if ((why = lmtp_target_parse(target, t)) != NULL) {
		str_fmt_cut(err, errsize, "LMTP server %s: %s", target, why);
		errno = EINVAL;
		return -1;
	}
	rt->mx = 0;
	rt->tls = ROUTE_TLS_NONE;
	rt->port = t->unix_socket ? 0 : t->port;
	(void)str_copy(rt->host, sizeof(rt->host), t->unix_socket ? "" :
	    t->host);
	return 0;
}

int
send_run(const struct send_job *job, char *err, size_t errsize)
{
	struct lmtp_target lt;
	struct route rt;
	struct attempt a;
	struct dns_target *t = NULL;
	struct send_conn one;
	char why[256], key[SEND_KEY_MAX];
	enum dns_result dr;
	size_t i, n = 0;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	send_conn_init(&one);
	a.job = job;
	a.route = &rt;
	a.conn = job->conn != NULL ? job->conn : &one;
	a.key = key;
	if (job->lmtp != NULL ? lmtp_route(job->lmtp, &rt, &lt, err,
	    errsize) == -1 : route_lookup(job->conf, job->domain, &rt, err,
	    errsize) == -1) {
		if (job->conn != NULL)
			send_conn_close(job->conn, "configuration");
		goto out;
	}
	/* DNSSEC for DANE: the context once per process (dane.h). */
	if (rt.tls != ROUTE_TLS_NONE && dane_init(job->conf, err,
	    errsize) == -1)
		goto out;
	if ((a.tlsa_buf = calloc(1, sizeof(*a.tlsa_buf))) == NULL) {
		str_fmt_cut(err, errsize, "out of memory");
		goto out;
	}
	/* A route's host is ours to name: as good as a secure MX. */
	a.hop_secure = !rt.mx;
	rc = 0;
	sts_send_begin(&a.sts, job->conf, job->domain, rt.mx,
	    rt.tls == ROUTE_TLS_NONE);
	if (client_msg_problem(job->msg) != NULL)
		send_fail_all(job->rcpts, job->n, CLIENT_FAILED, "5.6.0",
		    client_msg_problem(job->msg));
	if (pending(job) == 0)
		goto out;
	set_fail(&a, CLIENT_DEFERRED, "4.4.0", "-", "none",
	    "no host could be tried");
	/* What a connection is for: never another route's, TLS
	 * requirement's or AUTH identity's; an MX's for its domain only. */
	if (job->lmtp != NULL ? str_fmt(key, sizeof(key), "lmtp\t%s",
	    job->lmtp) == -1 : str_fmt(key, sizeof(key),
	    "%s\t%s\t%u\t%d\t%d\t%s\t%s",
	    rt.mx ? job->domain : "-", rt.mx ? "mx" : rt.host, rt.port,
	    rt.implicit_tls, (int)rt.tls, rt.auth_user, rt.ca) == -1)
		key[0] = '\0';		/* matches no connection */
	if (key[0] != '\0' && reuse(&a))
		goto out;
	if (job->lmtp != NULL && lt.unix_socket) {
		a.unix_path = lt.path;
		str_fmt_cut(a.where, sizeof(a.where), "unix:%s", lt.path);
		(void)session(&a, NULL, 0);
		goto loop;
	}
	if (job->lmtp != NULL) {
		/* Whatever the port, a server of ours is not skipped: the
		 * operator named it. */
		(void)host(&a, rt.host, 0, 0);
		goto loop;
	}
	if (!rt.mx) {
		if (port_is_ours(rt.port) && dns_is_self(job->conf, rt.host,
		    NULL)) {
			log_skip(&a, rt.host, NULL);
			note_self(&a, "its route's host %s is this host's "
			    "name (hostname of posthorn.conf)", rt.host);
		} else
			(void)host(&a, rt.host, 0, port_is_ours(rt.port));
		goto loop;
	}
	if ((t = calloc(DNS_HOSTS_MAX, sizeof(*t))) == NULL) {
		send_fail_all(job->rcpts, job->n, CLIENT_DEFERRED, "4.3.0",
		    "out of memory");
		goto out;
	}
	why[0] = '\0';
	dane_mark();
	dr = dns_mx(job->domain, t, DNS_HOSTS_MAX, &n, why, sizeof(why));
	/* RFC 7672 §2.2.1: insecure MX records, no DANE for their hosts. */
	a.hop_secure = dane_secure();
	if (dr != DNS_OK) {
		log_event("dns", "domain", job->domain, "dsn", dns_dsn(dr, 1),
		    "reason", why, (char *)NULL);
		send_fail_all(job->rcpts, job->n, dns_permanent(dr) ?
		    CLIENT_FAILED : CLIENT_DEFERRED, dns_dsn(dr, 1),
		    why[0] != '\0' ? why : "DNS lookup failed");
		goto out;
	}
	/* Every kind of next hop is checked, the implicit MX (the
	 * domain's own A and AAAA) as much as a named one: an address of
	 * a name that is not local, pointing at this machine, would
	 * otherwise come back to us. */
	for (i = 0; i < n; i++) {
		if (dns_is_self(job->conf, t[i].host, NULL)) {
			log_skip(&a, t[i].host, NULL);
			note_self(&a, "%s %s is this host's name (hostname "
			    "of posthorn.conf)",
			    hop_kind(&a, t[i].implicit), t[i].host);
			continue;
		}
		if (!sts_send_host_ok(&a.sts, t[i].host)) {
			/* RFC 8461 §4.2: an MX host outside an enforced
			 * policy gets nothing; none left is a 4.7.x. */
			set_fail(&a, CLIENT_DEFERRED, "4.7.5", "-", "none",
			    "MX host %s matches no mx line of the MTA-STS "
			    "policy of %s", t[i].host, job->domain);
			continue;
		}
		if (host(&a, t[i].host, t[i].implicit, 1))
			break;
	}
loop:
	if (!a.tried && a.self > 0)
		/* RFC 5321 §5.1: every next hop is ourselves. */
		set_fail(&a, CLIENT_FAILED, "5.4.6", "-", "none",
		    "mail for %s loops back to myself: %s", job->domain,
		    a.self_why);
	for (i = 0; i < job->n; i++) {
		struct client_rcpt *r = &job->rcpts[i];

		if (r->status != CLIENT_PENDING)
			continue;
		r->status = a.fail_status;
		str_fmt_cut(r->dsn, sizeof(r->dsn), "%s", a.fail_dsn);
		str_fmt_cut(r->text, sizeof(r->text), "%s", a.fail_text);
		str_fmt_cut(r->host, sizeof(r->host), "%s", a.fail_host);
		str_fmt_cut(r->tls, sizeof(r->tls), "%s", a.fail_tls);
	}
out:
	send_conn_close(&one, "done");
	free(t);
	free(a.tlsa_buf);
	explicit_bzero(rt.auth_pass, sizeof(rt.auth_pass));
	return rc;
}

/* A field as it may go on a result line: no tab, CR or LF, never empty. */
static void
field(FILE *fp, const char *s, const char *sep)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		fputc('-', fp);
	for (; *p != '\0'; p++)
		fputc(*p < ' ' || *p == 0x7f ? ' ' : *p, fp);
	fputs(sep, fp);
}

static const char *
status_name(enum client_status st)
{
	switch (st) {
	case CLIENT_SENT:
		return "sent";
	case CLIENT_FAILED:
		return "failed";
	default:
		return "deferred";
	}
}

/* The delivery log line: tls= the outcome word (client.h), the
 * version and cipher beside it. */
static void
log_delivery(const struct client_rcpt *r)
{
	char detail[CLIENT_TLSDESC_MAX];
	const char *outcome = "none", *slash = strrchr(r->tls, '/');

	detail[0] = '\0';
	if (slash != NULL) {
		outcome = slash + 1;
		str_fmt_cut(detail, sizeof(detail), "%.*s",
		    (int)(slash - r->tls), r->tls);
	}
	log_event("delivery", "to", r->addr, "status", status_name(r->status),
	    "dsn", r->dsn, "host", r->host, "tls", outcome, "tls_cipher",
	    detail[0] != '\0' ? detail : NULL, "reply", r->text,
	    (char *)NULL);
}

int
send_report(FILE *fp, const struct client_rcpt *r, size_t n)
{
	int deferred = 0, failed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		field(fp, status_name(r[i].status), "\t");
		field(fp, r[i].addr, "\t");
		field(fp, r[i].dsn[0] != '\0' ? r[i].dsn : "4.0.0", "\t");
		field(fp, r[i].host[0] != '\0' ? r[i].host : "-", "\t");
		field(fp, r[i].tls[0] != '\0' ? r[i].tls : "none", "\t");
		field(fp, r[i].text, "\n");
		log_delivery(&r[i]);
		if (r[i].status == CLIENT_FAILED)
			failed = 1;
		else if (r[i].status != CLIENT_SENT)
			deferred = 1;
	}
	return deferred ? SEND_EXIT_DEFERRED : failed ? SEND_EXIT_FAILED :
	    SEND_EXIT_SENT;
}
