/* users.h — the users file of a domain, users(5): "name:hash" lines, the
 * hash an argon2id string from crypto_pwhash_str, or "!" for a user who
 * receives mail but cannot log in.  Reading needs no crypto, so smtp-in's
 * RCPT check links none.  Changes are atomic (atomic.h) and serialized by
 * flock(2) on the domain's directory. */
#ifndef POSTHORN_USERS_H
#define POSTHORN_USERS_H

#include <stddef.h>

#define USERS_FILE		"users"
#define USERS_RECEIVE_ONLY	"!"
/* The group of a new users file when it exists: the keeper's (and so
 * smtp-auth's), not smtp-in's; install.sh makes it. */
#define USERS_GROUP		"posthorn-auth"

enum {
	USERS_NAME_MAX = 64,	/* a local part, RFC 5321 §4.5.3.1.1 */
	USERS_HASH_MAX = 128,	/* crypto_pwhash_STRBYTES */
	USERS_LINE_MAX = USERS_NAME_MAX + 1 + USERS_HASH_MAX + 2,
	USERS_MAX = 100000	/* lines in one file */
};

enum users_result {
	USERS_ERROR = -1,	/* errno says why (EINVAL: malformed file) */
	USERS_FOUND = 0,
	USERS_NOTFOUND = 1
};

/* Find name (case-insensitive) in the users file at path; a missing file
 * has no users.  hash (may be NULL) receives the hash or "!". */
enum users_result users_lookup(const char *path, const char *name,
		    char *hash, size_t hashlen);
/* Add name, or replace its hash if present. */
int		users_set(const char *path, const char *name,
		    const char *hash);
/* Remove name: USERS_FOUND when removed, USERS_NOTFOUND, USERS_ERROR. */
enum users_result users_del(const char *path, const char *name);
/* Each user in file order; stops when cb returns non-zero. */
int		users_list(const char *path,
		    int (*cb)(void *, const char *name, int receive_only),
		    void *);
/* 1 if name is acceptable as a user name (lowercase dot-string). */
int		users_name_valid(const char *name);

#endif
