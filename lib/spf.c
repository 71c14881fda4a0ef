/* spf.c — RFC 7208's check_host() on lib/dns.c's resolver.  The record
 * is checked whole before any term is evaluated (§4.6: a syntax error
 * anywhere is a permerror), then evaluated left to right with the
 * counters of §4.6.4 in a struct eval that lives on the caller's stack:
 * nothing here is global, so that a resident verifier can run checks
 * side by side.  Macros (§7) are expanded by spf_expand, which knows
 * nothing of DNS but asks a callback for %{p}. */

#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <stdarg.h>
#include <time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"
#include "str.h"

enum {
	SPF_DEPTH_MAX = SPF_LOOKUPS_MAX + 1,	/* include/redirect nesting */
	SPF_TXTS_MAX = DNS_TXTS_MAX,
	SPF_ADDRS_MAX = DNS_ADDRS_MAX
};

/* One check: the request, the counters of §4.6.4, the answer. */
struct eval {
	const struct spf_request	*req;
	struct dns_addr			 ip;	/* IPv4-mapped made IPv4 */
	const char			*local, *sdomain, *sender;
	char				 p[DNS_NAME_MAX + 1];
	int				 have_p;
	char				 p_domain[DNS_NAME_MAX + 1];	/* its d */
	struct spf_answer		*ans;
	int				 includes;	/* include: depth */
	struct timespec			 deadline;	/* time_limit */
	int				 late;		/* it passed */
};

const char *
spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPF_PASS:
		return "pass";
	case SPF_FAIL:
		return "fail";
	case SPF_SOFTFAIL:
		return "softfail";
	case SPF_NEUTRAL:
		return "neutral";
	case SPF_TEMPERROR:
		return "temperror";
	case SPF_PERMERROR:
		return "permerror";
	case SPF_NONE:
	default:
		return "none";
	}
}

/* --- syntax (§12) ------------------------------------------------------ */

static int
is_alnum(int c)
{
	return str_isalpha(c) || str_isdigit(c);
}

static int
macro_letter(int c, int exp)
{
	c = str_tolower(c);
	if (strchr("slodiphv", c) != NULL)
		return 1;
	return exp && strchr("crt", c) != NULL;
}

static int
delimiter(int c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* The length of the macro-expand at s (which starts with '%') within
 * end, or 0 if it is not one. */
static size_t
macro_len(const char *s, const char *end, int exp)
{
	const char *p = s + 1, *digits;
	int nonzero;

	if (p >= end)
		return 0;
	if (*p == '%' || *p == '_' || *p == '-')
		return 2;
	if (*p != '{' || ++p >= end || !macro_letter(*p, exp))
		return 0;
	p++;
	/* transformers = *DIGIT [ "r" ]; a DIGIT is nonzero (§7.3) */
	for (nonzero = 0, digits = p; p < end && str_isdigit(*p); p++)
		nonzero |= *p != '0';
	if (p > digits && !nonzero)
		return 0;
	if (p < end && (*p == 'r' || *p == 'R'))
		p++;
	while (p < end && delimiter(*p))
		p++;
	if (p >= end || *p != '}')
		return 0;
	return (size_t)(p + 1 - s);
}

/* A macro-string: visible ASCII, '%' only as a macro-expand.  *last_end
 * is set to where the text after the last macro-expand starts. */
static int
macro_string_ok(const char *s, size_t len, int exp, const char **last)
{
	const char *p = s, *end = s + len;
	size_t m;

	*last = s;
	while (p < end) {
		if (*p < 0x21 || *p > 0x7e)
			return 0;
		if (*p == '%') {
			if ((m = macro_len(p, end, exp)) == 0)
				return 0;
			p += m;
			*last = p;
		} else
			p++;
	}
	return 1;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
toplabel_ok(const char *s, size_t len)
{
	size_t i;
	int alpha = 0, dash = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '-')
			dash = 1;
		else if (str_isalpha(s[i]))
			alpha = 1;
		else if (!str_isdigit(s[i]))
			return 0;
	}
	if (dash)
		return is_alnum(s[0]) && is_alnum(s[len - 1]);
	return alpha;
}

int
spf_domain_spec_ok(const char *s, size_t len)
{
	const char *last, *end = s + len, *dot;

	if (len == 0 || !macro_string_ok(s, len, 0, &last))
		return 0;
	if (last == end && last != s)
		return 1;	/* domain-end = macro-expand */
	/* domain-end = "." toplabel [ "." ], in the literal tail */
	if (end > last && end[-1] == '.')
		end--;
	for (dot = end; dot > last && dot[-1] != '.'; dot--)
		;
	if (dot == last)
		return 0;	/* no "." before the toplabel */
	return toplabel_ok(dot, (size_t)(end - dot));
}

/* A cidr length: "0" or digits without a leading zero, up to max. */
static int
cidr_ok(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return 0;
	for (i = 0; i < len; i++) {
		if (!str_isdigit(s[i]))
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return 0;
	*out = v;
	return 1;
}

/* A trailing "/N" of s[0..*len): its digits' length, or 0. */
static size_t
trailing_cidr(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && str_isdigit(s[i - 1]))
		i--;
	if (i == len || i == 0 || s[i - 1] != '/')
		return 0;
	return len - i;
}

