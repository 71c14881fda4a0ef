/* sched.c — queue-run's loop.  It waits in poll(2) for: a new message
 * (inotify on SPOOL/new), a line from mailq(8) on the trigger FIFO, a
 * signal (signalfd), a delivery's events (smtp-out's report pipe, or a
 * local command's stdin, stderr and pidfd), or the time of the next
 * retry or command deadline.  A message is "active" while queue-run works
 * on it: its envelope and state are in memory, its recipients resolved,
 * its deliveries running.  When none runs and none can start now, it is
 * finished: removed when every delivery is done (after its DSN, if any
 * failed), else its state saved and back in the wait queue.
 *
 * A Maildir delivery is made here, in this process, when it starts: the
 * file written, fsynced, renamed into new/ and new/ fsynced before its
 * result is applied, one at a time.  No process is made for it (a fork
 * of this process cost more than the delivery itself).
 *
 * The guarantees of DESIGN.md hold because the only record of success is
 * the state file or the removal of the message, both written after a
 * delivery reported success (the Maildir's fsyncs, the command's exit,
 * smtp-out's line), and a crash anywhere before that delivers again
 * rather than never. */

#include <sys/inotify.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "bounce.h"
#include "confwatch.h"
#include "deliver.h"
#include "dkim.h"
#include "domains.h"
#include "domconf.h"
#include "seal.h"
#include "filecache.h"
#include "io.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "sched.h"
#include "srs.h"
#include "state.h"
#include "str.h"
#include "waitq.h"

enum {
	/* Fixed descriptors in the poll set: signals, inotify, trigger. */
	FIXED_FDS = 3,
	/* Beyond the slots' and the active messages': the lock, the
	 * trigger, a state file being written. */
	SCHED_FDS_SPARE = 64,
	INOTIFY_BUF = 64 * 1024,
	/* Seconds after which a racy reading of posthorn.conf is past its
	 * window (confwatch.h), rounded up. */
	RACY_WAKE = (FILECACHE_RACY_MS + 999) / 1000 + 1
};

struct active {
	struct active	*next;
	struct state	 st;
	int		 running;	/* deliveries under way */
	int		 delete;	/* mailq -d: remove when idle */
};

struct sched {
	struct confwatch	*cw;		/* posthorn.conf, kept current */
	const struct conf	*conf;		/* &cw->conf */
	int			 sigfd, inofd, trigfd, lockfd;
	int			 newwd;		/* inotify: SPOOL/new */
	struct waitq		 wq;
	struct active		*active;
	size_t			 nactive, nactive_max;
	struct job		*jobs;
	size_t			 nslots;	/* of jobs[]: it only grows */
	/* smtp-out -J processes, busy or idle, at most nslots of them and
	 * as many again closing: 2 * nslots entries. */
	struct outproc		*procs;
	size_t			 nprocs;
	unsigned		 gen;		/* posthorn.conf's reloads */
	size_t			 njobs;		/* running */
	int			 stopping;
	time_t			 stop_at, sweep_at;
	char			 trig[SCHED_TRIGGER_LINE_MAX + 1];
	size_t			 trig_len;
	struct srs		 srs;
	int			 have_srs;	/* srs_secret_file was read */
	struct deliver_result	 res;	/* of a Maildir delivery */
};

static void	finish(struct sched *, struct active *);
static void	apply_one(struct sched *, struct active *,
		    struct state_entry *, const struct job_report *,
		    const char *, time_t);

time_t
sched_backoff(unsigned attempts)
{
	time_t d = SCHED_RETRY_MIN;

	while (attempts-- > 1 && d < SCHED_RETRY_MAX)
		d *= 2;
	return d < SCHED_RETRY_MAX ? d : SCHED_RETRY_MAX;
}

static int
spool_path(const struct sched *s, char *buf, size_t size, const char *dir,
    const char *name)
{
	int r;

	if (name != NULL)
		r = str_fmt(buf, size, "%s/%s/%s", s->conf->spool, dir, name);
	else
		r = str_fmt(buf, size, "%s/%s", s->conf->spool, dir);
	if (r == -1)
		errno = ENAMETOOLONG;
	return r;
}


static void
log_errno(const char *event, const char *id, const char *what)
{
	log_event(event, "id", id, "error", what, "reason", strerror(errno),
	    (char *)NULL);
}

/* --- learning of messages ----------------------------------------- */

/* A message seen in SPOOL/new: due at once unless already known. */
static void
learn(struct sched *s, const char *id)
{
	int r;

	if (!queue_id_valid(id))
		return;
	if ((r = waitq_learn(&s->wq, id)) == 1 &&
	    waitq_push(&s->wq, id, 0) == -1) {
		waitq_forget(&s->wq, id);
		r = -1;
	}
	if (r == -1)	/* the next rescan finds it again */
		log_errno("error", id, "learn");
}

static int
scan(struct sched *s)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	if (spool_path(s, path, sizeof(path), QUEUE_NEW, NULL) == -1 ||
	    (dir = opendir(path)) == NULL)
		return -1;
	while ((errno = 0, d = readdir(dir)) != NULL)
		learn(s, d->d_name);
	closedir(dir);
	return 0;
}

/* Remove what a crash left: old files in tmp/, and state files whose
 * message is gone (removal takes the message first) or temporaries of
 * an atomic rewrite. */
static void
sweep_dir(struct sched *s, const char *sub, time_t now, int orphans)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int old;

	if (spool_path(s, path, sizeof(path), sub, NULL) == -1 ||
	    (dir = opendir(path)) == NULL) {
		log_errno("error", NULL, sub);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' ||
		    str_fmt(file, sizeof(file), "%s/%s", path, d->d_name) == -1
		    || lstat(file, &st) == -1)
			continue;
		if (orphans && dkim_sidecar_known(&s->wq, d->d_name))
			continue;	/* the signature of a queued message */
		old = now - st.st_mtime > SCHED_TMP_MAX_AGE;
		if (orphans && queue_id_valid(d->d_name)) {
			/* A state whose message is known is no orphan. */
			if (waitq_known(&s->wq, d->d_name))
				continue;
			old = 1;
		}
		if (old && unlink(file) == 0)
			log_event("swept", "file", file, (char *)NULL);
	}
	closedir(dir);
}

static void
sweep(struct sched *s, time_t now)
{
	sweep_dir(s, QUEUE_TMP, now, 0);
	sweep_dir(s, QUEUE_STATE, now, 1);
	s->sweep_at = now + SCHED_SWEEP_INTERVAL;
}

/* --- deliveries ----------------------------------------------------- */

static int
dest_key(const struct state_entry *e, char *buf, size_t size)
{
	const char *at = strrchr(e->addr, '@');

	/* Remote mail goes per domain; local per mailbox or command. */
	if (e->kind == STATE_REMOTE)
		return str_fmt(buf, size, "remote:%s", at ? at + 1 : e->addr);
	return str_fmt(buf, size, "%s:%s", state_kind_name(e->kind), e->addr);
}

static size_t
dest_running(const struct sched *s, const char *dest)
{
	size_t i, n = 0;

	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].pid != 0 &&
		    str_casecmp(s->jobs[i].dest, dest) == 0)
			n++;
	return n;
}

/* What queue-run counts (metrics.h): one scheduler a process, as one
 * queue-run a spool, so these are the process's. */
