/* auth_main.c — smtp-auth(8): smtp-in runs it once per AUTH attempt, with
 * the client's SASL exchange as one line on standard input, and takes its
 * answer from one line on standard output and the exit code.  smtp-in is
 * static and links no libsodium, which does the base64 and the argon2id
 * here.  The work is in auth.c; this file is the arguments, the pipe and
 * the exit code. */

#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "conf.h"
#include "io.h"
#include "log.h"
#include "str.h"

#define PROG	"smtp-auth"

enum {
	/* One verification takes a tenth of a second; a run that lasts a
	 * minute is stuck (a writer that never closes the pipe). */
	AUTH_RUN_MAX = 60,
	/* "temp " or "bad ", a reason or a login, LF, NUL. */
	ANSWER_MAX = 8 + AUTH_REASON_MAX + AUTH_LOGIN_MAX
};

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [-C dir] [-p address] < request\n");
}

static const char *
class(enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "ok";
	case AUTH_NO:
		return "no";
	case AUTH_BAD:
		return "bad";
	default:
		return "temp";
	}
}

/* The answer line on standard output, in one write(2); 0 or -1. */
static int
answer(enum auth_result r, const char *text)
{
	char line[ANSWER_MAX];

	if (str_fmt(line, sizeof(line), "%s %s\n", class(r), text) == -1)
		return -1;
	return fd_write_all(STDOUT_FILENO, line, strlen(line));
}

int
main(int argc, char **argv)
{
	static const struct rlimit no_core = { 0, 0 };
	struct conf conf;
	char line[AUTH_REQUEST_MAX + 2], login[AUTH_LOGIN_MAX];
	char reason[AUTH_REASON_MAX], err[1024];
	const char *opt = NULL, *source = getenv("REMOTE_ADDR");
	enum auth_result r;
	size_t len;
	int c;

	/* Its lines go to smtp-in's stderr, the session's log: the same
	 * form and time stamp as smtp-in's own. */
	log_init(PROG);
	while ((c = getopt(argc, argv, "C:p:")) != -1) {
		switch (c) {
		case 'C':
			opt = optarg;
			break;
		case 'p':
			source = optarg;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EX_USAGE;
	}
	/* A core file would hold the password. */
	if (setrlimit(RLIMIT_CORE, &no_core) == -1) {
		log_event("error", "op", "setrlimit", "error", strerror(errno),
		    (char *)NULL);
		return EX_OSERR;
	}
	/* A Dovecot that closes its socket early (auth_dovecot) is a
	 * temporary failure to answer, not a death by SIGPIPE. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_event("error", "op", "signal", "error", strerror(errno),
		    (char *)NULL);
		return EX_OSERR;
	}
	alarm(AUTH_RUN_MAX);
	if (conf_load(&conf, conf_dir(opt), err, sizeof(err)) == -1) {
		log_event("config", "error", err, (char *)NULL);
		return EX_CONFIG;
	}
	login[0] = '\0';
	if (auth_read_request(STDIN_FILENO, line, sizeof(line), &len) == -1) {
		r = errno == E2BIG || errno == EPROTO ? AUTH_BAD : AUTH_TEMP;
		if (errno == E2BIG)
			str_fmt_cut(reason, sizeof(reason),
			    "request longer than %d bytes", AUTH_REQUEST_MAX);
		else if (errno == EPROTO)
			str_fmt_cut(reason, sizeof(reason),
			    "request is not one line");
		else
			str_fmt_cut(reason, sizeof(reason),
			    "standard input: %s", strerror(errno));
	} else
		r = auth_check(&conf, source != NULL && *source != '\0' ?
		    source : AUTH_SOURCE_LOCAL, line, len, (int64_t)time(NULL),
		    login, sizeof(login), reason, sizeof(reason));
	sodium_memzero(line, sizeof(line));
	if (answer(r, r == AUTH_OK ? login : reason) == -1) {
		log_event("error", "op", "write", "error", strerror(errno),
		    (char *)NULL);
		return EX_IOERR;
	}
	return r;
}
