/* helpers.h — the two programs smtp-in starts on demand: smtp-tlsd, which
 * does TLS for the session from STARTTLS (or the first byte on port 465)
 * on, and smtp-auth, which decodes an AUTH exchange and checks the
 * password.  smtp-in is a static binary that links neither GnuTLS nor
 * libsodium, so that a session that uses neither pays for neither; these
 * are its session hooks in production (see session.h). */
#ifndef POSTHORN_HELPERS_H
#define POSTHORN_HELPERS_H

#include <stddef.h>

#include "session.h"

#define HELPER_TLSD	"smtp-tlsd"
#define HELPER_AUTH	"smtp-auth"

enum {
	/* smtp-tlsd's own handshake deadline is 60 s; ours is a backstop. */
	HELPER_TLS_TIMEOUT = 90,
	/* argon2id takes some 60 ms; a loaded machine gets far more. */
	HELPER_AUTH_TIMEOUT = 30,
	HELPER_LINE_MAX = 1024		/* a status line of either */
};

/* Hand fd 0/1 to smtp-tlsd and take a socketpair to it in their place;
 * then its status line.  0 with s->tls_* set, or -1 with why. */
int	helper_starttls(struct session *, char *why, size_t whysize);
/* One AUTH exchange ("PLAIN b64" / "LOGIN b64 b64") through smtp-auth. */
enum session_auth helper_auth(struct session *, const char *request,
	    char *login, size_t loginsize, char *why, size_t whysize);

#endif
