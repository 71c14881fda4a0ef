/* dkim.c — DKIM signing on the way out (dkim.h): which messages are
 * ours to sign, and signing one of them.
 *
 * Signing happens in queue-run rather than in smtp-in or the injector so
 * that it costs nothing per connection, happens once per message whatever
 * the number of recipients and retries, and covers every way out (Maildir,
 * pipe, MDA, smtp-out) with one file: SPOOL/state/ID.dkim.  It happens in
 * queue-run's own process, with dkimsign's code (filter_fields, the
 * same as "dkimsign -h") and keys kept loaded (keycache.h): starting
 * dkimsign, a program linked to GnuTLS, cost ~8 ms of CPU per message,
 * several times the signing itself. */

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "atomic.h"
#include "dkim.h"
#include "filter.h"
#include "io.h"
#include "keycache.h"
#include "log.h"
#include "mailhdr.h"
#include "sendas.h"
#include "str.h"

#define DKIM_DIR	"dkim"		/* DIR/domains/DOMAIN/dkim/ */

enum {
	HDR_BLOCK = 8192		/* bytes per pread of the header */
};

/* --- which domain ------------------------------------------------------ */

/* 1 if DIR/domains/DOMAIN/dkim/ holds a key file as dkimsign's
 * keys_load_dir sees them (SELECTOR.rsa or SELECTOR.ed25519, no leading
 * dot); 0 if not or if domain is not one of ours; -1 with errno. */
static int
has_keys(const struct conf *c, const char *domain)
{
	static const char *const suffix[] = { ".rsa", ".ed25519" };
	char dir[PATH_MAX];
	struct dirent *d;
	size_t nl, sl, i;
	DIR *dp;
	int found = 0, err;

	if (domain[0] == '\0' ||
	    conf_domain_path(c, domain, DKIM_DIR, dir, sizeof(dir)) == -1)
		return 0;
	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while (!found && (errno = 0, d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		nl = strlen(d->d_name);
		for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
			sl = strlen(suffix[i]);
			if (nl > sl && strcmp(d->d_name + nl - sl,
			    suffix[i]) == 0)
				found = 1;
		}
	}
	if (!found && errno != 0) {
		err = errno;
		closedir(dp);
		errno = err;
		return -1;
	}
	closedir(dp);
	return found;
}

struct first {
	char	addr[ADDR_TEXT_MAX + 1];
	int	found;
};

static int
first_cb(void *arg, const char *addr, size_t len)
{
	struct first *f = arg;

	if (len >= sizeof(f->addr))
		return 1;	/* too long to be a mailbox: none */
	memcpy(f->addr, addr, len);
	f->addr[len] = '\0';
	f->found = 1;
	return 1;
}

/* The domain of the first address of the first From: field of the
 * header, lowercased, as dkimsign takes it: 1, or 0 when there is none
 * (no From:, no address, a header beyond DKIM_HEADER_MAX), -1 errno. */
