/* sendmail_main.c — sendmail(8): the command line every Unix program
 * expects, turned into a queue-inject(8) run.  It takes the header block
 * in (bounded), completes it (sendmail.c), then starts the queue-inject
 * that sits beside its own executable and streams the header and the
 * body to it through a pipe.  The exit code is queue-inject's, so 0
 * still means "queued and fsynced" and 75 "nothing queued, try again". */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "inject.h"
#include "io.h"
#include "log.h"
#include "self.h"
#include "child.h"
#include "sendmail.h"
#include "str.h"

extern char **environ;

enum {
	BODY_CHUNK = 64 * 1024,	/* bytes per read(2) of the body */
	ERR_MAX = 512,
	LOGIN_MAX = 256
};

#define INJECT_PROG	"queue-inject"

struct opts {
	const char	*copt;		/* -C */
	const char	*sender;	/* -f, -r; NULL if not given */
	const char	*fullname;	/* -F */
	int		 extract;	/* -t */
	int		 dots;		/* no -i: a lone "." ends input */
	int		 eightbit;	/* -B 8BITMIME */
};

static void
fail_usage(const char *reason)
{
	log_event("usage", "reason", reason, (char *)NULL);
	exit(INJECT_USAGE);
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	o->dots = 1;
	while ((c = getopt(argc, argv, "tif:r:F:C:o:vb:B:N:R:V:X:")) != -1) {
		switch (c) {
		case 't':
			o->extract = 1;
			break;
		case 'i':
			o->dots = 0;
			break;
		case 'f':
		case 'r':
			o->sender = optarg;
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'C':
			o->copt = optarg;
			break;
		case 'o':
			/* -oi is -i; -od*, -oe*, -om and the other
			 * sendmail.cf options have nothing to set here. */
			if (strcmp(optarg, "i") == 0)
				o->dots = 0;
			break;
		case 'b':
			if (strcmp(optarg, "m") != 0)
				fail_usage("only -bm (deliver mail) is "
				    "supported");
			break;
		case 'B':
			if (strcasecmp(optarg, "8BITMIME") == 0)
				o->eightbit = 1;
			break;
		case 'v':
		case 'N':
		case 'R':
		case 'V':
		case 'X':
			break;		/* accepted and ignored */
		default:
			fail_usage("sendmail [-t] [-i] [-f SENDER] "
			    "[-F FULLNAME] [-C DIR] [--] [RECIPIENT...]");
		}
	}
}

/* "<a@b>" or "a@b" to "a@b"; "" or "<>" to "" (the null sender); a
 * bare local part gets the host name. */
static int
envelope_sender(const char *arg, const char *login, const char *hostname,
    char *out, size_t size)
{
	size_t n;

	if (arg == NULL)
		return str_fmt(out, size, "%s@%s", login, hostname);
	n = strlen(arg);
	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
		arg++;
		n -= 2;
	}
	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	if (memchr(arg, '@', n) != NULL)
		return str_fmt(out, size, "%.*s", (int)n, arg);
	return str_fmt(out, size, "%.*s@%s", (int)n, arg, hostname);
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int
spawn_inject(const struct opts *o, const char *sender,
    const struct sendmail_rcpts *r, int *wfd, pid_t *pid)
{
	char path[PATH_MAX];
	char **argv = NULL;
	size_t i, k = 0, utf8 = has_8bit(sender);
	int p[2] = { -1, -1 }, rc = -1, e;

	if (self_sibling(INJECT_PROG, path, sizeof path) == -1)
		return -1;
	for (i = 0; i < r->n; i++)
		utf8 |= has_8bit(r->v[i]);
	if ((argv = calloc(r->n + 10, sizeof *argv)) == NULL)
		return -1;
	argv[k++] = (char *)INJECT_PROG;
	if (o->copt != NULL) {
		argv[k++] = (char *)"-C";
		argv[k++] = (char *)o->copt;
	}
	if (utf8)
		argv[k++] = (char *)"-U";
	if (o->eightbit)
		argv[k++] = (char *)"-8";
	argv[k++] = (char *)"-f";
	argv[k++] = (char *)sender;
	argv[k++] = (char *)"--";
	for (i = 0; i < r->n; i++)
		argv[k++] = r->v[i];
	argv[k] = NULL;

	if (pipe2(p, O_CLOEXEC) == -1)
		goto out;
	/* We ignore SIGPIPE to see EPIPE; the child must not inherit it
	 * (child_start). */
	e = child_start(pid, path, argv, environ, &p[0], 1, 0);
	if (e != 0) {
		errno = e;
		goto out;
	}
	*wfd = p[1];
	p[1] = -1;
	rc = 0;
out:
	e = errno;
	if (p[0] != -1)
		(void)close(p[0]);
	if (p[1] != -1)
		(void)close(p[1]);
	free(argv);
	errno = e;
	return rc;
}

