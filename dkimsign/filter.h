/* filter.h — dkimsign's filter: a message in, the same message with its
 * DKIM-Signature fields prepended out. */
#ifndef POSTHORN_DKIM_FILTER_H
#define POSTHORN_DKIM_FILTER_H

#include <stddef.h>

#include "keys.h"
#include "str.h"

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
/* What filter_run gives with fields_only and -d domain, for a program
 * that keeps its keys loaded (queue-run(8)): the DKIM-Signature fields
 * of the message in holds from its offset on, one per key of keys[n]
 * (in that order: keys_load_dir's), at time t (-1: now), appended to
 * out.  Same code, same bytes as "dkimsign -h -d domain".  0, or -1
 * with a one-line reason in err (ENOBUFS-like "signing failed" when out
 * is too small). */
int	filter_fields(int in, const char *domain, const struct keys_key *keys,
	    size_t n, long long t, struct str *out, char *err, size_t errlen);

#endif
