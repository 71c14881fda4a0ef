/* alias.c — where an address goes: the aliases(5) file of each local
 * domain, its users file, posthorn.conf's drop characters and suffix
 * separators, and recursion to ALIAS_DEPTH_MAX.  smtp-in runs this once
 * per RCPT in a process that lives for one connection, so resolution
 * reads only the files of the domains an address leads to, streams each
 * through a bounded line buffer, and keeps one line per level of
 * recursion: no table of a file is ever built.  alias_check, which only
 * aliases(8) runs, reads a file twice and keeps its names, to find the
 * ones given twice.
 *
 * Names are compared as chasquid does: case-insensitively, and without
 * the drop characters that come before the first suffix separator, in
 * the file and in the address alike; the address is then tried again
 * cut at its first suffix separator. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "domains.h"
#include "idna.h"
#include "filecache.h"
#include "fileline.h"
#include "str.h"
#include "users.h"

enum {
	LINE_BUF = ALIAS_LINE_MAX + 2,	/* a line, its LF and the NUL */
	NOT_ON_PATH = -1,
	KEYS_FIRST = 64			/* alias_check's first names */
};

/* An alias being expanded: the path from the address to the line that
 * is being expanded now, to find loops and to name them. */
struct pathent {
	char	name[ADDR_LOCAL_MAX + 1];	/* left side, lowercase */
	char	key[ADDR_LOCAL_MAX + 1];	/* as compared (name_fold) */
	char	domain[ADDR_DOMAIN_MAX + 1];
	size_t	line;
};

struct ctx {
	const struct conf *conf;
	alias_emit	*emit;
	void		*arg;
	char		*why;
	size_t		 whysize;
	int		 err;		/* errno of an ALIAS_TEMPFAIL */
	struct pathent	 path[ALIAS_DEPTH_MAX];
	size_t		 depth;
	/* alias_check: the line being checked, and whether the problem that
	 * made the last ALIAS_BROKEN is to be reported at it (a problem of
	 * another line of the same file is reported at that line). */
	const char	*check_domain;	/* NULL when resolving */
	size_t		 check_line;
	int		 report;
	/* alias_sendas: the login asked about (NULL otherwise), its local
	 * part as names are compared and its domain; whether the address
	 * is a postmaster; the targets seen, and whether one of them is
	 * not the login's alone. */
	const char	*owner;
	char		 owner_key[ADDR_LOCAL_MAX + 1];
	char		 owner_domain[ADDR_DOMAIN_MAX + 1];
	int		 postmaster;
	size_t		 targets;
	int		 foreign;
};

/* A line of an aliases file, split. */
struct aline {
	size_t	 no;
	char	 name[ADDR_LOCAL_MAX + 1];	/* lowercased, or "*" */
	char	 key[ADDR_LOCAL_MAX + 1];
	char	*rhs;			/* in the line, trimmed */
};

enum { LINE_SKIP, LINE_OK, LINE_BAD };

/* What a scan of a file found for an address, best last. */
enum match { MATCH_NONE, MATCH_STAR, MATCH_CLEAN, MATCH_EXACT };

struct found {
	enum match	m;
	size_t		no;
	char		name[ADDR_LOCAL_MAX + 1];
	char		key[ADDR_LOCAL_MAX + 1];
	char		rhs[ALIAS_LINE_MAX + 1];
};

static enum alias_result resolve_addr(struct ctx *, const struct addr *);

/* --- messages ------------------------------------------------------------- */

/* Append s to the reason in buf, cut short if it must be. */
static void
whycat(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	if (n + 1 < size)
		str_fmt_cut(buf + n, size - n, "%s", s);
}

static enum alias_result
tempfail(struct ctx *c, const char *path, int e)
{
	c->err = e;
	if (e == EINVAL)
		str_fmt_cut(c->why, c->whysize, "%s: a line longer than %d "
		    "bytes, more than %d lines, or malformed", path,
		    ALIAS_LINE_MAX, ALIAS_LINES_MAX);
	else
		str_fmt_cut(c->why, c->whysize, "%s: %s", path, strerror(e));
	return ALIAS_TEMPFAIL;
}

static void
file_of(const struct ctx *c, const char *domain, const char *file,
    char *path, size_t size)
{
	if (conf_domain_path(c->conf, domain, file, path, size) == -1)
		str_fmt_cut(path, size, "%s/domains/%s%s%s", c->conf->dir,
		    domain, file != NULL ? "/" : "", file != NULL ? file : "");
}

/* --- names ---------------------------------------------------------------- */

/* What becomes of a name's suffix ("+tag") when it is folded. */
enum suffix { SUFFIX_KEEP, SUFFIX_CUT };

/* s lowercased, without the drop characters before its first suffix
 * separator, the suffix kept (the key by which names are compared) or cut
 * ("a.li.ce+tag" is "alice").  0, or -1 if out is too small. */
static int
name_fold(const struct conf *conf, const char *s, enum suffix how,
    char *out, size_t size)
{
	size_t n = 0;
	int suffix = 0;

	for (; *s != '\0'; s++) {
		if (strchr(conf->suffix_separators, *s) != NULL) {
			if (how == SUFFIX_CUT)
				break;
			suffix = 1;
		}
		if (!suffix && strchr(conf->drop_characters, *s) != NULL)
			continue;
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)str_tolower((unsigned char)*s);
	}
	out[n] = '\0';
	return 0;
}

