/* state.c — a queued message as queue-run sees it: the immutable queue
 * file and the per-delivery state beside it.  The state file is text, one
 * entry a line, fields separated by tabs, with tab, newline, carriage
 * return and backslash escaped (\t \n \r \\), so that a person can read
 * it with less(1) and a damaged one is detected rather than guessed at:
 *
 *	posthorn-state 1
 *	STATUS KIND ATTEMPTS NEXT LAST DSN ORIG ADDR CMD WHERE REASON
 *
 * Entries of resolved envelope recipients are not written: their targets
 * carry the recipient in ORIG.
 *
 * A message signed with DKIM has a second file, SPOOL/state/ID.dkim: the
 * DKIM-Signature fields made once (dkim.c, the bytes of dkimsign -h),
 * written atomically before the first delivery and never changed.  A
 * third, SPOOL/state/ID.warned, marks the delay warning as sent.  They
 * go with the message: loaded here, removed with it. */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomic.h"
#include "fileread.h"
#include "io.h"
#include "state.h"
#include "str.h"

enum {
	NFIELDS = 11,
	/* A state file: its entries at their longest, well inside. */
	STATE_FILE_MAX = 64 * 1024 * 1024
};

static const char *const kind_names[] = {
	[STATE_RCPT] = "rcpt", [STATE_MAILBOX] = "mailbox",
	[STATE_PIPE] = "pipe", [STATE_REMOTE] = "remote"
};
static const char *const status_names[] = {
	[STATE_PENDING] = "pending", [STATE_SENT] = "sent",
	[STATE_FAILED] = "failed"
};

const char *
state_kind_name(enum state_kind k)
{
	return kind_names[k];
}

const char *
state_status_name(enum state_status s)
{
	return status_names[s];
}

static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static void
entry_free(struct state_entry *e)
{
	free(e->orig);
	free(e->addr);
	free(e->cmd);
	free(e->reason);
	free(e->where);
}

void
state_free(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		entry_free(&st->e[i]);
	free(st->e);
	st->e = NULL;
	st->n = st->cap = 0;
	queue_env_free(&st->env);
	free(st->dkim);
	st->dkim = NULL;
	st->dkimlen = 0;
	free(st->sign_why);
	st->sign_why = NULL;
	st->sign = STATE_SIGN_UNKNOWN;
	free(st->arc);
	st->arc = NULL;
	st->arclen = 0;
	st->seal = STATE_SEAL_UNKNOWN;
	if (st->fd != -1)
		fd_close(&st->fd);
	st->fd = -1;
}

static int
same(const char *a, const char *b)
{
	return strcmp(a == NULL ? "" : a, b == NULL ? "" : b) == 0;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s == NULL ? "" : s);
}

/* The new entry, all strings allocated, or -1. */
static int
append(struct state *st, enum state_kind kind, const char *orig,
    const char *addr, const char *cmd)
{
	struct state_entry *e, *ne;
	size_t ncap;

	if (st->n == STATE_ENTRIES_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (st->n == st->cap) {
		ncap = st->cap == 0 ? 8 : st->cap * 2;
		if ((ne = reallocarray(st->e, ncap, sizeof(*ne))) == NULL)
			return -1;
		st->e = ne;
		st->cap = ncap;
	}
	e = &st->e[st->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->orig = dup_or_empty(orig);
	e->addr = dup_or_empty(addr);
	e->cmd = dup_or_empty(cmd);
	e->reason = dup_or_empty(NULL);
	e->where = dup_or_empty(NULL);
	if (e->orig == NULL || e->addr == NULL || e->cmd == NULL ||
	    e->reason == NULL || e->where == NULL) {
		entry_free(e);
		errno = ENOMEM;
		return -1;
	}
	st->dirty = 1;
	return (int)st->n++;
}

int
state_add(struct state *st, enum state_kind kind, const char *orig,
    const char *addr, const char *cmd)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->e[i].kind == kind && kind != STATE_RCPT &&
		    str_casecmp(st->e[i].addr, addr) == 0 &&
		    same(st->e[i].cmd, cmd))
			return (int)i;
	return append(st, kind, orig, addr, cmd);
}

