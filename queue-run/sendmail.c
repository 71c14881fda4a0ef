/* sendmail.c — what sendmail(8) does to a message before queue-inject(8)
 * takes it.  Programs that call sendmail (cron, scripts, mail(1)) write
 * a bare message and expect the MTA to complete it: recipients from the
 * header with -t (Postfix's rule: added to those of the command line),
 * Bcc: gone so that the other recipients never see it, and Date:,
 * Message-ID: and From: added when missing.  Only the header block is
 * held in memory, and it is bounded; the body streams through. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "date.h"
#include "mailhdr.h"
#include "sendmail.h"
#include "str.h"

enum {
	MSGID_RANDOM = 8,	/* bytes of randomness: 64 bits */
	/* RFC 2047 §2: an encoded-word is at most 75 characters, of which
	 * "=?UTF-8?Q?" and "?=" take 12. */
	EW_PAYLOAD_MAX = 75 - 12
};

/* --- where the header block ends ---------------------------------- */

/* "Name:" (RFC 5322 §3.6.8 ftext, and the obsolete blanks before the
 * colon of §4.5) at the start of a line of n bytes. */
static int
is_field(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= 33 && p[i] <= 126 && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

int
sendmail_split(const char *buf, size_t len, int eof, int dots,
    struct sendmail_split *sp)
{
	const char *nl, *line;
	size_t pos = sp->scan, next, n;

	/* Whole lines before sp->scan were fields: a slow writer's many
	 * small reads cost one pass over the block, not one each. */
	sp->scan = 0;
	sp->hdrlen = sp->body = 0;
	sp->end = 0;
	for (;;) {
		if (pos == len) {
			if (!eof)
				goto more;
			sp->hdrlen = sp->body = len;
			return 1;
		}
		line = buf + pos;
		if ((nl = memchr(line, '\n', len - pos)) == NULL) {
			if (!eof)
				goto more;	/* the line may go on */
			n = len - pos;
			next = len;
		} else {
			n = (size_t)(nl - line);
			next = pos + n + 1;
			if (n > 0 && line[n - 1] == '\r')
				n--;
		}
		if (dots && n == 1 && line[0] == '.') {
			sp->hdrlen = sp->body = pos;
			sp->end = 1;
			return 1;
		}
		if (n == 0) {			/* the empty line */
			sp->hdrlen = pos;
			sp->body = next;
			return 1;
		}
		if (pos > 0 && (line[0] == ' ' || line[0] == '\t')) {
			pos = next;		/* a continuation */
			continue;
		}
		if (!is_field(line, n)) {	/* the body, no empty line */
			sp->hdrlen = sp->body = pos;
			return 1;
		}
		pos = next;
	}
more:
	sp->scan = pos;
	return 0;
}

/* --- recipients ----------------------------------------------------- */

/* Whether an addr-spec has a domain: an '@' outside a quoted local
 * part. */
static int
has_domain(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && s[0] == '"') {
		for (i = 1; i < n && s[i] != '"'; i++)
			if (s[i] == '\\')
				i++;
		i++;
	}
	return i < n && memchr(s + i, '@', n - i) != NULL;
}

int
sendmail_rcpt_add(struct sendmail_rcpts *r, const char *s, size_t n,
    const char *hostname)
{
	char *a, **nv;
	size_t i, len, cap;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			errno = EINVAL;
			return -1;
		}
	len = n;
	if (!has_domain(s, n))
		len += 1 + strlen(hostname);
	if ((a = malloc(len + 1)) == NULL)
		return -1;
	memcpy(a, s, n);
	if (len > n) {
		a[n] = '@';
		memcpy(a + n + 1, hostname, len - n - 1);
	}
	a[len] = '\0';
	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i], a) == 0) {
			free(a);
			return 0;
		}
	if (r->n == SENDMAIL_RCPTS_MAX) {
		free(a);
		errno = E2BIG;
		return -1;
	}
	if (r->n == r->cap) {
		cap = r->cap == 0 ? 8 : r->cap * 2;
		if ((nv = realloc(r->v, cap * sizeof *nv)) == NULL) {
			free(a);
			return -1;
		}
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] = a;
	return 0;
}

