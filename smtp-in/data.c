/* data.c — DATA as a byte-level state machine.  It exists apart from the
 * session so that the rules that matter most for safety — where a message
 * ends, and that nothing but CR LF ends a line (SMTP smuggling: a bare LF
 * or CR that one server takes for a line end and another does not lets a
 * second message hide inside the first) — are pure and tested on their
 * own, with the terminator split across chunks at every offset.
 *
 * Bytes that pass through unchanged go to the sink as runs that point
 * into the caller's buffer; only a CR (before its LF) and a stuffed dot are
 * held back, so a large message costs one scan and no copy here. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "data.h"
#include "str.h"

static void	ar_emit(void *, const char *, size_t);

enum {
	ST_BOL,		/* at the start of a line */
	ST_DOT,		/* a "." at the start of a line, dropped */
	ST_DOTCR,	/* "." CR at the start of a line: the end if LF */
	ST_TEXT,	/* inside a line */
	ST_CR		/* a CR inside a line: must be followed by LF */
};

static const char received[] = "received";	/* RFC 5322 §3.6.7 */
static const char delivered_to[] = "delivered-to";	/* RFC 9228 */

void
data_init(struct data *d, uint64_t max_size, size_t line_max,
    unsigned received_max, data_sink sink, void *arg)
{
	d->state = ST_BOL;
	d->done = 0;
	d->err = DATA_OK;
	d->werrno = 0;
	d->size = 0;
	d->max_size = max_size;
	d->linelen = 0;
	d->line_max = line_max;
	d->nreceived = 0;
	d->received_max = received_max;
	d->header = 1;
	d->hmatch = 0;
	d->dmatch = 0;
	d->dtfield = 0;
	d->dt[0] = '\0';
	d->dtlen = 0;
	arname_init(&d->ar, NULL, ar_emit, d);
	d->header_max = 0;
	d->fields_max = 0;
	d->fields = 0;
	d->sink = sink;
	d->arg = arg;
}

/* The first error is the one reported; SMUGGLE overrides them all since
 * it ends the session. */
static void
fail(struct data *d, enum data_err e)
{
	if (d->err == DATA_OK || e == DATA_SMUGGLE)
		d->err = e;
}

static void
emit(struct data *d, const char *p, size_t n)
{
	if (n == 0 || d->err != DATA_OK)
		return;
	if (d->sink(d->arg, p, n) == -1) {
		d->werrno = errno;
		fail(d, DATA_EWRITE);
	}
}

static void
ar_emit(void *arg, const char *p, size_t n)
{
	emit(arg, p, n);
}

void
data_authserv(struct data *d, const char *ours)
{
	arname_init(&d->ar, ours, ar_emit, d);
}

void
data_header_max(struct data *d, uint64_t bytes, unsigned fields)
{
	d->header_max = bytes;
	d->fields_max = fields;
}

/* A byte of a Delivered-To: value into d->dt, with room left for its
 * LF and the NUL.  A value that does not fit is dropped whole (cut short,
 * it could match by accident); a shorter one later may still fit. */
static void
dt_keep(struct data *d, char c)
{
	if (d->dtlen + 3 > sizeof(d->dt)) {
		while (d->dtlen > 0 && d->dt[d->dtlen - 1] != '\n')
			d->dtlen--;
		d->dt[d->dtlen] = '\0';
		d->dtfield = 0;
		return;
	}
	d->dt[d->dtlen++] = c;
	d->dt[d->dtlen] = '\0';
}

/* The Delivered-To: field being kept has ended: its LF (dt_keep left
 * room for it). */
static void
dt_end(struct data *d)
{
	if (d->dtfield && d->dtlen + 2 <= sizeof(d->dt)) {
		d->dt[d->dtlen++] = '\n';
		d->dt[d->dtlen] = '\0';
	}
	d->dtfield = 0;
}

/* Is the line so far ("Delivered-To" then blanks then ':') the start of
 * a Delivered-To: field?  The same rule as for Received:. */
static void
dt_match(struct data *d, unsigned char c)
{
	if (d->dmatch < 0)
		return;
	if (d->dmatch < (int)sizeof(delivered_to) - 1) {
		if (d->linelen == (size_t)d->dmatch + 1 &&
		    str_tolower(c) == delivered_to[d->dmatch])
			d->dmatch++;
		else
			d->dmatch = -1;
	} else if (c == ':') {
		d->dmatch = -1;
		d->dtfield = 1;
	} else if (c != ' ' && c != '\t')
		d->dmatch = -1;
}

/* One content byte of a line (not CR, LF or a stuffed dot); 1 when it
 * is held back (arname.h), and the caller must not send it. */
