/* bounce.c — the delivery status notification (RFC 3464, RFC 6522) that
 * tells a sender which recipients of their message failed for good, and
 * why.  It is an ordinary new message in the queue, from the null sender,
 * so it is delivered, retried and listed like any other; and since a DSN
 * must never cause another DSN to a null sender (RFC 5321 §4.5.5), one
 * that fails goes to the postmaster once and no further.
 *
 * The envelope comes first in a queue file, yet its SMTPUTF8 and
 * 8BITMIME flags depend on bytes of the body (the quoted header, a
 * remote reply in UTF-8): the body is therefore made twice, first only
 * to look at it, then to write it. */

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "date.h"
#include "str.h"
#include "utf8.h"

enum {
	BOUNCE_LINE_MAX = 998,		/* RFC 5322 §2.1.1, CRLF excluded */
	/* A diagnostic (a remote reply, a command's stderr) is one line
	 * in the report; cut here it leaves room for "Diagnostic-Code: ",
	 * its type and "..." within BOUNCE_LINE_MAX. */
	BOUNCE_DIAG_MAX = 900,
	BOUNCE_TYPE_MAX = 32,		/* "smtp", "x-posthorn" */
	/* An address as the queue holds it is at most ADDR_TEXT_MAX;
	 * anything longer from a caller is cut, never a long line. */
	BOUNCE_ADDR_MAX = 512,
	BOUNCE_HOST_MAX = 256,		/* RFC 1035 name, and room */
	BOUNCE_STATUS_MAX = 12,		/* "5.999.999" */
	BOUNCE_PUTF_MAX = 2048,		/* one formatted piece, a line */
	/* The boundary holds the new queue id, which nobody outside can
	 * know in advance; should the quoted header hold it all the same,
	 * a counter is added, a few times. */
	BOUNCE_BOUNDARY_MAX = 64,
	BOUNCE_BOUNDARY_TRIES = 8
};

/* Where the body goes: nowhere in the first pass, which only learns
 * whether a byte is not ASCII; the queue file in the second. */
struct sink {
	struct queue_msg	*m;	/* NULL in the first pass */
	int			 eightbit;
	int			 err;	/* errno of the first failure */
};

/* Everything one DSN is made of, worked out before a byte is written. */
struct dsn {
	const struct conf		*conf;
	const struct queue_envelope	*env;
	const struct bounce_rcpt	*r;
	size_t				 n;
	enum bounce_kind		 kind;
	time_t				 until;	/* Will-Retry-Until, or 0 */
	int		 fd;		/* the original's queue file */
	int		 full;		/* return the whole message */
	off_t		 size;		/* its bytes, for full */
	const char	*to;		/* the DSN's recipient */
	const char	*id;		/* the DSN's queue id */
	int		 double_bounce;
	int		 global;	/* an address is UTF-8: RFC 6533 */
	int		 eightbit;	/* the body is: CTE 8bit, 8BITMIME */
	int		 hdr_global;	/* message/global-headers */
	char		*hdr;		/* the original header, tidied */
	size_t		 hdrlen;
	char		 date[DATE_MAX];
	char		 arrival[DATE_MAX];
	char		 boundary[BOUNCE_BOUNDARY_MAX];
};

static void
put(struct sink *s, const char *p, size_t n)
{
	size_t i;

	if (s->err != 0)
		return;
	for (i = 0; i < n && !s->eightbit; i++)
		if ((unsigned char)p[i] >= 0x80)
			s->eightbit = 1;
	if (s->m != NULL && queue_put(s->m, p, n) == -1)
		s->err = errno != 0 ? errno : EIO;
}

static void
put_str(struct sink *s, const char *p)
{
	put(s, p, strlen(p));
}

static void __attribute__((format(printf, 2, 3)))
putf(struct sink *s, const char *fmt, ...)
{
	char mem[BOUNCE_PUTF_MAX];
	struct str b;
	va_list ap;
	int rc;

	str_init(&b, mem, sizeof mem);
	va_start(ap, fmt);
	rc = str_vappendf(&b, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		/* Every piece is bounded well below; a failure here is a
		 * bug, and a DSN with a piece missing is worse than none. */
		if (s->err == 0)
			s->err = ENOBUFS;
		return;
	}
	put(s, b.s, b.len);
}

