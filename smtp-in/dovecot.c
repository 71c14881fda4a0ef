/* dovecot.c — the client of Dovecot's authentication protocol that
 * smtp-auth(8) uses when posthorn.conf names auth_dovecot (dovecot.h has
 * the exchange).  The server's lines are parsed one at a time by
 * dovecot_line, which knows nothing of sockets, so that a test or the
 * fuzzer can feed it anything; dovecot_talk is the socket, the deadline
 * and the order of the lines.
 *
 * What Dovecot says is trusted no more than a peer: every line is
 * bounded, every field unescaped in place and checked before it is used,
 * and the one thing taken from it, the user name of OK, must be
 * printable and fit. */

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "dovecot.h"
#include "io.h"
#include "line.h"
#include "peer.h"
#include "str.h"

#define ESC	'\001'		/* Dovecot's tab escape */

static enum dovecot_step
error(struct dovecot *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The reason for the log, which may quote the server's bytes: cut, and
 * what is not printable ASCII is '?'. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s > '~')
			*s = '?';
}

static enum dovecot_step
error(struct dovecot *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vfmt_cut(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	printable(d->reason);
	return DOVECOT_ERROR;
}

void
dovecot_init(struct dovecot *d)
{
	memset(d, 0, sizeof(*d));
}

size_t
dovecot_unescape(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != ESC) {
			s[o++] = s[i];
			continue;
		}
		if (++i == len)
			break;		/* a lone escape at the end */
		switch (s[i]) {
		case '1':
			s[o++] = ESC;
			break;
		case 't':
			s[o++] = '\t';
			break;
		case 'r':
			s[o++] = '\r';
			break;
		case 'n':
			s[o++] = '\n';
			break;
		case '0':
			s[o++] = '\0';
			break;
		default:		/* the character itself */
			s[o++] = s[i];
			break;
		}
	}
	if (o < len)
		s[o] = '\0';
	return o;
}

/* The next TAB-separated field of *p..end, unescaped and NUL-ended in
 * place (its TAB, or the line's NUL at end, becomes the NUL): 1 with
 * *f and *n, or 0 when there is none. */
static int
field(char **p, char *end, char **f, size_t *n)
{
	char *tab;

	if (*p > end)
		return 0;
	*f = *p;
	if ((tab = memchr(*p, '\t', (size_t)(end - *p))) == NULL)
		tab = end;
	*p = tab + 1;
	*n = dovecot_unescape(*f, (size_t)(tab - *f));
	(*f)[*n] = '\0';
	return 1;
}

/* value of "name=value" in f, or NULL. */
static const char *
param(const char *f, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(f, name, n) == 0 && f[n] == '=')
		return f + n + 1;
	return NULL;
}

/* A user name for the log and the session: printable, no TAB, CR or LF
 * (unescaped, Dovecot's user= could hold them), no NUL, and it fits. */
static int
take_user(struct dovecot *d, const char *v, size_t len)
{
	size_t i;

	if (len >= sizeof(d->user))
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
			return -1;
	memcpy(d->user, v, len);
	d->user[len] = '\0';
	return 0;
}

static void
take_reason(struct dovecot *d, const char *v)
{
	str_fmt_cut(d->reason, sizeof(d->reason), "%s", v);
	printable(d->reason);
}

static enum dovecot_step
handshake(struct dovecot *d, const char *cmd, char **p, char *end)
{
	char *f;
	size_t n;

	if (!d->version) {
		if (strcmp(cmd, "VERSION") != 0)
			return error(d, "%s before VERSION", cmd);
		if (!field(p, end, &f, &n) || strcmp(f, "1") != 0)
			return error(d, "not version 1 of the protocol");
		d->version = 1;
		return DOVECOT_MORE;
	}
	if (strcmp(cmd, "MECH") == 0) {
		if (field(p, end, &f, &n) && strcmp(f, "PLAIN") == 0)
			d->plain = 1;
		return DOVECOT_MORE;
	}
	if (strcmp(cmd, "DONE") == 0) {
		if (!d->plain)
			return error(d, "PLAIN is not offered (auth_mechanisms)");
		d->authing = 1;
		return DOVECOT_READY;
	}
	if (strcmp(cmd, "OK") == 0 || strcmp(cmd, "FAIL") == 0 ||
	    strcmp(cmd, "CONT") == 0)
		return error(d, "%s before the handshake's DONE", cmd);
	return DOVECOT_MORE;		/* SPID, CUID, COOKIE, and later ones */
}