static struct metrics counters;
static int		counters_failing;	/* said once */

/* "lmtp:SERVER": where a mailbox delivered by LMTP was tried (sched's
 * mark in the entry's where, kept in the state like any other). */
#define LMTP_WHERE	"lmtp:"

/* A mailbox of a domain with an LMTP server, tried there. */
static int
via_lmtp(const struct state_entry *e)
{
	return e->kind == STATE_MAILBOX &&
	    strncmp(e->where, LMTP_WHERE, sizeof(LMTP_WHERE) - 1) == 0;
}

static const char *
via_name(const struct state_entry *e)
{
	return via_lmtp(e) ? "lmtp" : state_kind_name(e->kind);
}

/* The record of one attempt, whatever its outcome: its log line and its
 * count. */
static void
log_attempt(const struct state *st, const struct state_entry *e,
    const char *status, time_t now)
{
	char delay[32], labels[64];

	(void)str_fmt(delay, sizeof(delay), "%lld",
	    (long long)(now - st->env.time));
	log_event("delivery", "id", st->env.id, "rcpt", e->orig,
	    "to", e->addr, "via", via_name(e), "status", status,
	    "delay", delay, "dsn", e->dsn, "where",
	    e->where[0] != '\0' ? e->where : NULL, "reason", e->reason,
	    (char *)NULL);
	if (str_fmt(labels, sizeof(labels), "via=\"%s\",status=\"%s\"",
	    via_name(e), status) == 0)
		metrics_add(&counters, "posthorn_deliveries_total", labels, 1);
}

/* The counters to SPOOL/metrics/queue-run.prom, at most every
 * METRICS_INTERVAL; a failure is logged once until a write succeeds. */
static void
write_counters(const struct sched *s, int force)
{
	if (metrics_flush(&counters, s->conf->spool, "queue-run", clock_ms(),
	    force) == -1) {
		if (!counters_failing)
			log_event("error", "op", "metrics", "error",
			    strerror(errno), (char *)NULL);
		counters_failing = 1;
	} else
		counters_failing = 0;
}

static void
set_reason(struct state_entry *e, const char *dsn, const char *reason,
    const char *where)
{
	if (state_set_reason(e, dsn, reason, where) == -1)
		(void)str_copy(e->dsn, sizeof(e->dsn), dsn);
}

/* A final outcome: sent, or failed for good (into the DSN). */
static void
settle(struct state *st, struct state_entry *e, enum state_status status,
    const char *dsn, const char *reason, const char *where, time_t now)
{
	set_reason(e, dsn, reason, where);
	e->status = status;
	e->last = now;
	st->dirty = 1;
	log_attempt(st, e, status == STATE_SENT ? "sent" : "bounced", now);
}

/* A temporary failure: retry on the backoff schedule, or fail for good
 * once the message has been queued longer than queue_lifetime. */
static void
defer(const struct sched *s, struct state *st, struct state_entry *e,
    const char *dsn, const char *reason, const char *where, time_t now)
{
	time_t expires = st->env.time + s->conf->queue_lifetime;
	char msg[STATE_REASON_MAX];

	e->attempts++;
	if (now >= expires) {
		(void)str_fmt(msg, sizeof(msg),
		    "delivery time expired; last error: %s", reason);
		settle(st, e, STATE_FAILED, dsn, msg, where, now);
		return;
	}
	set_reason(e, dsn, reason, where);
	e->last = now;
	e->next = now + sched_backoff(e->attempts);
	if (e->next > expires)
		e->next = expires;
	st->dirty = 1;
	log_attempt(st, e, "deferred", now);
}

/* Deliver entry i: a Maildir at once, its result applied; a command in
 * a free slot, its result applied when it exits.  -1 with errno when
 * nothing could be tried. */
