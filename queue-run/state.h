/* state.h — what queue-run knows about one queued message: the envelope
 * read from SPOOL/new/ID (immutable), and one entry per delivery, kept in
 * SPOOL/state/ID and replaced atomically (write, fsync, rename) whenever
 * it changes.  The message file is never written after its commit; this
 * file is the only thing that changes.  No state file means that nothing
 * has happened yet: every envelope recipient is still to be resolved.
 * posthorn-queue(5) documents the format; mailq(8) reads it too. */
#ifndef POSTHORN_STATE_H
#define POSTHORN_STATE_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "alias.h"
#include "queue.h"

#define STATE_MAGIC	"posthorn-state"
/* SPOOL/state/ID.dkim: the DKIM-Signature fields of the message, made
 * once before its first delivery and put in front of every copy. */
#define STATE_DKIM_SUFFIX	".dkim"
#define STATE_DKIM_PREFIX	"DKIM-Signature:"
/* SPOOL/state/ID.arc: the ARC set (RFC 8617) that queue-run adds to
 * the copies it forwards of mail from outside (seal.h), made once. */
#define STATE_ARC_SUFFIX	".arc"
#define STATE_ARC_PREFIX	"ARC-Seal:"
/* SPOOL/state/ID.warned: the "delayed" DSN of the message was queued
 * (at the time the file holds), so that it is sent once. */
#define STATE_WARNED_SUFFIX	".warned"

enum {
	STATE_FORMAT_VERSION = 1,
	/* Deliveries of one message, after alias expansion: a list alias
	 * of some thousands of members fits, a runaway one does not. */
	STATE_ENTRIES_MAX = 10000,
	STATE_FIELD_MAX = 4096,		/* one field of a line, escaped */
	STATE_DSN_MAX = 15,
	STATE_REASON_MAX = 512,
	/* The signature fields of one message: one per key (KEYS_MAX in
	 * dkimsign), each some hundreds of bytes plus its h= list. */
	STATE_DKIM_MAX = 64 * 1024,
	/* One ARC set: a seal, an AMS and the results (dkimsign/arc.h). */
	STATE_ARC_MAX = 3 * 32 * 1024
};

enum state_kind {
	STATE_RCPT,		/* an envelope recipient, not resolved yet */
	STATE_MAILBOX,		/* these three as enum alias_kind */
	STATE_PIPE,
	STATE_REMOTE
};

enum state_status {
	STATE_PENDING,		/* to do, at next or later */
	STATE_SENT,		/* delivered: never again */
	STATE_FAILED		/* for good: goes into the DSN */
};

struct state_entry {
	enum state_status	status;
	enum state_kind		kind;
	unsigned		attempts;	/* failed attempts so far */
	time_t			next;		/* not before; 0: at once */
	time_t			last;		/* last attempt; 0: none */
	char			*orig;		/* the envelope recipient */
	char			*addr;		/* mailbox, alias or remote */
	char			*cmd;		/* STATE_PIPE: the command */
	char			dsn[STATE_DSN_MAX + 1];	/* last status */
	char			*reason;	/* last reason, "" if none */
	char			*where;		/* last remote host, or "" */
	int			running;	/* a delivery is under way */
};

/* Where the message stands with DKIM in this activation (dkim.c). */
enum state_sign {
	STATE_SIGN_UNKNOWN,	/* not looked at yet */
	STATE_SIGN_NONE,	/* not ours to sign, or no key */
	STATE_SIGN_DONE,	/* dkim holds its fields */
	STATE_SIGN_FAILED	/* dkimsign failed: sign_why says why */
};

/* Where the message stands with ARC in this activation (seal.c). */
enum state_seal {
	STATE_SEAL_UNKNOWN,	/* not looked at yet */
	STATE_SEAL_NONE,	/* not sealed: not to be, or could not be */
	STATE_SEAL_DONE		/* arc holds the set */
};

