/* mailhdr.c — the addr-specs of an RFC 5322 §3.4 address list, as they
 * occur in real mail: folded, commented, with display names, groups,
 * obsolete routes and empty elements.  sendmail -t reads its recipients
 * with it and the signer and submission policy read From: with it, so it
 * sees whatever a local program or a remote client writes.  Hence it is
 * bounded: one fixed buffer for the address being read, comments nested
 * at most MAILHDR_COMMENT_DEPTH_MAX deep and walked without recursion,
 * and groups one level deep (RFC 5322 has no nested groups).
 *
 * What is emitted is each addr-spec with CFWS removed; the local part is
 * kept as written (quoted if it was), the domain as written.  Judging the
 * address itself is addr_parse()'s job, not this file's. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "mailhdr.h"
#include "str.h"

/* A continuation line starts with a tab, counted as a tab stop's 8
 * columns so that the field reads under the limit however it is shown. */
#define FOLD		"\n\t"
enum { FOLD_INDENT = 8 };

enum {
	/* One addr-spec as emitted: the longest that can make a valid
	 * path, with the room addr_format() has for quoting. */
	HDR_ADDR_MAX = ADDR_TEXT_MAX
};

enum {
	TOK_NONE,
	TOK_WORD,
	TOK_DOT
};

/* How an element of the list ended. */
enum {
	END_NEXT,	/* a ',' follows: more elements */
	END_INPUT,	/* the end of the field */
	END_GROUP	/* a ';' closed the group */
};

struct hp {
	const char	*s;
	size_t		 len;
	size_t		 i;
	char		 buf[HDR_ADDR_MAX];
	size_t		 n;
	int		 over;		/* buf overflowed: not an address */
	int		 stop;		/* what cb returned, when not 0 */
	int		 (*cb)(void *, const char *, size_t);
	void		*arg;
};

/* The words of a phrase or a local part, as words() saw them. */
struct words {
	int	ntok;
	int	localok;	/* word *("." word): a local part */
};

static int
cur(const struct hp *h)
{
	return h->i < h->len ? (unsigned char)h->s[h->i] : -1;
}

/* RFC 5322 §3.2.3 atext, with RFC 6532 §3.2 UTF8-non-ascii: raw UTF-8
 * is common in display names and is addr_parse()'s to judge in an
 * address. */
static int
is_atext(int c)
{
	return addr_is_atext(c) || c >= 0x80;
}

/* May follow a backslash in a quoted-pair: anything but NUL, CR, LF. */
static int
is_pairable(const struct hp *h)
{
	char c;

	if (h->i + 1 >= h->len)
		return 0;
	c = h->s[h->i + 1];
	return c != '\0' && c != '\r' && c != '\n';
}

static void
put(struct hp *h, int c)
{
	if (h->n + 1 < sizeof(h->buf))
		h->buf[h->n++] = (char)c;
	else
		h->over = 1;
}

static void
reset(struct hp *h)
{
	h->n = 0;
	h->over = 0;
}

/* One WSP, or the line break of a fold (CRLF or bare LF followed by
 * WSP), or a line break that ends the field.  Returns 1 if it consumed
 * something.  Any other CR or LF is left for the caller to refuse. */
static int
fws(struct hp *h)
{
	size_t nl = 0;
	int c = cur(h);

	if (c == ' ' || c == '\t') {
		h->i++;
		return 1;
	}
	if (c == '\r' && h->i + 1 < h->len && h->s[h->i + 1] == '\n')
		nl = 2;
	else if (c == '\n')
		nl = 1;
	else
		return 0;
	if (h->i + nl < h->len && h->s[h->i + nl] != ' ' &&
	    h->s[h->i + nl] != '\t')
		return 0;
	h->i += nl;
	return 1;
}

/* A comment at '(' with everything nested in it, counted, not recursed. */
static int
comment(struct hp *h)
{
	int c, depth = 0;

	for (;;) {
		switch (c = cur(h)) {
		case -1:
		case '\0':
			return -1;
		case '(':
			if (++depth > MAILHDR_COMMENT_DEPTH_MAX)
				return -1;
			h->i++;
			break;
		case ')':
			h->i++;
			if (--depth == 0)
				return 0;
			break;
		case '\\':
			if (!is_pairable(h))
				return -1;
			h->i += 2;
			break;
		case '\r':
		case '\n':
			if (!fws(h))
				return -1;
			break;
		default:
			h->i++;
			break;
		}
	}
}

static int
cfws(struct hp *h)
{
	for (;;) {
		if (fws(h))
			continue;
		if (cur(h) != '(')
			return 0;
		if (comment(h) == -1)
			return -1;
	}
}

