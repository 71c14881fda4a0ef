/* helpers.c — starting smtp-tlsd, smtp-auth and aliases -r, or asking
 * the listener's residents instead, and reading their one status line.  Each is found beside smtp-in's own executable
 * and gets the configuration directory with -C, as every program passes
 * it on.  smtp-tlsd is asked of the TLS zygote instead when the listener
 * runs one (POSTHORN_TLSD_FD): the same helper, forked rather than
 * exec'd, for a fraction of the CPU. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "helpers.h"
#include "io.h"
#include "keeper.h"
#include "log.h"
#include "self.h"
#include "str.h"
#include "tlsz.h"

extern char **environ;

/* In the child: exec the helper (with "opt arg" when opt is not NULL) or
 * say why on stderr (the log) and die. */
static void
exec_helper(const char *path, const char *confdir, const char *opt,
    const char *arg)
{
	char *const argv[] = { (char *)path, (char *)"-C", (char *)confdir,
	    (char *)opt, (char *)arg, NULL };
	sigset_t none;

	/* smtp-in ignores SIGPIPE and may hold an alarm: neither is the
	 * helper's. */
	(void)signal(SIGPIPE, SIG_DFL);
	(void)signal(SIGALRM, SIG_DFL);
	(void)alarm(0);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, environ);
	log_event("error", "op", "exec", "path", path, "error",
	    strerror(errno), (char *)NULL);
	_exit(127);
}

/* One line (LF removed) from fd into buf, by the deadline. */
static int
read_status(struct io *io, struct line *l, char *buf, size_t size,
    int64_t deadline)
{
	struct str line;
	unsigned flags;

	(void)io;
	str_init(&line, buf, size);
	switch (line_get(l, &line, size - 1, deadline, &flags)) {
	case LINE_OK:
		return 0;
	case LINE_TIMEOUT:
		errno = ETIMEDOUT;
		return -1;
	case LINE_EOF:
		errno = EPIPE;
		return -1;
	default:
		return -1;
	}
}

/* "ok VERSION CIPHER SNI" into the session. */
static int
parse_tls_status(struct session *s, char *line, char *why, size_t whysize)
{
	char *f[4], *p = line;
	size_t n;

	if (strncmp(line, "fail ", 5) == 0) {
		str_fmt_cut(why, whysize, "TLS handshake failed: %s", line + 5);
		return -1;
	}
	for (n = 0; n < 4 && p != NULL; n++) {
		f[n] = p;
		if ((p = strchr(p, ' ')) != NULL)
			*p++ = '\0';
	}
	if (n != 4 || p != NULL || strcmp(f[0], "ok") != 0 ||
	    str_copy(s->tls_version, sizeof(s->tls_version), f[1]) == -1 ||
	    str_copy(s->tls_cipher, sizeof(s->tls_cipher), f[2]) == -1) {
		str_fmt_cut(why, whysize, "smtp-tlsd said: %.200s", line);
		return -1;
	}
	(void)str_copy(s->tls_sni, sizeof(s->tls_sni),
	    strcmp(f[3], "-") == 0 ? "" : f[3]);
	return 0;
}

/* The TLS zygote's socket, from POSTHORN_TLSD_FD (helper_init), or -1. */
static int	zygote_fd = -1;
/* This session's smtp-tlsd is a child of the zygote, not ours. */
static int	tls_by_zygote;

/* The descriptor named by the variable var, if it is above 2 and a
 * socket of the type, now close-on-exec; else -1. */
static int
inherited_socket(const char *var, int type)
{
	const char *e;
	char *end;
	long fd;
	int t;
	socklen_t len = sizeof(t);

	if ((e = getenv(var)) == NULL || *e == '\0')
		return -1;
	errno = 0;
	fd = strtol(e, &end, 10);
	/* Not 0, 1 or 2 (the network and the log), and of the type;
	 * anything else is ignored. */
	if (errno != 0 || *end != '\0' || fd <= 2 || fd > INT_MAX)
		return -1;
	/* Ours alone, whatever it turns out to be: smtp-auth, aliases -r
	 * and an exec'd smtp-tlsd must not hold it. */
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &t, &len) == -1 ||
	    t != type)
		return -1;
	return (int)fd;
}

/* smtp-listen's report socket, from POSTHORN_REPORT_FD, or -1. */
static int	report_fd = -1;
/* smtp-keeper's socket, from POSTHORN_KEEPER_FD (keeper.h), or -1. */
static int	keeper_fd = -1;

