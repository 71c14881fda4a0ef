/* waitq.c — a binary min-heap of (next attempt, id) and an open-addressing
 * hash set of ids.  Queue ids are unique by construction, so the set's
 * hash is a plain FNV-1a of the 16 characters. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "waitq.h"

enum { WAITQ_SET_MIN = 64 };	/* slots; a power of two */

void
waitq_init(struct waitq *q)
{
	memset(q, 0, sizeof(*q));
}

void
waitq_free(struct waitq *q)
{
	free(q->heap);
	free(q->set);
	free(q->gone);
	waitq_init(q);
}

static size_t
hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

/* The slot of id, or of the first free one where it would go. */
static size_t
slot(const struct waitq *q, const char *id, int *found)
{
	size_t mask = q->setcap - 1, i = hash(id) & mask, first = SIZE_MAX;

	for (;; i = (i + 1) & mask) {
		if (q->set[i][0] == '\0') {
			*found = 0;
			if (!q->gone[i])
				return first != SIZE_MAX ? first : i;
			if (first == SIZE_MAX)
				first = i;
		} else if (strcmp(q->set[i], id) == 0) {
			*found = 1;
			return i;
		}
	}
}

int
waitq_known(const struct waitq *q, const char *id)
{
	int found;

	if (q->setcap == 0)
		return 0;
	(void)slot(q, id, &found);
	return found;
}

/* A new table for the live ids, without tombstones: twice as large when
 * they fill a quarter of it, else the same size. */
static int
rehash(struct waitq *q)
{
	struct waitq old = *q;
	size_t i, cap = q->setcap == 0 ? WAITQ_SET_MIN : q->setcap;
	int found;

	while ((q->nset + 1) * 4 > cap)
		cap *= 2;

	if ((q->set = calloc(cap, sizeof(*q->set))) == NULL ||
	    (q->gone = calloc(cap, 1)) == NULL) {
		free(q->set);
		q->set = old.set;
		q->gone = old.gone;
		errno = ENOMEM;
		return -1;
	}
	q->setcap = cap;
	q->ngone = 0;
	for (i = 0; i < old.setcap; i++)
		if (old.set[i][0] != '\0')
			memcpy(q->set[slot(q, old.set[i], &found)],
			    old.set[i], sizeof(old.set[i]));
	free(old.set);
	free(old.gone);
	return 0;
}

int
waitq_learn(struct waitq *q, const char *id)
{
	size_t i;
	int found;

	/* Live ids and tombstones below half the slots: probes stay short,
	 * and a probe always meets a free slot, so it ends. */
	if ((q->nset + q->ngone + 1) * 2 > q->setcap && rehash(q) == -1)
		return -1;
	i = slot(q, id, &found);
	if (found)
		return 0;
	memcpy(q->set[i], id, QUEUE_ID_LEN + 1);
	if (q->gone[i]) {
		q->gone[i] = 0;
		q->ngone--;
	}
	q->nset++;
	return 1;
}

void
waitq_forget(struct waitq *q, const char *id)
{
	size_t i;
	int found;

	if (q->setcap == 0)
		return;
	i = slot(q, id, &found);
	if (!found)
		return;
	q->set[i][0] = '\0';
	q->gone[i] = 1;
	q->ngone++;
	q->nset--;
}

static void
swap(struct waitq_item *a, struct waitq_item *b)
{
	struct waitq_item t = *a;

	*a = *b;
	*b = t;
}

int
waitq_push(struct waitq *q, const char *id, time_t next)
{
	struct waitq_item *h;
	size_t i, cap;

	if (q->n == q->cap) {
		cap = q->cap == 0 ? 64 : q->cap * 2;
		if ((h = reallocarray(q->heap, cap, sizeof(*h))) == NULL)
			return -1;
		q->heap = h;
		q->cap = cap;
	}
	i = q->n++;
	q->heap[i].next = next;
	q->heap[i].force = 0;
	memcpy(q->heap[i].id, id, QUEUE_ID_LEN + 1);
	for (; i > 0 && q->heap[(i - 1) / 2].next > q->heap[i].next;
	    i = (i - 1) / 2)
		swap(&q->heap[i], &q->heap[(i - 1) / 2]);
	return 0;
}

const struct waitq_item *
waitq_top(const struct waitq *q)
{
	return q->n == 0 ? NULL : &q->heap[0];
}

void
waitq_pop(struct waitq *q, struct waitq_item *out)
{
	size_t i = 0, c;

	*out = q->heap[0];
	q->heap[0] = q->heap[--q->n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && q->heap[c + 1].next < q->heap[c].next)
			c++;
		if (q->heap[i].next <= q->heap[c].next)
			break;
		swap(&q->heap[i], &q->heap[c]);
		i = c;
	}
}

void
waitq_all_due(struct waitq *q)
{
	size_t i;

	/* All equal keys make a valid heap. */
	for (i = 0; i < q->n; i++) {
		q->heap[i].next = 0;
		q->heap[i].force = 1;
	}
}