static int
start_job(struct sched *s, struct active *a, size_t i, const char *dest)
{
	struct job *j = job_free(s->jobs, s->nslots);
	struct job_report rep;
	int r;

	if ((r = job_start_local(j, s->conf, a, &a->st, i, dest,
	    &s->res)) == -1)
		return -1;
	if (r == 1) {
		rep.valid = 1;
		rep.status = s->res.status;
		rep.dsn = s->res.dsn;
		rep.where = s->res.where;
		rep.reason = s->res.reason;
		rep.tls = NULL;
		apply_one(s, a, &a->st.e[i], &rep, rep.where, time(NULL));
		return 0;
	}
	a->st.e[i].running = 1;
	a->running++;
	s->njobs++;
	return 0;
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

/* The envelope sender of a remote delivery.  Mail that an alias of a
 * local domain forwards to another domain leaves with an SRS sender of
 * the forwarding domain (aliases(5)), so that SPF passes where it
 * arrives and a bounce comes back to us; the null sender, senders of our
 * own domains and mail sent straight to a remote address keep theirs. */
static const char *
remote_sender(const struct sched *s, const struct active *a,
    const struct state_entry *e, char *buf, size_t size)
{
	const char *sender = a->st.env.sender, *fwd = domain_of(e->orig);

	if (!s->have_srs || sender[0] == '\0' ||
	    str_casecmp(e->orig, e->addr) == 0 ||
	    domains_is_local(s->conf, fwd) != 1 ||
	    domains_is_local(s->conf, domain_of(sender)) != 0)
		return sender;
	if (srs_forward(&s->srs, sender, fwd, time(NULL), buf, size) == -1) {
		log_event("srs-unrewritten", "id", a->st.env.id, "from",
		    sender, "reason", strerror(errno), (char *)NULL);
		return sender;
	}
	return buf;
}

/* A recipient of ours that is an SRS address: a bounce to mail we
 * forwarded, which goes on to the original sender.  1 handled (the entry
 * is expanded or failed), 0 not SRS. */
static int
resolve_srs(struct sched *s, struct state *st, size_t i, time_t now)
{
	const char *orig = st->e[i].orig;
	char back[ADDR_TEXT_MAX], why[ALIAS_WHY_MAX], *o;
	struct addr a;

	/* The local part as it is meant, quotes or not. */
	if (addr_parse(orig, strlen(orig), ADDR_UTF8, &a) != ADDR_OK ||
	    !srs_is_srs(a.local) ||
	    domains_is_local(s->conf, a.domain) != 1)
		return 0;
	/* Spam is never sent on (filter_spam = local): the bounce of a
	 * message we forwarded is done with, undelivered, unbounced. */
	if (st->env.flags & QUEUE_LOCAL_ONLY) {
		log_event("not-forwarded", "id", st->env.id, "rcpt", orig,
		    "reason", "judged spam", (char *)NULL);
		st->e[i].status = STATE_SENT;
		st->dirty = 1;
		return 1;
	}
	if (!s->have_srs || srs_reverse(&s->srs, orig, now, back,
	    sizeof(back), why, sizeof(why)) == -1) {
		settle(st, &st->e[i], STATE_FAILED, "5.1.1", s->have_srs ? why :
		    "no SRS secret to check it with", "", now);
		return 1;
	}
	if ((o = strdup(orig)) == NULL || state_add(st, STATE_REMOTE, o, back,
	    NULL) == -1) {
		defer(s, st, &st->e[i], "4.3.0", strerror(errno), "", now);
		free(o);
		return 1;
	}
	free(o);
	st->e[i].status = STATE_SENT;	/* expanded */
	st->dirty = 1;
	return 1;
}

/* Remote entries go to smtp-out, one job per message, domain and sender,
 * with every due recipient of that group (up to a transaction's worth):
 * entry i and those that share its domain and sender.  The job goes to
 * an smtp-out that is idle with a connection to that domain when there
 * is one (job.h). */
static int
remote_attempt(struct sched *s, struct active *a, size_t i,
    const char *dest, time_t now)
{
	struct state *st = &a->st;
	struct job *j = job_free(s->jobs, s->nslots);
	char sender[ADDR_TEXT_MAX], other[ADDR_TEXT_MAX];
	const char *snd, *osnd;
	size_t idx[JOB_RCPTS_MAX], n = 0, k;

	snd = remote_sender(s, a, &st->e[i], sender, sizeof(sender));
	for (k = i; k < st->n && n < JOB_RCPTS_MAX; k++) {
		const struct state_entry *e = &st->e[k];

		if (e->kind != STATE_REMOTE || e->status != STATE_PENDING ||
		    e->running || e->next > now ||
		    str_casecmp(domain_of(e->addr),
		    domain_of(st->e[i].addr)) != 0)
			continue;
		osnd = remote_sender(s, a, e, other, sizeof(other));
		if (strcmp(osnd, snd) == 0)
			idx[n++] = k;
	}
	if (job_start_remote(j, s->procs, s->nprocs, s->conf, s->gen, a, st,
	    idx, n, snd, NULL, dest, now) == -1) {
		if (errno == EAGAIN || errno == ENOMEM || errno == EMFILE ||
		    errno == ENFILE)
			return -1;	/* out of processes or files: again soon */
		/* No smtp-out to run: retried on the backoff
		 * schedule, like a failure of its own. */
		(void)str_fmt(other, sizeof(other), "cannot run %s: %s",
		    JOB_SMTP_OUT, strerror(errno));
		for (k = 0; k < n; k++)
			defer(s, st, &st->e[idx[k]], "4.3.0", other, "", now);
		return 0;
	}
	for (k = 0; k < n; k++)
		st->e[idx[k]].running = 1;
	a->running++;
	s->njobs++;
	return 0;
}

/* The LMTP server of a mailbox's domain (domain.conf's lmtp, in the
 * one spelling domconf keeps) into lmtp, "" for none: 0, or -1 with why
 * (the file is wrong or cannot be read: the mail waits, since where it
 * goes is not known). */
static int
lmtp_of(const struct sched *s, const struct state_entry *e, char *lmtp,
    size_t size, char *why, size_t whysize)
{
	struct domconf dc;

	lmtp[0] = '\0';
	if (domconf_load(s->conf, domain_of(e->addr), &dc, why,
	    whysize) == -1) {
		if (why[0] == '\0')
			str_fmt_cut(why, whysize, "%s of %s: %s",
			    DOMCONF_FILE, domain_of(e->addr), strerror(errno));
		return -1;
	}
	if (str_copy(lmtp, size, dc.lmtp) == -1) {
		str_fmt_cut(why, whysize, "%s of %s: lmtp too long",
		    DOMCONF_FILE, domain_of(e->addr));
		lmtp[0] = '\0';
		return -1;
	}
	return 0;
}

/* Mailboxes of a domain that has an LMTP server go to smtp-out -L, one
 * job per message and domain with every due mailbox of it, as remote
 * recipients do; the envelope sender as it came (a final delivery). */
static int
lmtp_attempt(struct sched *s, struct active *a, size_t i,
    const char *lmtp, const char *dest, time_t now)
{
	struct state *st = &a->st;
	struct job *j = job_free(s->jobs, s->nslots);
	char why[STATE_REASON_MAX], where[STATE_REASON_MAX];
	size_t idx[JOB_RCPTS_MAX], n = 0, k;

	for (k = i; k < st->n && n < JOB_RCPTS_MAX; k++) {
		const struct state_entry *e = &st->e[k];

		if (e->kind == STATE_MAILBOX && e->status == STATE_PENDING &&
		    !e->running && e->next <= now &&
		    str_casecmp(domain_of(e->addr),
		    domain_of(st->e[i].addr)) == 0)
			idx[n++] = k;
	}
	if (job_start_remote(j, s->procs, s->nprocs, s->conf, s->gen, a, st,
	    idx, n, st->env.sender, lmtp, dest, now) == -1) {
		if (errno == EAGAIN || errno == ENOMEM || errno == EMFILE ||
		    errno == ENFILE)
			return -1;
		(void)str_fmt(why, sizeof(why), "cannot run %s: %s",
		    JOB_SMTP_OUT, strerror(errno));
		str_fmt_cut(where, sizeof(where), LMTP_WHERE "%s", lmtp);
		for (k = 0; k < n; k++)
			defer(s, st, &st->e[idx[k]], "4.3.0", why, where, now);
		return 0;
	}
	for (k = 0; k < n; k++)
		st->e[idx[k]].running = 1;
	a->running++;
	s->njobs++;
	return 0;
}

/* Start what is due and fits under the limits. */
static void
start_jobs(struct sched *s, struct active *a, time_t now)
{
	struct state_entry *e;
	char dest[sizeof(((struct job *)0)->dest)], why[DKIM_WHY_MAX];
	char lmtp[LMTP_TARGET_MAX + 1];
	size_t i;
	int r;

	if (a->delete)
		return;
	for (i = 0; i < a->st.n && s->njobs < s->conf->max_deliveries; i++) {
		e = &a->st.e[i];
		if (e->status != STATE_PENDING || e->running ||
		    e->kind == STATE_RCPT || e->next > now)
			continue;
		/* Signed once, before the first delivery of any kind. */
		if (dkim_prepare(s->conf, &a->st, why, sizeof(why)) == -1) {
			defer(s, &a->st, e, DKIM_DSN, why, "", now);
			continue;
		}
		/* Sealed once, before the first forwarded copy. */
		if (e->kind == STATE_REMOTE)
			seal_prepare(s->conf, &a->st, e);
		lmtp[0] = '\0';
		if (e->kind == STATE_MAILBOX && lmtp_of(s, e, lmtp,
		    sizeof(lmtp), why, sizeof(why)) == -1) {
			defer(s, &a->st, e, "4.3.5", why, "", now);
			continue;
		}
		/* One LMTP server is one destination, whichever domains
		 * it serves. */
		if (lmtp[0] != '\0')
			str_fmt_cut(dest, sizeof(dest), "lmtp:%s", lmtp);
		else if (dest_key(e, dest, sizeof(dest)) == -1)
			continue;
		if (dest_running(s, dest) >= s->conf->max_per_destination)
			continue;
		if (e->kind == STATE_REMOTE)
			r = remote_attempt(s, a, i, dest, now);
		else if (lmtp[0] != '\0')
			r = lmtp_attempt(s, a, i, lmtp, dest, now);
		else
			r = start_job(s, a, i, dest);
		if (r == -1) {
			log_errno("error", a->st.env.id, "start");
			break;	/* out of processes: try again later */
		}
	}
}

/* --- resolution ----------------------------------------------------- */

struct emit_arg {
	struct state	*st;
	const char	*orig;
};

static int
emit(const struct alias_target *t, void *arg)
{
	struct emit_arg *ea = arg;
	enum state_kind k = t->kind == ALIAS_PIPE ? STATE_PIPE :
	    t->kind == ALIAS_REMOTE ? STATE_REMOTE : STATE_MAILBOX;

	/* Judged spam by smtp-in's filter (filter_spam = local): local
	 * targets only; what would be forwarded is dropped, said once. */
	if (t->kind == ALIAS_REMOTE && (ea->st->env.flags & QUEUE_LOCAL_ONLY)) {
		log_event("not-forwarded", "id", ea->st->env.id, "rcpt",
		    ea->orig, "to", t->addr, "reason", "judged spam",
		    (char *)NULL);
		return 0;
	}

	return state_add(ea->st, k, ea->orig, t->addr,
	    t->kind == ALIAS_PIPE ? t->cmd : NULL) == -1 ? -1 : 0;
}

/* Expand the envelope recipients that are due into their deliveries.
 * An alias file that is broken is a temporary failure: the person who
 * runs the server fixes it (aliases --check says where) and nothing is
 * lost meanwhile. */
static void
resolve(struct sched *s, struct active *a, time_t now)
{
	struct state *st = &a->st;
	struct state_entry *e;
	struct emit_arg ea;
	char why[ALIAS_WHY_MAX], *orig;
	size_t i, n = st->n;

	for (i = 0; i < n; i++) {
		e = &st->e[i];
		if (e->kind != STATE_RCPT || e->status != STATE_PENDING ||
		    e->next > now || resolve_srs(s, st, i, now))
			continue;
		if ((orig = strdup(e->orig)) == NULL) {
			defer(s, st, e, "4.3.0", strerror(errno), "", now);
			continue;
		}
		ea.st = st;
		ea.orig = orig;
		why[0] = '\0';
		switch (alias_resolve(s->conf, orig, emit, &ea, why,
		    sizeof(why))) {
		case ALIAS_OK:
			st->e[i].status = STATE_SENT;	/* expanded */
			st->dirty = 1;
			break;
		case ALIAS_NOUSER:
			settle(st, &st->e[i], STATE_FAILED, "5.1.1", why, "",
			    now);
			break;
		case ALIAS_BROKEN:
			defer(s, st, &st->e[i], "4.3.5", why, "", now);
			break;
		case ALIAS_TEMPFAIL:
			defer(s, st, &st->e[i], "4.3.0", why, "", now);
			break;
		}
		free(orig);
	}
}

/* --- active messages ------------------------------------------------ */

static void
activate(struct sched *s, const struct waitq_item *w, time_t now)
{
	struct active *a;
	size_t i;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		(void)waitq_push(&s->wq, w->id, now + SCHED_RETRY_MIN);
		return;
	}
	if (state_load(&a->st, s->conf->spool, w->id) == -1) {
		if (errno == ENOENT)	/* removed meanwhile */
			waitq_forget(&s->wq, w->id);
		else {
			log_errno("error", w->id, "load");
			(void)waitq_push(&s->wq, w->id, now + SCHED_RETRY_MAX);
		}
		free(a);
		return;
	}
	if (w->force)
		for (i = 0; i < a->st.n; i++)
			if (a->st.e[i].status == STATE_PENDING)
				a->st.e[i].next = 0;
	a->next = s->active;
	s->active = a;
	s->nactive++;
	resolve(s, a, now);
	start_jobs(s, a, now);
}

