/* arname.c — the judge of arname.h, a byte at a time, so that the
 * caller's stream is never buffered beyond one field's start. */

#include <string.h>

#include "arname.h"
#include "str.h"

static const char authres[] = "authentication-results";	/* RFC 8601 */

enum {
	P_OFF = -1,
	P_NAME,		/* pos characters of the name matched */
	P_COLON,	/* the name, then blanks before ':' (RFC 5322 §4.5.3) */
	P_BLANK,	/* ':' and blanks */
	P_ID,		/* pos characters of ours matched */
	P_IDDOT		/* all of ours, then '.' */
};

void
arname_init(struct arname *a, const char *ours, arname_emit emit, void *arg)
{
	/* hold[] is written before it is read: not cleared, once per
	 * message. */
	a->renamed = 0;
	a->ourslen = ours != NULL ? strlen(ours) : 0;
	a->ours = a->ourslen > 0 ? ours : NULL;
	a->emit = emit;
	a->arg = arg;
	arname_line(a);
}

void
arname_line(struct arname *a)
{
	a->phase = a->ours != NULL ? P_NAME : P_OFF;
	a->pos = 0;
	a->holdlen = 0;
}

int
arname_busy(const struct arname *a)
{
	return a->phase != P_OFF;
}

/* The held start goes out, renamed or not; the rest of the line is the
 * caller's. */
static void
flush(struct arname *a, int rename)
{
	if (rename) {
		a->emit(a->arg, ARNAME_PREFIX, sizeof(ARNAME_PREFIX) - 1);
		a->renamed++;
	}
	if (a->holdlen > 0)
		a->emit(a->arg, a->hold, a->holdlen);
	a->holdlen = 0;
	a->phase = P_OFF;
}

void
arname_end(struct arname *a)
{
	if (a->holdlen > 0)
		flush(a, a->phase >= P_BLANK);
	a->phase = P_OFF;
}

/* A byte that makes a host name go on past ours: "mx.example.org" is
 * not "mx.example.org-2" nor "mx.example.org.evil", but is
 * "mx.example.org." (the same name in DNS) and "mx.example.org/1". */
static int
hostchar(unsigned char c)
{
	return str_isalpha(c) || str_isdigit(c) || c == '-';
}

/* The id, from its first byte; 1 (every byte of it is held). */
static int
id_byte(struct arname *a, unsigned char c)
{
	a->hold[a->holdlen++] = (char)c;
	if (a->phase == P_IDDOT)
		flush(a, !hostchar(c));
	else if (a->pos == a->ourslen) {
		/* All of ours: the next byte decides, or the one after
		 * a dot. */
		if (c == '.')
			a->phase = P_IDDOT;
		else
			flush(a, !hostchar(c));
	} else if (str_tolower(c) != str_tolower((unsigned char)
	    a->ours[a->pos]))
		flush(a, 0);
	else
		a->pos++;
	return 1;
}

int
arname_byte(struct arname *a, unsigned char c)
{
	if (a->phase == P_OFF)
		return 0;
	/* Out of room: the name is whole, and blanks may still lead to
	 * its colon, or to the id: renamed unread. */
	if (a->holdlen == sizeof(a->hold)) {
		flush(a, a->phase >= P_COLON);
		return 0;
	}
	switch (a->phase) {
	case P_NAME:
		if (str_tolower(c) != authres[a->pos]) {
			flush(a, 0);
			return 0;
		}
		if (++a->pos == sizeof(authres) - 1)
			a->phase = P_COLON;
		break;
	case P_COLON:
		if (c == ':')
			a->phase = P_BLANK;
		else if (c != ' ' && c != '\t') {
			flush(a, 0);
			return 0;
		}
		break;
	case P_BLANK:
		if (c == ' ' || c == '\t')
			break;
		/* A comment before the id, or the id a quoted-string
		 * (RFC 8601 value): a reader may take either for ours. */
		if (c == '(' || c == '"') {
			a->hold[a->holdlen++] = (char)c;
			flush(a, 1);
			return 1;
		}
		a->phase = P_ID;
		a->pos = 0;
		return id_byte(a, c);
	default:
		return id_byte(a, c);
	}
	a->hold[a->holdlen++] = (char)c;
	return 1;
}
