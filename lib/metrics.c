/* metrics.c — counters and gauges in the Prometheus text format
 * (metrics.h).  The families are listed here once, with their type and
 * help text, so that every program writes them alike and mailq(8) can say
 * what each means. */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "metrics.h"
#include "str.h"

struct family {
	const char	*name, *type, *help;
};

static const struct family families[] = {
	{ "posthorn_deliveries_total", "counter",
	  "Delivery attempts of a recipient, by how (via) and outcome "
	  "(status: sent, deferred, bounced)." },
	{ "posthorn_queue_messages", "gauge", "Messages in the queue." },
	{ "posthorn_queue_oldest_seconds", "gauge",
	  "Age of the oldest message in the queue, 0 when it is empty." },
	{ "posthorn_sessions_total", "counter",
	  "SMTP sessions started by smtp-listen, by mode." },
	{ "posthorn_sessions_active", "gauge",
	  "SMTP sessions running now, by mode." },
	{ "posthorn_refused_total", "counter",
	  "Connections smtp-listen answered 421 without a session, by mode "
	  "and reason." },
	{ "posthorn_session_ends_total", "counter",
	  "Sessions ended, by mode and reason (quit, eof, timeout, ...)." },
	{ "posthorn_messages_total", "counter",
	  "Messages accepted (queued, then answered 250), by mode." },
	{ "posthorn_tls_total", "counter",
	  "TLS starts, by mode and result (ok, failed)." },
	{ "posthorn_auth_total", "counter",
	  "AUTH attempts, by mode and result (ok, failed, temp)." },
};

enum { NFAMILIES = sizeof(families) / sizeof(families[0]) };

static struct metric *
series(struct metrics *ms, const char *family, const char *labels)
{
	char name[METRICS_SERIES_MAX];
	size_t i;

	if (str_fmt(name, sizeof(name), labels[0] != '\0' ? "%s{%s}" : "%s%s",
	    family, labels) == -1)
		return NULL;
	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->m[i].series, name) == 0)
			return &ms->m[i];
	if (ms->n == METRICS_MAX)
		return NULL;
	(void)str_copy(ms->m[ms->n].series, METRICS_SERIES_MAX, name);
	ms->m[ms->n].value = 0;
	return &ms->m[ms->n++];
}

void
metrics_add(struct metrics *ms, const char *family, const char *labels,
    uint64_t n)
{
	struct metric *m;

	if ((m = series(ms, family, labels)) != NULL) {
		m->value += n;
		ms->dirty = 1;
	}
}

void
metrics_set(struct metrics *ms, const char *family, const char *labels,
    uint64_t v)
{
	struct metric *m;

	if ((m = series(ms, family, labels)) != NULL && m->value != v) {
		m->value = v;
		ms->dirty = 1;
	}
}

void
metrics_parse(struct metrics *ms, const char *text)
{
	char line[METRICS_SERIES_MAX + 32], *sp, *end;
	const char *p, *nl;
	unsigned long long v;
	struct metric *m;
	size_t n;

	for (p = text; *p != '\0'; p = nl + (*nl != '\0')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		if (n == 0 || *p == '#' || n >= sizeof(line))
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		if ((sp = strrchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		errno = 0;
		v = strtoull(sp + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == sp + 1)
			continue;
		if ((m = series(ms, line, "")) != NULL) {
			m->value += v;
			ms->dirty = 1;
		}
	}
}

/* Does series belong to family: the name, then '{' or its end? */
static int
of_family(const char *series, const char *family)
{
	size_t n = strlen(family);

	return strncmp(series, family, n) == 0 &&
	    (series[n] == '{' || series[n] == '\0');
}

int
metrics_format(const struct metrics *ms, char *buf, size_t size)
{
	struct str out;
	size_t f, i;
	int head;

	str_init(&out, buf, size);
	for (f = 0; f < NFAMILIES; f++) {
		head = 0;
		for (i = 0; i < ms->n; i++) {
			if (!of_family(ms->m[i].series, families[f].name))
				continue;
			if (!head && str_appendf(&out, "# HELP %s %s\n"
			    "# TYPE %s %s\n", families[f].name,
			    families[f].help, families[f].name,
			    families[f].type) == -1)
				goto full;
			head = 1;
			if (str_appendf(&out, "%s %llu\n", ms->m[i].series,
			    (unsigned long long)ms->m[i].value) == -1)
				goto full;
		}
	}
	return (int)out.len;
full:
	errno = ENOSPC;
	return -1;
}

/* path, by a temporary renamed over it. */
static int
write_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd, r = -1;

	if (str_fmt(tmp, sizeof(tmp), "%s.tmp", path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Readable by all: counters are no secret, and node_exporter runs
	 * as a user of its own. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1)
		return -1;
	if (fd_write_all(fd, text, len) == 0 && close(fd) == 0) {
		fd = -1;
		r = rename(tmp, path);
	}
	if (r == -1) {
		int e = errno;

		fd_close(&fd);
		(void)unlink(tmp);
		errno = e;
	}
	return r;
}

int
metrics_flush(struct metrics *ms, const char *spool, const char *name,
    int64_t now_ms, int force)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], text[METRICS_MAX * 200 +
	    NFAMILIES * 300];
	int len;

	if (!force && (!ms->dirty ||
	    now_ms - ms->written < (int64_t)METRICS_INTERVAL * 1000))
		return 0;
	if (str_fmt(dir, sizeof(dir), "%s/" METRICS_DIR, spool) == -1 ||
	    str_fmt(path, sizeof(path), "%s/%s.prom", dir, name) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -1;
	if ((len = metrics_format(ms, text, sizeof(text))) == -1 ||
	    write_file(path, text, (size_t)len) == -1)
		return -1;
	ms->dirty = 0;
	ms->written = now_ms;
	return 0;
}
