/* seal.c — ARC sealing of forwarded mail (seal.h), in queue-run's own
 * process with dkimsign's ARC code (arc.h) and the keys queue-run keeps
 * for DKIM (keycache.h): no program is started per message.
 *
 * Only mail from outside is sealed: our own users' mail is DKIM-signed
 * already (dkim.h) and passes DMARC on its own, and a local delivery
 * leaves no trace that a receiver would need to trust.  A message whose
 * recipients forward through aliases of several local domains is
 * sealed once, by the domain of the first forwarded copy that leaves:
 * one ARC set per hop is what RFC 8617 describes. */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arc.h"
#include "atomic.h"
#include "dns.h"
#include "domains.h"
#include "hdr.h"
#include "io.h"
#include "keycache.h"
#include "log.h"
#include "seal.h"
#include "str.h"

enum {
	SEAL_IO = 65536			/* one read of the body */
};

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

int
seal_forwarded(const struct conf *c, const struct state *st,
    const struct state_entry *e)
{
	const char *via = st->env.via != NULL ? st->env.via : "";

	if (e->kind != STATE_REMOTE || str_casecmp(e->orig, e->addr) == 0)
		return 0;
	if ((st->env.auth != NULL && st->env.auth[0] != '\0') ||
	    strcmp(via, "local") == 0 || strcmp(via, "bounce") == 0 ||
	    strcmp(via, "double-bounce") == 0)
		return 0;		/* ours, DKIM-signed if at all */
	return domains_is_local(c, domain_of(e->orig)) == 1;
}

/* The keys of the sets already there, from the DNS, with short waits. */
static enum dns_result
dns_keys(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	struct dns_opts o = { SEAL_DNS_TIMEOUT, SEAL_DNS_ATTEMPTS };

	(void)arg;
	return dns_txt_with(&o, name, out, max, n, why, whysize);
}

int
seal_make(const struct conf *c, int fd, const char *domain,
    const struct keys_key *k, const char *authres, verify_txt_fn *txt,
    void *arg, char *out, size_t size, size_t *len, char *why,
    size_t whysize)
{
	struct arc_budget budget;
	struct arc *a = NULL;
	char *hbuf = NULL, *io = NULL;
	size_t n, hlen, body;
	const char *cv;
	struct str o;
	ssize_t got;
	int rc = -1;

	if ((a = malloc(sizeof(*a))) == NULL ||
	    (hbuf = malloc(VERIFY_HEADER_MAX)) == NULL ||
	    (io = malloc(SEAL_IO)) == NULL) {
		str_fmt_cut(why, whysize, "%s", strerror(errno));
		goto out;
	}
	if (hdr_read(fd, hbuf, VERIFY_HEADER_MAX, &n, &hlen, &body) == -1 ||
	    arc_header(a, hbuf, hlen) == -1) {
		str_fmt_cut(why, whysize, "reading the header: %s",
		    errno == E2BIG ? "too large" : strerror(errno));
		goto out;
	}
	arc_body(a, hbuf + body, n - body);
	for (;;) {
		got = read(fd, io, SEAL_IO);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			str_fmt_cut(why, whysize, "read: %s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		arc_body(a, io, (size_t)got);
	}
	arc_budget_start(&budget, txt != NULL ? txt : dns_keys, arg,
	    SEAL_DNS_BUDGET);
	arc_finish(a, arc_budget_txt, &budget);
	if ((cv = arc_next_cv(a)) == NULL) {
		str_fmt_cut(why, whysize, "ARC chain i=%u %s: %s", a->n,
		    arc_cv_name(a->cv), a->why[0] != '\0' ? a->why :
		    "50 sets already");
		rc = 1;
		goto out;
	}
	str_init(&o, out, size);
	if (arc_seal(a, domain, k, (long long)time(NULL), authres,
	    c->hostname, &o) == -1) {
		if (errno == EINVAL) {
			str_fmt_cut(why, whysize, "no header field to sign");
			rc = 1;
		} else
			str_fmt_cut(why, whysize, "sealing failed: %s",
			    strerror(errno));
		goto out;
	}
	*len = o.len;
	rc = 0;
out:
	free(a);
	free(hbuf);
	free(io);
	return rc;
}

static void
unsealed(struct state *st, const char *domain, const char *why)
{
	st->seal = STATE_SEAL_NONE;
	log_event("unsealed", "id", st->env.id, "domain", domain, "reason",
	    why, (char *)NULL);
}

void
seal_prepare(const struct conf *c, struct state *st,
    const struct state_entry *e)
{
	const struct keys_key *keys, *k;
	char dom[CONF_HOSTNAME_MAX + 1], why[STATE_REASON_MAX];
	char path[PATH_MAX], *buf = NULL;
	size_t n, len = 0;
	int fd = -1, r;

	if (st->seal != STATE_SEAL_UNKNOWN)
		return;
	if (st->arc != NULL) {		/* sealed at an earlier activation */
		st->seal = STATE_SEAL_DONE;
		return;
	}
	if (!c->arc_seal || st->dkim != NULL) {
		st->seal = STATE_SEAL_NONE;
		return;
	}
	if (!seal_forwarded(c, st, e))
		return;			/* another entry may be */
	if (str_copy(dom, sizeof(dom), domain_of(e->orig)) == -1) {
		st->seal = STATE_SEAL_NONE;
		return;
	}
	str_lower(dom);
	if (keycache_get(c, dom, &keys, &n, why, sizeof(why)) == -1) {
		unsealed(st, dom, why);
		return;
	}
	if ((k = arc_pick_key(keys, n)) == NULL) {
		st->seal = STATE_SEAL_NONE;	/* no key: arc_seal(5) */
		return;
	}
	if ((buf = malloc(STATE_ARC_MAX)) == NULL) {
		unsealed(st, dom, strerror(errno));
		return;
	}
	/* Its own open file at the first message byte, as dkim_run. */
	if (str_fmt(path, sizeof(path), "%s/%s/%s", c->spool, QUEUE_NEW,
	    st->env.id) == -1 || (fd = open(path, O_RDONLY | O_CLOEXEC)) ==
	    -1 || lseek(fd, st->env.body, SEEK_SET) == -1) {
		str_fmt_cut(why, sizeof(why), "cannot read %s: %s", path,
		    strerror(errno == 0 ? ENAMETOOLONG : errno));
		unsealed(st, dom, why);
		goto out;
	}
	r = seal_make(c, fd, dom, k, st->env.authres, NULL, NULL, buf,
	    STATE_ARC_MAX, &len, why, sizeof(why));
	if (r == 0 && !state_arc_valid(buf, len)) {
		str_fmt_cut(why, sizeof(why), "no ARC set made");
		r = -1;
	}
	if (r != 0) {
		unsealed(st, dom, why);
		goto out;
	}
	/* Kept before the first copy carries it: every copy and every
	 * retry carries the same set. */
	if (state_arc_path(path, sizeof(path), c->spool, st->env.id) == -1 ||
	    atomic_write(path, buf, len, 0640) == -1) {
		str_fmt_cut(why, sizeof(why), "cannot write %s: %s", path,
		    strerror(errno));
		unsealed(st, dom, why);
		goto out;
	}
	st->arc = buf;
	st->arclen = len;
	buf = NULL;
	st->seal = STATE_SEAL_DONE;
	log_event("sealed", "id", st->env.id, "domain", dom, "selector",
	    k->selector, (char *)NULL);
out:
	fd_close(&fd);
	free(buf);
}
