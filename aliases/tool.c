/* tool.c — what aliases(8) prints.  The resolution itself is lib/alias.c,
 * the same code that smtp-in's RCPT check and queue-run run, so what this
 * prints is what the server does.  Targets are gathered before anything
 * is printed, since an alias that turns out broken halfway has no
 * targets at all; two lists that share a member print it once.  It also
 * checks SRS addresses (-r), for smtp-in, which cannot link the crypto. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "alias.h"
#include "domains.h"
#include "srs.h"
#include "str.h"
#include "tool.h"

#define DOMAINS_DIR	"domains"

enum {
	/* A target line: "pipe" and a command with every byte escaped,
	 * or a Maildir path. */
	SHOW_LINE_MAX = 2 * ALIAS_CMD_MAX + PATH_MAX + ADDR_TEXT_MAX + 64,
	LIST_FIRST = 16			/* first allocation of a list */
};

/* A growing list of strings. */
struct list {
	char	**v;
	size_t	  n, cap;
};

static int
list_add(struct list *l, const char *s)
{
	char **v, *d;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap == 0 ? LIST_FIRST : 2 * l->cap;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if ((d = strdup(s)) == NULL)
		return -1;
	l->v[l->n++] = d;
	return 0;
}

static int
list_has(const struct list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void
list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

struct show {
	const struct conf	*conf;
	struct list		 lines;
};

/* "pipe \"cmd\" (alias a@d)" and the others, into line[size]. */
static int
format_target(const struct conf *conf, const struct alias_target *t,
    char *line, size_t size)
{
	struct str s;
	const char *c;

	str_init(&s, line, size);
	switch (t->kind) {
	case ALIAS_MAILBOX:
		return str_appendf(&s, "mailbox %s (%s/%s/%s/)", t->addr,
		    conf->maildirs, t->domain, t->user);
	case ALIAS_PIPE:
		if (str_appends(&s, "pipe \"") == -1)
			return -1;
		for (c = t->cmd; *c != '\0'; c++)
			if (((*c == '"' || *c == '\\') &&
			    str_appendc(&s, '\\') == -1) ||
			    str_appendc(&s, *c) == -1)
				return -1;
		return str_appendf(&s, "\" (alias %s)", t->addr);
	case ALIAS_REMOTE:
	default:
		return str_appendf(&s, "remote %s", t->addr);
	}
}

static int
show_target(const struct alias_target *t, void *arg)
{
	struct show *sh = arg;
	char line[SHOW_LINE_MAX];

	if (format_target(sh->conf, t, line, sizeof(line)) == -1)
		return -1;
	if (list_has(&sh->lines, line))
		return 0;
	return list_add(&sh->lines, line);
}

/* One address: its lines on out; what it came to. */
static enum aliases_result
show_one(const struct conf *conf, const char *address, FILE *out)
{
	char why[ALIAS_WHY_MAX];
	struct show sh = { conf, { NULL, 0, 0 } };
	struct addr a;
	enum addr_err ae;
	enum aliases_result rc = ALIASES_FAIL;
	size_t i;

	if (str_casecmp(address, ALIAS_POSTMASTER) != 0 &&
	    (ae = addr_parse(address, strlen(address), ADDR_UTF8, &a)) !=
	    ADDR_OK) {
		fprintf(out, "%s: not an address: %s\n", address,
		    addr_strerror(ae));
		return ALIASES_FAIL;
	}
	switch (alias_resolve(conf, address, show_target, &sh, why,
	    sizeof(why))) {
	case ALIAS_OK:
		for (i = 0; i < sh.lines.n; i++)
			fprintf(out, "%s: %s\n", address, sh.lines.v[i]);
		rc = ALIASES_OK;
		break;
	case ALIAS_NOUSER:
		fprintf(out, "%s: no such user\n", address);
		break;
	case ALIAS_BROKEN:
		fprintf(out, "%s: broken: %s\n", address, why);
		break;
	case ALIAS_TEMPFAIL:
	default:
		fprintf(out, "%s: temporary failure: %s\n", address, why);
		rc = ALIASES_TEMP;
		break;
	}
	list_free(&sh.lines);
	return rc;
}

/* The worse of two results: temporary beats failed beats good, so that
 * a script retries what may work later. */
static enum aliases_result
worse(enum aliases_result a, enum aliases_result b)
{
	return a > b ? a : b;
}

enum aliases_result
aliases_show(const struct conf *conf, char *const *addrs, size_t n,
    FILE *out)
{
	enum aliases_result rc = ALIASES_OK;
	size_t i;

	for (i = 0; i < n; i++)
		rc = worse(rc, show_one(conf, addrs[i], out));
	return rc;
}

static void
check_report(const char *file, size_t line, const char *why, void *arg)
{
	FILE *out = arg;

	if (line == 0)
		fprintf(out, "%s: %s\n", file, why);
	else
		fprintf(out, "%s:%zu: %s\n", file, line, why);
}

enum aliases_result
aliases_check(const struct conf *conf, char *const *domains, size_t n,
    FILE *out, FILE *err)
{
	struct list all = { NULL, 0, 0 };
	enum aliases_result rc = ALIASES_OK;
	size_t i;
	int r;

	if (n == 0) {
		if (domains_list(conf, &all.v, &all.n) == -1) {
			fprintf(err, "aliases: %s/%s: %s\n", conf->dir,
			    DOMAINS_DIR, strerror(errno));
			return ALIASES_TEMP;
		}
		domains = all.v;
		n = all.n;
	}
	for (i = 0; i < n; i++) {
		r = alias_check(conf, domains[i], check_report, out);
		if (r == -1) {
			fprintf(err, "aliases: %s: %s\n", domains[i],
			    strerror(errno));
			rc = worse(rc, ALIASES_TEMP);
		} else if (r > 0)
			rc = worse(rc, ALIASES_FAIL);
	}
	list_free(&all);
	return rc;
}

enum aliases_result
aliases_srs(const struct conf *conf, const char *address, FILE *out,
    FILE *err)
{
	char orig[ADDR_TEXT_MAX], why[SRS_WHY_MAX + ADDR_TEXT_MAX];

	switch (srs_check(conf, address, time(NULL), orig, sizeof(orig), why,
	    sizeof(why))) {
	case SRS_CHECK_OK:
		fprintf(out, "%s\n", orig);
		return ALIASES_OK;
	case SRS_CHECK_BAD:
		fprintf(err, "aliases: %s\n", why);
		return ALIASES_FAIL;
	default:
		fprintf(err, "aliases: %s\n", why);
		return ALIASES_TEMP;
	}
}
