/* addr.c — RFC 5321 §4.1.2 paths and mailboxes, exactly as the grammar
 * says and no more: what smtp-in accepts in MAIL and RCPT, what sendmail
 * takes on its command line, and what the queue records.  Parsing is done
 * in two passes: the grammar first (offsets only, nothing copied, so a
 * bound is never in the way of reporting the right error), then the
 * limits of §4.5.3.1, then the copy into struct addr. */

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "utf8.h"
#include "str.h"

enum {
	LABEL_MAX = 63,		/* RFC 1035 §2.3.4, RFC 5321 §4.1.2 */
	V6TAG_LEN = 5,		/* "IPv6:", RFC 5321 §4.1.3 */
	/* The longest IPv6 text form with an embedded IPv4 address. */
	V6TEXT_MAX = INET6_ADDRSTRLEN - 1,
	V4TEXT_MAX = INET_ADDRSTRLEN - 1
};

struct span {
	size_t	off;
	size_t	len;
};

/* One parse: the input, where we are, and what the grammar found. */
struct parse {
	const char	*s;
	size_t		 len;
	size_t		 i;
	unsigned	 flags;
	int		 utf8;		/* saw non-ASCII */
	int		 quoted;	/* local part is a Quoted-string */
	int		 literal;	/* domain is an address literal */
	int		 v6;		/* literal is "IPv6:" */
	struct span	 local;		/* as transmitted, quotes included */
	struct span	 domain;	/* as transmitted, brackets included */
};

