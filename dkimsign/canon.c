/* canon.c — the two canonicalizations of RFC 6376 §3.4, for header fields
 * and for a body that streams through in pieces.  A signer and a verifier
 * agree only if they feed the hash the same bytes, so everything here is
 * about exact bytes: which white space goes, where a CRLF is added.
 *
 * Input may use bare LF line ends (a local program's message); a CRLF
 * and a lone LF both end a line, and what is produced is the CRLF form,
 * which is what the message will be on the wire.  A CR that is not
 * followed by LF is an ordinary byte. */

#include <errno.h>
#include <string.h>

#include "canon.h"
#include "str.h"

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* A field that did not fit is taken back whole: out is as it was, so a
 * caller never hashes half a field. */
static int
take_back(struct str *out, size_t save)
{
	str_truncate(out, save);
	errno = ENOBUFS;
	return -1;
}

/* Relaxed header (§3.4.2): name lowercased and stripped of the white space
 * before the colon; value unfolded, every run of WSP made one SP, WSP at
 * both ends of the value removed. */
int
canon_header_relaxed(const char *f, size_t len, struct str *out)
{
	size_t save = out->len, colon, name_end, i;
	const char *p;
	int sp = 0, started = 0;

	p = memchr(f, ':', len);
	colon = p != NULL ? (size_t)(p - f) : len;
	for (name_end = colon; name_end > 0 && (is_wsp(f[name_end - 1]) ||
	    f[name_end - 1] == '\r' || f[name_end - 1] == '\n'); name_end--)
		;
	for (i = 0; i < name_end; i++) {
		if (f[i] == '\r' || f[i] == '\n')
			continue;
		if (str_appendc(out, (char)str_tolower((unsigned char)f[i]))
		    == -1)
			goto fail;
	}
	if (colon < len) {
		if (str_appendc(out, ':') == -1)
			goto fail;
		for (i = colon + 1; i < len; i++) {
			unsigned char c = (unsigned char)f[i];

			/* Unfolding: the line break goes, the WSP after it
			 * is a run like any other. */
			if (c == '\n' || (c == '\r' && i + 1 < len &&
			    f[i + 1] == '\n'))
				continue;
			if (is_wsp(c)) {
				sp = 1;
				continue;
			}
			if (sp && started && str_appendc(out, ' ') == -1)
				goto fail;
			if (str_appendc(out, (char)c) == -1)
				goto fail;
			sp = 0;
			started = 1;
		}
	}
	if (str_append(out, "\r\n", 2) == -1)
		goto fail;
	return 0;
fail:
	return take_back(out, save);
}

int
canon_header_simple(const char *f, size_t len, struct str *out)
{
	size_t save = out->len, i;

	for (i = 0; i < len; i++) {
		if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r') &&
		    str_appendc(out, '\r') == -1)
			goto fail;
		if (str_appendc(out, f[i]) == -1)
			goto fail;
	}
	if (str_append(out, "\r\n", 2) == -1)
		goto fail;
	return 0;
fail:
	return take_back(out, save);
}

static void
flush(struct canon_body *b)
{
	if (b->n > 0)
		b->sink(b->arg, b->buf, b->n);
	b->n = 0;
}

static void
emit(struct canon_body *b, unsigned char c)
{
	if (b->n == sizeof(b->buf))
		flush(b);
	b->buf[b->n++] = c;
}

static void
emit_crlf(struct canon_body *b)
{
	emit(b, '\r');
	emit(b, '\n');
}

/* A byte of line content.  Empty lines held back are real, not trailing,
 * once content follows them. */
static void
content(struct canon_body *b, unsigned char c)
{
	if (b->relaxed && is_wsp(c)) {
		b->wsp = 1;
		return;
	}
	if (!b->inline_) {
		for (; b->blank > 0; b->blank--)
			emit_crlf(b);
	}
	if (b->wsp)
		emit(b, ' ');
	b->wsp = 0;
	emit(b, c);
	b->inline_ = 1;
	b->any = 1;
}

/* The end of a line: its CRLF now if it had content, else it joins the
 * empty lines that may turn out to be trailing.  Relaxed drops the WSP
 * at the end of the line; a line of WSP only is empty. */
static void
eol(struct canon_body *b)
{
	if (b->inline_)
		emit_crlf(b);
	else
		b->blank++;
	b->inline_ = 0;
	b->wsp = 0;
}

void
canon_body_init(struct canon_body *b, int relaxed, canon_sink *sink,
    void *arg)
{
	memset(b, 0, sizeof(*b));
	b->relaxed = relaxed;
	b->sink = sink;
	b->arg = arg;
}

void
canon_body_update(struct canon_body *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (b->cr) {
			b->cr = 0;
			if (c == '\n') {
				eol(b);
				continue;
			}
			content(b, '\r');
		}
		if (c == '\r')
			b->cr = 1;
		else if (c == '\n')
			eol(b);
		else
			content(b, c);
	}
}

void
canon_body_final(struct canon_body *b)
{
	if (b->cr) {
		b->cr = 0;
		content(b, '\r');
	}
	/* §3.4.3/§3.4.4: a last line without its CRLF gets one. */
	if (b->inline_)
		emit_crlf(b);
	b->inline_ = 0;
	/* §3.4.3: the simple form of an empty body is one CRLF.  §3.4.4
	 * adds a CRLF only to a non-empty body, so the relaxed form of an
	 * empty body (or one of empty lines only) is empty. */
	if (!b->relaxed && !b->any)
		emit_crlf(b);
	flush(b);
}