/* --- lines ---------------------------------------------------------------- */

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* 1 if a and b are the two spellings of one international domain,
 * U-labels and A-labels (idna.h): the file of bücher.example may name
 * info@xn--bcher-kva.example. */
static int
same_domain(const char *a, const char *b)
{
	char x[ADDR_DOMAIN_MAX + 1];

	return idna_is_intl(a) && idna_is_intl(b) &&
	    idna_other(a, x, sizeof(x)) == IDNA_OK && str_casecmp(x, b) == 0;
}

/* Split line s (LF removed) of the file of domain into l: LINE_SKIP for a
 * comment or a blank line, LINE_OK, or LINE_BAD with why. */
static int
parse_lhs(const struct conf *conf, const char *domain, char *s,
    struct aline *l, char *why, size_t whysize)
{
	char buf[ADDR_TEXT_MAX + 1], *colon, *e, *at;
	struct addr a;
	enum addr_err ae;

	for (e = s + strlen(s); e > s && is_space(e[-1]); e--)
		;
	*e = '\0';
	while (is_space(*s))
		s++;
	if (*s == '\0' || *s == '#')
		return LINE_SKIP;
	if ((colon = strchr(s, ':')) == NULL) {
		str_fmt_cut(why, whysize, "no ':' after a name");
		return LINE_BAD;
	}
	for (e = colon; e > s && is_space(e[-1]); e--)
		;
	*e = '\0';
	for (l->rhs = colon + 1; is_space(*l->rhs); l->rhs++)
		;
	if (*s == '\0') {
		str_fmt_cut(why, whysize, "no name before ':'");
		return LINE_BAD;
	}
	if (*l->rhs == '\0') {
		str_fmt_cut(why, whysize, "%s: no target after ':'", s);
		return LINE_BAD;
	}
	if (strcmp(s, ALIAS_CATCH_ALL) == 0) {
		(void)str_copy(l->name, sizeof(l->name), ALIAS_CATCH_ALL);
		(void)str_copy(l->key, sizeof(l->key), ALIAS_CATCH_ALL);
		return LINE_OK;
	}
	if (strpbrk(s, " \t,") != NULL) {
		str_fmt_cut(why, whysize, "%s: a name has no spaces or commas",
		    s);
		return LINE_BAD;
	}
	if ((at = strrchr(s, '@')) != NULL) {
		if (str_casecmp(at + 1, domain) != 0 &&
		    !same_domain(at + 1, domain)) {
			str_fmt_cut(why, whysize, "%s: a name of another "
			    "domain (this file is %s's)", s, domain);
			return LINE_BAD;
		}
		*at = '\0';
	}
	if (str_fmt(buf, sizeof(buf), "%s@%s", s, domain) == -1)
		ae = ADDR_ELOCAL_LONG;
	else
		ae = addr_parse(buf, strlen(buf), ADDR_UTF8, &a);
	if (ae != ADDR_OK) {
		str_fmt_cut(why, whysize, "%s: %s", s, addr_strerror(ae));
		return LINE_BAD;
	}
	str_lower(a.local);
	(void)str_copy(l->name, sizeof(l->name), a.local);
	if (name_fold(conf, l->name, SUFFIX_KEEP, l->key,
	    sizeof(l->key)) == -1 ||
	    l->key[0] == '\0') {
		str_fmt_cut(why, whysize, "%s: nothing is left of the name "
		    "without its drop characters", s);
		return LINE_BAD;
	}
	return LINE_OK;
}

/* The next target of a list at *p into tok[size], trimmed; empty ones
 * are skipped (chasquid takes "a: b,").  1, 0 at the end, -1 when one
 * is longer than tok. */
static int
next_target(const char **p, char *tok, size_t size)
{
	const char *s = *p, *e, *end;

	for (;;) {
		while (is_space(*s))
			s++;
		if (*s == '\0') {
			*p = s;
			return 0;
		}
		if ((end = strchr(s, ',')) == NULL)
			end = s + strlen(s);
		for (e = end; e > s && is_space(e[-1]); e--)
			;
		*p = *end == ',' ? end + 1 : end;
		if (e == s) {
			s = *p;
			continue;
		}
		if ((size_t)(e - s) >= size)
			return -1;
		memcpy(tok, s, (size_t)(e - s));
		tok[e - s] = '\0';
		return 1;
	}
}

/* Target tok of the file of domain: "name" is name@domain.  0, or -1
 * with why. */
static int
parse_target(const char *domain, const char *tok, struct addr *a,
    char *why, size_t whysize)
{
	char buf[ADDR_TEXT_MAX + 1];
	enum addr_err ae;

	if (tok[0] == '|') {
		str_fmt_cut(why, whysize,
		    "%s: a pipe must be the whole right side", tok);
		return -1;
	}
	if (strchr(tok, '@') != NULL)
		ae = addr_parse(tok, strlen(tok), ADDR_UTF8, a);
	else if (str_fmt(buf, sizeof(buf), "%s@%s", tok, domain) == -1)
		ae = ADDR_ELOCAL_LONG;
	else
		ae = addr_parse(buf, strlen(buf), ADDR_UTF8, a);
	if (ae != ADDR_OK) {
		str_fmt_cut(why, whysize, "%s: %s", tok, addr_strerror(ae));
		return -1;
	}
	return 0;
}

