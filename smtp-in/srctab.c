/* srctab.c — per-source session counts and connection rates for
 * smtp-listen: an open-addressing table (linear probing, deletion by
 * backward shift, so no tombstones pile up under churn) of fixed size.
 * An entry lives while its source has sessions or its bucket is still
 * refilling; a sweep drops the others when the table is half full. */

#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "srctab.h"

enum {
	MILLI = 1000,			/* tokens per connection */
	MASK = SRCTAB_SLOTS - 1,
	HALF = SRCTAB_SLOTS / 2
};

_Static_assert((SRCTAB_SLOTS & (SRCTAB_SLOTS - 1)) == 0,
    "SRCTAB_SLOTS is a power of two");

static void
key4(const struct in_addr *a, struct srckey *k)
{
	memset(k, 0, sizeof(*k));
	k->b[10] = k->b[11] = 0xff;
	memcpy(&k->b[12], a, 4);
}

static void
key6(const struct in6_addr *a, struct srckey *k)
{
	memcpy(k->b, a, sizeof(k->b));
	if (!IN6_IS_ADDR_V4MAPPED(a))
		memset(&k->b[8], 0, 8);		/* the /64 */
}

int
srctab_key(const struct sockaddr *sa, struct srckey *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		key4(&((const struct sockaddr_in *)sa)->sin_addr, k);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		key6(&((const struct sockaddr_in6 *)sa)->sin6_addr, k);
		return 0;
	}
	return -1;
}

/* Straight from the address bytes: a sockaddr_in built here and read
 * as a struct sockaddr is the aliasing the compiler may drop stores
 * across. */
int
srctab_key_text(const char *text, struct srckey *k)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		key4(&a4, k);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		key6(&a6, k);
		return 0;
	}
	memset(k, 0, sizeof(*k));
	return -1;
}

uint64_t
srctab_hash(uint64_t seed, const struct srckey *k)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < sizeof(k->b); i++) {
		h ^= k->b[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

void
srctab_init(struct srctab *t, unsigned max_sessions, unsigned rate,
    uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
	t->max_sessions = max_sessions;
	t->rate = rate;
}

static size_t
hash(const struct srctab *t, const struct srckey *k)
{
	return (size_t)srctab_hash(t->seed, k) & MASK;
}

static void
refill(const struct srctab *t, struct srcent *e, int64_t now)
{
	int64_t cap = (int64_t)t->rate * MILLI;

	if (now > e->stamp) {
		/* rate a second is rate thousandths a millisecond */
		e->tokens += (now - e->stamp) * (int64_t)t->rate;
		if (e->tokens > cap)
			e->tokens = cap;
	}
	e->stamp = now;
}

static int
idle(const struct srctab *t, struct srcent *e, int64_t now)
{
	refill(t, e, now);
	return e->sessions == 0 && e->tokens >= (int64_t)t->rate * MILLI;
}

/* Empty slot i and pull back the entries of its probe run behind it. */
static void
delete(struct srctab *t, size_t i)
{
	size_t j = i, home;

	for (;;) {
		j = (j + 1) & MASK;
		if (!t->slot[j].used)
			break;
		home = hash(t, &t->slot[j].key);
		/* j's entry may move to i unless its home lies cyclically
		 * in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->slot[i] = t->slot[j];
		i = j;
	}
	memset(&t->slot[i], 0, sizeof(t->slot[i]));
	t->used--;
}

static void
sweep(struct srctab *t, int64_t now)
{
	size_t i = 0;

	while (i < SRCTAB_SLOTS) {
		if (t->slot[i].used && idle(t, &t->slot[i], now))
			delete(t, i);	/* slot i may hold another now */
		else
			i++;
	}
}

/* The slot of k, or the empty slot where it would go. */
static size_t
find(const struct srctab *t, const struct srckey *k)
{
	size_t i = hash(t, k);

	while (t->slot[i].used && memcmp(&t->slot[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & MASK;
	return i;
}

enum srctab_verdict
srctab_begin(struct srctab *t, const struct srckey *k, int64_t now)
{
	struct srcent *e;
	size_t i;

	if (t->max_sessions == 0 && t->rate == 0)
		return SRCTAB_UNTRACKED;
	i = find(t, k);
	if (!t->slot[i].used) {
		if (t->used >= HALF) {
			sweep(t, now);
			if (t->used >= HALF)
				return SRCTAB_UNTRACKED;
			i = find(t, k);
		}
		e = &t->slot[i];
		e->key = *k;
		e->tokens = (int64_t)t->rate * MILLI;
		e->stamp = now;
		e->used = 1;
		t->used++;
	}
	e = &t->slot[i];
	refill(t, e, now);
	if (t->rate != 0) {
		if (e->tokens < MILLI)
			return SRCTAB_TOO_FAST;
		e->tokens -= MILLI;
	}
	if (t->max_sessions != 0 && e->sessions >= t->max_sessions)
		return SRCTAB_TOO_MANY;
	e->sessions++;
	return SRCTAB_OK;
}

void
srctab_end(struct srctab *t, const struct srckey *k, int64_t now)
{
	size_t i = find(t, k);

	if (!t->slot[i].used)
		return;
	if (t->slot[i].sessions > 0)
		t->slot[i].sessions--;
	if (idle(t, &t->slot[i], now))
		delete(t, i);
}