/* One question to the keeper: the socket its answer comes on (for
 * AUTH, smtp-auth's standard input and output), or -1 when it could
 * not be asked (no keeper, or it is gone or lags): then the caller does
 * as without one.  A keeper that is gone stays given up. */
static int
keeper_ask(const char *question)
{
	int sp[2];

	if (keeper_fd == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	if (keeper_send(keeper_fd, sp[1], question) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINVAL)
			fd_close(&keeper_fd);
		(void)close(sp[0]);
		(void)close(sp[1]);
		return -1;
	}
	(void)close(sp[1]);
	return sp[0];
}

/* The answer line on fd, which is closed: 0, or -1 with errno. */
static int
keeper_answer(int fd, char *buf, size_t size, int timeout_s)
{
	struct io io;
	struct line l;
	int rc;

	io_fd_init(&io, fd, fd);
	line_init(&l, &io);
	rc = read_status(&io, &l, buf, size, clock_ms() +
	    (int64_t)timeout_s * 1000);
	(void)close(fd);
	return rc;
}

/* alias.h's oracle: is name a user of domain?  smtp-in under the
 * listener cannot read the users files (smtp-listen(8), PRIVILEGES). */
static int
keeper_user(const char *domain, const char *name)
{
	char q[KEEPER_REQ_MAX + 1], a[HELPER_LINE_MAX];
	int fd;

	if (str_fmt(q, sizeof(q), "user %s %s", domain, name) == -1 ||
	    (fd = keeper_ask(q)) == -1)
		return ALIAS_ASK_FILE;
	if (keeper_answer(fd, a, sizeof(a), HELPER_SRS_TIMEOUT) == 0) {
		if (strcmp(a, "yes") == 0)
			return 1;
		if (strcmp(a, "no") == 0)
			return 0;
		log_event("keeper", "op", "user", "answer", a, (char *)NULL);
	}
	errno = EAGAIN;
	return -1;
}

int
helper_has_zygote(void)
{
	return zygote_fd != -1;
}

/* smtp-listen's checker socket, from POSTHORN_CHECKD_FD, or -1. */
static int	checkd_fd = -1;

int
helper_checkd(void)
{
	return checkd_fd;
}

void
helper_init(void)
{
	zygote_fd = inherited_socket(HELPER_TLSD_FD_ENV, SOCK_SEQPACKET);
	report_fd = inherited_socket(HELPER_REPORT_FD_ENV, SOCK_DGRAM);
	keeper_fd = inherited_socket(KEEPER_FD_ENV, SOCK_SEQPACKET);
	if (keeper_fd != -1)
		alias_set_user_oracle(keeper_user);
	checkd_fd = inherited_socket(HELPER_CHECKD_FD_ENV, SOCK_SEQPACKET);
}

