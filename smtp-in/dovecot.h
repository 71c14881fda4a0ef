/* dovecot.h — smtp-auth(8)'s client of Dovecot's authentication
 * protocol (version 1, the "auth client" side that Dovecot's own login
 * processes, Postfix's smtpd_sasl_type = dovecot and chasquid speak), for
 * sites whose passwords live in Dovecot (posthorn.conf(5): auth_dovecot).
 *
 * One connection per check, over Dovecot's UNIX socket:
 *
 *	C: VERSION TAB 1 TAB 1		C: CPID TAB pid
 *	S: VERSION TAB 1 TAB n		S: MECH TAB PLAIN ...  (SPID, CUID,
 *	S: ... DONE			   COOKIE and the rest ignored)
 *	C: AUTH TAB 1 TAB PLAIN TAB service=smtp TAB secured TAB nologin
 *	   [TAB rip=ADDRESS] TAB resp=BASE64
 *	S: OK TAB 1 [TAB user=NAME ...]  or  FAIL TAB 1 [TAB temp]
 *	   [TAB code=temp_fail] [TAB reason=TEXT] [TAB user=NAME ...]
 *
 * (a FAIL that Dovecot could not check says "temp" before 2.3 and
 * "code=temp_fail" since)
 *
 * Lines end in LF; fields are separated by TAB and use Dovecot's tab
 * escapes (\001 then 1, t, r, n or 0 for \001, TAB, CR, LF, NUL).  The
 * parser (dovecot_line) is apart from the socket so that the tests and
 * the fuzzer reach it without a Dovecot.  Plain libc: base64 is the
 * caller's (libsodium, in auth.c). */
#ifndef POSTHORN_DOVECOT_H
#define POSTHORN_DOVECOT_H

#include <stddef.h>
#include <stdint.h>

enum {
	/* The protocol's document: "expected to fit into 16384 bytes";
	 * a longer line is refused, never grown into. */
	DOVECOT_LINE_MAX = 16384,
	/* Lines of the handshake before DONE: VERSION, SPID, CUID, COOKIE
	 * and one MECH per mechanism, a few dozen at most; more is not a
	 * Dovecot. */
	DOVECOT_HANDSHAKE_MAX = 256,
	/* The whole exchange, connect to answer, in seconds.  Dovecot
	 * delays a failure by auth_failure_delay (2 s) and, for a source
	 * that failed often, by up to 15 s more (its auth penalty); 20 s
	 * covers both and stays below smtp-in's wait for smtp-auth
	 * (HELPER_AUTH_TIMEOUT, 30 s), so that the session gets our clear
	 * 454 rather than its own. */
	DOVECOT_TIMEOUT = 20,
	/* user= of OK or FAIL, with its NUL: an address (RFC 5321
	 * §4.5.3.1) fits with room; a longer one is a refusal. */
	DOVECOT_USER_MAX = 512,
	DOVECOT_REASON_MAX = 256	/* reason= of FAIL, cut, with NUL */
};

/* The one request of a connection. */
#define DOVECOT_ID	"1"

enum dovecot_step {
	DOVECOT_MORE,		/* a line taken: read the next */
	DOVECOT_READY,		/* DONE with PLAIN offered: send the AUTH */
	DOVECOT_OK,		/* OK: the user in user[] ("" when none) */
	DOVECOT_FAIL,		/* FAIL: wrong password or no such user */
	DOVECOT_TEMP,		/* FAIL with temp or code=temp_fail:
				   Dovecot cannot check now */
	DOVECOT_ERROR		/* not the protocol: why in reason[] */
};

/* What the server said so far. */
struct dovecot {
	int		 authing;	/* 0: handshake; 1: AUTH sent */
	int		 version;	/* its VERSION came, major 1 */
	int		 plain;		/* it offers PLAIN */
	unsigned	 lines;		/* of the handshake */
	char		 user[DOVECOT_USER_MAX];
	char		 reason[DOVECOT_REASON_MAX];
};

void	dovecot_init(struct dovecot *);
/* One line of the server, line[0..len) without its LF, which is changed
 * in place (split and unescaped).  READY once, after DONE; after it the
 * answer to the AUTH: OK, FAIL or TEMP, with user[] and reason[].
 * ERROR on whatever the protocol does not allow (a line with a NUL, a
 * VERSION other than 1, DONE without PLAIN, an answer before the AUTH or
 * for another id, CONT to a PLAIN with its response, an OK whose user=
 * holds a control character or does not fit; FAIL's user= is not
 * looked at: it is the client's login as typed). */
enum dovecot_step dovecot_line(struct dovecot *, char *line, size_t len);
/* Dovecot's tab unescaping of s[0..len) in place: the new length (a NUL
 * from \001 0 included; the caller checks).  A \001 at the end is
 * dropped. */
size_t	dovecot_unescape(char *s, size_t len);
/* The client's handshake, then after READY its AUTH line for a PLAIN
 * response resp (base64 of "authzid NUL authcid NUL password"), with
 * rip= when rip is an IP address; into buf[size]: its length, or -1 when
 * it does not fit. */
int	dovecot_hello(char *buf, size_t size, long pid);
int	dovecot_auth_line(char *buf, size_t size, const char *resp,
	    const char *rip);

/* The whole exchange on fd (connected to Dovecot's socket), until
 * deadline (clock_ms()): DOVECOT_OK, _FAIL, _TEMP, or _ERROR with why in
 * d->reason (ETIMEDOUT, end of file, the protocol).  The AUTH line, which
 * holds the password's base64, is wiped from its buffer. */
enum dovecot_step dovecot_talk(int fd, struct dovecot *d, const char *resp,
	    const char *rip, int64_t deadline);

#endif
