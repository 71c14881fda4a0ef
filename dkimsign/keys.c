/* keys.c — the private keys of a domain and what is done with them:
 * read the files, sign a digest, make new keys, print the DNS records.
 * RSA is GnuTLS's (parsing, PKCS#1 v1.5 signing, generation, export);
 * Ed25519 signing and generation are libsodium's, GnuTLS only reading and
 * writing the PKCS#8 PEM around the seed.  Base64 is libsodium's.  No
 * key material is parsed or encoded by hand here.
 *
 * Key files are private: -g writes them mode 0640 with the group
 * "posthorn-dkim" (else "posthorn", an install older than that group),
 * when it exists, so that root and the signer (queue-run, which alone
 * has that group) read them and nobody else; a key that others can read is refused when it
 * is loaded (secret.h).  They are created beside their final name and
 * moved into place, so a key file is either whole or absent, and an
 * existing key is never replaced. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "atomic.h"
#include "fileread.h"
#include "io.h"
#include "keys.h"
#include "secret.h"
#include "str.h"

/* The group of the key files: the signer's alone (install.sh gives it
 * to queue-run, which starts dkimsign), not smtp-in's; the old one when
 * it is missing. */
#define KEYS_GROUP	"posthorn-dkim"
#define KEYS_GROUP_OLD	"posthorn"

enum {
	KEYS_B64_MAX = 1024,	/* base64 of a 4096-bit SubjectPublicKeyInfo */
	KEYS_SEED_B64_MAX = 128	/* a base64 seed line, spaces included */
};

static const char *const suffix[] = {
	[KEYS_RSA] = ".rsa",
	[KEYS_ED25519] = ".ed25519"
};

int
keys_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
keys_selector_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > KEYS_SELECTOR_MAX || s[0] == '-' ||
	    s[0] == '.' || s[len - 1] == '-' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i - 1] == '.')
			return 0;
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '-' && c != '.')
			return 0;
	}
	return 1;
}

static int
load_rsa(struct keys_key *k, const gnutls_datum_t *pem, const char **why)
{
	unsigned bits = 0;
	int alg;

	if (gnutls_privkey_init(&k->rsa) < 0) {
		*why = "out of memory";
		return -1;
	}
	if (gnutls_privkey_import_x509_raw(k->rsa, pem, GNUTLS_X509_FMT_PEM,
	    NULL, 0) < 0) {
		*why = "not an unencrypted PEM private key";
		goto fail;
	}
	alg = gnutls_privkey_get_pk_algorithm(k->rsa, &bits);
	if (alg != GNUTLS_PK_RSA) {
		*why = "not an RSA key";
		goto fail;
	}
	if (bits < KEYS_RSA_BITS_MIN || bits > KEYS_RSA_BITS_MAX) {
		*why = "RSA key size not in 1024..4096 bits (RFC 8301)";
		goto fail;
	}
	return 0;
fail:
	gnutls_privkey_deinit(k->rsa);
	k->rsa = NULL;
	return -1;
}

/* An Ed25519 key from PEM PKCS#8: GnuTLS reads the seed out of it. */
static int
ed25519_seed_pem(const gnutls_datum_t *pem,
    unsigned char seed[crypto_sign_SEEDBYTES], const char **why)
{
	gnutls_privkey_t gk = NULL;
	gnutls_ecc_curve_t curve;
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 }, kd = { NULL, 0 };
	int rc = -1;

	if (gnutls_privkey_init(&gk) < 0) {
		*why = "out of memory";
		return -1;
	}
	if (gnutls_privkey_import_x509_raw(gk, pem, GNUTLS_X509_FMT_PEM,
	    NULL, 0) < 0) {
		*why = "not an unencrypted PEM private key";
		goto out;
	}
	if (gnutls_privkey_get_pk_algorithm(gk, NULL) !=
	    GNUTLS_PK_EDDSA_ED25519) {
		*why = "not an Ed25519 key";
		goto out;
	}
	if (gnutls_privkey_export_ecc_raw2(gk, &curve, &x, &y, &kd,
	    GNUTLS_EXPORT_FLAG_NO_LZ) < 0 || curve != GNUTLS_ECC_CURVE_ED25519
	    || kd.size != crypto_sign_SEEDBYTES) {
		*why = "unreadable Ed25519 key";
		goto out;
	}
	memcpy(seed, kd.data, crypto_sign_SEEDBYTES);
	rc = 0;
out:
	if (kd.data != NULL) {
		sodium_memzero(kd.data, kd.size);
		gnutls_free(kd.data);
	}
	gnutls_free(x.data);
	gnutls_free(y.data);
	gnutls_privkey_deinit(gk);
	return rc;
}

