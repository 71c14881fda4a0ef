/* dmarc.h — DMARC, RFC 7489: the policy record of the RFC5322.From
 * domain (found at the domain, else at its organizational domain,
 * §6.6.3), SPF and DKIM identifier alignment, relaxed or strict (§3.1),
 * and what the policy asks of a message that fails (p=, sp=, pct=,
 * §6.6.4).  The SPF and DKIM verdicts come from their own modules; this
 * one only weighs them, so that it can be tested with canned records and
 * used by a command run per message or by a long-lived verifier alike.
 *
 * Reports (rua=, ruf=) are not sent; the tags are parsed only so that a
 * record is judged as the RFC says. */
#ifndef POSTHORN_DMARC_H
#define POSTHORN_DMARC_H

#include <stddef.h>

#include "dns.h"
#include "psl.h"

enum {
	DMARC_DKIM_MAX = 8,	/* DKIM results weighed (their d= domains) */
	DMARC_WHY_MAX = 200,
	/* TXT records asked for at one _dmarc name: more than one DMARC
	 * record among them is an error anyway, the rest are other uses of
	 * the name. */
	DMARC_TXTS_MAX = 8
};

enum dmarc_policy {
	DMARC_POLICY_NONE = 0,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT
};

struct dmarc_record {
	enum dmarc_policy	p;
	enum dmarc_policy	sp;	/* p when the record has no sp= */
	int			adkim_strict, aspf_strict;
	int			pct;	/* 0..100, 100 when absent */
	int			p_from_rua;	/* p= bad, a valid rua=: none */
};

/* One TXT record's text as a DMARC record: 0, or -1 with why when it is
 * not one (no "v=DMARC1" first, no valid p= and no valid rua=, or a bad
 * sp= likewise).  Unknown tags are ignored (§6.3). */
int	dmarc_record_parse(const char *txt, struct dmarc_record *,
	    char *why, size_t whysize);

enum dmarc_result {
	DMARC_NONE = 0,		/* no policy record */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,	/* the record could not be looked up now */
	DMARC_PERMERROR		/* e.g. several records at one name */
};

struct dmarc_dkim {
	const char	*d;	/* the signing domain, lowercase */
	int		 pass;	/* the signature verified */
};

struct dmarc_input {
	const char		*from;		/* RFC5322.From domain */
	int			 spf_pass;	/* SPF's result was pass */
	const char		*spf_domain;	/* MAIL FROM's, or HELO's */
	const struct dmarc_dkim	*dkim;
	size_t			 ndkim;		/* at most DMARC_DKIM_MAX */
	/* pct= sampling: a number in 0..99, or -1 to draw one. */
	int			 sample;
	const char		*psl_file;	/* PSL_FILE, or a test's */
	/* The list loaded (a resident's), or NULL to read psl_file. */
	const struct psl_table	*psl;
};

struct dmarc_outcome {
	enum dmarc_result	 result;
	enum dmarc_policy	 policy;	/* p= or sp=, as it applies */
	/* What to do with the message: policy for a failure that pct=
	 * selected, one step less for one it did not, none for the rest. */
	enum dmarc_policy	 disposition;
	int			 spf_aligned, dkim_aligned;
	char			 domain[DNS_NAME_MAX + 1]; /* the record's */
	char			 why[DMARC_WHY_MAX + 1];
};

/* The TXT lookup the evaluation uses: dns_txt's contract, with a
 * caller's context (dmarc_txt_dns is dns_txt itself, and mailauth's
 * DKIM key lookups, verify_txt_fn, use it as well). */
typedef enum dns_result (*dmarc_txt_fn)(void *ctx, const char *name,
	    struct dns_text *out, size_t max, size_t *n, char *why,
	    size_t whysize);
enum dns_result	 dmarc_txt_dns(void *ctx, const char *name,
		    struct dns_text *out, size_t max, size_t *n, char *why,
		    size_t whysize);

/* Policy discovery, alignment and disposition for one message: 0, or -1
 * when the public suffix list cannot be read (out->why says so). */
int		 dmarc_evaluate(const struct dmarc_input *, dmarc_txt_fn,
		    void *ctx, struct dmarc_outcome *out);

/* "none", "quarantine", "reject"; "none", "pass", "fail", "temperror",
 * "permerror" (RFC 8601's words for dmarc=). */
const char	*dmarc_policy_name(enum dmarc_policy);
const char	*dmarc_result_name(enum dmarc_result);

#endif
