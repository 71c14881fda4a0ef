/* queue.h — putting a message into the queue, durably.  See posthorn-queue(5)
 * for the layout and the file format.  A message is written to
 * SPOOL/tmp/ID, fsynced, and committed by one rename(2) into SPOOL/new/ID
 * followed by an fsync of SPOOL/new: before that instant nothing of it is
 * deliverable, after it nothing of it can be lost. */
#ifndef POSTHORN_QUEUE_H
#define POSTHORN_QUEUE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "dsn.h"

enum {
	QUEUE_ID_LEN = 16,		/* 7 time + 4 microseconds + 5 pid */
	QUEUE_WBUFSZ = 64 * 1024,	/* bytes gathered per write(2) */
	QUEUE_FORMAT_VERSION = 1,
	/* Largest envelope block a reader accepts and a writer produces:
	 * some two thousand recipients of the longest kind. */
	QUEUE_ENV_MAX = 1024 * 1024,
	/* queue_env.reserve at most: smtp-in's checks reserve room for an
	 * Authentication-Results line (CHECKS_RESERVE, smtp-in(8)). */
	QUEUE_RESERVE_MAX = 16 * 1024
};

#define QUEUE_MAGIC	"posthorn-queue"
#define QUEUE_TMP	"tmp"
#define QUEUE_NEW	"new"
#define QUEUE_STATE	"state"

enum queue_env_flags {
	QUEUE_SMTPUTF8 = 1 << 0,	/* MAIL ... SMTPUTF8 (RFC 6531) */
	QUEUE_8BITMIME = 1 << 1,	/* MAIL ... BODY=8BITMIME */
	/* Deliver to local targets only, forward nothing: the content
	 * filter judged it spam (smtp-in(8), filter_spam = local). */
	QUEUE_LOCAL_ONLY = 1 << 2
};
#define QUEUE_ENV_LOCAL_ONLY	"localonly"
/* The message's Authentication-Results (RFC 8601): the field's body on
 * one line, as smtp-in's checks made it; queue-run prepends it, folded,
 * at every delivery. */
#define QUEUE_ENV_AUTHRES	"authres"
/* A reserved stretch of the envelope (queue_env.reserve): "pad" and
 * blanks, ignored by readers like any key they do not know. */
#define QUEUE_ENV_PAD		"pad"

/* What the envelope records.  Addresses are as addr_format() writes them,
 * "" for the null sender. */
struct queue_env {
	const char		*sender;
	const char *const	*rcpts;
	size_t			 nrcpts;
	unsigned		 flags;	/* enum queue_env_flags */
	const char		*via;	/* "mx", "submission", "local", ... */
	const char		*peer;	/* client IP address, or NULL */
	const char		*helo;	/* HELO/EHLO name, or NULL */
	long			 uid;	/* injecting user, or -1 */
	const char		*auth;	/* the AUTH login, or NULL */
	/* RFC 3461 (DSN): RET and ENVID (decoded) of MAIL, or none; per
	 * recipient NOTIFY (enum dsn_notify, 0: not given) and ORCPT
	 * ("type;address", decoded; NULL: none), each array NULL when no
	 * recipient has one. */
	enum dsn_ret		 ret;
	const char		*envid;
	const unsigned		*notify;
	const char *const	*orcpt;
	/* The checks' Authentication-Results field body (RFC 8601) after
	 * "Authentication-Results: ", on one line, or NULL: none made. */
	const char		*authres;
	/* Bytes kept at the end of the envelope for lines known only
	 * after the data (queue_env_fill), 0 for none: a "pad" line. */
	size_t			 reserve;
};

struct queue_msg {
	int		fd;
	int		tmpdir;			/* SPOOL/tmp, O_PATH */
	int		newfd;			/* SPOOL/new, for its fsync */
	char		id[QUEUE_ID_LEN + 1];
	/* SPOOL/tmp/ID, for messages; the commit goes by the directories'
	 * descriptors and the ID, so a message touches one page of names. */
	char		tmp[PATH_MAX];
	uint64_t	size;			/* message bytes so far */
	uint64_t	envlen;			/* the envelope block's bytes */
	uint64_t	reserve_off;		/* queue_env.reserve's place */
	size_t		reserve;		/* its bytes, 0: none (left) */
	size_t		len;			/* bytes in buf */
	char		buf[QUEUE_WBUFSZ];
};