static int
content(struct data *d, unsigned char c)
{
	int held;

	d->size++;
	if (d->max_size != 0 && d->size > d->max_size)
		fail(d, DATA_TOO_BIG);
	if (++d->linelen > d->line_max)
		fail(d, DATA_LINE_TOO_LONG);
	if (!d->header)
		return 0;
	/* A line's first byte, not a blank: a field starts. */
	if (d->linelen == 1 && c != ' ' && c != '\t' && d->fields_max != 0 &&
	    ++d->fields > d->fields_max)
		fail(d, DATA_HEADER_TOO_BIG);
	held = arname_byte(&d->ar, c);
	if (d->dtfield) {
		if (d->linelen > 1 || c == ' ' || c == '\t') {
			dt_keep(d, (char)c);	/* its value, or a fold */
			return held;
		}
		dt_end(d);		/* a new field starts */
	}
	dt_match(d, c);
	if (d->hmatch < 0)
		return held;
	/* "Received" then optional blanks (obsolete syntax, RFC 5322
	 * §4.5.3) then ":" at the start of a header line. */
	if (d->hmatch < (int)sizeof(received) - 1) {
		if (d->linelen == (size_t)d->hmatch + 1 &&
		    str_tolower(c) == received[d->hmatch])
			d->hmatch++;
		else
			d->hmatch = -1;
	} else if (c == ':') {
		d->hmatch = -1;
		if (++d->nreceived > d->received_max)
			fail(d, DATA_LOOP);
	} else if (c != ' ' && c != '\t')
		d->hmatch = -1;
	return held;
}

/* k content bytes at once, none of them CR, LF or NUL, inside a line
 * whose header name is settled: what k calls of content would do, with
 * the limit crossed at the earlier byte reported first (size before
 * length when it is the same byte, as content checks them). */
static void
text(struct data *d, size_t k)
{
	uint64_t at_size = UINT64_MAX, at_line = UINT64_MAX;

	if (d->max_size != 0 && d->size + k > d->max_size)
		at_size = d->max_size >= d->size ? d->max_size - d->size + 1 : 1;
	if (d->linelen + k > d->line_max)
		at_line = d->line_max >= d->linelen ?
		    d->line_max - d->linelen + 1 : 1;
	if (at_size != UINT64_MAX || at_line != UINT64_MAX)
		fail(d, at_size <= at_line ? DATA_TOO_BIG :
		    DATA_LINE_TOO_LONG);
	d->size += k;
	d->linelen += k;
}

/* The LF of a CR LF. */
static void
line_end(struct data *d)
{
	d->size += 2;
	if (d->max_size != 0 && d->size > d->max_size)
		fail(d, DATA_TOO_BIG);
	if (d->header && d->header_max != 0 && d->size > d->header_max)
		fail(d, DATA_HEADER_TOO_BIG);
	if (d->linelen == 0 && d->header) {
		d->header = 0;	/* the empty line ends the header section */
		dt_end(d);
	}
	d->linelen = 0;
	d->hmatch = 0;
	d->dmatch = 0;
	if (d->header)
		arname_line(&d->ar);
	d->state = ST_BOL;
}

size_t
data_feed(struct data *d, const char *buf, size_t n)
{
	size_t i, run = 0;	/* buf[run..i) goes to the sink unchanged */

	if (d->done)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\0')
			goto smuggle;
		switch (d->state) {
		case ST_BOL:
		case ST_DOT:
			if (c == '.' && d->state == ST_BOL) {
				emit(d, buf + run, i - run);
				run = i + 1;
				d->state = ST_DOT;
				break;
			}
			if (c == '\r') {
				emit(d, buf + run, i - run);
				run = i + 1;
				arname_end(&d->ar);
				d->state = d->state == ST_DOT ? ST_DOTCR :
				    ST_CR;
				break;
			}
			if (c == '\n')
				goto smuggle;
			if (content(d, c)) {
				emit(d, buf + run, i - run);
				run = i + 1;
			}
			d->state = ST_TEXT;
			break;
		case ST_TEXT:
			if (c == '\r') {
				emit(d, buf + run, i - run);
				run = i + 1;
				arname_end(&d->ar);
				d->state = ST_CR;
			} else if (c == '\n')
				goto smuggle;
			else if (d->header && (d->hmatch >= 0 ||
			    d->dmatch >= 0 || d->dtfield ||
			    arname_busy(&d->ar))) {
				if (content(d, c)) {
					emit(d, buf + run, i - run);
					run = i + 1;
				}
			} else {
				/* The rest of the line's text in one scan: the
				 * byte machine cost ~37 instructions a byte. */
				size_t j = i + 1;

				while (j < n && buf[j] != '\r' &&
				    buf[j] != '\n' && buf[j] != '\0')
					j++;
				text(d, j - i);
				i = j - 1;
			}
			break;
		case ST_CR:
			if (c != '\n')
				goto smuggle;
			/* The LF starts the next run: CR LF becomes LF. */
			line_end(d);
			break;
		case ST_DOTCR:
			if (c != '\n')
				goto smuggle;
			/* CR LF "." CR LF: the end.  The run before it was
			 * emitted at the CR. */
			d->done = 1;
			return i + 1;
		}
	}
	emit(d, buf + run, i - run);
	return n;
smuggle:
	/* Nothing more reaches the sink: the caller throws the message away
	 * and closes, and reads nothing after this byte as a command. */
	fail(d, DATA_SMUGGLE);
	d->done = 1;
	return i + 1;
}
