/* checkd.h — smtp-checkd(8), the resident checker of incoming mail: SPF,
 * DKIM and DMARC (lib/spf.c, verify.c, dmarc.c through check.c) for the
 * sessions of one listener, which reach it on a shared socket
 * (ckproto.h).  A program start per message would cost 4-6 ms of CPU
 * (bench/mailauth.sh); a resident costs a datagram.
 *
 * One thread receives the requests and queues them; a fixed pool of
 * workers answers them, each one message at a time with blocking DNS
 * (lookups wait on the network, not the CPU, so a few threads serve many
 * sessions).  The queue is bounded: a request that finds it full is
 * answered temperror at once rather than waited on. */
#ifndef POSTHORN_CHECKD_H
#define POSTHORN_CHECKD_H

#include "ckproto.h"
#include "dns.h"
#include "verify.h"

enum {
	/* Workers: each waits on DNS most of its time.  Sixteen messages
	 * checked at once is more than the sessions of a small domain's
	 * MX ever send together; more queue behind them. */
	CHECKD_THREADS = 16,
	/* Requests waiting for a worker; past it, temperror at once (a
	 * session's wait is bounded anyway: smtp-in(8), check_timeout). */
	CHECKD_QUEUE_MAX = 256,
	/* Each DNS query: 2 s a try, 2 tries per server.  The session
	 * gives up sooner than the worst case of a whole check, and then
	 * the worker's late answer goes to a closed socket. */
	CHECKD_DNS_TIMEOUT = 2,
	CHECKD_DNS_ATTEMPTS = 2,
	/* A worker's stack: struct verify and the header buffer are on the
	 * heap; the rest is the resolver's and the checks' own. */
	CHECKD_STACK = 1024 * 1024,
	/* The public suffix list is loaded once into a table (psl.h), and
	 * loaded again when the file changed, looked at this often: an
	 * update of Debian's publicsuffix takes effect within a minute. */
	CHECKD_PSL_RECHECK_MS = 60 * 1000,
	/* The TXT lookups of one message asked at once, each in a thread
	 * of its own, as soon as its header is read: a key per DKIM
	 * signature, the From domain's _dmarc and its organizational
	 * domain's.  The checks then take their answers as they need
	 * them, so that the message waits for the slowest, not the sum. */
	CHECKD_AHEAD_MAX = VERIFY_SIGS_MAX + 2
};

struct checkd_opts {
	const char	*psl_file;	/* NULL: PSL_FILE */
	int		 threads;	/* 0: CHECKD_THREADS */
	struct dns_opts	 dns;		/* zeros: CHECKD_DNS_* */
};

/* The answer to one request, as a worker makes it: msgfd is the message
 * (for CKP_MSG; -1 for CKP_SPF), read from its offset on.  A request it
 * cannot judge (an address that does not parse, a message it cannot
 * read) is answered temperror, with the reason in the field's comment.
 * Never fails. */
void	checkd_answer(const struct checkd_opts *, const struct ckp_request *,
	    int msgfd, struct ckp_answer *);

/* Serve the requests on sock until every session and the listener have
 * closed it.  0, or -1 with errno when the socket fails or no thread
 * can start. */
int	checkd_run(int sock, const struct checkd_opts *);

#endif