/* A quoted-string at '"', copied with its quotes and quoted-pairs as
 * written; a fold inside loses its line break and keeps its WSP. */
static int
quoted(struct hp *h)
{
	int c;

	put(h, '"');
	h->i++;
	for (;;) {
		c = cur(h);
		if (c == -1)
			return -1;
		if (c == '"') {
			put(h, c);
			h->i++;
			return 0;
		}
		if (c == '\\') {
			if (!is_pairable(h))
				return -1;
			put(h, c);
			put(h, h->s[h->i + 1]);
			h->i += 2;
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (!fws(h))
				return -1;
			continue;
		}
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return -1;
		put(h, c);
		h->i++;
	}
}

/* Words (atoms, quoted strings) and dots with CFWS around them, copied
 * without the CFWS: a display name (obs-phrase) or a local part
 * (obs-local-part = word *("." word)), the caller sees which by what
 * follows. */
static int
words(struct hp *h, struct words *w)
{
	int c, tok, prev = TOK_NONE;

	w->ntok = 0;
	w->localok = 1;
	for (;;) {
		if (cfws(h) == -1)
			return -1;
		c = cur(h);
		if (c == '"') {
			if (quoted(h) == -1)
				return -1;
			tok = TOK_WORD;
		} else if (is_atext(c)) {
			while (is_atext(c = cur(h))) {
				put(h, c);
				h->i++;
			}
			tok = TOK_WORD;
		} else if (c == '.') {
			put(h, c);
			h->i++;
			tok = TOK_DOT;
		} else
			break;
		if (tok == TOK_WORD && prev == TOK_WORD)
			w->localok = 0;
		if (tok == TOK_DOT && prev != TOK_WORD)
			w->localok = 0;
		prev = tok;
		w->ntok++;
	}
	if (prev == TOK_DOT)
		w->localok = 0;
	return 0;
}

/* The domain after '@': a dot-atom (obs-domain: CFWS between atoms) or a
 * domain-literal, and the CFWS after it. */
static int
domain(struct hp *h)
{
	int c;

	if (cfws(h) == -1)
		return -1;
	if (cur(h) == '[') {
		put(h, '[');
		h->i++;
		for (;;) {
			if (fws(h))
				continue;
			c = cur(h);
			if (c == ']')
				break;
			/* dtext: %d33-90 / %d94-126 */
			if (c < 33 || c > 126 || c == '[' || c == '\\')
				return -1;
			put(h, c);
			h->i++;
		}
		put(h, ']');
		h->i++;
		return cfws(h);
	}
	for (;;) {
		if (!is_atext(cur(h)))
			return -1;
		while (is_atext(c = cur(h))) {
			put(h, c);
			h->i++;
		}
		if (cfws(h) == -1)
			return -1;
		if (cur(h) != '.')
			return 0;
		put(h, '.');
		h->i++;
		if (cfws(h) == -1)
			return -1;
	}
}

/* Hand the address in buf to the callback: 0 to go on, 1 to stop (cb
 * said so), -1 if it was too long to be an address. */
static int
emit(struct hp *h)
{
	int rc;

	if (h->over)
		return -1;
	h->buf[h->n] = '\0';
	if ((rc = h->cb(h->arg, h->buf, h->n)) != 0) {
		h->stop = rc;
		return 1;
	}
	return 0;
}

/* angle-addr at '<': [obs-route] addr-spec ">".  The route is read for
 * its syntax and dropped; "<bob>" is taken like a bare "bob". */
static int
angle(struct hp *h)
{
	struct words w;
	int c, ndomains = 0, comma = 1;

	reset(h);
	h->i++;
	if (cfws(h) == -1)
		return -1;
	if ((c = cur(h)) == '@' || c == ',') {
		/* obs-domain-list ":" */
		for (;;) {
			c = cur(h);
			if (c == ',') {
				h->i++;
				comma = 1;
				if (cfws(h) == -1)
					return -1;
			} else if (c == '@' && comma) {
				h->i++;
				if (domain(h) == -1)
					return -1;
				ndomains++;
				comma = 0;
			} else if (c == ':' && ndomains > 0) {
				h->i++;
				break;
			} else
				return -1;
		}
		reset(h);
	}
	if (words(h, &w) == -1 || w.ntok == 0 || !w.localok)
		return -1;
	if (cur(h) == '@') {
		put(h, '@');
		h->i++;
		if (domain(h) == -1)
			return -1;
	}
	if (cur(h) != '>')
		return -1;
	h->i++;
	return 0;
}

/* What may follow an address or a group: CFWS, then ',' or the end, or
 * in a group ';'. */
