/* sched.h — queue-run's scheduler: one long-running process that learns
 * of new messages from inotify on SPOOL/new, keeps the waiting ones in a
 * heap ordered by their next attempt, and runs each delivery under a
 * global and a per-destination limit: smtp-out and local commands as
 * processes, Maildir deliveries in its own process.  See queue-run(8)
 * for what a person sees and posthorn-queue(5) for the files. */
#ifndef POSTHORN_SCHED_H
#define POSTHORN_SCHED_H

#include <time.h>

#include "confwatch.h"

#define SCHED_LOCK	"lock"		/* SPOOL/lock: one queue-run */
#define SCHED_TRIGGER	"trigger"	/* SPOOL/trigger: mailq's FIFO */
#define SCHED_CMD_FLUSH	"flush"		/* FIFO line: retry everything */
#define SCHED_CMD_DELETE "delete"	/* FIFO line: "delete ID" */

enum {
	/* Retries: 5 minutes after the first failure, doubling up to an
	 * hour apart (Postfix's minimal and maximal backoff times). */
	SCHED_RETRY_MIN = 5 * 60,
	SCHED_RETRY_MAX = 60 * 60,
	/* Leftovers of a crash in SPOOL/tmp are removed after 36 hours, as
	 * qmail and Maildir readers do: no writer takes that long. */
	SCHED_TMP_MAX_AGE = 36 * 3600,
	SCHED_SWEEP_INTERVAL = 3600,	/* tmp/ sweep and full rescan */
	/* On SIGTERM, running deliveries get this long to finish before
	 * they are killed (and retried at the next start). */
	SCHED_STOP_GRACE = 10,
	/* smtp-out, killed at its deadline, gets this long to be reaped
	 * before it is killed again. */
	SCHED_REMOTE_GRACE = 60,
	/* A message whose due deliveries all wait for their destinations'
	 * slots while the active set is full goes back to wait this long,
	 * so that mail for other destinations is not held behind it. */
	SCHED_BLOCKED_DELAY = 2,
	SCHED_TRIGGER_LINE_MAX = 64
};

enum sched_exit {
	SCHED_EXIT_OK = 0,		/* stopped by a signal */
	SCHED_EXIT_SOFTWARE = 70,	/* EX_SOFTWARE: setting up failed */
	SCHED_EXIT_BUSY = 75		/* EX_TEMPFAIL: another queue-run */
};

/* The delay before attempt attempts+1, after attempts failures (>= 1). */
time_t		sched_backoff(unsigned attempts);
/* Run until SIGTERM or SIGINT, keeping cw's configuration current
 * (confwatch.h; SIGHUP reads it whatever its stat says).  why receives
 * the reason of a failure. */
enum sched_exit	sched_run(struct confwatch *cw, char *why, size_t whysize);

#endif