static int
load_ed25519(struct keys_key *k, char *text, size_t len, const char **why)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	gnutls_datum_t pem;
	size_t n = 0;
	int rc = -1;

	if (strstr(text, "-----BEGIN") != NULL) {
		pem.data = (unsigned char *)text;
		pem.size = (unsigned)len;
		if (ed25519_seed_pem(&pem, seed, why) == -1)
			goto out;
	} else if (len > KEYS_SEED_B64_MAX ||
	    sodium_base642bin(seed, sizeof(seed), text, len, " \t\r\n", &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(seed)) {
		*why = "neither PEM nor the base64 of a 32-byte seed";
		goto out;
	}
	if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0) {
		*why = "bad Ed25519 seed";
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

int
keys_load(struct keys_key *k, const char *path, enum keys_type type,
    char *err, size_t errlen)
{
	char *text = NULL;
	const char *base, *why = NULL;
	size_t len = 0, sl;
	gnutls_datum_t pem;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	k->type = type;
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	sl = strlen(base);
	if (sl > strlen(suffix[type]) &&
	    strcmp(base + sl - strlen(suffix[type]), suffix[type]) == 0)
		sl -= strlen(suffix[type]);
	if (!keys_selector_ok(base, sl)) {
		str_fmt_cut(err, errlen, "%s: not a valid selector name",
		    path);
		return -1;
	}
	memcpy(k->selector, base, sl);
	k->selector[sl] = '\0';
	if ((text = sodium_malloc(KEYS_FILE_MAX)) == NULL) {
		str_fmt_cut(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Refused before a byte of it is read, with the fix. */
	if (secret_check(-1, path, err, errlen) == -1)
		goto out;
	if (fileread_into(path, text, KEYS_FILE_MAX, &len) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "too large for a key file" : strerror(errno));
		goto out;
	}
	if (type == KEYS_RSA) {
		pem.data = (unsigned char *)text;
		pem.size = (unsigned)len;
		rc = load_rsa(k, &pem, &why);
	} else
		rc = load_ed25519(k, text, len, &why);
	if (rc == -1)
		str_fmt_cut(err, errlen, "%s: %s", path, why);
out:
	sodium_free(text);
	return rc;
}

void
keys_free(struct keys_key *k)
{
	if (k->type == KEYS_RSA && k->rsa != NULL)
		gnutls_privkey_deinit(k->rsa);
	k->rsa = NULL;
	sodium_memzero(k->sk, sizeof(k->sk));
}

struct entry {
	enum keys_type	type;
	char		name[NAME_MAX + 1];
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	/* Ed25519 first, as in RFC 8463 Appendix A. */
	if (x->type != y->type)
		return x->type == KEYS_ED25519 ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
keys_load_dir(const char *dir, struct keys_key *keys, size_t max, size_t *n,
    char *err, size_t errlen)
{
	struct entry ent[KEYS_MAX];
	char path[PATH_MAX];
	struct dirent *de;
	size_t ne = 0, i, nl;
	DIR *d;
	int t;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		str_fmt_cut(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;	/* ., .., and -g's temporaries */
		nl = strlen(de->d_name);
		for (t = KEYS_RSA; t <= KEYS_ED25519; t++) {
			size_t sl = strlen(suffix[t]);

			if (nl > sl && strcmp(de->d_name + nl - sl,
			    suffix[t]) == 0)
				break;
		}
		if (t > KEYS_ED25519)
			continue;
		if (ne == KEYS_MAX || ne == max) {
			closedir(d);
			str_fmt_cut(err, errlen, "%s: more than %zu keys", dir,
			    ne);
			return -1;
		}
		ent[ne].type = (enum keys_type)t;
		memcpy(ent[ne].name, de->d_name, nl + 1);
		ne++;
	}
	if (errno != 0) {
		str_fmt_cut(err, errlen, "%s: %s", dir, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	qsort(ent, ne, sizeof(ent[0]), entry_cmp);
	for (i = 0; i < ne; i++) {
		if (str_fmt(path, sizeof(path), "%s/%s", dir, ent[i].name)
		    == -1) {
			str_fmt_cut(err, errlen, "%s/%s: name too long", dir,
			    ent[i].name);
			goto fail;
		}
		if (keys_load(&keys[i], path, ent[i].type, err, errlen) == -1)
			goto fail;
		*n = i + 1;
	}
	return 0;
fail:
	for (i = 0; i < *n; i++)
		keys_free(&keys[i]);
	*n = 0;
	return -1;
}

int
keys_sign(const struct keys_key *k,
    const unsigned char digest[crypto_hash_sha256_BYTES], unsigned char *sig,
    size_t *siglen)
{
	gnutls_datum_t h, s = { NULL, 0 };
	unsigned long long n;

	if (k->type == KEYS_ED25519) {
		/* RFC 8463 §3: the signature is of the SHA-256 hash, as
		 * the data of "pure" Ed25519. */
		if (crypto_sign_detached(sig, &n, digest,
		    crypto_hash_sha256_BYTES, k->sk) != 0) {
			errno = EIO;
			return -1;
		}
		*siglen = (size_t)n;
		return 0;
	}
	h.data = (unsigned char *)digest;
	h.size = crypto_hash_sha256_BYTES;
	/* RSASSA-PKCS1-v1_5: GnuTLS wraps the digest in its DigestInfo. */
	if (gnutls_privkey_sign_hash2(k->rsa, GNUTLS_SIGN_RSA_SHA256, 0, &h,
	    &s) < 0) {
		errno = EIO;
		return -1;
	}
	if (s.size > KEYS_SIG_MAX) {
		gnutls_free(s.data);
		errno = EIO;
		return -1;
	}
	memcpy(sig, s.data, s.size);
	*siglen = s.size;
	gnutls_free(s.data);
	return 0;
}

/* The p= value: base64 of the SubjectPublicKeyInfo for RSA (RFC 6376
 * §3.6.1), of the 32-byte public key for Ed25519 (RFC 8463 §4). */
static int
public_b64(const struct keys_key *k, char *b64, size_t cap)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der = { NULL, 0 };
	int rc = -1;

	if (k->type == KEYS_ED25519) {
		if (sodium_base64_ENCODED_LEN(sizeof(k->pk),
		    sodium_base64_VARIANT_ORIGINAL) > cap) {
			errno = ENOBUFS;
			return -1;
		}
		sodium_bin2base64(b64, cap, k->pk, sizeof(k->pk),
		    sodium_base64_VARIANT_ORIGINAL);
		return 0;
	}
	if (gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_privkey(pub, k->rsa, 0, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) < 0) {
		errno = EIO;
		goto out;
	}
	if (sodium_base64_ENCODED_LEN(der.size,
	    sodium_base64_VARIANT_ORIGINAL) > cap) {
		errno = ENOBUFS;
		goto out;
	}
	sodium_bin2base64(b64, cap, der.data, der.size,
	    sodium_base64_VARIANT_ORIGINAL);
	rc = 0;
out:
	gnutls_free(der.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

int
keys_record_value(const struct keys_key *k, char *value, size_t size)
{
	char b64[KEYS_B64_MAX];

	if (public_b64(k, b64, sizeof(b64)) == -1)
		return -1;
	return str_fmt(value, size, "v=DKIM1; k=%s; p=%s",
	    k->type == KEYS_RSA ? "rsa" : "ed25519", b64);
}

int
keys_record(const struct keys_key *k, const char *domain, struct str *out)
{
	char value[KEYS_VALUE_MAX];
	size_t save = out->len, dl, vl, off, n;

	if (keys_record_value(k, value, sizeof(value)) == -1)
		return -1;
	dl = strlen(domain);
	if (dl > 0 && domain[dl - 1] == '.')
		dl--;
	if (str_appendf(out, "%s._domainkey.%.*s. IN TXT (", k->selector,
	    (int)dl, domain) == -1)
		goto fail;
	vl = strlen(value);
	for (off = 0; off < vl; off += n) {
		n = vl - off < KEYS_TXT_STRING_MAX ? vl - off :
		    KEYS_TXT_STRING_MAX;
		if (str_appendf(out, "%s\"%.*s\"", off == 0 ? " " : "\n\t",
		    (int)n, value + off) == -1)
			goto fail;
	}
	if (str_appends(out, " )\n") == -1)
		goto fail;
	return 0;
fail:
	str_truncate(out, save);
	return -1;
}

/* dir/name, whole, mode 0640, never over an existing file: written under
 * a dot name, fsynced, then moved into place by a rename that fails with
 * EEXIST where rename(2) would replace. */
static int
write_new(const char *dir, const char *name, const void *p, size_t n,
    gid_t gid, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, rc = -1;

	if (str_fmt(path, sizeof(path), "%s/%s", dir, name) == -1 ||
	    str_fmt(tmp, sizeof(tmp), "%s/.%s.tmp.%ld", dir, name,
	    (long)getpid()) == -1) {
		str_fmt_cut(err, errlen, "%s/%s: name too long", dir, name);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600))
	    == -1) {
		str_fmt_cut(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) == -1) {
		/* Best effort: without the group only root reads the key. */
	}
	if (fchmod(fd, 0640) == -1 || fd_write_all(fd, p, n) == -1 ||
	    fsync(fd) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		str_fmt_cut(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (atomic_rename_noreplace(tmp, path) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fsync_dir(dir) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1)
		(void)unlink(tmp);
	return rc;
}

static int
export_pem(gnutls_privkey_t k, gnutls_datum_t *pem)
{
	gnutls_x509_privkey_t xk = NULL;
	int rc = -1;

	if (gnutls_privkey_export_x509(k, &xk) < 0)
		return -1;
	if (gnutls_x509_privkey_export2_pkcs8(xk, GNUTLS_X509_FMT_PEM, NULL,
	    GNUTLS_PKCS_PLAIN, pem) >= 0)
		rc = 0;
	gnutls_x509_privkey_deinit(xk);
	return rc;
}

static int
make_rsa(struct keys_key *k, unsigned bits, gnutls_datum_t *pem)
{
	k->type = KEYS_RSA;
	if (gnutls_privkey_init(&k->rsa) < 0)
		return -1;
	if (gnutls_privkey_generate(k->rsa, GNUTLS_PK_RSA, bits, 0) < 0 ||
	    export_pem(k->rsa, pem) == -1) {
		gnutls_privkey_deinit(k->rsa);
		k->rsa = NULL;
		return -1;
	}
	return 0;
}

/* libsodium makes the key; GnuTLS only wraps its seed in PKCS#8. */
static int
make_ed25519(struct keys_key *k, gnutls_datum_t *pem)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	gnutls_privkey_t gk = NULL;
	gnutls_datum_t x, d;
	int rc = -1;

	k->type = KEYS_ED25519;
	if (crypto_sign_keypair(k->pk, k->sk) != 0)
		return -1;
	crypto_sign_ed25519_sk_to_seed(seed, k->sk);
	x.data = k->pk;
	x.size = sizeof(k->pk);
	d.data = seed;
	d.size = sizeof(seed);
	if (gnutls_privkey_init(&gk) < 0)
		goto out;
	if (gnutls_privkey_import_ecc_raw(gk, GNUTLS_ECC_CURVE_ED25519, &x,
	    NULL, &d) < 0 || export_pem(gk, pem) == -1)
		goto out;
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	if (gk != NULL)
		gnutls_privkey_deinit(gk);
	return rc;
}

int
keys_generate(const char *dir, time_t now, unsigned bits,
    struct keys_key out[2], char *err, size_t errlen)
{
	gnutls_datum_t pem[2] = { { NULL, 0 }, { NULL, 0 } };
	char name[2][KEYS_SELECTOR_MAX + 16], path[PATH_MAX], date[16];
	const char letter[2] = { 'r', 'e' };
	enum keys_type type[2] = { KEYS_RSA, KEYS_ED25519 };
	struct group *gr;
	struct stat st;
	struct tm tm;
	gid_t gid = (gid_t)-1;
	int i, rc = -1;

	memset(out, 0, 2 * sizeof(out[0]));
	if (bits < KEYS_RSA_BITS_MIN || bits > KEYS_RSA_BITS_MAX) {
		str_fmt_cut(err, errlen, "RSA key size %u not in %d..%d", bits,
		    KEYS_RSA_BITS_MIN, KEYS_RSA_BITS_MAX);
		return -1;
	}
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y%m%d", &tm) == 0) {
		str_fmt_cut(err, errlen, "time %lld: not a date",
		    (long long)now);
		return -1;
	}
	if ((gr = getgrnam(KEYS_GROUP)) != NULL ||
	    (gr = getgrnam(KEYS_GROUP_OLD)) != NULL)
		gid = gr->gr_gid;
	for (i = 0; i < 2; i++) {
		if (str_fmt(out[i].selector, sizeof(out[i].selector), "%s%c",
		    date, letter[i]) == -1 ||
		    str_fmt(name[i], sizeof(name[i]), "%s%s",
		    out[i].selector, suffix[type[i]]) == -1 ||
		    str_fmt(path, sizeof(path), "%s/%s", dir, name[i]) == -1) {
			str_fmt_cut(err, errlen, "%s: name too long", dir);
			return -1;
		}
		/* Refuse before making anything: a second -g on the same
		 * day must not leave one new key and one old. */
		if (lstat(path, &st) == 0) {
			str_fmt_cut(err, errlen, "%s: exists; not replaced",
			    path);
			errno = EEXIST;
			return -1;
		}
	}
	if (mkdir(dir, 0750) == 0) {
		if (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) == -1) {
			/* Best effort, as for the key. */
		}
		if (fsync_parent(dir) == -1) {
			str_fmt_cut(err, errlen, "%s: %s", dir,
			    strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		str_fmt_cut(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (make_rsa(&out[0], bits, &pem[0]) == -1 ||
	    make_ed25519(&out[1], &pem[1]) == -1) {
		str_fmt_cut(err, errlen, "key generation failed");
		goto out;
	}
	for (i = 0; i < 2; i++)
		if (write_new(dir, name[i], pem[i].data, pem[i].size, gid, err,
		    errlen) == -1)
			goto out;
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		if (pem[i].data != NULL) {
			sodium_memzero(pem[i].data, pem[i].size);
			gnutls_free(pem[i].data);
		}
	}
	if (rc == -1) {
		keys_free(&out[0]);
		keys_free(&out[1]);
	}
	return rc;
}