void
sendmail_rcpts_free(struct sendmail_rcpts *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

struct collect {
	struct sendmail_rcpts	*rcpts;
	const char		*hostname;
	int			 err;	/* errno of a failed add */
};

static int
collect_cb(void *arg, const char *s, size_t n)
{
	struct collect *c = arg;

	if (sendmail_rcpt_add(c->rcpts, s, n, c->hostname) == -1) {
		c->err = errno;
		return 1;
	}
	return 0;
}

/* A field's addresses into r; a bare local part ("To: root", as cron
 * writes it) comes through and gets the host name. */
static int
collect(struct sendmail_rcpts *r, const char *hostname, const char *v,
    size_t n)
{
	struct collect c = { r, hostname, 0 };

	if (mailhdr_addresses(v, n, collect_cb, &c) == 0)
		return 0;
	errno = c.err != 0 ? c.err : EINVAL;
	return -1;
}

/* --- the header block ------------------------------------------------ */

int
sendmail_phrase(struct str *out, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i, k, n = strlen(name), clen, elen, wlen = 0;
	int ascii = 1, open = 0;
	char enc[4 * 3 + 1];
	unsigned char ch;

	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		if (str_appendc(out, '"') == -1)
			return -1;
		for (i = 0; i < n; i++) {
			ch = p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i];
			if ((ch == '"' || ch == '\\') &&
			    str_appendc(out, '\\') == -1)
				return -1;
			if (str_appendc(out, (char)ch) == -1)
				return -1;
		}
		return str_appendc(out, '"');
	}
	/* RFC 2047 §4.2 "Q", §5(3) for the characters a phrase may carry
	 * as they are; one character (its UTF-8 bytes) never straddles
	 * two encoded-words, which are joined by folding white space. */
	for (i = 0; i < n; i += clen) {
		ch = p[i];
		clen = ch < 0x80 ? 1 : ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 :
		    ch >= 0xc0 ? 2 : 1;
		if (clen > n - i)
			clen = n - i;
		for (k = 0, elen = 0; k < clen; k++) {
			ch = p[i + k];
			if (ch < 0x20 || ch == 0x7f)
				ch = ' ';
			if (ch == ' ')
				enc[elen++] = '_';
			else if ((ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || strchr("!*+-/", ch))
				enc[elen++] = (char)ch;
			else {
				enc[elen++] = '=';
				enc[elen++] = "0123456789ABCDEF"[ch >> 4];
				enc[elen++] = "0123456789ABCDEF"[ch & 15];
			}
		}
		if (open && wlen + elen > EW_PAYLOAD_MAX) {
			if (str_appends(out, "?=\n ") == -1)
				return -1;
			open = 0;
		}
		if (!open) {
			if (str_appends(out, "=?UTF-8?Q?") == -1)
				return -1;
			open = 1;
			wlen = 0;
		}
		if (str_append(out, enc, elen) == -1)
			return -1;
		wlen += elen;
	}
	return open ? str_appends(out, "?=") : 0;
}