static int
is_ascii_n(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

static int
is_ascii(const char *s)
{
	return is_ascii_n(s, strlen(s));
}

/* src as one line of text in dst[size] (size > 3): control bytes, CR and
 * LF among them, become spaces, so that a remote reply cannot add a
 * field or a line; a byte that is not UTF-8 becomes '?', and so does any
 * non-ASCII character unless utf8 (message/delivery-status is ASCII).
 * What does not fit is cut at a character and ends in "...". */
static void
clean(char *dst, size_t size, const char *src, int utf8)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k, len = strlen(src);
	size_t room = size - 4;		/* "..." and the NUL */

	while (i < len) {
		if (s[i] < 0x80)
			k = 1;
		else if ((k = utf8_seq(s + i, len - i)) == 0)
			k = 1;
		if (o + (k > 1 && utf8 ? k : 1) > room) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (s[i] < 0x20 || s[i] == 0x7f)
			dst[o++] = ' ';
		else if (s[i] < 0x80)
			dst[o++] = (char)s[i];
		else if (k == 1 || !utf8)
			dst[o++] = '?';
		else {
			memcpy(dst + o, s + i, k);
			o += k;
		}
		i += k;
	}
	dst[o] = '\0';
}

/* An RFC 3463 status "class.subject.detail" of a class the action
 * allows: 4 or 5 for "failed", 4 for "delayed", 2 for a success;
 * anything else is replaced by the undefined status of the class, so a
 * garbled code still makes a valid report. */
static void
status_of(char *dst, size_t size, const char *status, enum bounce_kind k)
{
	const char *p = status;
	int part, digits;

	if (k == BOUNCE_SUCCESS) {
		if (p == NULL || *p != '2')
			goto generic;
	} else if (p == NULL || (*p != '4' && (*p != '5' ||
	    k == BOUNCE_DELAY)))
		goto generic;
	p++;
	for (part = 0; part < 2; part++) {
		if (*p++ != '.')
			goto generic;
		for (digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (digits < 1 || digits > 3)
			goto generic;
	}
	if (*p != '\0' || str_copy(dst, size, status) == -1)
		goto generic;
	return;
generic:
	(void)str_copy(dst, size, k == BOUNCE_SUCCESS ? "2.0.0" :
	    k == BOUNCE_DELAY || (status != NULL && status[0] == '4') ?
	    "4.0.0" : "5.0.0");
}

/* The diagnostic type is an atom ("smtp", "x-posthorn"). */
static void
type_of(char *dst, size_t size, const char *type)
{
	size_t o = 0;

	for (; type != NULL && *type != '\0' && o + 1 < size; type++)
		if ((*type >= 'a' && *type <= 'z') ||
		    (*type >= 'A' && *type <= 'Z') ||
		    (*type >= '0' && *type <= '9') || *type == '-')
			dst[o++] = *type;
	dst[o] = '\0';
	if (o == 0)
		(void)str_copy(dst, size, "x-posthorn");
}

/* What a status means, in words, for the human part: subject.detail of
 * RFC 3463 §3, the ones a sender meets. */
static const char *
status_words(const char *status)
{
	static const struct {
		const char *code, *words;
	} tab[] = {
		{ "1.1", "The mailbox does not exist." },
		{ "1.2", "The domain does not exist, or takes no mail." },
		{ "1.10", "The domain takes no mail (null MX)." },
		{ "2.1", "The mailbox is disabled." },
		{ "2.2", "The mailbox is full." },
		{ "2.3", "The message is larger than the mailbox takes." },
		{ "3.4", "The message is larger than the receiving system "
		    "takes." },
		{ "4.4", "No mail server of the domain could be reached." },
		{ "4.6", "The message went round in a loop." },
		{ "4.7", "The message could not be delivered in time, and "
		    "the mail system has given up." },
		{ "5.3", "The message has too many recipients." },
		{ "6.0", "The receiving system could not take the content "
		    "of the message." },
		{ "7.1", "The receiving system refused the message." }
	};
	size_t i;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(status + 2, tab[i].code) == 0)
			return tab[i].words;
	return NULL;
}

/* The original header: from the first message byte up to and including
 * the first empty line, at most BOUNCE_HEADERS_MAX bytes and then cut
 * after the last whole line.  It is tidied in place as it is quoted: a
 * NUL or a lone CR (a local injection may hold them) becomes a space,
 * and a line over BOUNCE_LINE_MAX is cut, at a character. */
