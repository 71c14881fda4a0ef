/* deliver.c — what every local delivery shares (deliver.h): the result
 * and its reason cut to size, a failed system call as a temporary
 * failure, and the message streamed from the queue file (never held in
 * memory) after the fields prepended to it. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "deliver.h"
#include "str.h"

/* A reason cut short is still a reason; "..." marks the cut. */
void
deliver_result_set(struct deliver_result *r, enum deliver_status status,
    const char *dsn, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	(void)str_copy(r->dsn, sizeof(r->dsn), dsn);
	va_start(ap, fmt);
	n = vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		r->reason[0] = '\0';
	else if ((size_t)n >= sizeof(r->reason))
		memcpy(r->reason + sizeof(r->reason) - 4, "...", 4);
}

/* A failed system call: always temporary, since the disk, the quota or
 * a permission can be fixed while the mail waits.  RFC 3463 §3.3/§3.4. */
void
deliver_result_errno(struct deliver_result *r, int err, const char *what,
    const char *path)
{
	const char *dsn;

	switch (err) {
	case EDQUOT:
		dsn = "4.2.2";		/* mailbox full */
		break;
	case ENOSPC:
		dsn = "4.3.1";		/* mail system full */
		break;
	case EACCES:
	case EPERM:
		dsn = "4.2.0";		/* the mailbox's own status */
		break;
	default:
		dsn = "4.3.0";
		break;
	}
	deliver_result_set(r, DELIVER_TEMP, dsn, "%s %s: %s", what, path,
	    strerror(err));
}

void
deliver_where_set(struct deliver_result *r, const char *prefix, const char *s)
{
	/* The place is for the log line: a long command is cut. */
	str_fmt_cut(r->where, sizeof(r->where), "%s%s", prefix, s);
}

void
deliver_result_init(struct deliver_result *r)
{
	r->status = DELIVER_TEMP;
	(void)str_copy(r->dsn, sizeof(r->dsn), "4.3.0");
	r->reason[0] = '\0';
	r->where[0] = '\0';
}

void
deliver_src_init(struct deliver_src *s, const struct deliver_msg *m,
    const char *pre, size_t prelen)
{
	s->m = m;
	s->pre = pre;
	s->prelen = prelen;
	s->preoff = 0;
	s->sigoff = 0;
	s->off = 0;
}

ssize_t
deliver_src_read(struct deliver_src *s, char *buf, size_t size)
{
	ssize_t got;
	size_t n;
	off_t left;

	if (s->preoff < s->prelen) {
		n = s->prelen - s->preoff;
		if (n > size)
			n = size;
		memcpy(buf, s->pre + s->preoff, n);
		s->preoff += n;
		return (ssize_t)n;
	}
	if (s->m->prefix != NULL && s->sigoff < s->m->prefixlen) {
		n = s->m->prefixlen - s->sigoff;
		if (n > size)
			n = size;
		memcpy(buf, s->m->prefix + s->sigoff, n);
		s->sigoff += n;
		return (ssize_t)n;
	}
	left = s->m->size - s->off;
	if (left <= 0)
		return 0;
	if ((off_t)size > left)
		size = (size_t)left;
	do
		got = pread(s->m->fd, buf, size, s->m->body + s->off);
	while (got == -1 && errno == EINTR);
	if (got == -1)
		return -1;
	if (got == 0) {
		/* Shorter than its envelope says: never deliver a part. */
		errno = EIO;
		return -1;
	}
	s->off += got;
	return got;
}