static void
unlink_active(struct sched *s, struct active *a)
{
	struct active **p;

	for (p = &s->active; *p != NULL; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			s->nactive--;
			return;
		}
}

/* A remote server's reply ("550 5.1.1 ..."), rather than our reason. */
static int
is_reply(const struct state_entry *e)
{
	const char *r = e->reason;

	return (e->kind == STATE_REMOTE || via_lmtp(e)) &&
	    e->where[0] != '\0' &&
	    r[0] >= '2' && r[0] <= '5' && r[1] >= '0' && r[1] <= '9' &&
	    r[2] >= '0' && r[2] <= '9' && (r[3] == ' ' || r[3] == '\0');
}

/* The host name of "mx.example.org[192.0.2.1] tls=...", or NULL. */
static const char *
remote_host(const struct state_entry *e, char *buf, size_t size)
{
	size_t n = strcspn(e->where, "[ ");

	if (e->kind != STATE_REMOTE || n == 0 || n >= size)
		return NULL;
	memcpy(buf, e->where, n);
	buf[n] = '\0';
	return buf;
}

/* "mx.example.org[192.0.2.1] tls=dane TLSv1.3/CIPHER" from a result
 * line's host and its TLS field ("TLSv1.3/CIPHER/OUTCOME" or "none",
 * smtp-out(8)): the outcome word is what tls= says, in the delivery log
 * line and mailq's listing alike. */
static void
remote_where(char *buf, size_t size, const struct job_report *rep)
{
	const char *slash = strrchr(rep->tls, '/');

	if (slash == NULL)
		str_fmt_cut(buf, size, "%s tls=%s", rep->where, rep->tls);
	else
		str_fmt_cut(buf, size, "%s tls=%s %.*s", rep->where, slash + 1,
		    (int)(slash - rep->tls), rep->tls);
}

/* The entries of st in status with e's recipient wanting kind, as
 * report lines into r (and their hosts), for a DSN of bk.  Their number;
 * *skipped: how many a NOTIFY kept out. */
static size_t
report_lines(const struct state *st, enum state_status status,
    unsigned kind, enum bounce_kind bk, struct bounce_rcpt *r,
    char (*hosts)[ADDR_DOMAIN_MAX + 1], size_t *skipped)
{
	const struct state_entry *e;
	size_t i, n = 0;
	long k;

	*skipped = 0;
	for (i = 0; i < st->n; i++) {
		e = &st->e[i];
		/* An envelope recipient expanded into deliveries is not
		 * one itself. */
		if (e->status != status || (status == STATE_SENT &&
		    e->kind == STATE_RCPT))
			continue;
		/* Its envelope recipient: its NOTIFY and its ORCPT. */
		k = state_rcpt_index(st, e);
		if (!dsn_notify_wants(k >= 0 ? st->env.notify[k] : 0, kind)) {
			(*skipped)++;
			continue;
		}
		memset(&r[n], 0, sizeof(r[n]));
		r[n].orig = e->orig;
		r[n].final = e->addr;
		r[n].status = bk == BOUNCE_SUCCESS ? "2.0.0" : e->dsn;
		r[n].diag_type = is_reply(e) ? "smtp" : "x-posthorn";
		r[n].diag = e->reason[0] != '\0' ? e->reason : NULL;
		r[n].remote_mta = remote_host(e, hosts[n], sizeof(hosts[n]));
		r[n].last_attempt = e->last;
		if (k >= 0)
			r[n].orcpt = st->env.orcpt[k];
		/* smtp-out's result line does not say whether the next
		 * hop took NOTIFY on: "relayed" for any remote delivery. */
		r[n].relayed = e->kind == STATE_REMOTE;
		n++;
	}
	return n;
}

/* One DSN of kind bk for the entries in status whose recipients want
 * it: 0 (queued, dropped, or none to send), -1 to try again. */
