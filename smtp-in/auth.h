/* auth.h — smtp-auth(8)'s work, apart from its main() so that tests can
 * drive it: decode one SASL exchange as smtp-in hands it over (PLAIN,
 * RFC 4616, or LOGIN) and verify the login against the domain's users
 * file, users(5), or through Dovecot (auth_dovecot).  The answer is one
 * of four classes, which are also the exit codes of smtp-auth; the
 * reason that goes with it is for smtp-in's log: printable ASCII, one
 * line, never the password. */
#ifndef POSTHORN_AUTH_H
#define POSTHORN_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

#include "addr.h"
#include "conf.h"
#include "passwd.h"

enum auth_result {
	AUTH_OK = 0,		/* right password: 235 */
	AUTH_NO = 1,		/* wrong password, no such user or domain,
				   receive-only, authzid not the login: 535 */
	AUTH_BAD = 2,		/* not valid SASL: bad base64, missing NUL,
				   empty field, login not user@domain: 501 */
	AUTH_TEMP = EX_TEMPFAIL	/* users file unreadable, no memory for
				   argon2id, too many failures (refused
				   unchecked), no turn: 454 4.7.0 */
};

enum {
	/* The request line, its LF not counted: "PLAIN " and one base64
	 * field, or "LOGIN " and two.  The longest request that can log
	 * in, PLAIN with an authzid and a login of AUTH_ID_MAX and a
	 * password of PASSWD_MAX, is 2230 bytes. */
	AUTH_REQUEST_MAX = 4096,
	/* authzid and authcid: an address, local part, '@' and domain
	 * (RFC 5321 §4.5.3.1.1-2); a longer one is no address of ours. */
	AUTH_ID_MAX = ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX,
	AUTH_LOGIN_MAX = AUTH_ID_MAX + 1,	/* "user@domain" and NUL */
	AUTH_REASON_MAX = 512			/* with its NUL */
};

/* The source of a request that names none (-p, REMOTE_ADDR): a program
 * on this host; all such share one count. */
#define AUTH_SOURCE_LOCAL	"local"

/* What a request carries once decoded.  passwd may hold any byte but
 * NUL; wipe the whole with auth_cred_wipe when done. */
struct auth_cred {
	char	authzid[AUTH_ID_MAX + 1];	/* "" when not given */
	char	authcid[AUTH_ID_MAX + 1];
	char	passwd[PASSWD_MAX + 1];
	size_t	passwdlen;
};

/* One line from fd into buf[size] (size > AUTH_REQUEST_MAX + 1), its LF
 * removed and NUL-terminated, its length in *len: 0, or -1 with errno:
 * E2BIG when longer than AUTH_REQUEST_MAX, EPROTO when the input ends
 * before the LF or goes on after it, else read(2)'s.  Reads nothing
 * beyond AUTH_REQUEST_MAX + 1 bytes. */
int		 auth_read_request(int fd, char *buf, size_t size,
		    size_t *len);
/* Decode "PLAIN <base64>" or "LOGIN <base64> <base64>" (line[0..len),
 * no LF) into cred: AUTH_OK, AUTH_BAD, or AUTH_NO when the request is
 * valid but cannot log in whatever the users file says (a password over
 * PASSWD_MAX, an authzid longer than any login).  Base64 is strict: the
 * standard alphabet with its padding, nothing ignored. */
enum auth_result auth_decode(const char *line, size_t len,
		    struct auth_cred *, char *reason, size_t);
/* Check cred against the users file of the login's domain: AUTH_OK with
 * the login, lowercased, in login[size]; else AUTH_NO, AUTH_BAD (the
 * login is not user@domain) or AUTH_TEMP.  Every AUTH_NO costs one
 * argon2id verification, so that its time does not say which reason it
 * had. */
enum auth_result auth_verify(const struct conf *, const struct auth_cred *,
		    char *login, size_t, char *reason, size_t);
/* The same check by Dovecot's authentication server, at the socket of
 * posthorn.conf's auth_dovecot (dovecot.h), source its rip=: AUTH_OK
 * with the user name Dovecot gives (user@domain, local part lowercased)
 * in login[size]; AUTH_NO when Dovecot refuses; AUTH_TEMP when it says
 * temp, cannot be reached, breaks the protocol or takes longer than
 * DOVECOT_TIMEOUT, or names a user that is not user@domain. */
enum auth_result auth_dovecot(const struct conf *, const char *source,
		    const struct auth_cred *, char *login, size_t,
		    char *reason, size_t);
/* auth_decode, then auth_verify (or auth_dovecot when auth_dovecot is
 * set), bounded by authlimit.h: a source (the
 * client's address as text) or login that failed too often is refused
 * unchecked (AUTH_TEMP), every verification waits for one of the host's
 * turns, and every AUTH_NO is counted for both at now (s).  The
 * credentials are wiped after. */
enum auth_result auth_check(const struct conf *, const char *source,
		    const char *line, size_t len, int64_t now, char *login,
		    size_t, char *reason, size_t);
void		 auth_cred_wipe(struct auth_cred *);

#endif
