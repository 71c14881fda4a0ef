/* main.c — smtp-in: one SMTP session on fd 0/1, started per connection by
 * systemd (Accept=yes), inetd or tcpserver, in mx, submission or
 * submissions mode.  Arguments, environment and
 * exit codes only; the protocol is in session.c.  Start-up stays lean —
 * posthorn.conf and nothing else before the greeting — because it is
 * paid on every connection. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "helpers.h"
#include "io.h"
#include "log.h"
#include "session.h"

enum {
	EXIT_USAGE = 64,	/* sysexits.h EX_USAGE */
	EXIT_CONFIG = 78	/* EX_CONFIG */
};

static const struct session_hooks hooks = { helper_starttls, helper_auth };
static struct conf	conf;
static struct session	session;	/* ~150 KB: not on the stack */

static void
usage(void)
{
	fprintf(stderr, "usage: smtp-in [-C dir] mx|submission|submissions\n");
	exit(EXIT_USAGE);
}

/* The whole-session backstop: the per-command deadlines bound each wait,
 * this bounds their sum.  Only async-signal-safe calls. */
static void
on_alarm(int sig)
{
	static const char msg[] = "421 4.4.2 session time limit\r\n";
	ssize_t n;

	(void)sig;
	n = write(1, msg, sizeof(msg) - 1);
	(void)n;
	_exit(0);
}

static int
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;	/* EPIPE from write instead */
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		return -1;
	alarm(SMTP_SESSION_MAX);
	return 0;
}

/* tcpserver, then systemd (Accept=yes), then the socket itself. */
static void
peer_address(char *buf, size_t len)
{
	const char *e;

	if ((e = getenv("TCPREMOTEIP")) != NULL && e[0] != '\0')
		(void)peer_normalize(e, buf, len);
	else if ((e = getenv("REMOTE_ADDR")) != NULL && e[0] != '\0')
		(void)peer_normalize(e, buf, len);
	else
		(void)peer_from_fd(0, buf, len);
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *mode;
	char err[512], peer[SMTP_PEER_MAX];
	enum session_end end;
	enum session_mode m = SESSION_MX;
	struct io io;
	int ch;

	log_init("smtp-in");
	while ((ch = getopt(argc, argv, "+C:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	mode = argv[optind];
	if (strcmp(mode, "mx") == 0)
		m = SESSION_MX;
	else if (strcmp(mode, "submission") == 0)
		m = SESSION_SUBMISSION;
	else if (strcmp(mode, "submissions") == 0)
		m = SESSION_SUBMISSIONS;
	else
		usage();

	if (signals() == -1) {
		log_event("error", "op", "sigaction", "error", strerror(errno),
		    (char *)NULL);
		return EXIT_FAILURE;
	}
	if (conf_load(&conf, conf_dir(dir), err, sizeof(err)) == -1) {
		static const char msg[] = "421 4.3.0 configuration error\r\n";

		log_event("config", "error", err, (char *)NULL);
		(void)fd_write_all(1, msg, sizeof(msg) - 1);
		return EXIT_CONFIG;
	}
	helper_init();
	peer_address(peer, sizeof(peer));
	io_fd_init(&io, 0, 1);
	session_init(&session, &conf, &hooks, m, &io, peer);
	end = session_run(&session);
	helper_tls_end(&session);
	return end == SESSION_INTERNAL ? EXIT_FAILURE : EXIT_SUCCESS;
}
