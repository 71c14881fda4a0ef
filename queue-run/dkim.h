/* dkim.h — DKIM signing on the way out.  queue-run signs a message once,
 * before its first delivery: it decides whether the message is ours to
 * sign and for which domain, signs the queue file in its own process
 * exactly as dkimsign -h would (dkimsign's filter_fields), and
 * keeps the DKIM-Signature fields in SPOOL/state/ID.dkim (state.h), which
 * every delivery then puts in front of the message.  However many
 * recipients, retries and restarts, the message is signed once and the
 * queue file stays as it was committed.  See queue-run(8), "DKIM
 * signing".  (Not "sign.h": dkimsign/ has one, and the unit tests see
 * every module's headers.) */
#ifndef POSTHORN_QR_DKIM_H
#define POSTHORN_QR_DKIM_H

#include <stddef.h>

#include "conf.h"
#include "state.h"
#include "waitq.h"

#define DKIM_DSN	"4.3.0"		/* a deferral for want of a signature */

enum {
	/* The header looked at for From:, dkimsign's own bound. */
	DKIM_HEADER_MAX = 256 * 1024,
	/* The reason of a failure, cut. */
	DKIM_WHY_MAX = STATE_REASON_MAX
};

/* Whether st's message is ours to sign, and for which domain: 1 with
 * the domain in domain[size], 0 when it is not signed, -1 when that
 * cannot be told (a key directory or a file of lib/sendas.h that cannot
 * be read), the reason in why.
 *   - auth in the envelope (SMTP AUTH) or via "local" (sendmail): the
 *     domain of the first From: address, if DIR/domains/DOMAIN/dkim/
 *     holds a key and the sender may send as that address
 *     (lib/sendas.h): the login owns it, or its domain's any_sender
 *     let it through and the address is of that domain; the local user
 *     is root, the posthorn user (queue-run's own uid) or given the
 *     address in DIR/senders.  When such a message is not signed, why
 *     says why (queue-run logs it as event=unsigned);
 *     when that domain is the hostname (cron's mail, "sendmail root"),
 *     the domain a DSN would be signed as (below), for the same senders;
 *   - via "bounce" or "double-bounce" (our DSNs): the hostname if it has
 *     a key, else its parent domain if that has one;
 *   - anything else: 0, why empty. */
int	dkim_needed(const struct conf *, const struct state *, char *domain,
	    size_t size, char *why, size_t whysize);
/* Sign the message as "dkimsign -C DIR -h -d domain" would, with the
 * keys of keycache.h (at most STATE_DKIM_MAX bytes of fields), write
 * the fields to SPOOL/state/ID.dkim atomically and into st->dkim.  0,
 * or -1 with a one-line reason in why. */
int	dkim_run(const struct conf *, struct state *, const char *domain,
	    char *why, size_t size);
/* The step before a delivery of st starts: 0 when it may go (signed
 * now or before, or not to be signed), -1 with why when it must wait
 * (a temporary failure: never send unsigned what should be signed).
 * The outcome is kept in st->sign, so that the rest of this activation
 * costs nothing and a failure is tried once per activation. */
int	dkim_prepare(const struct conf *, struct state *, char *why,
	    size_t size);
/* For the sweep of SPOOL/state: 1 if name is the signature file (or
 * the delay warning's mark, state.h) of a message that q knows (never
 * to be swept), else 0. */
int	dkim_sidecar_known(const struct waitq *, const char *name);

#endif
