/* helpers.h — the programs smtp-in starts on demand: smtp-tlsd, which
 * does TLS for the session from STARTTLS (or the first byte on port 465)
 * on, smtp-auth, which decodes an AUTH exchange and checks the password,
 * and aliases -r, which checks an SRS address (srs.h).  smtp-in is a
 * static binary that links neither GnuTLS nor libsodium, so that a
 * session that uses neither pays for neither; the first two are its
 * session hooks in production (see session.h).  Under smtp-listen the
 * residents take their place: the TLS zygote (tlsz.h), and the keeper
 * (keeper.h), which checks SRS addresses in its process, answers whether
 * a name is a user and runs smtp-auth, with the groups of the secrets
 * that a session has not. */
#ifndef POSTHORN_HELPERS_H
#define POSTHORN_HELPERS_H

#include <stddef.h>

#include "session.h"

#define HELPER_TLSD	"smtp-tlsd"
#define HELPER_AUTH	"smtp-auth"
#define HELPER_ALIASES	"aliases"
/* The descriptor of the listener's TLS zygote (smtp-tlsd -z), when it
 * runs one: see tlsz.h and smtp-tlsd(8). */
#define HELPER_TLSD_FD_ENV	"POSTHORN_TLSD_FD"
#define HELPER_REPORT_FD_ENV	"POSTHORN_REPORT_FD"
#define HELPER_CHECKD_FD_ENV	"POSTHORN_CHECKD_FD"	/* smtp-checkd(8) */

enum {
	/* smtp-tlsd's own handshake deadline is 60 s; ours is a backstop. */
	HELPER_TLS_TIMEOUT = 90,
	/* argon2id takes some 60 ms; a loaded machine gets far more. */
	HELPER_AUTH_TIMEOUT = 30,
	/* aliases -r: a file read and one HMAC, a few ms. */
	HELPER_SRS_TIMEOUT = 30,
	HELPER_LINE_MAX = 1024,		/* a status line of either */
	/* At the end, smtp-tlsd gets this long to hand our last replies
	 * to the client (its own bound is 30 s, plus 5 and 2 to close). */
	HELPER_TLS_END_TIMEOUT = 40
};

/* Once, at the start: take the TLS zygote's socket from
 * POSTHORN_TLSD_FD, if there is one and it is a SOCK_SEQPACKET socket,
 * and make it close-on-exec.  Without it (inetd, tcpserver, systemd's
 * Accept=yes) smtp-tlsd is exec'd as before.  The same for smtp-listen's
 * report socket, POSTHORN_REPORT_FD, a SOCK_DGRAM one. */
void	helper_init(void);
/* There is a TLS zygote to ask: the key is its to read, not ours. */
int	helper_has_zygote(void);
/* smtp-listen's checker socket, from POSTHORN_CHECKD_FD (a
 * SOCK_SEQPACKET one, taken by helper_init), or -1. */
int	helper_checkd(void);
/* The session is over: one line of what it did to the report socket,
 * if there is one, for smtp-listen's counters (metrics.h), never
 * waiting: "mode=M end=E messages=N tls=ok|failed|none auth_ok=N
 * auth_failed=N auth_temp=N". */
void	helper_report(const struct session *);
/* Hand fd 0/1 to smtp-tlsd and take a socketpair to it in their place;
 * then its status line.  0 with s->tls_* set, or -1 with why.  The
 * zygote's child when the zygote takes the request, else (no zygote, or
 * the request could not be sent: the zygote is gone or lags) one
 * exec'd, as without a zygote, without a word in the log. */
int	helper_starttls(struct session *, char *why, size_t whysize);
/* The session is over: tell smtp-tlsd (end of our output) and wait,
 * bounded, until it has passed our last replies on and exited; under
 * systemd everything left in the unit is killed when smtp-in exits, and a
 * reply lost there (a 250 to the final dot) would have the client send
 * the message again. */
void	helper_tls_end(struct session *);
/* One AUTH exchange ("PLAIN b64" / "LOGIN b64 b64") through smtp-auth. */
enum session_auth helper_auth(struct session *, const char *request,
	    char *login, size_t loginsize, char *why, size_t whysize);

/* An SRS recipient at a local domain: valid, refused (bad hash, expired,
 * malformed: 550), refused unchecked since the client failed too often
 * (the keeper's count per source, srsfail.h: 450), or unknown for now
 * (451). */
enum helper_srs {
	HELPER_SRS_OK,
	HELPER_SRS_BAD,
	HELPER_SRS_LIMIT,
	HELPER_SRS_TEMP
};

/* The keeper's answer when there is one, else aliases -r ADDR: its exit
 * status 0 or 1 says; anything else, including no answer by
 * HELPER_SRS_TIMEOUT, is temporary.  why gets its line: the original
 * address, or the reason. */
enum helper_srs helper_srs_check(const struct session *, const char *addr,
	    char *why, size_t whysize);

#endif
