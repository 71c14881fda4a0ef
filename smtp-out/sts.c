/* sts.c — MTA-STS policies (sts.h): the TXT record's id, the policy's
 * text parsed strictly, MX patterns, and the cache in the spool that
 * spares a fetch for every delivery.  A policy is only ever taken whole:
 * anything that does not parse is no policy, as RFC 8461 §3.2 and §5
 * say, never half of one. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "dns.h"
#include "fileread.h"
#include "io.h"
#include "log.h"
#include "str.h"
#include "sts.h"
#include "sts_fetch.h"

#define CACHE_MAGIC	"posthorn-mta-sts 1"
#define CACHE_DIR	"state/mta-sts"

enum {
	/* The cache header: three short lines. */
	CACHE_HEAD_MAX = 128
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* A domain name of LDH labels, each 1..63, no leading or trailing
 * hyphen, at least two labels (RFC 1035 §2.3.1; RFC 8461 §3.2 takes
 * RFC 5321's Domain).  1 or 0. */
static int
valid_domain(const char *s, size_t len)
{
	size_t i, label = 0, labels = 1;

	if (len == 0 || len > DNS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-' && labels >= 2;
}

/* An mx value: "*." and a domain, or a domain. */
static int
valid_pattern(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '*' && s[1] == '.')
		return valid_domain(s + 2, len - 2);
	return valid_domain(s, len);
}

/* A non-negative integer of 1..10 digits (RFC 8461 §3.2's max_age). */
static int
parse_age(const char *s, size_t len, long *out)
{
	long n = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	*out = n;
	return 0;
}

int
sts_parse(const char *text, size_t len, struct sts_policy *pol, char *why,
    size_t whysize)
{
	const char *p = text, *end = text + len, *eol, *colon, *v, *ve;
	size_t klen, lineno = 0;
	int have_version = 0, have_mode = 0, have_age = 0;

	memset(pol, 0, sizeof(*pol));
	if (len > STS_POLICY_MAX) {
		str_fmt_cut(why, whysize, "longer than %d bytes",
		    STS_POLICY_MAX);
		return -1;
	}
	while (p < end) {
		lineno++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		ve = eol;
		if (ve > p && ve[-1] == '\r')
			ve--;
		/* Blank lines, including the one a final CRLF leaves. */
		if (ve == p) {
			p = eol + 1;
			continue;
		}
		if ((colon = memchr(p, ':', (size_t)(ve - p))) == NULL) {
			str_fmt_cut(why, whysize, "line %zu: no ':'", lineno);
			return -1;
		}
		klen = (size_t)(colon - p);
		for (v = colon + 1; v < ve && is_wsp(*v); v++)
			;
		/* RFC 8461 §3.2: trailing WSP after a field is allowed. */
		while (ve > v && is_wsp(ve[-1]))
			ve--;
		if (memchr(p, '\0', (size_t)(ve - p)) != NULL) {
			str_fmt_cut(why, whysize, "line %zu: a NUL byte",
			    lineno);
			return -1;
		}
#define KEY(k)	(klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
#define VAL(x)	((size_t)(ve - v) == sizeof(x) - 1 && \
		    memcmp(v, x, sizeof(x) - 1) == 0)
		if (KEY("version")) {
			if (have_version++ || !VAL("STSv1")) {
				str_fmt_cut(why, whysize, "line %zu: version "
				    "not STSv1, or twice", lineno);
				return -1;
			}
		} else if (KEY("mode")) {
			if (have_mode++) {
				str_fmt_cut(why, whysize, "line %zu: mode "
				    "twice", lineno);
				return -1;
			}
			if (VAL("enforce"))
				pol->mode = STS_MODE_ENFORCE;
			else if (VAL("testing"))
				pol->mode = STS_MODE_TESTING;
			else if (VAL("none"))
				pol->mode = STS_MODE_NONE;
			else {
				str_fmt_cut(why, whysize, "line %zu: unknown "
				    "mode", lineno);
				return -1;
			}
		} else if (KEY("max_age")) {
			if (have_age++ || parse_age(v, (size_t)(ve - v),
			    &pol->max_age) == -1 ||
			    pol->max_age > STS_MAX_AGE_MAX) {
				str_fmt_cut(why, whysize, "line %zu: max_age "
				    "not 0..%d, or twice", lineno,
				    STS_MAX_AGE_MAX);
				return -1;
			}
		} else if (KEY("mx")) {
			if (!valid_pattern(v, (size_t)(ve - v))) {
				str_fmt_cut(why, whysize, "line %zu: not an "
				    "MX pattern", lineno);
				return -1;
			}
			if (pol->nmx == STS_MX_MAX) {
				str_fmt_cut(why, whysize, "more than %d mx "
				    "lines", STS_MX_MAX);
				return -1;
			}
			memcpy(pol->mx[pol->nmx], v, (size_t)(ve - v));
			pol->mx[pol->nmx][ve - v] = '\0';
			str_lower(pol->mx[pol->nmx]);
			pol->nmx++;
		} else {
			/* sts-policy-ext-name: 1*32(ALPHA/DIGIT/"_"/"-"
			 * /"."), an extension we do not know: ignored. */
			size_t i;

			if (klen == 0 || klen > 32) {
				str_fmt_cut(why, whysize, "line %zu: bad "
				    "field name", lineno);
				return -1;
			}
			for (i = 0; i < klen; i++)
				if (!is_alnum(p[i]) && p[i] != '_' &&
				    p[i] != '-' && p[i] != '.') {
					str_fmt_cut(why, whysize, "line %zu: "
					    "bad field name", lineno);
					return -1;
				}
		}
#undef KEY
#undef VAL
		p = eol + 1;
	}
	if (!have_version || !have_mode || !have_age) {
		str_fmt_cut(why, whysize, "%s missing", !have_version ?
		    "version" : !have_mode ? "mode" : "max_age");
		return -1;
	}
	if (pol->mode != STS_MODE_NONE && pol->nmx == 0) {
		str_fmt_cut(why, whysize, "no mx line");
		return -1;
	}
	return 0;
}

