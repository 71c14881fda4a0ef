/* check.c — one message's SPF, DKIM and DMARC verdict and its
 * Authentication-Results field (check.h). */

#include <errno.h>
#include <string.h>

#include "check.h"
#include "mailhdr.h"

struct from_scan {
	char	 dom[DNS_NAME_MAX + 1];
	int	 n;		/* addresses seen */
	int	 many;		/* of more than one domain */
	int	 bad;		/* an address without a usable domain */
};

static int
from_cb(void *arg, const char *addr, size_t len)
{
	struct from_scan *fs = arg;
	char dom[DNS_NAME_MAX + 1];
	const char *at = NULL;
	size_t i, dlen;

	for (i = 0; i < len; i++)
		if (addr[i] == '@')
			at = addr + i;
	if (at == NULL || (dlen = len - (size_t)(at + 1 - addr)) == 0 ||
	    dlen >= sizeof(dom) || at[1] == '[') {
		fs->bad = 1;	/* no domain, or a literal: nothing to look up */
		return 0;
	}
	memcpy(dom, at + 1, dlen);
	dom[dlen] = '\0';
	if (dom[dlen - 1] == '.')
		dom[dlen - 1] = '\0';
	if (dom[0] == '\0') {
		fs->bad = 1;	/* "a@." */
		return 0;
	}
	str_lower(dom);
	if (fs->n++ == 0)
		memcpy(fs->dom, dom, sizeof(dom));
	else if (strcmp(fs->dom, dom) != 0)
		fs->many = 1;
	return 0;
}

enum check_from
check_from_domain(const struct hdr *h, char *dom, size_t cap)
{
	struct from_scan fs;
	const char *value;
	size_t i, fields = 0;

	memset(&fs, 0, sizeof(fs));
	for (i = 0; i < h->n; i++) {
		const struct hdr_field *f = &h->f[i];

		if (!mailhdr_is(h->buf + f->off, f->len, "From", &value))
			continue;
		/* RFC 5322 §3.6: exactly one From field; a second one is
		 * how a forger shows one author and aligns another. */
		if (++fields > 1)
			return CHECK_FROM_MANY;
		if (mailhdr_addresses(value, f->len - (size_t)(value -
		    (h->buf + f->off)), from_cb, &fs) == -1)
			fs.bad = 1;
	}
	if (fs.many)
		return CHECK_FROM_MANY;
	if (fields == 0 || fs.n == 0 || fs.bad ||
	    str_copy(dom, cap, fs.dom) == -1)
		return CHECK_FROM_NONE;
	return CHECK_FROM_ONE;
}

int
check_run(const struct check_request *req, const struct verify *v,
    struct check *c)
{
	char d[VERIFY_SIGS_MAX][VERIFY_NAME_MAX + 1];
	struct dmarc_dkim dk[VERIFY_SIGS_MAX];
	struct dmarc_input in;
	const char *at;
	size_t i, n = 0;

	memset(c, 0, sizeof(*c));
	/* The MAIL FROM identity, or HELO's for the null sender (RFC 7208
	 * §2.4): the one DMARC aligns (RFC 7489 §3.1.2, §4.1). */
	if (req->spf_done != NULL)
		c->spf = *req->spf_done;
	else
		(void)spf_check_mailfrom(&req->spf, &c->spf);
	at = strrchr(c->spf.sender, '@');
	(void)str_copy(c->spf_domain, sizeof(c->spf_domain),
	    at != NULL ? at + 1 : c->spf.sender);
	str_lower(c->spf_domain);

	c->from = check_from_domain(&v->h, c->from_domain,
	    sizeof(c->from_domain));
	if (c->from != CHECK_FROM_ONE) {
		/* §6.6.1 lets a receiver decline to evaluate such a
		 * message; mailauth(8) says which word each gets. */
		c->dmarc.result = c->from == CHECK_FROM_MANY ?
		    DMARC_PERMERROR : DMARC_NONE;
		str_fmt_cut(c->dmarc.why, sizeof(c->dmarc.why), "%s",
		    c->from == CHECK_FROM_MANY ? "several From domains" :
		    "no From domain");
		return 0;
	}
	for (i = 0; i < v->nsig && n < VERIFY_SIGS_MAX &&
	    n < DMARC_DKIM_MAX; i++) {
		if (v->sig[i].d[0] == '\0')
			continue;
		(void)str_copy(d[n], sizeof(d[n]), v->sig[i].d);
		str_lower(d[n]);
		dk[n].d = d[n];
		dk[n].pass = v->sig[i].result == VERIFY_PASS;
		n++;
	}
	memset(&in, 0, sizeof(in));
	in.from = c->from_domain;
	in.spf_pass = c->spf.result == SPF_PASS;
	in.spf_domain = c->spf_domain;
	in.dkim = dk;
	in.ndkim = n;
	in.sample = req->sample;
	in.psl_file = req->psl_file;
	in.psl = req->psl;
	return dmarc_evaluate(&in, req->txt != NULL ? req->txt :
	    dmarc_txt_dns, req->txt_ctx, &c->dmarc);
}

int
check_ar_value(const struct check_request *req, const struct verify *v,
    const struct check *c, struct str *o)
{
	int helo = strcmp(c->spf.identity, "helo") == 0;

	if (verify_ar_value(o, req->authserv) == -1 ||
	    str_appendf(o, "; spf=%s", spf_result_name(c->spf.result)) == -1)
		return -1;
	if (str_appends(o, helo ? " smtp.helo=" : " smtp.mailfrom=") == -1 ||
	    verify_ar_value(o, helo ? (req->spf.helo != NULL ?
	    req->spf.helo : "") : c->spf.sender) == -1)
		return -1;
	if (str_appends(o, "; ") == -1 || verify_ar(v, o) == -1)
		return -1;
	if (str_appendf(o, "; dmarc=%s",
	    dmarc_result_name(c->dmarc.result)) == -1)
		return -1;
	if (c->dmarc.result == DMARC_PASS || c->dmarc.result == DMARC_FAIL) {
		if (str_appendf(o, " (p=%s dis=%s)",
		    dmarc_policy_name(c->dmarc.policy),
		    dmarc_policy_name(c->dmarc.disposition)) == -1)
			return -1;
	} else if (c->dmarc.why[0] != '\0' && verify_ar_comment(o, c->dmarc.why) == -1)
		return -1;
	if (c->from == CHECK_FROM_ONE && (str_appends(o, " header.from=") ==
	    -1 || verify_ar_value(o, c->from_domain) == -1))
		return -1;
	return 0;
}

int
check_ar(const struct check_request *req, const struct verify *v,
    const struct check *c, struct str *out)
{
	char buf[CHECK_AR_MAX];	/* not static: a resident checks in threads */
	struct str val;

	str_init(&val, buf, sizeof(buf));
	if (check_ar_value(req, v, c, &val) == -1) {
		errno = ENOBUFS;
		return -1;
	}
	return check_fold(out, "Authentication-Results", val.s);
}

int
check_fold(struct str *o, const char *name, const char *value)
{
	return mailhdr_fold(o, name, value);
}
