/* check.h — the whole verdict on one incoming message, for mailauth
 * check: SPF of the envelope, DKIM of every signature, then DMARC (RFC
 * 7489) of the RFC5322.From domain weighed from the two, and the result
 * as one Authentication-Results field (RFC 8601), folded.
 *
 * The checks themselves are lib/spf.c, verify.c and dmarc.c; this module
 * finds the author domain, feeds the results of the first two to the
 * third, and writes the field, so that the one-shot command and a
 * resident verifier can share all of it. */
#ifndef POSTHORN_DKIM_CHECK_H
#define POSTHORN_DKIM_CHECK_H

#include <stddef.h>

#include "dmarc.h"
#include "hdr.h"
#include "spf.h"
#include "str.h"
#include "verify.h"

enum {
	/* RFC 5322 §2.1.1: a line SHOULD be at most 78 characters; the
	 * field is folded so that each line stays under it. */
	CHECK_FOLD_WIDTH = 78,
	/* §2.1.1: MUST be at most 998; a word longer than that (none of
	 * ours can be: see check_fold) would make the field invalid. */
	CHECK_LINE_MAX = 998,
	/* The whole field: 8 DKIM results of ~300 bytes, SPF and DMARC's
	 * few hundred, with the folding. */
	CHECK_AR_MAX = 8192
};

/* The RFC5322.From domain as DMARC takes it (RFC 7489 §6.6.1). */
enum check_from {
	CHECK_FROM_ONE = 0,	/* one domain (several addresses of it too) */
	CHECK_FROM_NONE,	/* no From field, or no address in it */
	CHECK_FROM_MANY		/* several From fields, or domains */
};

/* The author domain of a header, lowercased, into dom[cap] when there is
 * exactly one; a From field that does not parse counts as NONE. */
enum check_from	 check_from_domain(const struct hdr *, char *dom,
		    size_t cap);

struct check_request {
	struct spf_request	 spf;	/* ip, helo, sender ("" for <>), now */
	const char		*authserv;	/* our hostname */
	const char		*psl_file;	/* NULL: PSL_FILE */
	const struct psl_table	*psl;	/* loaded, or NULL: psl_file */
	int			 sample;	/* dmarc_input's: -1 to draw */
	/* SPF already checked for spf (smtp-checkd: asked at MAIL FROM),
	 * or NULL to check it now. */
	const struct spf_answer	*spf_done;
	/* The TXT lookups of DMARC, or NULL for dmarc_txt_dns (a resident
	 * bounds each query: dns_txt_with). */
	dmarc_txt_fn		 txt;
	void			*txt_ctx;
};

struct check {
	struct spf_answer	 spf;
	char			 spf_domain[DNS_NAME_MAX + 1];
	enum check_from		 from;
	char			 from_domain[DNS_NAME_MAX + 1];
	struct dmarc_outcome	 dmarc;
};

/* SPF of the request, then DMARC of v's author domain, from the SPF
 * result and the signatures of v (already verify_finish'ed).  0, or -1
 * when the public suffix list cannot be read (c->dmarc.why says so). */
int	check_run(const struct check_request *, const struct verify *v,
	    struct check *c);

/* The Authentication-Results field, "Authentication-Results: " and its
 * value, folded at spaces so that each line is under CHECK_FOLD_WIDTH
 * where a word allows it, each line end "\n" followed by a space; no
 * final line end.  0, or -1 with ENOBUFS. */
int	check_ar(const struct check_request *, const struct verify *,
	    const struct check *, struct str *out);

/* The field's value alone, unfolded, on one line: the methods joined
 * by "; " (the queue envelope's authres).  0, or -1 with ENOBUFS. */
int	check_ar_value(const struct check_request *, const struct verify *,
	    const struct check *, struct str *out);

/* Append name ": " value, folded as check_ar does: the value is split at
 * spaces outside quoted strings.  0, or -1 with ENOBUFS. */
int	check_fold(struct str *out, const char *name, const char *value);

#endif