int
sts_txt_id(const char *txt, char *id, size_t idsize)
{
	const char *p = txt, *k, *v;
	size_t klen, vlen;
	int have_id = 0;

	/* RFC 8461 §3.1: "v=STSv1" first, then "; field"s, each
	 * "name=value", blanks around the separators. */
	if (strncmp(p, "v=STSv1", 7) != 0)
		return -1;
	p += 7;
	for (;;) {
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return -1;
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		k = p;
		while (*p != '\0' && *p != '=' && *p != ';' && !is_wsp(*p))
			p++;
		klen = (size_t)(p - k);
		if (*p != '=' || klen == 0)
			return -1;
		v = ++p;
		while (*p != '\0' && *p != ';' && !is_wsp(*p))
			p++;
		vlen = (size_t)(p - v);
		if (klen == 2 && memcmp(k, "id", 2) == 0) {
			size_t i;

			if (have_id++ || vlen == 0 || vlen > STS_ID_MAX ||
			    vlen >= idsize)
				return -1;
			for (i = 0; i < vlen; i++)
				if (!is_alnum(v[i]))
					return -1;
			memcpy(id, v, vlen);
			id[vlen] = '\0';
		}
	}
	return have_id ? 0 : -1;
}

int
sts_pattern_match(const char *pattern, const char *host)
{
	size_t plen = strlen(pattern), hlen = strlen(host), i;
	const char *dot;

	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (plen > 0 && pattern[plen - 1] == '.')
		plen--;
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.net": one label, non-empty, then the rest;
		 * never the bare domain, never two labels (§4.1). */
		if ((dot = memchr(host, '.', hlen)) == NULL || dot == host)
			return 0;
		hlen -= (size_t)(dot + 1 - host);
		host = dot + 1;
		pattern += 2;
		plen -= 2;
	}
	if (plen != hlen || plen == 0)
		return 0;
	for (i = 0; i < plen; i++)
		if (str_tolower((unsigned char)pattern[i]) !=
		    str_tolower((unsigned char)host[i]))
			return 0;
	return 1;
}

int
sts_mx_match(const struct sts_policy *pol, const char *host)
{
	size_t i;

	for (i = 0; i < pol->nmx; i++)
		if (sts_pattern_match(pol->mx[i], host))
			return 1;
	return 0;
}

const char *
sts_mode_name(enum sts_mode m)
{
	switch (m) {
	case STS_MODE_ENFORCE:
		return "enforce";
	case STS_MODE_TESTING:
		return "testing";
	default:
		return "none";
	}
}