/* a and mx: dual-cidr-length at the end of the argument, cut off. */
static int
dual_cidr(struct spf_term *t, const char *arg, size_t *len)
{
	size_t d;

	if ((d = trailing_cidr(arg, *len)) != 0 && *len - d >= 2 &&
	    arg[*len - d - 2] == '/') {
		if (!cidr_ok(arg + *len - d, d, 128, &t->cidr6))
			return -1;
		*len -= d + 2;
	}
	if ((d = trailing_cidr(arg, *len)) != 0) {
		if (!cidr_ok(arg + *len - d, d, 32, &t->cidr4))
			return -1;
		*len -= d + 1;
	}
	return 0;
}

static int
mech_name(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

int
spf_term_next(const char **pos, struct spf_term *t, char *why,
    size_t whysize)
{
	static const struct {
		const char	*name;
		enum spf_kind	 kind;
	} mechs[] = {
		{ "all", SPF_ALL }, { "include", SPF_INCLUDE },
		{ "a", SPF_A }, { "mx", SPF_MX }, { "ptr", SPF_PTR },
		{ "ip4", SPF_IP4 }, { "ip6", SPF_IP6 },
		{ "exists", SPF_EXISTS }
	};
	const char *s = *pos, *p, *arg, *last;
	char net[64];
	size_t len, nlen, alen, i;

	while (*s == ' ')
		s++;
	if (*s == '\0') {
		*pos = s;
		return 0;
	}
	for (len = 0; s[len] != '\0' && s[len] != ' '; len++)
		;
	*pos = s + len;
	memset(t, 0, sizeof(*t));
	t->text = s;
	t->textlen = len;
	t->cidr4 = 32;
	t->cidr6 = 128;
	/* modifier = name "=" macro-string, name = ALPHA *( ALPHA / DIGIT
	 * / "-" / "_" / "." ) */
	p = s;
	if (str_isalpha(*p)) {
		while (p < s + len && (is_alnum(*p) || *p == '-' ||
		    *p == '_' || *p == '.'))
			p++;
		if (p < s + len && *p == '=') {
			nlen = (size_t)(p - s);
			t->spec = p + 1;
			t->speclen = len - nlen - 1;
			if (mech_name(s, nlen, "redirect"))
				t->kind = SPF_REDIRECT;
			else if (mech_name(s, nlen, "exp"))
				t->kind = SPF_EXP;
			else {
				t->kind = SPF_UNKNOWN_MOD;
				if (!macro_string_ok(t->spec, t->speclen, 1,
				    &last))
					goto bad;
				return 1;
			}
			if (!spf_domain_spec_ok(t->spec, t->speclen))
				goto bad;
			return 1;
		}
	}
	/* directive = [ qualifier ] mechanism */
	t->qualifier = '+';
	p = s;
	if (strchr("+-~?", *p) != NULL) {
		t->qualifier = *p;
		p++;
	}
	for (nlen = 0; p + nlen < s + len && p[nlen] != ':' &&
	    p[nlen] != '/'; nlen++)
		;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (mech_name(p, nlen, mechs[i].name))
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		goto bad;
	t->kind = mechs[i].kind;
	arg = p + nlen;
	alen = (size_t)(s + len - arg);
	switch (t->kind) {
	case SPF_ALL:
		if (alen != 0)
			goto bad;
		break;
	case SPF_A:
	case SPF_MX:
		if (dual_cidr(t, arg, &alen) == -1)
			goto bad;
		/* FALLTHROUGH */
	case SPF_PTR:
		if (alen == 0)
			break;
		if (arg[0] != ':' ||
		    !spf_domain_spec_ok(arg + 1, alen - 1))
			goto bad;
		t->spec = arg + 1;
		t->speclen = alen - 1;
		break;
	case SPF_INCLUDE:
	case SPF_EXISTS:
		if (alen < 1 || arg[0] != ':' ||
		    !spf_domain_spec_ok(arg + 1, alen - 1))
			goto bad;
		t->spec = arg + 1;
		t->speclen = alen - 1;
		break;
	case SPF_IP4:
	case SPF_IP6:
		if (alen < 2 || arg[0] != ':')
			goto bad;
		arg++;
		alen--;
		if ((i = trailing_cidr(arg, alen)) != 0) {
			if (!cidr_ok(arg + alen - i, i,
			    t->kind == SPF_IP4 ? 32 : 128,
			    t->kind == SPF_IP4 ? &t->cidr4 : &t->cidr6))
				goto bad;
			alen -= i + 1;
		}
		if (alen == 0 || alen >= sizeof(net))
			goto bad;
		memcpy(net, arg, alen);
		net[alen] = '\0';
		memset(&t->net, 0, sizeof(t->net));
		t->net.family = t->kind == SPF_IP4 ? AF_INET : AF_INET6;
		if (inet_pton(t->net.family, net, t->net.addr) != 1)
			goto bad;
		t->spec = arg;
		t->speclen = alen;
		break;
	default:
		goto bad;
	}
	return 1;
bad:
	str_fmt_cut(why, whysize, "syntax error in \"%.*s\"",
	    (int)(len > 100 ? 100 : len), s);
	return -1;
}

int
spf_is_record(const char *text)
{
	return strncasecmp(text, "v=spf1", 6) == 0 &&
	    (text[6] == ' ' || text[6] == '\0');
}

int
spf_parse(const char *record, char *why, size_t whysize)
{
	struct spf_term t;
	const char *pos, *c;
	int r, redirects = 0, exps = 0;

	if (!spf_is_record(record)) {
		str_fmt_cut(why, whysize, "not an SPF record");
		return -1;
	}
	for (c = record; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e) {
			str_fmt_cut(why, whysize,
			    "a byte that is not printable ASCII (RFC 7208 3.1)");
			return -1;
		}
	pos = record + 6;
	while ((r = spf_term_next(&pos, &t, why, whysize)) == 1) {
		if ((t.kind == SPF_REDIRECT && redirects++ > 0) ||
		    (t.kind == SPF_EXP && exps++ > 0)) {
			str_fmt_cut(why, whysize, "%s= twice (RFC 7208 6)",
			    t.kind == SPF_EXP ? "exp" : "redirect");
			return -1;
		}
	}
	return r;
}

/* --- macros (§7) ------------------------------------------------------- */

struct out {
	char	*s;
	size_t	 len, size;
	int	 full;
};

static void
put(struct out *o, const char *s, size_t len)
{
	if (o->full || len >= o->size - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->s + o->len, s, len);
	o->len += len;
	o->s[o->len] = '\0';
}

/* RFC 3986 unreserved characters stay; the rest become %XX (§7.3). */
static void
put_escaped(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_alnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			put(o, &s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 0xf];
		put(o, e, 3);
	}
}

