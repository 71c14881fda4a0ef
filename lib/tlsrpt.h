/* tlsrpt.h — the counts behind SMTP TLS reports (RFC 8460): one line per
 * outgoing TLS session (or per session that should have been one),
 * appended to SPOOL/state/tlsrpt/DAY (UTC, YYYY-MM-DD) by whoever knows
 * the outcome (smtp-out for MTA-STS and sessions without a policy, the
 * DANE code for TLSA policies), and summed once a day by tlsrpt(8).
 * Appending a short line with O_APPEND is one write(2): concurrent
 * smtp-out processes never interleave, and no lock is held.
 *
 * A line: "v1", then tab-separated policy type (sts, tlsa,
 * no-policy-found), policy domain, result ("success" or an RFC 8460
 * §4.3 result type), sending address, receiving MX host, receiving
 * address, failure reason code; "-" for an empty field. */
#ifndef POSTHORN_TLSRPT_H
#define POSTHORN_TLSRPT_H

#include <stddef.h>
#include <time.h>

#define TLSRPT_DIR	"state/tlsrpt"

enum {
	/* A day's file stops growing here (a log line says so): a mail
	 * loop must not fill the spool with counts.  A line is ~150
	 * bytes: some 400 000 sessions a day. */
	TLSRPT_DAY_MAX = 64 * 1024 * 1024,
	TLSRPT_FIELD_MAX = 255,		/* a domain name, RFC 1035 */
	TLSRPT_LINE_MAX = 8 * (TLSRPT_FIELD_MAX + 1) + 8
};

struct tlsrpt_event {
	const char	*policy_type;	/* "sts", "tlsa", "no-policy-found" */
	const char	*policy_domain;	/* the recipient domain */
	const char	*result;	/* "success" or a result type */
	const char	*sending_ip;	/* NULL: unknown */
	const char	*mx_host;
	const char	*receiving_ip;
	const char	*reason_code;	/* NULL, or a failure-reason-code */
};

/* Append ev to spool's file of the day of now; 0, or -1 with errno (the
 * caller logs it: a count lost is no reason to hold mail). */
int	tlsrpt_count(const char *spool, const struct tlsrpt_event *,
	    time_t now);
/* The file of the UTC day of t, into buf; 0, or -1. */
int	tlsrpt_day_path(const char *spool, time_t t, char *buf, size_t size);
/* One line (without its LF, NUL-ended, modified in place) into ev, the
 * fields pointing into line: 0, or -1 when it is not a v1 line. */
int	tlsrpt_parse(char *line, struct tlsrpt_event *);

#endif
