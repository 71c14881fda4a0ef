/* local.h — local delivery of one message to one target: a Maildir, the
 * domain's MDA, or a pipe alias.  queue-run runs them in its own process:
 * a Maildir is written at once (local_start returns with the result,
 * after the file's fsync, its rename into new/ and new/'s fsync), and a
 * command, started by posix_spawn(3), is driven from queue-run's poll(2)
 * loop (local_pollset, local_step) until it exits.  queue-run may be
 * killed at any instant: whatever is left half done is in a Maildir's
 * tmp/ or in a command that gets the mail again, never a message marked
 * delivered that is not.
 *
 * The caller ignores SIGPIPE; a command starts with every signal at its
 * default and none blocked.  The message is read with pread(2) from the
 * queue file, so the file offset does not matter. */
#ifndef POSTHORN_LOCAL_H
#define POSTHORN_LOCAL_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "alias.h"
#include "deliver.h"

struct command;			/* command.h */

/* A local delivery: what local_start copied, and its command while one
 * runs.  Some 10 KiB; queue-run allocates one per running command. */
struct local_job {
	struct deliver_msg	 m;	/* its pointers must outlive the job */
	struct alias_target	 t;
	char			 pre[DELIVER_PREFIX_MAX];
	size_t			 prelen;
	struct command		*cmd;	/* running, or NULL */
	struct deliver_result	 r;	/* once it is over */
};

/* Start the delivery of m to t: a mailbox (t->kind ALIAS_MAILBOX) or a
 * pipe alias (ALIAS_PIPE).  1 when it is over, with j->r set: written to
 * the Maildir, or failed before any process ran; 0 while a command runs
 * (the domain's MDA or the pipe's): poll what local_pollset gives and
 * call local_step until it says 1.
 *
 * To a mailbox: the domain's MDA when DIR/domains/DOMAIN/mda exists,
 * else the Maildir MAILDIRS/DOMAIN/USER/ (made on first delivery).  To a
 * pipe: "| command" run by /bin/sh -c.  Return-Path: and Delivered-To:
 * are prepended, then the msg's prefix; a Delivered-To: of this same
 * address already in the header is a loop (5.4.6). */
int	local_start(struct local_job *, const struct deliver_msg *,
	    const struct alias_target *);
/* The running command's descriptors into pfd[0..n), n at most
 * DELIVER_POLLFDS, and *due, the clock_ms() by which local_step is
 * due without an event; 0 when nothing runs. */
size_t	local_pollset(struct local_job *, struct pollfd *pfd, int64_t *due);
/* After poll(2) (pfd as local_pollset filled it, or NULL): 1 when the
 * delivery is over, with j->r set. */
int	local_step(struct local_job *, const struct pollfd *pfd);
/* The running command's process id, or -1. */
pid_t	local_pid(const struct local_job *);
/* Kill the running command, if any, and reap it; nothing is reported. */
void	local_abort(struct local_job *);

/* The same, done before they return (tests and one-shot callers): the
 * poll loop is theirs, and SIGPIPE ignored while it runs. */
void	local_mailbox(const struct deliver_msg *,
	    const struct alias_target *, struct deliver_result *);
void	local_pipe(const struct deliver_msg *, const struct alias_target *,
	    struct deliver_result *);

#endif
