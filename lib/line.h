/* line.h — read LF-terminated lines through an io with a length limit and
 * a deadline, and tell the caller exactly how each line ended so that SMTP
 * can refuse bare CR and bare LF.  Bytes read ahead stay in the buffer:
 * pipelined commands are never lost, DATA streams from the same buffer,
 * and STARTTLS can ask whether plaintext is waiting (line_buffered). */
#ifndef POSTHORN_LINE_H
#define POSTHORN_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "str.h"

enum { LINE_BUFSZ = 16384 };	/* one read(2); not a limit on lines */

struct line {
	struct io	*io;
	size_t		 start, end;	/* unread bytes are buf[start..end) */
	char		 buf[LINE_BUFSZ];
};

enum line_status {
	LINE_OK = 0,
	LINE_EOF,	/* end of input; a partial last line is discarded */
	LINE_TOOLONG,	/* longer than the limit; skipped through its LF */
	LINE_TIMEOUT,	/* the deadline passed; a partial line is lost */
	LINE_ERROR	/* read error, errno says which; ditto */
};

enum line_flags {
	LINE_CRLF	= 1 << 0,	/* ended in CR LF (else bare LF) */
	LINE_BARE_CR	= 1 << 1,	/* a CR not followed by LF inside */
	LINE_NUL	= 1 << 2	/* a NUL byte inside */
};

void	line_init(struct line *, struct io *);
/* One line into out (reset first), without its CR LF or LF; *flags gets
 * enum line_flags.  A line whose content exceeds max bytes (or out's
 * capacity) is skipped up to and including its LF, within the deadline,
 * and LINE_TOOLONG returned. */
enum line_status line_get(struct line *, struct str *out, size_t max,
	    int64_t deadline, unsigned *flags);
/* Raw access for streaming (DATA): make at least one byte available and
 * point *p at the buffered bytes; returns their count, 0 at end of file,
 * -1 with errno (ETIMEDOUT).  Consume what was used with line_consume. */
ssize_t	line_peek(struct line *, const char **p, int64_t deadline);
void	line_consume(struct line *, size_t);
/* Bytes received but not consumed yet. */
size_t	line_buffered(const struct line *);

#endif
