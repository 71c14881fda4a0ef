/* inject.h — queue-inject(8) without its arguments: check an envelope
 * given on the command line, take a message from a descriptor, and
 * commit both to the queue.  The exit codes are a contract: sendmail(8)
 * passes them on, and scripts and later bounces rely on them. */
#ifndef POSTHORN_INJECT_H
#define POSTHORN_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "queue.h"

/* sysexits(3) values, spelt out so that no header is needed. */
enum inject_exit {
	INJECT_OK = 0,
	INJECT_USAGE = 64,	/* EX_USAGE: bad arguments */
	INJECT_DATAERR = 65,	/* EX_DATAERR: bad address, too large */
	INJECT_TEMPFAIL = 75,	/* EX_TEMPFAIL: nothing queued, retry */
	INJECT_CONFIG = 78	/* EX_CONFIG: bad posthorn.conf */
};

enum {
	/* RFC 5321 §4.5.3.1.8 asks for 100 at least; ten times that keeps
	 * the envelope far inside QUEUE_ENV_MAX. */
	INJECT_RCPTS_MAX = 1000,
	INJECT_READSZ = 64 * 1024,	/* bytes per read(2) of the message */
	INJECT_REASON_MAX = 512
};

struct inject {
	/* in */
	const char		*spool;
	uint64_t		 max_size;	/* message bytes; 0: no limit */
	uint64_t		 minfree;	/* queue_minfree; 0: none */
	/* Our authserv-id (posthorn.conf's hostname): header fields
	 * that claim it are renamed (arname.h).  NULL: none is. */
	const char		*authserv;
	const char		*sender;	/* "" or "<>": the null sender */
	const char *const	*rcpts;
	size_t			 nrcpts;
	unsigned		 flags;		/* enum queue_env_flags */
	long			 uid;		/* the invoking user */
	/* out */
	char			 id[QUEUE_ID_LEN + 1];	/* "" until created */
	char			 from[ADDR_TEXT_MAX];	/* as queued */
	size_t			 nqueued;	/* distinct recipients */
	uint64_t		 size;		/* message bytes, normalised */
	char			 reason[INJECT_REASON_MAX];	/* on failure */
};

/* CRLF to LF across buffer boundaries; a CR not followed by LF is kept. */
struct inject_crlf {
	int	cr;		/* the last chunk ended in CR */
};
/* Convert n bytes of in to out (room for n + 1); returns the length. */
size_t	inject_crlf(struct inject_crlf *, const char *in, size_t n,
	    char *out);
/* At the end of input: the pending CR, if any (0 or 1 byte to out). */
size_t	inject_crlf_end(struct inject_crlf *, char *out);

/* Check the envelope, queue the message read from fd to its end, its
 * Authentication-Results fields that claim authserv renamed.
 * Returns an enum inject_exit; on anything but INJECT_OK nothing is
 * queued and reason says why. */
int	inject_run(struct inject *, int fd);

#endif
