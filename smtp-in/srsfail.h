/* srsfail.h — failed SRS recipients counted per source in smtp-keeper,
 * across sessions: the per-session limit (3, then 421) alone lets a
 * client guess a forged SRS hash at one connection per three guesses.
 * A source is an IPv4 address or an IPv6 /64 (srctab.h).  Once a source
 * counts SRSFAIL_MAX failures, its SRS recipients are refused without a
 * check until it has waited; one failure is forgotten every
 * SRSFAIL_FORGET seconds after its last, so that a source at the limit
 * gets one guess a minute.  The table is the keeper's
 * memory, bounded, and starts empty with each keeper; time is passed
 * in, so that the tests need no clock. */
#ifndef POSTHORN_SRSFAIL_H
#define POSTHORN_SRSFAIL_H

#include <stdint.h>

#include "srctab.h"

enum {
	/* Failures on record that refuse a source: a forwarder's genuine
	 * bounces never fail, a guesser needs ~2^20 guesses per forgery. */
	SRSFAIL_MAX = 30,
	SRSFAIL_FORGET = 60,	/* s: one failure forgotten per minute */
	/* Entries (40 bytes each: 160 KiB), and the slots probed for one:
	 * when all are taken, the entry nearest to forgotten is replaced,
	 * so a flood of sources costs memory never, a limit at worst. */
	SRSFAIL_SLOTS = 4096,
	SRSFAIL_PROBE = 8
};

struct srsfail_ent {
	struct srckey	key;
	uint32_t	count;		/* failures, as of last */
	int64_t		last;		/* s: the last failure */
};

struct srsfail {
	uint64_t		seed;	/* of the hash (srctab_hash) */
	struct srsfail_ent	slot[SRSFAIL_SLOTS];
};

void	srsfail_init(struct srsfail *, uint64_t seed);
/* Has source (an address as text) failed SRSFAIL_MAX times, as of now
 * (s)?  Text that is no address (an unknown peer) is never counted. */
int	srsfail_over(const struct srsfail *, const char *source, int64_t now);
/* Count a failure of source at now. */
void	srsfail_count(struct srsfail *, const char *source, int64_t now);
/* Failures on record for source at now. */
uint32_t srsfail_failures(const struct srsfail *, const char *source,
	    int64_t now);

#endif
