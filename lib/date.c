/* date.c — RFC 5322 dates, written once for every header posthorn adds. */

#include <errno.h>
#include <time.h>

#include "date.h"

int
date_rfc5322(char *buf, size_t size, time_t t)
{
	struct tm tm;

	/* No program calls setlocale(3): day and month names are the C
	 * locale's, which are RFC 5322's. */
	if (localtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}
