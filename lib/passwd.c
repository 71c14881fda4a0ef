/* passwd.c — password hashes for the users file, users(5).  libsodium's
 * crypto_pwhash_str makes argon2id strings (the default since 1.0.15),
 * salt and parameters included, so that a later change of cost leaves
 * old hashes verifiable.  Only argon2id is accepted on verification: a
 * hash of another kind, or the receive-only mark "!", never logs in. */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "passwd.h"

#define ARGON2ID_PREFIX	"$argon2id$"

/* The "interactive" cost: 2 passes over 64 MiB, about 0.1 s here (the
 * measurement is in users(5)); paid by every AUTH, so it stays small. */
#define PASSWD_OPSLIMIT	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PASSWD_MEMLIMIT	crypto_pwhash_MEMLIMIT_INTERACTIVE

_Static_assert(PASSWD_HASH_MAX >= crypto_pwhash_STRBYTES,
    "PASSWD_HASH_MAX must hold crypto_pwhash_str's output");

static int
init(void)
{
	static int done;

	if (!done) {
		if (sodium_init() == -1) {
			errno = ENOSYS;
			return -1;
		}
		done = 1;
	}
	return 0;
}

int
passwd_hash(const char *pw, size_t len, char out[PASSWD_HASH_MAX])
{
	if (len > PASSWD_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (init() == -1)
		return -1;
	if (crypto_pwhash_str(out, pw, len, PASSWD_OPSLIMIT,
	    PASSWD_MEMLIMIT) != 0) {
		errno = ENOMEM;		/* the only way it fails */
		return -1;
	}
	/* Pinned: an older libsodium whose default was argon2i would write
	 * hashes that passwd_verify refuses. */
	if (strncmp(out, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0) {
		sodium_memzero(out, PASSWD_HASH_MAX);
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}

int
passwd_verify(const char *hash, const char *pw, size_t len)
{
	if (len > PASSWD_MAX ||
	    strncmp(hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0 ||
	    strnlen(hash, PASSWD_HASH_MAX) == PASSWD_HASH_MAX)
		return -1;
	if (init() == -1)
		return -1;
	return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : -1;
}
