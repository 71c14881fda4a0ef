/* deliver.h — local delivery of one message to one target: a Maildir, the
 * domain's MDA, or a pipe alias.  queue-run calls these in a child process
 * of its own, one per delivery, so they may block (within the command
 * timeout) and may be killed at any instant: whatever they leave half done
 * is in a Maildir's tmp/ or in a command that gets the mail again, never
 * a message marked delivered that is not.
 *
 * The child starts with default signal dispositions and an empty signal
 * mask; SIGPIPE is the callee's to ignore.  The message is read with
 * pread(2) from the queue file, so the file offset does not matter. */
#ifndef POSTHORN_DELIVER_H
#define POSTHORN_DELIVER_H

#include <limits.h>
#include <sys/types.h>

#include "alias.h"
#include "conf.h"

#define DELIVER_MDA_FILE	"mda"	/* domains/DOMAIN/mda: one line */

enum {
	DELIVER_REASON_MAX = 512,	/* a log value and a DSN line */
	DELIVER_STDERR_TAIL = 400	/* bytes of a command's stderr kept */
};

enum deliver_status {
	DELIVER_OK,		/* in the Maildir, or the command exited 0 */
	DELIVER_TEMP,		/* try again later */
	DELIVER_PERM		/* bounce */
};

struct deliver_result {
	enum deliver_status	status;
	char	dsn[16];		/* RFC 3463: "2.0.0", "4.3.0", ... */
	char	reason[DELIVER_REASON_MAX];	/* why, for log and DSN */
	char	where[PATH_MAX];	/* Maildir file, or the command */
};

struct deliver_msg {
	const struct conf	*conf;
	int			 fd;	/* the queue file, read-only */
	off_t			 body;	/* its first message byte */
	off_t			 size;	/* message bytes from body on */
	const char		*id;	/* the queue id */
	const char		*sender;	/* "" for the null sender */
	const char		*orig;	/* the envelope recipient that
					   led here (RCPT TO) */
	/* Header fields that go right after Return-Path: and
	 * Delivered-To: (the message's DKIM-Signature fields, LF line
	 * ends), or NULL: every copy of a signed message carries them. */
	const char		*prefix;
	size_t			 prefixlen;
};

/* To a user's mailbox: the domain's MDA when DIR/domains/DOMAIN/mda
 * exists, else the Maildir MAILDIRS/DOMAIN/USER/ (made on first
 * delivery).  Return-Path: and Delivered-To: are prepended, then the
 * msg's prefix; a
 * Delivered-To: of this same address already in the header is a loop
 * (5.4.6). */
void	deliver_mailbox(const struct deliver_msg *,
	    const struct alias_target *, struct deliver_result *);
/* To "| command" of a pipe alias, run by /bin/sh -c; the same fields
 * go first. */
void	deliver_pipe(const struct deliver_msg *, const struct alias_target *,
	    struct deliver_result *);

#endif
