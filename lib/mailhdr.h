/* mailhdr.h — just enough RFC 5322 to read addresses out of header fields
 * (To/Cc/Bcc for sendmail -t, From: for signing and submission policy):
 * unfolding, comments, quoted strings, display names, groups. */
#ifndef POSTHORN_MAILHDR_H
#define POSTHORN_MAILHDR_H

#include <stddef.h>

enum {
	/* Comments nest (RFC 5322 §3.2.2); real mail never goes deep, and
	 * a bound keeps a hostile header from costing anything. */
	MAILHDR_COMMENT_DEPTH_MAX = 32,
	/* RFC 5322 §2.1.1: a line SHOULD be at most 78 characters, and
	 * MUST be at most 998. */
	MAILHDR_FOLD_WIDTH = 78,
	MAILHDR_LINE_MAX = 998
};

struct str;

/* Field name of a header line "Name: value" compared case-insensitively;
 * on a match *value points past the colon. */
int	mailhdr_is(const char *line, size_t len, const char *name,
	    const char **value);
/* Call cb with each addr-spec ("local@domain", comments and display names
 * removed, quoted local parts kept quoted) of an address-list field
 * value, unfolded or not.  Stops and returns cb's value if it is not 0;
 * -1 on a syntax error. */
int	mailhdr_addresses(const char *value, size_t len,
	    int (*cb)(void *arg, const char *addr, size_t len), void *arg);

/* Append name ": " value, folded: the value is split at spaces outside
 * quoted strings, each line under MAILHDR_FOLD_WIDTH where a word allows
 * it, a new line after each ';' (one Authentication-Results method a
 * line), each line end "\n" and a tab; no final line end.  0, or -1 with
 * ENOBUFS (out full, or a word longer than a line may be) and out as it
 * was.  Authentication-Results at smtp-in and at delivery. */
int	mailhdr_fold(struct str *out, const char *name, const char *value);

#endif
