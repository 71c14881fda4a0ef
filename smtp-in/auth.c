/* auth.c — smtp-auth(8): decode one SASL PLAIN or LOGIN exchange and
 * verify it against the users file, or have Dovecot's authentication
 * server verify it when posthorn.conf names one (auth_dovecot,
 * dovecot.h).  This is not in smtp-in because
 * smtp-in is a static musl binary without libsodium, and libsodium is
 * the house's base64 and its argon2id; smtp-in runs smtp-auth once per
 * AUTH attempt instead.  Everything that decides the answer is here, so
 * the tests reach every case without a process; auth_main.c is the
 * arguments, the pipe and the exit code.
 *
 * What the client sent is only read, never echoed as it is: the reason
 * that goes to smtp-in's log is cut and made printable, and the password
 * is in no reason and is wiped from every buffer that held it. */

#include <sys/mman.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "authlimit.h"
#include "domains.h"
#include "dovecot.h"
#include "io.h"
#include "str.h"
#include "users.h"

#define MECH_PLAIN	"PLAIN "	/* RFC 4616 */
#define MECH_LOGIN	"LOGIN "	/* draft-murchison-sasl-login */

enum {
	/* Base64 gives 3 bytes for 4 characters. */
	DECODED_MAX = AUTH_REQUEST_MAX / 4 * 3,
	KIB = 1024
};

/* An argon2id hash of a random password that nobody kept, at the cost
 * passwd_hash uses.  It is verified when a login fails before there is
 * a hash to verify (no such user, receive-only, ...), so that every
 * refusal takes the time of a wrong password and the clock does not
 * tell an attacker which logins exist. */
static const char dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$uoM10wbEds+WGfRezA2OaA$"
    "8pxuRUKVrtO6Yp4EIQ9ky14fcQ2WjVFg0UUywjV8T98";

