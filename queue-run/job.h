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

#define JOB_SMTP_OUT	"smtp-out"	/* beside queue-run */

enum {
	/* Recipients of one remote job, one SMTP transaction: RFC 5321
	 * §4.5.3.1.8's minimum that every server takes. */
	JOB_RCPTS_MAX = 100,
	/* smtp-out tries every address of every MX with RFC 5321's
	 * timeouts; an hour bounds a process that hangs all the same. */
	JOB_REMOTE_TIME = 3600,
	/* smtp-out's report: a line per recipient, each at most an
	 * address, a host, the TLS and a reply, some 2 KB; room for all. */
	JOB_LINE_MAX = 4096,
	JOB_REMOTE_RESULT_MAX = JOB_RCPTS_MAX * JOB_LINE_MAX
};

struct job {
	pid_t		 pid;		/* 0: free slot */
	int		 fd;		/* the report pipe */
	struct active	*msg;
	int		 remote;	/* smtp-out, for entries[0..n) */
	size_t		 entries[JOB_RCPTS_MAX];
	size_t		 n;
	char		 dest[ADDR_TEXT_MAX + 16];
	time_t		 deadline;
	size_t		 len, cap;
	char		*buf;		/* the report, job_release frees it */
};

/* A report, parsed: the strings point into the job's buffer.  A remote
 * job has one per recipient, with the host and TLS apart. */
struct job_report {
	int			 valid;		/* a line was there */
	enum deliver_status	 status;
	const char		*dsn, *where, *reason;
	const char		*tls;		/* remote: "none" or v/cipher/... */
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
/* Fork smtp-out for entries idx[0..n) of st (all remote, one domain),
 * from sender, the message on its standard input and its standard
 * output on the report pipe. */
int	job_start_remote(struct job *j, const struct conf *,
	    struct active *msg, const struct state *st, const size_t *idx,
	    size_t n, const char *sender, const char *dest, time_t now,
	    job_child_init *init, void *arg);
/* Read what the pipe holds: 0 while more may come, 1 once it is at its
 * end (or the buffer full), when job_end is due. */
int	job_read(struct job *);
/* Close the pipe and reap the process; the slot's pid stays for the
 * caller to clear. */
void	job_end(struct job *);
/* Free the report, once it is applied. */
void	job_release(struct job *);
/* The process's report: 0, or -1 when it ended without one. */
int	job_parse(struct job *, struct job_report *);
/* smtp-out's lines, one per recipient in order (smtp-out(8)): reps[k]
 * for entries[k]; valid is 0 where a line is missing or does not name
 * that recipient. */
void	job_parse_remote(struct job *, const struct state *,
	    struct job_report *reps);

#endif
