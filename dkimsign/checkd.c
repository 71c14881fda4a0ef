/* checkd.c — smtp-checkd's work (checkd.h): the receiving thread, the
 * bounded queue, the workers, and the answer to one request. */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dmarc.h"
#include "psl.h"
#include "checkd.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "queue.h"
#include "str.h"
#include "verify.h"

/* The largest file a session may give as a message: a queue file holds
 * an envelope and a message no larger than max_message_size allows.  A
 * larger one (a sparse file from a session gone wrong) would have the
 * checker hash bytes no client sent. */
#define CHECKD_FILE_MAX	((off_t)(CONF_MAX_MESSAGE_SIZE_MAX + QUEUE_ENV_MAX))

/* What smtp-in lets through is what the checker reads (ckproto.h). */
_Static_assert((long)CKP_HEADER_MAX == (long)VERIFY_HEADER_MAX,
    "smtp-in's header limit is the checker's");
_Static_assert((long)CKP_FIELDS_MAX == (long)HDR_FIELDS_MAX,
    "smtp-in's field limit is the checker's");

/* The public suffix list in use, shared by the workers: a reference
 * each while it checks, one for being current. */
struct pslref {
	struct psl_table	 t;
	unsigned		 refs;
	struct stat		 st;
};

struct job {
	struct ckp_request	 req;
	int			 reply;		/* the session's socket */
	int			 msg;		/* the message, or -1 */
	int64_t			 queued;	/* ms, for the log */
};

static struct {
	const struct checkd_opts *o;
	struct dns_opts	 dns;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	 q[CHECKD_QUEUE_MAX];
	size_t		 head, n;
	int		 stop;
	pthread_mutex_t	 logmu;		/* one log line at a time */
	struct pslref	*psl;		/* under mu */
	int64_t		 psl_checked;
} D = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.logmu = PTHREAD_MUTEX_INITIALIZER
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the public suffix list ------------------------------------------- */

