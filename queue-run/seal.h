/* seal.h — ARC sealing of forwarded mail (RFC 8617): queue-run adds an
 * ARC set to a message from outside that an alias of a local domain
 * forwards to another domain, signed with a DKIM key of that domain
 * (keycache.h), so that a receiver that trusts us as a forwarder can
 * take the SPF and DKIM results we saw (in the envelope's authres,
 * posthorn-queue(5)) for what SPF can no longer vouch for after
 * forwarding.  The set is made once, kept in SPOOL/state/ID.arc
 * (state.h), and put in front of every forwarded copy, as the DKIM
 * fields are for our own mail.  See queue-run(8), "ARC sealing". */
#ifndef POSTHORN_QR_SEAL_H
#define POSTHORN_QR_SEAL_H

#include <stddef.h>

#include "conf.h"
#include "state.h"
#include "verify.h"

enum {
	/* DNS for the keys of the sets a message already carries: a try
	 * of this many seconds, this many tries per server.  queue-run
	 * waits for them, so they are short; a key not found for now
	 * leaves the message unsealed, never held. */
	SEAL_DNS_TIMEOUT = 2,
	SEAL_DNS_ATTEMPTS = 2,
	/* ms: all of a chain's key lookups (up to 51: the newest AMS and
	 * 50 seals), after which the rest are temperror and the message
	 * goes unsealed, so that a chain of slow keys does not hold
	 * queue-run for 51 tries (arc_budget_start). */
	SEAL_DNS_BUDGET = 6000
};

/* 1 if entry e of st is a copy that forwarding sends away: a remote
 * address reached through an alias of a local domain, of a message
 * from outside (no AUTH, not injected locally, not a DSN of ours);
 * else 0. */
int	seal_forwarded(const struct conf *, const struct state *,
	    const struct state_entry *);
/* Before the first forwarded copy of st leaves: make its ARC set when
 * it is to be sealed (arc_seal = yes, e forwarded, a key for the domain
 * of e's local recipient) and not yet made, as SPOOL/state/ID.arc and
 * st->arc.  Never holds a message: a set that cannot be made (a failed
 * or broken chain, a key lookup that fails for now, an error) is logged
 * as event=unsealed and the copies go without one.  The outcome is kept
 * in st->seal for the rest of the activation. */
void	seal_prepare(const struct conf *, struct state *,
	    const struct state_entry *e);
/* Make the ARC set of the message in fd (from its offset on) into
 * out[size]: domain's key k, results authres (NULL: none), the keys of
 * the sets already there asked of txt(arg, ...) (NULL: the DNS, with
 * the waits above), all within SEAL_DNS_BUDGET.  0 with *len, 1 when
 * it is not to be sealed (the reason in why), -1 with why on an
 * error.  Shared by seal_prepare and bench/qsignbench. */
struct keys_key;
int	seal_make(const struct conf *, int fd, const char *domain,
	    const struct keys_key *k, const char *authres, verify_txt_fn *txt,
	    void *arg, char *out, size_t size, size_t *len, char *why,
	    size_t whysize);

#endif
