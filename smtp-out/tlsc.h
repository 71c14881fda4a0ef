/* tlsc.h — the client end of TLS for smtp-out: a GnuTLS session slid
 * under a struct io (lib/io.h) after STARTTLS, or from the first byte on
 * port 465, so that the SMTP client reads and writes through the same
 * io without knowing.  The certificate is checked against the system
 * trust store (plus an optional CA file) and the host name, and the
 * result is reported rather than enforced: the routes(5) policy decides
 * what an unverified certificate means. */
#ifndef POSTHORN_TLSC_H
#define POSTHORN_TLSC_H

#include <stdint.h>

#include "client.h"
#include "io.h"
#include "tlsa.h"

/* TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1), GnuTLS's NORMAL
 * set otherwise: a client talking to the world's MX hosts takes any
 * cipher that they offer and that is still sound.  posthorn.conf's
 * tls_priority is the server side's. */
#define TLSC_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

enum {
	TLSC_BYE_TIMEOUT_MS = 2000,	/* close_notify: best effort */
	/* A CA file path the trust store cache keeps; a longer one is
	 * read for each session. */
	TLSC_CA_PATH_MAX = 1024
};

struct tlsc_params {
	const char	*host;	/* SNI and the name the certificate must
				   carry; an address is not sent as SNI */
	const char	*ca;	/* extra trust anchors (PEM), NULL or "" */
	/* The hop's usable TLSA records (RFC 7672), NULL for none: the
	 * chain is matched against them into info->dane. */
	const struct tlsa_set *tlsa;
};

/* Handshake over io's descriptors (made non-blocking) before deadline,
 * then io reads and writes through TLS.  0 with *info filled, or -1 and
 * a reason in why (io unchanged then; the connection is unusable). */
int	tlsc_start(struct io *, const struct tlsc_params *, int64_t deadline,
	    struct client_tls_info *info, char *why, size_t whysz);
/* close_notify (best effort, TLSC_BYE_TIMEOUT_MS) and free the session;
 * io is back on plain descriptors.  Nothing if io is not under TLS. */
void	tlsc_end(struct io *);

#endif
