/* deliver_int.h — what the three files of local delivery share, and no
 * other module uses: deliver.c (the entry points of deliver.h, the loop
 * check, the message as a target gets it, the result), maildir.c (the
 * Maildir) and command.c (a pipe alias's command, a domain's MDA).
 * deliver.h stays the contract for queue-run. */
#ifndef POSTHORN_DELIVER_INT_H
#define POSTHORN_DELIVER_INT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "deliver.h"

enum {
	DELIVER_COPY_BUFSZ = 64 * 1024	/* bytes per read and write */
};

/* The message as a command or a Maildir file gets it: the prepended
 * fields (Return-Path:, Delivered-To:), the message's prefix (its
 * DKIM-Signature fields), then the bytes of the queue file from body
 * on. */
struct deliver_src {
	const struct deliver_msg *m;
	const char	*pre;
	size_t		 prelen, preoff;
	size_t		 sigoff;	/* of m->prefix, given so far */
	off_t		 off;		/* message bytes given so far */
};

void	deliver_src_init(struct deliver_src *, const struct deliver_msg *,
	    const char *pre, size_t prelen);
/* Up to size bytes into buf: the count, 0 at the end, -1 with errno (EIO
 * when the queue file is shorter than its envelope says). */
ssize_t	deliver_src_read(struct deliver_src *, char *buf, size_t size);

/* Set the outcome; a reason cut short ends in "...". */
void	deliver_result_set(struct deliver_result *, enum deliver_status,
	    const char *dsn, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* A failed system call on path: always temporary (RFC 3463 §3.3/§3.4),
 * the DSN code chosen by err. */
void	deliver_result_errno(struct deliver_result *, int err,
	    const char *what, const char *path);
/* r->where, for the log line: prefix and s, cut if long. */
void	deliver_where_set(struct deliver_result *, const char *prefix,
	    const char *s);

/* A blank of a header fold or a command line. */
static inline int
deliver_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* maildir.c: into MAILDIRS/DOMAIN/USER/, made on first delivery. */
void	maildir_deliver(const struct deliver_msg *,
	    const struct alias_target *, const char *pre, size_t prelen,
	    struct deliver_result *);

/* command.c: a command under way, started by posix_spawn(3) and driven
 * by the caller's poll(2) loop.  The caller ignores SIGPIPE. */
struct command;

enum command_start {
	COMMAND_NONE,		/* command_mda: the domain has no MDA */
	COMMAND_DONE,		/* r is set: nothing runs */
	COMMAND_RUNNING		/* *cp runs: command_step until 1 */
};

/* Start path with argv, the message (pre first) on its stdin, under the
 * command timeout: 0 with *cp running, or 1 with r set when it could not
 * start.  m and pre must stay until *cp is freed.  The caller has set
 * r->where. */
int	command_start(const struct deliver_msg *, const struct alias_target *,
	    const char *path, char *const argv[], const char *pre,
	    size_t prelen, struct deliver_result *r, struct command **cp);
/* The descriptors to poll for it, into pfd[0..n) (n at most
 * DELIVER_POLLFDS), and *due, the clock_ms() by which command_step must
 * be called even without an event (its deadline). */
size_t	command_pollset(struct command *, struct pollfd *pfd, int64_t *due);
/* After poll(2) on what command_pollset gave (pfd NULL: no poll): 1 when
 * it is over, reaped, with r set; 0 while it runs. */
int	command_step(struct command *, const struct pollfd *pfd,
	    struct deliver_result *r);
pid_t	command_pid(const struct command *);
/* Kill it (and its group) if it runs, reap it, free it. */
void	command_free(struct command *);
/* The domain's MDA, when DIR/domains/DOMAIN/mda exists: COMMAND_NONE
 * when there is none (r untouched), else started as command_start. */
int	command_mda(const struct deliver_msg *, const struct alias_target *,
	    const char *pre, size_t prelen, struct deliver_result *,
	    struct command **cp);

#endif
