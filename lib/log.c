/* log.c — one line per event on stderr, key=value pairs, made in a fixed
 * buffer and sent in one write(2) so that lines of concurrent processes
 * sharing the journal's stream (or a pipe) never interleave.  A value is
 * quoted and escaped when it must be, so that a line always parses back
 * whatever bytes a peer put in an address or a command.
 *
 * When stderr is the journal's stream, a line goes to the journal as one
 * datagram of its native protocol instead, with the program's name as
 * SYSLOG_IDENTIFIER: journald takes the sender's pid from the socket.
 * smtp-listen's sessions, and queue-run's children, share the stream of
 * their service, which journald would put under the service's one name
 * and pid; this way "journalctl -t smtp-in" finds smtp-in's lines. */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "utf8.h"

enum {
	LOG_PROG_MAX = 32,		/* a program's name, as logged */
	/* The journal's fields before MESSAGE=, in room of their own:
	 * the line itself still gets LOG_LINE_MAX. */
	LOG_HEAD_MAX = 96 + LOG_PROG_MAX
};

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

static const char	*log_prog;
static int		 log_journal;	/* stderr is the journal's stream */
static int		 log_sock = -1;	/* to JOURNAL_SOCKET, once used */
static int		 log_time;	/* a UTC time stamp before each line */

struct logbuf {
	char	b[LOG_HEAD_MAX + LOG_LINE_MAX];
	size_t	len;
	size_t	room;	/* bytes that the line may fill, the '\n' aside */
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
	const char *e;
	int saved = errno;

	log_prog = prog;
	log_journal = stderr_is_journal();
	/* Files have no time of their own, unlike the journal. */
	log_time = !log_journal && (e = getenv(LOG_TIME_ENV)) != NULL &&
	    strcmp(e, "1") == 0;
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

/* At most max bytes: 0, or -1 when not even a cut value fits (lb
 * unchanged then). */
static int
put_value(struct logbuf *lb, const char *v, size_t max)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t len = strlen(v), q, room, n;
	int fits;

	q = must_quote(p, len) ? 1 : 0;
	room = lb->room - lb->len;
	if (room > max)
		room = max;
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
	if (n > lb->room - lb->len)
		return -1;
	memcpy(lb->b + lb->len, s, n);
	lb->len += n;
	return 0;
}

static int
put_pair(struct logbuf *lb, const char *key, const char *value)
{
	size_t mark = lb->len, max = LOG_VALUE_MAX;

	if (key[0] == LOG_PEER[0]) {
		key++;
		max = LOG_PEER_VALUE_MAX;
	}

	if (put_raw(lb, " ", 1) == -1 || put_raw(lb, key, strlen(key)) == -1 ||
	    put_raw(lb, "=", 1) == -1 || put_value(lb, value, max) == -1) {
		lb->len = mark;
		return -1;
	}
	return 0;
}

/* The datagram socket to the journal: connected at the first line, so
 * that a program that logs nothing opens nothing.  -1 when there is no
 * journal to talk to (then stderr serves). */
static int
journal_socket(void)
{
	struct sockaddr_un sun;
	int fd;

	if (log_sock != -1)
		return log_sock;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, JOURNAL_SOCKET, sizeof(JOURNAL_SOCKET));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		(void)close(fd);
		return -1;
	}
	return log_sock = fd;
}

/* The entry, its fields then MESSAGE= and the line, whose '\n' ends the
 * field, in one datagram.  0, or -1. */
static int
journal_send(const struct logbuf *lb, int flags)
{
	ssize_t r;
	int fd;

	if ((fd = journal_socket()) == -1)
		return -1;
	do
		r = send(fd, lb->b, lb->len, MSG_NOSIGNAL | flags);
	while (r == -1 && errno == EINTR);
	return r == (ssize_t)lb->len ? 0 : -1;
}

enum { STAMP_MAX = 64 };	/* "2026-12-06T18:56:01.123Z " and room */

