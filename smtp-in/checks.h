/* checks.h — smtp-in's side of the resident checker (smtp-checkd(8)):
 * the SPF question asked at MAIL FROM, the message handed over after the
 * dot, and the answers, each waited for until a deadline and never
 * longer.  A checker that is not there, busy, dead or slow gives the
 * temperror answer (ckp_temperror), and the session goes on. */
#ifndef POSTHORN_CHECKS_H
#define POSTHORN_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "ckproto.h"

struct checks {
	int	sock;		/* the shared socket (fd 5), -1: none */
	int	spf_fd;		/* the SPF question's answer socket, or -1 */
	/* The SPF answer, once it came: "" before. */
	char	spf[CKP_WORD_MAX + 1];
	char	spf_exp[CKP_EXP_MAX + 1];
	/* The session's last SPF answer and the sender it was for: the
	 * next transaction from the same sender (the client and HELO are
	 * the session's) takes it without asking.  A temperror is not
	 * kept. */
	char	last_sender[CKP_SENDER_MAX + 1];
	char	last_spf[CKP_WORD_MAX + 1];
	char	last_exp[CKP_EXP_MAX + 1];
};

/* No checker (sock -1), or the one on sock. */
void	checks_init(struct checks *, int sock);
/* Ask SPF of r (kind CKP_SPF) now, not waiting for the answer.  0 when
 * it is sent, or answered already by the session's last answer for the
 * same sender; -1 when no question could be (no checker, or it is gone
 * or full): the message's request then asks for SPF itself. */
int	checks_spf_ask(struct checks *, const struct ckp_request *);
/* The SPF answer into c->spf and c->spf_exp, waiting for it until
 * deadline (clock_ms; 0: only if it is there now).  1 when there is one,
 * 0 when not (not asked, not yet, or the checker said nothing). */
int	checks_spf_wait(struct checks *, int64_t deadline);
/* Hand over the message (msgfd, read-only, at its first byte) with r
 * (kind CKP_MSG; r->spf is filled in from an SPF answer that is there)
 * and wait for the answer until deadline.  Always fills a: the
 * checker's answer (return 1), or ckp_temperror's with the reason
 * (return 0). */
int	checks_message(struct checks *, struct ckp_request *, int msgfd,
	    int64_t deadline, struct ckp_answer *a);
/* Forget this transaction's SPF question (RSET, a new MAIL). */
void	checks_reset(struct checks *);

#endif
