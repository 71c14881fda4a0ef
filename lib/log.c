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

static int
must_quote(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (*p == '\0')
		return 1;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '=' ||
		    *p == '\\')
			return 1;
	return 0;
}

/* Bytes that c takes inside a quoted value. */
static size_t
esc_len(unsigned char c)
{
	if (c == '"' || c == '\\')
		return 2;
	if (c < ' ' || c == 0x7f)
		return 4;
	return 1;
}

static void
esc_put(struct logbuf *lb, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '"' || c == '\\') {
		lb->b[lb->len++] = '\\';
		lb->b[lb->len++] = (char)c;
	} else if (c < ' ' || c == 0x7f) {
		lb->b[lb->len++] = '\\';
		lb->b[lb->len++] = 'x';
		lb->b[lb->len++] = hex[c >> 4];
		lb->b[lb->len++] = hex[c & 0xf];
	} else
		lb->b[lb->len++] = (char)c;
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

/* 0, or -1 when not even a cut value fits (lb unchanged then). */
static int
put_value(struct logbuf *lb, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t q, end, stop, total, i;

	q = must_quote(v) ? 1 : 0;
	end = LOG_ROOM - lb->len < LOG_VALUE_MAX ? LOG_ROOM :
	    lb->len + LOG_VALUE_MAX;
	total = 2 * q;
	for (i = 0; p[i] != '\0' && lb->len + total <= end; i++)
		total += q ? esc_len(p[i]) : 1;
	if (p[i] == '\0' && lb->len + total <= end) {
		if (q)
			lb->b[lb->len++] = '"';
		for (i = 0; p[i] != '\0'; i++)
			esc_put(lb, p[i]);
		if (q)
			lb->b[lb->len++] = '"';
		return 0;
	}

	/* Too long: as much as fits, then "..." (and the closing quote). */
	if (lb->len + 2 * q + 3 > end)
		return -1;
	stop = end - q - 3;
	if (q)
		lb->b[lb->len++] = '"';
	for (i = 0; p[i] != '\0' && lb->len + esc_len(p[i]) <= stop; i++)
		esc_put(lb, p[i]);
	/* Never cut a UTF-8 sequence: drop its lead and continuation bytes,
	 * which went out raw, one byte each. */
	while (i > 0 && (p[i] & 0xc0) == 0x80 && p[i - 1] >= 0x80) {
		i--;
		lb->len--;
	}
	memcpy(lb->b + lb->len, "...", 3);
	lb->len += 3;
	if (q)
		lb->b[lb->len++] = '"';
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