int
state_set_reason(struct state_entry *e, const char *dsn, const char *reason,
    const char *where)
{
	char *r, *w;

	if ((r = strdup(reason)) == NULL || (w = strdup(where)) == NULL) {
		free(r);
		errno = ENOMEM;
		return -1;
	}
	free(e->reason);
	free(e->where);
	e->reason = r;
	e->where = w;
	(void)str_copy(e->dsn, sizeof(e->dsn), dsn);
	return 0;
}

void
state_target(const struct state_entry *e, struct alias_target *t)
{
	const char *at;

	memset(t, 0, sizeof(*t));
	t->kind = e->kind == STATE_PIPE ? ALIAS_PIPE :
	    e->kind == STATE_REMOTE ? ALIAS_REMOTE : ALIAS_MAILBOX;
	(void)str_copy(t->addr, sizeof(t->addr), e->addr);
	(void)str_copy(t->cmd, sizeof(t->cmd), e->cmd);
	if ((at = strrchr(e->addr, '@')) != NULL) {
		(void)str_fmt(t->user, sizeof(t->user), "%.*s",
		    (int)(at - e->addr), e->addr);
		(void)str_copy(t->domain, sizeof(t->domain), at + 1);
	} else
		(void)str_copy(t->user, sizeof(t->user), e->addr);
}

/* --- the file ------------------------------------------------------ */