/* RFC 5322 §3.2.3 atext. */
int
addr_is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_letdig(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Ldh-str and Let-dig, RFC 5321 §4.1.2. */
static int
is_ldh(int c)
{
	return is_letdig(c) || c == '-';
}

int
addr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(u + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static unsigned char
peek(const struct parse *p)
{
	return p->i < p->len ? (unsigned char)p->s[p->i] : '\0';
}

/* A byte >= 0x80 at p->i: one UTF8-non-ascii (RFC 6531 §3.3) if the
 * session allows it. */
static enum addr_err
nonascii(struct parse *p)
{
	size_t n;

	if (!(p->flags & ADDR_UTF8))
		return ADDR_E8BIT;
	n = utf8_seq((const unsigned char *)p->s + p->i, p->len - p->i);
	if (n == 0)
		return ADDR_EUTF8;
	p->i += n;
	p->utf8 = 1;
	return ADDR_OK;
}

/* Move past the bytes that ok accepts and, where the session allows
 * them, UTF-8 characters; stop at any other byte. */
static enum addr_err
skip_chars(struct parse *p, int (*ok)(int))
{
	enum addr_err e;
	unsigned char c;

	while (p->i < p->len) {
		c = p->s[p->i];
		if (ok(c))
			p->i++;
		else if (c >= 0x80) {
			if ((e = nonascii(p)) != ADDR_OK)
				return e;
		} else
			break;
	}
	return ADDR_OK;
}

/* Local-part = Dot-string / Quoted-string. */
static enum addr_err
local_part(struct parse *p)
{
	enum addr_err e;
	size_t start;
	unsigned char c;

	p->local.off = p->i;
	if (peek(p) == '"') {
		p->quoted = 1;
		p->i++;
		for (;;) {
			if (p->i >= p->len)
				return ADDR_ESYNTAX;
			c = p->s[p->i];
			if (c == '"') {
				p->i++;
				break;
			} else if (c == '\\') {
				/* quoted-pairSMTP: %d92 %d32-126 */
				if (p->i + 1 >= p->len ||
				    (unsigned char)p->s[p->i + 1] < 32 ||
				    (unsigned char)p->s[p->i + 1] > 126)
					return ADDR_ESYNTAX;
				p->i += 2;
			} else if (c >= 0x80) {
				if ((e = nonascii(p)) != ADDR_OK)
					return e;
			} else if (c >= 32 && c <= 126)
				p->i++;
			else
				return ADDR_ESYNTAX;
		}
	} else {
		/* Dot-string = Atom *("." Atom) */
		for (;;) {
			start = p->i;
			if ((e = skip_chars(p, addr_is_atext)) != ADDR_OK)
				return e;
			if (p->i == start)
				return ADDR_ESYNTAX;
			if (peek(p) != '.')
				break;
			p->i++;
		}
	}
	p->local.len = p->i - p->local.off;
	return ADDR_OK;
}

/* Domain = sub-domain *("." sub-domain), each a Let-dig [Ldh-str] or,
 * under SMTPUTF8, a U-label (RFC 6531 §3.3). */
static enum addr_err
domain_name(struct parse *p, struct span *sp)
{
	enum addr_err e;
	size_t start;

	sp->off = p->i;
	for (;;) {
		start = p->i;
		if ((e = skip_chars(p, is_ldh)) != ADDR_OK)
			return e;
		if (p->i == start || p->s[start] == '-' ||
		    p->s[p->i - 1] == '-' || p->i - start > LABEL_MAX)
			return ADDR_ESYNTAX;
		if (peek(p) != '.')
			break;
		p->i++;
	}
	sp->len = p->i - sp->off;
	return ADDR_OK;
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]" (§4.1.3); only the first two are
 * deliverable, so a general one is refused as such. */
static enum addr_err
address_literal(struct parse *p)
{
	char text[V6TEXT_MAX + 1];
	struct in6_addr a6;
	struct in_addr a4;
	const char *c;
	size_t start, n;
	unsigned char ch;

	start = p->i++;
	while (p->i < p->len && p->s[p->i] != ']') {
		/* dcontent: %d33-90 / %d94-126 */
		ch = p->s[p->i];
		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return ADDR_ESYNTAX;
		p->i++;
	}
	if (p->i >= p->len)
		return ADDR_ESYNTAX;
	c = p->s + start + 1;
	n = p->i - start - 1;
	p->i++;
	p->domain.off = start;
	p->domain.len = p->i - start;
	p->literal = 1;
	if (n > V6TAG_LEN && strncasecmp(c, "IPv6:", V6TAG_LEN) == 0) {
		c += V6TAG_LEN;
		n -= V6TAG_LEN;
		if (n > V6TEXT_MAX)
			return ADDR_ELITERAL;
		memcpy(text, c, n);
		text[n] = '\0';
		if (inet_pton(AF_INET6, text, &a6) != 1)
			return ADDR_ELITERAL;
		p->v6 = 1;
		return ADDR_OK;
	}
	if (n == 0 || n > V4TEXT_MAX || memchr(c, ':', n) != NULL)
		return ADDR_ELITERAL;
	memcpy(text, c, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, &a4) != 1)
		return ADDR_ELITERAL;
	return ADDR_OK;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ), or, where the
 * caller allows it, "postmaster" alone (§4.5.1).  route says whether a
 * source route came first: then "postmaster" alone is not the §4.1.1.3
 * form and is refused. */
static enum addr_err
mailbox(struct parse *p, int route)
{
	enum addr_err e;

	if ((e = local_part(p)) != ADDR_OK)
		return e;
	if (peek(p) != '@') {
		if ((p->flags & ADDR_NODOMAIN_OK) && !route && !p->quoted &&
		    p->local.len == 10 &&
		    strncasecmp(p->s + p->local.off, "postmaster", 10) == 0)
			return ADDR_OK;
		return ADDR_ESYNTAX;
	}
	p->i++;
	if (peek(p) == '[')
		return address_literal(p);
	return domain_name(p, &p->domain);
}

/* §4.5.3.1, on the octets as transmitted. */
static enum addr_err
limits(const struct parse *p, size_t pathlen)
{
	if (p->local.len > ADDR_LOCAL_MAX)
		return ADDR_ELOCAL_LONG;
	if (p->domain.len > ADDR_DOMAIN_MAX)
		return ADDR_EDOMAIN_LONG;
	if (pathlen > ADDR_PATH_MAX)
		return ADDR_EPATH_LONG;
	return ADDR_OK;
}

/* Copy what the grammar found into a; the limits have been checked, so
 * everything fits. */
static void
fill(const struct parse *p, struct addr *a)
{
	const char *l = p->s + p->local.off;
	const char *d = p->s + p->domain.off;
	size_t i, n = 0;

	a->utf8 = p->utf8;
	if (p->domain.len == 0) {
		memcpy(a->local, "postmaster", sizeof("postmaster"));
		return;
	}
	if (p->quoted) {
		for (i = 1; i + 1 < p->local.len; i++) {
			if (l[i] == '\\')
				i++;
			a->local[n++] = l[i];
		}
		a->local[n] = '\0';
	} else {
		memcpy(a->local, l, p->local.len);
		a->local[p->local.len] = '\0';
	}
	if (p->v6) {
		/* "[IPv6:" in its documented spelling, the rest as given. */
		memcpy(a->domain, "[IPv6:", 1 + V6TAG_LEN);
		memcpy(a->domain + 1 + V6TAG_LEN, d + 1 + V6TAG_LEN,
		    p->domain.len - 1 - V6TAG_LEN);
		a->domain[p->domain.len] = '\0';
		str_lower(a->domain + 1 + V6TAG_LEN);
	} else {
		memcpy(a->domain, d, p->domain.len);
		a->domain[p->domain.len] = '\0';
		str_lower(a->domain);
	}
	a->literal = p->literal;
}

enum addr_err
addr_parse_path(const char *s, size_t len, unsigned flags, struct addr *a,
    size_t *end)
{
	struct parse p;
	struct span route;
	enum addr_err e;
	int has_route = 0;

	memset(a, 0, sizeof(*a));
	memset(&p, 0, sizeof(p));
	*end = 0;
	p.s = s;
	p.len = len;
	p.flags = flags;
	if (len < 2 || s[0] != '<')
		return ADDR_ESYNTAX;
	if (s[1] == '>') {
		if (!(flags & ADDR_NULL_OK))
			return ADDR_ENULL;
		a->null = 1;
		*end = 2;
		return ADDR_OK;
	}
	p.i = 1;
	if (peek(&p) == '@') {
		/* A-d-l = At-domain *( "," At-domain ) ":" — syntax only,
		 * the route is ignored (§4.1.2, appendix C). */
		has_route = 1;
		for (;;) {
			p.i++;
			if ((e = domain_name(&p, &route)) != ADDR_OK)
				return e;
			if (peek(&p) == ':')
				break;
			if (peek(&p) != ',')
				return ADDR_ESYNTAX;
			p.i++;
			if (peek(&p) != '@')
				return ADDR_ESYNTAX;
		}
		p.i++;
	}
	if ((e = mailbox(&p, has_route)) != ADDR_OK)
		return e;
	if (peek(&p) != '>')
		return ADDR_ESYNTAX;
	p.i++;
	if ((e = limits(&p, p.i)) != ADDR_OK)
		return e;
	fill(&p, a);
	*end = p.i;
	return ADDR_OK;
}

enum addr_err
addr_parse(const char *s, size_t len, unsigned flags, struct addr *a)
{
	struct parse p;
	enum addr_err e;

	memset(a, 0, sizeof(*a));
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.len = len;
	p.flags = flags;
	if ((e = mailbox(&p, 0)) != ADDR_OK)
		return e;
	if (p.i != len)
		return ADDR_ESYNTAX;
	/* It must fit in a path once the brackets are put around it. */
	if ((e = limits(&p, len + 2)) != ADDR_OK)
		return e;
	fill(&p, a);
	return ADDR_OK;
}

/* Dot-string = Atom *("." Atom); non-ASCII only got in validated. */
static int
is_dot_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	int atom = 0;

	for (; *u != '\0'; u++) {
		if (*u == '.') {
			if (!atom)
				return 0;
			atom = 0;
		} else if (addr_is_atext(*u) || *u >= 0x80)
			atom = 1;
		else
			return 0;
	}
	return atom;
}