void
helper_report(const struct session *s)
{
	char line[256];

	if (report_fd == -1)
		return;
	if (str_fmt(line, sizeof(line), "mode=%s end=%s messages=%u tls=%s "
	    "auth_ok=%u auth_failed=%u auth_temp=%u",
	    session_mode_name(s->mode), session_end_name(s->end), s->messages,
	    s->tls ? "ok" : s->end == SESSION_TLS_FAILED ? "failed" : "none",
	    s->login[0] != '\0' ? 1u : 0u, s->auth_failures, s->auth_temps) ==
	    0)
		(void)send(report_fd, line, strlen(line),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* fd 0 and 1 are one socket (inetd, tcpserver, systemd, the listener):
 * what the zygote's child takes as both. */
static int
net_is_one_socket(void)
{
	struct stat a, b;

	return fstat(0, &a) == 0 && fstat(1, &b) == 0 &&
	    S_ISSOCK(a.st_mode) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
}

/* The zygote's child for this session: 0 once the request is sent, or
 * -1, and then the zygote is given up (the caller execs smtp-tlsd). */
static int
ask_zygote(const struct session *s, int ctl)
{
	if (zygote_fd == -1 || !net_is_one_socket())
		return -1;
	if (tlsz_send(zygote_fd, 0, ctl, s->peer) == -1) {
		fd_close(&zygote_fd);
		return -1;
	}
	/* One TLS start a session: a session that a client took over
	 * after it must find no way left to the zygote. */
	fd_close(&zygote_fd);
	return 0;
}

int
helper_starttls(struct session *s, char *why, size_t whysize)
{
	char path[PATH_MAX], status[HELPER_LINE_MAX];
	int sp[2];
	pid_t pid = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		str_fmt_cut(why, whysize, "socketpair: %s", strerror(errno));
		return -1;
	}
	if (ask_zygote(s, sp[1]) == 0)
		tls_by_zygote = 1;
	else if (self_sibling(HELPER_TLSD, path, sizeof(path)) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", HELPER_TLSD, strerror(errno));
		(void)close(sp[0]);
		(void)close(sp[1]);
		return -1;
	} else if ((pid = fork()) == -1) {
		str_fmt_cut(why, whysize, "fork: %s", strerror(errno));
		(void)close(sp[0]);
		(void)close(sp[1]);
		return -1;
	} else if (pid == 0) {
		/* fd 0/1 stay the network; fd 3 is smtp-in.  Should the
		 * pair be 3 already, dup2 would leave it close-on-exec. */
		if (sp[1] == 3 ? fcntl(3, F_SETFD, 0) == -1 :
		    dup2(sp[1], 3) == -1)
			_exit(127);
		exec_helper(path, s->conf->dir, NULL, NULL);
	}
	s->tls_pid = pid;
	/* From here on the network is smtp-tlsd's alone: our fd 0 and 1
	 * become the socketpair, and no byte of the client reaches us but
	 * through TLS. */
	if (dup2(sp[0], 0) == -1 || dup2(sp[0], 1) == -1) {
		str_fmt_cut(why, whysize, "dup2: %s", strerror(errno));
		if (pid > 0)
			(void)kill(pid, SIGKILL);
		(void)close(sp[0]);
		(void)close(sp[1]);
		return -1;
	}
	(void)close(sp[0]);
	(void)close(sp[1]);
	if (read_status(s->io, &s->line, status, sizeof(status),
	    clock_ms() + (int64_t)HELPER_TLS_TIMEOUT * 1000) == -1) {
		str_fmt_cut(why, whysize, "no word from %s: %s", HELPER_TLSD,
		    strerror(errno));
		return -1;
	}
	return parse_tls_status(s, status, why, whysize);
}

/* smtp-auth's exit status into its class (its line gives the reason). */
static enum session_auth
auth_class(int status)
{
	if (!WIFEXITED(status))
		return SESSION_AUTH_TEMP;
	switch (WEXITSTATUS(status)) {
	case 0:
		return SESSION_AUTH_OK;
	case 1:
		return SESSION_AUTH_NO;
	case 2:
		return SESSION_AUTH_BAD;
	default:
		return SESSION_AUTH_TEMP;
	}
}

/* Fork smtp-auth with a pipe each way; -1 with why. */
static pid_t
spawn_auth(const struct session *s, int *in, int *out, char *why,
    size_t whysize)
{
	char path[PATH_MAX];
	int to[2] = { -1, -1 }, from[2] = { -1, -1 };
	pid_t pid = -1;

	if (self_sibling(HELPER_AUTH, path, sizeof(path)) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", HELPER_AUTH, strerror(errno));
		return -1;
	}
	if (pipe2(to, O_CLOEXEC) == -1 || pipe2(from, O_CLOEXEC) == -1 ||
	    (pid = fork()) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", HELPER_AUTH, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		if (dup2(to[0], 0) == -1 || dup2(from[1], 1) == -1)
			_exit(127);
		/* The client's address, the PROXY header's if there was
		 * one: failures are counted by it (authlimit.h). */
		exec_helper(path, s->conf->dir, "-p", s->peer);
	}
	(void)close(to[0]);
	(void)close(from[1]);
	*in = to[1];
	*out = from[0];
	return pid;
fail:
	fd_close(&to[0]);
	fd_close(&to[1]);
	fd_close(&from[0]);
	fd_close(&from[1]);
	return -1;
}

/* smtp-auth's answer line into the session's terms: the class is its
 * first word, as its exit code says it (smtp-auth(8)). */
static enum session_auth
auth_answer(const char *reply, char *login, size_t loginsize, char *why,
    size_t whysize)
{
	const char *sp = strchr(reply, ' ');

	if (strncmp(reply, "ok ", 3) == 0) {
		if (str_copy(login, loginsize, reply + 3) == -1 ||
		    strchr(login, '@') == NULL) {
			str_fmt_cut(why, whysize, "%s said: %.200s",
			    HELPER_AUTH, reply);
			login[0] = '\0';
			return SESSION_AUTH_TEMP;
		}
		return SESSION_AUTH_OK;
	}
	str_fmt_cut(why, whysize, "%s", sp != NULL ? sp + 1 :
	    reply[0] != '\0' ? reply : "smtp-auth failed");
	if (strncmp(reply, "no ", 3) == 0)
		return SESSION_AUTH_NO;
	if (strncmp(reply, "bad ", 4) == 0)
		return SESSION_AUTH_BAD;
	return SESSION_AUTH_TEMP;
}

/* AUTH through the keeper's smtp-auth (it reads the users files, we may
 * not): 0 with *rc, or -1 when the keeper could not be asked. */
static int
keeper_auth(const struct session *s, const char *request, char *login,
    size_t loginsize, char *why, size_t whysize, enum session_auth *rc)
{
	char q[KEEPER_REQ_MAX + 1], reply[HELPER_LINE_MAX];
	int fd;

	*rc = SESSION_AUTH_TEMP;
	if (str_fmt(q, sizeof(q), "auth %s", s->peer[0] != '\0' ? s->peer :
	    "-") == -1 || (fd = keeper_ask(q)) == -1)
		return -1;
	/* One line, then EOF: smtp-auth reads no more.  An empty socket
	 * buffer takes it whole (AUTH_REQUEST_MAX is far below it). */
	if (fd_write_all(fd, request, strlen(request)) == -1 ||
	    fd_write_all(fd, "\n", 1) == -1 || shutdown(fd, SHUT_WR) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", HELPER_AUTH,
		    strerror(errno));
		(void)close(fd);
		return 0;
	}
	if (keeper_answer(fd, reply, sizeof(reply), HELPER_AUTH_TIMEOUT) ==
	    -1) {
		str_fmt_cut(why, whysize, "no word from %s: %s", HELPER_AUTH,
		    strerror(errno));
		return 0;
	}
	*rc = auth_answer(reply, login, loginsize, why, whysize);
	return 0;
}

