/* domconf.c — DIR/domains/DOMAIN/domain.conf.  A small file a person
 * writes; it is streamed through fileline like every per-domain file, so
 * a damaged one costs a temporary failure and never the process. */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "domconf.h"
#include "filecache.h"
#include "fileline.h"
#include "str.h"

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* A yes/no value into *out; why on failure. */
static const char *
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
		*out = 0;
	else
		return "not yes or no";
	return NULL;
}

/* One line: NULL, or why it is wrong. */
static const char *
parse_line(char *line, struct domconf *dc)
{
	char *eq, *key, *value;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return NULL;
	if ((eq = strchr(line, '=')) == NULL)
		return "missing '='";
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (strcmp(key, "any_sender") == 0)
		return parse_bool(value, &dc->any_sender);
	if (strcmp(key, "refuse_address_in_name") == 0)
		return parse_bool(value, &dc->refuse_address_in_name);
	if (strcmp(key, "command_user") == 0) {
		if (!conf_valid_user(value))
			return "not USER or USER:GROUP";
		return str_copy(dc->command_user, sizeof(dc->command_user),
		    value) == -1 ? "too long" : NULL;
	}
	if (strcmp(key, "dmarc_reject") == 0 ||
	    strcmp(key, "dmarc_quarantine") == 0) {
		if (strcmp(value, CONF_DMARC_REFUSE) != 0 &&
		    strcmp(value, CONF_DMARC_LOCAL) != 0)
			return "not " CONF_DMARC_REFUSE " or " CONF_DMARC_LOCAL;
		(void)str_copy(key[6] == 'r' ? dc->dmarc_reject :
		    dc->dmarc_quarantine, sizeof(dc->dmarc_reject), value);
		return NULL;
	}
	if (strcmp(key, "lmtp") == 0) {
		struct lmtp_target t;
		const char *bad;

		/* Kept in its one spelling (lmtp_target_format): queue-run
		 * counts a server's jobs under it, so that unix:/x and /x
		 * are one destination. */
		if ((bad = lmtp_target_parse(value, &t)) != NULL)
			return bad;
		return lmtp_target_format(&t, dc->lmtp, sizeof(dc->lmtp)) ==
		    -1 ? "too long" : NULL;
	}
	return "unknown key";
}

int
domconf_load(const struct conf *conf, const char *domain,
    struct domconf *dc, char *err, size_t errsize)
{
	char path[PATH_MAX], line[DOMCONF_LINE_MAX + 2];
	struct fileline r;
	const char *why;
	ssize_t n;
	int rc = -1, saved;

	memset(dc, 0, sizeof(*dc));
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (conf_domain_path(conf, domain, DOMCONF_FILE, path,
	    sizeof(path)) == -1)
		return -1;
	/* queue-run reads it for every local delivery (the domain's
	 * lmtp): from memory while it is unchanged (filecache.h). */
	if (filecache_open(path, &r, DOMCONF_LINES_MAX) == -1)
		return errno == ENOENT ? 0 : -1;
	while ((n = fileline_get(&r, line, sizeof(line))) > 0) {
		if (line[n - 1] != '\n' && (size_t)n > DOMCONF_LINE_MAX) {
			errno = EINVAL;
			goto out;
		}
		if ((why = parse_line(line, dc)) != NULL) {
			if (err != NULL)
				(void)str_fmt(err, errsize, "%s:%zu: %s", path,
				    r.lines, why);
			errno = EINVAL;
			goto out;
		}
	}
	if (n == 0)
		rc = 0;
out:
	saved = errno;
	filecache_close(&r);
	errno = saved;
	return rc;
}