static int
from_domain(const struct state *st, char *dom, size_t size, char *from,
    size_t fromsize)
{
	struct first f;
	char *h = NULL, *p, *end, *nl, *next, *field = NULL, *fend;
	const char *value, *at;
	size_t len = 0;
	ssize_t n;
	int rc = -1;

	if ((h = malloc(DKIM_HEADER_MAX + 1)) == NULL)
		return -1;
	/* The header and its empty line, or as much as the bound lets in. */
	while (len < DKIM_HEADER_MAX && len < (size_t)st->size) {
		size_t want = DKIM_HEADER_MAX - len;

		if (want > HDR_BLOCK)
			want = HDR_BLOCK;
		if ((off_t)want > st->size - (off_t)len)
			want = (size_t)(st->size - (off_t)len);
		n = pread(st->fd, h + len, want, st->env.body + (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
		h[len] = '\0';
		if (strstr(h, "\n\n") != NULL || h[0] == '\n')
			break;
	}
	h[len] = '\0';
	/* The first From: field: its line and the folds after it. */
	for (p = h, end = h + len; p < end; p = next) {
		nl = memchr(p, '\n', (size_t)(end - p));
		next = nl != NULL ? nl + 1 : end;
		if (field == NULL) {
			if (p[0] == '\n')
				break;		/* the empty line */
			if (mailhdr_is(p, (size_t)(next - p), "From", &value))
				field = p;
			continue;
		}
		if (p[0] != ' ' && p[0] != '\t')
			break;			/* the next field */
	}
	fend = p;
	rc = 0;
	if (field == NULL)
		goto out;
	(void)mailhdr_is(field, (size_t)(fend - field), "From", &value);
	f.found = 0;
	if (mailhdr_addresses(value, (size_t)(fend - value), first_cb, &f) ==
	    -1 || !f.found || (at = strrchr(f.addr, '@')) == NULL ||
	    at[1] == '\0' || str_copy(dom, size, at + 1) == -1 ||
	    str_copy(from, fromsize, f.addr) == -1)
		goto out;
	str_lower(dom);
	rc = 1;
out:
	free(h);
	return rc;
}

/* The hostname's domain, then its parent's: the first with a key. */
static int
bounce_domain(const struct conf *c, char *dom, size_t size)
{
	const char *h = c->hostname, *dot;
	int r;

	if ((r = has_keys(c, h)) != 0) {
		if (r == 1 && str_copy(dom, size, h) == -1)
			return 0;
		return r;
	}
	/* mx.example.org signs as example.org, never as a bare "org". */
	if ((dot = strchr(h, '.')) == NULL || strchr(dot + 1, '.') == NULL)
		return 0;
	if ((r = has_keys(c, dot + 1)) == 1 &&
	    str_copy(dom, size, dot + 1) == -1)
		return 0;
	return r;
}

/* May the injector of st's message have it signed as from, of domain
 * dom?  1, 0 with why, -1 with why. */
static int
sender_may(const struct conf *c, const struct state *st, const char *from,
    const char *dom, char *why, size_t whysize)
{
	const char *login = st->env.auth, *at;
	char swhy[DKIM_WHY_MAX];
	struct passwd *pw = NULL;
	long self = (long)getuid();
	enum sendas r;

	if (login != NULL && login[0] != '\0') {
		/* smtp-in checked it; this is the same rule again, so that
		 * a parse that differs cannot lend another domain's key. */
		r = sendas_login(c, login, from, swhy, sizeof(swhy));
		at = strrchr(login, '@');
		if (r == SENDAS_ANY && at != NULL &&
		    str_casecmp(at + 1, dom) == 0)
			return 1;
		if (r == SENDAS_ANY)
			str_fmt_cut(why, whysize, "From: <%s> was let through "
			    "by %s, which lends no key of %s", from, swhy, dom);
		else
			str_fmt_cut(why, whysize, "From: <%s> is not an "
			    "address of user %s", from, login);
	} else {
		/* A name for DIR/senders; none is no name, not an error. */
		if (st->env.uid > 0 && st->env.uid != self)
			pw = getpwuid((uid_t)st->env.uid);
		r = sendas_local(c, st->env.uid, pw != NULL ? pw->pw_name :
		    NULL, self, from, swhy, sizeof(swhy));
		if (r == SENDAS_NO)
			str_fmt_cut(why, whysize, "From: <%s>: %s", from,
			    swhy);
	}
	switch (r) {
	case SENDAS_YES:
		return 1;
	case SENDAS_TEMPFAIL:
		str_fmt_cut(why, whysize, "who may send as <%s>: %s", from,
		    strerror(errno));
		return -1;
	default:
		return 0;
	}
}

/* The host's own mail: the domain whose key a DSN would be signed with,
 * in dom, if the sender may send as from. */
static int
host_mail(const struct conf *c, const struct state *st, const char *from,
    char *dom, size_t size, char *why, size_t whysize)
{
	char key[CONF_HOSTNAME_MAX + 1];
	int r;

	if ((r = bounce_domain(c, key, sizeof(key))) == 0)
		str_fmt_cut(why, whysize, "no DKIM key for %s or its parent",
		    dom);
	else if (r == -1)
		str_fmt_cut(why, whysize, "DKIM keys of %s: %s", dom,
		    strerror(errno));
	else if ((r = sender_may(c, st, from, dom, why, whysize)) == 1 &&
	    str_copy(dom, size, key) == -1)
		r = 0;
	if (r != 1)
		dom[0] = '\0';
	return r;
}

int
dkim_needed(const struct conf *c, const struct state *st, char *dom,
    size_t size, char *why, size_t whysize)
{
	const char *via = st->env.via != NULL ? st->env.via : "";
	char from[ADDR_TEXT_MAX + 1];
	int r;

	if (size > 0)
		dom[0] = '\0';
	str_fmt_cut(why, whysize, "%s", "");
	if (strcmp(via, "bounce") == 0 || strcmp(via, "double-bounce") == 0) {
		if ((r = bounce_domain(c, dom, size)) == -1)
			str_fmt_cut(why, whysize, "DKIM keys of %s: %s",
			    c->hostname, strerror(errno));
		return r;
	}
	if ((st->env.auth == NULL || st->env.auth[0] == '\0') &&
	    strcmp(via, "local") != 0)
		return 0;		/* from outside: not ours */
	if ((r = from_domain(st, dom, size, from, sizeof(from))) == 0) {
		str_fmt_cut(why, whysize, "no address in a From: field");
		return 0;
	}
	if (r == -1) {
		str_fmt_cut(why, whysize, "reading From: %s",
		    strerror(errno));
		return -1;
	}
	/* Mail of the host itself (cron, "sendmail root": From: the
	 * hostname, which as a rule has no keys of its own) is signed as
	 * the DSNs are, so that it passes DMARC under the parent domain's
	 * policy rather than leaving unsigned; and only for a sender who
	 * may send as that address, as any other. */
	if (str_casecmp(dom, c->hostname) == 0)
		return host_mail(c, st, from, dom, size, why, whysize);
	if ((r = has_keys(c, dom)) == 0)
		str_fmt_cut(why, whysize, "no DKIM key for %s", dom);
	else if (r == -1)
		str_fmt_cut(why, whysize, "DKIM keys of %s: %s", dom,
		    strerror(errno));
	else
		r = sender_may(c, st, from, dom, why, whysize);
	if (r != 1)
		dom[0] = '\0';
	return r;
}

/* --- signing ---------------------------------------------------------- */

int
dkim_run(const struct conf *c, struct state *st, const char *domain,
    char *why, size_t size)
{
	const struct keys_key *keys;
	struct str out;
	char path[PATH_MAX], *buf = NULL;
	size_t n;
	int fd = -1, rc = -1;

	if ((buf = malloc(STATE_DKIM_MAX)) == NULL) {
		str_fmt_cut(why, size, "%s", strerror(errno));
		return -1;
	}
	str_init(&out, buf, STATE_DKIM_MAX);
	if (keycache_get(c, domain, &keys, &n, why, size) == -1)
		goto out;
	if (n == 0) {
		str_fmt_cut(why, size, "no DKIM key for %s", domain);
		goto out;
	}
	/* Its own open file, at the first message byte: filter_fields
	 * reads from its offset, and st->fd's is no one's to move. */
	if (str_fmt(path, sizeof(path), "%s/%s/%s", c->spool, QUEUE_NEW,
	    st->env.id) == -1 || (fd = open(path, O_RDONLY | O_CLOEXEC)) ==
	    -1 || lseek(fd, st->env.body, SEEK_SET) == -1) {
		str_fmt_cut(why, size, "cannot read %s: %s", path,
		    strerror(errno == 0 ? ENAMETOOLONG : errno));
		goto out;
	}
	if (filter_fields(fd, domain, keys, n, -1, &out, why, size) == -1)
		goto out;
	if (!state_dkim_valid(out.s, out.len)) {
		str_fmt_cut(why, size, "no DKIM-Signature fields made");
		goto out;
	}
	/* Durable before the first delivery carries it: a crash after
	 * this point finds the same fields again. */
	if (state_dkim_path(path, sizeof(path), c->spool, st->env.id) ==
	    -1 || atomic_write(path, out.s, out.len, 0640) == -1) {
		str_fmt_cut(why, size, "cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	free(st->dkim);
	st->dkim = buf;
	st->dkimlen = out.len;
	buf = NULL;
	rc = 0;
out:
	fd_close(&fd);
	free(buf);
	return rc;
}

/* --- the scheduler's step ---------------------------------------------- */

static int
failed(struct state *st, const char *reason, char *why, size_t size)
{
	free(st->sign_why);
	st->sign_why = strdup(reason);
	st->sign = STATE_SIGN_FAILED;
	str_fmt_cut(why, size, "%s", reason);
	return -1;
}

int
dkim_prepare(const struct conf *c, struct state *st, char *why,
    size_t size)
{
	char dom[CONF_HOSTNAME_MAX + 1], reason[DKIM_WHY_MAX];
	char text[DKIM_WHY_MAX];
	int r;

	switch (st->sign) {
	case STATE_SIGN_NONE:
	case STATE_SIGN_DONE:
		return 0;
	case STATE_SIGN_FAILED:
		str_fmt_cut(why, size, "%s", st->sign_why != NULL ?
		    st->sign_why : "not signed");
		return -1;
	case STATE_SIGN_UNKNOWN:
		break;
	}
	if (st->dkim != NULL) {		/* signed at an earlier activation */
		st->sign = STATE_SIGN_DONE;
		return 0;
	}
	if ((r = dkim_needed(c, st, dom, sizeof(dom), text,
	    sizeof(text))) == 0) {
		st->sign = STATE_SIGN_NONE;
		/* A submission that leaves unsigned says so, once. */
		if (text[0] != '\0')
			log_event("unsigned", "id", st->env.id, "reason", text,
			    (char *)NULL);
		return 0;
	}
	if (r == -1) {
		str_fmt_cut(reason, sizeof(reason), "not signed: %s", text);
		return failed(st, reason, why, size);
	}
	if (dkim_run(c, st, dom, reason, sizeof(reason)) == -1) {
		char full[DKIM_WHY_MAX];

		str_fmt_cut(full, sizeof(full), "not signed: %s", reason);
		return failed(st, full, why, size);
	}
	st->sign = STATE_SIGN_DONE;
	log_event("signed", "id", st->env.id, "domain", dom, (char *)NULL);
	return 0;
}

int
dkim_sidecar_known(const struct waitq *q, const char *name)
{
	char id[QUEUE_ID_LEN + 1];

	return (state_dkim_name(name, id) || state_arc_name(name, id) ||
	    state_warned_name(name, id)) && waitq_known(q, id);
}
