/* line.c — read LF-terminated lines with a length limit and a deadline.
 * The reader sits on an io so that TLS can be slid underneath after
 * STARTTLS without the callers knowing.  Each line is copied out of the
 * buffer piece by piece as it arrives, so a line may be split across any
 * number of reads and an over-long line is skipped without ever holding
 * more than LINE_BUFSZ bytes of it.  Only bytes up to and including the
 * LF are consumed: what follows (pipelined commands, the start of DATA)
 * stays buffered.  After LINE_TIMEOUT or LINE_ERROR the part of the line
 * read so far is gone; the caller ends the session then. */

#include <errno.h>
#include <string.h>

#include "line.h"

void
line_init(struct line *l, struct io *io)
{
	l->io = io;
	l->start = l->end = 0;
}

/* Read more into an empty buffer: >0, 0 at end of file, -1 with errno. */
static ssize_t
fill(struct line *l, int64_t deadline)
{
	ssize_t n;

	l->start = l->end = 0;
	n = io_read(l->io, l->buf, sizeof(l->buf), deadline);
	if (n > 0)
		l->end = (size_t)n;
	return n;
}

struct linestate {
	struct str	*out;
	size_t		 limit;
	int		 toolong;
	int		 cr;	/* a CR ended the last piece: CRLF or bare? */
	unsigned	 flags;
};

/* Content bytes of the line: keep them while they fit, else remember that
 * the line is too long and drop the rest. */
static void
put(struct linestate *ls, const char *p, size_t n)
{
	if (ls->toolong || n == 0)
		return;
	if (n > ls->limit - ls->out->len) {
		ls->toolong = 1;
		return;
	}
	/* Cannot fail: limit < out->cap. */
	(void)str_append(ls->out, p, n);
}

/* A piece of line without LF: p[0..n), n > 0. */
static void
piece(struct linestate *ls, const char *p, size_t n)
{
	size_t body = n;

	if (ls->cr) {
		/* The CR that ended the last piece is not followed by LF. */
		ls->flags |= LINE_BARE_CR;
		put(ls, "\r", 1);
		ls->cr = 0;
	}
	if (p[n - 1] == '\r') {
		body--;
		ls->cr = 1;
	}
	/* Inside the body every CR is followed by something other than LF. */
	if (memchr(p, '\r', body) != NULL)
		ls->flags |= LINE_BARE_CR;
	if (memchr(p, '\0', n) != NULL)
		ls->flags |= LINE_NUL;
	put(ls, p, body);
}

enum line_status
line_get(struct line *l, struct str *out, size_t max, int64_t deadline,
    unsigned *flags)
{
	struct linestate ls;
	const char *p, *lf;
	size_t n, k;
	ssize_t r;

	str_reset(out);
	*flags = 0;
	ls.out = out;
	ls.limit = out->cap > 0 ? out->cap - 1 : 0;
	if (max < ls.limit)
		ls.limit = max;
	ls.toolong = 0;
	ls.cr = 0;
	ls.flags = 0;

	for (;;) {
		if (l->start == l->end) {
			r = fill(l, deadline);
			if (r <= 0) {
				str_reset(out);
				*flags = ls.flags;
				if (r == 0)
					return LINE_EOF;
				return errno == ETIMEDOUT ? LINE_TIMEOUT :
				    LINE_ERROR;
			}
		}
		p = l->buf + l->start;
		n = l->end - l->start;
		lf = memchr(p, '\n', n);
		k = lf != NULL ? (size_t)(lf - p) : n;
		if (k > 0)
			piece(&ls, p, k);
		l->start += k;
		if (lf != NULL)
			break;
	}
	l->start++;		/* the LF */
	if (ls.cr)
		ls.flags |= LINE_CRLF;
	*flags = ls.flags;
	if (ls.toolong) {
		str_reset(out);
		return LINE_TOOLONG;
	}
	return LINE_OK;
}

ssize_t
line_peek(struct line *l, const char **p, int64_t deadline)
{
	ssize_t r;

	if (l->start == l->end) {
		r = fill(l, deadline);
		if (r <= 0)
			return r;
	}
	*p = l->buf + l->start;
	return (ssize_t)(l->end - l->start);
}

void
line_consume(struct line *l, size_t n)
{
	size_t have = l->end - l->start;

	l->start += n < have ? n : have;
}

size_t
line_buffered(const struct line *l)
{
	return l->end - l->start;
}