static int
notify(struct sched *s, struct state *st, enum state_status status,
    unsigned kind, enum bounce_kind bk, time_t until)
{
	static const char *const ev[] = { "bounce", "delay-warning",
	    "success-report" };
	struct bounce_rcpt *r;
	char newid[QUEUE_ID_LEN + 1], (*hosts)[ADDR_DOMAIN_MAX + 1] = NULL;
	char num[24];
	size_t n, skipped;
	enum bounce_outcome o;
	size_t i;
	int rc = -1, any = 0;

	/* Most messages need none: a glance before any work. */
	if (kind == DSN_NOTIFY_SUCCESS) {
		for (i = 0; i < st->env.nrcpts && !any; i++)
			any = (st->env.notify[i] & DSN_NOTIFY_SUCCESS) != 0;
	} else
		for (i = 0; i < st->n && !any; i++)
			any = st->e[i].status == status;
	if (!any)
		return 0;
	if ((r = calloc(st->n + 1, sizeof(*r))) == NULL ||
	    (hosts = calloc(st->n + 1, sizeof(*hosts))) == NULL) {
		free(r);
		return -1;
	}
	n = report_lines(st, status, kind, bk, r, hosts, &skipped);
	if (skipped > 0 && bk == BOUNCE_FAILURE) {
		(void)str_fmt(num, sizeof(num), "%zu", skipped);
		log_event("bounce-suppressed", "id", st->env.id, "rcpts", num,
		    "reason", "NOTIFY", (char *)NULL);
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	/* What is done is on disk before a DSN goes out: should the
	 * removal of the message fail, the next attempt redelivers
	 * nothing. */
	if (state_save(st, s->conf->spool) == -1) {
		log_errno("error", st->env.id, "save state");
		goto out;
	}
	o = bounce_notify(s->conf, st->fd, &st->env, bk, r, n, until, newid);
	if (o == BOUNCE_ERROR) {
		log_errno("error", st->env.id, ev[bk]);
		goto out;
	}
	if (o == BOUNCE_QUEUED)
		log_event(ev[bk], "id", st->env.id, "dsn", newid, "to",
		    st->env.sender[0] != '\0' ? st->env.sender :
		    "postmaster", (char *)NULL);
	else
		log_event(bk == BOUNCE_FAILURE ? "bounce-dropped" :
		    "dsn-dropped", "id", st->env.id, "from", st->env.sender,
		    "via", st->env.via, "reason", "no one to send a DSN to",
		    (char *)NULL);
	rc = 0;
out:
	free(r);
	free(hosts);
	return rc;
}

/* Every entry done: the DSNs first (of failures, of successes asked
 * for), then the message.  A crash between the two sends a DSN twice,
 * never zero times. */
static int
complete(struct sched *s, struct active *a)
{
	struct state *st = &a->st;

	if (notify(s, st, STATE_FAILED, DSN_NOTIFY_FAILURE, BOUNCE_FAILURE,
	    0) == -1 || notify(s, st, STATE_SENT, DSN_NOTIFY_SUCCESS,
	    BOUNCE_SUCCESS, 0) == -1) {
		/* Keep what was learnt: the deliveries that are done must
		 * not run again when the DSN is retried. */
		if (state_save(st, s->conf->spool) == -1)
			log_errno("error", st->env.id, "save state");
		return -1;
	}
	if (state_remove(s->conf->spool, st->env.id) == -1) {
		log_errno("error", st->env.id, "remove");
		return -1;
	}
	log_event("removed", "id", st->env.id, (char *)NULL);
	return 0;
}

static time_t
next_due(const struct state *st)
{
	time_t next = 0;
	size_t i;
	int any = 0;

	for (i = 0; i < st->n; i++)
		if (st->e[i].status == STATE_PENDING &&
		    (!any || st->e[i].next < next)) {
			next = st->e[i].next;
			any = 1;
		}
	return any ? next : -1;
}

/* The "delayed" DSN (RFC 3464), once per message, delay_warning_time
 * after its arrival, for the recipients still pending that did not say
 * NOTIFY without DELAY; not when the message will have expired by then.
 * Returns when the message must be looked at next: next, or the time
 * of the warning if that comes first. */
static time_t
delay_warning(struct sched *s, struct active *a, time_t now, time_t next)
{
	struct state *st = &a->st;
	time_t at = st->env.time + s->conf->delay_warning_time;
	time_t until = st->env.time + s->conf->queue_lifetime;

	/* Never to the null sender: a DSN of ours waits quietly. */
	if (st->warned || s->conf->delay_warning_time <= 0 || at >= until ||
	    st->env.sender[0] == '\0')
		return next;
	if (now < at)
		return at < next ? at : next;
	if (notify(s, st, STATE_PENDING, DSN_NOTIFY_DELAY, BOUNCE_DELAY,
	    until) == -1)
		return next;		/* tried again when it is looked at */
	if (state_set_warned(st, s->conf->spool, now) == -1)
		log_errno("error", st->env.id, "save warning mark");
	return next;
}

static void
drop_active(struct sched *s, struct active *a)
{
	unlink_active(s, a);
	state_free(&a->st);
	free(a);
}

/* An idle message that has nothing to start now leaves the active set:
 * removed when it is done, else saved and put back to wait. */
static void
finish(struct sched *s, struct active *a)
{
	time_t next, now = time(NULL);
	const char *id = a->st.env.id;
	char in[32];
	int blocked = 0;

	if (a->delete) {
		if (state_remove(s->conf->spool, id) == -1)
			log_errno("error", id, "remove");
		else
			log_event("deleted", "id", id, (char *)NULL);
		waitq_forget(&s->wq, id);
		drop_active(s, a);
		return;
	}
	if ((next = next_due(&a->st)) == -1) {
		if (complete(s, a) == 0)
			waitq_forget(&s->wq, id);
		else
			(void)waitq_push(&s->wq, id, now + SCHED_RETRY_MIN);
		drop_active(s, a);
		return;
	}
	next = delay_warning(s, a, now, next);
	if (next <= now && !s->stopping) {
		/* Due, waiting for a free slot: it may wait here, unless the
		 * active set is full, where it would keep others out. */
		if (s->nactive < s->nactive_max)
			return;
		next = now + SCHED_BLOCKED_DELAY;
		blocked = 1;
	}
	if (state_save(&a->st, s->conf->spool) == -1)
		log_errno("error", id, "save state");
	else if (!blocked) {
		(void)str_fmt(in, sizeof(in), "%lld",
		    (long long)(next > now ? next - now : 0));
		log_event("waiting", "id", id, "next_in", in, (char *)NULL);
	}
	if (waitq_push(&s->wq, id, next) == -1)
		waitq_forget(&s->wq, id);	/* found at the next rescan */
	drop_active(s, a);
}

static void
finish_idle(struct sched *s)
{
	struct active *a, *nx;

	for (a = s->active; a != NULL; a = nx) {
		nx = a->next;
		if (a->running == 0)
			finish(s, a);
	}
}

/* Start work: deliveries of active messages first, then due messages. */
static void
fill(struct sched *s, time_t now)
{
	const struct waitq_item *top;
	struct waitq_item w;
	struct active *a;

	/* A recipient deferred at resolution may fall due while other
	 * deliveries of its message still run. */
	for (a = s->active; a != NULL; a = a->next) {
		resolve(s, a, now);
		start_jobs(s, a, now);
	}
	while (s->njobs < s->conf->max_deliveries &&
	    s->nactive < s->nactive_max &&
	    (top = waitq_top(&s->wq)) != NULL && top->next <= now) {
		waitq_pop(&s->wq, &w);
		activate(s, &w, now);
	}
}

/* --- reports of delivery processes -------------------------------- */

static void
apply_one(struct sched *s, struct active *a, struct state_entry *e,
    const struct job_report *rep, const char *where, time_t now)
{
	if (rep->status != DELIVER_TEMP)
		settle(&a->st, e, rep->status == DELIVER_OK ? STATE_SENT :
		    STATE_FAILED, rep->dsn, rep->reason, where, now);
	else
		defer(s, &a->st, e, rep->dsn, rep->reason, where, now);
}

/* smtp-out's lines: where is the remote host, and the TLS it used. */
static void
apply_remote(struct sched *s, struct job *j, time_t now)
{
	struct job_report reps[JOB_RCPTS_MAX];
	struct active *a = j->msg;
	char where[STATE_REASON_MAX];
	size_t k;

	job_parse_remote(j, &a->st, reps);
	for (k = 0; k < j->n; k++) {
		struct state_entry *e = &a->st.e[j->entries[k]];

		if (!reps[k].valid) {
			where[0] = '\0';
			if (j->lmtp[0] != '\0')
				str_fmt_cut(where, sizeof(where), LMTP_WHERE
				    "%s", j->lmtp);
			defer(s, &a->st, e, "4.3.0", "smtp-out ended without "
			    "a report for this recipient", where, now);
			continue;
		}
		if (j->lmtp[0] != '\0')
			/* LMTP is in plaintext: the server alone, or the
			 * configured one when smtp-out names none. */
			str_fmt_cut(where, sizeof(where), LMTP_WHERE "%s",
			    strcmp(reps[k].where, "-") == 0 ? j->lmtp :
			    reps[k].where);
		else if (strcmp(reps[k].where, "-") == 0)
			where[0] = '\0';
		else
			remote_where(where, sizeof(where), &reps[k]);
		apply_one(s, a, e, &reps[k], where, now);
	}
}

static void
apply_report(struct sched *s, struct job *j, time_t now)
{
	struct active *a = j->msg;
	struct state_entry *e = &a->st.e[j->entries[0]];
	struct job_report rep;

	if (j->remote) {
		apply_remote(s, j, now);
		return;
	}
	if (job_parse(j, &rep) == -1) {
		defer(s, &a->st, e, "4.3.0",
		    "the delivery ended without a result", "", now);
		return;
	}
	apply_one(s, a, e, &rep, rep.where, now);
}

/* The report pipe is at its end: the process has exited or is exiting. */
static void
end_job(struct sched *s, struct job *j)
{
	size_t k;

	job_end(j);
	for (k = 0; k < j->n; k++)
		j->msg->st.e[j->entries[k]].running = 0;
	if (j->remote ? !s->stopping || j->len > 0 : j->done)
		apply_report(s, j, time(NULL));
	/* else: killed at shutdown, and retried at the next start */
	job_release(j);
	j->msg->running--;
	j->pid = 0;
	s->njobs--;
}

static void
watchdog(struct sched *s, time_t now)
{
	size_t i;

	/* smtp-out's; a command's deadline is command.h's. */
	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].pid != 0 && s->jobs[i].remote &&
		    now >= s->jobs[i].deadline) {
			log_event("killed", "id", s->jobs[i].msg->st.env.id,
			    "to", s->jobs[i].msg->st.e[s->jobs[i].entries[0]].addr,
			    "reason", "delivery process overran its time",
			    (char *)NULL);
			job_kill(&s->jobs[i]);
			s->jobs[i].deadline = now + SCHED_REMOTE_GRACE;
		}
}

