/* arname.h — Authentication-Results fields that claim our authserv-id,
 * renamed as a header streams past (RFC 8601 §5: such a field from
 * outside MUST be removed or renamed before ours is added, since a
 * reader trusts our authserv-id).  smtp-in's DATA (data.c) and
 * queue-inject, which every local message passes, use this one judge,
 * so that a field gets through neither way that the other would stop.
 *
 * Only a field's first line is read, and only its start is held back:
 * the name, blanks, the colon, blanks and the authserv-id.  A field is
 * renamed when the id is ours (in any case) and does not go on as a
 * longer host name, or when a reader could take it for ours without
 * it being spelt out on that line: behind a comment or in a
 * quoted-string, on the next line, or past ARNAME_HOLD_MAX bytes of
 * blanks. */
#ifndef POSTHORN_ARNAME_H
#define POSTHORN_ARNAME_H

#include <stddef.h>

enum {
	/* A field's start held until its authserv-id is judged: the name,
	 * the colon, blanks, a host name (255).  Longer runs of blanks
	 * are judged without the id (renamed). */
	ARNAME_HOLD_MAX = 512
};

/* What such a field's name becomes. */
#define ARNAME_PREFIX	"X-Original-"

/* Bytes out, in order: the callee keeps its own error. */
typedef void	(*arname_emit)(void *arg, const char *p, size_t n);

struct arname {
	const char	*ours;		/* NULL: nothing is renamed */
	size_t		 ourslen;
	int		 phase;		/* where the field's start is */
	size_t		 pos;		/* of the name, or of ours, matched */
	char		 hold[ARNAME_HOLD_MAX];
	size_t		 holdlen;
	unsigned	 renamed;	/* fields renamed so far */
	arname_emit	 emit;
	void		*arg;
};

/* Judge against ours (NULL or "": rename nothing; it must stay until
 * the end), held bytes going out through emit.  The first header line
 * starts now. */
void	arname_init(struct arname *, const char *ours, arname_emit, void *);
/* A header line starts (not after the header's end). */
void	arname_line(struct arname *);
/* One byte of a header line, not its line end: 1 when it is held (and
 * will go out through emit), 0 when the caller sends it itself, after
 * anything held before it. */
int	arname_byte(struct arname *, unsigned char c);
/* The line ends: what is held goes out, renamed if the field could be
 * ours.  Before the line end itself goes out. */
void	arname_end(struct arname *);
/* Some bytes of the line may be held (arname_byte must see each one). */
int	arname_busy(const struct arname *);

#endif