/* The value of a macro letter into buf. */
static int
letter_value(const struct spf_macros *m, int c, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *v = NULL;
	size_t len = 0;
	int i;

	switch (str_tolower(c)) {
	case 's':
		v = m->sender;
		break;
	case 'l':
		v = m->local;
		break;
	case 'o':
		v = m->sender_domain;
		break;
	case 'd':
		v = m->domain;
		break;
	case 'h':
		v = m->helo;
		break;
	case 'r':
		v = m->receiver != NULL && m->receiver[0] != '\0' ?
		    m->receiver : "unknown";
		break;
	case 'p':
		v = m->p != NULL ? m->p : m->ptr != NULL ? m->ptr(m->arg) :
		    "unknown";
		break;
	case 'v':
		v = m->ip->family == AF_INET ? "in-addr" : "ip6";
		break;
	case 't':
		return str_fmt(buf, size, "%lld", m->now);
	case 'c':
		if (inet_ntop(m->ip->family, m->ip->addr, buf,
		    (socklen_t)size) == NULL)
			return -1;
		return 0;
	case 'i':
		if (m->ip->family == AF_INET)
			return str_fmt(buf, size, "%u.%u.%u.%u",
			    m->ip->addr[0], m->ip->addr[1], m->ip->addr[2],
			    m->ip->addr[3]);
		/* §7.3: dot-format, each nibble a label */
		if (size < 64)
			return -1;
		for (i = 0; i < 16; i++) {
			buf[len++] = hex[m->ip->addr[i] >> 4];
			buf[len++] = '.';
			buf[len++] = hex[m->ip->addr[i] & 0xf];
			buf[len++] = i < 15 ? '.' : '\0';
		}
		return 0;
	default:
		return -1;
	}
	if (v == NULL)
		v = "";
	return str_copy(buf, size, v);
}

/* One %{...}: split the value on the delimiters, reverse, keep the
 * rightmost n parts, join with ".", escape for an uppercase letter. */
static int
expand_one(const struct spf_macros *m, const char *s, size_t len,
    struct out *o)
{
	char value[SPF_VALUE_MAX + 1], delims[8] = "";
	const char *part[SPF_VALUE_MAX / 2 + 2];
	size_t plen[SPF_VALUE_MAX / 2 + 2], np = 0, nd = 0, keep, i, k;
	size_t start = 0, vlen;
	unsigned long n = 0;
	int letter = s[2], rev = 0, digits = 0;
	const char *p = s + 3, *end = s + len - 1;
	struct out j;
	char joined[SPF_VALUE_MAX * 2 + 2];

	if (letter_value(m, letter, value, sizeof(value)) == -1)
		return -1;
	while (p < end && str_isdigit(*p)) {
		digits = 1;
		if (n < 1000)
			n = n * 10 + (unsigned long)(*p - '0');
		p++;
	}
	if (digits && n == 0)
		return -1;	/* §7.3: a DIGIT transformer is nonzero */
	if (p < end && (*p == 'r' || *p == 'R')) {
		rev = 1;
		p++;
	}
	while (p < end && nd < sizeof(delims) - 1) {
		if (strchr(delims, *p) == NULL)
			delims[nd++] = *p;
		p++;
	}
	if (nd == 0)
		delims[nd++] = '.';
	delims[nd] = '\0';
	vlen = strlen(value);
	for (i = 0; i <= vlen; i++) {
		if (i < vlen && strchr(delims, value[i]) == NULL)
			continue;
		part[np] = value + start;
		plen[np++] = i - start;
		start = i + 1;
	}
	keep = digits && n < np ? n : np;
	j.s = joined;
	j.len = 0;
	j.size = sizeof(joined);
	j.full = 0;
	joined[0] = '\0';
	for (k = 0; k < keep; k++) {
		/* the rightmost keep parts of the (maybe reversed) list */
		i = np - keep + k;
		if (rev)
			i = np - 1 - i;
		if (k > 0)
			put(&j, ".", 1);
		put(&j, part[i], plen[i]);
	}
	if (j.full)
		return -1;
	if (str_isalpha(letter) && letter >= 'A' && letter <= 'Z')
		put_escaped(o, joined, j.len);
	else
		put(o, joined, j.len);
	return 0;
}

