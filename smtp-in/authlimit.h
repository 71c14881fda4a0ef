/* authlimit.h — what bounds password guessing across sessions, for
 * smtp-auth(8): failures counted per source (an IPv4 address or an IPv6
 * /64) and per login in a small table under the spool, which outlives
 * every session and connection; and a host-wide bound on argon2id
 * verifications running at once, each of which maps 64 MiB.
 *
 * A source that failed n times, or that failed at all while its login
 * failed m times from anywhere (posthorn.conf(5): auth_source_failures
 * and auth_login_failures, 30 each by default), is refused before any
 * verification: the refusal costs a lookup, not an
 * argon2id run.  A source with a clean record may still try a login
 * that is under attack, so that an attacker cannot lock its owner out.
 * One failure is forgotten every AUTHLIM_FORGET seconds after the
 * last.  Time is passed in, so that the tests need no clock. */
#ifndef POSTHORN_AUTHLIMIT_H
#define POSTHORN_AUTHLIMIT_H

#include <stdint.h>

enum {
	AUTHLIM_FORGET = 60,	/* s: one failure forgotten per minute */
	/* Entries of the table (32 bytes each: 128 KiB), and the slots
	 * probed for one: when all are taken, the entry nearest to
	 * forgotten is replaced. */
	AUTHLIM_SLOTS = 4096,
	AUTHLIM_PROBE = 8,
	/* argon2id verifications at once on the host (64 MiB each), and
	 * the seconds a verification waits for a turn before smtp-auth
	 * answers "try later". */
	AUTHLIM_CHECKS = 2,
	AUTHLIM_CHECK_WAIT = 10
};

/* Under the spool: SPOOL/auth, the user's alone (0700). */
#define AUTHLIM_DIR	"auth"

struct authlim {
	int		fd;		/* the table, SPOOL/auth/failures */
	unsigned char	key[32];	/* of its hash: sources and logins
					 * are chosen by the peers */
};

enum authlim_verdict {
	AUTHLIM_OK,
	AUTHLIM_SOURCE,		/* the source failed too often */
	AUTHLIM_LOGIN		/* the login did, and the source failed */
};

/* Open (creating them when missing) SPOOL/auth and its table.  0, or -1
 * with errno. */
int	authlim_open(struct authlim *, const char *spool);
void	authlim_close(struct authlim *);
/* The limits: failures on record for a source, and for a login. */
struct authlim_max {
	unsigned	source, login;
};

/* May source (an address as text; another string is one source of its
 * own) try login (any case) at now (s)?  -1 with errno on a read error. */
int	authlim_check(struct authlim *, const struct authlim_max *,
	    const char *source, const char *login, int64_t now,
	    enum authlim_verdict *);
/* Count a failure of login from source at now.  0 or -1. */
int	authlim_fail(struct authlim *, const char *source, const char *login,
	    int64_t now);
/* A turn to verify: blocks until one of the AUTHLIM_CHECKS turns under
 * SPOOL/auth is free, for wait_s seconds at most (then -1 with errno
 * ETIMEDOUT).  The descriptor that holds it, to close when done. */
int	authlim_turn(const char *spool, unsigned wait_s);

#endif
