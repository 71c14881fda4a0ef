/* log.c — one line per event on stderr, key=value pairs, made in a fixed
 * buffer and sent in one write(2) so that lines of concurrent processes
 * sharing the journal's stream (or a pipe) never interleave.  A value is
 * quoted and escaped when it must be, so that a line always parses back
 * whatever bytes a peer put in an address or a command. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

enum { LOG_ROOM = LOG_LINE_MAX - 1 };	/* the '\n' always fits */

static const char	*log_prog;
static int		 log_journal;	/* stderr is the journal's stream */

struct logbuf {
	char	b[LOG_LINE_MAX];
	size_t	len;
};

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it gave us; the
 * variable is inherited by children whose stderr may go elsewhere (and by
 * shells in some desktop sessions), so compare with stderr itself. */
static int
stderr_is_journal(void)
{
	unsigned long long dev, ino;
	struct stat st;
	const char *e;
	int end = 0;

	if ((e = getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(e, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    e[end] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *prog)
{
	int saved = errno;

	log_prog = prog;
	log_journal = stderr_is_journal();
	errno = saved;
}

/* A value is quoted when it is empty or holds a blank, a control byte,
 * '"', '=', '\\' or a byte that is not well-formed UTF-8. */
static int
must_quote(const unsigned char *p, size_t len)
{
	size_t i, n;

	if (len == 0)
		return 1;
	for (i = 0; i < len; i += n) {
		if (p[i] <= ' ' || p[i] == 0x7f || p[i] == '"' || p[i] == '=' ||
		    p[i] == '\\')
			return 1;
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 1;
	}
	return 0;
}

/* The unit at p as it goes into a quoted value: a whole UTF-8 sequence
 * raw, '"' and '\\' escaped, and control bytes and bytes that are not
 * UTF-8 as \xNN, so that journald keeps the line as text (it stores a
 * line that is not UTF-8 as a blob) and a cut never splits a character.
 * Returns its length in out; *used gets the input bytes it stands for. */
static size_t
unit(const unsigned char *p, size_t len, char out[4], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t n;

	*used = 1;
	if (p[0] == '"' || p[0] == '\\') {
		out[0] = '\\';
		out[1] = (char)p[0];
		return 2;
	}
	if (p[0] >= ' ' && p[0] != 0x7f && (n = utf8_seq(p, len)) != 0) {
		memcpy(out, p, n);
		*used = n;
		return n;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[p[0] >> 4];
	out[3] = hex[p[0] & 0xf];
	return 4;
}

/* Units of p that fit in room bytes; *fits tells whether all did. */
static size_t
put_units(struct logbuf *lb, const unsigned char *p, size_t len,
    size_t room, int *fits)
{
	char u[4];
	size_t i, n, used, put = 0;

	for (i = 0; i < len; i += used) {
		n = unit(p + i, len - i, u, &used);
		if (put + n > room) {
			*fits = 0;
			return put;
		}
		if (lb != NULL)
			memcpy(lb->b + lb->len + put, u, n);
		put += n;
	}
	*fits = 1;
	return put;
}

/* 0, or -1 when not even a cut value fits (lb unchanged then). */
static int
put_value(struct logbuf *lb, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t len = strlen(v), q, room, n;
	int fits;

	q = must_quote(p, len) ? 1 : 0;
	room = LOG_ROOM - lb->len;
	if (room > LOG_VALUE_MAX)
		room = LOG_VALUE_MAX;
	if (room < 2 * q + 3)
		return -1;
	(void)put_units(NULL, p, len, room - 2 * q, &fits);
	if (q)
		lb->b[lb->len++] = '"';
	/* Too long: whole units up to the room, then "..." */
	n = put_units(lb, p, len, fits ? room - 2 * q : room - 2 * q - 3,
	    &fits);
	lb->len += n;
	if (!fits) {
		memcpy(lb->b + lb->len, "...", 3);
		lb->len += 3;
	}
	if (q)
		lb->b[lb->len++] = '"';
	return 0;
}

static int
put_raw(struct logbuf *lb, const char *s, size_t n)
{
	if (n > LOG_ROOM - lb->len)
		return -1;
	memcpy(lb->b + lb->len, s, n);
	lb->len += n;
	return 0;
}

static int
put_pair(struct logbuf *lb, const char *key, const char *value)
{
	size_t mark = lb->len;

	if (put_raw(lb, " ", 1) == -1 || put_raw(lb, key, strlen(key)) == -1 ||
	    put_raw(lb, "=", 1) == -1 || put_value(lb, value) == -1) {
		lb->len = mark;
		return -1;
	}
	return 0;
}

void
log_event(const char *event, ...)
{
	struct logbuf lb;
	const char *key, *value;
	va_list ap;
	int saved = errno, n;
	ssize_t r;

	lb.len = 0;
	if (!log_journal) {
		n = snprintf(lb.b, sizeof(lb.b), "%s[%ld]: ",
		    log_prog != NULL ? log_prog : program_invocation_short_name,
		    (long)getpid());
		if (n > 0 && (size_t)n < LOG_ROOM / 2)
			lb.len = (size_t)n;
	}
	if (put_raw(&lb, "event=", 6) == 0)
		(void)put_value(&lb, event != NULL ? event : "");

	va_start(ap, event);
	while ((key = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (value == NULL)
			continue;
		if (put_pair(&lb, key, value) == -1)
			break;	/* the line is full: leave out the rest */
	}
	va_end(ap);

	lb.b[lb.len++] = '\n';
	do
		r = write(STDERR_FILENO, lb.b, lb.len);
	while (r == -1 && errno == EINTR);
	errno = saved;
}
