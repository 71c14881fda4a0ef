/* out.h — buffered writer through an io.  SMTP replies accumulate here and
 * go out when the reader would otherwise block (RFC 2920 PIPELINING), or
 * when the buffer fills. */
#ifndef POSTHORN_OUT_H
#define POSTHORN_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

enum { OUT_BUFSZ = 8192 };

struct out {
	struct io	*io;
	size_t		 len;
	char		 buf[OUT_BUFSZ];
};

void	out_init(struct out *, struct io *);
/* 0, or -1 with errno when a flush made necessary by a full buffer failed. */
int	out_put(struct out *, const void *, size_t, int64_t deadline);
int	out_puts(struct out *, const char *, int64_t deadline);
int	out_flush(struct out *, int64_t deadline);
/* 1 when n more bytes go into the buffer without a write: out_put will
 * not use its deadline then, and a caller may spare the clock read. */
int	out_fits(const struct out *, size_t n);

#endif