/* The command of a pipe right side, or NULL if it is a list. */
static const char *
pipe_cmd(const char *rhs)
{
	if (rhs[0] != '|')
		return NULL;
	for (rhs++; is_space(*rhs); rhs++)
		;
	return rhs;
}

typedef void rhs_bad(void *arg, const char *why);

/* Check a right side: every problem through bad; how many. */
static size_t
rhs_check(const char *domain, const char *rhs, rhs_bad *bad, void *arg)
{
	char tok[ADDR_TEXT_MAX + 1], why[ALIAS_WHY_MAX];
	const char *cmd, *p = rhs;
	struct addr a;
	size_t n = 0, targets = 0;
	int r;

	if ((cmd = pipe_cmd(rhs)) != NULL) {
		if (*cmd == '\0') {
			bad(arg, "'|' without a command");
			return 1;
		}
		if (strlen(cmd) > ALIAS_CMD_MAX) {
			str_fmt_cut(why, sizeof(why),
			    "a command longer than %d bytes", ALIAS_CMD_MAX);
			bad(arg, why);
			return 1;
		}
		return 0;
	}
	while ((r = next_target(&p, tok, sizeof(tok))) != 0) {
		targets++;
		if (r == -1) {
			str_fmt_cut(why, sizeof(why),
			    "a target longer than %d bytes", ADDR_TEXT_MAX);
			bad(arg, why);
			n++;
		} else if (parse_target(domain, tok, &a, why,
		    sizeof(why)) == -1) {
			bad(arg, why);
			n++;
		}
	}
	if (targets == 0) {
		bad(arg, "no target after ':'");
		n++;
	}
	return n;
}

/* Read the next line of r into buf[LINE_BUF], its LF removed (a CR is
 * parse_lhs's): its length in the file (an empty line is 1), 0 at the
 * end, -1 with errno.  *no is the
 * line's number.  A line longer than ALIAS_LINE_MAX is -1 with EINVAL
 * and *toolong set; with skip set, the rest of it is read, so that the
 * next call reads the line after it. */
static ssize_t
read_line(struct fileline *r, char *buf, int skip, int *toolong, size_t *no)
{
	ssize_t n;

	*toolong = 0;
	n = fileline_get(r, buf, LINE_BUF);
	*no = r->lines;
	if (n > 0 && buf[n - 1] == '\n') {
		buf[n - 1] = '\0';
		return n;
	}
	if (n > ALIAS_LINE_MAX) {		/* the last, without LF */
		*toolong = 1;
		errno = EINVAL;
		return -1;
	}
	/* fileline says EINVAL both for a long line (not counted) and for
	 * one line too many (counted). */
	if (n != -1 || errno != EINVAL || r->lines > r->maxlines)
		return n;
	*toolong = 1;
	*no = r->lines + 1;
	if (skip) {
		do
			n = fileline_get(r, buf, LINE_BUF);
		while (n == -1 && errno == EINVAL && r->lines <= r->maxlines);
		if (n == -1) {
			*toolong = 0;	/* a read error says more */
			return -1;
		}
		buf[0] = '\0';
	}
	errno = EINVAL;
	return -1;
}

/* --- resolution ----------------------------------------------------------- */

/* For alias_sendas: is t the owner's alone?  Its mailbox, or anything
 * its own alias line leads to ("alice: alice, alice@gmail.example"),
 * with no catch-all on the way and not for a postmaster address (the
 * login that is postmaster's own mailbox aside). */
static int
owners(const struct ctx *c, const struct alias_target *t)
{
	int mine = t->kind == ALIAS_MAILBOX &&
	    str_casecmp(t->addr, c->owner) == 0;
	size_t i;

	if (c->postmaster && !(mine && c->depth == 0))
		return 0;
	for (i = 0; i < c->depth; i++) {
		if (strcmp(c->path[i].key, ALIAS_CATCH_ALL) == 0)
			return 0;
		if (strcmp(c->path[i].key, c->owner_key) == 0 &&
		    strcmp(c->path[i].domain, c->owner_domain) == 0)
			mine = 1;
	}
	return mine;
}

static enum alias_result
emit(struct ctx *c, const struct alias_target *t)
{
	if (c->owner != NULL) {
		c->targets++;
		if (!owners(c, t))
			c->foreign = 1;
		return ALIAS_OK;
	}
	if (c->emit != NULL && c->emit(t, c->arg) != 0) {
		c->err = errno;
		str_fmt_cut(c->why, c->whysize, "%s: the target could not be "
		    "taken (%s)", t->addr, strerror(errno));
		return ALIAS_TEMPFAIL;
	}
	return ALIAS_OK;
}

