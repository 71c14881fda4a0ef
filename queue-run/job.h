/* job.h — queue-run's deliveries under way, one slot each: smtp-out for
 * the remote recipients of one domain (a process that reports a line per
 * recipient on a pipe), or a local command (a pipe alias or a domain's
 * MDA, driven by deliver.h).  A Maildir delivery holds no slot: it is
 * written at once in queue-run's own process.  sched.c decides what to
 * start and what a result does to the entry; this is the process and its
 * result. */
#ifndef POSTHORN_JOB_H
#define POSTHORN_JOB_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "addr.h"
#include "conf.h"
#include "deliver.h"
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
	JOB_REMOTE_RESULT_MAX = JOB_RCPTS_MAX * JOB_LINE_MAX,
	JOB_POLLFDS = DELIVER_POLLFDS	/* the most of one job */
};

struct job {
	pid_t		 pid;		/* 0: free slot */
	int		 fd;		/* remote: the report pipe */
	struct active	*msg;
	int		 remote;	/* smtp-out, for entries[0..n) */
	struct deliver_job *local;	/* else the command's delivery */
	int		 done;		/* local: local->r is its result */
	size_t		 entries[JOB_RCPTS_MAX];
	size_t		 n;
	char		 dest[ADDR_TEXT_MAX + 16];
	time_t		 deadline;	/* remote: killed then */
	size_t		 len, cap;
	char		*buf;		/* the report, job_release frees it */
};

/* A result, parsed: the strings point into the job's buffer (or its
 * deliver_job).  A remote job has one per recipient, with the host and
 * TLS apart. */
struct job_report {
	int			 valid;		/* a line was there */
	enum deliver_status	 status;
	const char		*dsn, *where, *reason;
	const char		*tls;		/* remote: "none" or v/cipher/... */
};

/* The free slot of jobs[0..n), or NULL. */
struct job	*job_free(struct job *jobs, size_t n);
/* Deliver entry i of st (a mailbox or a pipe), a message of msg: 1 when
 * it is over already (a Maildir, or a failure before any process ran),
 * with *res set; 0 when a command runs in the free slot j; -1 with errno
 * when nothing could be tried (out of memory). */
int	job_start_local(struct job *j, const struct conf *, struct active *msg,
	    const struct state *st, size_t i, const char *dest,
	    struct deliver_result *res);
/* Spawn smtp-out for entries idx[0..n) of st (all remote, one domain),
 * from sender, the message on its standard input and its standard
 * output on the report pipe, into the free slot j; 0, or -1 with errno
 * (the reason logged). */
int	job_start_remote(struct job *j, const struct conf *,
	    struct active *msg, const struct state *st, const size_t *idx,
	    size_t n, const char *sender, const char *dest, time_t now);
/* The descriptors to poll for a running job into pfd[0..n), n at most
 * JOB_POLLFDS; *due lowered to the clock_ms() by which job_step is due
 * without an event. */
size_t	job_pollset(struct job *, struct pollfd *pfd, int64_t *due);
/* After poll(2), on what job_pollset gave: 1 once the job is over (its
 * report read, or its command exited), when job_end is due. */
int	job_step(struct job *, const struct pollfd *pfd);
/* Close the pipe and reap the process (killing a command that still
 * runs); the slot's pid stays for the caller to clear. */
void	job_end(struct job *);
/* Kill the job's process now (SIGKILL): the shutdown's, or the remote
 * deadline's. */
void	job_kill(struct job *);
/* Free the report, once it is applied. */
void	job_release(struct job *);
/* A local job's result: 0, or -1 when it has none (killed). */
int	job_parse(struct job *, struct job_report *);
/* smtp-out's lines, one per recipient in order (smtp-out(8)): reps[k]
 * for entries[k]; valid is 0 where a line is missing or does not name
 * that recipient. */
void	job_parse_remote(struct job *, const struct state *,
	    struct job_report *reps);

#endif