static void
psl_put(struct pslref *r)
{
	if (r == NULL)
		return;
	(void)pthread_mutex_lock(&D.mu);
	if (--r->refs == 0) {
		psl_table_free(&r->t);
		free(r);
	}
	(void)pthread_mutex_unlock(&D.mu);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The list to check with (a reference), loaded again when the file has
 * changed since it was last looked at; NULL when it cannot be loaded
 * (the checks then read the file, and say why it failed). */
static struct pslref *
psl_get(void)
{
	const char *file = D.o->psl_file != NULL ? D.o->psl_file : PSL_FILE;
	struct pslref *r, *old;
	struct stat st, cur;
	int64_t now = now_ms();
	int look, have = 0;

	(void)pthread_mutex_lock(&D.mu);
	look = D.psl == NULL || now - D.psl_checked >= CHECKD_PSL_RECHECK_MS;
	if (look)
		D.psl_checked = now;
	if (D.psl != NULL) {
		cur = D.psl->st;	/* D.psl may be replaced once we let go */
		have = 1;
	}
	(void)pthread_mutex_unlock(&D.mu);
	if (look && stat(file, &st) == 0 && (!have || !same_file(&st, &cur)) &&
	    (r = calloc(1, sizeof(*r))) != NULL) {
		/* Loaded outside the lock: another worker may load it too,
		 * once a change, and the last one in stays. */
		if (psl_table_load(&r->t, file) == 0) {
			r->st = st;
			r->refs = 1;
			(void)pthread_mutex_lock(&D.mu);
			old = D.psl;
			D.psl = r;
			(void)pthread_mutex_unlock(&D.mu);
			psl_put(old);
		} else
			free(r);
	}
	(void)pthread_mutex_lock(&D.mu);
	if ((r = D.psl) != NULL)
		r->refs++;
	(void)pthread_mutex_unlock(&D.mu);
	return r;
}

/* --- one answer -------------------------------------------------------- */

/* --- the lookups of a message, at once --------------------------------- */

struct ahead_slot {
	char			 name[DNS_NAME_MAX + 1];
	size_t			 max;	/* the texts asked for */
	struct dns_text		*t;
	size_t			 n;
	enum dns_result		 r;
	char			 why[DMARC_WHY_MAX + 1];
	const struct dns_opts	*dns;
	pthread_t		 tid;
	int			 running;	/* not joined yet */
};

struct ahead {
	struct ahead_slot	 s[CHECKD_AHEAD_MAX];
	size_t			 n;
	const struct dns_opts	*dns;
	/* the slots' texts, DMARC_TXTS_MAX each (the scratch's) */
	struct dns_text		(*texts)[DMARC_TXTS_MAX];
};

static void *
ahead_run(void *arg)
{
	struct ahead_slot *sl = arg;

	sl->r = dns_txt_with(sl->dns, sl->name, sl->t, sl->max, &sl->n,
	    sl->why, sizeof(sl->why));
	return NULL;
}

/* Ask name now, in a thread; nothing when it is asked already, there is
 * no slot left or no thread to be had (the check asks it itself). */
static void
ahead_add(struct ahead *a, const char *name, size_t max)
{
	struct ahead_slot *sl;
	pthread_attr_t attr;
	size_t i;
	int e;

	for (i = 0; i < a->n; i++)
		if (str_casecmp(a->s[i].name, name) == 0)
			return;
	if (a->n == CHECKD_AHEAD_MAX)
		return;
	sl = &a->s[a->n];
	memset(sl, 0, sizeof(*sl));
	if (max > DMARC_TXTS_MAX ||
	    str_copy(sl->name, sizeof(sl->name), name) == -1)
		return;
	sl->t = a->texts[a->n];
	sl->max = max;
	sl->dns = a->dns;
	if (pthread_attr_init(&attr) != 0)
		return;
	e = pthread_attr_setstacksize(&attr, CHECKD_STACK);
	if (e == 0)
		e = pthread_create(&sl->tid, &attr, ahead_run, sl);
	(void)pthread_attr_destroy(&attr);
	if (e != 0)
		return;
	sl->running = 1;
	a->n++;
}

/* The keys of v's signatures and the _dmarc names of its From domain
 * and of that domain's organizational domain. */
static void
ahead_start(struct ahead *a, const struct verify *v,
    const struct psl_table *psl)
{
	char from[DNS_NAME_MAX + 1], name[DNS_NAME_MAX + 1];
	const char *names[1];
	struct psl_name org;
	size_t i;

	for (i = 0; i < v->nsig; i++)
		if (v->sig[i].parsed && v->sig[i].s[0] != '\0' &&
		    v->sig[i].d[0] != '\0' && str_fmt(name, sizeof(name),
		    "%s._domainkey.%s", v->sig[i].s, v->sig[i].d) == 0)
			ahead_add(a, name, VERIFY_TXTS_MAX);
	if (check_from_domain(&v->h, from, sizeof(from)) != CHECK_FROM_ONE)
		return;
	if (str_fmt(name, sizeof(name), "_dmarc.%s", from) == 0)
		ahead_add(a, name, DMARC_TXTS_MAX);
	names[0] = from;
	if (psl != NULL && psl_table_org_domains(psl, names, 1, &org) == 0 &&
	    str_casecmp(org.org, from) != 0 &&
	    str_fmt(name, sizeof(name), "_dmarc.%s", org.org) == 0)
		ahead_add(a, name, DMARC_TXTS_MAX);
}

/* The checks' TXT lookups (ctx: the struct ahead): a name asked ahead
 * for as many texts gets that answer, once its thread is done; any
 * other is asked now. */
static enum dns_result
txt_ahead(void *ctx, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	struct ahead *a = ctx;
	struct ahead_slot *sl;
	size_t i;

	for (i = 0; i < a->n; i++) {
		sl = &a->s[i];
		if (sl->max != max || str_casecmp(sl->name, name) != 0)
			continue;
		if (sl->running) {
			(void)pthread_join(sl->tid, NULL);
			sl->running = 0;
		}
		memcpy(out, sl->t, sl->n * sizeof(*out));
		*n = sl->n;
		str_fmt_cut(why, whysize, "%s", sl->why);
		return sl->r;
	}
	return dns_txt_with(a->dns, name, out, max, n, why, whysize);
}

static void
ahead_end(struct ahead *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->s[i].running)
			(void)pthread_join(a->s[i].tid, NULL);
	a->n = 0;
}

static int
spf_word(const char *w, enum spf_result *r)
{
	static const enum spf_result all[] = { SPF_NONE, SPF_NEUTRAL,
	    SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(w, spf_result_name(all[i])) == 0) {
			*r = all[i];
			return 0;
		}
	return -1;
}