int
spf_expand(const struct spf_macros *m, const char *spec, size_t len,
    int exp, char *buf, size_t size)
{
	struct out o = { buf, 0, size, 0 };
	const char *p = spec, *end = spec + len;
	size_t ml;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	while (p < end) {
		if (*p != '%') {
			if (!exp && (*p < 0x21 || *p > 0x7e))
				return -1;
			put(&o, p++, 1);
			continue;
		}
		if ((ml = macro_len(p, end, exp)) == 0)
			return -1;
		if (p[1] == '%')
			put(&o, "%", 1);
		else if (p[1] == '_')
			put(&o, " ", 1);
		else if (p[1] == '-')
			put(&o, "%20", 3);
		else if (expand_one(m, p, ml, &o) == -1)
			return -1;
		p += ml;
	}
	return o.full ? -1 : 0;
}

/* --- evaluation (§4, §5) ----------------------------------------------- */

/* §4.3: a name that DNS can be asked for, of two labels or more. */
static int
domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 0, i;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX || d[0] == '[')
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && d[i] != '.') {
			label++;
			continue;
		}
		if (label == 0 || label > 63)
			return 0;
		labels++;
		label = 0;
	}
	return labels >= 2;
}

/* The first problem met is the one told. */
static void problem(struct eval *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct eval *e, const char *fmt, ...)
{
	va_list ap;

	if (e->ans->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	str_vfmt_cut(e->ans->problem, sizeof(e->ans->problem), fmt, ap);
	va_end(ap);
}

/* 1 once the check's time is up (§4.6.4: a time limit, "at least 20
 * seconds"): no DNS query more, the result is temperror. */
static int
late(struct eval *e)
{
	struct timespec now;

	if (e->late)
		return 1;
	if (e->req->time_limit <= 0 ||
	    clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return 0;
	if (now.tv_sec > e->deadline.tv_sec ||
	    (now.tv_sec == e->deadline.tv_sec &&
	    now.tv_nsec >= e->deadline.tv_nsec)) {
		e->late = 1;
		problem(e, "the check took more than %d s (RFC 7208 4.6.4)",
		    e->req->time_limit);
		return 1;
	}
	return 0;
}

static int
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static int
addr_match(const struct eval *e, const struct dns_addr *a, size_t n,
    unsigned c4, unsigned c6)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].family == e->ip.family && prefix_eq(e->ip.addr,
		    a[i].addr, e->ip.family == AF_INET ? c4 : c6))
			return 1;
	return 0;
}

/* A DNS term more: -1 (permerror) past the limit. */
static int
count_lookup(struct eval *e, const char *domain)
{
	if (++e->ans->lookups <= SPF_LOOKUPS_MAX)
		return 0;
	problem(e, "%s: more than 10 DNS lookups (RFC 7208 4.6.4)",
	    domain);
	return -1;
}

/* A void lookup: -1 (permerror) past the limit. */
static int
count_void(struct eval *e, const char *name)
{
	if (++e->ans->voids <= SPF_VOIDS_MAX)
		return 0;
	problem(e, "%s: more than 2 void lookups (RFC 7208 4.6.4)",
	    name);
	return -1;
}

/* The validated names of the client (§5.5): PTR names (the first
 * SPF_PTR_NAMES_MAX) whose A or AAAA records give the ip back.
 * Returns the count; -1 when the PTR lookup failed for now. */
static int
validated_names(struct eval *e, struct dns_name *names, size_t *n,
    enum dns_result *pr)
{
	struct dns_addr addrs[SPF_ADDRS_MAX];
	char rev[DNS_REVERSE_MAX], w[256];
	size_t i, k = 0, na;

	dns_reverse_name(&e->ip, rev, sizeof(rev));
	*pr = dns_names(&e->req->dns, rev, ns_t_ptr, names,
	    SPF_PTR_NAMES_MAX, n, w, sizeof(w));
	if (*pr != DNS_OK)
		*n = 0;
	for (i = 0; i < *n; i++) {
		/* §5.5: a name whose lookup fails is skipped */
		if (late(e) || dns_addrs_family(&e->req->dns, names[i].name,
		    e->ip.family, addrs, SPF_ADDRS_MAX, &na, w,
		    sizeof(w)) != DNS_OK || !addr_match(e, addrs, na,
		    32, 128))
			continue;
		if (k != i)
			names[k] = names[i];
		k++;
	}
	*n = k;
	return 0;
}

