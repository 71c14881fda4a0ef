/* spfcheck.c — SPF evaluation for posthorn-doctor(8): RFC 7208's
 * check_host() for the mechanisms a domain's own records use (ip4, ip6,
 * a, mx, include, redirect, all).  What needs the sender or the message
 * (macros, exists) or a reverse lookup we would rather not imitate (ptr)
 * is "cannot tell": the doctor says so instead of guessing. */

#include <sys/socket.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "spfcheck.h"
#include "str.h"

enum {
	/* MX hosts looked at for one mx mechanism (RFC 7208 §4.6.4). */
	SPF_MX_MAX = 10,
	SPF_TERM_MAX = 512	/* one term of a record; a record is ~450 */
};

struct eval {
	const struct dns_addr	*ip;
	int			 lookups;
	char			*why;
	size_t			 whysize;
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
	case SPF_NONE:
		return "none";
	case SPF_PERMERROR:
		return "permerror";
	case SPF_TEMPERROR:
		return "temperror";
	case SPF_UNKNOWN:
	default:
		return "cannot tell";
	}
}

/* The first bits of a and b equal (b of the same family). */
static int
prefix_eq(const struct dns_addr *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a->addr, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a->addr[full] & mask) == (b[full] & mask);
}

/* "/N" or "//N" cidr lengths at the end of spec, cut off: 0, or -1 when
 * one is not a number in range (permerror). */
static int
cidr(char *spec, unsigned *c4, unsigned *c6)
{
	char *p, *end;
	unsigned long v;

	*c4 = 32;
	*c6 = 128;
	if ((p = strstr(spec, "//")) != NULL) {
		v = strtoul(p + 2, &end, 10);
		if (p[2] == '\0' || *end != '\0' || v > 128)
			return -1;
		*c6 = (unsigned)v;
		*p = '\0';
	}
	if ((p = strchr(spec, '/')) != NULL) {
		v = strtoul(p + 1, &end, 10);
		if (p[1] == '\0' || *end != '\0' || v > 32)
			return -1;
		*c4 = (unsigned)v;
		*p = '\0';
	}
	return 0;
}

/* ip4:NET/N and ip6:NET/N: one length, of the network's family, cut
 * off: 0, or -1 when it is not a number up to max. */
static int
net_cidr(char *spec, unsigned max, unsigned *len)
{
	char *p, *end;
	unsigned long v;

	*len = max;
	if ((p = strchr(spec, '/')) == NULL)
		return 0;
	v = strtoul(p + 1, &end, 10);
	if (!isdigit((unsigned char)p[1]) || *end != '\0' || v > max)
		return -1;
	*len = (unsigned)v;
	*p = '\0';
	return 0;
}

/* One of addrs[0..n) in the ip's family within the cidr length. */
static int
any_match(const struct eval *e, const struct dns_addr *addrs, size_t n,
    unsigned c4, unsigned c6)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addrs[i].family == e->ip->family &&
		    prefix_eq(e->ip, addrs[i].addr,
		    e->ip->family == AF_INET ? c4 : c6))
			return 1;
	return 0;
}

static enum spf_result check_host(struct eval *, const char *domain);

/* a and mx: 1 match, 0 none, or an error result as -(result + 1). */
static int
match_a(struct eval *e, const char *host, unsigned c4, unsigned c6)
{
	struct dns_addr addrs[DNS_ADDRS_MAX];
	char w[256];
	size_t n;
	enum dns_result r;

	r = dns_addrs(host, addrs, DNS_ADDRS_MAX, &n, w, sizeof(w));
	if (r == DNS_TEMP) {
		str_fmt_cut(e->why, e->whysize, "%s", w);
		return -(SPF_TEMPERROR + 1);
	}
	return r == DNS_OK && any_match(e, addrs, n, c4, c6);
}

static int
match_mx(struct eval *e, const char *domain, unsigned c4, unsigned c6)
{
	struct dns_target mx[DNS_HOSTS_MAX];
	char w[256];
	size_t n, i;
	enum dns_result r;
	int m;

	r = dns_mx(domain, mx, DNS_HOSTS_MAX, &n, w, sizeof(w));
	if (r == DNS_TEMP) {
		str_fmt_cut(e->why, e->whysize, "%s", w);
		return -(SPF_TEMPERROR + 1);
	}
	/* No MX record: dns_mx's implicit target is not one for SPF. */
	if (r != DNS_OK || (n == 1 && mx[0].implicit))
		return 0;
	if (n > SPF_MX_MAX) {
		str_fmt_cut(e->why, e->whysize,
		    "%s: more than %d MX hosts (RFC 7208 §4.6.4)", domain,
		    SPF_MX_MAX);
		return -(SPF_PERMERROR + 1);
	}
	for (i = 0; i < n; i++)
		if ((m = match_a(e, mx[i].host, c4, c6)) != 0)
			return m;
	return 0;
}