/* The SPF answer the session already had (asked at MAIL FROM), as
 * spf_check_mailfrom would have left it: the MAIL FROM identity, or
 * postmaster@HELO's for the null sender (RFC 7208 §2.4). */
static int
spf_known(const struct ckp_request *r, struct spf_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (spf_word(r->spf, &a->result) == -1)
		return -1;
	if (r->sender[0] == '\0') {
		a->identity = "helo";
		return str_fmt(a->sender, sizeof(a->sender), "postmaster@%s",
		    r->helo);
	}
	a->identity = "mailfrom";
	return str_copy(a->sender, sizeof(a->sender), r->sender);
}

/* The word of the DKIM results for the log and the policy: pass when a
 * signature passed, else the first signature's, none without one. */
static const char *
dkim_summary(const struct verify *v)
{
	size_t i;

	for (i = 0; i < v->nsig; i++)
		if (v->sig[i].result == VERIFY_PASS)
			return "pass";
	return v->nsig == 0 ? "none" : verify_result_name(v->sig[0].result);
}

static void
answer_spf(const struct spf_request *sr, const struct ckp_request *r,
    struct ckp_answer *a)
{
	struct spf_answer *sa;

	if ((sa = malloc(sizeof(*sa))) == NULL) {
		ckp_temperror(r, NULL, "out of memory", a);
		return;
	}
	(void)spf_check_mailfrom(sr, sa);
	memset(a, 0, sizeof(*a));
	a->kind = CKP_SPF;
	(void)str_copy(a->spf, sizeof(a->spf), spf_result_name(sa->result));
	str_fmt_cut(a->spf_exp, sizeof(a->spf_exp), "%s", sa->explanation);
	(void)str_copy(a->policy, sizeof(a->policy), "none");
	(void)str_copy(a->disposition, sizeof(a->disposition), "none");
	free(sa);
}

/* What a message's checks work in, some 800 KB (the header buffer, the
 * signatures, the lookups' texts): each worker has its own, made once,
 * so that a message costs no allocation and no page fault for it. */
struct scratch {
	struct verify		 v;
	struct check		 c;
	struct spf_answer	 known;
	struct ahead		 ahead;
	char			 hbuf[VERIFY_HEADER_MAX];
	struct dns_text		 texts[CHECKD_AHEAD_MAX][DMARC_TXTS_MAX];
};

static __thread struct scratch *thread_scratch;

static void
answer_msg(struct check_request *cr, const struct ckp_request *r,
    int msgfd, struct ckp_answer *a)
{
	struct scratch *sc = thread_scratch, *own = NULL;
	struct verify *v;
	struct check *c;
	struct ahead *ahead;
	struct str ar;

	/* Not a worker's (a test's call): its own, for this once. */
	if (sc == NULL && (sc = own = malloc(sizeof(*sc))) == NULL) {
		ckp_temperror(r, r->spf, "out of memory", a);
		return;
	}
	v = &sc->v;
	c = &sc->c;
	ahead = &sc->ahead;
	memset(ahead, 0, sizeof(*ahead));
	ahead->dns = &cr->spf.dns;
	ahead->texts = sc->texts;
	if (r->spf[0] != '\0' && spf_known(r, &sc->known) == 0)
		cr->spf_done = &sc->known;
	if (verify_read(v, msgfd, sc->hbuf) == -1) {
		ckp_temperror(r, r->spf, errno == E2BIG ? "header too large" :
		    "message unreadable", a);
		goto out;
	}
	ahead_start(ahead, v, cr->psl);
	cr->txt = txt_ahead;
	cr->txt_ctx = ahead;
	verify_finish(v, cr->spf.now, txt_ahead, ahead);
	if (check_run(cr, v, c) == -1) {
		ckp_temperror(r, spf_result_name(c->spf.result),
		    "public suffix list unreadable", a);
		goto out;
	}
	memset(a, 0, sizeof(*a));
	a->kind = CKP_MSG;
	str_init(&ar, a->authres, sizeof(a->authres));
	if (check_ar_value(cr, v, c, &ar) == -1) {
		ckp_temperror(r, spf_result_name(c->spf.result),
		    "results too long", a);
		goto out;
	}
	(void)str_copy(a->spf, sizeof(a->spf), spf_result_name(c->spf.result));
	(void)str_copy(a->dkim, sizeof(a->dkim), dkim_summary(v));
	(void)str_copy(a->dmarc, sizeof(a->dmarc),
	    dmarc_result_name(c->dmarc.result));
	(void)str_copy(a->policy, sizeof(a->policy),
	    dmarc_policy_name(c->dmarc.policy));
	(void)str_copy(a->disposition, sizeof(a->disposition),
	    dmarc_policy_name(c->dmarc.disposition));
out:
	ahead_end(ahead);
	free(own);
}