enum session_auth
helper_auth(struct session *s, const char *request, char *login,
    size_t loginsize, char *why, size_t whysize)
{
	char reply[HELPER_LINE_MAX];
	enum session_auth rc = SESSION_AUTH_TEMP;
	struct io io;
	struct line l;
	int in = -1, out = -1, status;
	pid_t pid;

	login[0] = '\0';
	if (keeper_auth(s, request, login, loginsize, why, whysize, &rc) == 0)
		return rc;
	if ((pid = spawn_auth(s, &in, &out, why, whysize)) == -1)
		return SESSION_AUTH_TEMP;
	/* One line, then EOF: smtp-auth reads no more. */
	if (fd_write_all(in, request, strlen(request)) == -1 ||
	    fd_write_all(in, "\n", 1) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", HELPER_AUTH, strerror(errno));
		(void)kill(pid, SIGKILL);
	}
	fd_close(&in);
	io_fd_init(&io, out, out);
	line_init(&l, &io);
	reply[0] = '\0';
	if (read_status(&io, &l, reply, sizeof(reply), clock_ms() +
	    (int64_t)HELPER_AUTH_TIMEOUT * 1000) == -1) {
		str_fmt_cut(why, whysize, "no word from %s: %s", HELPER_AUTH,
		    strerror(errno));
		(void)kill(pid, SIGKILL);
	}
	fd_close(&out);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			str_fmt_cut(why, whysize, "waitpid: %s", strerror(errno));
			return SESSION_AUTH_TEMP;
		}
	rc = auth_class(status);
	if (rc == SESSION_AUTH_OK && (strncmp(reply, "ok ", 3) != 0 ||
	    str_copy(login, loginsize, reply + 3) == -1 ||
	    strchr(login, '@') == NULL)) {
		str_fmt_cut(why, whysize, "%s said: %.200s", HELPER_AUTH, reply);
		login[0] = '\0';
		return SESSION_AUTH_TEMP;
	}
	if (rc != SESSION_AUTH_OK && why[0] == '\0') {
		/* "no REASON", "bad REASON", "temp REASON": the reason. */
		const char *sp = strchr(reply, ' ');

		str_fmt_cut(why, whysize, "%s", sp != NULL ? sp + 1 :
		    reply[0] != '\0' ? reply : "smtp-auth failed");
	}
	return rc;
}

