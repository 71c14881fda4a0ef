/* inject.c — the work of queue-inject(8): every message that does not
 * come over SMTP (cron, scripts, sendmail(8), later the bounces of
 * queue-run) enters the queue here.  The envelope comes from the command
 * line and is checked with the same address rules as SMTP; the message
 * is streamed to the queue with CRLF made LF, so memory does not grow
 * with its size; and the answer is one exit code that says whether the
 * caller may forget the message (0), must fix something (64, 65, 78) or
 * must try again later (75). */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "arname.h"
#include "date.h"
#include "inject.h"
#include "queue.h"
#include "str.h"

/* "(posthorn queue-inject ID invoked by uid N);\n\tDATE\n" */
enum { INJECT_RECEIVED_MAX = 128 + QUEUE_ID_LEN + DATE_MAX };

size_t
inject_crlf(struct inject_crlf *c, const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (c->cr) {
			c->cr = 0;
			if (in[i] == '\n') {
				out[o++] = '\n';
				continue;
			}
			out[o++] = '\r';	/* a bare CR stays */
		}
		if (in[i] == '\r')
			c->cr = 1;
		else
			out[o++] = in[i];
	}
	return o;
}

size_t
inject_crlf_end(struct inject_crlf *c, char *out)
{
	if (!c->cr)
		return 0;
	c->cr = 0;
	out[0] = '\r';
	return 1;
}

static void
reason(struct inject *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A reason cut short is still a reason: truncation is accepted here. */
static void
reason(struct inject *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vfmt_cut(in->reason, sizeof in->reason, fmt, ap);
	va_end(ap);
}

/* One mailbox from the command line into its queued form. */
static int
check_addr(struct inject *in, const char *what, const char *s, char *out,
    size_t size)
{
	struct addr a;
	enum addr_err e;
	unsigned flags = 0;

	if (in->flags & QUEUE_SMTPUTF8)
		flags |= ADDR_UTF8;
	if ((e = addr_parse(s, strlen(s), flags, &a)) != ADDR_OK) {
		reason(in, "%s <%s>: %s", what, s, addr_strerror(e));
		return -1;
	}
	if (addr_format(&a, out, size) == -1) {
		reason(in, "%s: address too long", what);
		return -1;
	}
	return 0;
}

static int
check_envelope(struct inject *in, char (*rcpt)[ADDR_TEXT_MAX],
    const char **list)
{
	size_t i, j;

	if (in->sender[0] == '\0' || strcmp(in->sender, "<>") == 0)
		in->from[0] = '\0';
	else if (check_addr(in, "bad sender", in->sender, in->from,
	    sizeof in->from) == -1)
		return -1;
	in->nqueued = 0;
	for (i = 0; i < in->nrcpts; i++) {
		if (check_addr(in, "bad recipient", in->rcpts[i],
		    rcpt[in->nqueued], sizeof rcpt[0]) == -1)
			return -1;
		/* The same mailbox twice would be delivered twice. */
		for (j = 0; j < in->nqueued; j++)
			if (strcmp(rcpt[j], rcpt[in->nqueued]) == 0)
				break;
		if (j == in->nqueued) {
			list[in->nqueued] = rcpt[in->nqueued];
			in->nqueued++;
		}
	}
	return 0;
}

static int
put_received(struct inject *in, struct queue_msg *m, time_t now)
{
	char date[DATE_MAX], line[INJECT_RECEIVED_MAX];

	if (date_rfc5322(date, sizeof date, now) == -1 ||
	    str_fmt(line, sizeof line, "Received: (posthorn queue-inject %s "
	    "invoked by uid %ld);\n\t%s\n", m->id, in->uid, date) == -1)
		return -1;
	return queue_put(m, line, strlen(line));
}

/* The message on its way to the queue.  Every local message passes
 * here, whether sendmail's or that of a caller of queue-inject itself,
 * so this is where a local user's verdict in our name is renamed (RFC
 * 8601 §5), as smtp-in renames a client's: a local reader has no other
 * way to tell it from ours. */
struct hdr {
	struct arname	 ar;
	struct queue_msg *m;
	int		 header;	/* still in the header section */
	int		 bol;		/* at the start of a line */
	int		 err;		/* errno of a failed write, or 0 */
};

static void
hdr_put(void *arg, const char *p, size_t n)
{
	struct hdr *h = arg;

	if (n > 0 && h->err == 0 && queue_put(h->m, p, n) == -1)
		h->err = errno != 0 ? errno : EIO;
}

/* p[0..n), LF line ends, into the queue.  A CR alone ends a header line
 * too, since smtp-out sends it as CR LF: what follows it must be judged
 * as the field it then is.  The header ends at an empty line. */
static void
hdr_feed(struct hdr *h, const char *p, size_t n)
{
	size_t i, run = 0;	/* p[run..i) goes out unchanged */

	for (i = 0; i < n && h->header; i++) {
		if (p[i] == '\n' || p[i] == '\r') {
			hdr_put(h, p + run, i - run);
			run = i;
			arname_end(&h->ar);
			if (p[i] == '\n' && h->bol)
				h->header = 0;
			else
				arname_line(&h->ar);
			h->bol = p[i] == '\n';
			continue;
		}
		h->bol = 0;
		if (arname_busy(&h->ar) && arname_byte(&h->ar,
		    (unsigned char)p[i])) {
			hdr_put(h, p + run, i - run);
			run = i + 1;
		}
	}
	hdr_put(h, p + run, n - run);
}

/* The message from fd into m, CRLF made LF, a last line without its LF
 * completed, the header through hdr_feed; the size is checked as it
 * grows so that a message over the limit is refused without reading it
 * all. */
static int
copy_message(struct inject *in, struct queue_msg *m, int fd)
{
	char buf[INJECT_READSZ], out[INJECT_READSZ + 1];
	struct inject_crlf c = { 0 };
	struct hdr h = { .m = m, .header = 1, .bol = 1 };
	char last = '\n';
	size_t n;
	ssize_t r;
	int eof = 0;

	arname_init(&h.ar, in->authserv, hdr_put, &h);
	in->size = 0;
	while (!eof) {
		r = read(fd, buf, sizeof buf);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			reason(in, "reading the message: %s", strerror(errno));
			return INJECT_TEMPFAIL;
		}
		if (r == 0) {
			eof = 1;
			n = inject_crlf_end(&c, out);
			if (n > 0)
				last = out[n - 1];
			/* An empty message stays empty. */
			if (in->size + n > 0 && last != '\n')
				out[n++] = '\n';
		} else
			n = inject_crlf(&c, buf, (size_t)r, out);
		if (n == 0)
			continue;
		last = out[n - 1];
		in->size += n;
		if (in->max_size > 0 && in->size > in->max_size) {
			reason(in, "message too large: over %llu bytes",
			    (unsigned long long)in->max_size);
			return INJECT_DATAERR;
		}
		hdr_feed(&h, out, n);
		if (h.err != 0) {
			reason(in, "writing %s: %s", m->tmp, strerror(h.err));
			return INJECT_TEMPFAIL;
		}
	}
	return INJECT_OK;
}