/* "2026-12-06T18:56:01.123Z " when log_time, else "". */
static const char *
stamp(char buf[STAMP_MAX])
{
	struct timespec now;
	struct tm tm;

	buf[0] = '\0';
	if (log_time && clock_now(CLOCK_REALTIME, &now) == 0 &&
	    gmtime_r(&now.tv_sec, &tm) != NULL)
		(void)snprintf(buf, STAMP_MAX,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	return buf;
}

static const char *
prog_name(void)
{
	return log_prog != NULL ? log_prog : program_invocation_short_name;
}

/* Lines the journal would not take without blocking, since the last
 * note of them (the listener's one relay). */
static unsigned long	 relay_dropped;
static int		 relay_open;	/* log_relay_open was called */

/* "event=log_dropped lines=N", as the relay's own line, once the
 * journal takes lines again: 0, or -1 if it still does not. */
static int
relay_note_dropped(void)
{
	struct logbuf lb;
	int n;

	n = snprintf(lb.b, sizeof(lb.b), "SYSLOG_IDENTIFIER=%.*s\n"
	    "PRIORITY=4\nMESSAGE=event=log_dropped lines=%lu\n",
	    LOG_PROG_MAX, prog_name(), relay_dropped);
	if (n <= 0 || (size_t)n >= sizeof(lb.b))
		return -1;
	lb.len = (size_t)n;
	if (journal_send(&lb, MSG_DONTWAIT) == -1)
		return -1;
	relay_dropped = 0;
	return 0;
}

/* lb to the journal: 0 sent, -1 not (then the caller writes the line
 * on its stream).  A journal that does not keep up must not stall the
 * relay, which serves a listener between accepts: there the line is
 * dropped and counted (journald's own rate limit drops lines too), and
 * the stream, which would block as well, is not tried. */
static int
journal_put(const struct logbuf *lb)
{
	if (!relay_open)
		return journal_send(lb, 0);
	if ((relay_dropped == 0 || relay_note_dropped() == 0) &&
	    journal_send(lb, MSG_DONTWAIT) == 0)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	relay_dropped++;
	return 0;
}

void
log_event(const char *event, ...)
{
	struct logbuf lb;
	const char *key, *value;
	char ts[STAMP_MAX];
	va_list ap;
	int saved = errno, n;
	size_t head = 0;
	ssize_t r;

	if (log_journal)
		n = snprintf(lb.b, LOG_HEAD_MAX,
		    "SYSLOG_IDENTIFIER=%.*s\nPRIORITY=6\nMESSAGE=",
		    LOG_PROG_MAX, prog_name());
	else
		n = snprintf(lb.b, LOG_HEAD_MAX, "%s%.*s[%ld]: ", stamp(ts),
		    LOG_PROG_MAX, prog_name(), (long)getpid());
	if (n > 0 && n < LOG_HEAD_MAX)
		head = (size_t)n;
	lb.len = head;
	/* On stderr the prefix is part of the line, which one write(2) of
	 * at most PIPE_BUF keeps whole; the journal's header is not. */
	lb.room = (log_journal ? head : 0) + LOG_LINE_MAX - 1;
	if (put_raw(&lb, "event=", 6) == 0)
		(void)put_value(&lb, event != NULL ? event : "",
		    LOG_VALUE_MAX);

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
	if (!log_journal || journal_put(&lb) == -1) {
		size_t skip = log_journal ? head : 0;

		do
			r = write(STDERR_FILENO, lb.b + skip, lb.len - skip);
		while (r == -1 && errno == EINTR);
	}
	errno = saved;
}

/* --- the relay ------------------------------------------------------------
 *
 * journald reads /proc for every new pid that sends it a line (its
 * command, cgroup, unit and a dozen more files), and a process per
 * connection is a new pid for every connection: under systemd that cost
 * as much CPU in journald as a whole session in smtp-in.  So a long-lived
 * parent (smtp-listen) gives its children a datagram socket as stderr;
 * they write their lines there, prefixed as for a file ("prog[pid]: "),
 * and the parent sends each on to the journal as the program it names,
 * with that pid as SYSLOG_PID: journald then sees one sender it knows. */

int
log_relay_open(int *child_end)
{
	int sv[2];

	*child_end = -1;
	if (!log_journal)
		return -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if (fd_nonblock(sv[0]) == -1) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return -1;
	}
	/* Only the children write; we never do. */
	(void)shutdown(sv[0], SHUT_WR);
	*child_end = sv[1];
	relay_open = 1;
	return sv[0];
}

