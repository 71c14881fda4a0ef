/* sendas.h — who may send as which address: the one rule that smtp-in
 * applies to a submission (the envelope sender, From:, Sender:,
 * Resent-From:) and that queue-run applies again before it lends a
 * domain's DKIM key, so the two can never disagree.
 *
 * An authenticated login may send as itself, as what alias_sendas
 * (alias.h) finds to be its own alone, and as what the senders file
 * gives it; a domain whose domain.conf says any_sender = yes lets its
 * users send as anything, which queue-run signs only for that domain.
 * A local user (sendmail, queue-inject) has mail signed as a hosted
 * address when it is root or the posthorn user, or when the senders file
 * gives it that address.
 *
 * DIR/senders, one line per sender ('#' comments, blank lines skipped):
 *
 *	WHO: ADDRESS, @DOMAIN, ...
 *
 * WHO is a login (user@domain, compared without case), a local user name
 * or a numeric uid; ADDRESS an address it may send as, @DOMAIN every
 * address of DOMAIN.  A missing file gives nothing; a line that does not
 * parse gives nothing either. */
#ifndef POSTHORN_SENDAS_H
#define POSTHORN_SENDAS_H

#include <stddef.h>

#include "conf.h"

#define SENDAS_FILE	"senders"

enum {
	SENDAS_LINE_MAX = 4096,		/* as an aliases line */
	SENDAS_LINES_MAX = 100000	/* a file a person writes */
};

enum sendas {
	SENDAS_NO,
	SENDAS_YES,		/* the login's own, or given to it */
	SENDAS_ANY,		/* only by the domain's any_sender = yes */
	SENDAS_TEMPFAIL		/* a file could not be read; errno */
};

/* May login send as address ("" is the null sender: yes)?  why (may be
 * NULL) says which rule answered, for a log line. */
enum sendas	sendas_login(const struct conf *, const char *login,
		    const char *address, char *why, size_t whysize);
/* May the local user uid (name: its user name, or NULL) have mail
 * signed as address?  self is the uid of the posthorn user (the
 * caller's own), which like root may. */
enum sendas	sendas_local(const struct conf *, long uid, const char *name,
		    long self, const char *address, char *why,
		    size_t whysize);

#endif
