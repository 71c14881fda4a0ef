/* main.c — smtp-in: one SMTP session on fd 0/1, started per connection by
 * smtp-listen, systemd (Accept=yes), inetd or tcpserver, in mx,
 * submission or submissions mode.  Arguments, environment and exit codes
 * only; the protocol is in session.c, the PROXY header in proxy.c.
 * Start-up stays lean — posthorn.conf and nothing else before the
 * greeting — because it is paid on every connection. */

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
#include "peer.h"
#include "prefault.h"
#include "proxy.h"
#include "session.h"
#include "str.h"

enum {
	EXIT_USAGE = 64,	/* sysexits.h EX_USAGE */
	EXIT_PROTOCOL = 76,	/* EX_PROTOCOL: no valid PROXY header */
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

/* POSTHORN_PROXY=1 (smtp-listen, for a connection from a configured
 * proxy): the PROXY header comes first, and its source is the peer.  0,
 * or -1 when there is no valid header (logged; nothing is written). */
static int
proxy_peer(char *peer, size_t len, char *via, size_t vialen)
{
	struct proxy_info pi;
	const char *e, *why;
	char log[SMTP_PEER_MAX + 2];

	via[0] = '\0';
	if ((e = getenv("POSTHORN_PROXY")) == NULL || strcmp(e, "1") != 0)
		return 0;
	if (proxy_read(0, clock_ms() + (int64_t)PROXY_TIMEOUT * 1000, &pi,
	    &why) == -1) {
		int err = errno;

		(void)str_fmt(log, sizeof(log), "[%s]", peer);
		log_event("proxy-error", "reason", why, "peer",
		    strcmp(peer, "unknown") != 0 ? log : peer,
		    "error", strcmp(why, "read") == 0 ? strerror(err) : NULL,
		    (char *)NULL);
		return -1;
	}
	/* UNKNOWN and LOCAL: the proxy's own connection, REMOTE_ADDR. */
	if (pi.local)
		return 0;
	(void)str_copy(via, vialen, peer);
	(void)str_copy(peer, len, pi.src);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *mode;
	char err[512], peer[SMTP_PEER_MAX], via[SMTP_PEER_MAX];
	enum session_end end;
	enum session_mode m = SESSION_MX;
	struct io io;
	int ch;

	/* First: the pages it will write, at once (prefault.h). */
	prefault_stack(PREFAULT_STACK);
	prefault(&conf, sizeof(conf));
	session_prefault(&session);
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
	/* Before anything else: every byte after the header is SMTP. */
	(void)peer_of_session(0, peer, sizeof(peer));
	if (proxy_peer(peer, sizeof(peer), via, sizeof(via)) == -1)
		return EXIT_PROTOCOL;
	if (conf_load(&conf, conf_dir(dir), err, sizeof(err)) == -1) {
		static const char msg[] = "421 4.3.0 configuration error\r\n";

		log_event("config", "error", err, (char *)NULL);
		(void)fd_write_all(1, msg, sizeof(msg) - 1);
		return EXIT_CONFIG;
	}
	helper_init();
	io_fd_init(&io, 0, 1);
	session_init(&session, &conf, &hooks, m, &io, peer);
	session_via(&session, via);
	session.tls_key_elsewhere = helper_has_zygote();
	session_checker(&session, helper_checkd());
	end = session_run(&session);
	helper_report(&session);
	helper_tls_end(&session);
	return end == SESSION_INTERNAL ? EXIT_FAILURE : EXIT_SUCCESS;
}
