/* users.c — libFuzzer harness: the users(5) reader (lib/users.c) that
 * smtp-in's RCPT check, smtp-auth and mailuser share.  The input is the
 * users file: a few names are looked up, the file listed, and then a user
 * set and removed as mailuser add and del do; what was set must then be
 * found. */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "users.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define HASH	"$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g"

static int
listed(void *arg, const char *name, int receive_only)
{
	(void)receive_only;
	if (strlen(name) > USERS_NAME_MAX)
		abort();
	(*(size_t *)arg)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "alice", "ALICE", "bob", "nobody",
	    "a.b", "" };
	char path[PATH_MAX], hash[USERS_HASH_MAX + 1];
	size_t i, n = 0;

	fz_env();
	fz_path(path, "etc/domains/" FZ_DOMAIN "/users");
	fz_write(path, data, size);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (users_lookup(path, names[i], hash, sizeof(hash)) ==
		    USERS_FOUND && memchr(hash, '\0', sizeof(hash)) == NULL)
			abort();
	if (users_list(path, listed, &n) == -1)
		return 0;	/* malformed: mailuser would refuse it too */
	if (users_set(path, "fuzz", HASH) == 0) {
		if (users_lookup(path, "fuzz", hash, sizeof(hash)) !=
		    USERS_FOUND || strcmp(hash, HASH) != 0) {
			fprintf(stderr, "users: set, then not found: %s\n",
			    strerror(errno));
			abort();
		}
		if (users_del(path, "fuzz") != USERS_FOUND ||
		    users_lookup(path, "fuzz", NULL, 0) != USERS_NOTFOUND) {
			fprintf(stderr, "users: deleted, then found\n");
			abort();
		}
	}
	return 0;
}
