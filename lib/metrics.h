/* metrics.h — what posthorn counts, in the Prometheus text format (the
 * exposition format 0.0.4 that node_exporter's textfile collector reads).
 * Each long-lived program (queue-run, each smtp-listen) keeps its own
 * counters in memory and writes them now and then to a file of its own
 * under SPOOL/metrics; mailq -m prints them all with the queue's gauges.
 * A restart starts the counters again at zero, which Prometheus reads as
 * a reset.  The families, with their help text, are listed once, in
 * metrics.c, and in mailq(8). */
#ifndef POSTHORN_METRICS_H
#define POSTHORN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_DIR	"metrics"	/* under the spool */

enum {
	METRICS_MAX = 160,	/* series: of one program, or all merged */
	METRICS_SERIES_MAX = 160, /* a family's name with its labels */
	/* Seconds between two writes of a program's file, at most one
	 * write each: a scrape every 15 s is Prometheus's usual. */
	METRICS_INTERVAL = 15
};

struct metric {
	char		series[METRICS_SERIES_MAX];	/* name{labels} */
	uint64_t	value;
};

struct metrics {
	struct metric	m[METRICS_MAX];
	size_t		n;
	int		dirty;		/* changed since the last write */
	int64_t		written;	/* ms of the last write */
};

/* Add n to the series family{labels} (labels "" or `a="x",b="y"`, values
 * of our own choosing: no escaping is done), made at 0 on first use.  A
 * series over METRICS_MAX is dropped. */
void	metrics_add(struct metrics *, const char *family, const char *labels,
	    uint64_t n);
/* Set a gauge. */
void	metrics_set(struct metrics *, const char *family, const char *labels,
	    uint64_t v);
/* Add the series of text (the format above, as metrics_format writes
 * it) to ms: mailq merges the programs' files this way, so that each
 * family has one HELP and TYPE.  Other lines are ignored. */
void	metrics_parse(struct metrics *, const char *text);
/* The text: a HELP and a TYPE line before the first series of each
 * family, then one line a series.  Its length, or -1 (ENOSPC) when it
 * does not fit in size. */
int	metrics_format(const struct metrics *, char *buf, size_t size);
/* SPOOL/metrics/NAME.prom: written (a temporary renamed over it; no
 * fsync: counters are not worth one) when something changed and the
 * last write is METRICS_INTERVAL old, or when force.  0, or -1 with
 * errno. */
int	metrics_flush(struct metrics *, const char *spool, const char *name,
	    int64_t now_ms, int force);

#endif
