/* dane.c — smtp-out's DNSSEC-validating resolver (dane.h): a libunbound
 * context under lib/dns's queries, and the TLSA lookup of RFC 7672 §2.2.
 * One context per process, made on first use: its cost (the trust
 * anchor parsed, the validator set up) is paid once by a long-lived
 * smtp-out and once per destination by one started per destination. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/nameser.h>
#include <unbound.h>

#include "dane.h"
#include "dns.h"
#include "str.h"

enum {
	TLSA_TYPE = 52,			/* RFC 6698 §7.1 */
	TLSA_QNAME_MAX = 300		/* "_65535._tcp." and a name */
};

static struct ub_ctx	*ctx;
static int		 on;
static size_t		 answers, insecure;

static const char *
type_name(int type)
{
	switch (type) {
	case ns_t_mx:
		return "MX";
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case TLSA_TYPE:
		return "TLSA";
	default:
		return "DNS";
	}
}

/* lib/dns's queries, validated. */
static int
transport(void *arg, const char *name, int type, unsigned char *ans,
    size_t anssize, enum dns_result *r, char *why, size_t whysize)
{
	struct ub_result *res = NULL;
	int err, len = -1;

	(void)arg;
	*r = DNS_TEMP;
	if ((err = ub_resolve(ctx, name, type, ns_c_in, &res)) != 0) {
		str_fmt_cut(why, whysize, "DNS: %s: %s query failed: %s",
		    name, type_name(type), ub_strerror(err));
		return -1;
	}
	answers++;
	if (res->bogus) {
		/* RFC 4035 §5.5: an answer that should validate and does
		 * not is an error, never "insecure". */
		str_fmt_cut(why, whysize, "DNSSEC: %s: the %s answer does "
		    "not validate (bogus): %s", name, type_name(type),
		    res->why_bogus != NULL ? res->why_bogus : "no reason");
		goto out;
	}
	if (!res->secure)
		insecure++;
	if (res->answer_packet == NULL || res->answer_len <= 0) {
		str_fmt_cut(why, whysize, "DNS: %s: no answer to the %s "
		    "query (rcode %d)", name, type_name(type), res->rcode);
		goto out;
	}
	len = res->answer_len;
	if ((size_t)len > anssize)
		len = (int)anssize;	/* the parser calls it damaged */
	memcpy(ans, res->answer_packet, (size_t)len);
out:
	ub_resolve_free(res);
	return len;
}

/* unbound answers some special-use names itself (RFC 6761 test.,
 * RFC 8375 home.arpa.) with NXDOMAIN; glibc asks the resolvers of
 * resolv.conf, which may serve a lab's or a home's zone under them.  The
 * same names resolve the same with dnssec on or off: the resolvers
 * decide ("transparent": unbound's own data, of which there is none,
 * then the forwarders). */
static int
set_local_zones(struct ub_ctx *c)
{
	static const char *const names[] = { "test.", "home.arpa." };
	size_t i;
	int err;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((err = ub_ctx_zone_add(c, names[i], "transparent")) != 0)
			return err;
	return 0;
}

int
dane_init(const struct conf *c, char *why, size_t whysize)
{
	int fd, err;

	if (ctx != NULL || strcmp(c->dnssec, "off") == 0)
		return 0;
	/* libunbound reads the file only at the first query, and says
	 * little then: check it now, for a message that names it. */
	if ((fd = open(c->dnssec_trust_anchor, O_RDONLY | O_CLOEXEC)) == -1) {
		str_fmt_cut(why, whysize, "dnssec_trust_anchor %s: %s",
		    c->dnssec_trust_anchor, strerror(errno));
		return -1;
	}
	(void)close(fd);
	if ((ctx = ub_ctx_create()) == NULL) {
		str_fmt_cut(why, whysize, "libunbound: cannot make a context");
		return -1;
	}
	/* The resolvers of resolv.conf are forwarders; one on this host
	 * (127.0.0.1, a local unbound) is the usual case, which unbound's
	 * default (do-not-query-localhost) would refuse. */
	if ((err = ub_ctx_set_option(ctx, "do-not-query-localhost:",
	    "no")) != 0 ||
	    (err = ub_ctx_resolvconf(ctx, NULL)) != 0 ||
	    (err = ub_ctx_add_ta_file(ctx, c->dnssec_trust_anchor)) != 0 ||
	    (err = set_local_zones(ctx)) != 0) {	/* last: it finalizes */
		str_fmt_cut(why, whysize, "libunbound: %s (%s)",
		    ub_strerror(err), c->dnssec_trust_anchor);
		ub_ctx_delete(ctx);
		ctx = NULL;
		return -1;
	}
	dns_set_transport(transport, NULL);
	on = 1;
	return 0;
}

int
dane_on(void)
{
	return on;
}

void
dane_mark(void)
{
	answers = insecure = 0;
}

int
dane_secure(void)
{
	return on && answers > 0 && insecure == 0;
}

enum dane_tlsa_result
dane_tlsa(const char *host, unsigned port, struct tlsa_set *set,
    char *why, size_t whysize)
{
	struct ub_result *res = NULL;
	char qname[TLSA_QNAME_MAX];
	enum dane_tlsa_result rc = DANE_TLSA_TEMP;
	int err, i;

	memset(set, 0, sizeof(*set));
	if (!on) {
		str_fmt_cut(why, whysize, "DNSSEC is off");
		return DANE_TLSA_NONE;
	}
	if (str_fmt(qname, sizeof(qname), "_%u._tcp.%s", port, host) == -1) {
		str_fmt_cut(why, whysize, "name too long");
		return DANE_TLSA_NONE;
	}
	if ((err = ub_resolve(ctx, qname, TLSA_TYPE, ns_c_in, &res)) != 0) {
		str_fmt_cut(why, whysize, "TLSA lookup of %s failed: %s",
		    qname, ub_strerror(err));
		return DANE_TLSA_TEMP;
	}
	if (res->bogus) {
		str_fmt_cut(why, whysize, "the TLSA records of %s do not "
		    "validate (bogus): %s", qname, res->why_bogus != NULL ?
		    res->why_bogus : "no reason");
		goto out;
	}
	if (!res->secure) {
		/* A failed lookup (SERVFAIL) cannot be secure either; the
		 * caller asks only of hosts whose addresses are secure, in
		 * a signed zone, so it means "try later" (RFC 7672 §2.2). */
		if (res->rcode != ns_r_noerror && res->rcode != ns_r_nxdomain) {
			str_fmt_cut(why, whysize, "TLSA lookup of %s failed "
			    "(rcode %d)", qname, res->rcode);
			goto out;
		}
		str_fmt_cut(why, whysize, "%s is not signed (insecure)",
		    qname);
		rc = DANE_TLSA_NONE;
		goto out;
	}
	if (!res->havedata) {
		str_fmt_cut(why, whysize, "%s has no TLSA record (secure "
		    "denial)", qname);
		rc = DANE_TLSA_NONE;
		goto out;
	}
	for (i = 0; res->data[i] != NULL; i++)
		(void)tlsa_add(set, (const unsigned char *)res->data[i],
		    (size_t)res->len[i]);
	str_fmt_cut(why, whysize, "%s: %zu usable TLSA record(s), %zu "
	    "unusable", qname, set->n, set->unusable);
	rc = DANE_TLSA_FOUND;
out:
	ub_resolve_free(res);
	return rc;
}
