/* psl.c — organizational domains from the Public Suffix List (psl.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileread.h"
#include "psl.h"
#include "str.h"

/* The names of one pass, with what every line compares them by. */
struct psl_names {
	const char	*name[PSL_NAMES_MAX];
	size_t		 len[PSL_NAMES_MAX];
	size_t		 tld[PSL_NAMES_MAX];	/* offset of the last label */
	size_t		 n;
};

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

/* The last label of s[len]: its offset. */
static size_t
last_label(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && s[i - 1] != '.')
		i--;
	return i;
}

/* One line of the list (len bytes, without its line end): its rule (up
 * to the first blank) against every name.  A rule whose last label is
 * not a name's is passed over before rule_match: nearly every rule of
 * the list, for the few TLDs a message names. */
static void
psl_line(const char *line, size_t linelen, const struct psl_names *nm,
    struct best *b)
{
	size_t len, i, k, last;
	int exc;

	for (len = 0; len < linelen && line[len] != ' ' &&
	    line[len] != '\t' && line[len] != '\r'; len++)
		;
	if (len == 0 || (len >= 2 && line[0] == '/' && line[1] == '/'))
		return;
	exc = line[0] == '!';
	last = (size_t)exc + last_label(line + exc, len - (size_t)exc);
	for (i = 0; i < nm->n; i++) {
		if (!(len - last == 1 && line[last] == '*') &&
		    (len - last != nm->len[i] - nm->tld[i] ||
		    strncasecmp(line + last, nm->name[i] + nm->tld[i],
		    len - last) != 0))
			continue;
		k = rule_match(line + exc, len - exc, nm->name[i],
		    nm->len[i]);
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
	struct psl_names nm;
	const char *p, *end, *nl;
	char *buf = NULL;
	size_t i, len, labels, lines = 0;

	if (n > PSL_NAMES_MAX) {
		errno = EINVAL;
		return -1;
	}
	nm.n = n;
	for (i = 0; i < n; i++) {
		nm.name[i] = names[i];
		nm.len[i] = strlen(names[i]);
		nm.tld[i] = last_label(names[i], nm.len[i]);
	}
	/* The whole list at once: one read, then lines found with memchr,
	 * rather than a byte at a time through a line reader. */
	if (fileread_all(file, PSL_FILE_MAX, &buf, &len) == -1)
		return -1;
	memset(b, 0, sizeof(b));
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) >= PSL_LINE_MAX ||
		    ++lines > PSL_LINES_MAX) {
			free(buf);
			errno = EINVAL;
			return -1;
		}
		psl_line(p, (size_t)(nl - p), &nm, b);
	}
	free(buf);
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
