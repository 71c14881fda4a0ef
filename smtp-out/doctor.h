/* doctor.h — posthorn-doctor(8): check what the tutorial asks the reader
 * to publish in the DNS (MX, the host name's addresses and their PTR
 * records, SPF, DKIM, DMARC) and the certificate, and print a checklist:
 * one line a check, "ok", "WARN" or "FAIL", with what to publish or fix
 * on the lines under it. */
#ifndef POSTHORN_DOCTOR_H
#define POSTHORN_DOCTOR_H

#include <stdio.h>
#include <time.h>

#include "conf.h"

enum {
	/* A certificate that expires sooner is a warning: acme.sh and
	 * certbot renew 30 days ahead, so 14 days left means renewal
	 * has failed for two weeks. */
	DOCTOR_CERT_WARN_DAYS = 14
};

struct doctor {
	const struct conf	*conf;
	FILE			*out;
	time_t			 now;
	unsigned		 ok, warn, fail;
};

/* GnuTLS and libsodium set up: 0 or -1. */
int	doctor_init(void);
/* The host name's checks: its A/AAAA records, the PTR record of each
 * address (forward-confirmed), its SPF record, the certificate. */
void	doctor_host(struct doctor *);
/* A mail domain's checks: MX, SPF, DKIM (each key on disk), DMARC. */
void	doctor_domain(struct doctor *, const char *domain);

#endif