/* 1 if s is a queue ID (QUEUE_ID_LEN Crockford base32 characters). */
int	queue_id_valid(const char *s);
/* Create SPOOL/tmp/ID with a fresh unique ID, mode 0640 (less the
 * umask); -1 with errno.  tmp/ and new/ are reached without following
 * a symbolic link (ELOOP or ENOTDIR if one is there): see queue.c. */
int	queue_create(struct queue_msg *, const char *spool);
/* The envelope block; call once, before any queue_put. */
int	queue_put_env(struct queue_msg *, const struct queue_env *);
/* Message bytes, LF line endings, buffered; -1 with errno (ENOSPC...). */
int	queue_put(struct queue_msg *, const void *, size_t);
/* A descriptor of its own (read-only, close-on-exec) on the message
 * written so far, at its first byte after the envelope, for a content
 * filter to read: what was buffered is written first.  -1 with errno. */
int	queue_reader(struct queue_msg *);
/* Add a line to the envelope (envline, a key alone such as
 * QUEUE_ENV_LOCAL_ONLY, or NULL) and put n bytes before the first
 * message byte (header fields that a content filter adds): the
 * temporary is written again beside itself and renamed over the old one
 * before anything is committed.  -1 with errno, and then the message is
 * as it was. */
int	queue_rewrite(struct queue_msg *, const char *envline, const void *,
	    size_t n);
/* Write lines (each "key value\n", text[0..n)) into the envelope's
 * reserved stretch, in place: one pwrite(2), no copy of the message.
 * The rest of the stretch stays a "pad" line.  -1 with errno: E2BIG
 * when they do not fit (n + 4 > reserve and n != reserve; the caller
 * may queue_rewrite instead), EINVAL for no reserve or a line that is
 * not one, or the write's. */
int	queue_env_fill(struct queue_msg *, const char *text, size_t n);
/* Flush, fsync, rename into new/, fsync new/.  On failure nothing is
 * committed and the temporary is gone. */
int	queue_commit(struct queue_msg *);
/* Is there room on the queue's file system (asked through fd when it is
 * not -1, else spool's path) for size more bytes above floor
 * (posthorn.conf's queue_minfree; 0: no floor)?  f_bavail: what a user
 * that is not root may still fill.  1 yes, 0 no, -1 with errno when the
 * file system cannot be asked. */
int	queue_room(int fd, const char *spool, uint64_t floor, uint64_t size);
/* Throw the temporary away (any time before commit). */
void	queue_abort(struct queue_msg *);

/* Reading an envelope back (queue-run, tests).  Recipients point into
 * the loaded block, which queue_env_free releases. */
struct queue_envelope {
	char	 id[QUEUE_ID_LEN + 1];
	time_t	 time;
	char	*sender;
	char	**rcpts;
	size_t	 nrcpts;
	unsigned flags;
	const char *via;	/* "" when the file does not say */
	const char *peer;	/* "" when none */
	const char *helo;	/* "" when none */
	long	 uid;		/* -1 when none */
	const char *auth;	/* the AUTH login; "" when none */
	enum dsn_ret ret;	/* RET=, DSN_RET_NONE when none */
	const char *envid;	/* ENVID=, decoded; "" when none */
	const char *authres;	/* QUEUE_ENV_AUTHRES; "" when none */
	unsigned *notify;	/* per recipient: NOTIFY=, 0 when none */
	char	**orcpt;	/* per recipient: ORCPT=, NULL when none */
	off_t	 body;		/* offset of the first message byte */
	char	*block;		/* the envelope text, owned */
};
/* Parse the envelope at the start of fd; -1 with errno (EINVAL on a
 * malformed file). */
int	queue_env_read(int fd, struct queue_envelope *);
void	queue_env_free(struct queue_envelope *);

#endif
