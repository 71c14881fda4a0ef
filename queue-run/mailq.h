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
enum {
	/* A program's counters file, and the text of them all: far
	 * above what METRICS_MAX series make. */
	MAILQ_METRICS_FILE_MAX = 256 * 1024
};

int		  mailq_list(const struct conf *, FILE *out, time_t now);
enum mailq_result mailq_flush(const struct conf *);
/* The queue's size and age and the counters the programs wrote under
 * SPOOL/metrics, merged, in the Prometheus text format (metrics.h): 0,
 * or -1 with errno. */
int		  mailq_metrics(const struct conf *, FILE *out, time_t now);
enum mailq_result mailq_delete(const struct conf *, const char *id);

#endif
