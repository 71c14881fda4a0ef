/* psl.h — organizational domains from the Public Suffix List, as DMARC
 * (RFC 7489 §3.2) finds them: the public suffix of a name is what the
 * list's rules say (the rule of most labels wins; an exception rule,
 * "!name", wins over all and takes off its leftmost label; with no rule,
 * the last label alone, the list's implicit "*"); the organizational
 * domain is the public suffix and one label more, or the name itself
 * when the name is a public suffix.
 *
 * The list is Debian's publicsuffix package (PSL_FILE), read in one pass
 * for all the names a message needs (the From domain, the SPF domain, the
 * DKIM d= domains): some 250 KB and 10,000 rules, which costs less in a
 * process that runs once per message than building a table would.  Names
 * are matched as ASCII, case-insensitively: the list's internationalised
 * rules (in UTF-8) match no A-label; IDNA waits for posthorn's IDNA
 * support. */
#ifndef POSTHORN_PSL_H
#define POSTHORN_PSL_H

#include <stddef.h>

#define PSL_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"

enum {
	PSL_NAMES_MAX = 16,	/* names looked up in one pass */
	PSL_NAME_MAX = 253,	/* RFC 1035 §3.1, dotted, no final dot */
	PSL_LINE_MAX = 512,	/* the longest line of the list is ~120 */
	PSL_LINES_MAX = 100000,	/* 10,000 rules and their comments today */
	/* The list is read whole: 250 KB today. */
	PSL_FILE_MAX = 8 * 1024 * 1024
};

struct psl_name {
	char	org[PSL_NAME_MAX + 1];	/* out: the organizational domain */
	int	suffix_labels;		/* out: labels of the public suffix */
};

/* The organizational domain of each of the n names (lowercase, no final
 * dot, at most PSL_NAME_MAX bytes; n at most PSL_NAMES_MAX) from the list
 * in file, into out[i].  0, or -1 with errno (the list cannot be read;
 * EFBIG: it is over PSL_FILE_MAX bytes; EINVAL: a line is longer than
 * PSL_LINE_MAX, or there are more than PSL_LINES_MAX lines). */
int	psl_org_domains(const char *file, const char *const *names, size_t n,
	    struct psl_name *out);

/* The list loaded once, for a resident checker (smtp-checkd), where a
 * pass over the whole file for each message was most of the CPU of its
 * checks: every rule in a hash table, so that a name costs a lookup per
 * label.  Rules are matched as psl_org_domains matches them. */
struct psl_rule;
struct psl_table {
	char		*buf;		/* the file, rules NUL-ended in it */
	struct psl_rule	*slot;
	size_t		 nslot;		/* a power of two */
	size_t		 nrules;
};

/* Read file into t: 0, or -1 with errno as psl_org_domains says. */
int	psl_table_load(struct psl_table *, const char *file);
void	psl_table_free(struct psl_table *);
/* psl_org_domains against a loaded table (n at most PSL_NAMES_MAX). */
int	psl_table_org_domains(const struct psl_table *,
	    const char *const *names, size_t n, struct psl_name *out);

#endif