/* Idle smtp-out processes are retired at smtp_reuse_idle (their
 * connection is closed by then), at a reload, and when queue-run stops;
 * the clock_ms() at which the next one is due lowers *due. */
static void
procs_tidy(struct sched *s, int64_t *due)
{
	int64_t idle = s->conf->smtp_reuse_idle * 1000LL, now = clock_ms();
	struct outproc *p;
	size_t i;

	for (i = 0; i < s->nprocs; i++) {
		p = &s->procs[i];
		if (p->pid == 0 || p->job != NULL || p->closing)
			continue;
		if (s->stopping || p->gen != s->gen ||
		    now >= p->idle_since + idle)
			job_proc_retire(p);
		else if (p->idle_since + idle < *due)
			*due = p->idle_since + idle;
	}
}

/* --- commands from mailq -------------------------------------------- */

static void
delete_msg(struct sched *s, const char *id)
{
	struct active *a;

	if (!queue_id_valid(id))
		return;
	for (a = s->active; a != NULL; a = a->next)
		if (strcmp(a->st.env.id, id) == 0) {
			a->delete = 1;	/* when its deliveries end */
			return;
		}
	if (state_remove(s->conf->spool, id) == -1) {
		log_errno("error", id, "delete");
		return;
	}
	/* Its heap item, if any, finds no file and is dropped. */
	log_event("deleted", "id", id, (char *)NULL);
}

static void
trigger_line(struct sched *s, char *line)
{
	size_t n = strlen(SCHED_CMD_DELETE);

	if (strcmp(line, SCHED_CMD_FLUSH) == 0) {
		waitq_all_due(&s->wq);
		log_event("flush", (char *)NULL);
	} else if (strncmp(line, SCHED_CMD_DELETE, n) == 0 && line[n] == ' ')
		delete_msg(s, line + n + 1);
	else
		log_event("error", "error", "unknown trigger command",
		    "line", line, (char *)NULL);
}

static void
trigger_read(struct sched *s)
{
	char buf[512];
	ssize_t r;
	size_t i;

	while ((r = read(s->trigfd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)r; i++) {
			if (buf[i] != '\n') {
				if (s->trig_len < SCHED_TRIGGER_LINE_MAX)
					s->trig[s->trig_len++] = buf[i];
				continue;
			}
			s->trig[s->trig_len] = '\0';
			s->trig_len = 0;
			trigger_line(s, s->trig);
		}
	}
}

/* --- the configuration ------------------------------------------------ */

static int fd_room(const struct sched *);
static void srs_read(struct sched *);

/* Keys that cannot change under a running queue-run: the lock, the
 * trigger FIFO, the inotify watch and every message in flight are in
 * the spool. */
static const char *const sched_fixed[] = { "spool", NULL };

/* More slots for a larger max_deliveries (never fewer: a slot above a
 * smaller limit may hold a delivery still running). */
static void
slots_grow(struct sched *s)
{
	size_t want = s->conf->max_deliveries, i, *slot = NULL, *proc = NULL;
	struct outproc *p;
	struct job *j;

	if (want <= s->nslots)
		return;
	/* Jobs and processes point at each other: kept as indices over
	 * the move. */
	if ((slot = calloc(s->nprocs, sizeof(*slot))) == NULL ||
	    (proc = calloc(s->nslots, sizeof(*proc))) == NULL)
		goto fail;
	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].job != NULL)
			slot[i] = (size_t)(s->procs[i].job - s->jobs);
	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].proc != NULL)
			proc[i] = (size_t)(s->jobs[i].proc - s->procs);
	if ((j = reallocarray(s->jobs, want, sizeof(*j))) == NULL)
		goto fail;
	s->jobs = j;
	memset(j + s->nslots, 0, (want - s->nslots) * sizeof(*j));
	if ((p = reallocarray(s->procs, 2 * want, sizeof(*p))) != NULL) {
		s->procs = p;
		memset(p + s->nprocs, 0, (2 * want - s->nprocs) * sizeof(*p));
	}
	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].job != NULL)
			s->procs[i].job = &s->jobs[slot[i]];
	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].proc != NULL)
			s->jobs[i].proc = &s->procs[proc[i]];
	free(slot);
	free(proc);
	if (p == NULL)
		goto fail_slots;
	s->nslots = want;
	s->nprocs = 2 * want;
	if (fd_room(s) == -1)
		log_errno("error", NULL, "RLIMIT_NOFILE");
	return;
