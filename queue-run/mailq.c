/* mailq.c — what mailq(8) does.  The listing reads the queue files and
 * the state files as queue-run writes them (state.h), without a lock:
 * both are replaced atomically, so a listing is at worst a moment old. */

#include <sys/file.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileread.h"
#include "io.h"
#include "mailq.h"
#include "metrics.h"
#include "sched.h"
#include "state.h"
#include "str.h"

/* "3d4h", "2h13m", "45s": the two largest units. */
static void
span(char *buf, size_t size, time_t secs)
{
	static const struct { long s; char u; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' }
	};
	size_t i;
	long v;

	if (secs < 0)
		secs = 0;
	for (i = 0; i < 3 && secs < units[i].s; i++)
		;
	v = (long)secs / units[i].s;
	if (i < 3 && secs % units[i].s >= units[i + 1].s)
		(void)str_fmt(buf, size, "%ld%c%ld%c", v, units[i].u,
		    (long)(secs % units[i].s) / units[i + 1].s,
		    units[i + 1].u);
	else
		(void)str_fmt(buf, size, "%ld%c", v, units[i].u);
}

static void
list_entry(FILE *out, const struct state_entry *e, time_t now)
{
	char when[32];

	if (e->kind == STATE_RCPT && e->status == STATE_SENT)
		return;		/* expanded into the entries that follow */
	fprintf(out, "    <%s>", e->addr);
	if (e->kind == STATE_PIPE)
		fprintf(out, " | %s", e->cmd);
	if (str_casecmp(e->orig, e->addr) != 0)
		fprintf(out, " (for <%s>)", e->orig);
	fprintf(out, " %s %s attempts=%u", e->kind == STATE_RCPT ?
	    "unresolved" : state_kind_name(e->kind),
	    state_status_name(e->status), e->attempts);
	if (e->status == STATE_PENDING && e->next > now) {
		span(when, sizeof(when), e->next - now);
		fprintf(out, " next=%s", when);
	}
	/* The last host tried and the TLS outcome there (tls=...). */
	if (e->kind == STATE_REMOTE && e->where[0] != '\0')
		fprintf(out, " via %s", e->where);
	if (e->reason[0] != '\0')
		fprintf(out, ": %s %s", e->dsn, e->reason);
	fputc('\n', out);
}

static int
list_one(const struct conf *conf, FILE *out, const char *id, time_t now)
{
	struct state st;
	char age[32];
	size_t i;

	if (state_load(&st, conf->spool, id) == -1) {
		if (errno == ENOENT)	/* delivered meanwhile */
			return 0;
		fprintf(out, "%-16s  (unreadable: %s)\n", id, strerror(errno));
		return 1;
	}
	span(age, sizeof(age), now - st.env.time);
	/* "signed": its DKIM-Signature fields are made (queue-run(8)). */
	fprintf(out, "%-16s %9lld %8s  <%s>%s\n", id, (long long)st.size, age,
	    st.env.sender, st.dkim != NULL ? " signed" : "");
	for (i = 0; i < st.n; i++)
		list_entry(out, &st.e[i], now);
	state_free(&st);
	return 1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids in SPOOL/new, sorted (ids sort by arrival). */
static int
ids(const struct conf *conf, char ***out, size_t *n)
{
	char path[PATH_MAX], **v = NULL, **nv;
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	*n = 0;
	if (str_fmt(path, sizeof(path), "%s/%s", conf->spool, QUEUE_NEW) ==
	    -1 || (dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (strlen(d->d_name) != QUEUE_ID_LEN)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		if ((v[*n] = strdup(d->d_name)) == NULL)
			goto fail;
		(*n)++;
	}
	closedir(dir);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_names);
	*out = v;
	return 0;
fail:
	closedir(dir);
	while (*n > 0)
		free(v[--*n]);
	free(v);
	errno = ENOMEM;
	return -1;
}

int
mailq_list(const struct conf *conf, FILE *out, time_t now)
{
	char **v;
	size_t n, i;
	int listed = 0;

	if (ids(conf, &v, &n) == -1)
		return -1;
	if (n > 0)
		fprintf(out, "%-16s %9s %8s  %s\n", "ID", "SIZE", "AGE",
		    "SENDER / RECIPIENTS");
	for (i = 0; i < n; i++) {
		listed += list_one(conf, out, v[i], now);
		free(v[i]);
	}
	free(v);
	if (listed == 0)
		fputs("Mail queue is empty\n", out);
	else
		fprintf(out, "-- %d message%s\n", listed,
		    listed == 1 ? "" : "s");
	return listed;
}

/* The age of the oldest message of v (sorted by arrival), 0 if none is
 * left. */
static uint64_t
oldest_age(const struct conf *conf, char **v, size_t n, time_t now)
{
	struct state st;
	size_t i;
	time_t t;

	for (i = 0; i < n; i++)
		if (state_load(&st, conf->spool, v[i]) == 0) {
			t = st.env.time;
			state_free(&st);
			return now > t ? (uint64_t)(now - t) : 0;
		}
	return 0;
}

/* Each SPOOL/metrics/NAME.prom into ms; a file that cannot be read is
 * left out (its program is not running, or not yet). */
static void
read_counters(const struct conf *conf, struct metrics *ms)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], *text;
	struct dirent *d;
	size_t len, n;
	DIR *dp;

	if (str_fmt(dir, sizeof(dir), "%s/" METRICS_DIR, conf->spool) == -1 ||
	    (dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		n = strlen(d->d_name);
		if (n < 6 || strcmp(d->d_name + n - 5, ".prom") != 0 ||
		    str_fmt(path, sizeof(path), "%s/%s", dir, d->d_name) == -1)
			continue;
		if (fileread_all(path, MAILQ_METRICS_FILE_MAX, &text, &len) ==
		    0) {
			metrics_parse(ms, text);
			free(text);
		}
	}
	closedir(dp);
}

