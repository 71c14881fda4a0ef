/* inject_main.c — queue-inject(8): arguments, environment and exit code
 * around inject_run().  It is installed root's and setgid posthorn-drop
 * (posthorn-queue(5)) so that any user may queue mail into a spool that
 * only posthorn and that group may write, with the caller's uid, which
 * the envelope records: so it reads only the system configuration
 * (conf_dir ignores -C and POSTHORN_CONF in a set-id process), opens no
 * path a user named (lib/queue.c follows no link under the spool), and
 * makes sure that descriptors 0-2 exist before it opens anything, so
 * that a log line can never land in a queue file. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "inject.h"
#include "io.h"
#include "log.h"
#include "queue.h"

enum { ERR_MAX = 512 };

#ifdef __SANITIZE_ADDRESS__
/* The sanitizer build only.  Run set-id, a process is undumpable, so
 * LeakSanitizer cannot stop it with ptrace(2) and dies at exit; and the
 * sanitizer ignores ASAN_OPTIONS there.  So no leak check when set-id
 * (AT_SECURE); every other run of queue-inject still has one. */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return getauxval(AT_SECURE) != 0 ? "detect_leaks=0" : "";
}
#endif

static void
usage(void)
{
	log_event("usage", "reason", "queue-inject [-C DIR] [-U] [-8] [-v] "
	    "-f SENDER [--] RECIPIENT...", (char *)NULL);
	_exit(INJECT_USAGE);
}

int
main(int argc, char *argv[])
{
	struct inject in;
	struct conf conf;
	const char *copt = NULL, *sender = NULL;
	char err[ERR_MAX], uid[24], rcpts[24], size[24];
	char from[ADDR_TEXT_MAX + 2];
	int c, verbose = 0, rc;

	(void)umask(027);
	if (fd_std_open() == -1)
		return INJECT_TEMPFAIL;
	log_init("queue-inject");
	/* A file size limit is a write error (EFBIG, so 75), not a kill
	 * that leaves the temporary behind. */
	(void)signal(SIGXFSZ, SIG_IGN);

	memset(&in, 0, sizeof in);
	/* "+": the first recipient ends the options, as in POSIX. */
	while ((c = getopt(argc, argv, "+C:U8vf:")) != -1) {
		switch (c) {
		case 'C':
			copt = optarg;
			break;
		case 'U':
			in.flags |= QUEUE_SMTPUTF8;
			break;
		case '8':
			in.flags |= QUEUE_8BITMIME;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'f':
			sender = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (sender == NULL || argc == 0)
		usage();

	if (conf_load(&conf, conf_dir(copt), err, sizeof err) == -1) {
		log_event("failed", "reason", err, (char *)NULL);
		return INJECT_CONFIG;
	}
	in.spool = conf.spool;
	in.max_size = conf.max_message_size;
	in.minfree = conf.queue_minfree;
	in.authserv = conf.hostname;
	in.sender = sender;
	in.rcpts = (const char *const *)argv;
	in.nrcpts = (size_t)argc;
	in.uid = (long)getuid();

	rc = inject_run(&in, STDIN_FILENO);
	(void)snprintf(uid, sizeof uid, "%ld", in.uid);
	if (rc != INJECT_OK) {
		log_event("failed", "id", in.id[0] != '\0' ? in.id : NULL,
		    "uid", uid, "reason", in.reason, (char *)NULL);
		return rc;
	}
	(void)snprintf(rcpts, sizeof rcpts, "%zu", in.nqueued);
	(void)snprintf(size, sizeof size, "%llu",
	    (unsigned long long)in.size);
	(void)snprintf(from, sizeof from, "<%s>", in.from);
	/* Silent on success unless asked: stderr is often a cron job's,
	 * where a log line would come back as one more mail.  The message
	 * is queued whatever happens to these lines: 75 here would make the
	 * caller send it twice. */
	if (verbose) {
		log_event("queued", "id", in.id, "from", from, "rcpts", rcpts,
		    "size", size, "uid", uid, (char *)NULL);
		(void)printf("%s\n", in.id);
	}
	return INJECT_OK;
}
