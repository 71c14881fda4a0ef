/* local.c — local delivery of one message to one target, the entry
 * points of local.h: a user's mailbox (the domain's MDA in command.c,
 * else the Maildir in maildir.c) or the command of a pipe alias
 * (command.c).  What every target needs before it is written is here:
 * the fields prepended to the message (ours, then the message's
 * DKIM-Signature fields, which queue-run made once: dkim.h) and the
 * Delivered-To: loop check.  The message and the result are
 * deliver.h's. */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "command.h"
#include "deliver.h"
#include "io.h"
#include "local.h"
#include "maildir.h"
#include "mailhdr.h"
#include "str.h"

#define DELIVER_SHELL	"/bin/sh"	/* runs a pipe alias's command */
#define AUTHRES_FIELD	"Authentication-Results"

enum {
	/* Delivered-To: fields are prepended, by us and by other MTAs, so a
	 * loop shows near the top of the header; the bound keeps a message
	 * that is all header cheap to scan. */
	HDR_SCAN_MAX = 256 * 1024,
	HDR_BLOCK = 4096,		/* bytes per pread of the scan */
	/* An unfolded header field kept for comparison: a Delivered-To
	 * longer than this cannot hold an address (ADDR_TEXT_MAX). */
	HDR_FIELD_MAX = 1024
};

static int
prefix_make(const struct deliver_msg *m, const struct alias_target *t,
    char *buf, size_t size, size_t *len)
{
	struct str o;
	int n;

	n = snprintf(buf, size, "Return-Path: <%s>\nDelivered-To: %s\n",
	    m->sender != NULL ? m->sender : "", t->addr);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*len = (size_t)n;
	if (m->authres == NULL || m->authres[0] == '\0')
		return 0;
	/* One that cannot be folded into the room left is left out: it
	 * is a report on the message, not part of it. */
	str_init(&o, buf + *len, size - *len);
	if (mailhdr_fold(&o, AUTHRES_FIELD, m->authres) == 0 &&
	    str_appendc(&o, '\n') == 0)
		*len += o.len;
	buf[*len] = '\0';
	return 0;
}

/* --- the loop check ---------------------------------------------------- */

struct hdrscan {
	const char	*addr;
	char		 field[HDR_FIELD_MAX + 1];
	size_t		 len;
	int		 over;		/* the field did not fit */
	int		 found;
};

/* One unfolded field is complete: is it a Delivered-To: of addr? */
static void
field_end(struct hdrscan *h)
{
	const char *v;
	size_t i, e;

	if (h->len > 0 && !h->over) {
		h->field[h->len] = '\0';
		if (mailhdr_is(h->field, h->len, "Delivered-To", &v)) {
			i = (size_t)(v - h->field);
			e = h->len;
			while (i < e && deliver_is_wsp(h->field[i]))
				i++;
			while (e > i && deliver_is_wsp(h->field[e - 1]))
				e--;
			if (e - i >= 2 && h->field[i] == '<' &&
			    h->field[e - 1] == '>') {
				i++;
				e--;
			}
			h->field[e] = '\0';
			if (str_casecmp(h->field + i, h->addr) == 0)
				h->found = 1;
		}
	}
	h->len = 0;
	h->over = 0;
}

/* 1 if the header (up to its empty line, within HDR_SCAN_MAX) holds a
 * Delivered-To: of addr, 0 if not, -1 with errno.  Carriage returns,
 * which a locally injected message may hold, are ignored. */
static int
loop_check(const struct deliver_msg *m, const char *addr)
{
	struct hdrscan h;
	char buf[HDR_BLOCK];
	off_t off = 0, end;
	ssize_t n, i;
	int bol = 1;
	char c;

	h.addr = addr;
	h.len = 0;
	h.over = 0;
	h.found = 0;
	end = m->size < HDR_SCAN_MAX ? m->size : HDR_SCAN_MAX;
	while (off < end) {
		n = end - off < (off_t)sizeof(buf) ? (ssize_t)(end - off) :
		    (ssize_t)sizeof(buf);
		do
			n = pread(m->fd, buf, (size_t)n, m->body + off);
		while (n == -1 && errno == EINTR);
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		for (i = 0; i < n; i++) {
			c = buf[i];
			if (c == '\r')
				continue;
			if (bol) {
				if (c == '\n') {	/* the header ends */
					field_end(&h);
					return h.found;
				}
				if (!deliver_is_wsp(c))	/* not a fold */
					field_end(&h);
				if (h.found)
					return 1;
			}
			bol = c == '\n';
			if (bol)
				continue;
			if (h.len < HDR_FIELD_MAX)
				h.field[h.len++] = c;
			else
				h.over = 1;
		}
		off += n;
	}
	/* A field cut by the bound could match by accident: only the end
	 * of the message completes it. */
	if (end == m->size)
		field_end(&h);
	return h.found;
}

/* Loop check for target t; 0 to go on, -1 with r set. */
static int
check_loop(const struct deliver_msg *m, const struct alias_target *t,
    struct deliver_result *r)
{
	switch (loop_check(m, t->addr)) {
	case 0:
		return 0;
	case 1:
		deliver_result_set(r, DELIVER_PERM, "5.4.6",
		    "mail loop: already delivered to %s", t->addr);
		return -1;
	default:
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "cannot read queue file: %s", strerror(errno));
		return -1;
	}
}

/* --- the entry points -------------------------------------------------- */

/* What both local deliveries do before they write: the Return-Path and
 * Delivered-To lines into pre, then the loop check.  0 to go on, -1 with
 * r set. */
