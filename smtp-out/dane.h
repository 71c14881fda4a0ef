/* dane.h — DNSSEC for smtp-out, for DANE (RFC 7672): every DNS query of
 * lib/dns (MX, AAAA, A) goes through one libunbound context that
 * validates with posthorn.conf's dnssec_trust_anchor, so that send.c
 * can ask whether what it was told is secure, and the TLSA records of a
 * next hop are looked up with their DNSSEC state.  The context is made
 * once per process and the anchor read once, when the first delivery
 * needs it; with dnssec = off nothing of this is set up and lib/dns uses
 * glibc's resolver as before.
 *
 * The resolvers of /etc/resolv.conf are libunbound's forwarders: they
 * must pass DNSSEC records through (answer queries with the DO bit with
 * their RRSIGs).  libunbound validates itself and never trusts their AD
 * bit. */
#ifndef POSTHORN_DANE_H
#define POSTHORN_DANE_H

#include <stddef.h>

#include "conf.h"
#include "tlsa.h"

/* Set up validation as conf says (nothing with dnssec = off): 0, or -1
 * with why (the trust anchor file unreadable, no resolver): a
 * configuration error.  Later calls return at once. */
int	dane_init(const struct conf *, char *why, size_t whysize);
/* 1 when validation is on (dane_init was called and dnssec = validate). */
int	dane_on(void);
/* Start counting: dane_secure() then says whether every answer since
 * was secure, and there was at least one. */
void	dane_mark(void);
int	dane_secure(void);

enum dane_tlsa_result {
	DANE_TLSA_NONE,		/* insecure, or secure proof of no TLSA */
	DANE_TLSA_FOUND,	/* secure records: set->n usable of them,
				   set->unusable more */
	DANE_TLSA_TEMP		/* bogus, or the lookup failed: the host
				   must not be used now (RFC 7672 §2.2) */
};
/* The TLSA records of _PORT._tcp.HOST into set (emptied first); why
 * says what happened in a few words. */
enum dane_tlsa_result dane_tlsa(const char *host, unsigned port,
		    struct tlsa_set *set, char *why, size_t whysize);

#endif
