/* spf.h — Sender Policy Framework, RFC 7208, all of it: check_host()
 * with every mechanism and modifier, the macros of §7 (exp= text's too),
 * the limits of §4.6.4, and the answer as a Received-SPF field (§9.1).
 * It holds no state between calls and no global: each check carries its
 * own request, counters and answer, so that the one-shot mailauth(8)
 * and a resident verifier can both call it, and tests can call the
 * parser and the macro expander without a network. */
#ifndef POSTHORN_SPF_H
#define POSTHORN_SPF_H

#include <stddef.h>

#include "dns.h"

enum {
	SPF_LOOKUPS_MAX = 10,	/* §4.6.4: include a mx ptr exists redirect */
	SPF_VOIDS_MAX = 2,	/* §4.6.4: NXDOMAIN or no answer, SHOULD 2 */
	SPF_MX_NAMES_MAX = 10,	/* §4.6.4: MX hosts of one mx, else permerror */
	SPF_PTR_NAMES_MAX = 10,	/* §4.6.4: PTR names looked at, the rest ignored */
	SPF_DOMAIN_MAX = 253,	/* §7.3: a longer target loses left labels */
	/* A macro's value (a sender is at most 256 octets, RFC 5321
	 * §4.5.3.1.3; a name 255): longer is an error, not a cut. */
	SPF_VALUE_MAX = 1024,
	/* A domain-spec or explanation after expansion: a record is at
	 * most DNS_TXT_LEN_MAX, and each macro may grow it; past this the
	 * term is a permerror (and an explanation is dropped). */
	SPF_EXPAND_MAX = 8192,
	SPF_EXP_MAX = 1024,	/* an explanation kept, cut beyond */
	SPF_TERM_SHOWN_MAX = 256,	/* a term as the answer quotes it */
	SPF_PROBLEM_MAX = 512,
	SPF_TIME_MIN = 20	/* §4.6.4: a time limit of at least 20 s */
};

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

/* What is checked.  sender is MAIL FROM's address without its angle
 * brackets ("" for the null sender); receiver is our host name, for the
 * exp= macro %{r} ("unknown" when NULL); now is %{t}. */
struct spf_request {
	struct dns_addr	 ip;
	const char	*helo;
	const char	*sender;
	const char	*receiver;
	long long	 now;
	struct dns_opts	 dns;	/* per-query timeout; zeros: resolv.conf */
	/* Seconds the whole check may take (0: no limit): past it, no
	 * more queries and a temperror (§4.6.4 allows one, of at least
	 * SPF_TIME_MIN). */
	int		 time_limit;
};

/* What a check found.  domain and mechanism: whose record and which
 * term decided ("default" when none matched and no redirect= did);
 * explanation: the exp= text of a fail (§6.2), "" when there is none
 * (no exp=, or it could not be had); problem: why for none, temperror
 * and permerror. */
struct spf_answer {
	enum spf_result	result;
	const char	*identity;	/* "mailfrom" or "helo" */
	char		sender[SPF_VALUE_MAX + 1];	/* as checked */
	char		domain[DNS_NAME_MAX + 1];
	char		mechanism[SPF_TERM_SHOWN_MAX];
	char		explanation[SPF_EXP_MAX];
	char		problem[SPF_PROBLEM_MAX];
	int		lookups;	/* DNS terms evaluated */
	int		voids;		/* of them, void lookups */
};

/* The MAIL FROM identity (§2.4): check_host() for the domain of sender
 * ("postmaster@HELO" for the null sender, identity "helo" then).  A
 * domain that is not a name (a literal, one label, a label past 63
 * octets) gives none (§4.3). */
enum spf_result	 spf_check_mailfrom(const struct spf_request *,
		    struct spf_answer *);
/* The HELO identity (§2.3): check_host() for the HELO name. */
enum spf_result	 spf_check_helo(const struct spf_request *,
		    struct spf_answer *);
/* check_host(ip, domain, sender) of §4 itself. */
enum spf_result	 spf_check_host(const struct spf_request *,
		    const char *domain, struct spf_answer *);

/* "pass", "fail", ... as §2.6 names them. */
const char	*spf_result_name(enum spf_result);
/* The Received-SPF field of §9.1 (without its name) for an answer:
 * "fail (mx.example.net: domain of a@b does not designate 192.0.2.1 as
 * permitted sender) client-ip=192.0.2.1; envelope-from=...; ...".
 * Values that are not a dot-atom are quoted. */
void		 spf_received(const struct spf_request *,
		    const struct spf_answer *, char *out, size_t size);

/* --- the parts under check_host, for the tests and the fuzzer -------- */

/* 1 if text is an SPF record: "v=spf1" (any case) then a space or the
 * end (§4.5). */
int		 spf_is_record(const char *text);

enum spf_kind {
	SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6,
	SPF_EXISTS,		/* the mechanisms, §5 */
	SPF_REDIRECT, SPF_EXP,	/* the modifiers of §6 */
	SPF_UNKNOWN_MOD		/* name=value of §6: ignored */
};

/* One term of a record, pointing into it. */
struct spf_term {
	enum spf_kind	 kind;
	char		 qualifier;	/* '+' '-' '~' '?' (mechanisms) */
	const char	*text;		/* the term as written */
	size_t		 textlen;
	const char	*spec;		/* domain-spec or value; NULL: none */
	size_t		 speclen;
	unsigned	 cidr4, cidr6;	/* 32 and 128 unless given */
	struct dns_addr	 net;		/* ip4, ip6 */
};

/* The next term of a record from *pos on (set *pos to the record
 * after "v=spf1" first): 1 and t set, 0 at the end, -1 for a syntax
 * error (RFC 7208's ABNF, §12) with why set. */
int		 spf_term_next(const char **pos, struct spf_term *t,
		    char *why, size_t whysize);
/* A whole record (starting "v=spf1") checked: 0, or -1 with why for a
 * syntax error anywhere, a byte that is not printable ASCII, or
 * redirect= or exp= twice (§4.6, §6). */
int		 spf_parse(const char *record, char *why, size_t whysize);

/* The values of the macro letters (§7.3).  p is the validated name of
 * the ip; when NULL, ptr(arg) is asked for it the first time %{p} is
 * met (it looks it up; "unknown" when ptr is NULL too). */
struct spf_macros {
	const char		*sender;	/* s: local@domain */
	const char		*local;		/* l */
	const char		*sender_domain;	/* o */
	const char		*domain;	/* d */
	const struct dns_addr	*ip;		/* i, c, v */
	const char		*helo;		/* h */
	const char		*receiver;	/* r (exp only) */
	long long		 now;		/* t (exp only) */
	const char		*p;
	const char		*(*ptr)(void *arg);
	void			*arg;
};
/* Expand the macro-string spec[0..len) into out (NUL-terminated);
 * exp: 1 for an explanation's text, where c, r and t are allowed.
 * 0, or -1 for a syntax error or a value or result that does not fit
 * (SPF_VALUE_MAX, size). */
int		 spf_expand(const struct spf_macros *, const char *spec,
		    size_t len, int exp, char *out, size_t size);
/* 1 if spec[0..len) is a domain-spec of §12 (macro letters of a
 * domain-spec only), 0 if not. */
int		 spf_domain_spec_ok(const char *spec, size_t len);

#endif
