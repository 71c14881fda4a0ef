/* mailq.h — the queue tools of mailq(8): a listing of every queued
 * message with the state of each of its deliveries, "retry everything
 * now", and "remove this message".  The last two are requests to the
 * running queue-run (a line on its trigger FIFO), because only it knows
 * what is in flight; when none runs, mailq removes a message itself,
 * holding queue-run's lock so that none starts meanwhile. */
#ifndef POSTHORN_MAILQ_H
#define POSTHORN_MAILQ_H

#include <stdio.h>
#include <time.h>

#include "conf.h"

enum mailq_result {
	MAILQ_OK,
	MAILQ_NOTFOUND,		/* no such message */
	MAILQ_NOTRUNNING,	/* queue-run is not running */
	MAILQ_ERROR		/* errno */
};

/* Every message, oldest first, onto out; the number listed, or -1. */
int		  mailq_list(const struct conf *, FILE *out, time_t now);
enum mailq_result mailq_flush(const struct conf *);
enum mailq_result mailq_delete(const struct conf *, const char *id);

#endif
