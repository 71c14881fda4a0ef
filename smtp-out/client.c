/* client.c — one SMTP client session on a connected io (client.h).
 * A reply is read whole (every line of a multi-line reply) before it is
 * looked at; commands collect in an out buffer that is flushed only when
 * a reply is awaited, which is all PIPELINING (RFC 2920) asks of us: with
 * it, MAIL, every RCPT and DATA leave in one write and their replies are
 * read back in order.  The message goes out through wire_encode, the one
 * place that decides what reaches the wire: CRLF after every line, a lone
 * CR or LF made a CRLF, a leading dot doubled (RFC 5321 §4.5.2).  The
 * same encoder scans the message beforehand for its size, NUL bytes and
 * over-long lines, so that a message we cannot send is refused before
 * anything is sent.  LMTP (RFC 2033) is the same session with LHLO for
 * EHLO and a reply per accepted recipient after the dot (client_params's
 * lmtp). */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "line.h"
#include "out.h"
#include "str.h"

enum {
	MSG_CHUNK = 16384,	/* message bytes read at a time */
	/* wire_encode at most doubles its input (LF -> CRLF, "." -> ".."),
	 * and the end adds CRLF . CRLF. */
	WIRE_CHUNK = 2 * MSG_CHUNK + 8,
	CMD_MAX = 1200,		/* MAIL with its parameters, AUTH PLAIN */
	/* AUTH PLAIN: NUL user NUL password (RFC 4616). */
	AUTH_RAW_MAX = 1 + 255 + 1 + 511,
	AUTH_B64_MAX = ((AUTH_RAW_MAX + 2) / 3) * 4 + 1
};

enum caps {
	CAP_STARTTLS	= 1 << 0,
	CAP_PIPELINING	= 1 << 1,
	CAP_SIZE	= 1 << 2,
	CAP_8BITMIME	= 1 << 3,
	CAP_SMTPUTF8	= 1 << 4,
	CAP_AUTH	= 1 << 5,
	CAP_AUTH_PLAIN	= 1 << 6,
	CAP_AUTH_LOGIN	= 1 << 7,
	CAP_DSN		= 1 << 8	/* RFC 3461 */
};

/* --- the message in wire form --------------------------------------- */

struct wire {
	int		 cr;	/* the last byte was a CR: CRLF or lone CR? */
	int		 bol;	/* at the start of a line */
	size_t		 col;	/* octets in the current line */
	uint64_t	 size;	/* wire octets produced */
	enum client_msg_verdict verdict;
	int		 body;	/* past the header's empty line */
	int		 hdr8;	/* a byte above 0x7f in the header */
};

static void
wire_init(struct wire *w)
{
	memset(w, 0, sizeof(*w));
	w->bol = 1;
}

static size_t
wire_eol(struct wire *w, char *out, size_t o)
{
	if (w->bol)
		w->body = 1;		/* an empty line ends the header */
	out[o++] = '\r';
	out[o++] = '\n';
	w->bol = 1;
	w->col = 0;
	return o;
}

/* in[0..n) into out (room for 2 * n bytes); returns the bytes written. */
static size_t
wire_encode(struct wire *w, const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = in[i];
		if (w->cr) {
			/* CR LF is a line end; a CR alone becomes one too. */
			w->cr = 0;
			o = wire_eol(w, out, o);
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			w->cr = 1;
			continue;
		}
		if (c == '\n') {
			o = wire_eol(w, out, o);
			continue;
		}
		if (c == '\0' && w->verdict == CLIENT_MSG_OK)
			w->verdict = CLIENT_MSG_NUL;
		if (c >= 0x80 && !w->body)
			w->hdr8 = 1;
		if (w->bol && c == '.')
			out[o++] = '.';		/* RFC 5321 §4.5.2 */
		w->bol = 0;
		out[o++] = (char)c;
		if (++w->col > CLIENT_LINE_MAX && w->verdict == CLIENT_MSG_OK)
			w->verdict = CLIENT_MSG_LONGLINE;
	}
	w->size += o;
	return o;
}

/* The end of the message: a last line without its LF is ended, then the
 * dot when dot is set (not counted in size). */
static size_t
wire_finish(struct wire *w, char *out, int dot)
{
	size_t o = 0;

	if (w->cr || !w->bol) {
		w->cr = 0;
		o = wire_eol(w, out, o);
	}
	w->size += o;
	if (dot) {
		memcpy(out + o, ".\r\n", 3);
		o += 3;
	}
	return o;
}

static int
tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	do
		fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	while (fd == -1 && errno == EINTR);
	if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return fd;
	/* A file system without O_TMPFILE: the classic way. */
	if (str_fmt(path, sizeof(path), "%s/smtp-out.XXXXXX", dir) == -1)
		return -1;
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
		return -1;
	if (unlink(path) == -1) {
		fd_close(&fd);
		return -1;
	}
	return fd;
}

static ssize_t
read_retry(int fd, void *p, size_t n, off_t off, int positional)
{
	ssize_t r;

	do
		r = positional ? pread(fd, p, n, off) : read(fd, p, n);
	while (r == -1 && errno == EINTR);
	return r;
}

int
client_msg_open(int fd, struct client_msg *m, char *why, size_t whysz)
{
	return client_msg_open_prefixed(fd, NULL, 0, m, why, whysz);
}