int
sendmail_msgid(char *buf, size_t size, const char *hostname, time_t now)
{
	unsigned char rnd[MSGID_RANDOM];
	char hex[2 * MSGID_RANDOM + 1], stamp[32];
	struct tm tm;
	size_t got = 0, i;
	ssize_t r;

	while (got < sizeof rnd) {
		r = getrandom(rnd + got, sizeof rnd - got, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	for (i = 0; i < sizeof rnd; i++) {
		hex[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	hex[2 * sizeof rnd] = '\0';
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm) == 0) {
		errno = EINVAL;
		return -1;
	}
	return str_fmt(buf, size, "<%s.%s@%s>", stamp, hex, hostname);
}

static int
add_missing(const struct sendmail_opts *o, struct str *out, int have_date,
    int have_msgid, int have_from)
{
	char date[DATE_MAX];

	if (!have_date &&
	    (date_rfc5322(date, sizeof date, o->now) == -1 ||
	    str_appendf(out, "Date: %s\n", date) == -1))
		return -1;
	if (!have_msgid && o->msgid != NULL &&
	    str_appendf(out, "Message-ID: %s\n", o->msgid) == -1)
		return -1;
	if (!have_from) {
		if (str_appends(out, "From: ") == -1)
			return -1;
		if (o->fullname != NULL && o->fullname[0] != '\0') {
			if (sendmail_phrase(out, o->fullname) == -1 ||
			    str_appendf(out, " <%s>\n", o->from) == -1)
				return -1;
		} else if (str_appendf(out, "%s\n", o->from) == -1)
			return -1;
	}
	return 0;
}

int
sendmail_headers(const struct sendmail_opts *o, const char *hdr, size_t len,
    struct str *out, struct sendmail_rcpts *rcpts)
{
	const char *nl, *field, *value;
	size_t pos = 0, mark, n, flen;
	int have_date = 0, have_msgid = 0, have_from = 0, bcc, addrs;

	while (pos < len) {
		/* One field: its first line and every continuation, copied
		 * with LF line ends so that it can be read in place and,
		 * for Bcc:, taken back out. */
		mark = out->len;
		do {
			nl = memchr(hdr + pos, '\n', len - pos);
			n = nl != NULL ? (size_t)(nl - (hdr + pos)) : len - pos;
			if (str_append(out, hdr + pos, n > 0 &&
			    hdr[pos + n - 1] == '\r' && nl != NULL ? n - 1 : n)
			    == -1 || str_appendc(out, '\n') == -1)
				goto fail;
			pos += nl != NULL ? n + 1 : n;
		} while (pos < len && (hdr[pos] == ' ' || hdr[pos] == '\t'));
		field = out->s + mark;
		flen = out->len - mark;

		bcc = mailhdr_is(field, flen, "Bcc", &value);
		addrs = bcc || mailhdr_is(field, flen, "To", &value) ||
		    mailhdr_is(field, flen, "Cc", &value);
		if (addrs && o->extract &&
		    collect(rcpts, o->hostname, value,
		    (size_t)(field + flen - value)) == -1)
			goto fail;
		/* Resent-Bcc: is private in the same way; its addresses are
		 * not taken, since -t reads To/Cc/Bcc only. */
		if (bcc || mailhdr_is(field, flen, "Resent-Bcc", &value)) {
			str_truncate(out, mark);
			continue;
		}
		if (mailhdr_is(field, flen, "Date", &value))
			have_date = 1;
		else if (mailhdr_is(field, flen, "Message-ID", &value))
			have_msgid = 1;
		else if (mailhdr_is(field, flen, "From", &value))
			have_from = 1;
	}
	if (add_missing(o, out, have_date, have_msgid, have_from) == -1)
		goto fail;
	return 0;
fail:
	return -1;
}

/* --- the lone "." ------------------------------------------------------ */

enum { DOT_BOL, DOT_MID, DOT_DOT, DOT_DOTCR };

size_t
sendmail_dot(struct sendmail_dot *d, const char *in, size_t n, char *out)
{
	size_t i, o = 0;
	char c;

	for (i = 0; i < n && !d->end; i++) {
		c = in[i];
		switch (d->state) {
		case DOT_BOL:
			if (c == '.') {
				d->state = DOT_DOT;	/* held back */
				continue;
			}
			break;
		case DOT_DOT:
			if (c == '\n') {
				d->end = 1;
				continue;
			}
			if (c == '\r') {
				d->state = DOT_DOTCR;
				continue;
			}
			out[o++] = '.';
			break;
		case DOT_DOTCR:
			if (c == '\n') {
				d->end = 1;
				continue;
			}
			out[o++] = '.';
			out[o++] = '\r';
			break;
		default:
			break;
		}
		out[o++] = c;
		d->state = c == '\n' ? DOT_BOL : DOT_MID;
	}
	return o;
}

size_t
sendmail_dot_end(struct sendmail_dot *d, char *out)
{
	size_t o = 0;

	/* A "." as the very last line, its LF missing, ends the input
	 * just the same: nothing to give back. */
	if (!d->end && d->state == DOT_DOTCR) {
		out[o++] = '.';
		out[o++] = '\r';
	}
	d->state = DOT_MID;
	return o;
}
