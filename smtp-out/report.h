/* report.h — SMTP TLS reports (RFC 8460) from a day's counts file
 * (lib/tlsrpt.h): the sessions summed per policy domain, the aggregate
 * report in JSON (§4), gzip-compressed (zlib), and the mail that carries
 * it (§5.3: multipart/report, report-type "tlsrpt", the report as
 * application/tlsrpt+gzip) to the rua=mailto: addresses of the domain's
 * _smtp._tls record (§3).  tlsrpt(8) is the program around it. */
#ifndef POSTHORN_REPORT_H
#define POSTHORN_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tlsrpt.h"

enum {
	REPORT_RUAS_MAX = 8,		/* mailto: addresses used per domain */
	REPORT_ADDR_MAX = 320,		/* RFC 5321 path, generous */
	/* The mail: the report in base64 and the MIME around it. */
	REPORT_MAIL_OVERHEAD = 8192
};

/* One day's counts, parsed: the file's text, its lines sorted by domain
 * so that each domain's are together. */
struct report_day {
	char			*text;		/* the file, from malloc */
	struct tlsrpt_event	*ev;
	size_t			 n;
	time_t			 start;		/* 00:00:00 UTC of the day */
	char			 name[11];	/* YYYY-MM-DD */
};

/* What a report says of us (§4.4). */
struct report_meta {
	const char	*org;		/* organization-name, our domain */
	const char	*contact;	/* contact-info, the From: address */
	const char	*hostname;	/* for report-id and Message-ID */
};

/* path (a day file, named YYYY-MM-DD) into day: 0, or -1 with errno.
 * Lines that do not parse are skipped. */
int	report_load(const char *path, struct report_day *);
void	report_free(struct report_day *);
/* The events of the k-th domain: *first and *count, 0; -1 when there
 * are no more domains. */
int	report_domain(const struct report_day *, size_t k, size_t *first,
	    size_t *count);
/* The JSON report of ev[first..first+count) (one policy domain),
 * malloc'd into *out: 0, or -1 with errno.  policy (NULL if none) is
 * the text of the domain's cached MTA-STS policy, for the sts policy's
 * policy-string and mx-host. */
int	report_json(const struct report_day *, size_t first, size_t count,
	    const struct report_meta *, const char *policy, size_t policylen,
	    char **out, size_t *outlen);
/* gzip (RFC 1952) of in into a malloc'd *out: 0, or -1. */
int	report_gzip(const char *in, size_t len, unsigned char **out,
	    size_t *outlen);
/* The rua=mailto: addresses of a v=TLSRPTv1 record (§3), percent
 * escapes decoded, at most max: their number, or -1 when the record is
 * not one.  *https is set when an https: rua is there too (not used). */
int	report_rua(const char *txt, char addrs[][REPORT_ADDR_MAX], size_t max,
	    int *https);
/* The whole mail (§5.3) into a malloc'd *out, LF line ends: From:
 * meta->contact, To: the addresses, the report attached. */
int	report_mail(const struct report_day *, const char *domain,
	    const struct report_meta *, char addrs[][REPORT_ADDR_MAX],
	    size_t naddrs, const unsigned char *gz, size_t gzlen,
	    time_t now, char **out, size_t *outlen);

#endif
