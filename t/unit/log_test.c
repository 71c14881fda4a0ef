/* log_test.c — log lines: the prefix, key=value pairs, quoting that always
 * parses back, the bound on a line, and one write(2) per line (stderr is
 * a SOCK_SEQPACKET socket here, so each write arrives as one packet). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "str.h"

struct fx {
	int	saved_stderr;
	int	rd;			/* the other end of stderr */
	char	line[2 * LOG_LINE_MAX];
	char	want[2 * LOG_LINE_MAX];
	size_t	len;
};

static int
setup(void **state)
{
	struct fx *fx;
	int sv[2];

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((fx->saved_stderr = dup(STDERR_FILENO)) == -1 ||
	    dup2(sv[1], STDERR_FILENO) == -1)
		return -1;
	close(sv[1]);
	fx->rd = sv[0];
	unsetenv("JOURNAL_STREAM");
	log_init("smtp-in");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (dup2(fx->saved_stderr, STDERR_FILENO) == -1)
		return -1;
	close(fx->saved_stderr);
	close(fx->rd);
	free(fx);
	return 0;
}

/* Exactly one packet, i.e. one write(2), and nothing after it. */
static const char *
one_line(struct fx *fx)
{
	ssize_t n;

	n = recv(fx->rd, fx->line, sizeof(fx->line) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	fx->line[n] = '\0';
	fx->len = (size_t)n;
	assert_int_equal(recv(fx->rd, fx->want, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	return fx->line;
}

/* The line without its "smtp-in[PID]: " prefix. */
static const char *
body(struct fx *fx)
{
	char prefix[64];
	size_t n;

	one_line(fx);
	assert_int_equal(str_fmt(prefix, sizeof(prefix), "smtp-in[%ld]: ",
	    (long)getpid()), 0);
	n = strlen(prefix);
	assert_memory_equal(fx->line, prefix, n);
	return fx->line + n;
}

static void
test_line_has_prefix_event_and_pairs_in_one_write(void **state)
{
	struct fx *fx = *state;

	log_event("accepted", "id", "1HbX2c4", "from", "<bob@remote.example>",
	    "size", "10452", (char *)NULL);
	assert_string_equal(body(fx), "event=accepted id=1HbX2c4 "
	    "from=<bob@remote.example> size=10452\n");
}

static void
test_null_value_skips_its_pair(void **state)
{
	struct fx *fx = *state;

	log_event("refused", "id", (char *)NULL, "peer", "[192.0.2.7]",
	    (char *)NULL);
	assert_string_equal(body(fx), "event=refused peer=[192.0.2.7]\n");
}

static void
test_values_that_need_it_are_quoted_and_escaped(void **state)
{
	struct fx *fx = *state;

	log_event("x", "reply", "550 5.1.1 no such user",
	    "q", "say \"hi\"", "eq", "a=b", "bs", "a\\b", "empty", "",
	    "ctl", "a\r\n\tb", "del", "\x7f", "esc", "\x1b[31m",
	    (char *)NULL);
	assert_string_equal(body(fx), "event=x "
	    "reply=\"550 5.1.1 no such user\" q=\"say \\\"hi\\\"\" "
	    "eq=\"a=b\" bs=\"a\\\\b\" empty=\"\" ctl=\"a\\x0d\\x0a\\x09b\" "
	    "del=\"\\x7f\" esc=\"\\x1b[31m\"\n");
}

static void
test_utf8_is_kept_as_is(void **state)
{
	struct fx *fx = *state;

	log_event("x", "to", "<j\xc3\xbcrgen@b\xc3\xbc\x63her.example>",
	    "name", "J\xc3\xbcrgen M", (char *)NULL);
	assert_string_equal(body(fx), "event=x "
	    "to=<j\xc3\xbcrgen@b\xc3\xbc\x63her.example> "
	    "name=\"J\xc3\xbcrgen M\"\n");
}

/* journald stores a line that is not UTF-8 as a blob that plain
 * journalctl does not show: a peer must not hide its own lines. */
static void
test_bytes_that_are_not_utf8_are_escaped(void **state)
{
	struct fx *fx = *state;

	log_event("x", "arg", "<\xff\xfe@b.c>", "mixed",
	    "\xc3\xbc\xc3(\xed\xa0\x80", (char *)NULL);
	assert_string_equal(body(fx), "event=x "
	    "arg=\"<\\xff\\xfe@b.c>\" "
	    "mixed=\"\xc3\xbc\\xc3(\\xed\\xa0\\x80\"\n");
}

static void
test_long_value_is_cut_with_dots_and_later_pairs_stay(void **state)
{
	struct fx *fx = *state;
	static char v[3 * LOG_VALUE_MAX];
	struct str want;

	memset(v, 'v', sizeof(v) - 1);
	log_event("x", "cmd", v, "id", "abc", (char *)NULL);
	str_init(&want, fx->want, sizeof(fx->want));
	assert_int_equal(str_appends(&want, "event=x cmd="), 0);
	memset(v, 'v', LOG_VALUE_MAX - 3);
	v[LOG_VALUE_MAX - 3] = '\0';
	assert_int_equal(str_appendf(&want, "%s... id=abc\n", v), 0);
	assert_string_equal(body(fx), want.s);
}

static void
test_cut_never_splits_a_utf8_sequence(void **state)
{
	struct fx *fx = *state;
	static char v[2 * LOG_VALUE_MAX];
	struct str want;
	size_t i;

	/* 2-byte characters: LOG_VALUE_MAX - 3 = 1021 bytes of room would
	 * end on a lead byte, which must go. */
	for (i = 0; i + 2 < sizeof(v); i += 2)
		memcpy(v + i, "\xc3\xa9", 2);
	log_event("x", "subject", v, (char *)NULL);
	str_init(&want, fx->want, sizeof(fx->want));
	assert_int_equal(str_appends(&want, "event=x subject="), 0);
	for (i = 0; i + 2 <= LOG_VALUE_MAX - 3; i += 2)
		assert_int_equal(str_appends(&want, "\xc3\xa9"), 0);
	assert_int_equal(str_appends(&want, "...\n"), 0);
	assert_string_equal(body(fx), want.s);
}

static void
test_quoted_cut_value_keeps_its_closing_quote(void **state)
{
	struct fx *fx = *state;
	static char v[2 * LOG_VALUE_MAX];
	const char *b;
	size_t n;

	memset(v, ' ', sizeof(v) - 1);
	log_event("x", "k", v, (char *)NULL);
	b = body(fx);
	n = strlen(b);
	assert_true(n <= LOG_VALUE_MAX + strlen("event=x k=\n"));
	assert_memory_equal(b, "event=x k=\" ", 12);
	assert_string_equal(b + n - 5, "...\"\n");
}

/* A peer's value (LOG_PEER): cut at LOG_PEER_VALUE_MAX written bytes,
 * escapes and quotes included, and the mark is not written. */
static void
test_peer_value_is_cut_shorter(void **state)
{
	struct fx *fx = *state;
	static char v[4096];
	const char *b, *val;
	size_t n;

	memset(v, 'a', sizeof(v) - 1);
	log_event("refused", LOG_PEER "arg", v, "peer", "[192.0.2.7]",
	    (char *)NULL);
	b = body(fx);
	assert_memory_equal(b, "event=refused arg=aaa", 21);
	val = b + strlen("event=refused arg=");
	n = (size_t)(strchr(val, ' ') - val);
	assert_int_equal(n, LOG_PEER_VALUE_MAX);
	assert_memory_equal(val + n - 3, "...", 3);
	assert_string_equal(val + n, " peer=[192.0.2.7]\n");

	/* Control bytes are \xHH: four written bytes each, still bounded. */
	memset(v, '\x01', sizeof(v) - 1);
	log_event("refused", LOG_PEER "arg", v, (char *)NULL);
	b = body(fx);
	n = strlen(b) - strlen("event=refused arg=\n");
	assert_true(n <= LOG_PEER_VALUE_MAX);
	assert_string_equal(b + strlen(b) - 5, "...\"\n");

	/* A short one is as it was. */
	log_event("refused", LOG_PEER "to", "<a@b.example>", (char *)NULL);
	assert_string_equal(body(fx), "event=refused to=<a@b.example>\n");
}

static void
test_line_never_exceeds_the_bound(void **state)
{
	struct fx *fx = *state;
	static char v[LOG_LINE_MAX];

	memset(v, '\x01', sizeof(v) - 1);	/* 4 bytes each once escaped */
	log_event("x", "a", v, "b", v, "c", v, "d", v, "e", v, "f", v,
	    (char *)NULL);
	one_line(fx);
	assert_true(fx->len <= LOG_LINE_MAX);
	assert_int_equal(fx->line[fx->len - 1], '\n');
	assert_non_null(strstr(fx->line, " a=\"\\x01"));
	assert_null(strstr(fx->line, " f="));	/* did not fit at all */
}

static void
test_errno_is_preserved(void **state)
{
	struct fx *fx = *state;

	errno = ENOSPC;
	log_event("x", (char *)NULL);
	assert_int_equal(errno, ENOSPC);
	assert_string_equal(body(fx), "event=x\n");
}

static void
test_no_prefix_when_stderr_is_the_journal_stream(void **state)
{
	struct fx *fx = *state;
	char env[64];
	struct stat st;

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	assert_int_equal(str_fmt(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino), 0);
	assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
	log_init("smtp-in");
	log_event("started", "mode", "mx", (char *)NULL);
	assert_string_equal(one_line(fx), "event=started mode=mx\n");
}

static void
test_prefix_when_journal_stream_is_someone_elses(void **state)
{
	struct fx *fx = *state;

	/* Inherited by a child whose stderr goes elsewhere. */
	assert_int_equal(setenv("JOURNAL_STREAM", "1:1", 1), 0);
	log_init("smtp-in");
	log_event("started", (char *)NULL);
	assert_string_equal(body(fx), "event=started\n");
}

static void
test_time_stamp_first_when_asked(void **state)
{
	struct fx *fx = *state;
	const char *l;
	char prefix[64];

	setenv(LOG_TIME_ENV, "1", 1);
	log_init("smtp-in");
	log_event("connect", (char *)NULL);
	unsetenv(LOG_TIME_ENV);
	log_init("smtp-in");
	l = one_line(fx);
	/* 2026-12-06T18:56:01.123Z smtp-in[PID]: event=connect */
	assert_true(strlen(l) > 25);
	assert_true(l[4] == '-' && l[7] == '-' && l[10] == 'T' &&
	    l[13] == ':' && l[16] == ':' && l[19] == '.' && l[23] == 'Z' &&
	    l[24] == ' ');
	assert_int_equal(str_fmt(prefix, sizeof(prefix), "smtp-in[%ld]: ",
	    (long)getpid()), 0);
	assert_memory_equal(l + 25, prefix, strlen(prefix));
	assert_string_equal(l + 25 + strlen(prefix), "event=connect\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_line_has_prefix_event_and_pairs_in_one_write),
		T(test_null_value_skips_its_pair),
		T(test_values_that_need_it_are_quoted_and_escaped),
		T(test_utf8_is_kept_as_is),
	T(test_bytes_that_are_not_utf8_are_escaped),
		T(test_long_value_is_cut_with_dots_and_later_pairs_stay),
		T(test_cut_never_splits_a_utf8_sequence),
		T(test_quoted_cut_value_keeps_its_closing_quote),
		T(test_peer_value_is_cut_shorter),
		T(test_line_never_exceeds_the_bound),
		T(test_errno_is_preserved),
		T(test_no_prefix_when_stderr_is_the_journal_stream),
		T(test_prefix_when_journal_stream_is_someone_elses),
		T(test_time_stamp_first_when_asked),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