int
mailq_metrics(const struct conf *conf, FILE *out, time_t now)
{
	struct metrics *ms;
	char **v, *text;
	size_t n, i;
	int len, rc = -1;

	if ((ms = calloc(1, sizeof(*ms))) == NULL)
		return -1;
	if (ids(conf, &v, &n) == -1)
		goto out;
	metrics_set(ms, "posthorn_queue_messages", "", n);
	metrics_set(ms, "posthorn_queue_oldest_seconds", "",
	    oldest_age(conf, v, n, now));
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	read_counters(conf, ms);
	if ((text = malloc(MAILQ_METRICS_FILE_MAX)) == NULL)
		goto out;
	if ((len = metrics_format(ms, text, MAILQ_METRICS_FILE_MAX)) != -1 &&
	    fwrite(text, 1, (size_t)len, out) == (size_t)len)
		rc = 0;
	free(text);
out:
	free(ms);
	return rc;
}

/* One line to queue-run's FIFO, in one write(2) (below PIPE_BUF). */
static enum mailq_result
tell(const struct conf *conf, const char *line)
{
	char path[PATH_MAX];
	int fd, r;

	if (str_fmt(path, sizeof(path), "%s/%s", conf->spool,
	    SCHED_TRIGGER) == -1) {
		errno = ENAMETOOLONG;
		return MAILQ_ERROR;
	}
	/* Non-blocking: with no reader, ENXIO instead of a hang. */
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return errno == ENXIO || errno == ENOENT ? MAILQ_NOTRUNNING :
		    MAILQ_ERROR;
	r = fd_write_all(fd, line, strlen(line));
	fd_close(&fd);
	return r == -1 ? MAILQ_ERROR : MAILQ_OK;
}

enum mailq_result
mailq_flush(const struct conf *conf)
{
	return tell(conf, SCHED_CMD_FLUSH "\n");
}


enum mailq_result
mailq_delete(const struct conf *conf, const char *id)
{
	char path[PATH_MAX], line[SCHED_TRIGGER_LINE_MAX];
	enum mailq_result rc = MAILQ_ERROR;
	int lock = -1;

	if (!queue_id_valid(id) || str_fmt(path, sizeof(path), "%s/%s/%s",
	    conf->spool, QUEUE_NEW, id) == -1 || access(path, F_OK) == -1)
		return MAILQ_NOTFOUND;
	if (str_fmt(path, sizeof(path), "%s/%s", conf->spool, SCHED_LOCK) ==
	    -1)
		return MAILQ_ERROR;
	if ((lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return MAILQ_ERROR;
	if (flock(lock, LOCK_EX | LOCK_NB) == 0)
		/* No queue-run, and none can start until we are done. */
		rc = state_remove(conf->spool, id) == 0 ? MAILQ_OK :
		    MAILQ_ERROR;
	else if (errno == EWOULDBLOCK &&
	    str_fmt(line, sizeof(line), "%s %s\n", SCHED_CMD_DELETE, id) != -1)
		rc = tell(conf, line);
	fd_close(&lock);
	return rc;
}