static int
count_lookup(struct eval *e, const char *domain)
{
	if (++e->lookups <= SPF_LOOKUPS_MAX)
		return 0;
	str_fmt_cut(e->why, e->whysize,
	    "%s: more than %d DNS lookups (RFC 7208 §4.6.4)", domain,
	    SPF_LOOKUPS_MAX);
	return -1;
}

/* The one SPF record of domain into rec: 0, or a result (NONE,
 * TEMPERROR, PERMERROR) with why set. */
static int
find_record(struct eval *e, const char *domain, char *rec, size_t size,
    enum spf_result *res)
{
	struct dns_text *txt;
	char w[256];
	size_t n, i, found = 0;
	enum dns_result r;
	int rc = -1;

	if ((txt = malloc(DNS_TXTS_MAX * sizeof(*txt))) == NULL) {
		str_fmt_cut(e->why, e->whysize, "out of memory");
		*res = SPF_TEMPERROR;
		return -1;
	}
	r = dns_txt(domain, txt, DNS_TXTS_MAX, &n, w, sizeof(w));
	if (r == DNS_TEMP) {
		str_fmt_cut(e->why, e->whysize, "%s", w);
		*res = SPF_TEMPERROR;
		goto out;
	}
	if (r != DNS_OK)
		n = 0;
	for (i = 0; i < n; i++) {
		/* RFC 7208 §4.5: "v=spf1" then a space or the end. */
		if (strncasecmp(txt[i].text, "v=spf1", 6) != 0 ||
		    (txt[i].text[6] != ' ' && txt[i].text[6] != '\0'))
			continue;
		if (found++ == 0 && str_copy(rec, size, txt[i].text) == -1) {
			str_fmt_cut(e->why, e->whysize,
			    "%s: SPF record too long", domain);
			*res = SPF_PERMERROR;
			goto out;
		}
	}
	if (found == 0) {
		str_fmt_cut(e->why, e->whysize, "%s: no SPF record", domain);
		*res = SPF_NONE;
	} else if (found > 1) {
		str_fmt_cut(e->why, e->whysize,
		    "%s: %zu SPF records, one at most (RFC 7208 §4.5)",
		    domain, found);
		*res = SPF_PERMERROR;
	} else
		rc = 0;
out:
	free(txt);
	return rc;
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

/* A modifier: name "=" with name = ALPHA *(ALPHA / DIGIT / "-" / "_" /
 * "."), RFC 7208 §12.  *value set after the '='. */
static int
modifier(char *term, char **value)
{
	char *p = term;

	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' ||
	    *p == '.')
		p++;
	if (*p != '=')
		return 0;
	*p = '\0';
	*value = p + 1;
	return 1;
}

