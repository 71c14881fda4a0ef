/* keeper_main.c — smtp-keeper(8): the resident that answers the
 * questions of smtp-in sessions that need a secret (keeper.h), started
 * and restarted by smtp-listen with the SOCK_SEQPACKET socket it shares
 * among its sessions on fd 0, and the groups of srs.secret and the users
 * files.  An SRS recipient costs a datagram and an HMAC here, where it
 * cost an exec of aliases(8) per RCPT.  The answers are in keepd.c;
 * this file is arguments, the loop, reaping and exit codes. */

#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keepd.h"
#include "keeper.h"
#include "log.h"

#define PROG	"smtp-keeper"

enum {
	QUESTION_FD = 0,	/* the listener's SOCK_SEQPACKET end */
	EXIT_FAIL = 1,
	EXIT_USAGE = 64
};

static void
reap(struct keepd *k)
{
	int status;

	while (waitpid(-1, &status, WNOHANG) > 0)
		keepd_reaped(k);
}

/* What signalfd brought: SIGCHLD reaps. */
static void
signals(int sfd, struct keepd *k)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		;
	reap(k);
}

int
main(int argc, char *argv[])
{
	static struct keepd k;	/* some KiB of paths: not on the stack */
	char buf[KEEPER_REQ_MAX + 2], err[1024], why[128];
	const char *dir = NULL;
	struct keeper_req r;
	struct pollfd pfd[2];
	sigset_t set;
	size_t len;
	int ch, fd, sfd;

	log_init(PROG);
	while ((ch = getopt(argc, argv, "C:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: " PROG " [-C dir]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: " PROG " [-C dir]\n");
		return EXIT_USAGE;
	}
	/* An asker may vanish before its answer: a write fails, no more. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    sigemptyset(&set) == -1 || sigaddset(&set, SIGCHLD) == -1 ||
	    sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_event("keeper-failed", "error", strerror(errno),
		    (char *)NULL);
		return EXIT_FAIL;
	}
	if (keepd_init(&k, dir, err, sizeof(err)) == -1) {
		log_event("keeper-failed", "error", err, (char *)NULL);
		return EXIT_FAIL;
	}
	for (;;) {
		pfd[0].fd = QUESTION_FD;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_event("keeper-failed", "op", "poll", "error",
			    strerror(errno), (char *)NULL);
			return EXIT_FAIL;
		}
		if (pfd[1].revents != 0)
			signals(sfd, &k);
		if (pfd[0].revents == 0)
			continue;
		switch (keeper_recv(QUESTION_FD, &fd, buf, sizeof(buf), &len,
		    why, sizeof(why))) {
		case KEEPER_EOF:
			/* The listener is gone or stopping: the AUTH checks
			 * in flight end by their own deadlines. */
			while (waitpid(-1, NULL, 0) != -1 || errno == EINTR)
				;
			return 0;
		case KEEPER_ERR:
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_event("keeper-failed", "op", "recvmsg", "error",
			    strerror(errno), (char *)NULL);
			return EXIT_FAIL;
		case KEEPER_BAD:
			log_event("keeper-refused", "reason", why, (char *)NULL);
			continue;
		case KEEPER_GOT:
			break;
		}
		if (keeper_parse(buf, len, &r) == -1) {
			log_event("keeper-refused", "reason",
			    "not a question of keeper.h", (char *)NULL);
			(void)close(fd);
			continue;
		}
		keepd_serve(&k, &r, fd);
	}
}