void
checkd_answer(const struct checkd_opts *o, const struct ckp_request *r,
    int msgfd, struct ckp_answer *a)
{
	struct check_request cr;
	struct pslref *psl;

	memset(&cr, 0, sizeof(cr));
	if (dns_addr_parse(r->ip, &cr.spf.ip) == -1) {
		ckp_temperror(r, r->spf, "client address unknown", a);
		return;
	}
	cr.spf.helo = r->helo;
	cr.spf.sender = r->sender;
	cr.spf.receiver = r->authserv;
	cr.spf.now = (long long)time(NULL);
	cr.spf.dns = o->dns;
	if (cr.spf.dns.timeout == 0)
		cr.spf.dns.timeout = CHECKD_DNS_TIMEOUT;
	if (cr.spf.dns.attempts == 0)
		cr.spf.dns.attempts = CHECKD_DNS_ATTEMPTS;
	cr.spf.time_limit = SPF_TIME_MIN;
	cr.authserv = r->authserv;
	cr.psl_file = o->psl_file;
	cr.sample = -1;
	if (r->kind == CKP_SPF) {
		answer_spf(&cr.spf, r, a);
		return;
	}
	psl = D.o != NULL ? psl_get() : NULL;
	cr.psl = psl != NULL ? &psl->t : NULL;
	answer_msg(&cr, r, msgfd, a);
	psl_put(psl);
}

/* --- the workers ------------------------------------------------------- */

static void
reply(struct job *j, const struct ckp_answer *a)
{
	char buf[CKP_DGRAM_MAX];
	size_t len;

	/* The session may have given up: its socket is closed, and the
	 * send fails, which is nobody's concern. */
	if (ckp_answer_encode(a, buf, sizeof(buf), &len) == 0)
		(void)ckp_send(j->reply, buf, len, NULL, 0);
}

static void
logged(const struct job *j, const struct ckp_answer *a, const char *note)
{
	char ms[24];

	str_fmt_cut(ms, sizeof(ms), "%lld", (long long)(now_ms() - j->queued));
	(void)pthread_mutex_lock(&D.logmu);
	log_event("checked", "kind", j->req.kind == CKP_MSG ? "msg" : "spf",
	    "id", j->req.id[0] != '\0' ? j->req.id : NULL,
	    "peer", j->req.ip, "spf", a->spf,
	    "dkim", a->dkim[0] != '\0' ? a->dkim : NULL,
	    "dmarc", a->dmarc[0] != '\0' ? a->dmarc : NULL,
	    "ms", ms, "note", note, (char *)NULL);
	(void)pthread_mutex_unlock(&D.logmu);
}

static void
job_close(struct job *j)
{
	fd_close(&j->reply);
	fd_close(&j->msg);
}

static void *
worker(void *arg)
{
	struct ckp_answer *a;
	struct job j;

	(void)arg;
	if ((a = malloc(sizeof(*a))) == NULL)
		return NULL;
	/* Without it, each message makes its own (answer_msg). */
	thread_scratch = malloc(sizeof(*thread_scratch));
	for (;;) {
		(void)pthread_mutex_lock(&D.mu);
		while (D.n == 0 && !D.stop)
			(void)pthread_cond_wait(&D.cv, &D.mu);
		if (D.n == 0) {
			(void)pthread_mutex_unlock(&D.mu);
			break;
		}
		j = D.q[D.head];
		D.head = (D.head + 1) % CHECKD_QUEUE_MAX;
		D.n--;
		(void)pthread_mutex_unlock(&D.mu);
		checkd_answer(D.o, &j.req, j.msg, a);
		reply(&j, a);
		logged(&j, a, NULL);
		job_close(&j);
	}
	free(thread_scratch);
	thread_scratch = NULL;
	free(a);
	return NULL;
}

