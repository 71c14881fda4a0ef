/* out.c — buffered writer through an io.  Replies to pipelined commands
 * (RFC 2920) collect here and leave in one write when the session is
 * about to wait for input, instead of one packet per reply. */

#include <string.h>

#include "out.h"

void
out_init(struct out *o, struct io *io)
{
	o->io = io;
	o->len = 0;
}

int
out_put(struct out *o, const void *p, size_t n, int64_t deadline)
{
	if (n > sizeof(o->buf) - o->len && out_flush(o, deadline) == -1)
		return -1;
	if (n > sizeof(o->buf))
		/* Would never fit: send it straight, after what was queued. */
		return io_write_all(o->io, p, n, deadline);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

int
out_fits(const struct out *o, size_t n)
{
	return n <= sizeof(o->buf) - o->len;
}

int
out_puts(struct out *o, const char *s, int64_t deadline)
{
	return out_put(o, s, strlen(s), deadline);
}

int
out_flush(struct out *o, int64_t deadline)
{
	size_t n = o->len;

	/* Emptied even on failure: how much went out is unknown, and sending
	 * part of a reply twice would be worse than losing the connection. */
	o->len = 0;
	if (n == 0)
		return 0;
	return io_write_all(o->io, o->buf, n, deadline);
}
