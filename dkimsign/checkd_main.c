/* checkd_main.c — smtp-checkd(8): the resident checker of incoming mail,
 * started by smtp-listen with the sessions' shared SOCK_SEQPACKET socket
 * on fd 0 (checkd.h says what it does; this file is arguments, set-up and
 * exit codes). */

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "checkd.h"
#include "log.h"

#define PROG	"smtp-checkd"
#define USAGE	"usage: " PROG " [-C dir] [-P psl-file] [-t threads]"

enum {
	SOCK_FD = 0	/* the listener's SOCK_SEQPACKET end */
};

int
main(int argc, char **argv)
{
	struct checkd_opts o;
	struct sigaction sa;
	struct stat st;
	int ch, type;
	socklen_t len = sizeof(type);
	char *end;
	long v;

	log_init(PROG);
	memset(&o, 0, sizeof(o));
	while ((ch = getopt(argc, argv, "C:P:t:")) != -1) {
		switch (ch) {
		case 'C':	/* taken like the other helpers': unused */
			break;
		case 'P':
			o.psl_file = optarg;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 ||
			    v > CHECKD_THREADS) {
				fprintf(stderr, "%s\n", USAGE);
				return EX_USAGE;
			}
			o.threads = (int)v;
			break;
		default:
			fprintf(stderr, "%s\n", USAGE);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s\n", USAGE);
		return EX_USAGE;
	}
	if (fstat(SOCK_FD, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(SOCK_FD, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET) {
		log_event("error", "reason", "fd 0 is not a SOCK_SEQPACKET "
		    "socket (smtp-listen starts this program)", (char *)NULL);
		return EX_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1 || sodium_init() < 0) {
		log_event("error", "reason", "cannot start", (char *)NULL);
		return EX_OSERR;
	}
	log_event("started", (char *)NULL);
	if (checkd_run(SOCK_FD, &o) == -1) {
		log_event("error", "op", "serve", "error", strerror(errno),
		    (char *)NULL);
		return EX_OSERR;
	}
	log_event("stopped", (char *)NULL);
	return 0;
}
