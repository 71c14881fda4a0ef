/* checks.c — smtp-in's requests to the resident checker (checks.h): one
 * socketpair per request, its other end sent with the request, so that
 * the answer comes back to this session alone and a checker that dies is
 * seen at once as the end of that socket. */

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "io.h"
#include "str.h"

void
checks_init(struct checks *c, int sock)
{
	c->sock = sock;
	c->spf_fd = -1;
	c->spf[0] = '\0';
	c->spf_exp[0] = '\0';
	c->last_sender[0] = c->last_spf[0] = c->last_exp[0] = '\0';
}

void
checks_reset(struct checks *c)
{
	fd_close(&c->spf_fd);
	c->spf[0] = '\0';
	c->spf_exp[0] = '\0';
}

/* Send r with the far end of a new socketpair (and msgfd when not -1):
 * our end, or -1. */
static int
ask(struct checks *c, const struct ckp_request *r, int msgfd)
{
	char buf[CKP_DGRAM_MAX];
	size_t len;
	int sv[2] = { -1, -1 }, fds[CKP_NFDS_MAX];

	if (c->sock == -1 ||
	    ckp_request_encode(r, buf, sizeof(buf), &len) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	fds[0] = sv[1];
	fds[1] = msgfd;
	if (ckp_send(c->sock, buf, len, fds, msgfd != -1 ? 2 : 1) == -1) {
		/* ECONNREFUSED, EPIPE: the checker is gone; the listener
		 * has started another for the sessions to come.  EAGAIN:
		 * it is behind.  Either way not this session's. */
		if (errno == ECONNREFUSED || errno == EPIPE)
			fd_close(&c->sock);
		fd_close(&sv[0]);
		fd_close(&sv[1]);
		return -1;
	}
	fd_close(&sv[1]);
	return sv[0];
}

/* The answer on fd, of kind k, until deadline (0: now only).  1, or 0
 * with why. */
static int
answer(int fd, enum ckp_kind k, int64_t deadline, struct ckp_answer *a,
    const char **why)
{
	char buf[CKP_DGRAM_MAX];
	int fds[CKP_NFDS_MAX];
	struct pollfd p;
	size_t nfds, i;
	int64_t left;
	ssize_t n;
	int r;

	for (;;) {
		left = deadline == 0 ? 0 : deadline - clock_ms();
		if (left < 0)
			left = 0;
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		if ((r = poll(&p, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			*why = "checker unreachable";
			return 0;
		}
		if (r == 0) {
			*why = "checker timeout";
			return 0;
		}
		n = ckp_recv(fd, buf, sizeof(buf), fds, &nfds);
		if (n == -1 && errno == EINTR)
			continue;
		for (i = 0; n > 0 && i < nfds; i++)
			(void)close(fds[i]);
		if (n <= 0) {
			*why = "checker gone";
			return 0;
		}
		if (nfds != 0 || ckp_answer_decode(buf, (size_t)n, a) == -1 ||
		    a->kind != k) {
			*why = "checker answer malformed";
			return 0;
		}
		return 1;
	}
}

int
checks_spf_ask(struct checks *c, const struct ckp_request *r)
{
	checks_reset(c);
	if (c->last_spf[0] != '\0' && strcmp(c->last_sender, r->sender) == 0) {
		(void)str_copy(c->spf, sizeof(c->spf), c->last_spf);
		(void)str_copy(c->spf_exp, sizeof(c->spf_exp), c->last_exp);
		return 0;
	}
	c->last_spf[0] = '\0';
	if ((c->spf_fd = ask(c, r, -1)) == -1)
		return -1;
	(void)str_copy(c->last_sender, sizeof(c->last_sender), r->sender);
	return 0;
}

int
checks_spf_wait(struct checks *c, int64_t deadline)
{
	struct ckp_answer a;
	const char *why;

	if (c->spf[0] != '\0')
		return 1;
	if (c->spf_fd == -1)
		return 0;
	if (!answer(c->spf_fd, CKP_SPF, deadline, &a, &why)) {
		/* Not there yet: ask again later, or let the message's
		 * request ask.  Gone or garbled: never again. */
		if (strcmp(why, "checker timeout") != 0)
			fd_close(&c->spf_fd);
		return 0;
	}
	fd_close(&c->spf_fd);
	(void)str_copy(c->spf, sizeof(c->spf), a.spf);
	(void)str_copy(c->spf_exp, sizeof(c->spf_exp), a.spf_exp);
	if (strcmp(a.spf, "temperror") != 0) {
		(void)str_copy(c->last_spf, sizeof(c->last_spf), a.spf);
		(void)str_copy(c->last_exp, sizeof(c->last_exp), a.spf_exp);
	}
	return 1;
}

int
checks_message(struct checks *c, struct ckp_request *r, int msgfd,
    int64_t deadline, struct ckp_answer *a)
{
	const char *why = "checker not running";
	int fd;

	if (checks_spf_wait(c, 0))
		(void)str_copy(r->spf, sizeof(r->spf), c->spf);
	else
		r->spf[0] = '\0';
	if ((fd = ask(c, r, msgfd)) == -1) {
		if (c->sock != -1)
			why = "checker busy";
		ckp_temperror(r, r->spf, why, a);
		return 0;
	}
	if (!answer(fd, CKP_MSG, deadline, a, &why)) {
		fd_close(&fd);
		ckp_temperror(r, r->spf, why, a);
		return 0;
	}
	fd_close(&fd);
	return 1;
}
