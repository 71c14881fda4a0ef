/* canon.h — DKIM canonicalization (RFC 6376 §3.4): "simple" and "relaxed"
 * for header fields and for the body.  Input lines may end in CRLF or in a
 * bare LF; what comes out is always the CRLF form that is hashed.  The
 * body canonicalizer streams: it holds a few counters and a small output
 * buffer, never the body. */
#ifndef POSTHORN_DKIM_CANON_H
#define POSTHORN_DKIM_CANON_H

#include <stddef.h>

#include "str.h"

enum {
	/* Canonical bytes are handed to the sink in pieces of at most this
	 * size: one call per piece keeps a 20 MB body cheap to hash. */
	CANON_BUF = 16384
};

/* One header field as it stands in the message, "Name: value" with its
 * folding line breaks but without the line ending that closes it.  Appends
 * "name:value\r\n" in the relaxed form (§3.4.2) to out: 0, or -1 with
 * ENOBUFS.  Without a colon the whole field counts as the name. */
int	canon_header_relaxed(const char *field, size_t len, struct str *out);
/* The same in the simple form (§3.4.1): the field unchanged, its line
 * breaks made CRLF, and a CRLF appended. */
int	canon_header_simple(const char *field, size_t len, struct str *out);

typedef void canon_sink(void *arg, const void *, size_t);

struct canon_body {
	int		 relaxed;
	canon_sink	*sink;
	void		*arg;
	unsigned long	 blank;		/* empty lines held back */
	int		 cr;		/* a CR was the last byte seen */
	int		 wsp;		/* relaxed: WSP held back in this line */
	int		 inline_;	/* this line has output */
	int		 any;		/* any line had output */
	size_t		 n;
	unsigned char	 buf[CANON_BUF];
};

/* Start a body in the relaxed (§3.4.4) or simple (§3.4.3) form; the
 * canonical bytes go to sink(arg, p, n). */
void	canon_body_init(struct canon_body *, int relaxed, canon_sink *,
	    void *arg);
/* Feed the next n bytes of the body, cut anywhere (even between CR and
 * LF). */
void	canon_body_update(struct canon_body *, const void *, size_t n);
/* The end of the body: trailing empty lines dropped, a final CRLF added
 * where a line lacks it, an empty simple body made one CRLF. */
void	canon_body_final(struct canon_body *);

#endif
