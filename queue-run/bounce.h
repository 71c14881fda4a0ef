/* bounce.h — delivery status notifications (RFC 3464).  When recipients of
 * a message fail for good, or the message outlives queue_lifetime, one DSN
 * goes back to its envelope sender, from the null sender, as a new message
 * in the queue.  A DSN is never sent to the null sender: when one of our
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
	BOUNCE_HEADERS_MAX = 64 * 1024
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

#endif