static int
wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return INJECT_TEMPFAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return INJECT_TEMPFAIL;
}

/* Send buf (after the "." rule) to queue-inject. */
static int
send_body(int wfd, struct sendmail_dot *d, int dots, const char *buf,
    size_t n, char *tmp)
{
	size_t m;

	if (!dots)
		return fd_write_all(wfd, buf, n);
	m = sendmail_dot(d, buf, n, tmp);
	return fd_write_all(wfd, tmp, m);
}

/* The header block into hbuf: returns 0 with sp set, or an exit code
 * after logging why. */
static int
read_header(char *hbuf, size_t *lenp, int *eofp, int dots,
    struct sendmail_split *sp)
{
	size_t len = 0;
	ssize_t r;
	int eof = 0;

	memset(sp, 0, sizeof *sp);
	while (!sendmail_split(hbuf, len, eof, dots, sp)) {
		if (len == SENDMAIL_HEADER_MAX) {
			log_event("failed", "reason", "header block over "
			    "256 KiB", (char *)NULL);
			return INJECT_DATAERR;
		}
		r = read(STDIN_FILENO, hbuf + len, SENDMAIL_HEADER_MAX - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_event("failed", "reason", "reading the message",
			    "error", strerror(errno), (char *)NULL);
			return INJECT_TEMPFAIL;
		}
		if (r == 0)
			eof = 1;
		len += (size_t)r;
	}
	*lenp = len;
	*eofp = eof;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct conf conf;
	struct sendmail_opts so;
	struct sendmail_rcpts rcpts = { NULL, 0, 0 };
	struct sendmail_split sp;
	struct sendmail_dot dot = { 0, 0 };
	struct passwd *pw;
	struct str out;
	char err[ERR_MAX], login[LOGIN_MAX], msgid[SENDMAIL_MSGID_MAX];
	char sender[ADDR_TEXT_MAX + LOGIN_MAX], from[ADDR_TEXT_MAX + LOGIN_MAX];
	char *hbuf = NULL, *obuf = NULL, *chunk = NULL, *tmp = NULL, *a;
	size_t hlen, n, i;
	ssize_t r;
	pid_t pid;
	int wfd = -1, rc, broken = 0, eof = 0, e;

	log_init("sendmail");
	(void)signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	argc -= optind;
	argv += optind;

	if (conf_load(&conf, conf_dir(o.copt), err, sizeof err) == -1) {
		log_event("failed", "reason", err, (char *)NULL);
		return INJECT_CONFIG;
	}
	if ((pw = getpwuid(getuid())) != NULL)
		rc = str_copy(login, sizeof login, pw->pw_name);
	else
		rc = str_fmt(login, sizeof login, "uid-%ld", (long)getuid());
	if (rc == -1 || envelope_sender(o.sender, login, conf.hostname,
	    sender, sizeof sender) == -1)
		fail_usage("sender address too long");
	if (sender[0] != '\0')
		(void)str_copy(from, sizeof from, sender);
	else
		(void)str_fmt(from, sizeof from, "%s@%s", login, conf.hostname);
	if (o.fullname != NULL && strlen(o.fullname) > SENDMAIL_FULLNAME_MAX)
		fail_usage("full name (-F) too long");