static enum alias_result
emit_remote(struct ctx *c, const struct addr *a)
{
	struct alias_target t;

	memset(&t, 0, sizeof(t));
	t.kind = ALIAS_REMOTE;
	if (addr_format(a, t.addr, sizeof(t.addr)) == -1) {
		str_fmt_cut(c->why, c->whysize, "%s@%s: too long", a->local,
		    a->domain);
		return ALIAS_BROKEN;
	}
	return emit(c, &t);
}

static enum alias_result
emit_local(struct ctx *c, enum alias_kind kind, const char *user,
    const char *domain, const char *cmd)
{
	struct alias_target t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	if (str_copy(t.user, sizeof(t.user), user) == -1 ||
	    str_copy(t.domain, sizeof(t.domain), domain) == -1 ||
	    str_fmt(t.addr, sizeof(t.addr), "%s@%s", user, domain) == -1 ||
	    (cmd != NULL && str_copy(t.cmd, sizeof(t.cmd), cmd) == -1)) {
		str_fmt_cut(c->why, c->whysize, "%s@%s: too long", user,
		    domain);
		return ALIAS_BROKEN;
	}
	return emit(c, &t);
}

static alias_user_oracle *user_oracle;

void
alias_set_user_oracle(alias_user_oracle *f)
{
	user_oracle = f;
}

/* 1 if name is a user of domain, 0 not, -1 (ALIAS_TEMPFAIL, why set). */
static int
is_user(struct ctx *c, const char *domain, const char *name)
{
	char path[PATH_MAX];
	int r;

	if (name[0] == '\0')
		return 0;
	if (user_oracle != NULL &&
	    (r = user_oracle(domain, name)) != ALIAS_ASK_FILE) {
		if (r == -1)
			(void)tempfail(c, domain, errno);
		return r;
	}
	if (conf_domain_path(c->conf, domain, USERS_FILE, path,
	    sizeof(path)) == -1) {
		(void)tempfail(c, domain, errno);
		return -1;
	}
	switch (users_lookup(path, name, NULL, 0)) {
	case USERS_FOUND:
		return 1;
	case USERS_NOTFOUND:
		return 0;
	default:
		(void)tempfail(c, path, errno);
		return -1;
	}
}

/* Find in the aliases file of domain the first line for key, else the
 * first for clean, else the first catch-all: ALIAS_OK (f->m says what
 * was found; a missing file has nothing) or ALIAS_TEMPFAIL. */
static enum alias_result
scan(struct ctx *c, const char *domain, const char *key, const char *clean,
    struct found *f)
{
	char path[PATH_MAX], line[LINE_BUF];
	struct fileline r;
	struct aline l;
	enum match m;
	ssize_t n = 0;
	size_t no;
	int toolong, e, checking = c->check_domain != NULL;

	f->m = MATCH_NONE;
	if (conf_domain_path(c->conf, domain, ALIAS_FILE, path,
	    sizeof(path)) == -1)
		return tempfail(c, domain, errno);
	if (filecache_open(path, &r, ALIAS_LINES_MAX) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ALIAS_OK;
		return tempfail(c, path, errno);
	}
	while (f->m != MATCH_EXACT) {
		if ((n = read_line(&r, line, checking, &toolong, &no)) == 0)
			break;
		/* A line too long fails resolution for now (the sender
		 * tries again), since it might be the address's own;
		 * alias_check reports it and checks the others. */
		if (n == -1 && toolong && checking)
			continue;
		if (n == -1)
			break;
		/* A bad line is aliases --check's: the names of the others
		 * still work. */
		if (parse_lhs(c->conf, domain, line, &l, NULL, 0) != LINE_OK)
			continue;
		if (strcmp(l.key, key) == 0)
			m = MATCH_EXACT;
		else if (clean[0] != '\0' && strcmp(l.key, clean) == 0)
			m = MATCH_CLEAN;
		else if (strcmp(l.key, ALIAS_CATCH_ALL) == 0)
			m = MATCH_STAR;
		else
			continue;
		if (m <= f->m)
			continue;	/* the first of a name is the one */
		f->m = m;
		f->no = no;
		(void)str_copy(f->name, sizeof(f->name), l.name);
		(void)str_copy(f->key, sizeof(f->key), l.key);
		(void)str_copy(f->rhs, sizeof(f->rhs), l.rhs);
	}
	e = errno;
	filecache_close(&r);
	if (n == -1)
		return tempfail(c, path, e);
	return ALIAS_OK;
}

static int
on_path(const struct ctx *c, const char *key, const char *domain)
{
	size_t i;

	for (i = 0; i < c->depth; i++)
		if (strcmp(c->path[i].key, key) == 0 &&
		    strcmp(c->path[i].domain, domain) == 0)
			return (int)i;
	return NOT_ON_PATH;
}

/* "a@d -> b@d -> " from path[from] on, into the reason. */
static void
why_chain(struct ctx *c, size_t from)
{
	char one[ADDR_TEXT_MAX + 8];
	size_t i;

	for (i = from; i < c->depth; i++) {
		str_fmt_cut(one, sizeof(one), "%s@%s -> ", c->path[i].name,
		    c->path[i].domain);
		whycat(c->why, c->whysize, one);
	}
}

