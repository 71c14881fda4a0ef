/* srctab.h — what smtp-listen knows of each source: how many of its
 * sessions run now and how many new connections it may still open this
 * second (a token bucket).  A source is an IPv4 address or an IPv6 /64:
 * one host gets a whole /64, so counting single IPv6 addresses would let
 * it walk around every limit.  The table is bounded; time is passed in,
 * so that the tests need no clock. */
#ifndef POSTHORN_SRCTAB_H
#define POSTHORN_SRCTAB_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

enum {
	/* Slots of the table; the slots in use are at most half of it,
	 * so a probe stays short.  Sources with sessions are at most
	 * smtp-listen's -c; the rest are sources whose bucket is still
	 * refilling (a second at most), dropped as soon as it is full. */
	SRCTAB_SLOTS = 8192,
	SRCTAB_KEY = 16		/* an IPv6 address, IPv4 mapped into it */
};

struct srckey {
	unsigned char	b[SRCTAB_KEY];
};

struct srcent {
	struct srckey	key;
	unsigned	sessions;
	int64_t		tokens;		/* thousandths of a connection */
	int64_t		stamp;		/* ms of the last refill */
	int		used;
};

struct srctab {
	uint64_t	seed;		/* of the hash: sources are chosen by
					 * the peers, collisions must not be */
	unsigned	max_sessions;	/* per source at once; 0: none */
	unsigned	rate;		/* new connections a second; 0: none */
	size_t		used;
	struct srcent	slot[SRCTAB_SLOTS];
};

enum srctab_verdict {
	SRCTAB_OK,
	SRCTAB_TOO_MANY,	/* sessions at once */
	SRCTAB_TOO_FAST,	/* new connections a second */
	SRCTAB_UNTRACKED	/* table full: allowed, but not counted */
};

/* Key of an address: IPv4 (or IPv4-mapped IPv6) as ::ffff:a.b.c.d, IPv6
 * cut to its /64.  -1 for another family. */
int	srctab_key(const struct sockaddr *, struct srckey *);
/* Key of an address as text (inet_pton's IPv4 or IPv6 forms): 0, or -1
 * when it is no address. */
int	srctab_key_text(const char *, struct srckey *);
/* Hash of a key under seed (FNV-1a, folded): sources are chosen by the
 * peers, a table's seed keeps its collisions from being chosen too. */
uint64_t srctab_hash(uint64_t seed, const struct srckey *);
void	srctab_init(struct srctab *, unsigned max_sessions, unsigned rate,
	    uint64_t seed);
/* A new connection from key at now (ms): may it start a session?  On
 * SRCTAB_OK its session is counted until srctab_end. */
enum srctab_verdict srctab_begin(struct srctab *, const struct srckey *,
	    int64_t now);
/* A session of key's counted by srctab_begin has ended. */
void	srctab_end(struct srctab *, const struct srckey *, int64_t now);

#endif
