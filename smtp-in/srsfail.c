/* srsfail.c — failed SRS recipients per source (srsfail.h says what and
 * why): a fixed table probed from the key's hash, as authlimit.c's file
 * is, but in memory: the keeper is resident, and forgetting every count
 * when it restarts costs an attacker no more than a minute's decay. */

#include <string.h>

#include "srsfail.h"

/* Failures an entry still counts at now. */
static uint32_t
current(const struct srsfail_ent *e, int64_t now)
{
	int64_t forgotten;

	if (e->count == 0)
		return 0;
	forgotten = now > e->last ? (now - e->last) / SRSFAIL_FORGET : 0;
	return forgotten >= (int64_t)e->count ? 0 :
	    e->count - (uint32_t)forgotten;
}

/* The slot of k's entry (*found 1), or where a new one goes: the first
 * slot of the probe that counts nothing, else the one that counts
 * least. */
static size_t
find(const struct srsfail *t, const struct srckey *k, int64_t now,
    int *found)
{
	size_t start = (size_t)(srctab_hash(t->seed, k) % SRSFAIL_SLOTS);
	size_t i, slot, at = start;
	uint32_t least = UINT32_MAX, n;

	*found = 0;
	for (i = 0; i < SRSFAIL_PROBE; i++) {
		slot = (start + i) % SRSFAIL_SLOTS;
		n = current(&t->slot[slot], now);
		if (n > 0 && memcmp(&t->slot[slot].key, k, sizeof(*k)) == 0) {
			*found = 1;
			return slot;
		}
		if (n < least) {
			least = n;
			at = slot;
		}
	}
	return at;
}

void
srsfail_init(struct srsfail *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
}

uint32_t
srsfail_failures(const struct srsfail *t, const char *source, int64_t now)
{
	struct srckey k;
	size_t at;
	int found;

	if (srctab_key_text(source, &k) == -1)
		return 0;
	at = find(t, &k, now, &found);
	return found ? current(&t->slot[at], now) : 0;
}

int
srsfail_over(const struct srsfail *t, const char *source, int64_t now)
{
	return srsfail_failures(t, source, now) >= SRSFAIL_MAX;
}

void
srsfail_count(struct srsfail *t, const char *source, int64_t now)
{
	struct srsfail_ent *e;
	struct srckey k;
	uint32_t n;
	size_t at;
	int found;

	if (srctab_key_text(source, &k) == -1)
		return;
	at = find(t, &k, now, &found);
	e = &t->slot[at];
	n = found ? current(e, now) : 0;
	e->key = k;
	e->count = n + 1;
	e->last = now;
}