/* name is target or a name under it (§5.5), without case. */
static int
under(const char *name, const char *target)
{
	size_t ln = strlen(name), lt = strlen(target);

	if (lt > 0 && target[lt - 1] == '.')
		lt--;
	if (ln > 0 && name[ln - 1] == '.')
		ln--;
	if (ln == lt)
		return strncasecmp(name, target, lt) == 0;
	return ln > lt && name[ln - lt - 1] == '.' &&
	    strncasecmp(name + ln - lt, target, lt) == 0;
}

/* %{p} (§7.3): a validated name, the domain itself or one under it
 * first. */
static const char *
ptr_macro(void *arg)
{
	struct eval *e = arg;
	struct dns_name names[SPF_PTR_NAMES_MAX];
	enum dns_result pr;
	size_t n, i, best = SIZE_MAX;

	if (e->have_p)
		return e->p;
	e->have_p = 1;
	(void)str_copy(e->p, sizeof(e->p), "unknown");
	(void)validated_names(e, names, &n, &pr);
	for (i = 0; i < n && best == SIZE_MAX; i++)
		if (under(names[i].name, e->p_domain))
			best = i;
	if (best == SIZE_MAX && n > 0)
		best = 0;
	if (best != SIZE_MAX)
		(void)str_copy(e->p, sizeof(e->p), names[best].name);
	return e->p;
}

static void
macros(struct eval *e, const char *domain, struct spf_macros *m)
{
	memset(m, 0, sizeof(*m));
	m->sender = e->sender;
	m->local = e->local;
	m->sender_domain = e->sdomain;
	m->domain = domain;
	m->ip = &e->ip;
	m->helo = e->req->helo != NULL ? e->req->helo : "";
	m->receiver = e->req->receiver;
	m->now = e->req->now;
	m->ptr = ptr_macro;
	m->arg = e;
	/* %{p} depends on d; asked again for another domain.  A copy:
	 * domain may be a name in the frame of a check that returns. */
	if (str_casecmp(e->p_domain, domain) != 0) {
		e->have_p = 0;
		if (str_copy(e->p_domain, sizeof(e->p_domain), domain) == -1)
			e->p_domain[0] = '\0';
	}
}

/* A domain-spec expanded into a target name (§7.3: past 253 octets the
 * left labels go; a trailing dot goes too): 0, or -1 (permerror). */
