/* dmarc.c — DMARC policy discovery, alignment and disposition (dmarc.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "str.h"

enum {
	TAG_NAME_MAX = 16	/* "adkim" and friends; longer is unknown */
};

static int
wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The bytes [*s, *e) without white space at either end. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && wsp(**s))
		(*s)++;
	while (*e > *s && wsp((*e)[-1]))
		(*e)--;
}

static int
value_is(const char *v, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

/* none, quarantine or reject: 0, or -1. */
static int
policy_word(const char *v, size_t len, enum dmarc_policy *out)
{
	if (value_is(v, len, "none"))
		*out = DMARC_POLICY_NONE;
	else if (value_is(v, len, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (value_is(v, len, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* A URI's scheme and something after it (RFC 3986 §3.1), after which
 * "!SIZE" may follow (§6.2); the address itself is the reporter's
 * business, and reports are not sent. */
static int
uri_ok(const char *v, size_t len)
{
	size_t i = 0;

	if (len == 0 || !str_isalpha((unsigned char)v[0]))
		return 0;
	while (i < len && (str_isalpha((unsigned char)v[i]) ||
	    str_isdigit((unsigned char)v[i]) || v[i] == '+' ||
	    v[i] == '-' || v[i] == '.'))
		i++;
	return i < len && v[i] == ':' && i + 1 < len && v[i + 1] != '!';
}

/* rua=: a comma-separated list with at least one valid URI. */
static int
rua_ok(const char *v, size_t len)
{
	const char *s = v, *e = v + len, *c;

	while (s < e) {
		const char *us = s, *ue;

		c = memchr(s, ',', (size_t)(e - s));
		ue = c != NULL ? c : e;
		trim(&us, &ue);
		if (uri_ok(us, (size_t)(ue - us)))
			return 1;
		s = ue + (c != NULL ? 1 : 0);
		if (c == NULL)
			break;
	}
	return 0;
}

/* pct=: 0..100, or -1. */
static int
pct_value(const char *v, size_t len)
{
	int n = 0;
	size_t i;

	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n <= 100 ? n : -1;
}

/* Does txt begin with the tag "v=DMARC1" (§6.6.3 step 3)?  The value is
 * case-sensitive (§6.4's ABNF spells it as %x44 %x4d ...). */
static int
is_dmarc(const char *txt)
{
	const char *p = txt;

	while (wsp(*p))
		p++;
	if (*p++ != 'v')
		return 0;
	while (wsp(*p))
		p++;
	if (*p++ != '=')
		return 0;
	while (wsp(*p))
		p++;
	if (strncmp(p, "DMARC1", 6) != 0)
		return 0;
	p += 6;
	while (wsp(*p))
		p++;
	return *p == ';' || *p == '\0';
}

int
dmarc_record_parse(const char *txt, struct dmarc_record *r, char *why,
    size_t whysize)
{
	const char *s, *e, *eq, *ns, *ne, *vs, *ve, *semi;
	int have_p = 0, bad_p = 0, bad_sp = 0, have_sp = 0, rua = 0, pct;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	if (!is_dmarc(txt)) {
		str_fmt_cut(why, whysize, "not a DMARC1 record");
		return -1;
	}
	for (s = txt; *s != '\0'; s = semi != NULL ? semi + 1 : e) {
		semi = strchr(s, ';');
		e = semi != NULL ? semi : s + strlen(s);
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
			continue;	/* empty, or not a tag: ignored */
		ns = s;
		ne = eq;
		vs = eq + 1;
		ve = e;
		trim(&ns, &ne);
		trim(&vs, &ve);
		if (value_is(ns, (size_t)(ne - ns), "p")) {
			if (!have_p && policy_word(vs, (size_t)(ve - vs),
			    &r->p) == -1)
				bad_p = 1;
			have_p = 1;
		} else if (value_is(ns, (size_t)(ne - ns), "sp")) {
			if (!have_sp && policy_word(vs, (size_t)(ve - vs),
			    &r->sp) == -1)
				bad_sp = 1;
			have_sp = 1;
		} else if (value_is(ns, (size_t)(ne - ns), "adkim"))
			r->adkim_strict = value_is(vs, (size_t)(ve - vs), "s");
		else if (value_is(ns, (size_t)(ne - ns), "aspf"))
			r->aspf_strict = value_is(vs, (size_t)(ve - vs), "s");
		else if (value_is(ns, (size_t)(ne - ns), "pct")) {
			if ((pct = pct_value(vs, (size_t)(ve - vs))) != -1)
				r->pct = pct;
		} else if (value_is(ns, (size_t)(ne - ns), "rua"))
			rua = rua_ok(vs, (size_t)(ve - vs));
	}
	/* §6.6.3 step 6: a bad or missing p= (or a bad sp=) is p=none if
	 * the record can at least be reported on, else no record. */
	if (!have_p || bad_p || bad_sp) {
		if (!rua) {
			str_fmt_cut(why, whysize, "%s",
			    bad_sp ? "sp= is not none, quarantine or reject" :
			    !have_p ? "no p= tag" :
			    "p= is not none, quarantine or reject");
			return -1;
		}
		r->p = r->sp = DMARC_POLICY_NONE;
		r->p_from_rua = 1;
		return 0;
	}
	if (!have_sp)
		r->sp = r->p;
	return 0;
}

enum dns_result
dmarc_txt_dns(void *ctx, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	(void)ctx;
	return dns_txt(name, out, max, n, why, whysize);
}

enum found {
	FOUND_NOTHING,		/* go on to the organizational domain */
	FOUND_RECORD,
	FOUND_ERROR		/* out->result and out->why say which */
};

/* The DMARC record at _dmarc.domain, if there is exactly one. */
static enum found
lookup(const char *domain, dmarc_txt_fn txt, void *ctx,
    struct dmarc_record *rec, struct dmarc_outcome *out)
{
	struct dns_text t[DMARC_TXTS_MAX];
	char name[DNS_NAME_MAX + 1], why[DMARC_WHY_MAX + 1];
	size_t n = 0, i, found = 0, which = 0;
	enum dns_result r;

	if (str_fmt(name, sizeof(name), "_dmarc.%s", domain) == -1)
		return FOUND_NOTHING;	/* too long to have a record */
	r = txt(ctx, name, t, DMARC_TXTS_MAX, &n, why, sizeof(why));
	if (r == DNS_TEMP) {
		out->result = DMARC_TEMPERROR;
		str_fmt_cut(out->why, sizeof(out->why), "%s: %s", name, why);
		return FOUND_ERROR;
	}
	if (r != DNS_OK)
		return FOUND_NOTHING;
	for (i = 0; i < n; i++) {
		if (!t[i].cut && is_dmarc(t[i].text)) {
			found++;
			which = i;
		}
	}
	if (found == 0)
		return FOUND_NOTHING;
	(void)str_copy(out->domain, sizeof(out->domain), domain);
	if (found > 1) {
		out->result = DMARC_PERMERROR;
		str_fmt_cut(out->why, sizeof(out->why),
		    "%s: %zu DMARC records", name, found);
		return FOUND_ERROR;
	}
	if (dmarc_record_parse(t[which].text, rec, why, sizeof(why)) == -1) {
		out->result = DMARC_PERMERROR;
		str_fmt_cut(out->why, sizeof(out->why), "%s: %s", name, why);
		return FOUND_ERROR;
	}
	return FOUND_RECORD;
}

/* Identifier alignment (§3.1): the same name when strict, the same
 * organizational domain when relaxed. */
static int
aligned(const char *a, const struct psl_name *a_org, const char *from,
    const struct psl_name *from_org, int strict)
{
	if (strict)
		return str_casecmp(a, from) == 0;
	return str_casecmp(a_org->org, from_org->org) == 0;
}

/* One step less of a policy, for the failures pct= left out (§6.6.4). */
static enum dmarc_policy
weaker(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE :
	    DMARC_POLICY_NONE;
}

/* The names whose organizational domains alignment needs: [0] the From
 * domain, [1] the SPF domain (may be ""), then each DKIM d=. */
static int
org_domains(const struct dmarc_input *in, struct psl_name *org,
    struct dmarc_outcome *out)
{
	const char *names[2 + DMARC_DKIM_MAX];
	size_t n = 0, i;

	names[n++] = in->from;
	names[n++] = in->spf_domain != NULL ? in->spf_domain : "";
	for (i = 0; i < in->ndkim && i < DMARC_DKIM_MAX; i++)
		names[n++] = in->dkim[i].d;
	if ((in->psl != NULL ? psl_table_org_domains(in->psl, names, n, org) :
	    psl_org_domains(in->psl_file != NULL ? in->psl_file : PSL_FILE,
	    names, n, org)) == -1) {
		out->result = DMARC_TEMPERROR;
		str_fmt_cut(out->why, sizeof(out->why),
		    "public suffix list: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
dmarc_evaluate(const struct dmarc_input *in, dmarc_txt_fn txt, void *ctx,
    struct dmarc_outcome *out)
{
	struct psl_name org[2 + DMARC_DKIM_MAX];
	struct dmarc_record rec;
	enum found f;
	size_t i;
	int sample;

	memset(out, 0, sizeof(*out));
	if (org_domains(in, org, out) == -1)
		return -1;
	f = lookup(in->from, txt, ctx, &rec, out);
	if (f == FOUND_NOTHING && str_casecmp(org[0].org, in->from) != 0)
		f = lookup(org[0].org, txt, ctx, &rec, out);
	if (f == FOUND_ERROR)
		return 0;
	if (f == FOUND_NOTHING) {
		out->result = DMARC_NONE;
		str_fmt_cut(out->why, sizeof(out->why), "no DMARC record");
		return 0;
	}
	/* sp= is for the subdomains of the domain that published it. */
	out->policy = str_casecmp(out->domain, in->from) != 0 ? rec.sp : rec.p;
	out->spf_aligned = in->spf_pass && in->spf_domain != NULL &&
	    in->spf_domain[0] != '\0' && aligned(in->spf_domain, &org[1],
	    in->from, &org[0], rec.aspf_strict);
	for (i = 0; i < in->ndkim && i < DMARC_DKIM_MAX; i++)
		if (in->dkim[i].pass && aligned(in->dkim[i].d, &org[2 + i],
		    in->from, &org[0], rec.adkim_strict))
			out->dkim_aligned = 1;
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_PASS;
		out->disposition = DMARC_POLICY_NONE;
		return 0;
	}
	out->result = DMARC_FAIL;
	sample = in->sample >= 0 ? in->sample :
	    (int)arc4random_uniform(100);
	out->disposition = sample < rec.pct ? out->policy :
	    weaker(out->policy);
	str_fmt_cut(out->why, sizeof(out->why), "neither SPF nor DKIM "
	    "aligned with %s", in->from);
	return 0;
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_PASS:
		return "pass";
	case DMARC_FAIL:
		return "fail";
	case DMARC_TEMPERROR:
		return "temperror";
	case DMARC_PERMERROR:
		return "permerror";
	case DMARC_NONE:
		break;
	}
	return "none";
}
