/* hook.c — running the content filter of smtp-in and reading its
 * verdict (hook.h; the protocol is smtp-in(8)'s FILTERS).  The filter
 * reads the queue file itself, through a descriptor of its own, so that
 * nothing is copied through a pipe and a filter that reads nothing
 * cannot block us; its output is bounded, its time too, and whatever it
 * started dies with it: it runs in a process group of its own, which is
 * killed at the end. */

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "hook.h"
#include "io.h"
#include "str.h"

#define HOOK_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"
#define HOOK_FAILED_REPLY	"451 4.3.0 content filter failed, try again later"
#define HOOK_TIMEOUT_REPLY	"451 4.7.1 content filter timed out, try again later"

enum {
	/* Without pidfd_open (Linux before 5.3), the wait for a filter
	 * that closed its output looks again this often, in ms. */
	HOOK_WAIT_STEP = 10,
	CMD_BUF = 1024		/* CONF_FILTER_MAX */
};

static void
failed(struct hook_result *r, const char *reply, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
failed(struct hook_result *r, const char *reply, const char *fmt, ...)
{
	va_list ap;

	r->verdict = HOOK_FAILED;
	r->fieldslen = 0;
	r->nfields = 0;
	r->fields[0] = '\0';
	(void)str_copy(r->reply, sizeof(r->reply), reply);
	va_start(ap, fmt);
	str_vfmt_cut(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

/* --- the output ------------------------------------------------------ */

int
hook_fields(const char *out, size_t n, struct hook_result *r)
{
	const char *p = out, *end = out + n, *nl, *le, *q;
	struct str f;

	r->nfields = 0;
	str_init(&f, r->fields, sizeof(r->fields));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		le = nl != NULL ? nl : end;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {
			/* It would end the header section: the rest would
			 * become the body. */
			failed(r, HOOK_FAILED_REPLY, "filter output: an "
			    "empty line");
			return -1;
		}
		if (le - p > HOOK_FIELD_LINE_MAX) {
			failed(r, HOOK_FAILED_REPLY, "filter output: a line "
			    "over %d octets", HOOK_FIELD_LINE_MAX);
			return -1;
		}
		for (q = p; q < le; q++)
			if ((*q < ' ' || *q > '~') && *q != '\t') {
				failed(r, HOOK_FAILED_REPLY, "filter output: "
				    "a byte that is not printable ASCII");
				return -1;
			}
		if (*p == ' ' || *p == '\t') {
			/* A continuation (RFC 5322 §2.2.3): of a field, and
			 * not only blanks. */
			for (q = p; q < le && (*q == ' ' || *q == '\t'); q++)
				;
			if (r->nfields == 0 || q == le) {
				failed(r, HOOK_FAILED_REPLY, "filter output: "
				    "a folded line %s", r->nfields == 0 ?
				    "before any field" : "of blanks only");
				return -1;
			}
		} else {
			/* RFC 5322 §3.6.8: a name of printable ASCII but
			 * ':', then ':'. */
			for (q = p; q < le && *q != ':' && *q > ' ' &&
			    *q <= '~'; q++)
				;
			if (q == p || q == le || *q != ':') {
				/* The line only: out is no C string. */
				failed(r, HOOK_FAILED_REPLY, "filter output: "
				    "not a header field: %.*s",
				    (int)(le - p < 60 ? le - p : 60), p);
				return -1;
			}
			if (++r->nfields > HOOK_FIELDS_MAX) {
				failed(r, HOOK_FAILED_REPLY, "filter output: "
				    "more than %d fields", HOOK_FIELDS_MAX);
				return -1;
			}
		}
		if (str_append(&f, p, (size_t)(le - p)) == -1 ||
		    str_appendc(&f, '\n') == -1) {
			failed(r, HOOK_FAILED_REPLY, "filter output: over %d "
			    "octets", HOOK_OUTPUT_MAX);
			return -1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	r->fieldslen = f.len;
	return 0;
}

/* The last line of out that is not blank, made printable (a tab a
 * space, any other control or non-ASCII byte '?'), its ends trimmed,
 * cut at HOOK_TEXT_MAX, into text. */
static void
last_line(const char *out, size_t n, char *text, size_t size)
{
	const char *end = out + n, *b, *e;
	size_t k = 0;

	text[0] = '\0';
	for (;;) {
		while (end > out && (end[-1] == '\n' || end[-1] == '\r' ||
		    end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end == out)
			return;
		for (b = end; b > out && b[-1] != '\n'; b--)
			;
		e = end;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		if (b < e)
			break;
		end = b;
	}
	for (; b < e && k + 1 < size; b++)
		text[k++] = *b == '\t' ? ' ' : (*b < ' ' || *b > '~') ? '?' :
		    *b;
	text[k] = '\0';
}

static int
digits(const char *p, size_t min, size_t max, const char **end)
{
	size_t n = 0;

	while (p[n] >= '0' && p[n] <= '9')
		n++;
	*end = p + n;
	return n >= min && n <= max;
}

/* The reply of a refusal (cls '5') or a deferral ('4'): the filter's
 * last line, which may start with a reply code of the class (x5x only:
 * 421, 521 and their kin close the session, and are not a filter's to
 * say) and an enhanced status code of the class (RFC 3463). */
static void
reply_from(const char *out, size_t n, char cls, struct hook_result *r)
{
	char text[HOOK_TEXT_MAX + 1], code[4], enh[16];
	const char *t = text, *e;

	last_line(out, n, text, sizeof(text));
	code[0] = cls;
	code[1] = '5';
	code[2] = cls == '5' ? '0' : '1';
	code[3] = '\0';
	(void)str_fmt(enh, sizeof(enh), "%c.7.1", cls);
	if (t[0] == cls && t[1] == '5' && t[2] >= '0' && t[2] <= '9' &&
	    (t[3] == ' ' || t[3] == '\0')) {
		memcpy(code, t, 3);
		t += t[3] == ' ' ? 4 : 3;
	}
	if (t[0] == cls && t[1] == '.' && digits(t + 2, 1, 3, &e) &&
	    *e == '.' && digits(e + 1, 1, 3, &e) && (*e == ' ' ||
	    *e == '\0')) {
		(void)str_fmt(enh, sizeof(enh), "%.*s", (int)(e - t), t);
		t = *e == ' ' ? e + 1 : e;
	}
	while (*t == ' ')
		t++;
	if (*t == '\0')
		t = cls == '5' ? "message refused by the content filter" :
		    "message deferred by the content filter, try again later";
	str_fmt_cut(r->reply, sizeof(r->reply), "%s %s %s", code, enh, t);
}

void
hook_parse(int status, const char *out, size_t n, struct hook_result *r)
{
	r->fieldslen = 0;
	r->nfields = 0;
	r->fields[0] = '\0';
	r->reply[0] = '\0';
	r->why[0] = '\0';
	if (WIFSIGNALED(status)) {
		failed(r, HOOK_FAILED_REPLY, "killed by signal %d",
		    WTERMSIG(status));
		return;
	}
	if (!WIFEXITED(status)) {
		failed(r, HOOK_FAILED_REPLY, "status %#x", status);
		return;
	}
	switch (WEXITSTATUS(status)) {
	case HOOK_EXIT_ACCEPT:
	case HOOK_EXIT_SPAM:
		if (hook_fields(out, n, r) == -1)
			return;
		r->verdict = WEXITSTATUS(status) == HOOK_EXIT_SPAM ?
		    HOOK_SPAM : HOOK_ACCEPT;
		break;
	case HOOK_EXIT_REFUSE:
		r->verdict = HOOK_REFUSE;
		reply_from(out, n, '5', r);
		break;
	case HOOK_EXIT_TEMPFAIL:
		r->verdict = HOOK_TEMPFAIL;
		reply_from(out, n, '4', r);
		break;
	default:
		failed(r, HOOK_FAILED_REPLY, "exit status %d",
		    WEXITSTATUS(status));
		break;
	}
}

/* --- running it ------------------------------------------------------ */

/* "NAME=value" into the environment being built; -1 when it is full. */
static int
env_put(struct str *b, char **envp, size_t *n, const char *name,
    const char *value)
{
	size_t at = b->len;

	if (*n >= HOOK_ENV_MAX ||
	    str_appendf(b, "%s=%s", name, value != NULL ? value : "") == -1 ||
	    str_appendc(b, '\0') == -1)
		return -1;
	envp[(*n)++] = b->s + at;
	return 0;
}

/* The filter's whole environment: nothing of ours (the listener's
 * descriptors, the peer as smtp-listen gave it) but what smtp-in(8)
 * lists. */
static int
make_env(const struct hook_env *e, char *buf, size_t size, char **envp)
{
	struct str b;
	size_t n = 0, i;
	char *rcpts;

	str_init(&b, buf, size);
	/* RCPT_TO first, built in place: space separated, as chasquid's. */
	if (str_appends(&b, "RCPT_TO=") == -1)
		return -1;
	rcpts = b.s;
	for (i = 0; i < e->nrcpts; i++)
		if ((i > 0 && str_appendc(&b, ' ') == -1) ||
		    str_appends(&b, e->rcpts[i]) == -1)
			return -1;
	if (str_appendc(&b, '\0') == -1)
		return -1;
	envp[n++] = rcpts;
	if (env_put(&b, envp, &n, "PATH", HOOK_PATH) == -1 ||
	    env_put(&b, envp, &n, "MAIL_FROM", e->sender) == -1 ||
	    env_put(&b, envp, &n, "REMOTE_ADDR", e->peer) == -1 ||
	    env_put(&b, envp, &n, "EHLO_DOMAIN", e->helo) == -1 ||
	    env_put(&b, envp, &n, "AUTH_AS", e->login) == -1 ||
	    env_put(&b, envp, &n, "ON_TLS", e->tls_version != NULL &&
	    e->tls_version[0] != '\0' ? "1" : "0") == -1 ||
	    env_put(&b, envp, &n, "TLS_VERSION", e->tls_version) == -1 ||
	    env_put(&b, envp, &n, "TLS_CIPHER", e->tls_cipher) == -1 ||
	    env_put(&b, envp, &n, "POSTHORN_QUEUE_ID", e->id) == -1 ||
	    env_put(&b, envp, &n, "POSTHORN_MODE", e->mode) == -1 ||
	    env_put(&b, envp, &n, "POSTHORN_HOSTNAME", e->hostname) == -1 ||
	    env_put(&b, envp, &n, "POSTHORN_CONF", e->confdir) == -1)
		return -1;
	envp[n] = NULL;
	return 0;
}

/* cmd split at blanks into argv (in buf). */
static int
split(const char *cmd, char *buf, size_t size, char **argv)
{
	const char *p = cmd, *w;
	struct str b;
	size_t n = 0, len;

	str_init(&b, buf, size);
	while ((w = str_word(&p, &len)) != NULL) {
		if (n == HOOK_ARGS_MAX)
			return -1;
		argv[n++] = b.s + b.len;
		if (str_append(&b, w, len) == -1 ||
		    str_appendc(&b, '\0') == -1)
			return -1;
	}
	argv[n] = NULL;
	return n > 0 ? 0 : -1;
}

/* Kill what is left of its process group (the filter itself when it
 * has not exited), while its pid, a zombie at least, still holds the
 * group's number; then reap it. */
static int
end_child(pid_t pid)
{
	int status;

	(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return status;
}

/* Has the child exited?  Through its pidfd if there is one (poll said
 * so), else asked. */
static int
exited(pid_t pid, int pidfd, int pidfd_ready)
{
	siginfo_t si;

	if (pidfd != -1)
		return pidfd_ready;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return 1;	/* gone, or not ours: end_child says */
	return si.si_pid == pid;
}

void
hook_run(const char *cmd, int msgfd, const struct hook_env *e,
    int64_t timeout_ms, struct hook_result *r)
{
	static char envbuf[HOOK_ENV_BYTES];
	static char out[HOOK_OUTPUT_MAX + 1];
	char cmdbuf[CMD_BUF], *argv[HOOK_ARGS_MAX + 1];
	char *envp[HOOK_ENV_MAX + 1];
	int pipefd[2] = { -1, -1 }, pidfd = -1, fds[2], status, err;
	int timedout = 0, overflow = 0, eof = 0, gone = 0, pidx;
	struct pollfd pfd[2];
	int64_t deadline = clock_ms() + timeout_ms, left;
	size_t n = 0;
	ssize_t k;
	nfds_t np;
	pid_t pid;

	r->why[0] = '\0';
	if (split(cmd, cmdbuf, sizeof(cmdbuf), argv) == -1) {
		failed(r, HOOK_FAILED_REPLY, "cannot split the command");
		return;
	}
	if (make_env(e, envbuf, sizeof(envbuf), envp) == -1) {
		failed(r, HOOK_FAILED_REPLY, "environment over %d octets",
		    HOOK_ENV_BYTES);
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		failed(r, HOOK_FAILED_REPLY, "pipe: %s", strerror(errno));
		return;
	}
	fds[0] = msgfd;
	fds[1] = pipefd[1];
	if ((err = child_start(&pid, argv[0], argv, envp, fds, 2,
	    CHILD_SETSID)) != 0) {
		failed(r, HOOK_FAILED_REPLY, "cannot run %s: %s", argv[0],
		    strerror(err));
		fd_close(&pipefd[0]);
		fd_close(&pipefd[1]);
		return;
	}
	fd_close(&pipefd[1]);
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	/* Until it has exited and closed its output, or time is up. */
	while (!(eof && gone)) {
		if ((left = deadline - clock_ms()) <= 0) {
			timedout = 1;
			break;
		}
		np = 0;
		pidx = -1;
		if (!eof) {
			pfd[np].fd = pipefd[0];
			pfd[np].revents = 0;
			pfd[np++].events = POLLIN;
		}
		if (!gone && pidfd != -1) {
			pidx = (int)np;
			pfd[np].fd = pidfd;
			pfd[np].revents = 0;
			pfd[np++].events = POLLIN;
		}
		if (eof && pidfd == -1)
			left = left < HOOK_WAIT_STEP ? left :
			    HOOK_WAIT_STEP;
		if (poll(pfd, np, left > 1000 ? 1000 : (int)left) == -1 &&
		    errno != EINTR) {
			failed(r, HOOK_FAILED_REPLY, "poll: %s",
			    strerror(errno));
			overflow = -1;
			break;
		}
		if (!eof && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			k = read(pipefd[0], out + n, sizeof(out) - n);
			if (k == 0)
				eof = 1;
			else if (k > 0 && (n += (size_t)k) > HOOK_OUTPUT_MAX) {
				overflow = 1;
				break;
			} else if (k == -1 && errno != EINTR &&
			    errno != EAGAIN) {
				failed(r, HOOK_FAILED_REPLY, "read: %s",
				    strerror(errno));
				overflow = -1;
				break;
			}
		}
		if (!gone)
			gone = exited(pid, pidfd, pidx >= 0 &&
			    (pfd[pidx].revents & POLLIN));
		/* Exited, its output perhaps held open by something it
		 * left behind: what is there now is its answer. */
		if (gone && !eof) {
			struct pollfd now = { pipefd[0], POLLIN, 0 };

			while (n <= HOOK_OUTPUT_MAX &&
			    poll(&now, 1, 0) == 1 && (now.revents & POLLIN) &&
			    (k = read(pipefd[0], out + n, sizeof(out) - n)) >
			    0)
				n += (size_t)k;
			if (n > HOOK_OUTPUT_MAX)
				overflow = 1;
			break;
		}
	}
	fd_close(&pipefd[0]);
	fd_close(&pidfd);
	status = end_child(pid);
	if (timedout)
		failed(r, HOOK_TIMEOUT_REPLY, "timed out after %lld ms, "
		    "killed", (long long)timeout_ms);
	else if (overflow == 1)
		failed(r, HOOK_FAILED_REPLY, "output over %d octets, killed",
		    HOOK_OUTPUT_MAX);
	else if (overflow == 0 && status == -1)
		failed(r, HOOK_FAILED_REPLY, "waitpid: %s", strerror(errno));
	else if (overflow == 0)
		hook_parse(status, out, n, r);
}
