/* tzenv.c — the footer of a TZif file (RFC 8536), as TZ for the sessions. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileread.h"
#include "str.h"
#include "tzenv.h"

enum {
	TZIF_HEADER = 44,	/* magic, version, 15 reserved, 6 counts */
	TZIF_VERSION = 4,	/* its offset: NUL for 1, '2', '3', '4'... */
	TZIF_COUNTS = 20,	/* offset of the six counts */
	SAMPLES = TZENV_SPAN / TZENV_STEP
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* The length of the data block that follows the header at h, whose
 * times are tsize bytes (4 in version 1's block, 8 in the next), or
 * (size_t)-1 past max: RFC 8536 §3.2. */
static size_t
block_len(const unsigned char *h, size_t tsize, size_t max)
{
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	uint32_t c[6];
	size_t i;

	for (i = 0; i < 6; i++) {
		c[i] = be32(h + TZIF_COUNTS + 4 * i);
		if (c[i] > max)
			return (size_t)-1;	/* each below the file's size */
	}
	return (size_t)c[3] * (tsize + 1) + (size_t)c[4] * 6 + c[5] +
	    (size_t)c[2] * (tsize + 4) + c[1] + c[0];
}

/* The bytes of a POSIX TZ string (POSIX.1 §8.3): names, quoted names
 * "<+0330>", offsets and the rules "M3.5.0/3,J60". */
static int
tz_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("<>+-:,./", c));
}

int
tzenv_footer(const char *buf, size_t len, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t v1, v2, start, end, i;

	if (len < TZIF_HEADER || memcmp(buf, "TZif", 4) != 0 ||
	    buf[TZIF_VERSION] == '\0')
		return -1;
	/* header, version 1's data, header, the 64-bit data, then
	 * "\n" TZ "\n" to the end */
	if ((v1 = block_len(u, 4, len)) == (size_t)-1 ||
	    v1 > len - TZIF_HEADER || len - TZIF_HEADER - v1 < TZIF_HEADER ||
	    memcmp(buf + TZIF_HEADER + v1, "TZif", 4) != 0)
		return -1;
	start = TZIF_HEADER + v1 + TZIF_HEADER;
	if ((v2 = block_len(u + TZIF_HEADER + v1, 8, len)) == (size_t)-1 ||
	    v2 > len - start)
		return -1;
	start += v2;
	end = len - 1;
	if (len - start < 2 || buf[start] != '\n' || buf[end] != '\n')
		return -1;
	start++;
	/* Empty: a zone no string describes.  A first '/', '.' or ':'
	 * would make it a file's name to libc. */
	if (start == end || end - start > TZENV_STRING_MAX ||
	    end - start >= size || strchr("/.:", buf[start]) != NULL)
		return -1;
	for (i = start; i < end; i++)
		if (!tz_byte(u[i]))
			return -1;
	memcpy(out, buf + start, end - start);
	out[end - start] = '\0';
	return 0;
}

/* The UTC offsets of local time at now + i * TZENV_STEP under TZ=tz. */
static int
offsets(const char *tz, time_t now, long *off)
{
	struct tm tm;
	size_t i;

	if (setenv("TZ", tz, 1) == -1)
		return -1;
	tzset();
	for (i = 0; i < SAMPLES; i++) {
		time_t t = now + (time_t)i * TZENV_STEP;

		if (localtime_r(&t, &tm) == NULL)
			return -1;
		off[i] = tm.tm_gmtoff;
	}
	return 0;
}

/* Local time by the file and by its footer tz, over the span. */
static int
agree(const char *path, const char *tz, time_t now)
{
	long *a = NULL, *b = NULL;
	int r = -1;

	if ((a = calloc(SAMPLES, sizeof(*a))) == NULL ||
	    (b = calloc(SAMPLES, sizeof(*b))) == NULL)
		goto out;
	/* An absolute path is a file to musl and to glibc alike.  musl
	 * reads the file again only when TZ's value changes, and unset it
	 * means /etc/localtime: another value first, or it would compare
	 * the footer with the file as it was at the last check. */
	if (setenv("TZ", "UTC0", 1) == -1)
		goto out;
	tzset();
	if (offsets(path, now, a) == -1 || offsets(tz, now, b) == -1)
		goto out;
	r = memcmp(a, b, SAMPLES * sizeof(*a)) == 0 ? 0 : -1;
out:
	free(a);
	free(b);
	(void)unsetenv("TZ");
	tzset();
	return r;
}

int
tzenv_check(const char *path, time_t now, char *var, size_t size)
{
	char tz[TZENV_STRING_MAX + 1], *buf = NULL;
	size_t len;
	int r = -1;

	if (size > 0)
		var[0] = '\0';
	if (path[0] != '/') {
		errno = EINVAL;
		goto out;
	}
	/* No zone file is UTC to musl and to glibc alike; said as TZ, the
	 * sessions (musl, which parses a TZ without '/' or ':' as a
	 * string) do not look for the file either. */
	if (fileread_all(path, TZENV_FILE_MAX, &buf, &len) == -1) {
		if (errno != ENOENT)
			goto out;
		_Static_assert(sizeof(TZENV_NONE) <= sizeof(tz), "fits");
		(void)str_copy(tz, sizeof(tz), TZENV_NONE);
	} else if (tzenv_footer(buf, len, tz, sizeof(tz)) == -1 ||
	    agree(path, tz, now) == -1)
		goto out;
	if (str_fmt(var, size, "TZ=%s", tz) == -1)
		goto out;
	r = 0;
out:
	free(buf);
	if (r == -1 && size > 0)
		var[0] = '\0';
	return r;
}