static enum spf_result
check_host(struct eval *e, const char *domain)
{
	char *rec, *save, *term, *arg, *name, *value;
	char redirect[DNS_NAME_MAX + 1] = "", target[DNS_NAME_MAX + 1];
	char argbuf[SPF_TERM_MAX];
	enum spf_result res, sub;
	unsigned c4, c6;
	struct dns_addr net;
	char q;
	int m;

	if ((rec = malloc(DNS_TXT_LEN_MAX + 1)) == NULL) {
		str_fmt_cut(e->why, e->whysize, "out of memory");
		return SPF_TEMPERROR;
	}
	if (find_record(e, domain, rec, DNS_TXT_LEN_MAX + 1, &res) == -1)
		goto out;
	for (term = strtok_r(rec + 6, " ", &save); term != NULL;
	    term = strtok_r(NULL, " ", &save)) {
		if (modifier(term, &value)) {
			if (str_casecmp(term, "redirect") == 0 &&
			    str_copy(redirect, sizeof(redirect), value) == -1) {
				str_fmt_cut(e->why, e->whysize,
				    "%s: redirect name too long", domain);
				res = SPF_PERMERROR;
				goto out;
			}
			continue;	/* exp= and unknown ones: ignored */
		}
		/* A macro needs the sender or the message (RFC 7208 §7);
		 * in exp= it only words a failure, ignored above. */
		if (strchr(term, '%') != NULL) {
			str_fmt_cut(e->why, e->whysize,
			    "%s: a macro in \"%s\"", domain, term);
			res = SPF_UNKNOWN;
			goto out;
		}
		q = '+';
		if (strchr("+-~?", *term) != NULL)
			q = *term++;
		name = term;
		arg = NULL;
		if ((term = strpbrk(name, ":/")) != NULL) {
			if (*term == ':') {
				*term = '\0';
				arg = term + 1;
			} else {
				/* a/24: the cidr alone is the argument. */
				if (str_copy(argbuf, sizeof(argbuf), term)
				    == -1) {
					res = SPF_PERMERROR;
					goto out;
				}
				*term = '\0';
				arg = argbuf;
			}
		}
		m = 0;
		if (str_casecmp(name, "all") == 0 && arg == NULL)
			m = 1;
		else if (str_casecmp(name, "ip4") == 0 ||
		    str_casecmp(name, "ip6") == 0) {
			int v6 = str_casecmp(name, "ip6") == 0;

			if (arg == NULL || net_cidr(arg, v6 ? 128 : 32,
			    v6 ? &c6 : &c4) == -1 ||
			    (v6 && strchr(arg, ':') == NULL) ||
			    (!v6 && strchr(arg, ':') != NULL) ||
			    dns_addr_parse(arg, &net) == -1) {
				str_fmt_cut(e->why, e->whysize,
				    "%s: bad %s term", domain, name);
				res = SPF_PERMERROR;
				goto out;
			}
			m = net.family == e->ip->family &&
			    prefix_eq(e->ip, net.addr, v6 ? c6 : c4);
		} else if (str_casecmp(name, "a") == 0 ||
		    str_casecmp(name, "mx") == 0) {
			c4 = 32;
			c6 = 128;
			if (arg != NULL && cidr(arg, &c4, &c6) == -1) {
				str_fmt_cut(e->why, e->whysize,
				    "%s: bad cidr in %s", domain, name);
				res = SPF_PERMERROR;
				goto out;
			}
			if (count_lookup(e, domain) == -1) {
				res = SPF_PERMERROR;
				goto out;
			}
			(void)str_copy(target, sizeof(target),
			    arg != NULL && *arg != '\0' ? arg : domain);
			m = str_casecmp(name, "a") == 0 ?
			    match_a(e, target, c4, c6) :
			    match_mx(e, target, c4, c6);
			if (m < 0) {
				res = (enum spf_result)(-m - 1);
				goto out;
			}
		} else if (str_casecmp(name, "include") == 0) {
			if (arg == NULL || *arg == '\0') {
				str_fmt_cut(e->why, e->whysize,
				    "%s: include without a domain", domain);
				res = SPF_PERMERROR;
				goto out;
			}
			if (count_lookup(e, domain) == -1) {
				res = SPF_PERMERROR;
				goto out;
			}
			(void)str_copy(target, sizeof(target), arg);
			sub = check_host(e, target);
			if (sub == SPF_PASS)
				m = 1;
			else if (sub == SPF_NONE) {
				str_fmt_cut(e->why, e->whysize,
				    "%s: include:%s has no SPF record", domain,
				    target);
				res = SPF_PERMERROR;
				goto out;
			} else if (sub == SPF_TEMPERROR ||
			    sub == SPF_PERMERROR || sub == SPF_UNKNOWN) {
				res = sub;
				goto out;
			}
		} else if (str_casecmp(name, "exists") == 0 ||
		    str_casecmp(name, "ptr") == 0) {
			str_fmt_cut(e->why, e->whysize,
			    "%s: \"%s\" is not evaluated here", domain, name);
			res = SPF_UNKNOWN;
			goto out;
		} else {
			str_fmt_cut(e->why, e->whysize,
			    "%s: unknown term \"%s\"", domain, name);
			res = SPF_PERMERROR;
			goto out;
		}
		if (m) {
			res = qualified(q);
			str_fmt_cut(e->why, e->whysize, "%s matched %c%s%s%s",
			    domain, q, name, arg != NULL ? ":" : "",
			    arg != NULL ? arg : "");
			goto out;
		}
	}
	if (redirect[0] != '\0') {
		if (strchr(redirect, '%') != NULL) {
			str_fmt_cut(e->why, e->whysize,
			    "%s: a macro in redirect=%s", domain, redirect);
			res = SPF_UNKNOWN;
			goto out;
		}
		if (count_lookup(e, domain) == -1) {
			res = SPF_PERMERROR;
			goto out;
		}
		res = check_host(e, redirect);
		if (res == SPF_NONE) {
			str_fmt_cut(e->why, e->whysize,
			    "%s: redirect=%s has no SPF record", domain,
			    redirect);
			res = SPF_PERMERROR;
		}
		goto out;
	}
	str_fmt_cut(e->why, e->whysize, "%s: nothing matched", domain);
	res = SPF_NEUTRAL;	/* RFC 7208 §4.7 */
out:
	free(rec);
	return res;
}

enum spf_result
spf_check(const struct dns_addr *ip, const char *domain, char *why,
    size_t whysize)
{
	struct eval e = { ip, 0, why, whysize };

	if (whysize > 0)
		why[0] = '\0';
	return check_host(&e, domain);
}
