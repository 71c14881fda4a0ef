/* job.h — queue-run's delivery processes: one child per delivery, which
 * delivers one entry of a message and reports what came of it in one
 * line on a pipe, then exits.  sched.c decides what to start and what a
 * report does to the entry; this is the process and its report. */
#ifndef POSTHORN_JOB_H
#define POSTHORN_JOB_H

#include <sys/types.h>
#include <time.h>

#include "addr.h"
#include "conf.h"
#include "deliver.h"
#include "sched.h"
#include "state.h"

struct active;			/* sched.c's: the message a job is for */

struct job {
	pid_t		 pid;		/* 0: free slot */
	int		 fd;		/* the report pipe */
	struct active	*msg;
	size_t		 entry;
	char		 dest[ADDR_TEXT_MAX + 16];
	time_t		 deadline;
	size_t		 len;
	char		 buf[SCHED_RESULT_MAX];
};

/* A report, parsed: the strings point into the job's buffer. */
struct job_report {
	enum deliver_status	 status;
	const char		*dsn, *where, *reason;
};

/* The first thing the child does: close what of its parent it must not
 * hold (the lock above all, and the other jobs' pipes). */
typedef void	job_child_init(void *);

/* The free slot of jobs[0..n), or NULL. */
struct job	*job_free(struct job *jobs, size_t n);
/* Fork the delivery of entry i of st, a message of msg, into the free
 * slot j, its deadline command_timeout plus SCHED_JOB_GRACE from now.
 * The child calls init(arg) first.  0, or -1 with errno. */
int	job_start(struct job *j, const struct conf *, struct active *msg,
	    const struct state *st, size_t i, const char *dest, time_t now,
	    job_child_init *init, void *arg);
/* Read what the pipe holds: 0 while more may come, 1 once it is at its
 * end (or the buffer full), when job_end is due. */
int	job_read(struct job *);
/* Close the pipe and reap the process; the slot's pid stays for the
 * caller to clear. */
void	job_end(struct job *);
/* The process's report: 0, or -1 when it ended without one. */
int	job_parse(struct job *, struct job_report *);

#endif
