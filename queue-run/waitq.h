/* waitq.h — the messages queue-run is not working on: a min-heap by the
 * time of their next attempt, and a hash set of every id it knows (waiting
 * or active), so that an inotify event, a rescan and a retry never make a
 * message known twice.  Memory is some 40 bytes a message. */
#ifndef POSTHORN_WAITQ_H
#define POSTHORN_WAITQ_H

#include <stddef.h>
#include <time.h>

#include "queue.h"

struct waitq_item {
	time_t	next;
	int	force;		/* flushed: every recipient is due */
	char	id[QUEUE_ID_LEN + 1];
};

struct waitq {
	struct waitq_item	*heap;
	size_t			 n, cap;
	char			(*set)[QUEUE_ID_LEN + 1];	/* "" free */
	unsigned char		*gone;	/* tombstones of the open hash */
	size_t			 nset, ngone, setcap;
};

void	waitq_init(struct waitq *);
void	waitq_free(struct waitq *);
/* Is id known (waiting or active)? */
int	waitq_known(const struct waitq *, const char *id);
/* Make id known; 1 if it was not, 0 if it was, -1 ENOMEM. */
int	waitq_learn(struct waitq *, const char *id);
void	waitq_forget(struct waitq *, const char *id);
/* Put a known id in the heap; -1 ENOMEM. */
int	waitq_push(struct waitq *, const char *id, time_t next);
/* The earliest item, or NULL when empty. */
const struct waitq_item *waitq_top(const struct waitq *);
void	waitq_pop(struct waitq *, struct waitq_item *);
/* Every waiting item becomes due now, forced ("mailq -f"). */
void	waitq_all_due(struct waitq *);

#endif
