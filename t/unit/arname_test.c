/* arname_test.c — which Authentication-Results fields are taken for
 * ours and renamed, one header at a time, as smtp-in and queue-inject
 * feed the judge: a byte at a time, each line started and ended. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arname.h"

#define OURS	"mx.example.net"

static char out[4096];
static size_t outlen;

static void
put(void *arg, const char *p, size_t n)
{
	(void)arg;
	assert_true(n <= sizeof(out) - outlen);
	memcpy(out + outlen, p, n);
	outlen += n;
}

/* A header of LF-ended lines through the judge, the way its callers
 * drive it; the number of fields renamed.  The output is in out. */
static unsigned
run(const char *ours, const char *in)
{
	struct arname a;
	size_t i;

	outlen = 0;
	arname_init(&a, ours, put, NULL);
	for (i = 0; in[i] != '\0'; i++) {
		if (in[i] == '\n') {
			arname_end(&a);
			put(NULL, "\n", 1);
			arname_line(&a);
		} else if (!arname_busy(&a) ||
		    !arname_byte(&a, (unsigned char)in[i]))
			put(NULL, in + i, 1);
	}
	arname_end(&a);
	out[outlen] = '\0';
	return a.renamed;
}

/* One field, renamed or left as it is. */
static void
judged(const char *field, int renamed)
{
	char want[1024];

	assert_true(strlen(field) + sizeof(ARNAME_PREFIX) < sizeof(want));
	strcpy(want, renamed ? ARNAME_PREFIX : "");
	strcat(want, field);
	assert_int_equal(run(OURS, field), renamed ? 1 : 0);
	assert_string_equal(out, want);
}

static void
test_ours_is_renamed(void **state)
{
	(void)state;
	judged("Authentication-Results: mx.example.net; spf=pass\n", 1);
	judged("authentication-results:MX.Example.NET;spf=pass\n", 1);
	judged("Authentication-Results :\tmx.example.net 1; none\n", 1);
	judged("Authentication-Results: mx.example.net(v1); none\n", 1);
	judged("Authentication-Results: mx.example.net\n", 1);
	judged("Authentication-Results: mx.example.net", 1);
}

/* Whatever a reader may take for our id: behind a comment, quoted, on
 * the next line, cut by a fold, or followed by what no host name has. */
static void
test_what_may_read_as_ours_is_renamed(void **state)
{
	(void)state;
	judged("Authentication-Results: (x) other.example; none\n", 1);
	judged("Authentication-Results: \"other.example\"; none\n", 1);
	judged("Authentication-Results:\n mx.example.net; spf=pass\n", 1);
	judged("Authentication-Results: mx.exam\n ple.net; dkim=pass\n", 1);
	judged("Authentication-Results: mx.example.net.; spf=pass\n", 1);
	judged("Authentication-Results: mx.example.net.\n", 1);
	judged("Authentication-Results: mx.example.net/1; spf=pass\n", 1);
	judged("Authentication-Results: mx.example.net,; spf=pass\n", 1);
	judged("Authentication-Results: mx.example.net\\; spf=pass\n", 1);
	judged("Authentication-Results:\n", 1);
}

/* Others' fields, and fields that are not Authentication-Results. */
static void
test_others_are_left_alone(void **state)
{
	(void)state;
	judged("Authentication-Results: other.example; spf=pass\n", 0);
	judged("Authentication-Results: mx.example.network; spf=pass\n", 0);
	judged("Authentication-Results: mx.example.net-2; spf=pass\n", 0);
	judged("Authentication-Results: mx.example.net.evil; spf=pass\n", 0);
	judged("Authentication-Results: mx.example.ne; spf=pass\n", 0);
	judged("Authentication-Results-X: mx.example.net; spf=pass\n", 0);
	judged("X-Authentication-Results: mx.example.net; spf=pass\n", 0);
	judged("Authentication-Result: mx.example.net; x=y\n", 0);
	judged("Authentication-Results x: mx.example.net\n", 0);
	judged("Subject: Authentication-Results: mx.example.net;\n", 0);
	/* A continuation line is no field. */
	judged("Subject: hi\n Authentication-Results: mx.example.net\n", 0);
	judged("Authentication-Results  \n", 0);
}

/* Blanks past the hold: the name is whole, so the field is renamed
 * without its id read; the bytes all go out, in order. */
static void
test_a_start_past_the_hold_is_renamed_unread(void **state)
{
	char field[ARNAME_HOLD_MAX + 128];
	size_t n;

	(void)state;
	n = strlen("Authentication-Results");
	memcpy(field, "Authentication-Results", n);
	memset(field + n, ' ', ARNAME_HOLD_MAX);
	strcpy(field + n + ARNAME_HOLD_MAX, ": other.example; x=y\n");
	judged(field, 1);
	memcpy(field, "Authentication-Results:", n + 1);
	strcpy(field + n + 1 + ARNAME_HOLD_MAX - 1, "other.example; x=y\n");
	judged(field, 1);
}

/* Several fields: each judged from its own start. */
static void
test_each_field_on_its_own(void **state)
{
	static const char in[] =
	    "Received: from a\n by b\n"
	    "Authentication-Results: mx.example.net; dkim=pass\n"
	    "Authentication-Results: other.example; spf=pass\n"
	    "Authentication-Results: MX.EXAMPLE.NET;\n spf=pass\n";
	static const char want[] =
	    "Received: from a\n by b\n"
	    "X-Original-Authentication-Results: mx.example.net; dkim=pass\n"
	    "Authentication-Results: other.example; spf=pass\n"
	    "X-Original-Authentication-Results: MX.EXAMPLE.NET;\n spf=pass\n";

	(void)state;
	assert_int_equal(run(OURS, in), 2);
	assert_string_equal(out, want);
}

/* No id of ours: nothing renamed, nothing held. */
static void
test_without_ours_nothing_is_renamed(void **state)
{
	static const char in[] = "Authentication-Results: (x); none\n";

	(void)state;
	assert_int_equal(run(NULL, in), 0);
	assert_string_equal(out, in);
	assert_int_equal(run("", in), 0);
	assert_string_equal(out, in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ours_is_renamed),
		cmocka_unit_test(test_what_may_read_as_ours_is_renamed),
		cmocka_unit_test(test_others_are_left_alone),
		cmocka_unit_test(test_a_start_past_the_hold_is_renamed_unread),
		cmocka_unit_test(test_each_field_on_its_own),
		cmocka_unit_test(test_without_ours_nothing_is_renamed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