struct state {
	struct queue_envelope	env;
	int			fd;		/* SPOOL/new/ID, read-only */
	off_t			size;		/* message bytes */
	struct state_entry	*e;
	size_t			n, cap;
	int			dirty;		/* differs from the file */
	/* SPOOL/state/ID.dkim, or NULL: the DKIM-Signature fields, LF
	 * line ends, that every delivery puts first. */
	char			*dkim;
	size_t			dkimlen;
	enum state_sign		sign;
	char			*sign_why;	/* STATE_SIGN_FAILED */
	int			warned;		/* SPOOL/state/ID.warned exists */
	/* SPOOL/state/ID.arc, or NULL: the ARC set, LF line ends, that
	 * every forwarded copy puts first. */
	char			*arc;
	size_t			arclen;
	enum state_seal		seal;
};

/* Open SPOOL/new/ID and read its envelope, its state file (or make
 * one entry per recipient) and its signature file if there is one.  -1
 * with errno: ENOENT when the message is gone, EINVAL when any of the
 * files is damaged. */
int	state_load(struct state *, const char *spool, const char *id);
/* Write SPOOL/state/ID atomically, if dirty. */
int	state_save(struct state *, const char *spool);
/* Remove the message, then its signature and warning files, then its
 * state: once
 * the message is gone it is never delivered again, whatever happens to
 * the rest (queue-run sweeps what a crash leaves). */
int	state_remove(const char *spool, const char *id);
void	state_free(struct state *);

/* SPOOL/state/ID.dkim into buf; -1 ENAMETOOLONG. */
int	state_dkim_path(char *buf, size_t size, const char *spool,
	    const char *id);
/* 1 if len bytes at s are DKIM-Signature fields as a signature file
 * holds them: each starts a line with STATE_DKIM_PREFIX, the other lines
 * are folds, every line ends in LF, no NUL or CR; else 0. */
int	state_dkim_valid(const char *s, size_t len);
/* 1 if name is ID.dkim for a queue id, with the id in id[]; else 0. */
int	state_dkim_name(const char *name, char id[QUEUE_ID_LEN + 1]);
/* SPOOL/state/ID.arc into buf; -1 ENAMETOOLONG. */
int	state_arc_path(char *buf, size_t size, const char *spool,
	    const char *id);
/* 1 if len bytes at s are an ARC set as SPOOL/state/ID.arc holds it:
 * it starts with STATE_ARC_PREFIX, every line ends in LF, no NUL or
 * CR, at most STATE_ARC_MAX bytes; else 0. */
int	state_arc_valid(const char *s, size_t len);
/* The same for ID.arc and ID.warned. */
int	state_arc_name(const char *name, char id[QUEUE_ID_LEN + 1]);
int	state_warned_name(const char *name, char id[QUEUE_ID_LEN + 1]);
/* Write SPOOL/state/ID.warned atomically (its content: now) and set
 * st->warned: 0, or -1 with errno. */
int	state_set_warned(struct state *, const char *spool, time_t now);

/* Append an entry (strings copied); its index, or -1 (ENOMEM, or E2BIG
 * past STATE_ENTRIES_MAX).  An entry equal to one already there (same
 * kind, address and command) is not added again: its index is returned,
 * since two aliases that share a member deliver to it once. */
int	state_add(struct state *, enum state_kind, const char *orig,
	    const char *addr, const char *cmd);
/* The envelope recipient that led to e (its orig), by its index in
 * st->env.rcpts, for its DSN parameters (RFC 3461); -1 when none. */
long	state_rcpt_index(const struct state *, const struct state_entry *);
/* Replace e's reason, where and dsn; -1 ENOMEM. */
int	state_set_reason(struct state_entry *, const char *dsn,
	    const char *reason, const char *where);
/* Turn a resolved entry into an alias_target (user and domain split
 * from the address). */
void	state_target(const struct state_entry *, struct alias_target *);

/* The line format, shared with queue-run's delivery processes: a field
 * escaped onto f, followed by a tab (or, for the last, a newline); and a
 * line split into exactly n fields, unescaped in place (-1: not n, or a
 * bad escape). */
void	state_put_field(FILE *, const char *, int last);
int	state_split(char *line, char **fields, size_t n);

const char	*state_kind_name(enum state_kind);
const char	*state_status_name(enum state_status);

#endif
