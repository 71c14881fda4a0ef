/* listen.h — smtp-listen: accept connections on the sockets systemd
 * passed (or that it bound itself) and start one smtp-in session process
 * per connection, within limits on sessions at once, per source and per
 * second, answered with a 421 of its own.  It never reads a byte from
 * the network: a session does that. */
#ifndef POSTHORN_LISTEN_H
#define POSTHORN_LISTEN_H

#include <sys/socket.h>

#include <stddef.h>

/* Defaults and bounds: every one is in smtp-listen(8). */
enum {
	LISTEN_SOCKETS_MAX = 16,	/* sockets of one listener */
	LISTEN_NETS_MAX = 32,		/* -p and -x entries */
	/* Sessions at once: Postfix's default_process_limit. */
	LISTEN_SESSIONS_DEFAULT = 100,
	LISTEN_SESSIONS_MAX = 10000,
	/* One source's sessions at once and new connections a second.
	 * Postfix's anvil allows 50 at once and no rate by default; a
	 * personal server's peers (the big providers, a mail client) open
	 * a few at a time. */
	LISTEN_PER_SOURCE_DEFAULT = 10,
	LISTEN_RATE_DEFAULT = 10,
	LISTEN_LIMIT_MAX = 100000,
	/* Seconds that sessions get to finish after SIGTERM, and then
	 * after their own SIGTERM before SIGKILL. */
	LISTEN_DRAIN_DEFAULT = 20,
	LISTEN_DRAIN_MAX = 3600,
	LISTEN_KILL_GRACE = 5
};

struct listen_net {
	unsigned char	b[16];		/* IPv4 mapped into IPv6 */
	unsigned	prefix;		/* bits of b that count, 0..128 */
};

struct confwatch;

struct listen_opts {
	const char	*confdir;	/* absolute, passed on with -C */
	const char	*hostname;	/* of the 421 replies */
	/* When not NULL, where hostname comes from: posthorn.conf is read
	 * again when it changed before a refusal is written, and on
	 * SIGHUP (confwatch.h). */
	struct confwatch *cw;
	const char	*user;		/* -u: drop to it after binding */
	const char	*mode;		/* mx, submission, submissions */
	unsigned	 max_sessions;
	unsigned	 per_source;	/* 0: no limit */
	unsigned	 rate;		/* 0: no limit */
	unsigned	 drain;		/* seconds */
	int		 tlsd;		/* start the TLS zygote */
	int		 checkd;	/* start the checker (mode mx) */
	struct listen_net exempt[LISTEN_NETS_MAX];
	size_t		 nexempt;
	struct listen_net proxy[LISTEN_NETS_MAX];
	size_t		 nproxy;
	char *const	*addrs;		/* ADDR:PORT to bind */
	size_t		 naddrs;
};

/* "ADDR" or "ADDR/PREFIX", IPv4 or IPv6: 0, or -1. */
int	listen_net_parse(const char *, struct listen_net *);
/* Is the address of sa inside one of the n nets? */
int	listen_net_match(const struct listen_net *, size_t n,
	    const struct sockaddr *);
/* "1.2.3.4:25", "[::]:25", "[2001:db8::1]:587": 0, or -1. */
int	listen_addr_parse(const char *, struct sockaddr_storage *,
	    socklen_t *);
/* Is s one of smtp-in's modes? */
int	listen_mode_valid(const char *);

/* What a session reports at its end (helpers.h), for the counters. */
struct listen_report {
	const char	*mode, *end, *tls;	/* into the line */
	long		 messages, auth_ok, auth_failed, auth_temp;
};

/* Parse a report line, in place: 0, or -1 when it is not exactly the
 * seven fields in their order, a mode of ours, words of [a-z0-9-] (no
 * quote, no newline: they become label values) and counts of at most a
 * million. */
int	listen_report_parse(char *line, struct listen_report *);
/* Run until SIGTERM has drained the sessions: the exit status. */
int	listen_run(const struct listen_opts *);

#endif
