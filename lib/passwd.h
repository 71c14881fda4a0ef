/* passwd.h — password hashes for the users file: argon2id through
 * libsodium's crypto_pwhash_str, at its "interactive" cost (see users(5)). */
#ifndef POSTHORN_PASSWD_H
#define POSTHORN_PASSWD_H

#include <stddef.h>

enum { PASSWD_HASH_MAX = 128, PASSWD_MAX = 1024 };

/* -1 with errno on failure (ENOMEM when the memory cost cannot be met). */
int	passwd_hash(const char *pw, size_t len, char out[PASSWD_HASH_MAX]);
/* 0 for the right password; -1 otherwise, receive-only ("!") included. */
int	passwd_verify(const char *hash, const char *pw, size_t len);

#endif
