/* sendmail.h — the header work of sendmail(8), apart from its arguments
 * and its pipe to queue-inject(8), so that the unit tests can call it:
 * where the header block ends, the classic lone "." line, recipients
 * taken from To:/Cc:/Bcc: (-t), Bcc: removed, and the Date:,
 * Message-ID: and From: fields a message must have added when missing. */
#ifndef POSTHORN_SENDMAIL_H
#define POSTHORN_SENDMAIL_H

#include <stddef.h>
#include <time.h>

#include "inject.h"
#include "str.h"

enum {
	/* The header block is read whole before anything is sent on, so
	 * it has a bound; 256 KiB is far beyond what any mail program
	 * writes (Postfix's header_size_limit is 100 KiB). */
	SENDMAIL_HEADER_MAX = 256 * 1024,
	SENDMAIL_FULLNAME_MAX = 256,	/* -F, in bytes */
	/* Date: + Message-ID: + From: with an encoded -F name. */
	SENDMAIL_ADDED_MAX = 4096,
	SENDMAIL_OUT_MAX = SENDMAIL_HEADER_MAX + SENDMAIL_ADDED_MAX,
	SENDMAIL_RCPTS_MAX = INJECT_RCPTS_MAX,
	SENDMAIL_MSGID_MAX = 64 + 253	/* "<" stamp "." random "@" host ">" */
};

/* Where the header block at the start of the input ends. */
struct sendmail_split {
	size_t	hdrlen;	/* bytes of header fields, line ends included */
	size_t	body;	/* where the body starts (past the empty line) */
	int	end;	/* a lone "." ended the input: there is no body */
	size_t	scan;	/* where a call that returned 0 stopped */
};
/* Look at buf[0..len); eof: nothing more will come.  dots: a lone "."
 * line ends the input (no -i).  The block ends at an empty line, or
 * before the first line that is neither a field nor a continuation (a
 * message without a header block).  Returns 1 when the end is found
 * (always at eof), 0 when more input is needed: call again with the
 * same sp once buf has grown.  sp starts zeroed. */
int	sendmail_split(const char *buf, size_t len, int eof, int dots,
	    struct sendmail_split *);

struct sendmail_rcpts {
	char	**v;
	size_t	  n;
	size_t	  cap;
};
/* Add one address (len bytes), "@hostname" appended when it has no
 * domain, a duplicate dropped; -1 with errno (E2BIG past
 * SENDMAIL_RCPTS_MAX, EINVAL for an empty or control-laden one). */
int	sendmail_rcpt_add(struct sendmail_rcpts *, const char *, size_t,
	    const char *hostname);
void	sendmail_rcpts_free(struct sendmail_rcpts *);

struct sendmail_opts {
	int		 extract;	/* -t */
	const char	*hostname;	/* completes a bare local part */
	const char	*from;		/* address of an added From: */
	const char	*fullname;	/* its display name (-F), or NULL */
	const char	*msgid;		/* an added Message-ID:, "<...>" */
	time_t		 now;		/* an added Date: */
};
/* The header block hdr[0..len) (as sendmail_split found it) to out, LF
 * line ends, without the empty line that ends it: Bcc: fields removed,
 * the missing fields added at the end; with extract, the addresses of
 * To:, Cc: and Bcc: added to rcpts.  -1 with errno: ENOBUFS (out
 * full), EINVAL (an address field that does not parse), E2BIG. */
int	sendmail_headers(const struct sendmail_opts *, const char *hdr,
	    size_t len, struct str *out, struct sendmail_rcpts *);

/* A display name as RFC 5322 wants it: a quoted-string, or RFC 2047
 * encoded-words when it is not ASCII; control bytes become spaces. */
int	sendmail_phrase(struct str *, const char *name);
/* A new Message-ID "<STAMP.RANDOM@hostname>"; -1 with errno. */
int	sendmail_msgid(char *, size_t, const char *hostname, time_t);

/* The lone "." rule on a streamed body: bytes in, bytes out (room for
 * n + 2), the state kept across calls, starting at a line start. */
struct sendmail_dot {
	int	state;
	int	end;		/* the "." line came: ignore the rest */
};
size_t	sendmail_dot(struct sendmail_dot *, const char *in, size_t n,
	    char *out);
/* At the end of input: what was held back (at most 2 bytes). */
size_t	sendmail_dot_end(struct sendmail_dot *, char *out);

#endif