static int
begin(const struct deliver_msg *m, const struct alias_target *t, char *pre,
    size_t size, size_t *prelen, struct deliver_result *r)
{
	if (prefix_make(m, t, pre, size, prelen) == -1) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.0",
		    "envelope too long");
		return -1;
	}
	return check_loop(m, t, r);
}

/* A user or domain as one component of a path. */
static int
path_safe(const char *s)
{
	return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL;
}

/* To a mailbox: the MDA's process, else the Maildir at once. */
static int
mailbox_start(struct local_job *j)
{
	struct deliver_result *r = &j->r;

	if (!path_safe(j->t.user) || !path_safe(j->t.domain)) {
		deliver_result_set(r, DELIVER_PERM, "5.1.3",
		    "mailbox %s is not usable as a file name", j->t.addr);
		return 1;
	}
	if (begin(&j->m, &j->t, j->pre, sizeof(j->pre), &j->prelen, r) == -1)
		return 1;
	switch (command_mda(&j->m, &j->t, j->pre, j->prelen, r, &j->cmd)) {
	case COMMAND_NONE:
		maildir_deliver(&j->m, &j->t, j->pre, j->prelen, r);
		return 1;
	case COMMAND_RUNNING:
		return 0;
	default:
		return 1;
	}
}

/* To a pipe alias: /bin/sh -c COMMAND. */
static int
pipe_start(struct local_job *j)
{
	char sh[] = "sh", dashc[] = "-c", cmd[ALIAS_CMD_MAX + 1];
	char *argv[] = { sh, dashc, cmd, NULL };
	struct deliver_result *r = &j->r;
	const char *p;

	for (p = j->t.cmd; deliver_is_wsp(*p); p++)
		;
	deliver_where_set(r, "| ", p);
	if (*p == '\0') {
		deliver_result_set(r, DELIVER_TEMP, "4.3.5",
		    "pipe alias %s: no command", j->t.addr);
		return 1;
	}
	if (str_copy(cmd, sizeof(cmd), p) == -1) {
		deliver_result_set(r, DELIVER_TEMP, "4.3.5",
		    "pipe alias %s: command too long", j->t.addr);
		return 1;
	}
	if (begin(&j->m, &j->t, j->pre, sizeof(j->pre), &j->prelen, r) == -1)
		return 1;
	return command_start(&j->m, &j->t, DELIVER_SHELL, argv, j->pre,
	    j->prelen, r, &j->cmd) == 0 ? 0 : 1;
}

int
local_start(struct local_job *j, const struct deliver_msg *m,
    const struct alias_target *t)
{
	j->m = *m;
	j->t = *t;
	j->prelen = 0;
	j->cmd = NULL;
	deliver_result_init(&j->r);
	return t->kind == ALIAS_PIPE ? pipe_start(j) : mailbox_start(j);
}

size_t
local_pollset(struct local_job *j, struct pollfd *pfd, int64_t *due)
{
	if (j->cmd == NULL)
		return 0;
	return command_pollset(j->cmd, pfd, due);
}

int
local_step(struct local_job *j, const struct pollfd *pfd)
{
	if (j->cmd == NULL)
		return 1;
	if (command_step(j->cmd, pfd, &j->r) == 0)
		return 0;
	command_free(j->cmd);
	j->cmd = NULL;
	return 1;
}

pid_t
local_pid(const struct local_job *j)
{
	return j->cmd != NULL ? command_pid(j->cmd) : -1;
}

void
local_abort(struct local_job *j)
{
	command_free(j->cmd);
	j->cmd = NULL;
}

/* --- done before they return ------------------------------------------- */

/* Drive j's command, if one runs, to its end; r its result. */
static void
run_to_end(struct local_job *j, struct deliver_result *r)
{
	struct sigaction ign, oldpipe;
	struct pollfd pfd[DELIVER_POLLFDS];
	int64_t due, now, wait;
	size_t n;
	int ignored;

	/* A command that exits without reading all of its input must
	 * give us EPIPE, not kill us. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigemptyset(&ign.sa_mask);
	ignored = sigaction(SIGPIPE, &ign, &oldpipe) == 0;
	while (j->cmd != NULL) {
		n = local_pollset(j, pfd, &due);
		now = clock_ms();
		wait = due > now ? due - now : 0;
		if (wait > INT_MAX)
			wait = INT_MAX;
		if (poll(pfd, n, (int)wait) == -1) {
			if (errno == EINTR)
				continue;
			deliver_result_set(&j->r, DELIVER_TEMP, "4.3.0",
			    "cannot run command: poll: %s", strerror(errno));
			local_abort(j);
			break;
		}
		(void)local_step(j, pfd);
	}
	if (ignored)
		(void)sigaction(SIGPIPE, &oldpipe, NULL);
	*r = j->r;
}

void
local_mailbox(const struct deliver_msg *m, const struct alias_target *t,
    struct deliver_result *r)
{
	struct local_job j;
	struct alias_target mt = *t;

	mt.kind = ALIAS_MAILBOX;
	if (local_start(&j, m, &mt) == 0)
		run_to_end(&j, r);
	else
		*r = j.r;
}

void
local_pipe(const struct deliver_msg *m, const struct alias_target *t,
    struct deliver_result *r)
{
	struct local_job j;
	struct alias_target pt = *t;

	pt.kind = ALIAS_PIPE;
	if (local_start(&j, m, &pt) == 0)
		run_to_end(&j, r);
	else
		*r = j.r;
}