static int
prog_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* "prog[pid]: " at the start of line: its length, with the name and the
 * pid; 0 when the line does not begin so (then it is sent as the
 * relay's own, unnamed). */
static size_t
relay_prefix(const char *p, size_t len, const char **prog, size_t *plen,
    const char **pid, size_t *pidlen)
{
	size_t i = 0, j;

	while (i < len && i < LOG_PROG_MAX && prog_char(p[i]))
		i++;
	if (i == 0 || i >= len || p[i] != '[')
		return 0;
	for (j = i + 1; j < len && j - i <= 10 && p[j] >= '0' && p[j] <= '9';
	    j++)
		;
	if (j == i + 1 || j + 2 >= len || p[j] != ']' || p[j + 1] != ':' ||
	    p[j + 2] != ' ')
		return 0;
	*prog = p;
	*plen = i;
	*pid = p + i + 1;
	*pidlen = j - i - 1;
	return j + 3;
}

/* One line as one entry of the journal: len bytes, then the '\n' that
 * ended it (p[len]) when nl.  If the journal will not take it, the line
 * goes to our own stderr, the journal's stream, losing only its name. */
static void
relay_line(const char *p, size_t len, int nl)
{
	struct logbuf lb;
	const char *prog = NULL, *pid = NULL;
	size_t plen = 0, pidlen = 0, skip;
	int n;
	ssize_t r;

	skip = relay_prefix(p, len, &prog, &plen, &pid, &pidlen);
	if (skip > 0)
		n = snprintf(lb.b, LOG_HEAD_MAX, "SYSLOG_IDENTIFIER=%.*s\n"
		    "SYSLOG_PID=%.*s\nPRIORITY=6\nMESSAGE=", (int)plen, prog,
		    (int)pidlen, pid);
	else
		n = snprintf(lb.b, LOG_HEAD_MAX,
		    "SYSLOG_IDENTIFIER=%.*s\nPRIORITY=6\nMESSAGE=",
		    LOG_PROG_MAX, prog_name());
	if (n <= 0 || n >= LOG_HEAD_MAX)
		return;
	lb.len = (size_t)n;
	lb.room = lb.len + LOG_LINE_MAX - 1;
	n = (int)(len - skip < lb.room - lb.len ? len - skip :
	    lb.room - lb.len);
	memcpy(lb.b + lb.len, p + skip, (size_t)n);
	lb.len += (size_t)n;
	/* journalctl shows the sender's _PID, ours, before SYSLOG_PID: the
	 * writer's pid goes in the line too, so that one session's lines
	 * can be told from another's in its short view. */
	if (skip > 0 && lb.room - lb.len >= pidlen + 5) {
		memcpy(lb.b + lb.len, " pid=", 5);
		memcpy(lb.b + lb.len + 5, pid, pidlen);
		lb.len += pidlen + 5;
	}
	lb.b[lb.len++] = '\n';
	if (journal_put(&lb) == 0)
		return;
	do
		r = write(STDERR_FILENO, p, len + (nl ? 1 : 0));
	while (r == -1 && errno == EINTR);
}

void
log_relay_pump(int fd)
{
	char buf[LOG_RELAY_DGRAM_MAX];
	const char *p, *nl, *end;
	int i, saved = errno;
	ssize_t r;

	for (i = 0; i < LOG_RELAY_BURST; i++) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (p = buf, end = buf + r; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (nl > p)
				relay_line(p, (size_t)(nl - p), nl < end);
		}
	}
	errno = saved;
}
