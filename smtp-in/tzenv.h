/* tzenv.h — the time zone that smtp-listen gives its sessions as TZ.
 *
 * A session writes local time once, in its Received: field.  Without TZ,
 * musl opens, maps and parses /etc/localtime for it in every session: a
 * new mapping, its page tables and their teardown at exit, 0.15 ms of
 * CPU a message on these machines (bench/cost.py).  A TZif file of
 * version 2 or later ends with a POSIX TZ string that describes local
 * time after the file's last transition (RFC 8536 §3.3); musl and glibc
 * take it as TZ with no file.  It is right now only if no transition of
 * the file's data lies ahead that the string does not describe (Morocco
 * lists each Ramadan's change up to 2087), so the listener uses it only
 * where local time by the string and by the file agree for the coming
 * TZENV_SPAN, and checks again each TZENV_RECHECK. */
#ifndef POSTHORN_TZENV_H
#define POSTHORN_TZENV_H

#include <stddef.h>
#include <time.h>

enum {
	/* A TZif file: the largest in tzdata with leap seconds is under
	 * 4 KiB; a larger one is not the system's zone and is not used. */
	TZENV_FILE_MAX = 65536,
	/* The footer's string, "CET-1CEST,M3.5.0,M10.5.0/3"; a longer
	 * one is not used. */
	TZENV_STRING_MAX = 63,
	TZENV_VAR_MAX = TZENV_STRING_MAX + 4,	/* "TZ=", NUL */
	TZENV_SPAN = 400 * 86400,	/* seconds compared, hour by hour */
	TZENV_STEP = 3600,
	TZENV_RECHECK = 86400		/* seconds between two checks */
};

#define TZENV_LOCALTIME	"/etc/localtime"
/* Local time where there is no zone file. */
#define TZENV_NONE	"UTC0"

/* The footer string of the TZif data buf[len] into out[size]: 0, or -1
 * when there is none to use: not TZif, version 1 (no footer), an empty
 * footer (a zone the string cannot describe), or one longer than
 * TZENV_STRING_MAX or holding a byte that no TZ string has. */
int	tzenv_footer(const char *buf, size_t len, char *out, size_t size);
/* "TZ=" and the footer of the TZif file path into var[size], if local
 * time by it and by the file agree from `now` for TZENV_SPAN, or "TZ="
 * TZENV_NONE when there is no such file (ENOENT), which libc reads as
 * UTC: 0, or -1 (var is then "").  It sets TZ in this process's
 * environment and leaves it unset: for a single-threaded caller whose
 * TZ is unset. */
int	tzenv_check(const char *path, time_t now, char *var, size_t size);

#endif