static int
read_header(int fd, off_t body, char **hdrp, size_t *lenp)
{
	char *buf, *p, *line, *end, *out;
	size_t got = 0, len, k;
	ssize_t r;

	if ((buf = malloc(BOUNCE_HEADERS_MAX)) == NULL)
		return -1;
	while (got < BOUNCE_HEADERS_MAX) {
		r = pread(fd, buf + got, BOUNCE_HEADERS_MAX - got,
		    body + (off_t)got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > 0 && buf[0] == '\n')
		len = 1;			/* no header at all */
	else if ((p = memmem(buf, got, "\n\n", 2)) != NULL)
		len = (size_t)(p - buf) + 2;
	else if (got < BOUNCE_HEADERS_MAX) {
		len = got;			/* a header and no body */
		if (len > 0 && buf[len - 1] != '\n')
			buf[len++] = '\n';	/* room: got < the max */
	} else if ((p = memrchr(buf, '\n', got)) != NULL)
		len = (size_t)(p - buf) + 1;
	else
		len = 0;			/* one line longer than all */

	out = buf;
	for (line = buf; line < buf + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(buf + len - line));
		k = (size_t)(end - line);
		if (k > BOUNCE_LINE_MAX) {
			k = BOUNCE_LINE_MAX;
			while (k > 0 && ((unsigned char)line[k] & 0xc0) == 0x80)
				k--;
		}
		memmove(out, line, k);
		for (p = out; p < out + k; p++)
			if (*p == '\0' || *p == '\r')
				*p = ' ';
		out += k;
		*out++ = '\n';
	}
	*hdrp = buf;
	*lenp = (size_t)(out - buf);
	return 0;
}

/* Original-Recipient from ORCPT (RFC 3464 §2.3.1): its address type
 * and address as the sender gave them, made one clean line. */
static void
put_orcpt(struct sink *s, const char *orcpt, int utf8)
{
	char a[BOUNCE_ADDR_MAX];

	clean(a, sizeof a, orcpt, utf8);
	putf(s, "Original-Recipient: %s\n", a);
}

/* An address field of the report: "rfc822;ADDR", or "utf-8;ADDR" when it
 * is not ASCII (RFC 6533 §3, message/global-delivery-status only). */
static void
put_addr_field(struct sink *s, const char *field, const char *addr)
{
	char a[BOUNCE_ADDR_MAX];

	clean(a, sizeof a, addr, 1);
	putf(s, "%s: %s;%s\n", field, is_ascii(a) ? "rfc822" : "utf-8", a);
}

