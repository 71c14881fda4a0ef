/* route.h — DIR/routes (routes(5)): how mail for a destination domain
 * leaves: through its MX hosts or a fixed next hop (a smarthost), with
 * which TLS requirement and which AUTH credentials.  The file is read for
 * each smtp-out run (one destination), so an edit takes effect at the
 * next delivery. */
#ifndef POSTHORN_ROUTE_H
#define POSTHORN_ROUTE_H

#include <limits.h>
#include <stddef.h>

#include "conf.h"

enum {
	ROUTE_PORT_DEFAULT = 25,	/* RFC 5321 §4.5.4.2 */
	ROUTE_PORT_SMTPS = 465,		/* TLS from the first byte, RFC 8314 */
	ROUTE_HOST_MAX = 255,		/* RFC 1035 name length */
	ROUTE_USER_MAX = 255,
	ROUTE_PASS_MAX = 511
};

enum route_tls {
	ROUTE_TLS_NONE,		/* never STARTTLS */
	ROUTE_TLS_MAY,		/* STARTTLS when offered, plaintext after a
				   failed handshake (the default); DANE
				   when the hop has usable TLSA records */
	ROUTE_TLS_ENCRYPT,	/* TLS required, any certificate; DANE
				   when the hop has usable TLSA records */
	ROUTE_TLS_VERIFY,	/* TLS required, certificate valid for the
				   host name (system store, or ca); no
				   TLSA lookup */
	ROUTE_TLS_DANE,		/* DANE required (RFC 7672): a hop without
				   secure, usable TLSA records is deferred */
	ROUTE_TLS_STS		/* MTA-STS (RFC 8461), enforced by the
				   MTA-STS layer; here the same as may */
};

struct route {
	int		mx;		/* 1: MX lookup of the domain */
	char		host[ROUTE_HOST_MAX + 1];	/* !mx: the next hop,
				   a name (AAAA/A, never MX) or an address,
				   without brackets */
	unsigned	port;		/* !mx: 1..65535; mx: 25 */
	int		implicit_tls;	/* port 465: TLS from the first byte */
	enum route_tls	tls;
	char		auth_user[ROUTE_USER_MAX + 1];	/* "": no AUTH */
	char		auth_pass[ROUTE_PASS_MAX + 1];
	char		ca[PATH_MAX];	/* "" or more trust anchors (PEM),
				   beside the system trust store */
};

/* The route for domain (compared without case): its own line, else the
 * '*' line, else MX with tls=may.  No routes file is the same as an
 * empty one.  -1 with errno (EINVAL for a bad file) and "FILE:LINE:
 * reason" in err: bad syntax anywhere in the file, a line too long, the
 * chosen line's auth file unreadable, malformed, or not mode 0600/0640.
 * The credentials are read only for the line chosen.  The caller treats
 * -1 as a configuration error (smtp-out exits 78). */
int	route_lookup(const struct conf *, const char *domain, struct route *,
	    char *err, size_t errsize);
/* Every problem of the file, each reported once (line 0: the file as a
 * whole), auth and ca files of every line checked: the number of
 * problems, or -1 with errno when the file cannot be read at all (for a
 * future --check). */
int	route_check(const struct conf *,
	    void (*report)(const char *file, size_t line, const char *why,
	    void *arg), void *arg);

#endif