static enum alias_result
loop(struct ctx *c, size_t from, const struct found *f, const char *domain)
{
	char last[ADDR_TEXT_MAX + 1];
	size_t i, min = 0;
	int ours = 0;

	str_fmt_cut(c->why, c->whysize, "alias loop: ");
	why_chain(c, from);
	str_fmt_cut(last, sizeof(last), "%s@%s", f->name, domain);
	whycat(c->why, c->whysize, last);
	if (c->check_domain != NULL) {
		/* Reported once: at the first line of the loop in the file
		 * that is checked, or at the line that leads into a loop
		 * that lies wholly in other files. */
		for (i = from; i < c->depth; i++) {
			if (strcmp(c->path[i].domain, c->check_domain) != 0)
				continue;
			if (!ours || c->path[i].line < min)
				min = c->path[i].line;
			ours = 1;
		}
		c->report = !ours ||
		    (from == 0 && min == c->check_line);
	}
	return ALIAS_BROKEN;
}

static enum alias_result
too_deep(struct ctx *c, const struct found *f, const char *domain)
{
	char last[ADDR_TEXT_MAX + 1];

	str_fmt_cut(c->why, c->whysize, "aliases nested deeper than %d: ",
	    ALIAS_DEPTH_MAX);
	why_chain(c, 0);
	str_fmt_cut(last, sizeof(last), "%s@%s", f->name, domain);
	whycat(c->why, c->whysize, last);
	c->report = 1;
	return ALIAS_BROKEN;
}

/* A problem of the line f of domain's file, made ALIAS_BROKEN. */
static enum alias_result
bad_line(struct ctx *c, const struct found *f, const char *domain,
    const char *what)
{
	char path[PATH_MAX];

	file_of(c, domain, ALIAS_FILE, path, sizeof(path));
	str_fmt_cut(c->why, c->whysize, "%s:%zu: %s", path, f->no, what);
	c->report = c->check_domain != NULL &&
	    strcmp(domain, c->check_domain) != 0;
	return ALIAS_BROKEN;
}

static void
first_bad(void *arg, const char *why)
{
	char *first = arg;

	if (first[0] == '\0')
		str_fmt_cut(first, ALIAS_WHY_MAX, "%s", why);
}

/* Expand the line f of domain's file, found for the local part lname
 * (clean: cut and cleaned). */
static enum alias_result
expand(struct ctx *c, const struct found *f, const char *domain,
    const char *lname, const char *clean, int hasdir)
{
	char tok[ADDR_TEXT_MAX + 1], what[ALIAS_WHY_MAX];
	const char *p = f->rhs, *cmd;
	struct pathent *pe;
	struct addr a;
	enum alias_result r = ALIAS_OK;
	int i, u;

	if ((i = on_path(c, f->key, domain)) != NOT_ON_PATH) {
		/* "alice: alice, alice@gmail.example": the user keeps a
		 * copy.  Anything else that comes back is a loop. */
		if (hasdir && (u = is_user(c, domain, lname)) != 0)
			return u == -1 ? ALIAS_TEMPFAIL :
			    emit_local(c, ALIAS_MAILBOX, lname, domain, NULL);
		if (hasdir && strcmp(clean, lname) != 0 &&
		    (u = is_user(c, domain, clean)) != 0)
			return u == -1 ? ALIAS_TEMPFAIL :
			    emit_local(c, ALIAS_MAILBOX, clean, domain, NULL);
		return loop(c, (size_t)i, f, domain);
	}
	if (c->depth == ALIAS_DEPTH_MAX)
		return too_deep(c, f, domain);
	what[0] = '\0';
	if (rhs_check(domain, f->rhs, first_bad, what) > 0)
		return bad_line(c, f, domain, what);

	pe = &c->path[c->depth++];
	(void)str_copy(pe->name, sizeof(pe->name), f->name);
	(void)str_copy(pe->key, sizeof(pe->key), f->key);
	(void)str_copy(pe->domain, sizeof(pe->domain), domain);
	pe->line = f->no;
	/* A pipe is named by its alias; the catch-all's by the address it
	 * caught, so that the command's RECIPIENT and USER (and the
	 * Delivered-To: of the loop check) say whom the mail is for. */
	if ((cmd = pipe_cmd(f->rhs)) != NULL)
		r = emit_local(c, ALIAS_PIPE, strcmp(f->key,
		    ALIAS_CATCH_ALL) == 0 ? lname : f->name, domain, cmd);
	while (cmd == NULL && r == ALIAS_OK &&
	    next_target(&p, tok, sizeof(tok)) == 1) {
		/* Each target parsed in rhs_check: this cannot fail. */
		if (parse_target(domain, tok, &a, what, sizeof(what)) == -1)
			r = bad_line(c, f, domain, what);
		else if ((r = resolve_addr(c, &a)) == ALIAS_NOUSER) {
			/* A local target that leads nowhere breaks the
			 * alias: accepting mail for it would bounce. */
			str_fmt_cut(what, sizeof(what),
			    "%s: no such user or alias", tok);
			r = bad_line(c, f, domain, what);
		}
	}
	c->depth--;
	return r;
}

static int
emit_nothing(const struct alias_target *t, void *arg)
{
	(void)t;
	(void)arg;
	return 0;
}