int
inject_run(struct inject *in, int fd)
{
	char (*rcpt)[ADDR_TEXT_MAX] = NULL;
	const char **list = NULL;
	struct queue_msg *m = NULL;
	struct queue_env env;
	int rc;

	in->id[0] = '\0';
	in->reason[0] = '\0';
	in->size = 0;
	if (in->nrcpts == 0) {
		reason(in, "no recipients");
		return INJECT_USAGE;
	}
	if (in->nrcpts > INJECT_RCPTS_MAX) {
		reason(in, "too many recipients: over %d", INJECT_RCPTS_MAX);
		return INJECT_DATAERR;
	}
	/* struct queue_msg holds the write buffer: not for the stack. */
	if ((rcpt = calloc(in->nrcpts, sizeof *rcpt)) == NULL ||
	    (list = calloc(in->nrcpts, sizeof *list)) == NULL ||
	    (m = malloc(sizeof *m)) == NULL) {
		reason(in, "%s", strerror(errno));
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	if (check_envelope(in, rcpt, list) == -1) {
		rc = INJECT_DATAERR;
		goto out;
	}
	if (queue_create(m, in->spool) == -1) {
		reason(in, "creating a queue file in %s: %s", in->spool,
		    strerror(errno));
		free(m);
		m = NULL;
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	memcpy(in->id, m->id, sizeof in->id);
	memset(&env, 0, sizeof env);
	env.sender = in->from;
	env.rcpts = list;
	env.nrcpts = in->nqueued;
	env.flags = in->flags;
	env.via = "local";
	env.uid = in->uid;
	if (queue_put_env(m, &env) == -1 ||
	    put_received(in, m, time(NULL)) == -1) {
		reason(in, "writing %s: %s", m->tmp, strerror(errno));
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	/* queue_put counted the Received: field; the limit is on what the
	 * caller gave, as smtp-in counts what the client sent. */
	if ((rc = copy_message(in, m, fd)) != INJECT_OK)
		goto out;
	/* A local user must not fill the spool's disk either: the same
	 * floor as smtp-in's, once the message is written. */
	if (queue_room(m->fd, in->spool, in->minfree, 0) == 0) {
		reason(in, "insufficient system storage: less than "
		    "queue_minfree free on the spool's file system");
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	if (queue_commit(m) == -1) {
		reason(in, "committing %s: %s", in->id, strerror(errno));
		rc = INJECT_TEMPFAIL;
		goto out;
	}
	rc = INJECT_OK;
out:
	if (m != NULL) {
		if (rc != INJECT_OK)
			queue_abort(m);
		free(m);
	}
	free(list);
	free(rcpt);
	return rc;
}
