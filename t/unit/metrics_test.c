/* metrics_test.c — counters in the Prometheus text format: one HELP and
 * TYPE a family, series merged back by metrics_parse, unknown families
 * left out, and a file written only when something changed and the
 * interval is over. */

#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileread.h"
#include "metrics.h"
#include "testutil.h"

static void
test_families_have_one_head_and_series_add_up(void **state)
{
	struct metrics *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char text[8192], again[8192];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	metrics_add(a, "posthorn_sessions_total", "mode=\"mx\"", 2);
	metrics_add(a, "posthorn_sessions_total", "mode=\"mx\"", 1);
	metrics_add(a, "posthorn_sessions_total", "mode=\"submission\"", 1);
	metrics_set(a, "posthorn_queue_messages", "", 7);
	metrics_add(a, "posthorn_no_such_family", "", 1);
	assert_true(metrics_format(a, text, sizeof(text)) > 0);
	assert_string_equal(text,
	    "# HELP posthorn_queue_messages Messages in the queue.\n"
	    "# TYPE posthorn_queue_messages gauge\n"
	    "posthorn_queue_messages 7\n"
	    "# HELP posthorn_sessions_total SMTP sessions started by "
	    "smtp-listen, by mode.\n"
	    "# TYPE posthorn_sessions_total counter\n"
	    "posthorn_sessions_total{mode=\"mx\"} 3\n"
	    "posthorn_sessions_total{mode=\"submission\"} 1\n");
	/* Two programs' files merged: one head, the values summed. */
	metrics_parse(b, text);
	metrics_parse(b, "posthorn_sessions_total{mode=\"mx\"} 4\n"
	    "garbage line\nposthorn_queue_messages x\n");
	assert_true(metrics_format(b, again, sizeof(again)) > 0);
	assert_non_null(strstr(again, "posthorn_sessions_total{mode=\"mx\"} 7\n"));
	assert_non_null(strstr(again, "posthorn_queue_messages 7\n"));
	assert_null(strstr(strstr(again, "# TYPE posthorn_sessions_total") +
	    1, "# TYPE posthorn_sessions_total"));
	assert_int_equal(metrics_format(b, again, 40), -1);
	free(a);
	free(b);
}

static void
test_the_file_is_written_when_changed_and_due(void **state)
{
	struct metrics *m = calloc(1, sizeof(*m));
	char dir[PATH_MAX], path[PATH_MAX + 64], *text;
	size_t len;
	struct stat st;

	(void)state;
	assert_non_null(m);
	assert_int_equal(tu_tmpdir(dir, sizeof(dir), "metrics"), 0);
	(void)umask(022);	/* the mode asked for, as under systemd */
	snprintf(path, sizeof(path), "%s/" METRICS_DIR "/t.prom", dir);
	/* nothing counted: nothing written */
	assert_int_equal(metrics_flush(m, dir, "t", 100000, 0), 0);
	assert_int_equal(stat(path, &st), -1);
	metrics_add(m, "posthorn_messages_total", "mode=\"mx\"", 1);
	assert_int_equal(metrics_flush(m, dir, "t", 100000, 0), 0);
	assert_int_equal(fileread_all(path, 4096, &text, &len), 0);
	assert_non_null(strstr(text, "posthorn_messages_total{mode=\"mx\"} 1\n"));
	free(text);
	/* within the interval: kept for later, unless forced */
	metrics_add(m, "posthorn_messages_total", "mode=\"mx\"", 1);
	assert_int_equal(metrics_flush(m, dir, "t", 100000 + 1000, 0), 0);
	assert_int_equal(fileread_all(path, 4096, &text, &len), 0);
	assert_non_null(strstr(text, "} 1\n"));
	free(text);
	assert_int_equal(metrics_flush(m, dir, "t",
	    100000 + METRICS_INTERVAL * 1000, 0), 0);
	assert_int_equal(fileread_all(path, 4096, &text, &len), 0);
	assert_non_null(strstr(text, "} 2\n"));
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(m);
	assert_int_equal(tu_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families_have_one_head_and_series_add_up),
		cmocka_unit_test(test_the_file_is_written_when_changed_and_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