static void
emit_head(const struct dsn *d, struct sink *s)
{
	const char *host = d->conf->hostname;

	putf(s, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", host);
	putf(s, "To: <%s>\n", d->to);
	putf(s, "Subject: %s\n", d->double_bounce ?
	    "Undelivered Mail: postmaster copy" :
	    d->kind == BOUNCE_DELAY ? "Delayed Mail (still being retried)" :
	    d->kind == BOUNCE_SUCCESS ? "Successful Mail Delivery Report" :
	    "Undelivered Mail Returned to Sender");
	putf(s, "Date: %s\n", d->date);
	putf(s, "Message-ID: <%s@%s>\n", d->id, host);
	/* RFC 3834 §5: no vacation reply or autoresponder answers it. */
	put_str(s, "Auto-Submitted: auto-replied\n");
	put_str(s, "MIME-Version: 1.0\n");
	putf(s, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"%s\"\n", d->boundary);
	put_str(s, "\nThis is a MIME-encapsulated delivery status "
	    "notification (RFC 3464).\n");
}

static void
emit_text(const struct dsn *d, struct sink *s)
{
	char a[BOUNCE_ADDR_MAX], diag[BOUNCE_DIAG_MAX];
	char host[BOUNCE_HOST_MAX], st[BOUNCE_STATUS_MAX];
	const char *words;
	size_t i;

	putf(s, "\n--%s\n", d->boundary);
	put_str(s, "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Description: Notification\n");
	if (d->eightbit)
		put_str(s, "Content-Transfer-Encoding: 8bit\n");
	putf(s, "\nThis is the mail delivery system at %s.\n\n",
	    d->conf->hostname);
	if (d->double_bounce)
		put_str(s, "A delivery status notification from this host "
		    "could not be delivered\neither, to the recipients "
		    "below.  This copy is for the postmaster;\nnothing more "
		    "will be sent about it.  Its headers are attached.\n\n");
	else if (d->kind == BOUNCE_DELAY)
		put_str(s, "Your message has not been delivered yet to the "
		    "recipients below.  The\nmail system is still trying, "
		    "and will say so again only if it gives up.\nEach is "
		    "listed with the last reason.  The headers of your "
		    "message are\nattached, so that you can tell which one "
		    "it was.\n\n");
	else if (d->kind == BOUNCE_SUCCESS)
		put_str(s, "Your message was delivered to the recipients "
		    "below, as you asked to be\ntold.  The headers of your "
		    "message are attached.\n\n");
	else
		putf(s, "Your message could not be delivered to the "
		    "recipients below, and the mail\nsystem has given up on "
		    "them.  Each is listed with the reason.  The\n%s "
		    "of your message %s attached, so that you can tell "
		    "which one\nit was.\n\n", d->full ? "whole text" :
		    "headers", d->full ? "is" : "are");
	putf(s, "It arrived on %s,\nand was queued as %s.\n",
	    d->arrival, d->env->id);
	for (i = 0; i < d->n; i++) {
		clean(a, sizeof a, d->r[i].final, 1);
		status_of(st, sizeof st, d->r[i].status, d->kind);
		putf(s, "\n<%s>\n", a);
		if (d->r[i].orig != NULL &&
		    strcmp(d->r[i].orig, d->r[i].final) != 0) {
			clean(a, sizeof a, d->r[i].orig, 1);
			putf(s, "    (you sent it to <%s>)\n", a);
		}
		if (d->kind != BOUNCE_SUCCESS &&
		    (words = status_words(st)) != NULL)
			putf(s, "    %s\n", words);
		if (d->r[i].diag != NULL) {
			clean(diag, sizeof diag, d->r[i].diag, 1);
			putf(s, "    Reason: %s\n", diag);
		}
		if (d->r[i].remote_mta != NULL) {
			clean(host, sizeof host, d->r[i].remote_mta, 1);
			putf(s, "    Reported by: %s\n", host);
		}
		putf(s, "    Status: %s\n", st);
	}
}

static void
emit_status(const struct dsn *d, struct sink *s)
{
	char diag[BOUNCE_DIAG_MAX], type[BOUNCE_TYPE_MAX];
	char host[BOUNCE_HOST_MAX], st[BOUNCE_STATUS_MAX], date[DATE_MAX];
	const struct bounce_rcpt *r;
	size_t i;

	putf(s, "\n--%s\n", d->boundary);
	if (d->global)
		put_str(s, "Content-Type: message/global-delivery-status\n"
		    "Content-Description: Delivery report\n"
		    "Content-Transfer-Encoding: 8bit\n");
	else
		put_str(s, "Content-Type: message/delivery-status\n"
		    "Content-Description: Delivery report\n");
	put_str(s, "\n");
	if (d->env->envid != NULL && d->env->envid[0] != '\0') {
		/* RFC 3464 §2.2.1: the ENVID the sender gave, decoded. */
		clean(diag, sizeof diag, d->env->envid, 0);
		putf(s, "Original-Envelope-Id: %s\n", diag);
	}
	putf(s, "Reporting-MTA: dns; %s\n", d->conf->hostname);
	putf(s, "X-Posthorn-Queue-ID: %s\n", d->env->id);
	putf(s, "Arrival-Date: %s\n", d->arrival);
	for (i = 0; i < d->n; i++) {
		r = &d->r[i];
		put_str(s, "\n");
		if (r->orcpt != NULL)
			put_orcpt(s, r->orcpt, d->global);
		else if (r->orig != NULL && strcmp(r->orig, r->final) != 0)
			put_addr_field(s, "Original-Recipient", r->orig);
		put_addr_field(s, "Final-Recipient", r->final);
		status_of(st, sizeof st, r->status, d->kind);
		putf(s, "Action: %s\n", d->kind == BOUNCE_DELAY ? "delayed" :
		    d->kind == BOUNCE_FAILURE ? "failed" : r->relayed ?
		    "relayed" : "delivered");
		putf(s, "Status: %s\n", st);
		if (r->remote_mta != NULL) {
			clean(host, sizeof host, r->remote_mta, d->global);
			putf(s, "Remote-MTA: dns; %s\n", host);
		}
		if (r->diag != NULL) {
			type_of(type, sizeof type, r->diag_type);
			clean(diag, sizeof diag, r->diag, d->global);
			putf(s, "Diagnostic-Code: %s; %s\n", type, diag);
		}
		if (r->last_attempt > 0) {
			if (date_rfc5322(date, sizeof date,
			    r->last_attempt) == -1) {
				if (s->err == 0)
					s->err = errno;
				return;
			}
			putf(s, "Last-Attempt-Date: %s\n", date);
		}
		if (d->kind == BOUNCE_DELAY && d->until > 0) {
			if (date_rfc5322(date, sizeof date, d->until) == -1) {
				if (s->err == 0)
					s->err = errno;
				return;
			}
			putf(s, "Will-Retry-Until: %s\n", date);
		}
	}
}

/* The whole message for RET=FULL, read again from the queue file: a
 * NUL or a CR (a local injection may hold them) becomes a space, as in
 * the quoted header. */
static void
put_message(const struct dsn *d, struct sink *s)
{
	char buf[8192];
	off_t off = 0;
	ssize_t r;
	size_t i;

	while (off < d->size && s->err == 0) {
		r = pread(d->fd, buf, sizeof buf, d->env->body + off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			s->err = r == 0 ? EIO : errno;
			return;
		}
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] == '\0' || buf[i] == '\r')
				buf[i] = ' ';
		put(s, buf, (size_t)r);
		off += r;
	}
}