fail:
	free(slot);
	free(proc);
fail_slots:
	log_errno("error", NULL, "max_deliveries");
	s->cw->conf.max_deliveries = (unsigned)s->nslots;
}

/* posthorn.conf again if it changed (force: whatever stat says, on
 * SIGHUP), and what follows from it: everything else reads s->conf at
 * the moment it needs it (the hostname of a bounce, the local domains,
 * the limits, queue_lifetime, the drop and suffix characters, the
 * Maildir names), so it follows by itself. */
static void
reconfigure(struct sched *s, int force)
{
	enum confwatch_result r;

	r = confwatch_check(s->cw, force, sched_fixed);
	confwatch_log(s->cw, r, force ? "SIGHUP" : "change");
	if (r != CONFWATCH_RELOADED)
		return;
	/* smtp-out read the old one: its idle processes are retired. */
	s->gen++;
	slots_grow(s);
	s->nactive_max = 2 * (size_t)s->conf->max_deliveries;
	srs_read(s);
}

/* --- events ---------------------------------------------------------- */

static void
inotify_read(struct sched *s)
{
	char buf[INOTIFY_BUF]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t r;
	char *p;

	while ((r = read(s->inofd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + r; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				(void)scan(s);
			else if (ev->wd == s->newwd && ev->len > 0)
				learn(s, ev->name);
			/* Else the configuration directory: the wake-up was
			 * the point (reconfigure looks at the file). */
		}
}

static void
signal_read(struct sched *s, time_t now)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* systemctl reload: the configuration, then every
			 * message tried again under it. */
			reconfigure(s, 1);
			waitq_all_due(&s->wq);
			log_event("flush", "signal", "HUP", (char *)NULL);
		} else if (!s->stopping) {
			s->stopping = 1;
			s->stop_at = now + SCHED_STOP_GRACE;
			log_event("stopping", "running", s->njobs == 0 ? "0" :
			    "some", (char *)NULL);
		}
	}
}

/* How long poll(2) may sleep: until the next due time in whole
 * seconds, or a command's due time (due, clock_ms()) if sooner. */
static int
timeout_ms(const struct sched *s, time_t now, int64_t due)
{
	const struct waitq_item *top = waitq_top(&s->wq);
	const struct active *a;
	time_t until = s->sweep_at;
	size_t i;
	int ms;

	if (s->stopping)	/* after the grace: the killed ones' ends */
		until = s->stop_at > now ? s->stop_at : now + 1;
	else if (top != NULL && top->next < until &&
	    s->njobs < s->conf->max_deliveries && s->nactive < s->nactive_max)
		until = top->next;
	/* posthorn.conf read in its racy window: once more after it. */
	if (s->cw->racy && until > now + RACY_WAKE)
		until = now + RACY_WAKE;
	/* Counters to write: within the interval. */
	if (counters.dirty && until > now + METRICS_INTERVAL)
		until = now + METRICS_INTERVAL;
	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].pid != 0 && s->jobs[i].remote &&
		    s->jobs[i].deadline < until)
			until = s->jobs[i].deadline;
	/* An idle message still active could not start (fork failed):
	 * try again in a second rather than at the next event.  A busy one
	 * wakes us when another of its deliveries falls due. */
	for (a = s->active; a != NULL; a = a->next) {
		if (a->running == 0 && until > now + 1)
			until = now + 1;
		for (i = 0; i < a->st.n; i++) {
			const struct state_entry *e = &a->st.e[i];

			if (e->status == STATE_PENDING && !e->running &&
			    e->next > now && e->next < until)
				until = e->next;
		}
	}
	if (until <= now)
		return 0;
	/* Whole seconds: a retry is due at a second, not before it. */
	ms = until - now > INT_MAX / 1000 ? INT_MAX : (int)(until - now) *
	    1000;
	if (due != INT64_MAX) {
		due -= clock_ms();
		if (due < ms)
			ms = due > 0 ? (int)due : 0;
	}
	return ms;
}

static int
wait_events(struct sched *s, time_t now)
{
	static struct pollfd pfd[FIXED_FDS + CONF_CONCURRENCY_MAX *
	    (JOB_POLLFDS + 2 * JOB_PROC_POLLFDS)];
	static size_t first[CONF_CONCURRENCY_MAX], pfirst[2 *
	    CONF_CONCURRENCY_MAX], pn[2 * CONF_CONCURRENCY_MAX];
	size_t i, n = FIXED_FDS;
	int64_t due = INT64_MAX;
	int r;

	pfd[0].fd = s->sigfd;
	pfd[1].fd = s->inofd;
	pfd[2].fd = s->trigfd;
	for (i = 0; i < FIXED_FDS; i++)
		pfd[i].events = POLLIN;
	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].pid != 0) {
			first[i] = n;
			n += job_pollset(&s->jobs[i], &pfd[n], &due);
		}
	procs_tidy(s, &due);
	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid != 0) {
			pfirst[i] = n;
			pn[i] = job_proc_pollset(&s->procs[i], &pfd[n]);
			n += pn[i];
		}
	if ((r = poll(pfd, n, timeout_ms(s, now, due))) == -1)
		return errno == EINTR ? 0 : -1;
	now = time(NULL);
	/* One stat(2) a turn, before any event is handled: what a result,
	 * a retry or a bounce does next follows the file as it is now. */
	reconfigure(s, 0);
	if (pfd[0].revents != 0)
		signal_read(s, now);
	if (pfd[1].revents != 0)
		inotify_read(s);
	if (pfd[2].revents != 0)
		trigger_read(s);
	/* Every job gets a step, with an event or without: a command's
	 * deadline is its own to check. */
	for (i = 0; i < s->nslots; i++)
		if (s->jobs[i].pid != 0 && !s->jobs[i].remote &&
		    job_step(&s->jobs[i], &pfd[first[i]]) == 1)
			end_job(s, &s->jobs[i]);
	/* smtp-out's lines, and the ends of its processes. */
	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid != 0 && job_proc_step(&s->procs[i],
		    &pfd[pfirst[i]], pn[i]) == 1)
			end_job(s, s->procs[i].job);
	return 0;
}

/* --- setting up and stopping ---------------------------------------- */

static int
setup_lock(struct sched *s, char *why, size_t whysize)
{
	char path[PATH_MAX];

	if (spool_path(s, path, sizeof(path), SCHED_LOCK, NULL) == -1 ||
	    (s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1) {
		str_fmt_cut(why, whysize, "%s/%s: %s", s->conf->spool,
		    SCHED_LOCK, strerror(errno));
		return -1;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", path,
		    errno == EWOULDBLOCK ? "another queue-run is running" :
		    strerror(errno));
		return errno == EWOULDBLOCK ? 1 : -1;
	}
	return 0;
}