/* Whether the catch-all line f expands without being broken, tried with
 * nothing emitted (a broken one may emit some targets before its bad
 * one).  Only postmaster asks, so the second expansion costs nothing
 * elsewhere. */
static int
catch_all_works(struct ctx *c, const struct found *f, const char *domain,
    const char *lname, const char *clean, int hasdir)
{
	alias_emit *em = c->emit;
	void *arg = c->arg;
	enum alias_result r;

	if (c->check_domain != NULL)
		return 1;	/* alias_check: report it, as it is */
	c->emit = emit_nothing;
	c->arg = NULL;
	r = expand(c, f, domain, lname, clean, hasdir);
	c->emit = em;
	c->arg = arg;
	if (r != ALIAS_BROKEN)
		return 1;
	if (c->whysize > 0)
		c->why[0] = '\0';
	return 0;
}

/* Where lname@domain goes, domain being local (lowercase). */
static enum alias_result
resolve_local(struct ctx *c, const char *local, const char *domain,
    int hasdir)
{
	char lname[ADDR_LOCAL_MAX + 1], key[ADDR_LOCAL_MAX + 1];
	char clean[ADDR_LOCAL_MAX + 1];
	struct found f;
	enum alias_result r;
	int u, postmaster;

	/* A local part fits, and its key and clean forms are shorter. */
	(void)str_copy(lname, sizeof(lname), local);
	str_lower(lname);
	(void)name_fold(c->conf, lname, SUFFIX_KEEP, key, sizeof(key));
	(void)name_fold(c->conf, lname, SUFFIX_CUT, clean, sizeof(clean));
	if (c->depth == 0 && (strcmp(lname, ALIAS_POSTMASTER) == 0 ||
	    strcmp(clean, ALIAS_POSTMASTER) == 0))
		c->postmaster = 1;

	f.m = MATCH_NONE;
	if (hasdir && (r = scan(c, domain, key, clean, &f)) != ALIAS_OK)
		return r;
	if (f.m == MATCH_EXACT)
		return expand(c, &f, domain, lname, clean, hasdir);
	if (hasdir && (u = is_user(c, domain, lname)) != 0)
		return u == -1 ? ALIAS_TEMPFAIL :
		    emit_local(c, ALIAS_MAILBOX, lname, domain, NULL);
	if (f.m == MATCH_CLEAN)
		return expand(c, &f, domain, lname, clean, hasdir);
	if (hasdir && strcmp(clean, lname) != 0 &&
	    (u = is_user(c, domain, clean)) != 0)
		return u == -1 ? ALIAS_TEMPFAIL :
		    emit_local(c, ALIAS_MAILBOX, clean, domain, NULL);
	postmaster = strcmp(lname, ALIAS_POSTMASTER) == 0 ||
	    strcmp(clean, ALIAS_POSTMASTER) == 0;
	/* The catch-all does not catch its own targets: "*: ghost" with
	 * no ghost is an alias that leads nowhere, not a loop.  It takes
	 * postmaster too: whoever reads the domain's other mail reads its
	 * postmaster's. */
	if (f.m == MATCH_STAR &&
	    on_path(c, ALIAS_CATCH_ALL, domain) == NOT_ON_PATH) {
		if (!postmaster || catch_all_works(c, &f, domain, lname,
		    clean, hasdir))
			return expand(c, &f, domain, lname, clean, hasdir);
		/* A broken catch-all (its user deleted, a typo) must not
		 * make postmaster refused: RFC 5321 §4.5.1 wants it
		 * accepted whatever else is wrong.  aliases -c still names
		 * the broken line. */
	}
	if (postmaster)
		return emit_local(c, ALIAS_MAILBOX, ALIAS_POSTMASTER, domain,
		    NULL);
	str_fmt_cut(c->why, c->whysize, "%s@%s: no such user here", lname,
	    domain);
	return ALIAS_NOUSER;
}

/* Where a goes: remote, or resolved in its local domain. */
static enum alias_result
resolve_addr(struct ctx *c, const struct addr *a)
{
	char d[ADDR_DOMAIN_MAX + 1], path[PATH_MAX];
	int hasdir, e;

	if (a->literal)
		return emit_remote(c, a);
	switch (domains_name(c->conf, a->domain, d, sizeof(d), &hasdir)) {
	case -1:
		e = errno;
		file_of(c, a->domain, NULL, path, sizeof(path));
		return tempfail(c, path, e);
	case 0:
		return emit_remote(c, a);
	}
	/* d is the domain as configured, lowercased: the other spelling
	 * of an international name leads to the same files and Maildir. */
	return resolve_local(c, a->local, d, hasdir);
}

static void
ctx_init(struct ctx *c, const struct conf *conf, alias_emit *em, void *arg,
    char *why, size_t whysize)
{
	c->conf = conf;
	c->emit = em;
	c->arg = arg;
	c->why = why;
	c->whysize = why != NULL ? whysize : 0;
	if (c->whysize > 0)
		why[0] = '\0';
	c->err = 0;
	c->depth = 0;
	c->check_domain = NULL;
	c->check_line = 0;
	c->report = 0;
	c->owner = NULL;
	c->owner_key[0] = c->owner_domain[0] = '\0';
	c->postmaster = 0;
	c->targets = 0;
	c->foreign = 0;
}

