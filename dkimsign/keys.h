/* keys.h — DKIM private keys: the files of DIR/domains/DOMAIN/dkim/, one
 * signing primitive per algorithm, key generation, and the DNS TXT record
 * of each public key.
 *
 * SELECTOR.rsa      an RSA key, PEM: PKCS#8 ("PRIVATE KEY", what -g
 *                   writes) or PKCS#1 ("RSA PRIVATE KEY"), unencrypted.
 * SELECTOR.ed25519  an Ed25519 key, PEM PKCS#8 ("PRIVATE KEY", what -g
 *                   and "openssl genpkey -algorithm ed25519" write), or
 *                   the 32-byte RFC 8032 seed in base64 on one line (the
 *                   form of RFC 8463 Appendix A and of dkimpy). */
#ifndef POSTHORN_DKIM_KEYS_H
#define POSTHORN_DKIM_KEYS_H

#include <stddef.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <sodium.h>

#include "str.h"

enum {
	/* A selector is a sub-domain (RFC 6376 §3.1); ours are one label
	 * of at most 63 octets (RFC 1035 §2.3.4). */
	KEYS_SELECTOR_MAX = 63,
	/* Keys per domain: one of each kind, and room for rotation. */
	KEYS_MAX = 8,
	/* A 4096-bit RSA key in PEM is ~3.3 KB; anything much larger is
	 * not a key file. */
	KEYS_FILE_MAX = 16384,
	/* RFC 8301 §3.2: signers MUST use at least 1024 bits, and
	 * verifiers need not check keys larger than 4096. */
	KEYS_RSA_BITS_MIN = 1024,
	KEYS_RSA_BITS_MAX = 4096,
	KEYS_RSA_BITS_DEFAULT = 2048,
	KEYS_SIG_MAX = KEYS_RSA_BITS_MAX / 8,
	/* RFC 1035 §3.3.14: a TXT character-string holds 255 octets. */
	KEYS_TXT_STRING_MAX = 255,
	/* The record's value: the tags and base64 of a 4096-bit key. */
	KEYS_VALUE_MAX = 1024 + 64
};

enum keys_type {
	KEYS_RSA,
	KEYS_ED25519
};

struct keys_key {
	enum keys_type		 type;
	char			 selector[KEYS_SELECTOR_MAX + 1];
	gnutls_privkey_t	 rsa;		/* KEYS_RSA */
	unsigned char		 sk[crypto_sign_SECRETKEYBYTES]; /* ED25519 */
	unsigned char		 pk[crypto_sign_PUBLICKEYBYTES];
};

/* libsodium's initialisation; 0 or -1. */
int	keys_init(void);
/* Load one key file as type; the selector is taken from the name.  0, or
 * -1 with "PATH: reason" in err. */
int	keys_load(struct keys_key *, const char *path, enum keys_type,
	    char *err, size_t errlen);
/* Every SELECTOR.rsa and SELECTOR.ed25519 of dir, sorted: the Ed25519
 * keys first, then the RSA keys, each by selector.  A missing dir is no
 * keys (0 and *n = 0); other names are ignored.  0, or -1 with err (and
 * nothing left loaded). */
int	keys_load_dir(const char *dir, struct keys_key *, size_t max,
	    size_t *n, char *err, size_t errlen);
void	keys_free(struct keys_key *);
/* Sign a SHA-256 digest: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376
 * §3.3.1) or Ed25519 over the digest (RFC 8463 §3).  sig holds
 * KEYS_SIG_MAX bytes.  0, or -1 with EIO. */
int	keys_sign(const struct keys_key *,
	    const unsigned char digest[crypto_hash_sha256_BYTES],
	    unsigned char *sig, size_t *siglen);
/* The record's value, "v=DKIM1; k=rsa; p=BASE64" (k=ed25519 for an
 * Ed25519 key), into value[size]: 0, or -1 with errno. */
int	keys_record_value(const struct keys_key *, char *value, size_t size);
/* Append the record in zone-file form, the value cut into strings of at
 * most KEYS_TXT_STRING_MAX octets:
 *   SEL._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=rsa; p=..." "..." )
 * 0, or -1 with errno. */
int	keys_record(const struct keys_key *, const char *domain, struct str *);
/* Make an RSA key of bits and an Ed25519 key in dir (created 0750 if
 * missing), selectors YYYYMMDDr and YYYYMMDDe of now in UTC, files mode
 * 0640; group "posthorn" when it exists.  An existing file is never
 * replaced: -1 with EEXIST before anything is written.  out[0] is the RSA
 * key, out[1] the Ed25519 key.  0, or -1 with err. */
int	keys_generate(const char *dir, time_t now, unsigned bits,
	    struct keys_key out[2], char *err, size_t errlen);
/* The selector text: letters, digits, '-', not starting with '-'. */
int	keys_selector_ok(const char *, size_t);

#endif