static int
after(struct hp *h, int ingroup, int *how)
{
	int c;

	if (cfws(h) == -1)
		return -1;
	c = cur(h);
	if (c == -1)
		*how = END_INPUT;
	else if (c == ',')
		*how = END_NEXT;
	else if (c == ';' && ingroup)
		*how = END_GROUP;
	else
		return -1;
	if (c != -1)
		h->i++;
	return 0;
}

static int	element(struct hp *, int, int *);

/* The group-list after "display-name:", up to its ';'.  A field that
 * ends before the ';' ("To: undisclosed-recipients:") is common enough
 * in real mail to be taken as closed. */
static int
group(struct hp *h, int *how)
{
	int rc, sub;

	for (;;) {
		if ((rc = element(h, 1, &sub)) != 0)
			return rc;
		if (sub == END_INPUT) {
			*how = END_INPUT;
			return 0;
		}
		if (sub == END_GROUP)
			break;
	}
	return after(h, 0, how);
}

/* One element of the list: empty, a mailbox (with or without display
 * name), a bare local part, or (outside a group) a group. */
static int
element(struct hp *h, int ingroup, int *how)
{
	struct words w;
	int c, rc;

	reset(h);
	if (words(h, &w) == -1)
		return -1;
	c = cur(h);
	if (c == '<') {
		if (angle(h) == -1)
			return -1;
		if ((rc = emit(h)) != 0)
			return rc;
	} else if (c == ':') {
		if (ingroup || w.ntok == 0)
			return -1;
		h->i++;
		return group(h, how);
	} else if (c == '@') {
		if (w.ntok == 0 || !w.localok)
			return -1;
		put(h, '@');
		h->i++;
		if (domain(h) == -1)
			return -1;
		if ((rc = emit(h)) != 0)
			return rc;
	} else if (w.ntok > 0) {
		/* A local part alone; text that is not one is a display
		 * name without its address. */
		if (!w.localok)
			return -1;
		if ((rc = emit(h)) != 0)
			return rc;
	}
	return after(h, ingroup, how);
}

int
mailhdr_is(const char *line, size_t len, const char *name,
    const char **value)
{
	size_t i, n = strlen(name);

	if (n == 0 || len <= n || strncasecmp(line, name, n) != 0)
		return 0;
	/* RFC 5322 §4.5.8: obs-optional allows WSP before the colon. */
	for (i = n; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i >= len || line[i] != ':')
		return 0;
	*value = line + i + 1;
	return 1;
}

int
mailhdr_addresses(const char *value, size_t len,
    int (*cb)(void *arg, const char *addr, size_t len), void *arg)
{
	struct hp h;
	int rc, how;

	memset(&h, 0, sizeof(h));
	h.s = value;
	h.len = len;
	h.cb = cb;
	h.arg = arg;
	do {
		if ((rc = element(&h, 0, &how)) == -1)
			return -1;
		if (rc != 0)
			return h.stop;
	} while (how != END_INPUT);
	return 0;
}

int
mailhdr_fold(struct str *o, const char *name, const char *value)
{
	const char *p = value, *e;
	size_t save = o->len, col, wlen;
	int quoted, first = 1, after_semi = 0;

	if (str_appendf(o, "%s:", name) == -1)
		goto fail;
	col = strlen(name) + 1;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		/* A word: up to a space outside a quoted string. */
		for (e = p, quoted = 0; *e != '\0' &&
		    (quoted || (*e != ' ' && *e != '\t')); e++) {
			if (*e == '\\' && quoted && e[1] != '\0')
				e++;
			else if (*e == '"')
				quoted = !quoted;
		}
		wlen = (size_t)(e - p);
		/* No line could hold it (the first word has the name's
		 * line or none). */
		if (wlen + FOLD_INDENT > MAILHDR_LINE_MAX ||
		    (first && col + 1 + wlen > MAILHDR_LINE_MAX))
			goto fail;
		/* Each method's result on a line of its own (after the
		 * authserv-id's ';' too), and any line that would reach
		 * the width folded before the word. */
		if (!first && (after_semi ||
		    col + 1 + wlen >= MAILHDR_FOLD_WIDTH)) {
			if (str_appends(o, FOLD) == -1)
				goto fail;
			col = FOLD_INDENT;
		} else {
			if (str_appendc(o, ' ') == -1)
				goto fail;
			col++;
		}
		if (str_append(o, p, wlen) == -1)
			goto fail;
		col += wlen;
		after_semi = p[wlen - 1] == ';';
		first = 0;
		p = e;
	}
	return 0;
fail:
	str_truncate(o, save);
	errno = ENOBUFS;
	return -1;
}
