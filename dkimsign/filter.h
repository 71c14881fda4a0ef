/* filter.h — dkimsign's filter: a message in, the same message with its
 * DKIM-Signature fields prepended out. */
#ifndef POSTHORN_DKIM_FILTER_H
#define POSTHORN_DKIM_FILTER_H

#include <stddef.h>

enum {
	/* The header block is held in memory to be signed, so it is
	 * bounded; a message whose header is larger is refused.  Postfix
	 * keeps 100 KB of header (header_size_limit); this is more. */
	FILTER_HEADER_MAX = 256 * 1024,
	FILTER_IO = 65536		/* one read or write of the body */
};

struct filter_opts {
	const char	*confdir;	/* -C, or NULL */
	const char	*domain;	/* -d, or NULL: the From: domain */
	long long	 t;		/* -t, or -1: now */
	int		 fields_only;	/* -h: the DKIM-Signature fields
					   alone, not the message */
};

/* Sign what in holds, from its current offset to its end, to out.  The
 * message is copied unchanged (CRLF or LF as it came), after one
 * DKIM-Signature field per key of the domain.  The body streams: from
 * in again when it is a regular file, else through an unlinked file in
 * $TMPDIR.  With fields_only, out gets the fields alone (their line ends
 * those of the message) and the body is read once, kept nowhere.  0, or
 * -1 with a one-line reason in err, after which whatever went to out is
 * not a message. */
int	filter_run(const struct filter_opts *, int in, int out, char *err,
	    size_t errlen);

#endif
