/* psl.c — organizational domains from the Public Suffix List (psl.h). */

#include <errno.h>
#include <stdint.h>
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

/* --- the table --------------------------------------------------------- */

enum {
	RULE_PLAIN = 1,		/* "a.b" */
	RULE_WILD = 2,		/* "*.a.b", kept under "a.b" */
	RULE_EXCEPT = 4		/* "!a.b" */
};

struct psl_rule {
	const char	*key;	/* NULL: a free slot */
	size_t		 len;
	unsigned	 kinds;
};

/* FNV-1a of the lowercase bytes. */
static size_t
hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)str_tolower((unsigned char)s[i]);
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct psl_rule *
find(const struct psl_table *t, const char *key, size_t len)
{
	size_t i = hash(key, len) & (t->nslot - 1);

	while (t->slot[i].key != NULL && (t->slot[i].len != len ||
	    strncasecmp(t->slot[i].key, key, len) != 0))
		i = (i + 1) & (t->nslot - 1);
	return &t->slot[i];
}

void
psl_table_free(struct psl_table *t)
{
	free(t->buf);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

int
psl_table_load(struct psl_table *t, const char *file)
{
	char *p, *end, *nl;
	size_t len, lines = 0, len_rule, kind;
	struct psl_rule *r;

	memset(t, 0, sizeof(*t));
	if (fileread_all(file, PSL_FILE_MAX, &t->buf, &len) == -1)
		return -1;
	/* Slots: a power of two at least twice the lines, which bound
	 * the rules. */
	for (p = t->buf, end = t->buf + len; p < end; p++)
		lines += *p == '\n';
	if (++lines > PSL_LINES_MAX) {
		errno = EINVAL;
		goto fail;
	}
	for (t->nslot = 16; t->nslot < 2 * lines; t->nslot *= 2)
		;
	if ((t->slot = calloc(t->nslot, sizeof(*t->slot))) == NULL)
		goto fail;
	for (p = t->buf; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) >= PSL_LINE_MAX) {
			errno = EINVAL;
			goto fail;
		}
		for (len_rule = 0; p + len_rule < nl && p[len_rule] != ' ' &&
		    p[len_rule] != '\t' && p[len_rule] != '\r'; len_rule++)
			;
		if (len_rule == 0 || (len_rule >= 2 && p[0] == '/' &&
		    p[1] == '/'))
			continue;
		kind = RULE_PLAIN;
		if (p[0] == '!') {
			kind = RULE_EXCEPT;
			p++;
			len_rule--;
		} else if (len_rule >= 2 && p[0] == '*' && p[1] == '.') {
			kind = RULE_WILD;
			p += 2;
			len_rule -= 2;
		}
		if (len_rule == 0)
			continue;
		r = find(t, p, len_rule);
		if (r->key == NULL) {
			r->key = p;
			r->len = len_rule;
			t->nrules++;
		}
		r->kinds |= (unsigned)kind;
	}
	return 0;
fail:
	psl_table_free(t);
	return -1;
}

int
psl_table_org_domains(const struct psl_table *t, const char *const *names,
    size_t n, struct psl_name *out)
{
	const struct psl_rule *r;
	const char *name;
	size_t i, j, len, start, cur, before, labels, best, exc;

	if (n > PSL_NAMES_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		name = names[i];
		len = strlen(name);
		best = exc = 0;
		/* The suffixes of one label, two, ...: cur is where the last
		 * j labels start, before where the last j - 1 did. */
		for (j = 1, cur = len; ; j++) {
			before = cur;
			start = cur == len ? len : cur - 1;
			while (start > 0 && name[start - 1] != '.')
				start--;
			cur = start;
			r = find(t, name + cur, len - cur);
			if (r->key != NULL && (r->kinds & RULE_PLAIN))
				best = j;
			if (r->key != NULL && (r->kinds & RULE_EXCEPT))
				exc = j;
			/* "*.S" matches one label more than S. */
			if (j > 1) {
				r = find(t, name + before, len - before);
				if (r->key != NULL && (r->kinds & RULE_WILD))
					best = j;
			}
			if (cur == 0)
				break;
		}
		if (exc > 0)
			labels = exc - 1;
		else
			labels = best > 0 ? best : 1;
		org_of(name, labels, &out[i]);
	}
	return 0;
}
