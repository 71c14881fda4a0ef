/* sts.h — MTA-STS (RFC 8461) for smtp-out: the _mta-sts TXT record, the
 * policy text, its MX patterns, and the cache of policies in the spool
 * (SPOOL/state/mta-sts/DOMAIN).  Parsing and matching are pure, so that
 * the unit tests and the fuzzing harness feed them text; the HTTPS fetch
 * is sts_fetch.c, and sts_get() below puts the two together as RFC 8461
 * §5 says. */
#ifndef POSTHORN_STS_H
#define POSTHORN_STS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "dns.h"

enum {
	/* RFC 8461 §3.3: a policy body of at most 64 KB. */
	STS_POLICY_MAX = 64 * 1024,
	/* RFC 8461 §3.2: max_age is at most 31557600 s (a year). */
	STS_MAX_AGE_MAX = 31557600,
	/* mx lines kept; a policy with more is refused rather than cut,
	 * since a cut list would defer mail for the MX hosts left out.
	 * Real policies name one to a handful. */
	STS_MX_MAX = 64,
	/* RFC 8461 §3.1: sts-id = 1*32(ALPHA / DIGIT). */
	STS_ID_MAX = 32
};

enum sts_mode {
	STS_MODE_NONE = 0,	/* the domain turned MTA-STS off */
	STS_MODE_TESTING,	/* report failures, deliver all the same */
	STS_MODE_ENFORCE	/* a matching MX and a valid certificate, or
				   nothing */
};

struct sts_policy {
	enum sts_mode	mode;
	long		max_age;			/* seconds */
	char		mx[STS_MX_MAX][DNS_NAME_MAX + 1];	/* lowercase,
				   "*.example.net" or "mx.example.net" */
	size_t		nmx;
	/* Filled by the cache and sts_get, not by sts_parse: */
	char		id[STS_ID_MAX + 1];	/* of the TXT record it came
						   with */
	int64_t		fetched;		/* time(2) of the fetch */
};

/* The policy text (RFC 8461 §3.2), strictly: LF or CRLF line ends,
 * "key: value" fields, version STSv1, mode, max_age within bounds, at
 * least one mx pattern unless the mode is none, no field of the three
 * twice; unknown keys are extensions and ignored.  0, or -1 with a
 * reason in why. */
int	sts_parse(const char *text, size_t len, struct sts_policy *,
	    char *why, size_t whysize);
/* The id of an _mta-sts TXT record ("v=STSv1; id=20260101T000000;"),
 * RFC 8461 §3.1: 0 with id filled, or -1 when the record is not a valid
 * STSv1 record. */
int	sts_txt_id(const char *txt, char *id, size_t idsize);
/* One MX pattern against a host name (without case, a trailing dot
 * ignored): "*.example.net" matches one label more and only one
 * (RFC 8461 §4.1).  1 or 0. */
int	sts_pattern_match(const char *pattern, const char *host);
/* 1 when host matches one of the policy's patterns. */
int	sts_mx_match(const struct sts_policy *, const char *host);
const char *sts_mode_name(enum sts_mode);

/* The cache file: a header ("posthorn-mta-sts 1", "id ID", "fetched
 * SECONDS", an empty line) and the policy text as it was fetched, so
 * that a TLS report can quote it (RFC 8460 §4.4 policy-string). */
int	sts_cache_parse(const char *text, size_t len, struct sts_policy *,
	    const char **body, size_t *bodylen, char *why, size_t whysize);
/* SPOOL/state/mta-sts/DOMAIN into buf; 0, or -1 with errno. */
int	sts_cache_path(const struct conf *, const char *domain, char *buf,
	    size_t size);
/* 1 while the policy is within its max_age at now. */
int	sts_fresh(const struct sts_policy *, int64_t now);

/* What sts_get found for a destination. */
enum sts_state {
	STS_NONE = 0,		/* no policy: deliver as before */
	STS_POLICY		/* *pol applies (its mode says how) */
};

/* A failure of the policy's discovery, for the TLS report (RFC 8460
 * §4.3.2.2): "" when there was none. */
struct sts_found {
	enum sts_state	state;
	int		cached;		/* from the cache, not fetched now */
	char		failure[32];	/* sts-policy-fetch-error, ... */
	char		why[256];	/* for the log */
};

/* The policy for domain, as RFC 8461 §5 says: the TXT record first (no
 * record and no fresh cache: STS_NONE at the cost of one query); a fresh
 * cached policy whose id is the record's is used as it is; otherwise the
 * policy is fetched (sts_fetch.c) and cached; a fetch that fails keeps a
 * fresh cached policy.  ca: more trust anchors for the HTTPS server
 * (posthorn.conf's mta_sts_ca), NULL or "". */
void	sts_get(const struct conf *, const char *domain, const char *ca,
	    struct sts_policy *pol, struct sts_found *found);

#endif
