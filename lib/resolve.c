/* resolve.c — does a recipient exist here?  This is smtp-in's RCPT check,
 * run once per recipient in a process that lives for one connection, so
 * it reads only the files the answer needs, streams them through a
 * bounded line buffer and never loads one whole.  A file that cannot be
 * read is a temporary failure: refusing mail for an existing user
 * because of a permission slip would bounce it for good. */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "fileline.h"
#include "resolve.h"
#include "str.h"
#include "users.h"

#define POSTMASTER	"postmaster"	/* RFC 5321 §4.5.1: always exists */
#define CATCH_ALL	"*"

enum {
	/* An aliases line: a name, ':' and a list of targets; generous,
	 * since only a person writes the file. */
	RESOLVE_LINE_MAX = 4096,
	RESOLVE_LINES_MAX = 100000	/* lines in one aliases file */
};

/* Copy domain lowercased into out; 0 if it cannot name a directory of
 * ours (empty, too long, '/' in it, or a leading '.'). */
static int
domain_clean(const char *domain, char *out, size_t size)
{
	if (domain[0] == '\0' || domain[0] == '.' ||
	    strchr(domain, '/') != NULL ||
	    str_copy(out, size, domain) == -1)
		return 0;
	str_lower(out);
	return 1;
}

/* 1 local, 0 not, -1 error; *hasdir whether DIR/domains/D exists. */
static int
domain_local(const struct conf *conf, const char *domain, int *hasdir)
{
	char d[ADDR_DOMAIN_MAX + 1], path[PATH_MAX];
	struct stat st;

	*hasdir = 0;
	if (!domain_clean(domain, d, sizeof(d)))
		return 0;
	if (conf_domain_path(conf, d, NULL, path, sizeof(path)) == -1)
		return -1;
	if (stat(path, &st) == 0)
		*hasdir = S_ISDIR(st.st_mode);
	else if (errno != ENOENT && errno != ENOTDIR)
		return -1;
	return *hasdir || str_casecmp(d, conf->hostname) == 0;
}

int
resolve_domain_is_local(const struct conf *conf, const char *domain)
{
	int hasdir;

	return domain_local(conf, domain, &hasdir);
}

/* Is name, or the catch-all, a name of the aliases file at path?  1 yes,
 * 0 no (a missing file included), -1 error.  Lines are chasquid's:
 * "name: target, target", '#' comments; a line without ':' is skipped,
 * as chasquid does. */
static int
alias_exists(const char *path, const char *name)
{
	struct fileline r;
	/* the line, its LF and the NUL */
	char line[RESOLVE_LINE_MAX + 2], *s, *colon, *e;
	ssize_t n = 0;
	int fd, found = 0, saved;

	if ((fd = fileline_open(path)) == -1)
		return errno == ENOENT ? 0 : -1;
	fileline_init(&r, fd, RESOLVE_LINES_MAX);
	while (!found && (n = fileline_get(&r, line, sizeof(line))) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		else if (n > RESOLVE_LINE_MAX) {	/* the last, without LF */
			errno = EINVAL;
			n = -1;
			break;
		}
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (*s == '#' || (colon = strchr(s, ':')) == NULL)
			continue;
		for (e = colon; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		if (str_casecmp(s, name) == 0 || strcmp(s, CATCH_ALL) == 0)
			found = 1;
	}
	if (!found && n == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return found;
}

enum resolve_result
resolve_rcpt(const struct conf *conf, const struct addr *a)
{
	char d[ADDR_DOMAIN_MAX + 1], path[PATH_MAX];
	int hasdir, r;

	if (a->null)
		return RESOLVE_NOUSER;
	if (a->literal)
		return RESOLVE_REMOTE;
	if (a->domain[0] == '\0')	/* "<postmaster>", RFC 5321 §4.1.1.3 */
		return str_casecmp(a->local, POSTMASTER) == 0 ?
		    RESOLVE_LOCAL : RESOLVE_NOUSER;
	if ((r = domain_local(conf, a->domain, &hasdir)) == -1)
		return RESOLVE_TEMPFAIL;
	if (r == 0)
		return RESOLVE_REMOTE;
	if (str_casecmp(a->local, POSTMASTER) == 0)
		return RESOLVE_LOCAL;
	/* The hostname alone, with no directory, has postmaster only. */
	if (!hasdir)
		return RESOLVE_NOUSER;
	if (!domain_clean(a->domain, d, sizeof(d)) ||
	    conf_domain_path(conf, d, USERS_FILE, path, sizeof(path)) == -1)
		return RESOLVE_TEMPFAIL;
	switch (users_lookup(path, a->local, NULL, 0)) {
	case USERS_FOUND:
		return RESOLVE_LOCAL;
	case USERS_NOTFOUND:
		break;
	default:
		return RESOLVE_TEMPFAIL;
	}
	if (conf_domain_path(conf, d, RESOLVE_ALIASES_FILE, path,
	    sizeof(path)) == -1)
		return RESOLVE_TEMPFAIL;
	switch (alias_exists(path, a->local)) {
	case 1:
		return RESOLVE_LOCAL;
	case 0:
		return RESOLVE_NOUSER;
	default:
		return RESOLVE_TEMPFAIL;
	}
}