static enum auth_result
say(enum auth_result r, char *reason, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The reason for the log, cut to size and with every byte that is not
 * printable ASCII turned into '?' (a login is the client's bytes); returns
 * r for "return say(...)". */
static enum auth_result
say(enum auth_result r, char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (size == 0)
		return r;
	va_start(ap, fmt);
	str_vfmt_cut(reason, size, fmt, ap);	/* a cut is fine */
	va_end(ap);
	for (p = reason; *p != '\0'; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
	return r;
}

int
auth_read_request(int fd, char *buf, size_t size, size_t *len)
{
	size_t have = 0, max = AUTH_REQUEST_MAX + 1;	/* the LF too */
	char *lf;
	ssize_t n;

	if (size < max + 1) {
		errno = EINVAL;
		return -1;
	}
	while ((lf = memchr(buf, '\n', have)) == NULL) {
		if (have == max) {
			errno = E2BIG;
			return -1;
		}
		n = read(fd, buf + have, max - have);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPROTO;		/* cut short: no answer */
			return -1;
		}
		have += (size_t)n;
	}
	if (lf != buf + have - 1) {
		errno = EPROTO;			/* a second line */
		return -1;
	}
	*lf = '\0';
	*len = (size_t)(lf - buf);
	return 0;
}

/* Strict base64 (RFC 4648 §4: the standard alphabet, padded, no other
 * byte, canonical) of b64[0..len) into out[size]: 0 and *outlen, or -1. */
static int
decode64(const char *b64, size_t len, unsigned char *out, size_t size,
    size_t *outlen)
{
	const char *end;

	if (sodium_base642bin(out, size, b64, len, NULL, outlen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + len)
		return -1;
	return 0;
}

/* src[0..n) as a string in dst[size]: 0, or -1 when it does not fit. */
static int
take(char *dst, size_t size, const unsigned char *src, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* RFC 4616 §2: message = [authzid] NUL authcid NUL passwd, none of the
 * three holding a NUL, authcid and passwd not empty. */
static enum auth_result
decode_plain(const char *b64, size_t len, struct auth_cred *c,
    unsigned char *bin, char *reason, size_t rsize)
{
	const unsigned char *nul1, *nul2, *pw, *end;
	size_t n;

	if (decode64(b64, len, bin, DECODED_MAX, &n) == -1)
		return say(AUTH_BAD, reason, rsize, "PLAIN: invalid base64");
	end = bin + n;
	if ((nul1 = memchr(bin, '\0', n)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) ==
	    NULL)
		return say(AUTH_BAD, reason, rsize,
		    "PLAIN: message without two NUL separators");
	pw = nul2 + 1;
	if (memchr(pw, '\0', (size_t)(end - pw)) != NULL)
		return say(AUTH_BAD, reason, rsize,
		    "PLAIN: NUL inside the password");
	if (nul2 == nul1 + 1)
		return say(AUTH_BAD, reason, rsize, "PLAIN: empty login");
	if (pw == end)
		return say(AUTH_BAD, reason, rsize, "PLAIN: empty password");
	if (take(c->authcid, sizeof(c->authcid), nul1 + 1,
	    (size_t)(nul2 - nul1 - 1)) == -1)
		return say(AUTH_BAD, reason, rsize,
		    "PLAIN: login is not user@domain (too long)");
	if (take(c->passwd, sizeof(c->passwd), pw, (size_t)(end - pw)) == -1)
		return say(AUTH_NO, reason, rsize,
		    "password longer than %d bytes, login %s", PASSWD_MAX,
		    c->authcid);
	c->passwdlen = (size_t)(end - pw);
	/* Longer than any login: it cannot name the login itself. */
	if (take(c->authzid, sizeof(c->authzid), bin,
	    (size_t)(nul1 - bin)) == -1)
		return say(AUTH_NO, reason, rsize,
		    "authzid is not the login %s", c->authcid);
	return AUTH_OK;
}

/* One field of LOGIN: the user name or the password, base64 of bytes
 * that hold no NUL (they are C strings for the server on the other side
 * of the draft too), not empty.  0 and *n, or -1 with the reason. */
static int
decode_login_field(const char *b64, size_t len, const char *what,
    unsigned char *bin, size_t *n, char *reason, size_t rsize)
{
	if (decode64(b64, len, bin, DECODED_MAX, n) == -1) {
		say(AUTH_BAD, reason, rsize, "LOGIN: invalid base64 in the %s",
		    what);
		return -1;
	}
	if (*n == 0) {
		say(AUTH_BAD, reason, rsize, "LOGIN: empty %s", what);
		return -1;
	}
	if (memchr(bin, '\0', *n) != NULL) {
		say(AUTH_BAD, reason, rsize, "LOGIN: NUL inside the %s", what);
		return -1;
	}
	return 0;
}

static enum auth_result
decode_login(const char *s, size_t len, struct auth_cred *c,
    unsigned char *bin, char *reason, size_t rsize)
{
	const char *sp;
	size_t n;

	if ((sp = memchr(s, ' ', len)) == NULL)
		return say(AUTH_BAD, reason, rsize,
		    "LOGIN: want a user name and a password");
	if (decode_login_field(s, (size_t)(sp - s), "user name", bin, &n,
	    reason, rsize) == -1)
		return AUTH_BAD;
	if (take(c->authcid, sizeof(c->authcid), bin, n) == -1)
		return say(AUTH_BAD, reason, rsize,
		    "LOGIN: login is not user@domain (too long)");
	/* A second space is no base64 character: it fails here. */
	if (decode_login_field(sp + 1, len - (size_t)(sp + 1 - s), "password",
	    bin, &n, reason, rsize) == -1)
		return AUTH_BAD;
	if (take(c->passwd, sizeof(c->passwd), bin, n) == -1)
		return say(AUTH_NO, reason, rsize,
		    "password longer than %d bytes, login %s", PASSWD_MAX,
		    c->authcid);
	c->passwdlen = n;
	return AUTH_OK;
}

enum auth_result
auth_decode(const char *line, size_t len, struct auth_cred *c,
    char *reason, size_t rsize)
{
	unsigned char bin[DECODED_MAX];
	size_t plain = strlen(MECH_PLAIN), login = strlen(MECH_LOGIN);
	enum auth_result r;

	sodium_memzero(c, sizeof(*c));
	if (len > AUTH_REQUEST_MAX)
		return say(AUTH_BAD, reason, rsize,
		    "request longer than %d bytes", AUTH_REQUEST_MAX);
	if (len >= plain && memcmp(line, MECH_PLAIN, plain) == 0)
		r = decode_plain(line + plain, len - plain, c, bin, reason,
		    rsize);
	else if (len >= login && memcmp(line, MECH_LOGIN, login) == 0)
		r = decode_login(line + login, len - login, c, bin, reason,
		    rsize);
	else
		r = say(AUTH_BAD, reason, rsize,
		    "not a PLAIN or LOGIN request");
	sodium_memzero(bin, sizeof(bin));
	if (r != AUTH_OK)
		auth_cred_wipe(c);
	return r;
}

/* crypto_pwhash_str_verify says -1 for a wrong password and for memory
 * it could not map alike (libsodium 1.0.18 leaves errno EINVAL for both),
 * and only the second is temporary.  So after a failure: can argon2id's
 * memory for this hash (its m=, in KiB) be mapped now?  Without touching
 * it, so that the question costs a system call and not 64 MiB. */
static int
memory_short(const char *hash)
{
	unsigned long long kib = crypto_pwhash_MEMLIMIT_INTERACTIVE / KIB, v;
	const char *m;
	char *end;
	size_t size;
	void *p;

	if ((m = strstr(hash, "$m=")) != NULL) {
		errno = 0;
		v = strtoull(m + 3, &end, 10);
		if (errno == 0 && *end == ',' && v > 0 &&
		    v <= SIZE_MAX / KIB)
			kib = v;
	}
	size = (size_t)kib * KIB;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	munmap(p, size);
	return 0;
}

/* A refusal before any hash was verified: verify one anyway (see
 * dummy_hash), then return r. */
static enum auth_result
slow_no(const struct auth_cred *c, enum auth_result r)
{
	(void)passwd_verify(dummy_hash, c->passwd, c->passwdlen);
	return r;
}

enum auth_result
auth_verify(const struct conf *conf, const struct auth_cred *c,
    char *login, size_t lsize, char *reason, size_t rsize)
{
	char path[PATH_MAX], hash[USERS_HASH_MAX], dom[ADDR_DOMAIN_MAX + 1];
	struct addr a;
	int local, hasdir;

	if (addr_parse(c->authcid, strlen(c->authcid), ADDR_UTF8,
	    &a) != ADDR_OK ||
	    a.null || a.literal || a.domain[0] == '\0')
		return say(AUTH_BAD, reason, rsize,
		    "login is not user@domain: %s", c->authcid);
	str_lower(a.local);		/* the domain already is */
	if (c->authzid[0] != '\0' && str_casecmp(c->authzid, c->authcid) != 0)
		return slow_no(c, say(AUTH_NO, reason, rsize,
		    "authzid %s is not the login %s", c->authzid,
		    c->authcid));
	/* dom: the domain as its directory under domains/ spells it,
	 * U-labels or A-labels (idna.h), whichever spelling the login
	 * was typed in: the session's login is then one name for
	 * senders(5) and the logs, as the case of ASCII is folded. */
	if ((local = domains_name(conf, a.domain, dom, sizeof(dom),
	    &hasdir)) == -1)
		return say(AUTH_TEMP, reason, rsize, "domain %s: %s",
		    a.domain, strerror(errno));
	if (!local)
		return slow_no(c, say(AUTH_NO, reason, rsize,
		    "not a local domain: %s@%s", a.local, a.domain));
	if (!hasdir)		/* the hostname alone: no users file */
		return slow_no(c, say(AUTH_NO, reason, rsize,
		    "no such user: %s@%s", a.local, a.domain));
	if (conf_domain_path(conf, dom, USERS_FILE, path,
	    sizeof(path)) == -1)
		return say(AUTH_TEMP, reason, rsize, "users file of %s: %s",
		    a.domain, strerror(errno));
	switch (users_lookup(path, a.local, hash, sizeof(hash))) {
	case USERS_FOUND:
		break;
	case USERS_NOTFOUND:
		return slow_no(c, say(AUTH_NO, reason, rsize,
		    "no such user: %s@%s", a.local, a.domain));
	default:
		return say(AUTH_TEMP, reason, rsize, "%s: %s", path,
		    errno == EINVAL ? "malformed file (see users(5))" :
		    strerror(errno));
	}
	if (strcmp(hash, USERS_RECEIVE_ONLY) == 0)
		return slow_no(c, say(AUTH_NO, reason, rsize,
		    "receive-only user: %s@%s", a.local, a.domain));
	if (passwd_verify(hash, c->passwd, c->passwdlen) == -1) {
		if (memory_short(hash))
			return say(AUTH_TEMP, reason, rsize,
			    "no memory for argon2id: %s@%s", a.local,
			    a.domain);
		return say(AUTH_NO, reason, rsize, "wrong password: %s@%s",
		    a.local, a.domain);
	}
	if (str_fmt(login, lsize, "%s@%s", a.local, dom) == -1)
		return say(AUTH_TEMP, reason, rsize, "login too long");
	if (rsize > 0)
		reason[0] = '\0';
	return AUTH_OK;
}

/* Dovecot's user name (or the login when it names none) as the login
 * of the session: user@domain, the local part lowercased as the users
 * files' are and a domain of ours spelt as its directory is (as
 * auth_verify does), so that senders(5) compares it as it compares
 * theirs.  Another's domain stays as Dovecot gave it. */
static enum auth_result
dovecot_login(const struct conf *conf, const char *user, char *login,
    size_t lsize, char *reason, size_t rsize)
{
	char dom[ADDR_DOMAIN_MAX + 1];
	const char *d;
	struct addr a;
	int hasdir, local;

	if (addr_parse(user, strlen(user), ADDR_UTF8, &a) != ADDR_OK ||
	    a.null || a.literal || a.domain[0] == '\0')
		return say(AUTH_TEMP, reason, rsize, "Dovecot's user %s is not "
		    "user@domain (see auth_username_format in "
		    "smtp-auth(8))", user);
	str_lower(a.local);
	if ((local = domains_name(conf, a.domain, dom, sizeof(dom),
	    &hasdir)) == -1)
		return say(AUTH_TEMP, reason, rsize, "domain %s: %s",
		    a.domain, strerror(errno));
	d = local ? dom : a.domain;
	if (str_fmt(login, lsize, "%s@%s", a.local, d) == -1)
		return say(AUTH_TEMP, reason, rsize, "login too long");
	if (rsize > 0)
		reason[0] = '\0';
	return AUTH_OK;
}

enum auth_result
auth_dovecot(const struct conf *conf, const char *source,
    const struct auth_cred *c, char *login, size_t lsize, char *reason,
    size_t rsize)
{
	/* NUL authcid NUL password: the authzid is checked here, as for
	 * the users files, and not sent (Dovecot would take another one
	 * for a master user's login). */
	unsigned char msg[2 + AUTH_ID_MAX + PASSWD_MAX];
	char b64[sodium_base64_ENCODED_LEN(sizeof(msg),
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t idlen = strlen(c->authcid), n = 0;
	enum dovecot_step step;
	struct dovecot d;
	int fd;

	if (c->authzid[0] != '\0' && str_casecmp(c->authzid, c->authcid) != 0)
		return say(AUTH_NO, reason, rsize,
		    "authzid %s is not the login %s", c->authzid, c->authcid);
	msg[n++] = '\0';
	memcpy(msg + n, c->authcid, idlen);
	n += idlen;
	msg[n++] = '\0';
	memcpy(msg + n, c->passwd, c->passwdlen);
	n += c->passwdlen;
	sodium_bin2base64(b64, sizeof(b64), msg, n,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(msg, sizeof(msg));
	if ((fd = fd_connect_unix(conf->auth_dovecot)) == -1) {
		sodium_memzero(b64, sizeof(b64));
		return say(AUTH_TEMP, reason, rsize, "Dovecot at %s: %s",
		    conf->auth_dovecot, strerror(errno));
	}
	step = dovecot_talk(fd, &d, b64, source, clock_ms() +
	    (int64_t)DOVECOT_TIMEOUT * 1000);
	sodium_memzero(b64, sizeof(b64));
	(void)close(fd);
	switch (step) {
	case DOVECOT_OK:
		return dovecot_login(conf, d.user[0] != '\0' ? d.user :
		    c->authcid, login, lsize, reason, rsize);
	case DOVECOT_FAIL:
		return say(AUTH_NO, reason, rsize, "Dovecot refused %s%s%s",
		    c->authcid, d.reason[0] != '\0' ? ": " : "", d.reason);
	case DOVECOT_TEMP:
		return say(AUTH_TEMP, reason, rsize, "Dovecot cannot check %s "
		    "now%s%s", c->authcid, d.reason[0] != '\0' ? ": " : "",
		    d.reason);
	default:
		return say(AUTH_TEMP, reason, rsize, "Dovecot at %s: %s",
		    conf->auth_dovecot, d.reason);
	}
}

/* May this source try this login now?  AUTH_OK, or AUTH_TEMP with the
 * reason: refused unchecked, or the table cannot be read (then nobody
 * gets a verification: the bound must hold). */
static enum auth_result
may_try(const struct conf *conf, struct authlim *lim, const char *source,
    const char *login, int64_t now, char *reason, size_t rsize)
{
	const struct authlim_max max = { conf->auth_source_failures,
	    conf->auth_login_failures };
	enum authlim_verdict v;

	if (authlim_check(lim, &max, source, login, now, &v) == -1)
		return say(AUTH_TEMP, reason, rsize, "%s/" AUTHLIM_DIR ": %s",
		    conf->spool, strerror(errno));
	if (v == AUTHLIM_SOURCE)
		return say(AUTH_TEMP, reason, rsize, "too many failed logins "
		    "from %s; refused unchecked", source);
	if (v == AUTHLIM_LOGIN)
		return say(AUTH_TEMP, reason, rsize, "too many failed logins "
		    "as %s; refused unchecked from %s", login, source);
	return AUTH_OK;
}

/* The verification (or the refusal's dummy one) in one of the host's
 * turns, and its failure counted. */
static enum auth_result
verify_counted(const struct conf *conf, struct authlim *lim,
    const char *source, const struct auth_cred *c, enum auth_result r,
    int64_t now, char *login, size_t lsize, char *reason, size_t rsize)
{
	int turn;

	/* Dovecot hashes in its own processes, under its own bounds: no
	 * turn of ours, and no dummy verification (Dovecot delays its
	 * refusals itself, auth_failure_delay). */
	if (conf->auth_dovecot[0] != '\0') {
		if (r == AUTH_OK)
			r = auth_dovecot(conf, source, c, login, lsize,
			    reason, rsize);
		goto counted;
	}
	if ((turn = authlim_turn(conf->spool, AUTHLIM_CHECK_WAIT)) == -1)
		return say(AUTH_TEMP, reason, rsize, "no turn to verify: %s",
		    errno == ETIMEDOUT ? "the host is busy verifying" :
		    strerror(errno));
	if (r == AUTH_OK)
		r = auth_verify(conf, c, login, lsize, reason, rsize);
	else
		r = slow_no(c, r);
	fd_close(&turn);
counted:
	if (r == AUTH_NO && authlim_fail(lim, source, c->authcid, now) == -1)
		return say(AUTH_TEMP, reason, rsize, "%s/" AUTHLIM_DIR ": %s",
		    conf->spool, strerror(errno));
	return r;
}

enum auth_result
auth_check(const struct conf *conf, const char *source, const char *line,
    size_t len, int64_t now, char *login, size_t lsize, char *reason,
    size_t rsize)
{
	struct authlim lim = { .fd = -1 };
	struct auth_cred c;
	enum auth_result r;

	r = auth_decode(line, len, &c, reason, rsize);
	if (r != AUTH_OK && r != AUTH_NO)
		goto out;
	if (authlim_open(&lim, conf->spool) == -1) {
		r = say(AUTH_TEMP, reason, rsize, "%s/" AUTHLIM_DIR ": %s",
		    conf->spool, strerror(errno));
		goto out;
	}
	if (may_try(conf, &lim, source, c.authcid, now, reason, rsize) ==
	    AUTH_OK)
		r = verify_counted(conf, &lim, source, &c, r, now, login,
		    lsize, reason, rsize);
	else
		r = AUTH_TEMP;
out:
	authlim_close(&lim);
	auth_cred_wipe(&c);
	return r;
}

void
auth_cred_wipe(struct auth_cred *c)
{
	sodium_memzero(c, sizeof(*c));
}