int
client_msg_open_prefixed(int fd, const char *prefix, size_t prefixlen,
    struct client_msg *m, char *why, size_t whysz)
{
	static unsigned char in[MSG_CHUNK];
	static char out[WIRE_CHUNK];
	struct stat st;
	struct wire w;
	off_t off;
	ssize_t r;
	size_t i, chunk;
	int copy;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (fstat(fd, &st) == -1) {
		str_fmt_cut(why, whysz, "message: fstat: %s", strerror(errno));
		return -1;
	}
	copy = !S_ISREG(st.st_mode) || (off = lseek(fd, 0, SEEK_CUR)) == -1;
	if (copy) {
		if ((m->fd = tmpfile_fd()) == -1) {
			str_fmt_cut(why, whysz, "temporary file: %s",
			    strerror(errno));
			return -1;
		}
		m->owned = 1;
		off = 0;
	} else
		m->fd = fd;
	m->start = off;
	wire_init(&w);
	m->prefix = prefix;
	m->prefixlen = prefixlen;
	for (i = 0; i < prefixlen; i += chunk) {
		chunk = prefixlen - i < MSG_CHUNK ? prefixlen - i : MSG_CHUNK;
		(void)wire_encode(&w, (const unsigned char *)prefix + i, chunk,
		    out);
	}
	for (;;) {
		r = read_retry(fd, in, sizeof(in), off, !copy);
		if (r == -1) {
			str_fmt_cut(why, whysz, "message: read: %s",
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		if (copy && fd_write_all(m->fd, in, (size_t)r) == -1) {
			str_fmt_cut(why, whysz, "temporary file: write: %s",
			    strerror(errno));
			goto fail;
		}
		off += r;
		(void)wire_encode(&w, in, (size_t)r, out);
	}
	(void)wire_finish(&w, out, 0);
	m->size = w.size;
	m->verdict = w.verdict;
	m->hdr8 = w.hdr8;
	return 0;
fail:
	client_msg_close(m);
	return -1;
}

const char *
client_msg_problem(const struct client_msg *m)
{
	switch (m->verdict) {
	case CLIENT_MSG_NUL:
		return "message contains a NUL byte";
	case CLIENT_MSG_LONGLINE:
		return "message has a line longer than 998 octets "
		    "(RFC 5321 4.5.3.1.6)";
	default:
		return NULL;
	}
}

void
client_msg_close(struct client_msg *m)
{
	if (m->owned)
		fd_close(&m->fd);
	m->fd = -1;
	m->owned = 0;
}

/* --- replies ---------------------------------------------------------- */

struct reply {
	int	code;			/* 0: none (timeout, lost, garbage) */
	char	dsn[CLIENT_DSN_MAX];	/* enhanced code, else derived */
	char	text[CLIENT_TEXT_MAX];	/* "550 5.1.1 text more text" */
};

struct client {
	struct io			*io;
	const struct client_params	*p;	/* &pc */
	struct client_params		 pc;	/* the message's, no password */
	struct client_outcome		*oc;
	int				 broken;	/* lost, or QUIT sent */
	int				 used;	/* a transaction was begun */
	int				 tls;	/* of the connection */
	struct client_tls_info		 tls_info;
	unsigned			 caps;
	uint64_t			 maxsize;	/* SIZE n, 0: none */
	const char			*doing;	/* for the reasons we give */
	struct line			 line;
	struct out			 out;
};

/* "d.ddd.ddd" of RFC 3463 at s, its class matching the reply's: the
 * length of the code, or 0. */
static size_t
enhanced(const char *s, int class)
{
	size_t i = 0, k, part;

	if (s[0] != '0' + class || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (k = 0; k < 3 && s[i] >= '0' && s[i] <= '9'; k++)
			i++;
		if (k == 0)
			return 0;
		if (part == 0) {
			if (s[i] != '.')
				return 0;
			i++;
		}
	}
	return s[i] == ' ' || s[i] == '\0' ? i : 0;
}

/* Append s to the reply text, one line; bytes that could break the
 * report (tab, CR, LF, other controls) become spaces or '?'. */
static void
text_add(char *text, const char *s)
{
	size_t len = strlen(text), i;

	for (i = 0; s[i] != '\0' && len + 1 < CLIENT_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		text[len++] = c == '\t' ? ' ' : c < ' ' || c == 0x7f ? '?' :
		    (char)c;
	}
	text[len] = '\0';
}

static int
is_kw(const char *s, const char *kw)
{
	size_t n = strlen(kw);

	return strncasecmp(s, kw, n) == 0 && (s[n] == '\0' || s[n] == ' ' ||
	    s[n] == '=');
}

/* One EHLO keyword line (RFC 5321 §4.1.1.1). */
static void
ehlo_line(struct client *c, const char *s)
{
	const char *p;
	char *end;
	unsigned long long v;

	if (is_kw(s, "STARTTLS"))
		c->caps |= CAP_STARTTLS;
	else if (is_kw(s, "PIPELINING"))
		c->caps |= CAP_PIPELINING;
	else if (is_kw(s, "8BITMIME"))
		c->caps |= CAP_8BITMIME;
	else if (is_kw(s, "SMTPUTF8"))
		c->caps |= CAP_SMTPUTF8;
	else if (is_kw(s, "DSN"))
		c->caps |= CAP_DSN;
	else if (is_kw(s, "SIZE")) {
		c->caps |= CAP_SIZE;
		if (s[4] == ' ') {
			errno = 0;
			v = strtoull(s + 5, &end, 10);
			if (errno == 0 && end != s + 5)
				c->maxsize = v;	/* 0: no fixed limit */
		}
	} else if (is_kw(s, "AUTH")) {
		c->caps |= CAP_AUTH;
		for (p = s + 4; *p != '\0'; p++) {
			if (*p != ' ' && *p != '=')
				continue;
			if (is_kw(p + 1, "PLAIN"))
				c->caps |= CAP_AUTH_PLAIN;
			else if (is_kw(p + 1, "LOGIN"))
				c->caps |= CAP_AUTH_LOGIN;
		}
	}
}

static void
lost(struct client *c, struct reply *r, const char *what)
{
	c->broken = 1;
	r->code = 0;
	str_copy(r->dsn, sizeof(r->dsn), "4.4.2");
	str_fmt_cut(r->text, sizeof(r->text), "%s %s", what, c->doing);
}

/* Flush what is queued, then read one whole reply before deadline (a
 * duration in ms from now).  r->code is 0 when there was none: the
 * connection is then unusable and r->text says why. */
static void
read_reply(struct client *c, int64_t ms, struct reply *r, int ehlo)
{
	char buf[CLIENT_REPLY_LINE_MAX + 1];
	struct str s;
	int64_t deadline = clock_ms() + ms;
	unsigned flags, nlines;
	size_t k;
	int code;
	const char *t;

	memset(r, 0, sizeof(*r));
	if (ehlo) {
		c->caps = 0;
		c->maxsize = 0;
	}
	if (out_flush(&c->out, deadline) == -1) {
		lost(c, r, errno == ETIMEDOUT ? "timeout while sending" :
		    "connection lost while sending");
		return;
	}
	str_init(&s, buf, sizeof(buf));
	for (nlines = 0;; nlines++) {
		switch (line_get(&c->line, &s, CLIENT_REPLY_LINE_MAX,
		    deadline, &flags)) {
		case LINE_OK:
			break;
		case LINE_TIMEOUT:
			lost(c, r, "timeout waiting for the reply to");
			return;
		case LINE_TOOLONG:
			lost(c, r, "over-long reply line to");
			return;
		default:
			lost(c, r, "connection lost waiting for the reply to");
			return;
		}
		if (s.len > 0 && s.s[s.len - 1] == '\r')
			s.s[--s.len] = '\0';	/* a bare CR before LF */
		if (s.len < 3 || s.s[0] < '2' || s.s[0] > '5' ||
		    s.s[1] < '0' || s.s[1] > '5' || s.s[2] < '0' ||
		    s.s[2] > '9' || (s.s[3] != ' ' && s.s[3] != '-' &&
		    s.s[3] != '\0') || nlines >= CLIENT_REPLY_LINES_MAX) {
			lost(c, r, "malformed reply to");
			return;
		}
		code = (s.s[0] - '0') * 100 + (s.s[1] - '0') * 10 +
		    (s.s[2] - '0');
		if (nlines > 0 && code != r->code) {
			lost(c, r, "inconsistent reply to");
			return;
		}
		t = s.s[3] == '\0' ? "" : s.s + 4;
		if (nlines == 0) {
			r->code = code;
			if ((k = enhanced(t, code / 100)) > 0)
				(void)str_fmt(r->dsn, sizeof(r->dsn), "%.*s",
				    (int)k, t);
			text_add(r->text, s.s);
			if (r->text[3] == '-')
				r->text[3] = ' ';
		} else {
			/* Later lines: their text, without a repeated
			 * enhanced code. */
			k = strlen(r->dsn);
			if (k > 0 && strncmp(t, r->dsn, k) == 0 &&
			    (t[k] == ' ' || t[k] == '\0'))
				t += t[k] == ' ' ? k + 1 : k;
			if (*t != '\0') {
				text_add(r->text, " ");
				text_add(r->text, t);
			}
			if (ehlo)
				ehlo_line(c, t);
		}
		if (s.s[3] != '-')
			break;
	}
	if (r->dsn[0] == '\0')
		(void)str_fmt(r->dsn, sizeof(r->dsn), "%d.0.0", r->code / 100);
}

/* Queue one command line; -1 when a flush it forced failed. */
static int
cmd(struct client *c, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cmd(struct client *c, const char *what, const char *fmt, ...)
{
	char buf[CMD_MAX];
	va_list ap;
	int n;

	c->doing = what;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		errno = EOVERFLOW;
		return -1;
	}
	buf[n++] = '\r';
	buf[n++] = '\n';
	return out_put(&c->out, buf, (size_t)n, clock_ms() + c->p->to.cmd);
}

/* --- results ------------------------------------------------------------ */

/* The DSN's class follows the status, whatever odd reply (a 2xx to DATA,
 * a 3xx to MAIL) led there: a deferred recipient has a 4.x.x. */
static void
dsn_class(char *dsn, enum client_status st)
{
	if (st == CLIENT_DEFERRED)
		dsn[0] = '4';
	else if (st == CLIENT_FAILED)
		dsn[0] = '5';
}

static void
set_result(struct client_rcpt *r, enum client_status st, const char *dsn,
    const char *text)
{
	r->status = st;
	str_fmt_cut(r->dsn, sizeof(r->dsn), "%s", dsn);
	dsn_class(r->dsn, st);
	str_fmt_cut(r->text, sizeof(r->text), "%s", text);
}

static enum client_status
status_of(int code)
{
	return code >= 200 && code < 300 ? CLIENT_SENT : code >= 500 ?
	    CLIENT_FAILED : CLIENT_DEFERRED;
}

/* Every recipient still pending (accepted ones only, if only_accepted)
 * gets the reply. */
static void
result_all(struct client_rcpt *rc, size_t n, int only_accepted,
    enum client_status st, const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rc[i].status == CLIENT_PENDING &&
		    (!only_accepted || rc[i].accepted))
			set_result(&rc[i], st, dsn, text);
}

/* The host failed as a whole: keep the reason for the caller. */
static enum client_result
host_failed(struct client *c, enum client_status st, const char *dsn,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum client_result
host_failed(struct client *c, enum client_status st, const char *dsn,
    const char *fmt, ...)
{
	va_list ap;

	c->oc->fail_status = st;
	str_fmt_cut(c->oc->fail_dsn, sizeof(c->oc->fail_dsn), "%s", dsn);
	dsn_class(c->oc->fail_dsn, st);
	va_start(ap, fmt);
	str_vfmt_cut(c->oc->fail_text, sizeof(c->oc->fail_text), fmt, ap);
	va_end(ap);
	return CLIENT_NEXT;
}

static enum client_result
host_failed_reply(struct client *c, const struct reply *r)
{
	return host_failed(c, r->code == 0 || r->code == 421 ?
	    CLIENT_DEFERRED : status_of(r->code), r->dsn, "%s", r->text);
}

/* A 4xx or 5xx as a temporary result: a policy failure on our side
 * (AUTH refused) must not bounce mail. */
static void
temp_dsn(char *dsn, size_t size, const char *from)
{
	str_fmt_cut(dsn, size, "4%s", from[0] != '\0' ? from + 1 : ".0.0");
}

static enum client_result
lost_in_transaction(struct client *c, const char *what)
{
	return host_failed(c, CLIENT_DEFERRED, "4.4.2",
	    "connection lost sending %s: %s", what, strerror(errno));
}

static void
quit(struct client *c)
{
	struct reply r;

	/* A courtesy: the outcome is settled whatever comes back. */
	if (!c->broken && cmd(c, "QUIT", "QUIT") == 0)
		read_reply(c, c->p->to.quit, &r, 0);
	c->broken = 1;
}

/* --- the session ---------------------------------------------------------- */

/* RFC 2033 §4.1: LHLO, with no HELO to fall back to.  A refusal is
 * the store's configuration: the mail waits (4.x.x) for it. */
static enum client_result
lhlo(struct client *c)
{
	struct reply r;
	char dsn[CLIENT_DSN_MAX];

	if (cmd(c, "LHLO", "LHLO %s", c->p->helo) == -1)
		return host_failed(c, CLIENT_DEFERRED, "4.4.2",
		    "connection lost sending LHLO: %s", strerror(errno));
	read_reply(c, c->p->to.cmd, &r, 1);
	if (r.code >= 200 && r.code < 300)
		return CLIENT_DONE;
	if (r.code == 0)
		return host_failed_reply(c, &r);
	quit(c);
	temp_dsn(dsn, sizeof(dsn), r.dsn);
	return host_failed(c, CLIENT_DEFERRED, dsn, "LHLO refused: %s",
	    r.text);
}

static enum client_result
ehlo(struct client *c)
{
	struct reply r;

	if (c->p->lmtp)
		return lhlo(c);
	if (cmd(c, "EHLO", "EHLO %s", c->p->helo) == -1)
		return host_failed(c, CLIENT_DEFERRED, "4.4.2",
		    "connection lost sending EHLO: %s", strerror(errno));
	read_reply(c, c->p->to.cmd, &r, 1);
	if (r.code >= 200 && r.code < 300)
		return CLIENT_DONE;
	if (r.code < 500)
		return host_failed_reply(c, &r);
	/* RFC 5321 §3.2: an old server that knows only HELO. */
	if (cmd(c, "HELO", "HELO %s", c->p->helo) == -1)
		return host_failed(c, CLIENT_DEFERRED, "4.4.2",
		    "connection lost sending HELO: %s", strerror(errno));
	read_reply(c, c->p->to.cmd, &r, 0);
	c->caps = 0;
	c->maxsize = 0;
	if (r.code >= 200 && r.code < 300)
		return CLIENT_DONE;
	if (r.code != 0)
		quit(c);
	return host_failed_reply(c, &r);
}

static enum client_result
tls_policy_failed(struct client *c, const char *what, const char *detail)
{
	quit(c);
	return host_failed(c, CLIENT_DEFERRED, "4.7.5", "%s%s", what, detail);
}

static enum client_result
starttls(struct client *c)
{
	const struct client_params *p = c->p;
	struct reply r;
	char why[256];
	enum client_result res;

	if (p->implicit_tls) {
		c->oc->tls = 1;
		c->oc->tls_info = p->tls_info;
	} else if (p->tls == CLIENT_TLS_NONE)
		return CLIENT_DONE;
	else if (!(c->caps & CAP_STARTTLS) || p->starttls == NULL) {
		if (p->tls == CLIENT_TLS_MAY)
			return CLIENT_DONE;
		return tls_policy_failed(c,
		    "TLS is required but the host does not offer STARTTLS",
		    "");
	} else {
		if (cmd(c, "STARTTLS", "STARTTLS") == -1)
			return host_failed(c, CLIENT_DEFERRED, "4.4.2",
			    "connection lost sending STARTTLS: %s",
			    strerror(errno));
		read_reply(c, p->to.cmd, &r, 0);
		if (r.code == 0 || r.code == 421)
			return host_failed_reply(c, &r);
		if (r.code != 220) {
			if (p->tls == CLIENT_TLS_MAY)
				return CLIENT_DONE;
			return tls_policy_failed(c,
			    "TLS is required but STARTTLS failed: ", r.text);
		}
		/* Plaintext read ahead of the handshake would be taken as
		 * if it came under TLS: a peer (or a man in the middle)
		 * injecting commands (CVE-2011-0411 in reverse). */
		if (line_buffered(&c->line) > 0)
			return host_failed(c, CLIENT_DEFERRED, "4.7.5",
			    "%s", "data after the reply to STARTTLS");
		why[0] = '\0';
		if (p->starttls(p->starttls_arg, c->io,
		    clock_ms() + p->to.cmd, &c->oc->tls_info, why,
		    sizeof(why)) == -1) {
			host_failed(c, CLIENT_DEFERRED, "4.7.5",
			    "TLS handshake failed: %s", why);
			return p->tls == CLIENT_TLS_MAY ? CLIENT_RETRY_PLAIN :
			    CLIENT_NEXT;
		}
		c->oc->tls = 1;
	}
	if (p->tls == CLIENT_TLS_VERIFY && !c->oc->tls_info.verified)
		return tls_policy_failed(c,
		    "TLS certificate not verified: ",
		    c->oc->tls_info.reason[0] != '\0' ?
		    c->oc->tls_info.reason : "unknown reason");
	/* RFC 7672 §2.2: with usable TLSA records, a certificate that
	 * does not match them gets nothing, and no plaintext either. */
	if (p->tls == CLIENT_TLS_DANE && !c->oc->tls_info.dane)
		return tls_policy_failed(c,
		    "TLS certificate does not match the TLSA records: ",
		    c->oc->tls_info.dane_why[0] != '\0' ?
		    c->oc->tls_info.dane_why : "no DANE check was made");
	if (p->implicit_tls)
		return CLIENT_DONE;
	/* RFC 3207 §4.2: forget what was said in plaintext. */
	if ((res = ehlo(c)) != CLIENT_DONE)
		return res;
	return CLIENT_DONE;
}

static int
b64(char *out, size_t outsz, const void *in, size_t n)
{
	if (outsz < sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL))
		return -1;
	sodium_bin2base64(out, outsz, in, n, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* RFC 4954 with PLAIN (RFC 4616), else LOGIN; under TLS only. */
static enum client_result
auth(struct client *c)
{
	const struct client_params *p = c->p;
	unsigned char raw[AUTH_RAW_MAX];
	char enc[AUTH_B64_MAX], dsn[CLIENT_DSN_MAX];
	size_t ul, pl;
	struct reply r;
	int rc;

	if (p->auth_user == NULL || p->auth_user[0] == '\0')
		return CLIENT_DONE;
	if (!c->oc->tls)
		return tls_policy_failed(c, "credentials are sent under TLS "
		    "only, and this session has none", "");
	if (!(c->caps & CAP_AUTH))
		return CLIENT_DONE;	/* relaying by address, presumably */
	ul = strlen(p->auth_user);
	pl = strlen(p->auth_pass);
	if (ul > 255 || pl > 511) {
		quit(c);
		return host_failed(c, CLIENT_DEFERRED, "4.7.0",
		    "%s", "AUTH credentials too long");
	}
	if (c->caps & CAP_AUTH_PLAIN) {
		raw[0] = '\0';
		memcpy(raw + 1, p->auth_user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, p->auth_pass, pl);
		rc = b64(enc, sizeof(enc), raw, ul + pl + 2);
		sodium_memzero(raw, sizeof(raw));
		if (rc == 0)
			rc = cmd(c, "AUTH", "AUTH PLAIN %s", enc);
		sodium_memzero(enc, sizeof(enc));
		if (rc == -1)
			return lost_in_transaction(c, "AUTH");
		read_reply(c, p->to.cmd, &r, 0);
	} else if (c->caps & CAP_AUTH_LOGIN) {
		if (cmd(c, "AUTH", "AUTH LOGIN") == -1)
			return lost_in_transaction(c, "AUTH");
		read_reply(c, p->to.cmd, &r, 0);
		if (r.code == 334) {
			(void)b64(enc, sizeof(enc), p->auth_user, ul);
			if (cmd(c, "AUTH", "%s", enc) == -1)
				return lost_in_transaction(c, "AUTH");
			read_reply(c, p->to.cmd, &r, 0);
		}
		if (r.code == 334) {
			(void)b64(enc, sizeof(enc), p->auth_pass, pl);
			rc = cmd(c, "AUTH", "%s", enc);
			sodium_memzero(enc, sizeof(enc));
			if (rc == -1)
				return lost_in_transaction(c, "AUTH");
			read_reply(c, p->to.cmd, &r, 0);
		}
		if (r.code == 334)
			lost(c, &r, "a third 334 in reply to");
	} else {
		quit(c);
		return host_failed(c, CLIENT_DEFERRED, "4.7.0", "%s",
		    "no AUTH mechanism in common (we have PLAIN and LOGIN)");
	}
	if (r.code >= 200 && r.code < 300)
		return CLIENT_DONE;
	if (r.code == 0 || r.code == 421)
		return host_failed_reply(c, &r);
	/* Wrong credentials are our configuration's fault: keep the mail
	 * queued (Postfix's smtp_sasl_auth_soft_bounce). */
	quit(c);
	temp_dsn(dsn, sizeof(dsn), r.dsn);
	return host_failed(c, CLIENT_DEFERRED, dsn, "AUTH failed: %s",
	    r.text);
}

/* Stream the message and its final dot. */
static int
send_body(struct client *c, const struct client_msg *m)
{
	static unsigned char in[MSG_CHUNK];
	static char out[WIRE_CHUNK];
	struct wire w;
	off_t off = m->start;
	ssize_t r;
	size_t n, i, chunk;

	c->doing = "the message";
	wire_init(&w);
	/* The prefix's lines are complete (LF-ended), so it encodes
	 * alone; the state of w carries on into the file's bytes. */
	for (i = 0; i < m->prefixlen; i += chunk) {
		chunk = m->prefixlen - i < MSG_CHUNK ? m->prefixlen - i :
		    MSG_CHUNK;
		n = wire_encode(&w, (const unsigned char *)m->prefix + i,
		    chunk, out);
		if (out_put(&c->out, out, n, clock_ms() + c->p->to.block) ==
		    -1)
			return -1;
	}
	for (;;) {
		do
			r = pread(m->fd, in, sizeof(in), off);
		while (r == -1 && errno == EINTR);
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		off += r;
		n = wire_encode(&w, in, (size_t)r, out);
		if (w.verdict != CLIENT_MSG_OK) {
			/* The file changed since it was scanned: stop
			 * short of the dot, so nothing is delivered. */
			errno = EILSEQ;
			return -1;
		}
		if (out_put(&c->out, out, n, clock_ms() + c->p->to.block)
		    == -1)
			return -1;
	}
	n = wire_finish(&w, out, 1);
	return out_put(&c->out, out, n, clock_ms() + c->p->to.block);
}

/* MAIL FROM with its parameters into buf. */
static int
mail_cmd(struct client *c, const struct client_msg *m)
{
	const struct client_params *p = c->p;
	char size[40] = "", ret[16] = "", envid[DSN_ENVID_MAX + 1];
	char envidp[sizeof(" ENVID=") + DSN_ENVID_MAX] = "";

	if ((c->caps & CAP_SIZE) && str_fmt(size, sizeof(size), " SIZE=%llu",
	    (unsigned long long)m->size) == -1)
		return -1;
	/* RFC 3461 §4.3, §4.4: only to a host that offers DSN.  An ENVID
	 * that would not fit the RFC's bound encoded is left out. */
	if ((c->caps & CAP_DSN) && p->ret != DSN_RET_NONE)
		(void)str_fmt(ret, sizeof(ret), " RET=%s",
		    dsn_ret_name(p->ret));
	if ((c->caps & CAP_DSN) && p->envid != NULL && p->envid[0] != '\0' &&
	    dsn_xtext_encode(p->envid, envid, sizeof(envid)) == 0)
		(void)str_fmt(envidp, sizeof(envidp), " ENVID=%s", envid);
	return cmd(c, "MAIL FROM", "MAIL FROM:<%s>%s%s%s%s%s", p->sender,
	    size, p->eightbit && (c->caps & CAP_8BITMIME) ? " BODY=8BITMIME" :
	    "", p->smtputf8 ? " SMTPUTF8" : "", ret, envidp);
}

/* RCPT TO, with NOTIFY and ORCPT for a host that offers DSN (RFC 3461
 * §4.1, §4.2); an ORCPT longer than the RFC's bound encoded is left
 * out. */
static int
rcpt_cmd(struct client *c, const struct client_rcpt *r)
{
	char notify[sizeof(" NOTIFY=") + DSN_NOTIFY_TEXT_MAX] = "";
	char text[DSN_NOTIFY_TEXT_MAX], orcpt[DSN_ORCPT_MAX + 1];
	char orcptp[sizeof(" ORCPT=") + DSN_ORCPT_MAX] = "";

	if ((c->caps & CAP_DSN) && r->notify != 0) {
		dsn_notify_format(r->notify, text, sizeof(text));
		(void)str_fmt(notify, sizeof(notify), " NOTIFY=%s", text);
	}
	if ((c->caps & CAP_DSN) && r->orcpt != NULL &&
	    dsn_orcpt_encode(r->orcpt, orcpt, sizeof(orcpt)) == 0)
		(void)str_fmt(orcptp, sizeof(orcptp), " ORCPT=%s", orcpt);
	return cmd(c, "RCPT TO", "RCPT TO:<%s>%s%s", r->path != NULL ?
	    r->path : r->addr, notify, orcptp);
}

/* RFC 5321 §4.5.3.1.10: a 452 to a RCPT once others of the transaction
 * were taken is "too many recipients": the recipient waits, pending, for
 * a transaction of its own on the same connection (client_send), with
 * this reply as its result should none come. */
static void
again(struct client_rcpt *rc, const struct reply *r)
{
	set_result(rc, CLIENT_DEFERRED, r->dsn, r->text);
	rc->status = CLIENT_PENDING;
	rc->again = 1;
}

/* RFC 2033 §4.2: after the dot, one reply for each recipient that RCPT
 * accepted, in the order of the RCPT commands: each is that recipient's
 * result.  A reply that does not come leaves it and those after it
 * deferred: the server may have delivered to them (at least once, never
 * zero times), and the connection is lost. */
static enum client_result
lmtp_replies(struct client *c, struct client_rcpt *rc, size_t n)
{
	struct reply r;
	size_t i;

	for (i = 0; i < n; i++) {
		if (rc[i].status != CLIENT_PENDING || !rc[i].accepted)
			continue;
		read_reply(c, c->p->to.dot, &r, 0);
		if (r.code == 0) {
			result_all(rc, n, 1, CLIENT_DEFERRED, r.dsn, r.text);
			return CLIENT_DONE;
		}
		set_result(&rc[i], status_of(r.code), r.dsn, r.text);
	}
	return CLIENT_DONE;
}

/* MAIL, RCPT..., DATA, the message: pipelined when the host allows it.
 * The connection is left as the transaction ends, for the caller to
 * reuse or to QUIT. */
static enum client_result
transaction(struct client *c, const struct client_msg *m,
    struct client_rcpt *rc, size_t n)
{
	const int pipe = (c->caps & CAP_PIPELINING) != 0;
	struct reply mail, r, data;
	size_t i, accepted = 0;
	enum client_status st;
	enum client_result res = CLIENT_DONE;

	if (mail_cmd(c, m) == -1)
		return lost_in_transaction(c, "MAIL FROM");
	if (!pipe) {
		read_reply(c, c->p->to.mail, &mail, 0);
		if (mail.code < 200 || mail.code >= 300)
			goto mail_refused;
	}
	for (i = 0; i < n; i++) {
		rc[i].accepted = 0;
		if (rc[i].status != CLIENT_PENDING)
			continue;
		if (rcpt_cmd(c, &rc[i]) == -1)
			return lost_in_transaction(c, "RCPT TO");
		if (pipe)
			continue;
		read_reply(c, c->p->to.rcpt, &r, 0);
		if (r.code == 0 || r.code == 421)
			return host_failed_reply(c, &r);
		if ((st = status_of(r.code)) == CLIENT_SENT) {
			rc[i].accepted = 1;
			accepted++;
		} else if (r.code == 452 && accepted > 0)
			again(&rc[i], &r);
		else
			set_result(&rc[i], st, r.dsn, r.text);
	}
	if (pipe) {
		if (cmd(c, "DATA", "DATA") == -1)
			return lost_in_transaction(c, "DATA");
		c->doing = "MAIL FROM";
		read_reply(c, c->p->to.mail, &mail, 0);
		if (mail.code == 0 || mail.code == 421)
			return host_failed_reply(c, &mail);
		for (i = 0; i < n; i++) {
			if (rc[i].status != CLIENT_PENDING)
				continue;
			c->doing = "RCPT TO";
			read_reply(c, c->p->to.rcpt, &r, 0);
			if (r.code == 0 || r.code == 421)
				return host_failed_reply(c, &r);
			if (mail.code >= 300)
				continue;	/* 503s: MAIL says it all */
			if ((st = status_of(r.code)) == CLIENT_SENT) {
				rc[i].accepted = 1;
				accepted++;
			} else if (r.code == 452 && accepted > 0)
				again(&rc[i], &r);
			else
				set_result(&rc[i], st, r.dsn, r.text);
		}
		c->doing = "DATA";
		read_reply(c, c->p->to.data, &data, 0);
		if (data.code == 0 || data.code == 421) {
			if (mail.code >= 300)
				goto mail_refused;
			return host_failed_reply(c, &data);
		}
		if (mail.code >= 300 || accepted == 0) {
			/* RFC 2920 §3.1: DATA should have failed; if it did
			 * not, an empty message ends it.  An LMTP server
			 * owes no reply for it (none accepted): the
			 * connection is out of step, and done with. */
			if (data.code == 354) {
				c->doing = "the end of data";
				if (c->p->lmtp)
					c->broken = 1;
				else if (out_put(&c->out, ".\r\n", 3,
				    clock_ms() + c->p->to.block) == 0)
					read_reply(c, c->p->to.dot, &r, 0);
			}
			if (mail.code >= 300)
				goto mail_refused;
			goto out;
		}
	} else {
		if (accepted == 0)
			goto out;
		if (cmd(c, "DATA", "DATA") == -1)
			return lost_in_transaction(c, "DATA");
		read_reply(c, c->p->to.data, &data, 0);
		if (data.code == 0 || data.code == 421)
			return host_failed_reply(c, &data);
	}
	if (data.code != 354) {
		result_all(rc, n, 1, status_of(data.code) == CLIENT_SENT ?
		    CLIENT_DEFERRED : status_of(data.code), data.dsn, data.text);
		goto out;
	}
	if (send_body(c, m) == -1)
		return lost_in_transaction(c, "the message");
	c->doing = "the end of data";
	if (c->p->lmtp)
		return lmtp_replies(c, rc, n);
	read_reply(c, c->p->to.dot, &r, 0);
	if (r.code == 0) {
		/* It may have been delivered: try later (at least once),
		 * not at once elsewhere. */
		result_all(rc, n, 1, CLIENT_DEFERRED, r.dsn, r.text);
		return CLIENT_DONE;
	}
	result_all(rc, n, 1, status_of(r.code), r.dsn, r.text);
	goto out;

mail_refused:
	if (mail.code == 0 || mail.code == 421)
		return host_failed_reply(c, &mail);
	st = status_of(mail.code) == CLIENT_SENT ? CLIENT_DEFERRED :
	    status_of(mail.code);
	result_all(rc, n, 0, st, mail.dsn, mail.text);
out:
	return res;
}

void
client_timeouts_default(struct client_timeouts *t)
{
	t->greeting = CLIENT_TIMEOUT_GREETING * 1000LL;
	t->cmd = CLIENT_TIMEOUT_CMD * 1000LL;
	t->mail = CLIENT_TIMEOUT_MAIL * 1000LL;
	t->rcpt = CLIENT_TIMEOUT_RCPT * 1000LL;
	t->data = CLIENT_TIMEOUT_DATA * 1000LL;
	t->block = CLIENT_TIMEOUT_BLOCK * 1000LL;
	t->dot = CLIENT_TIMEOUT_DOT * 1000LL;
	t->quit = CLIENT_TIMEOUT_QUIT * 1000LL;
}

/* RSET before a transaction on a connection that has had one: the
 * state is clean whatever the last one left, and a connection that the
 * host closed or gave up on (421) is found out here, before anything of
 * the message is sent.  Never a 5xx result: the next connection is the
 * remedy.  A reply already read ahead, that nothing asked for (a reply
 * too many after the dot, more than one per LMTP recipient), would be
 * taken for RSET's and put every reply after it one command out of
 * step: another recipient's refusal read as this one's result. */
static enum client_result
rset(struct client *c)
{
	struct reply r;

	if (c->broken)
		return host_failed(c, CLIENT_DEFERRED, "4.4.2", "%s",
		    "connection closed after the last transaction");
	if (line_buffered(&c->line) > 0) {
		c->broken = 1;
		return host_failed(c, CLIENT_DEFERRED, "4.5.0", "%s",
		    "a reply that nothing asked for after the last "
		    "transaction");
	}
	if (cmd(c, "RSET", "RSET") == -1)
		return lost_in_transaction(c, "RSET");
	read_reply(c, c->p->to.cmd, &r, 0);
	if (r.code >= 200 && r.code < 300)
		return CLIENT_DONE;
	c->broken = 1;
	return host_failed(c, CLIENT_DEFERRED, r.code != 0 ? r.dsn : "4.4.2",
	    "%s", r.text);
}

enum client_result
client_open(struct io *io, const struct client_params *p,
    struct client_outcome *oc, struct client **cp)
{
	struct client *c;
	struct reply r;
	enum client_result res;

	memset(oc, 0, sizeof(*oc));
	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		host_failed(&(struct client){ .oc = oc }, CLIENT_DEFERRED,
		    "4.3.0", "out of memory");
		return CLIENT_NEXT;
	}
	c->io = io;
	c->pc = *p;
	c->p = &c->pc;
	c->oc = oc;
	c->doing = "the greeting";
	line_init(&c->line, io);
	out_init(&c->out, io);

	read_reply(c, p->to.greeting, &r, 0);
	if (r.code != 220) {
		/* RFC 5321 §3.1: 554 (or 421): try the next host. */
		if (r.code != 0)
			quit(c);
		res = host_failed_reply(c, &r);
		/* A mail store that turns us away is down, for us. */
		if (p->lmtp && c->oc->fail_status == CLIENT_FAILED) {
			c->oc->fail_status = CLIENT_DEFERRED;
			dsn_class(c->oc->fail_dsn, CLIENT_DEFERRED);
		}
		goto out;
	}
	if ((res = ehlo(c)) != CLIENT_DONE ||
	    (res = starttls(c)) != CLIENT_DONE ||
	    (res = auth(c)) != CLIENT_DONE)
		goto out;
	c->tls = oc->tls;
	c->tls_info = oc->tls_info;
	/* The password is needed no more. */
	c->pc.auth_pass = NULL;
	*cp = c;
	return CLIENT_DONE;
out:
	free(c);
	return res;
}

enum client_result
client_send(struct client *c, const struct client_params *p,
    const struct client_msg *m, struct client_rcpt *rc, size_t n,
    struct client_outcome *oc)
{
	enum client_result res = CLIENT_DONE;
	size_t i, before, after;

	memset(oc, 0, sizeof(*oc));
	oc->tls = c->tls;
	oc->tls_info = c->tls_info;
	c->oc = oc;
	c->pc.helo = p->helo;
	c->pc.sender = p->sender;
	c->pc.eightbit = p->eightbit;
	c->pc.smtputf8 = p->smtputf8;
	c->pc.to = p->to;
	for (i = 0; i < n; i++)
		rc[i].again = 0;
	if (client_msg_problem(m) != NULL) {
		result_all(rc, n, 0, CLIENT_FAILED, "5.6.0",
		    client_msg_problem(m));
		return CLIENT_DONE;
	}
	if (p->smtputf8 && !(c->caps & CAP_SMTPUTF8)) {
		result_all(rc, n, 0, CLIENT_FAILED, "5.6.7",
		    "the message needs SMTPUTF8, which the host does not "
		    "offer (RFC 6531)");
		return CLIENT_DONE;
	}
	if (c->maxsize > 0 && m->size > c->maxsize) {
		char text[CLIENT_TEXT_MAX];

		str_fmt_cut(text, sizeof(text), "message size %llu exceeds "
		    "the limit of %llu bytes of the host (RFC 1870)",
		    (unsigned long long)m->size,
		    (unsigned long long)c->maxsize);
		result_all(rc, n, 0, CLIENT_FAILED, "5.3.4", text);
		return CLIENT_DONE;
	}
	/* One transaction, and another for the recipients a 452 held
	 * back, for as long as each settles some. */
	for (before = n + 1;;) {
		if (c->used && (res = rset(c)) != CLIENT_DONE)
			break;
		c->used = 1;
		if ((res = transaction(c, m, rc, n)) != CLIENT_DONE)
			break;
		for (i = 0, after = 0; i < n; i++)
			after += rc[i].status == CLIENT_PENDING;
		if (after == 0 || after >= before)
			break;
		before = after;
	}
	for (i = 0; i < n; i++) {
		rc[i].accepted = 0;
		/* Held back with no transaction left: the 452 is theirs. */
		if (res == CLIENT_DONE && rc[i].again &&
		    rc[i].status == CLIENT_PENDING)
			rc[i].status = CLIENT_DEFERRED;
		rc[i].again = 0;
	}
	return res;
}

int
client_reusable(const struct client *c)
{
	return !c->broken;
}

void
client_close(struct client *c, int polite)
{
	if (c == NULL)
		return;
	if (polite)
		quit(c);
	free(c);
}

enum client_result
client_session(struct io *io, const struct client_params *p,
    const struct client_msg *m, struct client_rcpt *rc, size_t n,
    struct client_outcome *oc)
{
	struct client *c;
	enum client_result res;

	memset(oc, 0, sizeof(*oc));
	if (client_msg_problem(m) != NULL) {
		result_all(rc, n, 0, CLIENT_FAILED, "5.6.0",
		    client_msg_problem(m));
		return CLIENT_DONE;
	}
	if ((res = client_open(io, p, oc, &c)) != CLIENT_DONE)
		return res;
	res = client_send(c, p, m, rc, n, oc);
	client_close(c, 1);
	return res;
}

const char *
client_tls_outcome(const struct client_outcome *oc)
{
	if (!oc->tls)
		return "none";
	if (oc->tls_info.dane)
		return "dane";
	if (oc->tls_info.sts)
		return "sts";
	return oc->tls_info.verified ? "verified" : "opportunistic";
}

void
client_tls_describe(const struct client_outcome *oc, char *buf,
    size_t size)
{
	if (!oc->tls) {
		str_fmt_cut(buf, size, "none");
		return;
	}
	str_fmt_cut(buf, size, "%s/%s/%s", oc->tls_info.version,
	    oc->tls_info.cipher, client_tls_outcome(oc));
}