static enum dovecot_step
answer(struct dovecot *d, const char *cmd, char **p, char *end)
{
	enum dovecot_step r;
	const char *v;
	char *f;
	size_t n;
	int temp = 0;

	if (strcmp(cmd, "OK") == 0)
		r = DOVECOT_OK;
	else if (strcmp(cmd, "FAIL") == 0)
		r = DOVECOT_FAIL;
	else if (strcmp(cmd, "CONT") == 0)
		return error(d, "CONT to a PLAIN that had its response");
	else
		return DOVECOT_MORE;	/* not ours to know: skipped */
	if (!field(p, end, &f, &n) || strcmp(f, DOVECOT_ID) != 0)
		return error(d, "%s for another request", cmd);
	while (field(p, end, &f, &n)) {
		/* user= of OK only: FAIL's is the login as the client typed
		 * it, control characters and all, and a refusal must stay
		 * a refusal (counted), whatever the client put in its name. */
		if ((v = param(f, "user")) != NULL) {
			if (r == DOVECOT_OK &&
			    take_user(d, v, n - (size_t)(v - f)) == -1)
				return error(d, "%s with a user= that is not a "
				    "printable name of %d bytes at most", cmd,
				    DOVECOT_USER_MAX - 1);
		} else if ((v = param(f, "reason")) != NULL)
			take_reason(d, v);
		else if (strcmp(f, "temp") == 0 ||
		    strcmp(f, "code=temp_fail") == 0)
			temp = 1;	/* before 2.3; since */
	}
	if (r == DOVECOT_FAIL && temp)
		r = DOVECOT_TEMP;
	return r;
}

enum dovecot_step
dovecot_line(struct dovecot *d, char *line, size_t len)
{
	char *p = line, *end = line + len, *cmd;
	size_t n;

	if (memchr(line, '\0', len) != NULL)
		return error(d, "a NUL in a line");
	if (!d->authing && ++d->lines > DOVECOT_HANDSHAKE_MAX)
		return error(d, "a handshake of more than %d lines",
		    DOVECOT_HANDSHAKE_MAX);
	if (!field(&p, end, &cmd, &n))
		return DOVECOT_MORE;		/* not reached: one field */
	if (!d->authing)
		return handshake(d, cmd, &p, end);
	return answer(d, cmd, &p, end);
}

int
dovecot_hello(char *buf, size_t size, long pid)
{
	int n = -1;

	if (str_fmt(buf, size, "VERSION\t1\t1\nCPID\t%ld\n", pid) == 0)
		n = (int)strlen(buf);
	return n;
}

int
dovecot_auth_line(char *buf, size_t size, const char *resp, const char *rip)
{
	char addr[INET6_ADDRSTRLEN];
	struct str s;

	/* secured: smtp-in offers AUTH under TLS only (smtp-in(8)), so
	 * Dovecot's disable_plaintext_auth is met; nologin: we ask for a
	 * check, not a login into Dovecot's mail processes.  rip= only
	 * for an address, as peer.h writes it ("local", a program on this
	 * host, says nothing to Dovecot; ::ffff:a.b.c.d is a.b.c.d, so that
	 * Dovecot's penalty counts one client once). */
	str_init(&s, buf, size);
	if (str_appends(&s, "AUTH\t" DOVECOT_ID "\tPLAIN\tservice=smtp\t"
	    "secured\tnologin") == -1 ||
	    (peer_normalize(rip, addr, sizeof(addr)) == 0 &&
	    str_appendf(&s, "\trip=%s", addr) == -1) ||
	    str_appendf(&s, "\tresp=%s\n", resp) == -1)
		return -1;
	return (int)s.len;
}

enum dovecot_step
dovecot_talk(int fd, struct dovecot *d, const char *resp, const char *rip,
    int64_t deadline)
{
	static char mem[DOVECOT_LINE_MAX + 1];	/* not on the stack */
	static struct line l;
	char out[DOVECOT_LINE_MAX];
	enum dovecot_step r;
	struct str s;
	struct io io;
	unsigned flags;
	int n;

	dovecot_init(d);
	io_fd_init(&io, fd, fd);
	line_init(&l, &io);
	str_init(&s, mem, sizeof(mem));
	if ((n = dovecot_hello(out, sizeof(out), (long)getpid())) == -1 ||
	    io_write_all(&io, out, (size_t)n, deadline) == -1)
		return error(d, "sending the handshake: %s", strerror(errno));
	for (;;) {
		switch (line_get(&l, &s, DOVECOT_LINE_MAX, deadline, &flags)) {
		case LINE_OK:
			break;
		case LINE_EOF:
			return error(d, "it closed the connection");
		case LINE_TOOLONG:
			return error(d, "a line longer than %d bytes",
			    DOVECOT_LINE_MAX);
		case LINE_TIMEOUT:
			return error(d, "no answer in time");
		default:
			return error(d, "reading: %s", strerror(errno));
		}
		if ((r = dovecot_line(d, s.s, s.len)) == DOVECOT_MORE)
			continue;
		if (r != DOVECOT_READY)
			return r;
		n = dovecot_auth_line(out, sizeof(out), resp, rip);
		if (n == -1)
			return error(d, "the AUTH line is longer than %d bytes",
			    DOVECOT_LINE_MAX);
		r = io_write_all(&io, out, (size_t)n, deadline) == -1 ?
		    error(d, "sending the AUTH: %s", strerror(errno)) :
		    DOVECOT_MORE;
		explicit_bzero(out, sizeof(out));
		if (r != DOVECOT_MORE)
			return r;
	}
}