/* The address a, or "postmaster" alone as the hostname's: ALIAS_OK, or
 * ALIAS_NOUSER with why. */
static enum alias_result
top_addr(struct ctx *c, const char *address, struct addr *a)
{
	enum addr_err ae;

	if (str_casecmp(address, ALIAS_POSTMASTER) == 0) {
		/* RFC 5321 §4.1.1.3: "<postmaster>" is the hostname's. */
		memset(a, 0, sizeof(*a));
		(void)str_copy(a->local, sizeof(a->local), ALIAS_POSTMASTER);
		(void)str_copy(a->domain, sizeof(a->domain),
		    c->conf->hostname);
	} else if ((ae = addr_parse(address, strlen(address), ADDR_UTF8,
	    a)) != ADDR_OK) {
		str_fmt_cut(c->why, c->whysize, "%s: %s", address,
		    addr_strerror(ae));
		return ALIAS_NOUSER;
	}
	return ALIAS_OK;
}

enum alias_result
alias_resolve(const struct conf *conf, const char *address, alias_emit *em,
    void *arg, char *why, size_t whysize)
{
	struct ctx c;
	struct addr a;
	enum alias_result r;

	ctx_init(&c, conf, em, arg, why, whysize);
	if ((r = top_addr(&c, address, &a)) != ALIAS_OK)
		return r;
	if ((r = resolve_addr(&c, &a)) == ALIAS_TEMPFAIL)
		errno = c.err;
	return r;
}

int
alias_sendas(const struct conf *conf, const char *login,
    const char *address, char *why, size_t whysize)
{
	struct ctx c;
	struct addr a;
	const char *at = strrchr(login, '@');
	char local[ADDR_LOCAL_MAX + 1];
	enum alias_result r;

	ctx_init(&c, conf, NULL, NULL, why, whysize);
	if (at == NULL || (size_t)(at - login) >= sizeof(local) ||
	    str_copy(c.owner_domain, sizeof(c.owner_domain), at + 1) == -1)
		return 0;
	memcpy(local, login, (size_t)(at - login));
	local[at - login] = '\0';
	str_lower(c.owner_domain);
	if (name_fold(conf, local, SUFFIX_KEEP, c.owner_key,
	    sizeof(c.owner_key)) == -1)
		return 0;
	c.owner = login;
	if ((r = top_addr(&c, address, &a)) != ALIAS_OK)
		return 0;
	switch (resolve_addr(&c, &a)) {
	case ALIAS_OK:
		return c.targets > 0 && !c.foreign;
	case ALIAS_TEMPFAIL:
		errno = c.err;
		return -1;
	default:
		return 0;
	}
}

/* --- alias_check ---------------------------------------------------------- */

struct keyent {
	char	key[ADDR_LOCAL_MAX + 1];
	size_t	line;
};

struct keys {
	struct keyent	*v;
	size_t		 n, cap;
};

