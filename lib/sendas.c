/* sendas.c — who may send as which address (sendas.h): the login's own
 * addresses by the aliases, the senders file, and any_sender. */

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "alias.h"
#include "domconf.h"
#include "filecache.h"
#include "idna.h"
#include "sendas.h"
#include "str.h"

enum { LINE_BUF = SENDAS_LINE_MAX + 2 };	/* a line, its LF, the NUL */

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s without blanks at either end, in place. */
static char *
trim(char *s, char *e)
{
	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Does the right side of a line hold address, or @ its domain? */
static int
rhs_gives(char *rhs, const char *address)
{
	const char *at = strrchr(address, '@');
	char *tok, *comma;

	for (; rhs != NULL; rhs = comma != NULL ? comma + 1 : NULL) {
		if ((comma = strchr(rhs, ',')) != NULL)
			*comma = '\0';
		tok = trim(rhs, rhs + strlen(rhs));
		if (tok[0] == '@') {
			if (at != NULL && tok[1] != '\0' &&
			    str_casecmp(at + 1, tok + 1) == 0)
				return 1;
		} else if (tok[0] != '\0' && str_casecmp(tok, address) == 0)
			return 1;
	}
	return 0;
}

/* Is WHO (a login when it holds '@', compared without case; else a
 * user name or uid, compared exactly) one of who[0..n)? */
static int
who_is(const char *lhs, const char *const *who, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (who[i] == NULL)
			continue;
		if (strchr(lhs, '@') != NULL ? str_casecmp(lhs, who[i]) == 0 :
		    strcmp(lhs, who[i]) == 0)
			return 1;
	}
	return 0;
}

/* Does DIR/senders give one of who[0..n) the address?  1, 0, or -1
 * with errno. */
static int
senders_give(const struct conf *c, const char *const *who, size_t n,
    const char *address)
{
	char path[PATH_MAX], line[LINE_BUF], *colon, *lhs;
	struct fileline r;
	ssize_t len;
	int found = 0, e;

	if (str_fmt(path, sizeof(path), "%s/%s", c->dir, SENDAS_FILE) ==
	    -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (filecache_open(path, &r, SENDAS_LINES_MAX) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while (!found && (len = fileline_get(&r, line, sizeof(line))) > 0) {
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		lhs = trim(line, colon);
		if (lhs[0] == '\0' || lhs[0] == '#')
			continue;
		if (who_is(lhs, who, n) && rhs_gives(colon + 1, address))
			found = 1;
	}
	e = errno;
	filecache_close(&r);
	if (!found && len == -1) {
		errno = e;
		return -1;
	}
	return found;
}

/* 1 if a and b are one address: the same but for the case of ASCII
 * letters, or with the two spellings of one international domain
 * (idna.h), so that anna@xn--bcher-kva.example may send as
 * anna@bücher.example. */
static int
same_address(const char *a, const char *b)
{
	char la[ADDR_TEXT_MAX + 1], lb[ADDR_TEXT_MAX + 1],
	    other[ADDR_DOMAIN_MAX + 1];
	const char *da = strrchr(a, '@'), *db = strrchr(b, '@');

	if (str_casecmp(a, b) == 0)
		return 1;
	if (da == NULL || db == NULL || !idna_is_intl(da + 1) ||
	    (size_t)(da - a) > ADDR_TEXT_MAX || (size_t)(db - b) >
	    ADDR_TEXT_MAX)
		return 0;
	memcpy(la, a, (size_t)(da - a));
	la[da - a] = '\0';
	memcpy(lb, b, (size_t)(db - b));
	lb[db - b] = '\0';
	return str_casecmp(la, lb) == 0 &&
	    idna_other(da + 1, other, sizeof(other)) == IDNA_OK &&
	    str_casecmp(other, db + 1) == 0;
}

enum sendas
sendas_login(const struct conf *c, const char *login, const char *address,
    char *why, size_t whysize)
{
	const char *at = strrchr(login, '@');
	const char *who[] = { login };
	char awhy[ALIAS_WHY_MAX];
	struct domconf dc;
	int r;

	if (why != NULL && whysize > 0)
		why[0] = '\0';
	if (address[0] == '\0' || same_address(address, login)) {
		str_fmt_cut(why, whysize, "the login's own address");
		return SENDAS_YES;
	}
	if ((r = alias_sendas(c, login, address, awhy, sizeof(awhy))) == -1)
		return SENDAS_TEMPFAIL;
	if (r == 1) {
		str_fmt_cut(why, whysize, "an alias of the login's alone");
		return SENDAS_YES;
	}
	if ((r = senders_give(c, who, 1, address)) == -1)
		return SENDAS_TEMPFAIL;
	if (r == 1) {
		str_fmt_cut(why, whysize, "given by %s/%s", c->dir,
		    SENDAS_FILE);
		return SENDAS_YES;
	}
	if (at == NULL) {
		str_fmt_cut(why, whysize, "not an address of user %s", login);
		return SENDAS_NO;
	}
	if (domconf_load(c, at + 1, &dc, NULL, 0) == -1)
		return SENDAS_TEMPFAIL;
	if (dc.any_sender) {
		str_fmt_cut(why, whysize, "any_sender of %s", at + 1);
		return SENDAS_ANY;
	}
	str_fmt_cut(why, whysize, "not an address of user %s", login);
	return SENDAS_NO;
}

enum sendas
sendas_local(const struct conf *c, long uid, const char *name, long self,
    const char *address, char *why, size_t whysize)
{
	char num[24];
	const char *who[] = { num, name };
	int r;

	if (why != NULL && whysize > 0)
		why[0] = '\0';
	if (uid == 0 || (uid == self && uid >= 0)) {
		str_fmt_cut(why, whysize, "uid %ld is %s", uid, uid == 0 ?
		    "root" : "the posthorn user");
		return SENDAS_YES;
	}
	if (uid < 0) {
		str_fmt_cut(why, whysize, "the injecting user is unknown");
		return SENDAS_NO;
	}
	if (str_fmt(num, sizeof(num), "%ld", uid) == -1) {
		errno = EOVERFLOW;
		return SENDAS_TEMPFAIL;
	}
	if ((r = senders_give(c, who, 2, address)) == -1)
		return SENDAS_TEMPFAIL;
	if (r == 1) {
		str_fmt_cut(why, whysize, "given by %s/%s", c->dir,
		    SENDAS_FILE);
		return SENDAS_YES;
	}
	str_fmt_cut(why, whysize, "uid %ld%s%s%s is not given %s in %s/%s",
	    uid, name != NULL ? " (" : "", name != NULL ? name : "",
	    name != NULL ? ")" : "", address, c->dir, SENDAS_FILE);
	return SENDAS_NO;
}
