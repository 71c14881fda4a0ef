/* tzenv.c — the footer of a TZif file (RFC 8536), as TZ for the sessions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileread.h"
#include "str.h"
#include "tzenv.h"

enum {
	TZIF_HEADER = 44,	/* magic, version, 15 reserved, 6 counts */
	TZIF_VERSION = 4,	/* its offset: NUL for 1, '2', '3', '4'... */
	SAMPLES = TZENV_SPAN / TZENV_STEP
};

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
	size_t end, start, i;

	if (len < TZIF_HEADER || memcmp(buf, "TZif", 4) != 0 ||
	    buf[TZIF_VERSION] == '\0' || buf[len - 1] != '\n')
		return -1;
	/* ... the data, then "\n" TZ "\n": the string holds no newline,
	 * so it starts after the one before the last. */
	end = len - 1;
	for (start = end; start > TZIF_HEADER && buf[start - 1] != '\n';
	    start--)
		;
	if (start == TZIF_HEADER || start == end ||
	    end - start > TZENV_STRING_MAX || end - start >= size)
		return -1;
	for (i = start; i < end; i++)
		if (!tz_byte((unsigned char)buf[i]))
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
	/* An absolute path is a file to musl and to glibc alike. */
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
	if (fileread_all(path, TZENV_FILE_MAX, &buf, &len) == -1 ||
	    tzenv_footer(buf, len, tz, sizeof(tz)) == -1 ||
	    agree(path, tz, now) == -1 ||
	    str_fmt(var, size, "TZ=%s", tz) == -1)
		goto out;
	r = 0;
out:
	free(buf);
	if (r == -1 && size > 0)
		var[0] = '\0';
	return r;
}
