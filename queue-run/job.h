/* job.h — queue-run's deliveries under way, one slot each: smtp-out for
 * the remote recipients of one domain (a long-lived smtp-out -J, fed the
 * job on a pipe, that reports a line per recipient on another and keeps
 * its connection for the next job of the same destination), or a local
 * command (a pipe alias or a domain's
 * MDA, driven by local.h).  A Maildir delivery holds no slot: it is
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
#include "lmtp.h"
#include "state.h"

struct active;			/* sched.c's: the message a job is for */
struct job;

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
	JOB_POLLFDS = DELIVER_POLLFDS,	/* the most of one job */
	JOB_PROC_POLLFDS = 2		/* of one smtp-out -J */
};

/* A long-lived smtp-out -J and its two pipes: busy with one job, idle
 * (its connection kept for the next job of dest), or closing (its jobs'
 * pipe closed: it says QUIT and exits). */
struct outproc {
	pid_t		 pid;		/* 0: free */
	int		 in;		/* its standard input: the jobs */
	int		 out;		/* its standard output: the lines */
	char		 dest[ADDR_TEXT_MAX + 16];
	unsigned	 gen;		/* the configuration it started under */
	struct job	*job;		/* NULL: idle or closing */
	int		 closing;
	int		 dead;		/* its output ended: to reap */
	int64_t		 idle_since;	/* clock_ms() */
	unsigned	 jobs;		/* carried so far */
	char		*wbuf;		/* the job, written as the pipe takes it */
	size_t		 wlen, woff;
};

struct job {
	pid_t		 pid;		/* 0: free slot */
	int		 fd;		/* remote: the report pipe */
	struct active	*msg;
	int		 remote;	/* smtp-out, for entries[0..n) */
	struct local_job *local;	/* else the command's delivery */
	struct outproc	*proc;		/* remote: the smtp-out carrying it */
	int		 done;		/* local: local->r is its result */
	size_t		 entries[JOB_RCPTS_MAX];
	size_t		 n;
	char		 dest[ADDR_TEXT_MAX + 16];
	/* smtp-out -L: the LMTP server of the mailboxes, else "" */
	char		 lmtp[LMTP_TARGET_MAX + 1];
	time_t		 deadline;	/* remote: killed then */
	size_t		 len, cap;
	char		*buf;		/* the report, job_release frees it */
};

/* A result, parsed: the strings point into the job's buffer (or its
 * local_job).  A remote job has one per recipient, with the host and
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
/* Entries idx[0..n) of st (all remote, one domain; or the mailboxes of
 * one local domain whose LMTP server lmtp is, else lmtp NULL), from
 * sender, into the free slot j: a job for an idle smtp-out of procs[0..np) that
 * serves dest under configuration gen, else for a new one (an idle one
 * of another destination is retired when they are all taken); 0, or -1
 * with errno (the reason logged; EAGAIN: no process to be had now). */
int	job_start_remote(struct job *j, struct outproc *procs, size_t np,
	    const struct conf *, unsigned gen, struct active *msg,
	    const struct state *st, const size_t *idx, size_t n,
	    const char *sender, const char *lmtp, const char *dest,
	    time_t now);
/* The descriptors to poll for a live smtp-out into pfd (at most
 * JOB_PROC_POLLFDS): its output always, its input while a job is still
 * to be written. */
size_t	job_proc_pollset(struct outproc *, struct pollfd *pfd);
/* After poll(2): 1 when the job the process carries is over (all its
 * lines read, or the process gone), when job_end is due; a process
 * without a job that ends is reaped here. */
int	job_proc_step(struct outproc *, const struct pollfd *pfd, size_t n);
/* An idle process is told to finish (its jobs' pipe closed). */
void	job_proc_retire(struct outproc *);
/* At queue-run's end: the pipes of every process closed, so that the
 * idle ones QUIT and exit; none is waited for. */
void	job_proc_abandon(struct outproc *);
/* The descriptors to poll for a running job into pfd[0..n), n at most
 * JOB_POLLFDS; *due lowered to the clock_ms() by which job_step is due
 * without an event. */
size_t	job_pollset(struct job *, struct pollfd *pfd, int64_t *due);
/* After poll(2), on what job_pollset gave: 1 once the job is over (its
 * report read, or its command exited), when job_end is due. */
int	job_step(struct job *, const struct pollfd *pfd);
/* A command: reap it (killing it if it still runs).  smtp-out: the job
 * leaves its process, idle from now on, or reaped if it is gone.  The
 * slot's pid stays for the caller to clear. */
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