static int
setup_trigger(struct sched *s, char *why, size_t whysize)
{
	char path[PATH_MAX];
	struct stat st;

	if (spool_path(s, path, sizeof(path), SCHED_TRIGGER, NULL) == -1)
		goto fail;
	if (mkfifo(path, 0600) == -1 && errno != EEXIST)
		goto fail;
	/* Read-write, so that the FIFO never reads as at its end when the
	 * last mailq closes it. */
	if ((s->trigfd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1)
		goto fail;
	if (fstat(s->trigfd, &st) == -1)
		goto fail;
	if (!S_ISFIFO(st.st_mode)) {
		errno = EEXIST;
		goto fail;
	}
	return 0;
fail:
	str_fmt_cut(why, whysize, "%s/%s: %s", s->conf->spool, SCHED_TRIGGER,
	    strerror(errno));
	return -1;
}

/* The SRS secret, at start and at each reload of the configuration
 * (a new srs_secret_file, or the file itself replaced).  Without one,
 * forwarding keeps the sender: said once.  A secret that can no longer
 * be read is kept: bounces to the addresses it signed still come. */
static void
srs_read(struct sched *s)
{
	struct srs next;
	char why[SRS_WHY_MAX];

	if (srs_load(&next, s->conf, why, sizeof(why)) == 0) {
		s->srs = next;
		s->have_srs = 1;
	} else if (s->have_srs)
		log_event("srs-kept", "file", s->conf->srs_secret_file,
		    "reason", why, (char *)NULL);
	else
		log_event("srs-disabled", "file", s->conf->srs_secret_file,
		    "reason", why, (char *)NULL);
	explicit_bzero(&next, sizeof(next));
}

/* Descriptors for every slot and message: a command under way holds
 * three (its stdin, its stderr, its pidfd), an active message its queue
 * file (two messages a slot), and the soft limit is often 1024; it is
 * raised as far as the hard one allows when they need more. */
static int
fd_room(const struct sched *s)
{
	rlim_t need = FIXED_FDS + SCHED_FDS_SPARE +
	    (rlim_t)s->nslots * (JOB_POLLFDS + 2) +
	    (rlim_t)s->nprocs * JOB_PROC_POLLFDS;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static int
setup(struct sched *s, char *why, size_t whysize)
{
	char path[PATH_MAX];
	sigset_t set;
	int r;

	if ((r = setup_lock(s, why, whysize)) != 0)
		return r;
	if (setup_trigger(s, why, whysize) == -1)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		str_fmt_cut(why, whysize, "signals: %s", strerror(errno));
		return -1;
	}
	if (spool_path(s, path, sizeof(path), QUEUE_NEW, NULL) == -1 ||
	    (s->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    (s->newwd = inotify_add_watch(s->inofd, path, IN_MOVED_TO |
	    IN_CREATE)) == -1) {
		str_fmt_cut(why, whysize, "inotify on %s/%s: %s",
		    s->conf->spool, QUEUE_NEW, strerror(errno));
		return -1;
	}
	/* An edit of posthorn.conf wakes us, so that its log line (reloaded
	 * or rejected) comes when the file is saved, not at the next
	 * message.  Without the watch, the stat of each turn still sees
	 * the change, at the next event. */
	if (inotify_add_watch(s->inofd, s->conf->dir, IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |
	    IN_ONLYDIR) == -1)
		log_event("error", "error", "inotify", "file", s->conf->dir,
		    "reason", strerror(errno), (char *)NULL);
	if ((s->jobs = calloc(s->conf->max_deliveries, sizeof(*s->jobs))) ==
	    NULL) {
		str_fmt_cut(why, whysize, "%s", strerror(errno));
		return -1;
	}
	s->nslots = s->conf->max_deliveries;
	if ((s->procs = calloc(2 * s->nslots, sizeof(*s->procs))) == NULL) {
		str_fmt_cut(why, whysize, "%s", strerror(errno));
		return -1;
	}
	s->nprocs = 2 * s->nslots;
	if (fd_room(s) == -1) {
		str_fmt_cut(why, whysize, "RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	/* Enough messages in memory to keep every slot busy even when some
	 * wait for their destination's limit, and no more. */
	s->nactive_max = 2 * (size_t)s->conf->max_deliveries;
	/* Watch first, then scan: a message committed in between is seen
	 * twice and learnt once. */
	if (scan(s) == -1) {
		str_fmt_cut(why, whysize, "%s/%s: %s", s->conf->spool,
		    QUEUE_NEW, strerror(errno));
		return -1;
	}
	sweep(s, time(NULL));
	srs_read(s);
	return 0;
}

/* Past the grace time: the deliveries still running are killed; they
 * are retried at the next start. */
static void
stop_jobs(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->nslots; i++) {
		if (s->jobs[i].pid == 0)
			continue;
		job_kill(&s->jobs[i]);
		/* A command is reaped by now; smtp-out's pipe ends. */
		if (!s->jobs[i].remote)
			end_job(s, &s->jobs[i]);
	}
}

static void
teardown(struct sched *s)
{
	size_t i;

	while (s->active != NULL)
		drop_active(s, s->active);
	waitq_free(&s->wq);
	if (s->jobs != NULL)
		for (i = 0; i < s->nslots; i++)
			job_release(&s->jobs[i]);
	free(s->jobs);
	/* Idle ones see the end of their jobs and QUIT by themselves. */
	if (s->procs != NULL)
		for (i = 0; i < s->nprocs; i++)
			job_proc_abandon(&s->procs[i]);
	free(s->procs);
	if (s->sigfd != -1)
		fd_close(&s->sigfd);
	if (s->inofd != -1)
		fd_close(&s->inofd);
	if (s->trigfd != -1)
		fd_close(&s->trigfd);
	if (s->lockfd != -1)
		fd_close(&s->lockfd);
}

enum sched_exit
sched_run(struct confwatch *cw, char *why, size_t whysize)
{
	const struct conf *conf = &cw->conf;
	struct sched s;
	enum sched_exit rc = SCHED_EXIT_SOFTWARE;
	time_t now;
	int r, killed = 0;

	memset(&s, 0, sizeof(s));
	s.cw = cw;
	s.conf = conf;
	s.sigfd = s.inofd = s.trigfd = s.lockfd = s.newwd = -1;
	waitq_init(&s.wq);
	if ((r = setup(&s, why, whysize)) != 0) {
		rc = r == 1 ? SCHED_EXIT_BUSY : SCHED_EXIT_SOFTWARE;
		goto out;
	}
	log_event("started", "spool", conf->spool, (char *)NULL);
	for (;;) {
		now = time(NULL);
		if (s.stopping && s.njobs == 0)
			break;
		if (s.stopping && now >= s.stop_at && !killed) {
			stop_jobs(&s);
			killed = 1;
		}
		if (!s.stopping) {
			if (now >= s.sweep_at) {
				(void)scan(&s);
				sweep(&s, now);
			}
			fill(&s, now);
		}
		watchdog(&s, now);
		finish_idle(&s);
		write_counters(&s, 0);
		if (s.stopping && s.njobs == 0)
			continue;
		if (wait_events(&s, now) == -1) {
			str_fmt_cut(why, whysize, "poll: %s", strerror(errno));
			goto out;
		}
	}
	finish_idle(&s);
	write_counters(&s, 1);
	log_event("stopped", (char *)NULL);
	rc = SCHED_EXIT_OK;
out:
	teardown(&s);
	return rc;
}
