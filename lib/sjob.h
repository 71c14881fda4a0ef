/* sjob.h — the jobs queue-run feeds a long-lived smtp-out (smtp-out -J,
 * smtp-out(8)).  A job is smtp-out's own command line, less the program
 * name and -C: the number of arguments in decimal, then each argument,
 * every one of them NUL-terminated.  So whatever smtp-out learns to take
 * as an option (DSN's RET, ENVID, NOTIFY, ORCPT) a job carries as it is,
 * with no second format to grow; an argument never holds a NUL, may be
 * empty (-f "" is the null sender), and nothing in one (a tab, a
 * newline, a quote in an address) needs escaping. */
#ifndef POSTHORN_SJOB_H
#define POSTHORN_SJOB_H

#include <stddef.h>

enum {
	/* Arguments of one job: the options and their values, and the
	 * recipients, up to smtp-out's RCPTS_MAX of 1000 per run, with
	 * room for per-recipient options (two each) beside them. */
	SJOB_ARGS_MAX = 4096,
	/* Bytes of one job: 1000 recipients of RFC 5321's 256 octets and
	 * their options; a job larger than this is refused as a whole. */
	SJOB_MAX = 1024 * 1024,
	SJOB_COUNT_MAX = 5		/* digits of SJOB_ARGS_MAX */
};

/* argv[0..argc) as one job, appended to buf[0..*len) of cap bytes: 0,
 * or -1 with E2BIG (nothing appended) when it does not fit or has more
 * than SJOB_ARGS_MAX arguments. */
int	sjob_encode(char *buf, size_t cap, size_t *len, char *const argv[],
	    size_t argc);
/* The first whole job in buf[0..len): 1 with argv[0..*argc) pointing
 * into buf (argv[*argc] NULL; max counts that NULL) and *used the bytes
 * it took; 0 when buf holds no whole job yet; -1 with E2BIG when it has
 * more arguments than max - 1, or EINVAL when its count is no count (the
 * stream is out of step, and nothing more of it can be taken). */
int	sjob_parse(char *buf, size_t len, char **argv, size_t max,
	    size_t *argc, size_t *used);

#endif
