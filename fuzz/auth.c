/* auth.c — libFuzzer harness: smtp-auth's reading and decoding of the
 * SASL request smtp-in hands it (smtp-in/auth.c): auth_read_request on a
 * pipe that holds the input, then auth_decode of the input as a request
 * line.  auth_verify (argon2id against the users file) is left out: it
 * costs 64 MiB and a second a call, and parses only what users_lookup
 * does (the users harness). */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "io.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum {
	/* What fits a pipe without a reader: more than auth_read_request
	 * ever reads (AUTH_REQUEST_MAX + 1). */
	PIPE_INPUT_MAX = 16 * 1024
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[AUTH_REQUEST_MAX + 2];
	struct auth_cred c;
	char reason[AUTH_REASON_MAX];
	size_t len;
	int p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		abort();
	if (fd_write_all(p[1], data, size < PIPE_INPUT_MAX ? size :
	    PIPE_INPUT_MAX) == -1)
		abort();
	close(p[1]);
	if (auth_read_request(p[0], buf, sizeof(buf), &len) == 0) {
		if (len > AUTH_REQUEST_MAX || buf[len] != '\0')
			abort();
		(void)auth_decode(buf, len, &c, reason, sizeof(reason));
		auth_cred_wipe(&c);
	}
	close(p[0]);

	memset(&c, 0, sizeof(c));
	if (auth_decode((const char *)data, size, &c, reason,
	    sizeof(reason)) == AUTH_OK) {
		if (memchr(c.authcid, '\0', sizeof(c.authcid)) == NULL ||
		    c.passwdlen > PASSWD_MAX)
			abort();
	}
	auth_cred_wipe(&c);
	return 0;
}