static void
emit_headers(const struct dsn *d, struct sink *s)
{
	const char *what = d->kind == BOUNCE_FAILURE ? "Undelivered" :
	    d->kind == BOUNCE_DELAY ? "Delayed" : "Delivered";

	putf(s, "\n--%s\n", d->boundary);
	if (d->full) {
		put_str(s, d->hdr_global ? "Content-Type: message/global\n" :
		    "Content-Type: message/rfc822\n");
		putf(s, "Content-Description: %s message\n", what);
	} else {
		put_str(s, d->hdr_global ?
		    "Content-Type: message/global-headers\n" :
		    "Content-Type: text/rfc822-headers\n");
		putf(s, "Content-Description: %s message headers\n", what);
	}
	if (d->eightbit)
		put_str(s, "Content-Transfer-Encoding: 8bit\n");
	put_str(s, "\n");
	if (d->full)
		put_message(d, s);
	else
		put(s, d->hdr, d->hdrlen);
	putf(s, "\n--%s--\n", d->boundary);
}

/* May the message go back whole (RET=FULL)?  Not above
 * BOUNCE_FULL_MAX, nor with a line longer than SMTP carries: then its
 * headers go back alone.  1, 0, or -1 with errno. */
static int
returnable(int fd, off_t body, off_t size)
{
	char buf[8192];
	off_t off = 0;
	size_t line = 0, i;
	ssize_t r;

	if (size > BOUNCE_FULL_MAX)
		return 0;
	while (off < size) {
		r = pread(fd, buf, sizeof buf, body + off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		for (i = 0; i < (size_t)r; i++) {
			if (buf[i] == '\n')
				line = 0;
			else if (++line > BOUNCE_LINE_MAX)
				return 0;
		}
		off += r;
	}
	return 1;
}

static void
emit(const struct dsn *d, struct sink *s)
{
	emit_head(d, s);
	emit_text(d, s);
	emit_status(d, s);
	emit_headers(d, s);
}

enum bounce_outcome
bounce_send(const struct conf *conf, int fd,
    const struct queue_envelope *env, const struct bounce_rcpt *r,
    size_t n, char newid[QUEUE_ID_LEN + 1])
{
	return bounce_notify(conf, fd, env, BOUNCE_FAILURE, r, n, 0, newid);
}

enum bounce_outcome
bounce_notify(const struct conf *conf, int fd,
    const struct queue_envelope *env, enum bounce_kind kind,
    const struct bounce_rcpt *r, size_t n, time_t until,
    char newid[QUEUE_ID_LEN + 1])
{
	struct stat sb;
	struct queue_msg *m = NULL;
	struct queue_env qe;
	struct sink look = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct dsn d;
	char postmaster[sizeof "postmaster@" + CONF_HOSTNAME_MAX];
	const char *via, *rcpt[1];
	enum bounce_outcome rc = BOUNCE_ERROR;
	int created = 0, tries, saved;
	size_t i;

	memset(&d, 0, sizeof d);
	if (n == 0 || r == NULL || env == NULL || env->sender == NULL ||
	    conf->hostname[0] == '\0') {
		errno = EINVAL;
		return BOUNCE_ERROR;
	}
	for (i = 0; i < n; i++)
		if (r[i].final == NULL || r[i].final[0] == '\0') {
			errno = EINVAL;
			return BOUNCE_ERROR;
		}

	/* To whom: never to the null sender (RFC 5321 §4.5.5, §6.1). */
	if (env->sender[0] != '\0') {
		d.to = env->sender;
		via = BOUNCE_VIA;
	} else if (kind == BOUNCE_FAILURE &&
	    strcmp(env->via, BOUNCE_VIA) == 0) {
		if (str_fmt(postmaster, sizeof postmaster, "postmaster@%s",
		    conf->hostname) == -1)
			return BOUNCE_ERROR;
		d.to = postmaster;
		via = BOUNCE_VIA_DOUBLE;
		d.double_bounce = 1;
	} else
		return BOUNCE_DROPPED;

	d.conf = conf;
	d.env = env;
	d.r = r;
	d.n = n;
	d.kind = kind;
	d.until = until;
	d.fd = fd;
	/* RFC 3461 §4.3: RET is about failures; a delay or a success
	 * report carries the headers (§6.2). */
	if (kind == BOUNCE_FAILURE && !d.double_bounce &&
	    env->ret == DSN_RET_FULL) {
		if (fstat(fd, &sb) == -1)
			goto out;
		d.size = sb.st_size - env->body;
		if ((d.full = returnable(fd, env->body, d.size)) == -1)
			goto out;
	}
	d.global = !is_ascii(d.to);
	for (i = 0; i < n; i++)
		if (!is_ascii(r[i].final) ||
		    (r[i].orig != NULL && !is_ascii(r[i].orig)))
			d.global = 1;
	if (date_rfc5322(d.date, sizeof d.date, time(NULL)) == -1 ||
	    date_rfc5322(d.arrival, sizeof d.arrival, env->time) == -1)
		goto out;
	if (read_header(fd, env->body, &d.hdr, &d.hdrlen) == -1)
		goto out;
	/* RFC 6533 §6.3: a header in UTF-8, of a message sent as such. */
	d.hdr_global = (env->flags & QUEUE_SMTPUTF8) &&
	    !is_ascii_n(d.hdr, d.hdrlen);

	if ((m = malloc(sizeof *m)) == NULL)
		goto out;
	if (queue_create(m, conf->spool) == -1)
		goto out;
	created = 1;
	d.id = m->id;
	for (tries = 0;; tries++) {
		if (tries == BOUNCE_BOUNDARY_TRIES) {
			errno = EEXIST;
			goto out;
		}
		if (str_fmt(d.boundary, sizeof d.boundary,
		    tries == 0 ? "=_posthorn_%s" : "=_posthorn_%s_%d",
		    m->id, tries) == -1)
			goto out;
		if (memmem(d.hdr, d.hdrlen, d.boundary,
		    strlen(d.boundary)) == NULL)
			break;
	}

	emit(&d, &look);
	if (look.err != 0) {
		errno = look.err;
		goto out;
	}
	d.eightbit = look.eightbit;

	rcpt[0] = d.to;
	qe.sender = "";
	qe.rcpts = rcpt;
	qe.nrcpts = 1;
	qe.flags = (d.global ? QUEUE_SMTPUTF8 : 0) |
	    (d.eightbit ? QUEUE_8BITMIME : 0);
	qe.via = via;
	qe.peer = NULL;
	qe.helo = NULL;
	qe.uid = -1;
	qe.auth = NULL;
	qe.ret = DSN_RET_NONE;
	qe.envid = NULL;
	qe.notify = NULL;
	qe.orcpt = NULL;
	qe.authres = NULL;	/* a DSN of ours: nothing was checked */
	qe.reserve = 0;
	if (queue_put_env(m, &qe) == -1)
		goto out;
	out.m = m;
	emit(&d, &out);
	if (out.err != 0) {
		errno = out.err;
		goto out;
	}
	if (queue_commit(m) == -1)	/* the moment of commit */
		goto out;
	created = 0;
	memcpy(newid, m->id, QUEUE_ID_LEN + 1);
	rc = BOUNCE_QUEUED;
out:
	saved = errno;
	if (created)
		queue_abort(m);
	free(m);
	free(d.hdr);
	errno = saved;
	return rc;
}