int
sts_fresh(const struct sts_policy *pol, int64_t now)
{
	return now >= pol->fetched && now - pol->fetched < pol->max_age;
}

/* One "key value" line of the cache header at *p. */
static int
cache_line(const char **p, const char *end, const char *key, char *val,
    size_t valsize)
{
	size_t klen = strlen(key), n;
	const char *eol;

	if ((eol = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return -1;
	if ((size_t)(eol - *p) <= klen || memcmp(*p, key, klen) != 0 ||
	    (*p)[klen] != ' ')
		return -1;
	n = (size_t)(eol - *p) - klen - 1;
	if (n == 0 || n >= valsize)
		return -1;
	memcpy(val, *p + klen + 1, n);
	val[n] = '\0';
	*p = eol + 1;
	return 0;
}

int
sts_cache_parse(const char *text, size_t len, struct sts_policy *pol,
    const char **body, size_t *bodylen, char *why, size_t whysize)
{
	const char *p = text, *end = text + len;
	char id[STS_ID_MAX + 1], when[24], *e;
	long long t;

	if (len < sizeof(CACHE_MAGIC) ||
	    memcmp(p, CACHE_MAGIC "\n", sizeof(CACHE_MAGIC)) != 0) {
		str_fmt_cut(why, whysize, "not a cached policy");
		return -1;
	}
	p += sizeof(CACHE_MAGIC);
	if (cache_line(&p, end, "id", id, sizeof(id)) == -1 ||
	    cache_line(&p, end, "fetched", when, sizeof(when)) == -1 ||
	    p >= end || *p != '\n') {
		str_fmt_cut(why, whysize, "damaged header");
		return -1;
	}
	p++;
	errno = 0;
	t = strtoll(when, &e, 10);
	if (errno != 0 || *e != '\0' || t < 0) {
		str_fmt_cut(why, whysize, "damaged time");
		return -1;
	}
	if (sts_parse(p, (size_t)(end - p), pol, why, whysize) == -1)
		return -1;
	(void)str_copy(pol->id, sizeof(pol->id), id);
	pol->fetched = t;
	if (body != NULL) {
		*body = p;
		*bodylen = (size_t)(end - p);
	}
	return 0;
}

int
sts_cache_path(const struct conf *conf, const char *domain, char *buf,
    size_t size)
{
	/* The domain comes from an address we route: never a path. */
	if (domain[0] == '\0' || domain[0] == '.' || strchr(domain, '/') !=
	    NULL) {
		errno = EINVAL;
		return -1;
	}
	if (str_fmt(buf, size, "%s/" CACHE_DIR "/%s", conf->spool, domain)
	    == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The cached policy of domain: 0, or -1 (none, or unusable). */
static int
cache_read(const struct conf *conf, const char *domain,
    struct sts_policy *pol)
{
	char path[PATH_MAX], why[128], *text = NULL;
	size_t len;
	int rc = -1;

	if (sts_cache_path(conf, domain, path, sizeof(path)) == -1 ||
	    fileread_all(path, STS_POLICY_MAX + CACHE_HEAD_MAX, &text, &len)
	    == -1)
		goto out;
	if (sts_cache_parse(text, len, pol, NULL, NULL, why, sizeof(why))
	    == -1) {
		log_event("mta-sts", "domain", domain, "cache", path,
		    "reason", why, (char *)NULL);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* The policy body as fetched, with its header, atomically; the
 * directory and file for the posthorn user alone (the spool's). */
static void
cache_write(const struct conf *conf, const char *domain, const char *id,
    int64_t now, const char *body, size_t len)
{
	char path[PATH_MAX], dir[PATH_MAX], head[CACHE_HEAD_MAX];
	struct atomic_file af;
	int hl;

	if (str_fmt(dir, sizeof(dir), "%s/" CACHE_DIR, conf->spool) == -1 ||
	    sts_cache_path(conf, domain, path, sizeof(path)) == -1)
		return;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_event("error", "domain", domain, "dir", dir, "reason",
		    strerror(errno), (char *)NULL);
		return;
	}
	hl = snprintf(head, sizeof(head), CACHE_MAGIC "\nid %s\nfetched "
	    "%lld\n\n", id, (long long)now);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		return;
	if (atomic_open(&af, path, 0600) == -1)
		goto fail;
	if (fd_write_all(af.fd, head, (size_t)hl) == -1 ||
	    fd_write_all(af.fd, body, len) == -1) {
		atomic_abort(&af);
		goto fail;
	}
	if (atomic_commit(&af) == -1)
		goto fail;
	return;
fail:
	log_event("error", "domain", domain, "cache", path, "reason",
	    strerror(errno), (char *)NULL);
}

/* The one valid STSv1 record among the TXT records of _mta-sts.domain:
 * 0 with its id, -1 when there is none, or not exactly one (RFC 8461
 * §3.1), -2 when the lookup failed for now. */
static int
txt_id(const char *domain, char *id, size_t idsize)
{
	struct dns_text *txt;
	char name[DNS_NAME_MAX + 16], why[256];
	size_t i, n = 0, found = 0;
	enum dns_result dr;
	int rc = -1;

	if (str_fmt(name, sizeof(name), "_mta-sts.%s", domain) == -1)
		return -1;
	if ((txt = calloc(DNS_TXTS_MAX, sizeof(*txt))) == NULL)
		return -2;
	dr = dns_txt(name, txt, DNS_TXTS_MAX, &n, why, sizeof(why));
	if (dr == DNS_TEMP) {
		rc = -2;
		goto out;
	}
	if (dr != DNS_OK)
		goto out;
	for (i = 0; i < n; i++) {
		/* Records that do not begin with "v=STSv1;" (blanks
		 * allowed before the ';') are not ours (§3.1). */
		if (!dns_txt_tagged(txt[i].text, "v=STSv1"))
			continue;
		if (found++ == 0 && (txt[i].cut || sts_txt_id(txt[i].text,
		    id, idsize) == -1))
			found = 2;	/* invalid: as if none */
	}
	rc = found == 1 ? 0 : -1;
out:
	free(txt);
	return rc;
}

void
sts_get(const struct conf *conf, const char *domain, const char *ca,
    struct sts_policy *pol, struct sts_found *found)
{
	struct sts_policy cached;
	enum sts_fetch_result fr;
	char id[STS_ID_MAX + 1], *body = NULL;
	size_t len = 0;
	int64_t now = (int64_t)time(NULL);
	int have_cache, t;

	memset(found, 0, sizeof(*found));
	memset(pol, 0, sizeof(*pol));
	have_cache = cache_read(conf, domain, &cached) == 0 &&
	    sts_fresh(&cached, now);
	t = txt_id(domain, id, sizeof(id));
	if (t != 0 || (have_cache && strcmp(cached.id, id) == 0)) {
		/* §5: no record (or none for now) with a fresh cache: the
		 * cache; the same id: the cache, no fetch. */
		if (have_cache) {
			*pol = cached;
			found->state = STS_POLICY;
			found->cached = 1;
		}
		return;
	}
	/* A new id, an expired cache, or none: fetch. */
	if ((body = malloc(STS_POLICY_MAX + 1)) == NULL) {
		str_fmt_cut(found->why, sizeof(found->why), "out of memory");
		goto failed;
	}
	fr = sts_fetch(conf, domain, ca, body, STS_POLICY_MAX + 1, &len,
	    found->why, sizeof(found->why));
	if (fr != STS_FETCH_OK) {
		(void)str_copy(found->failure, sizeof(found->failure),
		    fr == STS_FETCH_WEBPKI ? "sts-webpki-invalid" :
		    "sts-policy-fetch-error");
		goto failed;
	}
	if (sts_parse(body, len, pol, found->why, sizeof(found->why)) ==
	    -1) {
		(void)str_copy(found->failure, sizeof(found->failure),
		    "sts-policy-invalid");
		goto failed;
	}
	(void)str_copy(pol->id, sizeof(pol->id), id);
	pol->fetched = now;
	found->state = STS_POLICY;
	log_event("mta-sts", "domain", domain, "fetched", "yes", "id", id,
	    "mode", sts_mode_name(pol->mode), (char *)NULL);
	cache_write(conf, domain, id, now, body, len);
	free(body);
	return;
failed:
	log_event("mta-sts", "domain", domain, "fetched", "no", "failure",
	    found->failure, "reason", found->why, "cache", have_cache ?
	    "used" : "none", (char *)NULL);
	memset(pol, 0, sizeof(*pol));
	if (have_cache) {
		/* §5: a fetch that fails keeps the policy we have. */
		*pol = cached;
		found->state = STS_POLICY;
		found->cached = 1;
	}
	free(body);
}
