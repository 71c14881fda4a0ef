/* date.h — the RFC 5322 §3.3 date-time of Date: and Received: fields. */
#ifndef POSTHORN_DATE_H
#define POSTHORN_DATE_H

#include <stddef.h>
#include <time.h>

enum { DATE_MAX = 64 };	/* "Thu, 01 Jan 1970 00:00:00 +0000" and room */

/* t in local time with a numeric zone, "Mon, 23 Nov 2026 12:00:00 +0100";
 * 0, or -1 with errno. */
int	date_rfc5322(char *, size_t, time_t);

#endif
