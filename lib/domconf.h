/* domconf.h — the configuration of one local domain,
 * DIR/domains/DOMAIN/domain.conf, in posthorn.conf's syntax ("key =
 * value", '#' comments).  Every key has a default, so a missing file is
 * the defaults; an unknown key or a bad value is an error with the file
 * and line.  Read when a session needs it, not at start. */
#ifndef POSTHORN_DOMCONF_H
#define POSTHORN_DOMCONF_H

#include <stddef.h>

#include "conf.h"
#include "lmtp.h"

#define DOMCONF_FILE	"domain.conf"

enum {
	DOMCONF_LINE_MAX = 1024,
	DOMCONF_LINES_MAX = 1000
};

struct domconf {
	/* Authenticated users of the domain may use any envelope sender
	 * and From: address, not only their own (smtp-in(8)). */
	int	any_sender;		/* default: no */
	/* A display name or comment of From:, Sender:, Resent-From: or
	 * Resent-Sender: that holds another address than the field's own
	 * is refused at submission (smtp-in(8)). */
	int	refuse_address_in_name;	/* default: no */
	/* Whom the domain's pipe aliases and MDA run as ("USER" or
	 * "USER:GROUP", queue-runas(8)); "" for posthorn.conf's
	 * command_user. */
	char	command_user[CONF_USER_MAX + 1];	/* default: "" */
	/* What becomes of mail for the domain that fails DMARC under
	 * p=reject, p=quarantine (CONF_DMARC_*; smtp-in(8)); "" for
	 * posthorn.conf's. */
	char	dmarc_reject[8];			/* default: "" */
	char	dmarc_quarantine[8];			/* default: "" */
	/* Where the domain's mailboxes go by LMTP instead of the Maildir
	 * or the MDA (lmtp.h's syntax, checked; queue-run(8)); "": not
	 * by LMTP. */
	char	lmtp[LMTP_TARGET_MAX + 1];		/* default: "" */
};

/* Defaults, then the file if it exists.  -1 with errno (EINVAL: a bad
 * line, described in err as "FILE:LINE: reason" when err is not NULL). */
int	domconf_load(const struct conf *, const char *domain,
	    struct domconf *, char *err, size_t errsize);

#endif
