/* data.h — the DATA phase as a byte-level state machine (RFC 5321
 * §4.1.1.4, §4.5.2): bytes in, in chunks of any size; message bytes out
 * to a sink with LF line endings and dots unstuffed; the end only at
 * CR LF "." CR LF.  A bare CR, a bare LF or a NUL is refused the moment it
 * is seen (SMTP smuggling), and the limits are counted on the way. */
#ifndef POSTHORN_DATA_H
#define POSTHORN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "arname.h"

enum {
	/* The Delivered-To: values of the header kept for the loop check
	 * (queue-run prepends ours at the top, so the first ones matter);
	 * room for a few addresses, what does not fit is not kept. */
	DATA_DELIVERED_TO_MAX = 2048
};

enum data_err {
	DATA_OK = 0,
	DATA_SMUGGLE,		/* bare CR, bare LF or NUL: stop reading */
	DATA_LINE_TOO_LONG,	/* a line over line_max; consumed to the end */
	DATA_TOO_BIG,		/* over max_size; consumed to the end */
	DATA_LOOP,		/* too many Received: fields in the header */
	DATA_HEADER_TOO_BIG,	/* over data_header_max; consumed to the end */
	DATA_EWRITE		/* the sink failed (errno in werrno) */
};

/* Write n message bytes; 0, or -1 with errno.  Not called again after a
 * failure or any other error: the message is then refused anyway. */
typedef int	(*data_sink)(void *arg, const void *, size_t n);

struct data {
	int		 state;
	int		 done;		/* the end (or SMUGGLE) was seen */
	enum data_err	 err;
	int		 werrno;	/* errno of the failed sink */
	uint64_t	 size;		/* octets after unstuffing, CR LF = 2 */
	uint64_t	 max_size;	/* 0 = no limit */
	size_t		 linelen;	/* of the current line, after unstuffing */
	size_t		 line_max;
	unsigned	 nreceived;	/* "Received:" fields seen */
	unsigned	 received_max;
	int		 header;	/* still in the header section */
	int		 hmatch;	/* chars of "received" matched, -1 none */
	int		 dmatch;	/* chars of "delivered-to", -1 none */
	int		 dtfield;	/* in a Delivered-To: field's value */
	/* Delivered-To: values, each ended by LF, folds joined; NUL ended. */
	char		 dt[DATA_DELIVERED_TO_MAX];
	size_t		 dtlen;
	/* Authentication-Results fields claiming our authserv-id
	 * (data_authserv; none by default) are renamed as they stream. */
	struct arname	 ar;
	/* data_header_max's limits, 0 for none; fields seen. */
	uint64_t	 header_max;
	unsigned	 fields_max;
	unsigned	 fields;
	data_sink	 sink;
	void		*arg;
};

void	data_init(struct data *, uint64_t max_size, size_t line_max,
	    unsigned received_max, data_sink, void *arg);
/* Rename (ARNAME_PREFIX) every Authentication-Results field of the
 * header that claims authserv-id ours, as arname.h judges it; ours must
 * stay until the end.  After data_init. */
void	data_authserv(struct data *, const char *ours);
/* Refuse (DATA_HEADER_TOO_BIG) a header section of more than bytes
 * octets (CR LF counted as 2, the empty line after it included) or more
 * than fields fields: what a checker cannot read whole.  After
 * data_init. */
void	data_header_max(struct data *, uint64_t bytes, unsigned fields);
/* Feed buf[0..n).  Returns how many bytes were consumed: all of them
 * unless the end of the data (the LF of "." CR LF) or a smuggling byte
 * lies inside, in which case what follows is left to the caller. */
size_t	data_feed(struct data *, const char *buf, size_t n);

#endif
