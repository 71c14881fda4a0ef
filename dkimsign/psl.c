/* psl.c — organizational domains from the Public Suffix List (psl.h). */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileline.h"
#include "psl.h"
#include "str.h"

/* What the rules said so far of one name. */
struct best {
	size_t	labels;		/* labels of the longest rule matched */
	size_t	exception;	/* labels of an exception rule, or 0 */
};

/* The number of labels of rule r (rl bytes, "*" for any one label) when
 * it matches the end of name d (dl bytes), label by label; else 0. */
static size_t
rule_match(const char *r, size_t rl, const char *d, size_t dl)
{
	size_t labels = 0, rs, ds;

	while (rl > 0) {
		if (dl == 0)
			return 0;	/* the rule is longer than the name */
		for (rs = rl; rs > 0 && r[rs - 1] != '.'; rs--)
			;
		for (ds = dl; ds > 0 && d[ds - 1] != '.'; ds--)
			;
		if (!(rl - rs == 1 && r[rs] == '*') && (rl - rs != dl - ds ||
		    strncasecmp(r + rs, d + ds, rl - rs) != 0))
			return 0;
		labels++;
		if (rs == 0)
			break;
		rl = rs - 1;
		dl = ds > 0 ? ds - 1 : 0;
	}
	return labels;
}

/* One line of the list: its rule (up to the first blank) against every
 * name. */
static void
psl_line(const char *line, const char *const *names, size_t n,
    struct best *b)
{
	size_t len, i, k;
	int exc;

	len = strcspn(line, " \t\r\n");
	if (len == 0 || (len >= 2 && line[0] == '/' && line[1] == '/'))
		return;
	exc = line[0] == '!';
	for (i = 0; i < n; i++) {
		k = rule_match(line + exc, len - exc, names[i],
		    strlen(names[i]));
		if (k == 0)
			continue;
		if (exc)
			b[i].exception = k;
		else if (k > b[i].labels)
			b[i].labels = k;
	}
}

/* out->org: the last labels + 1 labels of name, or name itself when it
 * has no more than labels labels. */
static void
org_of(const char *name, size_t labels, struct psl_name *out)
{
	size_t len = strlen(name), i, seen = 0;

	out->suffix_labels = (int)labels;
	for (i = len; i > 0; i--) {
		if (name[i - 1] == '.' && ++seen == labels + 1) {
			(void)str_copy(out->org, sizeof(out->org), name + i);
			return;
		}
	}
	(void)str_copy(out->org, sizeof(out->org), name);
}

int
psl_org_domains(const char *file, const char *const *names, size_t n,
    struct psl_name *out)
{
	struct best b[PSL_NAMES_MAX];
	struct fileline fl;
	char line[PSL_LINE_MAX];
	size_t i, labels;
	ssize_t r;
	int fd, saved;

	if (n > PSL_NAMES_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = fileline_open(file)) == -1)
		return -1;
	memset(b, 0, sizeof(b));
	fileline_init(&fl, fd, PSL_LINES_MAX);
	while ((r = fileline_get(&fl, line, sizeof(line))) > 0)
		psl_line(line, names, n, b);
	saved = errno;
	(void)close(fd);
	if (r == -1) {
		errno = saved;
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* An exception takes off its leftmost label; no rule at all
		 * is the implicit "*", the last label. */
		if (b[i].exception > 0)
			labels = b[i].exception - 1;
		else
			labels = b[i].labels > 0 ? b[i].labels : 1;
		org_of(names[i], labels, &out[i]);
	}
	return 0;
}
