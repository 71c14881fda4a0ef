/* keepd.h — smtp-keeper's answers (keeper.h has the questions): an SRS
 * address checked in-process with srs.secret, a user looked up in a
 * users file, and AUTH handed to an smtp-auth it starts with its own
 * groups.  It holds what smtp-in, which parses the network, may not
 * read; smtp-listen gives it the groups of those files alone. */
#ifndef POSTHORN_KEEPD_H
#define POSTHORN_KEEPD_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include "confwatch.h"
#include "keeper.h"
#include "srsfail.h"

enum {
	/* smtp-auth processes at once.  Each holds a session's AUTH; its
	 * own host-wide turns (authlimit.h) bound the argon2id runs.  Over
	 * it the session gets "temp" at once, as on a failed start. */
	KEEPD_AUTH_MAX = 64
};

struct keepd {
	struct confwatch w;		/* posthorn.conf, kept current */
	char		 auth[PATH_MAX];	/* smtp-auth beside us */
	unsigned	 nauth;			/* smtp-auth running */
	struct srsfail	 srsfail;		/* failed SRS per source */
};

/* posthorn.conf of dir, and where smtp-auth is.  0, or -1 with err. */
int	keepd_init(struct keepd *, const char *dir, char *err, size_t errlen);
/* Answer r on fd (a stream socket of the asker's), which is taken:
 * closed once answered, or smtp-auth's. */
void	keepd_serve(struct keepd *, const struct keeper_req *r, int fd);
/* An smtp-auth of ours ended. */
void	keepd_reaped(struct keepd *);

#endif
