/* tlsd_main.c — smtp-tlsd(8): the TLS helper that smtp-in execs at
 * STARTTLS and at the start of a port-465 session, with the network on fd
 * 0 and 1 and a socketpair to smtp-in on fd 3.  The work is in tlsd.c;
 * this file is arguments, the configuration, the log line and the exit
 * code. */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "str.h"
#include "tlsd.h"

#define PROG	"smtp-tlsd"
#define CERTS	"certs"		/* DIR/certs/NAME/ for SNI */

enum {
	NET_RFD = 0,
	NET_WFD = 1,
	CTL_FD = 3,		/* the socketpair to smtp-in */
	EXIT_FAIL = 1,
	PEER_MAX = INET6_ADDRSTRLEN + 1
};

/* The client's address for the log: tcpserver's, systemd's, else the
 * socket's own. */
static const char *
peer_address(char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *e;
	const void *a;

	if ((e = getenv("TCPREMOTEIP")) != NULL && *e != '\0')
		return e;
	if ((e = getenv("REMOTE_ADDR")) != NULL && *e != '\0')
		return e;
	if (getpeername(NET_RFD, (struct sockaddr *)&ss, &len) == -1)
		return NULL;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	else
		return NULL;
	return inet_ntop(ss.ss_family, a, buf, (socklen_t)size);
}

int
main(int argc, char *argv[])
{
	struct tlsd_params p;
	struct conf *c;
	char err[1024], why[TLSD_REASON_MAX + 1], certdir[PATH_MAX];
	char peer[PEER_MAX];
	const char *dir = NULL;
	int ch;

	log_init(PROG);
	/* Either peer may vanish; a write must fail, not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_event("tls-failed", "reason", strerror(errno),
		    (char *)NULL);
		return EXIT_FAIL;
	}
	if (fcntl(CTL_FD, F_GETFD) == -1) {
		log_event("tls-failed", "reason",
		    "fd 3 is not open: smtp-tlsd is started by smtp-in",
		    (char *)NULL);
		return EXIT_FAIL;
	}
	while ((ch = getopt(argc, argv, "C:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		default:
			(void)tlsd_status_fail(CTL_FD, "usage: " PROG
			    " [-C dir]");
			log_event("tls-failed", "reason", "usage: " PROG
			    " [-C dir]", (char *)NULL);
			return EXIT_FAIL;
		}
	}
	if (optind != argc) {
		(void)tlsd_status_fail(CTL_FD, "usage: " PROG " [-C dir]");
		log_event("tls-failed", "reason", "usage: " PROG " [-C dir]",
		    (char *)NULL);
		return EXIT_FAIL;
	}
	/* struct conf holds several PATH_MAX buffers: not on the stack. */
	if ((c = malloc(sizeof(*c))) == NULL ||
	    conf_load(c, conf_dir(dir), err, sizeof(err)) == -1) {
		if (c == NULL)
			str_fmt_cut(err, sizeof(err), "%s", strerror(errno));
		(void)tlsd_status_fail(CTL_FD, err);
		log_event("tls-failed", "reason", err, (char *)NULL);
		free(c);
		return EXIT_FAIL;
	}
	memset(&p, 0, sizeof(p));
	p.cert = c->tls_cert;
	p.key = c->tls_key;
	p.certdir = str_fmt(certdir, sizeof(certdir), "%s/" CERTS, c->dir) ==
	    0 ? certdir : NULL;
	p.priority = c->tls_priority;
	p.handshake_ms = TLSD_HANDSHAKE_TIMEOUT * 1000;
	switch (tlsd_run(&p, NET_RFD, NET_WFD, CTL_FD, why, sizeof(why))) {
	case TLSD_DONE:
		/* smtp-in logs the session. */
		free(c);
		return 0;
	case TLSD_HANDSHAKE_FAILED:
		log_event("tls-failed", "peer", peer_address(peer,
		    sizeof(peer)), "reason", why, (char *)NULL);
		break;
	case TLSD_RELAY_FAILED:
		log_event("tls-error", "peer", peer_address(peer,
		    sizeof(peer)), "reason", why, (char *)NULL);
		break;
	}
	free(c);
	return EXIT_FAIL;
}
