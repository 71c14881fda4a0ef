/* bounce.h — delivery status notifications (RFC 3464).  When recipients of
 * a message fail for good, or the message outlives queue_lifetime, one DSN
 * goes back to its envelope sender, from the null sender, as a new message
 * in the queue; so does, once, a warning that a message is delayed, and
 * a report of success to a recipient that asked for one (RFC 3461).  A DSN is never sent to the null sender: when one of our
 * own bounces fails, the postmaster gets it once (a double bounce), and
 * when that fails too it is dropped with a log line. */
#ifndef POSTHORN_BOUNCE_H
#define POSTHORN_BOUNCE_H

#include <time.h>

#include "conf.h"
#include "queue.h"

#define BOUNCE_VIA		"bounce"	/* queue "via" of a DSN */
#define BOUNCE_VIA_DOUBLE	"double-bounce"	/* ... to the postmaster */

enum {
	/* Header bytes of the original message quoted in the DSN; more is
	 * cut at a line boundary (RFC 3462's text/rfc822-headers). */
	BOUNCE_HEADERS_MAX = 64 * 1024,
	/* RET=FULL (RFC 3461 §4.3): a failure DSN returns the whole
	 * message up to this size, its headers alone beyond it (or when a
	 * line of it is longer than SMTP carries).  Postfix returns 50 KB
	 * (bounce_size_limit); a sender who asked for the message gets
	 * more of it here. */
	BOUNCE_FULL_MAX = 1024 * 1024
};

/* What a DSN reports (RFC 3464 §2.3.3 Action). */
enum bounce_kind {
	BOUNCE_FAILURE,		/* "failed": given up on */
	BOUNCE_DELAY,		/* "delayed": still being retried */
	BOUNCE_SUCCESS		/* "delivered", or "relayed" */
};

/* One failed recipient. */
struct bounce_rcpt {
	const char	*orig;		/* as RCPT TO gave it */
	const char	*final;		/* where delivery was tried */
	const char	*status;	/* RFC 3463, "5.1.1" or "4.4.7" */
	const char	*diag_type;	/* "smtp", or "x-posthorn" */
	const char	*diag;		/* the reason, or the remote reply */
	const char	*remote_mta;	/* the remote host, or NULL */
	time_t		 last_attempt;
	/* RFC 3461: the recipient's ORCPT= ("rfc822;addr", decoded), or
	 * NULL; it becomes Original-Recipient. */
	const char	*orcpt;
	/* BOUNCE_SUCCESS: handed to another host, which may not report
	 * further (Action: relayed, not delivered). */
	int		 relayed;
};

enum bounce_outcome {
	BOUNCE_QUEUED,		/* the DSN is committed to the queue */
	BOUNCE_DROPPED,		/* nobody to send it to: logged by caller */
	BOUNCE_ERROR		/* -1: errno; nothing committed, retry */
};

/* Make the DSN for the message whose envelope is env and whose queue file
 * is fd (read with pread), for the n recipients in r, and commit it to
 * the queue.  Its id goes into newid.  To env's sender; to
 * postmaster@HOSTNAME when env is a DSN of ours (via BOUNCE_VIA); dropped
 * when the sender is null otherwise. */
enum bounce_outcome bounce_send(const struct conf *, int fd,
		    const struct queue_envelope *, const struct bounce_rcpt *r,
		    size_t n, char newid[QUEUE_ID_LEN + 1]);
/* The same for any kind: a failure as bounce_send, a delay warning or a
 * success report (never to the postmaster: dropped for a null sender).
 * ENVID comes back as Original-Envelope-Id; RET=FULL returns the whole
 * message in a failure report (BOUNCE_FULL_MAX); until: when a delay
 * report's recipients will be given up (Will-Retry-Until), 0 for none. */
enum bounce_outcome bounce_notify(const struct conf *, int fd,
		    const struct queue_envelope *, enum bounce_kind,
		    const struct bounce_rcpt *r, size_t n, time_t until,
		    char newid[QUEUE_ID_LEN + 1]);

#endif