/* --- the receiving thread ---------------------------------------------- */

/* fd is a socket of type type (the reply end), or a regular file (the
 * message). */
static int
fd_is(int fd, int type)
{
	struct stat st;
	socklen_t len = sizeof(int);
	int t;

	if (fstat(fd, &st) == -1)
		return 0;
	if (type == 0)
		return S_ISREG(st.st_mode) && st.st_size <= CHECKD_FILE_MAX;
	return S_ISSOCK(st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_TYPE,
	    &t, &len) == 0 && t == type;
}

/* One request in: queued, or answered temperror at once when the queue
 * is full.  A malformed one is closed and logged. */
static void
take(const char *buf, size_t len, int *fds, size_t nfds)
{
	struct ckp_answer *busy;
	struct job j;
	size_t want, i;

	memset(&j, 0, sizeof(j));
	j.reply = j.msg = -1;
	if (ckp_request_decode(buf, len, &j.req) == -1)
		goto bad;
	want = j.req.kind == CKP_MSG ? 2 : 1;
	if (nfds != want || !fd_is(fds[0], SOCK_SEQPACKET) ||
	    (want == 2 && !fd_is(fds[1], 0)))
		goto bad;
	j.reply = fds[0];
	j.msg = want == 2 ? fds[1] : -1;
	j.queued = now_ms();
	(void)pthread_mutex_lock(&D.mu);
	if (D.n < CHECKD_QUEUE_MAX) {
		D.q[(D.head + D.n) % CHECKD_QUEUE_MAX] = j;
		D.n++;
		(void)pthread_cond_signal(&D.cv);
		(void)pthread_mutex_unlock(&D.mu);
		return;
	}
	(void)pthread_mutex_unlock(&D.mu);
	if ((busy = malloc(sizeof(*busy))) != NULL) {
		ckp_temperror(&j.req, j.req.spf, "checker busy", busy);
		reply(&j, busy);
		logged(&j, busy, "busy");
		free(busy);
	}
	job_close(&j);
	return;
bad:
	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
	(void)pthread_mutex_lock(&D.logmu);
	log_event("refused", "reason", "malformed request", (char *)NULL);
	(void)pthread_mutex_unlock(&D.logmu);
}

int
checkd_run(int sock, const struct checkd_opts *o)
{
	static char buf[CKP_DGRAM_MAX];
	pthread_t tid[CHECKD_THREADS];
	pthread_attr_t attr;
	int fds[CKP_NFDS_MAX], e, rc = -1, saved = 0;
	size_t nfds, i, started = 0, want;
	ssize_t n;

	D.o = o;
	want = o->threads > 0 && o->threads < CHECKD_THREADS ?
	    (size_t)o->threads : CHECKD_THREADS;
	if ((e = pthread_attr_init(&attr)) != 0 ||
	    (e = pthread_attr_setstacksize(&attr, CHECKD_STACK)) != 0) {
		errno = e;
		return -1;
	}
	for (i = 0; i < want; i++) {
		if ((e = pthread_create(&tid[i], &attr, worker, NULL)) != 0)
			break;
		started++;
	}
	(void)pthread_attr_destroy(&attr);
	if (started == 0) {
		errno = e;
		return -1;
	}
	for (;;) {
		n = ckp_recv(sock, buf, sizeof(buf), fds, &nfds);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EMSGSIZE) {
				(void)pthread_mutex_lock(&D.logmu);
				log_event("refused", "reason",
				    "malformed request", (char *)NULL);
				(void)pthread_mutex_unlock(&D.logmu);
				continue;
			}
			saved = errno;
			break;
		}
		if (n == 0) {		/* the listener and every session gone */
			rc = 0;
			break;
		}
		take(buf, (size_t)n, fds, nfds);
	}
	/* What is queued is still answered: a session may be waiting. */
	(void)pthread_mutex_lock(&D.mu);
	D.stop = 1;
	(void)pthread_cond_broadcast(&D.cv);
	(void)pthread_mutex_unlock(&D.mu);
	for (i = 0; i < started; i++)
		(void)pthread_join(tid[i], NULL);
	psl_put(D.psl);
	D.psl = NULL;
	errno = saved;
	return rc;
}
