/* deliver.h — local delivery of one message to one target: a Maildir, the
 * domain's MDA, or a pipe alias.  queue-run runs them in its own process:
 * a Maildir is written at once (deliver_start returns with the result,
 * after the file's fsync, its rename into new/ and new/'s fsync), and a
 * command, started by posix_spawn(3), is driven from queue-run's poll(2)
 * loop (deliver_pollset, deliver_step) until it exits.  queue-run may be
 * killed at any instant: whatever is left half done is in a Maildir's
 * tmp/ or in a command that gets the mail again, never a message marked
 * delivered that is not.
 *
 * The caller ignores SIGPIPE; a command starts with every signal at its
 * default and none blocked.  The message is read with pread(2) from the
 * queue file, so the file offset does not matter. */
#ifndef POSTHORN_DELIVER_H
#define POSTHORN_DELIVER_H

#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "alias.h"
#include "conf.h"

#define DELIVER_MDA_FILE	"mda"	/* domains/DOMAIN/mda: one line */

enum {
	DELIVER_REASON_MAX = 512,	/* a log value and a DSN line */
	DELIVER_STDERR_TAIL = 400,	/* bytes of a command's stderr kept */
	/* The message's Authentication-Results folded: smtp-in's checks
	 * make at most 8 KiB (CHECK_AR_MAX), folding adds a tab a line. */
	DELIVER_AUTHRES_MAX = 10 * 1024,
	/* The prepended fields: "Return-Path: <S>\nDelivered-To: A\n",
	 * then Authentication-Results: when the envelope has one. */
	DELIVER_PREFIX_MAX = 2 * ADDR_TEXT_MAX + 64 + DELIVER_AUTHRES_MAX,
	/* A command's descriptors to poll: stdin, stderr, its pidfd. */
	DELIVER_POLLFDS = 3
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
	/* The envelope's authres (smtp-in's checks), "" or NULL for none:
	 * prepended as an Authentication-Results field after
	 * Delivered-To:. */
	const char		*authres;
};

struct command;			/* deliver_int.h */

/* A local delivery: what deliver_start copied, and its command while one
 * runs.  Some 10 KiB; queue-run allocates one per running command. */
struct deliver_job {
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
 * (the domain's MDA or the pipe's): poll what deliver_pollset gives and
 * call deliver_step until it says 1.
 *
 * To a mailbox: the domain's MDA when DIR/domains/DOMAIN/mda exists,
 * else the Maildir MAILDIRS/DOMAIN/USER/ (made on first delivery).  To a
 * pipe: "| command" run by /bin/sh -c.  Return-Path: and Delivered-To:
 * are prepended, then the msg's prefix; a Delivered-To: of this same
 * address already in the header is a loop (5.4.6). */
int	deliver_start(struct deliver_job *, const struct deliver_msg *,
	    const struct alias_target *);
/* The running command's descriptors into pfd[0..n), n at most
 * DELIVER_POLLFDS, and *due, the clock_ms() by which deliver_step is
 * due without an event; 0 when nothing runs. */
size_t	deliver_pollset(struct deliver_job *, struct pollfd *pfd,
	    int64_t *due);
/* After poll(2) (pfd as deliver_pollset filled it, or NULL): 1 when the
 * delivery is over, with j->r set. */
int	deliver_step(struct deliver_job *, const struct pollfd *pfd);
/* The running command's process id, or -1. */
pid_t	deliver_pid(const struct deliver_job *);
/* Kill the running command, if any, and reap it; nothing is reported. */
void	deliver_abort(struct deliver_job *);

/* The same, done before they return (tests and one-shot callers): the
 * poll loop is theirs, and SIGPIPE ignored while it runs. */
void	deliver_mailbox(const struct deliver_msg *,
	    const struct alias_target *, struct deliver_result *);
void	deliver_pipe(const struct deliver_msg *, const struct alias_target *,
	    struct deliver_result *);

#endif