static int
state_path(char *buf, size_t size, const char *spool, const char *dir,
    const char *id)
{
	if (str_fmt(buf, size, "%s/%s/%s", spool, dir, id) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
state_put_field(FILE *f, const char *s, int last)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '\t':
			fputs("\\t", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		default:
			putc(*s, f);
		}
	putc(last ? '\n' : '\t', f);
}

static void
put_entry(FILE *f, const struct state_entry *e)
{
	fprintf(f, "%s\t%s\t%u\t%lld\t%lld\t", status_names[e->status],
	    kind_names[e->kind], e->attempts, (long long)e->next,
	    (long long)e->last);
	state_put_field(f, e->dsn, 0);
	state_put_field(f, e->orig, 0);
	state_put_field(f, e->addr, 0);
	state_put_field(f, e->cmd, 0);
	state_put_field(f, e->where, 0);
	state_put_field(f, e->reason, 1);
}

/* The whole state as text into a memory stream: *buf (malloc'd). */
static int
render(const struct state *st, char **buf, size_t *len)
{
	FILE *f;
	size_t i;

	if ((f = open_memstream(buf, len)) == NULL)
		return -1;
	fprintf(f, "%s %d\n", STATE_MAGIC, STATE_FORMAT_VERSION);
	for (i = 0; i < st->n; i++)
		if (!(st->e[i].kind == STATE_RCPT &&
		    st->e[i].status == STATE_SENT))
			put_entry(f, &st->e[i]);
	if (ferror(f)) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		errno = ENOMEM;
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int
state_save(struct state *st, const char *spool)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (!st->dirty)
		return 0;
	if (state_path(path, sizeof(path), spool, QUEUE_STATE,
	    st->env.id) == -1 || render(st, &buf, &len) == -1)
		goto out;
	if (atomic_write(path, buf, len, 0640) == -1)
		goto out;
	st->dirty = 0;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* SPOOL/state/ID and suffix: a file that goes with the message. */
static int
sidecar_path(char *buf, size_t size, const char *spool, const char *id,
    const char *suffix)
{
	if (str_fmt(buf, size, "%s/%s/%s%s", spool, QUEUE_STATE, id,
	    suffix) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
state_dkim_path(char *buf, size_t size, const char *spool, const char *id)
{
	return sidecar_path(buf, size, spool, id, STATE_DKIM_SUFFIX);
}

int
state_arc_path(char *buf, size_t size, const char *spool, const char *id)
{
	return sidecar_path(buf, size, spool, id, STATE_ARC_SUFFIX);
}

static int
warned_path(char *buf, size_t size, const char *spool, const char *id)
{
	return sidecar_path(buf, size, spool, id, STATE_WARNED_SUFFIX);
}

/* ID and suffix: 1 with the id, else 0. */
static int
sidecar_name(const char *name, const char *suffix,
    char id[QUEUE_ID_LEN + 1])
{
	if (strlen(name) != QUEUE_ID_LEN + strlen(suffix) ||
	    strcmp(name + QUEUE_ID_LEN, suffix) != 0)
		return 0;
	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	return queue_id_valid(id);
}

int
state_dkim_name(const char *name, char id[QUEUE_ID_LEN + 1])
{
	return sidecar_name(name, STATE_DKIM_SUFFIX, id);
}

int
state_arc_name(const char *name, char id[QUEUE_ID_LEN + 1])
{
	return sidecar_name(name, STATE_ARC_SUFFIX, id);
}

int
state_warned_name(const char *name, char id[QUEUE_ID_LEN + 1])
{
	return sidecar_name(name, STATE_WARNED_SUFFIX, id);
}

long
state_rcpt_index(const struct state *st, const struct state_entry *e)
{
	size_t i;

	for (i = 0; i < st->env.nrcpts; i++)
		if (strcmp(st->env.rcpts[i], e->orig) == 0)
			return (long)i;
	return -1;
}

int
state_set_warned(struct state *st, const char *spool, time_t now)
{
	char path[PATH_MAX], text[32];

	if (warned_path(path, sizeof(path), spool, st->env.id) == -1 ||
	    str_fmt(text, sizeof(text), "%lld\n", (long long)now) == -1 ||
	    atomic_write(path, text, strlen(text), 0640) == -1)
		return -1;
	st->warned = 1;
	return 0;
}

int
state_dkim_valid(const char *s, size_t len)
{
	size_t pl = strlen(STATE_DKIM_PREFIX), i;
	int bol = 1;

	if (len < pl || len > STATE_DKIM_MAX || s[len - 1] != '\n' ||
	    strncasecmp(s, STATE_DKIM_PREFIX, pl) != 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == '\r')
			return 0;
		if (bol && s[i] != ' ' && s[i] != '\t' && (len - i < pl ||
		    strncasecmp(s + i, STATE_DKIM_PREFIX, pl) != 0))
			return 0;
		bol = s[i] == '\n';
	}
	return 1;
}

int
state_arc_valid(const char *s, size_t len)
{
	size_t pl = strlen(STATE_ARC_PREFIX);

	return len >= pl && len <= STATE_ARC_MAX && s[len - 1] == '\n' &&
	    strncasecmp(s, STATE_ARC_PREFIX, pl) == 0 &&
	    memchr(s, '\0', len) == NULL && memchr(s, '\r', len) == NULL;
}

/* The message first: once it is gone nothing is delivered again.  Then
 * the signature file, then the state: a crash in between leaves at most
 * files that queue-run's sweep removes (an orphan state at once, an
 * orphan signature file after SCHED_TMP_MAX_AGE). */
int
state_remove(const char *spool, const char *id)
{
	char path[PATH_MAX];

	if (state_path(path, sizeof(path), spool, QUEUE_NEW, id) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		return -1;
	if (state_dkim_path(path, sizeof(path), spool, id) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		return -1;
	if (state_arc_path(path, sizeof(path), spool, id) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		return -1;
	if (warned_path(path, sizeof(path), spool, id) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		return -1;
	if (state_path(path, sizeof(path), spool, QUEUE_STATE, id) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		return -1;
	return 0;
}

/* Unescape s in place; -1 on a bad escape. */
static int
unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		switch (*++s) {
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case '\\':
			*w++ = '\\';
			break;
		default:
			return -1;
		}
	}
	*w = '\0';
	return 0;
}

static int
parse_num(const char *s, long long max, long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return *end != '\0' || errno != 0 || *out > max ? -1 : 0;
}

int
state_split(char *line, char **f, size_t n)
{
	size_t i;

	if (str_split(line, '\t', f, n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (unescape(f[i]) == -1)
			return -1;
	return 0;
}

/* One line (no LF) into a new entry. */
static int
parse_entry(struct state *st, char *line)
{
	char *f[NFIELDS];
	long long attempts, next, last;
	int status, kind, i;

	if (state_split(line, f, NFIELDS) == -1)
		return -1;
	if ((status = name_index(status_names, 3, f[0])) == -1 ||
	    (kind = name_index(kind_names, 4, f[1])) == -1 ||
	    parse_num(f[2], UINT32_MAX, &attempts) == -1 ||
	    parse_num(f[3], INT64_MAX, &next) == -1 ||
	    parse_num(f[4], INT64_MAX, &last) == -1 ||
	    strlen(f[5]) > STATE_DSN_MAX)
		return -1;
	if ((i = append(st, (enum state_kind)kind, f[6], f[7], f[8])) == -1)
		return -1;
	st->e[i].status = (enum state_status)status;
	st->e[i].attempts = (unsigned)attempts;
	st->e[i].next = (time_t)next;
	st->e[i].last = (time_t)last;
	return state_set_reason(&st->e[i], f[5], f[10], f[9]);
}

/* The whole of path into *buf (malloc'd): 1, 0 when there is no such
 * file, -1 with errno (EINVAL when it is larger than max bytes). */
static int
read_whole(const char *path, size_t max, char **buf, size_t *len)
{
	if (fileread_all(path, max, buf, len) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	if (errno == EFBIG)
		errno = EINVAL;
	return -1;
}

/* Entries from SPOOL/state/ID: 1 read, 0 no file, -1 error. */
static int
read_state(struct state *st, const char *path)
{
	char *buf = NULL, *line, *nl, magic[32];
	size_t len = 0;
	int r, rc = -1;

	if ((r = read_whole(path, STATE_FILE_MAX, &buf, &len)) != 1)
		return r;
	(void)str_fmt(magic, sizeof(magic), "%s %d\n", STATE_MAGIC,
	    STATE_FORMAT_VERSION);
	errno = EINVAL;
	if (strncmp(buf, magic, strlen(magic)) != 0 ||
	    memchr(buf, '\0', len) != NULL ||
	    (len > 0 && buf[len - 1] != '\n'))
		goto out;
	for (line = buf + strlen(magic); *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (parse_entry(st, line) == -1) {
			if (errno != ENOMEM && errno != E2BIG)
				errno = EINVAL;
			goto out;
		}
	}
	rc = 1;
out:
	free(buf);
	return rc;
}

/* SPOOL/state/ID.dkim into st->dkim: 1 read, 0 no file, -1 error
 * (EINVAL when it is not what dkim.c writes). */
static int
read_dkim(struct state *st, const char *path)
{
	size_t len = 0;
	char *buf = NULL;
	int r, rc = -1;

	if ((r = read_whole(path, STATE_DKIM_MAX, &buf, &len)) != 1)
		return r;
	if (!state_dkim_valid(buf, len)) {
		errno = EINVAL;
		goto out;
	}
	st->dkim = buf;
	st->dkimlen = len;
	buf = NULL;
	rc = 1;
out:
	free(buf);
	return rc;
}

/* SPOOL/state/ID.arc into st->arc: 1 read, 0 no file, -1 error
 * (EINVAL when it is not what seal.c writes). */
static int
read_arc(struct state *st, const char *path)
{
	size_t len = 0;
	char *buf = NULL;
	int r;

	if ((r = read_whole(path, STATE_ARC_MAX, &buf, &len)) != 1)
		return r;
	if (!state_arc_valid(buf, len)) {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	st->arc = buf;
	st->arclen = len;
	return 1;
}

int
state_load(struct state *st, const char *spool, const char *id)
{
	char path[PATH_MAX];
	struct stat sb;
	size_t i;
	int r;

	memset(st, 0, sizeof(*st));
	st->fd = -1;
	if (state_path(path, sizeof(path), spool, QUEUE_NEW, id) == -1)
		return -1;
	if ((st->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(st->fd, &sb) == -1 || queue_env_read(st->fd, &st->env) == -1)
		goto fail;
	if (strcmp(st->env.id, id) != 0) {
		errno = EINVAL;		/* a file under another's name */
		goto fail;
	}
	st->size = sb.st_size - st->env.body;
	if (state_path(path, sizeof(path), spool, QUEUE_STATE, id) == -1 ||
	    (r = read_state(st, path)) == -1)
		goto fail;
	if (r == 0)
		for (i = 0; i < st->env.nrcpts; i++)
			if (append(st, STATE_RCPT, st->env.rcpts[i],
			    st->env.rcpts[i], NULL) == -1)
				goto fail;
	if (state_dkim_path(path, sizeof(path), spool, id) == -1 ||
	    read_dkim(st, path) == -1)
		goto fail;
	if (state_arc_path(path, sizeof(path), spool, id) == -1 ||
	    read_arc(st, path) == -1)
		goto fail;
	if (warned_path(path, sizeof(path), spool, id) == -1)
		goto fail;
	if (access(path, F_OK) == 0)
		st->warned = 1;
	else if (errno != ENOENT)
		goto fail;
	st->dirty = 0;
	return 0;
fail:
	r = errno;
	state_free(st);
	errno = r;
	return -1;
}
