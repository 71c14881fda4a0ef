/* deliver.h — what a local delivery is made of, shared by the modules
 * that do one and the one that drives them: the message as a target gets
 * it (struct deliver_msg, read through deliver_src), and the result
 * (struct deliver_result).  local.h drives a delivery to one target;
 * maildir.h and command.h write it to a Maildir or a command.  It calls
 * none of them, so every include runs one way: local, maildir, command
 * -> deliver. */
#ifndef POSTHORN_DELIVER_H
#define POSTHORN_DELIVER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "conf.h"

#define DELIVER_MDA_FILE	"mda"	/* domains/DOMAIN/mda: one line */

enum {
	DELIVER_COPY_BUFSZ = 64 * 1024,	/* bytes per read and write */
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

/* A result not set yet: a temporary failure without a reason. */
void	deliver_result_init(struct deliver_result *);

/* A blank of a header fold or a command line. */
static inline int
deliver_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

#endif