int
addr_format(const struct addr *a, char *out, size_t size)
{
	struct str o;
	const char *c;
	int rc = -1;

	if (size == 0)
		return -1;
	str_init(&o, out, size);
	if (a->null)
		return 0;
	if (a->domain[0] == '\0') {
		if (str_appends(&o, "postmaster") == -1)
			goto out;
		rc = (int)o.len;
		goto out;
	}
	if (is_dot_string(a->local)) {
		if (str_appends(&o, a->local) == -1)
			goto out;
	} else {
		if (str_appendc(&o, '"') == -1)
			goto out;
		for (c = a->local; *c != '\0'; c++) {
			if ((*c == '"' || *c == '\\') &&
			    str_appendc(&o, '\\') == -1)
				goto out;
			if (str_appendc(&o, *c) == -1)
				goto out;
		}
		if (str_appendc(&o, '"') == -1)
			goto out;
	}
	if (str_appendc(&o, '@') == -1 || str_appends(&o, a->domain) == -1)
		goto out;
	rc = (int)o.len;
out:
	if (rc == -1)
		out[0] = '\0';
	return rc;
}

const char *
addr_strerror(enum addr_err e)
{
	switch (e) {
	case ADDR_OK:
		return "address ok";
	case ADDR_ESYNTAX:
		return "syntax error in address";
	case ADDR_ELOCAL_LONG:
		return "local part longer than 64 octets";
	case ADDR_EDOMAIN_LONG:
		return "domain longer than 255 octets";
	case ADDR_EPATH_LONG:
		return "path longer than 256 octets";
	case ADDR_E8BIT:
		return "non-ASCII characters in address";
	case ADDR_EUTF8:
		return "invalid UTF-8 in address";
	case ADDR_ELITERAL:
		return "bad or unsupported address literal";
	case ADDR_ENULL:
		return "null address not allowed here";
	}
	return "unknown address error";
}
