/* maildir.h — delivery into a Maildir (maildir(5)), under local.h: the
 * message written to tmp/, fsynced, renamed into new/, new/ fsynced. */
#ifndef POSTHORN_MAILDIR_H
#define POSTHORN_MAILDIR_H

#include <stddef.h>

#include "alias.h"
#include "deliver.h"

/* Into MAILDIRS/DOMAIN/USER/ (t's domain and user), made on first
 * delivery: pre, then the message; r says how it went. */
void	maildir_deliver(const struct deliver_msg *,
	    const struct alias_target *, const char *pre, size_t prelen,
	    struct deliver_result *);

#endif