	for (i = 0; i < (size_t)argc; i++) {
		a = argv[i];
		n = strlen(a);
		if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
			a++;
			n -= 2;
		}
		if (sendmail_rcpt_add(&rcpts, a, n, conf.hostname) == -1) {
			log_event("failed", "reason", "bad recipient", "rcpt",
			    argv[i], "error", strerror(errno), (char *)NULL);
			rc = errno == ENOMEM ? INJECT_TEMPFAIL : INJECT_DATAERR;
			goto out;
		}
	}

	if ((hbuf = malloc(SENDMAIL_HEADER_MAX)) == NULL ||
	    (obuf = malloc(SENDMAIL_OUT_MAX)) == NULL ||
	    (chunk = malloc(BODY_CHUNK)) == NULL ||
	    (tmp = malloc(BODY_CHUNK + 2)) == NULL) {
		log_event("failed", "reason", strerror(errno), (char *)NULL);
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	if ((rc = read_header(hbuf, &hlen, &eof, o.dots, &sp)) != 0)
		goto out;
	memset(&so, 0, sizeof so);
	so.extract = o.extract;
	so.hostname = conf.hostname;
	so.from = from;
	so.fullname = o.fullname;
	so.now = time(NULL);
	if (sendmail_msgid(msgid, sizeof msgid, conf.hostname, so.now) == -1) {
		log_event("failed", "reason", "making a Message-ID", "error",
		    strerror(errno), (char *)NULL);
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	so.msgid = msgid;
	str_init(&out, obuf, SENDMAIL_OUT_MAX);
	if (sendmail_headers(&so, hbuf, sp.hdrlen, &out, &rcpts) == -1) {
		e = errno;
		log_event("failed", "reason", e == EINVAL ?
		    "an address field (To:, Cc:, Bcc:) does not parse" :
		    e == E2BIG ? "too many recipients" :
		    e == ENOBUFS ? "header block too large" : strerror(e),
		    (char *)NULL);
		errno = e;
		rc = errno == ENOMEM ? INJECT_TEMPFAIL : INJECT_DATAERR;
		goto out;
	}
	if (rcpts.n == 0) {
		log_event("usage", "reason", "no recipients: name some, or "
		    "use -t with To:, Cc: or Bcc: fields", (char *)NULL);
		rc = INJECT_USAGE;
		goto out;
	}

	if (spawn_inject(&o, sender, &rcpts, &wfd, &pid) == -1) {
		log_event("failed", "reason", "cannot run " INJECT_PROG,
		    "error", strerror(errno), (char *)NULL);
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	/* A write error is EPIPE: queue-inject gave up and its exit code
	 * says why; stop sending and ask it. */
	if (fd_write_all(wfd, out.s, out.len) == -1 ||
	    fd_write_all(wfd, "\n", 1) == -1)
		broken = 1;
	dot.end = sp.end;
	if (!broken && !dot.end && hlen > sp.body &&
	    send_body(wfd, &dot, o.dots, hbuf + sp.body, hlen - sp.body,
	    tmp) == -1)
		broken = 1;
	while (!broken && !dot.end && !eof) {
		r = read(STDIN_FILENO, chunk, BODY_CHUNK);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			/* Closing the pipe now would queue half a message:
			 * queue-inject must die without its end of input. */
			log_event("failed", "reason", "reading the message",
			    "error", strerror(errno), (char *)NULL);
			(void)kill(pid, SIGKILL);
			(void)wait_child(pid);
			rc = INJECT_TEMPFAIL;
			goto out;
		}
		if (r == 0)
			eof = 1;
		else if (send_body(wfd, &dot, o.dots, chunk, (size_t)r, tmp)
		    == -1)
			broken = 1;
	}
	if (!broken && o.dots && (n = sendmail_dot_end(&dot, tmp)) > 0 &&
	    fd_write_all(wfd, tmp, n) == -1)
		broken = 1;
	/* Even when a write broke, the exit code is queue-inject's: it
	 * only stops reading to fail, and then it says why. */
	(void)close(wfd);
	wfd = -1;
	rc = wait_child(pid);
out:
	if (wfd != -1)
		(void)close(wfd);
	sendmail_rcpts_free(&rcpts);
	free(tmp);
	free(chunk);
	free(obuf);
	free(hbuf);
	return rc;
}