static int
target(struct eval *e, const char *domain, const struct spf_term *t,
    char *out, size_t size)
{
	struct spf_macros m;
	char *buf, *p;
	size_t len;
	int rc = -1;

	if (t->spec == NULL)
		return str_copy(out, size, domain);
	if ((buf = malloc(SPF_EXPAND_MAX)) == NULL)
		return -1;
	macros(e, domain, &m);
	if (spf_expand(&m, t->spec, t->speclen, 0, buf, SPF_EXPAND_MAX) ==
	    -1) {
		problem(e, "%s: a macro cannot be expanded", domain);
		goto out;
	}
	len = strlen(buf);
	if (len > 1 && buf[len - 1] == '.')
		buf[--len] = '\0';
	p = buf;
	while (len > SPF_DOMAIN_MAX) {
		char *dot = strchr(p, '.');

		if (dot == NULL)
			break;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (str_copy(out, size, p) == -1)
		goto out;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The one SPF record of domain: 0 and rec set, else the result. */
static enum spf_result
find_record(struct eval *e, const char *domain, char *rec, size_t size,
    int *found)
{
	struct dns_text *txt;
	char w[256];
	size_t n, i, k = 0;
	enum dns_result r;
	enum spf_result res = SPF_NONE;

	*found = 0;
	if ((txt = malloc(SPF_TXTS_MAX * sizeof(*txt))) == NULL) {
		problem(e, "%s: out of memory", domain);
		return SPF_TEMPERROR;
	}
	r = dns_txt_with(&e->req->dns, domain, txt, SPF_TXTS_MAX, &n, w,
	    sizeof(w));
	if (r == DNS_TEMP) {
		problem(e, "%s", w);
		res = SPF_TEMPERROR;
		goto out;
	}
	if (r != DNS_OK)
		n = 0;
	for (i = 0; i < n; i++) {
		if (!spf_is_record(txt[i].text))
			continue;
		if (k++ == 0) {
			if (txt[i].cut || txt[i].odd > 0 ||
			    str_copy(rec, size, txt[i].text) == -1) {
				problem(e, "%s: the SPF record %s", domain,
				    txt[i].cut ? "is too long" :
				    "is not 7-bit ASCII (RFC 7208 3.1)");
				res = SPF_PERMERROR;
				goto out;
			}
		}
	}
	if (k > 1) {
		problem(e, "%s: more than one SPF record (RFC 7208 4.5)", domain);
		res = SPF_PERMERROR;
	} else if (k == 0)
		problem(e, "%s: no SPF record", domain);
	else
		*found = 1;
out:
	free(txt);
	return res;
}

/* The explanation of a fail (RFC 7208 6.2), "" when it cannot be had. */
static void
explain(struct eval *e, const char *domain, const struct spf_term *exp)
{
	struct dns_text *txt = NULL;
	struct spf_macros m;
	char name[DNS_NAME_MAX + 1], w[256];
	size_t n;
	char *buf = NULL;

	e->ans->explanation[0] = '\0';
	if (exp == NULL || late(e) ||
	    target(e, domain, exp, name, sizeof(name)) == -1)
		return;
	if ((txt = malloc(SPF_TXTS_MAX * sizeof(*txt))) == NULL ||
	    (buf = malloc(SPF_EXPAND_MAX)) == NULL)
		goto out;
	/* An explanation's lookup is not a term: no counting. */
	if (dns_txt_with(&e->req->dns, name, txt, SPF_TXTS_MAX, &n, w,
	    sizeof(w)) != DNS_OK || n != 1 || txt[0].odd > 0 ||
	    txt[0].cut)
		goto out;
	macros(e, domain, &m);
	if (spf_expand(&m, txt[0].text, strlen(txt[0].text), 1, buf,
	    SPF_EXPAND_MAX) == -1)
		goto out;
	str_fmt_cut(e->ans->explanation, sizeof(e->ans->explanation), "%s",
	    buf);
out:
	free(buf);
	free(txt);
}

static enum spf_result check(struct eval *, const char *domain, int depth);

/* One mechanism: 1 match, 0 not, or -(result + 1) for an error. */
static int
mechanism(struct eval *e, const char *domain, const struct spf_term *t,
    int depth)
{
	struct dns_addr addrs[SPF_ADDRS_MAX];
	struct dns_name names[SPF_MX_NAMES_MAX + 1];
	char name[DNS_NAME_MAX + 1], w[256];
	enum dns_result r;
	enum spf_result sub;
	size_t n, na, i;

	switch (t->kind) {
	case SPF_ALL:
		return 1;
	case SPF_IP4:
	case SPF_IP6:
		return t->net.family == e->ip.family && prefix_eq(e->ip.addr,
		    t->net.addr, t->kind == SPF_IP4 ? t->cidr4 : t->cidr6);
	default:
		break;
	}
	if (count_lookup(e, domain) == -1)
		return -(SPF_PERMERROR + 1);
	if (late(e))
		return -(SPF_TEMPERROR + 1);
	if (target(e, domain, t, name, sizeof(name)) == -1) {
		problem(e, "%s: a target name cannot be made of \"%.*s\"",
		    domain, (int)t->textlen, t->text);
		return -(SPF_PERMERROR + 1);
	}
	switch (t->kind) {
	case SPF_INCLUDE:
		/* §5.2: pass matches; fail, softfail, neutral do not. */
		e->includes++;
		sub = check(e, name, depth + 1);
		e->includes--;
		if (sub == SPF_PASS)
			return 1;
		if (sub == SPF_TEMPERROR)
			return -(SPF_TEMPERROR + 1);
		if (sub == SPF_PERMERROR || sub == SPF_NONE) {
			problem(e, "include:%s: %s", name, sub == SPF_NONE ?
			    "no SPF record" : "permerror");
			return -(SPF_PERMERROR + 1);
		}
		return 0;
	case SPF_A:
	case SPF_EXISTS:
		/* §5.7: exists asks for A whatever the connection. */
		r = dns_addrs_family(&e->req->dns, name, t->kind ==
		    SPF_EXISTS ? AF_INET : e->ip.family, addrs,
		    SPF_ADDRS_MAX, &n, w, sizeof(w));
		if (r == DNS_TEMP) {
			problem(e, "%s", w);
			return -(SPF_TEMPERROR + 1);
		}
		if (r != DNS_OK || n == 0)
			return count_void(e, name) == -1 ?
			    -(SPF_PERMERROR + 1) : 0;
		if (t->kind == SPF_EXISTS)
			return 1;
		return addr_match(e, addrs, n, t->cidr4, t->cidr6);
	case SPF_MX:
		r = dns_names(&e->req->dns, name, ns_t_mx, names,
		    SPF_MX_NAMES_MAX + 1, &n, w, sizeof(w));
		if (r == DNS_TEMP) {
			problem(e, "%s", w);
			return -(SPF_TEMPERROR + 1);
		}
		if (r != DNS_OK)
			return count_void(e, name) == -1 ?
			    -(SPF_PERMERROR + 1) : 0;
		if (n > SPF_MX_NAMES_MAX) {
			problem(e, "%s: more than 10 MX hosts (RFC 7208 "
			    "4.6.4)", name);
			return -(SPF_PERMERROR + 1);
		}
		for (i = 0; i < n; i++) {
			if (late(e))
				return -(SPF_TEMPERROR + 1);
			r = dns_addrs_family(&e->req->dns, names[i].name,
			    e->ip.family, addrs, SPF_ADDRS_MAX, &na, w,
			    sizeof(w));
			if (r == DNS_TEMP) {
				problem(e, "%s", w);
				return -(SPF_TEMPERROR + 1);
			}
			if (r == DNS_OK && addr_match(e, addrs, na, t->cidr4,
			    t->cidr6))
				return 1;
		}
		return 0;
	case SPF_PTR:
		(void)validated_names(e, names, &n, &r);
		if (e->late)
			return -(SPF_TEMPERROR + 1);
		if (r == DNS_NXDOMAIN || r == DNS_NODATA)
			return count_void(e, name) == -1 ?
			    -(SPF_PERMERROR + 1) : 0;
		for (i = 0; i < n; i++)
			if (under(names[i].name, name))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static void
decided(struct eval *e, const char *domain, const struct spf_term *t)
{
	(void)str_copy(e->ans->domain, sizeof(e->ans->domain), domain);
	if (t == NULL)
		(void)str_copy(e->ans->mechanism, sizeof(e->ans->mechanism),
		    "default");
	else
		str_fmt_cut(e->ans->mechanism, sizeof(e->ans->mechanism),
		    "%.*s", (int)t->textlen, t->text);
}

static enum spf_result
qualified(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

/* check_host() for domain, depth includes or redirects down. */
static enum spf_result
check(struct eval *e, const char *domain, int depth)
{
	struct spf_term t, redirect, exp;
	const char *pos;
	char *rec = NULL, why[256], name[DNS_NAME_MAX + 1];
	enum spf_result res;
	int found, have_redirect = 0, have_exp = 0, m;

	if (depth > SPF_DEPTH_MAX) {
		problem(e, "%s: nested too deep", domain);
		return SPF_PERMERROR;
	}
	if (!domain_ok(domain)) {
		problem(e, "%s: not a domain name (RFC 7208 4.3)", domain);
		return SPF_NONE;
	}
	if (late(e))
		return SPF_TEMPERROR;
	if ((rec = malloc(DNS_TXT_LEN_MAX + 1)) == NULL) {
		problem(e, "out of memory");
		return SPF_TEMPERROR;
	}
	res = find_record(e, domain, rec, DNS_TXT_LEN_MAX + 1, &found);
	if (!found)
		goto out;
	if (spf_parse(rec, why, sizeof(why)) == -1) {
		problem(e, "%s: %s", domain, why);
		res = SPF_PERMERROR;
		goto out;
	}
	pos = rec + 6;
	while (spf_term_next(&pos, &t, why, sizeof(why)) == 1) {
		if (t.kind == SPF_REDIRECT) {
			redirect = t;
			have_redirect = 1;
			continue;
		}
		if (t.kind == SPF_EXP) {
			exp = t;
			have_exp = 1;
			continue;
		}
		if (t.kind == SPF_UNKNOWN_MOD)
			continue;
		if ((m = mechanism(e, domain, &t, depth)) < 0) {
			res = (enum spf_result)(-m - 1);
			decided(e, domain, &t);
			goto out;
		}
		if (m == 1) {
			res = qualified(t.qualifier);
			decided(e, domain, &t);
			/* An included record's fail is no answer: its
			 * explanation is not looked up (§5.2). */
			if (res == SPF_FAIL && e->includes == 0) {
				/* The exp= may come after the term. */
				while (spf_term_next(&pos, &t, why,
				    sizeof(why)) == 1)
					if (t.kind == SPF_EXP) {
						exp = t;
						have_exp = 1;
					}
				explain(e, domain, have_exp ? &exp : NULL);
			}
			goto out;
		}
	}
	if (have_redirect) {
		/* §6.1: as if the target's record were this one's; its
		 * exp= goes with it, ours does not. */
		if (count_lookup(e, domain) == -1) {
			res = SPF_PERMERROR;
			decided(e, domain, &redirect);
			goto out;
		}
		if (target(e, domain, &redirect, name, sizeof(name)) == -1) {
			res = SPF_PERMERROR;
			decided(e, domain, &redirect);
			goto out;
		}
		res = check(e, name, depth + 1);
		if (res == SPF_NONE) {
			problem(e, "redirect=%s: no SPF record", name);
			res = SPF_PERMERROR;
			decided(e, domain, &redirect);
		}
		goto out;
	}
	res = SPF_NEUTRAL;	/* §4.7 */
	decided(e, domain, NULL);
out:
	free(rec);
	return res;
}

static void
answer_init(struct spf_answer *a, const char *identity)
{
	memset(a, 0, sizeof(*a));
	a->identity = identity;
}

/* The client as SPF sees it: an IPv4-mapped IPv6 address is IPv4. */
static void
client(struct eval *e, const struct spf_request *req)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	e->ip = req->ip;
	if (e->ip.family == AF_INET6 &&
	    memcmp(e->ip.addr, mapped, 12) == 0) {
		e->ip.family = AF_INET;
		memmove(e->ip.addr, req->ip.addr + 12, 4);
		memset(e->ip.addr + 4, 0, 12);
		(void)inet_ntop(AF_INET, e->ip.addr, e->ip.text,
		    sizeof(e->ip.text));
	}
}

/* Evaluate for domain with the sender of a (local@dom) split. */
static enum spf_result
run(const struct spf_request *req, const char *domain,
    struct spf_answer *a)
{
	struct eval e;
	char local[SPF_VALUE_MAX + 1];
	const char *at;

	memset(&e, 0, sizeof(e));
	e.req = req;
	e.ans = a;
	client(&e, req);
	if (req->time_limit > 0 &&
	    clock_gettime(CLOCK_MONOTONIC, &e.deadline) == 0)
		e.deadline.tv_sec += req->time_limit;
	at = strrchr(a->sender, '@');
	if (at == NULL) {
		(void)str_copy(local, sizeof(local), "postmaster");
		e.sdomain = a->sender;
	} else {
		str_fmt_cut(local, sizeof(local), "%.*s",
		    (int)(at - a->sender), a->sender);
		e.sdomain = at + 1;
	}
	e.local = local;
	e.sender = a->sender;
	a->result = check(&e, domain, 0);
	if (a->domain[0] == '\0')
		(void)str_copy(a->domain, sizeof(a->domain), domain);
	return a->result;
}

/* sender as check_host takes it: "postmaster" for an empty local-part
 * (RFC 7208 4.3), "postmaster@helo" for the null sender. */
static int
set_sender(struct spf_answer *a, const char *sender, const char *helo)
{
	const char *at = strrchr(sender, '@');

	if (sender[0] == '\0')
		return str_fmt(a->sender, sizeof(a->sender), "postmaster@%s",
		    helo);
	if (at == sender)
		return str_fmt(a->sender, sizeof(a->sender), "postmaster%s",
		    sender);
	return str_copy(a->sender, sizeof(a->sender), sender);
}

enum spf_result
spf_check_host(const struct spf_request *req, const char *domain,
    struct spf_answer *a)
{
	answer_init(a, "mailfrom");
	if (set_sender(a, req->sender != NULL ? req->sender : "",
	    req->helo != NULL ? req->helo : "") == -1) {
		str_fmt_cut(a->problem, sizeof(a->problem), "sender too long");
		return a->result = SPF_PERMERROR;
	}
	return run(req, domain, a);
}

enum spf_result
spf_check_mailfrom(const struct spf_request *req, struct spf_answer *a)
{
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *helo = req->helo != NULL ? req->helo : "";
	const char *at;

	answer_init(a, sender[0] == '\0' ? "helo" : "mailfrom");
	if (set_sender(a, sender, helo) == -1) {
		str_fmt_cut(a->problem, sizeof(a->problem), "sender too long");
		return a->result = SPF_NONE;
	}
	at = strrchr(a->sender, '@');
	return run(req, at != NULL ? at + 1 : a->sender, a);
}

enum spf_result
spf_check_helo(const struct spf_request *req, struct spf_answer *a)
{
	const char *helo = req->helo != NULL ? req->helo : "";

	answer_init(a, "helo");
	if (set_sender(a, "", helo) == -1) {
		str_fmt_cut(a->problem, sizeof(a->problem), "HELO too long");
		return a->result = SPF_NONE;
	}
	return run(req, helo, a);
}

/* A Received-SPF value: as it is when it is a dot-atom of RFC 5322,
 * else quoted with its quotes and backslashes escaped. */
static void
kv(struct str *s, const char *key, const char *v)
{
	const char *p;
	int atom = v[0] != '\0' && v[0] != '.';

	/* §9.1: key "=" ( dot-atom / quoted-string ), as its example
	 * writes envelope-from="myname@example.com" */
	for (p = v; *p != '\0' && atom; p++)
		atom = (is_alnum(*p) || strchr("!#$%&'*+-/=?^_`{|}~.",
		    *p) != NULL) && !(*p == '.' && (p[1] == '.' ||
		    p[1] == '\0'));
	(void)str_appendf(s, " %s=", key);
	if (atom) {
		(void)str_appends(s, v);
	} else {
		(void)str_appendc(s, '"');
		for (p = v; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				(void)str_appendc(s, '\\');
			(void)str_appendc(s, *p >= 0x20 && *p < 0x7f ? *p :
			    '?');
		}
		(void)str_appendc(s, '"');
	}
	(void)str_appendc(s, ';');
}

void
spf_received(const struct spf_request *req, const struct spf_answer *a,
    char *out, size_t size)
{
	static const char *const says[] = {
		[SPF_NONE] = "does not publish SPF for",
		[SPF_NEUTRAL] = "neither permits nor denies",
		[SPF_PASS] = "designates",
		[SPF_FAIL] = "does not designate",
		[SPF_SOFTFAIL] = "does not quite designate",
		[SPF_TEMPERROR] = "could not be checked for",
		[SPF_PERMERROR] = "has a broken SPF record for"
	};
	const char *recv = req->receiver != NULL && req->receiver[0] != '\0' ?
	    req->receiver : "unknown";
	struct str s;

	if (size == 0)
		return;
	str_init(&s, out, size);
	(void)str_appendf(&s, "%s (%s: %s of %s %s %s%s)",
	    spf_result_name(a->result), recv,
	    strcmp(a->identity, "helo") == 0 ? "HELO name" : "domain",
	    a->sender, says[a->result], req->ip.text,
	    a->result == SPF_PASS || a->result == SPF_FAIL ||
	    a->result == SPF_SOFTFAIL ? " as permitted sender" : "");
	kv(&s, "client-ip", req->ip.text);
	kv(&s, "envelope-from", a->sender);
	kv(&s, "helo", req->helo != NULL ? req->helo : "");
	kv(&s, "receiver", recv);
	kv(&s, "identity", a->identity);
	if (a->mechanism[0] != '\0')
		kv(&s, "mechanism", a->mechanism);
	if (a->problem[0] != '\0' && (a->result == SPF_PERMERROR ||
	    a->result == SPF_TEMPERROR || a->result == SPF_NONE))
		kv(&s, "problem", a->problem);
	/* the last ";" is not the field's */
	if (s.len > 0 && s.s[s.len - 1] == ';')
		str_truncate(&s, s.len - 1);
}