enum helper_srs
helper_srs_check(const struct session *s, const char *addr, char *why,
    size_t whysize)
{
	char path[PATH_MAX], line[HELPER_LINE_MAX];
	int fds[2] = { -1, -1 }, devnull = -1, status, fd;
	struct io io;
	struct line l;
	pid_t pid;

	why[0] = '\0';
	/* The client's address (under PROXY, the header's), whose failures
	 * the keeper counts; "-" when unknown. */
	if (str_fmt(line, sizeof(line), "srs %s %s", s->peer[0] != '\0' &&
	    strchr(s->peer, ' ') == NULL ? s->peer : "-", addr) == 0 &&
	    (fd = keeper_ask(line)) != -1) {
		if (keeper_answer(fd, line, sizeof(line),
		    HELPER_SRS_TIMEOUT) == -1) {
			str_fmt_cut(why, whysize, "no word from the keeper: "
			    "%s", strerror(errno));
			return HELPER_SRS_TEMP;
		}
		/* "ok ORIGINAL", "no REASON", "temp REASON" */
		str_fmt_cut(why, whysize, "%s", strchr(line, ' ') != NULL ?
		    strchr(line, ' ') + 1 : line);
		if (strncmp(line, "ok ", 3) == 0)
			return HELPER_SRS_OK;
		if (strncmp(line, "no ", 3) == 0)
			return HELPER_SRS_BAD;
		if (strncmp(line, "limit ", 6) == 0)
			return HELPER_SRS_LIMIT;
		return HELPER_SRS_TEMP;
	}
	if (self_sibling(HELPER_ALIASES, path, sizeof(path)) == -1 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", HELPER_ALIASES,
		    strerror(errno));
		fd_close(&devnull);
		fd_close(&fds[0]);
		fd_close(&fds[1]);
		return HELPER_SRS_TEMP;
	}
	if (pid == 0) {
		/* Its answer and its complaints both come to us: one line. */
		if (dup2(devnull, 0) == -1 || dup2(fds[1], 1) == -1 ||
		    dup2(fds[1], 2) == -1)
			_exit(127);
		exec_helper(path, s->conf->dir, "-r", addr);
	}
	fd_close(&devnull);
	fd_close(&fds[1]);
	io_fd_init(&io, fds[0], fds[0]);
	line_init(&l, &io);
	if (read_status(&io, &l, line, sizeof(line), clock_ms() +
	    (int64_t)HELPER_SRS_TIMEOUT * 1000) == -1) {
		str_fmt_cut(why, whysize, "no word from %s: %s",
		    HELPER_ALIASES, strerror(errno));
		(void)kill(pid, SIGKILL);
	} else
		str_fmt_cut(why, whysize, "%s", line);
	fd_close(&fds[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			str_fmt_cut(why, whysize, "waitpid: %s", strerror(errno));
			return HELPER_SRS_TEMP;
		}
	if (!WIFEXITED(status))
		return HELPER_SRS_TEMP;
	switch (WEXITSTATUS(status)) {
	case 0:
		return HELPER_SRS_OK;
	case 1:
		return HELPER_SRS_BAD;
	default:
		return HELPER_SRS_TEMP;
	}
}

void
helper_tls_end(struct session *s)
{
	int64_t until = clock_ms() + (int64_t)HELPER_TLS_END_TIMEOUT * 1000;
	struct pollfd p;
	char junk[4096];
	ssize_t n;
	int status;

	if (s->tls_pid <= 0 && !tls_by_zygote)
		return;
	(void)shutdown(1, SHUT_WR);
	/* smtp-tlsd closes its end once it is done: EOF here. */
	for (;;) {
		int64_t left = until - clock_ms();

		if (left <= 0)
			break;
		p.fd = 0;
		p.events = POLLIN;
		if (poll(&p, 1, left > 1000 ? 1000 : (int)left) == -1 &&
		    errno != EINTR)
			break;
		if (p.revents == 0)
			continue;
		if ((n = read(0, junk, sizeof(junk))) == 0 ||
		    (n == -1 && errno != EINTR && errno != EAGAIN))
			break;
	}
	/* The zygote's child is the zygote's to reap; it is done once our
	 * end reads EOF, or it has its own deadlines. */
	if (s->tls_pid > 0 && waitpid(s->tls_pid, &status, WNOHANG) == 0) {
		(void)kill(s->tls_pid, SIGKILL);
		(void)waitpid(s->tls_pid, &status, 0);
	}
	s->tls_pid = 0;
	tls_by_zygote = 0;
}