static int
keycmp(const void *pa, const void *pb)
{
	const struct keyent *a = pa, *b = pb;
	int r;

	if ((r = strcmp(a->key, b->key)) != 0)
		return r;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int
keys_add(struct keys *k, const char *key, size_t line)
{
	struct keyent *v;
	size_t cap;

	if (k->n == k->cap) {
		cap = k->cap == 0 ? KEYS_FIRST : 2 * k->cap;
		if ((v = realloc(k->v, cap * sizeof(*v))) == NULL)
			return -1;
		k->v = v;
		k->cap = cap;
	}
	(void)str_copy(k->v[k->n].key, sizeof(k->v[0].key), key);
	k->v[k->n++].line = line;
	return 0;
}

/* The first line that names key (the file had it when keys were read). */
static size_t
keys_first(const struct keys *k, const char *key)
{
	struct keyent probe;
	size_t lo = 0, hi = k->n, mid;

	(void)str_copy(probe.key, sizeof(probe.key), key);
	probe.line = 0;
	while (lo < hi) {	/* the first entry not below probe */
		mid = lo + (hi - lo) / 2;
		if (keycmp(&k->v[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->n && strcmp(k->v[lo].key, key) == 0)
		return k->v[lo].line;
	return 0;
}

struct checker {
	struct ctx	 c;
	alias_report	*report;
	void		*arg;
	const char	*path;
	size_t		 line;
	size_t		 problems;
};

static void
check_say(struct checker *k, size_t line, const char *why)
{
	k->report(k->path, line, why, k->arg);
	k->problems++;
}

static void
check_bad(void *arg, const char *why)
{
	struct checker *k = arg;

	check_say(k, k->line, why);
}

/* Every name of the file, for duplicates. */
static int
check_keys(struct checker *k, int fd, const char *domain, struct keys *ks)
{
	char line[LINE_BUF];
	struct fileline r;
	struct aline l;
	ssize_t n;
	size_t no;
	int toolong;

	fileline_init(&r, fd, ALIAS_LINES_MAX);
	for (;;) {
		if ((n = read_line(&r, line, 1, &toolong, &no)) == 0)
			break;
		if (n == -1) {
			if (toolong)
				continue;
			if (errno == EINVAL)
				break;	/* too many lines: pass 2 says */
			return -1;
		}
		if (parse_lhs(k->c.conf, domain, line, &l, NULL, 0) ==
		    LINE_OK && keys_add(ks, l.key, no) == -1)
			return -1;
	}
	/* No name: ks->v may be NULL, which qsort must not be given. */
	if (ks->n > 1)
		qsort(ks->v, ks->n, sizeof(ks->v[0]), keycmp);
	return 0;
}

/* The targets of a good line l: each must lead somewhere. */
static int
check_targets(struct checker *k, const char *domain, const struct aline *l)
{
	char tok[ADDR_TEXT_MAX + 1], why[ALIAS_WHY_MAX], msg[ALIAS_WHY_MAX];
	struct ctx *c = &k->c;
	const char *p = l->rhs;
	struct addr a;
	struct pathent *pe;
	int rc = 0;

	if (pipe_cmd(l->rhs) != NULL)
		return 0;
	ctx_init(c, c->conf, NULL, NULL, why, sizeof(why));
	c->check_domain = domain;
	c->check_line = l->no;
	pe = &c->path[c->depth++];
	(void)str_copy(pe->name, sizeof(pe->name), l->name);
	(void)str_copy(pe->key, sizeof(pe->key), l->key);
	(void)str_copy(pe->domain, sizeof(pe->domain), domain);
	pe->line = l->no;
	while (next_target(&p, tok, sizeof(tok)) == 1) {
		if (parse_target(domain, tok, &a, why, sizeof(why)) == -1)
			continue;	/* reported with the syntax */
		c->report = 0;
		switch (resolve_addr(c, &a)) {
		case ALIAS_OK:
			break;
		case ALIAS_NOUSER:
			str_fmt_cut(msg, sizeof(msg),
			    "%s: no such user or alias", tok);
			check_say(k, l->no, msg);
			break;
		case ALIAS_BROKEN:
			if (c->report)
				check_say(k, l->no, why);
			break;
		case ALIAS_TEMPFAIL:
		default:
			errno = c->err;
			rc = -1;
			goto out;
		}
	}
out:
	c->depth = 0;
	return rc;
}

/* Every line: syntax, names given twice, targets. */
static int
check_lines(struct checker *k, int fd, const char *domain,
    const struct keys *ks)
{
	char line[LINE_BUF], why[ALIAS_WHY_MAX];
	struct fileline r;
	struct aline l;
	size_t first, no;
	ssize_t n;
	int toolong;

	fileline_init(&r, fd, ALIAS_LINES_MAX);
	for (;;) {
		if ((n = read_line(&r, line, 1, &toolong, &no)) == 0)
			return 0;
		if (n == -1 && toolong) {
			str_fmt_cut(why, sizeof(why),
			    "a line longer than %d bytes", ALIAS_LINE_MAX);
			check_say(k, no, why);
			continue;
		}
		if (n == -1 && errno == EINVAL) {
			str_fmt_cut(why, sizeof(why), "more than %d lines",
			    ALIAS_LINES_MAX);
			check_say(k, no, why);
			return 0;
		}
		if (n == -1)
			return -1;
		k->line = l.no = no;
		switch (parse_lhs(k->c.conf, domain, line, &l, why,
		    sizeof(why))) {
		case LINE_SKIP:
			continue;
		case LINE_BAD:
			check_say(k, l.no, why);
			continue;
		}
		if (rhs_check(domain, l.rhs, check_bad, k) > 0)
			continue;
		first = keys_first(ks, l.key);
		if (first != 0 && first != l.no) {
			str_fmt_cut(why, sizeof(why), "%s: named again; line "
			    "%zu is the one used", l.name, first);
			check_say(k, l.no, why);
			continue;
		}
		if (check_targets(k, domain, &l) == -1)
			return -1;
	}
}

int
alias_check(const struct conf *conf, const char *domain,
    alias_report *report, void *arg)
{
	char d[ADDR_DOMAIN_MAX + 1], path[PATH_MAX];
	struct checker k;
	struct keys ks = { NULL, 0, 0 };
	int fd = -1, hasdir, local, rc = -1, e;

	memset(&k, 0, sizeof(k));
	k.c.conf = conf;
	k.report = report;
	k.arg = arg;
	k.path = path;
	if (str_copy(d, sizeof(d), domain) == -1)
		local = 0;
	else {
		str_lower(d);
		local = domains_local(conf, d, &hasdir);
	}
	if (local == -1)
		return -1;
	if (local == 0 ||
	    conf_domain_path(conf, d, ALIAS_FILE, path, sizeof(path)) == -1) {
		str_fmt_cut(path, sizeof(path), "%s", domain);
		check_say(&k, 0, "not a local domain");
		return 1;
	}
	if ((fd = fileline_open(path)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return -1;
	}
	if (check_keys(&k, fd, d, &ks) == -1)
		goto out;
	if (lseek(fd, 0, SEEK_SET) == -1)
		goto out;
	if (check_lines(&k, fd, d, &ks) == -1)
		goto out;
	rc = k.problems > INT_MAX ? INT_MAX : (int)k.problems;
out:
	e = errno;
	free(ks.v);
	close(fd);
	errno = e;
	return rc;
}
