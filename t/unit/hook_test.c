/* hook_test.c — the verdict of smtp-in's content filter from its exit
 * status and output (smtp-in/hook.c, hook_parse and hook_fields): each
 * exit status of the protocol, header fields checked and normalised,
 * every malformed output refused, the text of a refusal sanitised and
 * bounded, and a reply code the filter may not give replaced. */

#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hook.h"

static struct hook_result r;

/* The status that waitpid gives for exit(code). */
static int
exited(int code)
{
	return (code & 0xff) << 8;
}

static void
parse(int status, const char *out)
{
	memset(&r, 0x55, sizeof(r));
	hook_parse(status, out, strlen(out), &r);
}

static void
test_exit_0_without_output_accepts_with_no_fields(void **state)
{
	(void)state;
	parse(exited(0), "");
	assert_int_equal(r.verdict, HOOK_ACCEPT);
	assert_int_equal(r.fieldslen, 0);
	assert_int_equal(r.nfields, 0);
	assert_string_equal(r.fields, "");
}

static void
test_exit_0_fields_are_kept_with_lf_ends(void **state)
{
	(void)state;
	parse(exited(0), "X-Spam-Status: No, score=-0.1\r\n\trequired=5.0\r\n"
	    "X-Virus-Scanned: ClamAV");
	assert_int_equal(r.verdict, HOOK_ACCEPT);
	assert_int_equal(r.nfields, 2);
	assert_string_equal(r.fields, "X-Spam-Status: No, score=-0.1\n"
	    "\trequired=5.0\nX-Virus-Scanned: ClamAV\n");
	assert_int_equal(r.fieldslen, strlen(r.fields));
}

static void
test_exit_1_is_spam_with_its_fields(void **state)
{
	(void)state;
	parse(exited(1), "X-Spam-Flag: YES\n");
	assert_int_equal(r.verdict, HOOK_SPAM);
	assert_int_equal(r.nfields, 1);
	assert_string_equal(r.fields, "X-Spam-Flag: YES\n");
}

static void
test_field_name_may_hold_any_printable_but_colon(void **state)
{
	(void)state;
	parse(exited(0), "X!#$%&'*+-.^_`{|}~9:\n");
	assert_int_equal(r.verdict, HOOK_ACCEPT);
	parse(exited(0), "Empty-Value:\n");
	assert_int_equal(r.verdict, HOOK_ACCEPT);
}

static void
test_malformed_fields_fail(void **state)
{
	static const struct {
		const char	*out;
		const char	*why;
	} cases[] = {
		{ "no colon here\n", "not a header field" },
		{ ": no name\n", "not a header field" },
		{ "Sp ace: x\n", "not a header field" },
		{ "X-A: 1\n\n", "an empty line" },
		{ "X-A: 1\r\n\r\nbody\r\n", "an empty line" },
		{ "\n", "an empty line" },
		{ " X-A: 1\n", "before any field" },
		{ "X-A: 1\n \t\n", "blanks only" },
		{ "X-A: \x7f\n", "not printable ASCII" },
		{ "X-A: caf\xc3\xa9\n", "not printable ASCII" },
		{ "X-A: a\rb\n", "not printable ASCII" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(exited(0), cases[i].out);
		assert_int_equal(r.verdict, HOOK_FAILED);
		assert_non_null(strstr(r.why, cases[i].why));
		assert_string_equal(r.reply, "451 4.3.0 content filter "
		    "failed, try again later");
		assert_int_equal(r.fieldslen, 0);
	}
}

static void
test_nul_in_fields_fails(void **state)
{
	static const char out[] = "X-A: a\0b\n";

	(void)state;
	hook_parse(exited(0), out, sizeof(out) - 1, &r);
	assert_int_equal(r.verdict, HOOK_FAILED);
}

static void
test_line_of_998_is_kept_and_999_fails(void **state)
{
	char out[1100];

	(void)state;
	memset(out, 'a', sizeof(out));
	memcpy(out, "X-Long: ", 8);
	out[998] = '\n';
	out[999] = '\0';
	parse(exited(0), out);
	assert_int_equal(r.verdict, HOOK_ACCEPT);
	memset(out, 'a', sizeof(out));
	memcpy(out, "X-Long: ", 8);
	out[999] = '\n';
	out[1000] = '\0';
	parse(exited(0), out);
	assert_int_equal(r.verdict, HOOK_FAILED);
	assert_non_null(strstr(r.why, "over 998"));
}

static void
test_fields_over_the_count_fail(void **state)
{
	char out[HOOK_FIELDS_MAX * 8 + 16];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < HOOK_FIELDS_MAX; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "X-%02zu: 1\n",
		    i);
	parse(exited(0), out);
	assert_int_equal(r.verdict, HOOK_ACCEPT);
	assert_int_equal(r.nfields, HOOK_FIELDS_MAX);
	(void)snprintf(out + n, sizeof(out) - n, "X-99: 1\n");
	parse(exited(0), out);
	assert_int_equal(r.verdict, HOOK_FAILED);
}

static void
test_refuse_takes_the_last_line_and_its_codes(void **state)
{
	(void)state;
	parse(exited(20), "scanning...\n554 5.7.1 Virus found: Eicar\n\n");
	assert_int_equal(r.verdict, HOOK_REFUSE);
	assert_string_equal(r.reply, "554 5.7.1 Virus found: Eicar");
	parse(exited(20), "550 5.7.0 no");
	assert_string_equal(r.reply, "550 5.7.0 no");
	parse(exited(20), "553 only a code");
	assert_string_equal(r.reply, "553 5.7.1 only a code");
	parse(exited(20), "5.7.26 only an enhanced code");
	assert_string_equal(r.reply, "550 5.7.26 only an enhanced code");
}

static void
test_refuse_defaults_and_wrong_class_codes(void **state)
{
	(void)state;
	parse(exited(20), "");
	assert_string_equal(r.reply, "550 5.7.1 message refused by the "
	    "content filter");
	parse(exited(20), "  \n\t\n");
	assert_string_equal(r.reply, "550 5.7.1 message refused by the "
	    "content filter");
	/* A 4xx, a 421 or a 521 is not a refusal's code: text. */
	parse(exited(20), "451 4.7.1 later");
	assert_string_equal(r.reply, "550 5.7.1 451 4.7.1 later");
	parse(exited(20), "521 5.3.2 closing");
	assert_string_equal(r.reply, "550 5.7.1 521 5.3.2 closing");
	parse(exited(20), "5501 x");
	assert_string_equal(r.reply, "550 5.7.1 5501 x");
	parse(exited(20), "550 4.7.1 wrong class");
	assert_string_equal(r.reply, "550 5.7.1 4.7.1 wrong class");
	parse(exited(20), "550 5.1234.1 too long");
	assert_string_equal(r.reply, "550 5.7.1 5.1234.1 too long");
}

static void
test_refusal_text_is_sanitised_and_bounded(void **state)
{
	char out[1000];

	(void)state;
	parse(exited(20), "  bad\tbytes \x01\x1b[31m \xc3\xa9\r\n");
	assert_string_equal(r.reply, "550 5.7.1 bad bytes ??[31m ??");
	memset(out, 'z', sizeof(out));
	out[sizeof(out) - 1] = '\0';
	parse(exited(20), out);
	assert_int_equal(strlen(r.reply), strlen("550 5.7.1 ") +
	    HOOK_TEXT_MAX);
}

static void
test_tempfail_is_4xx(void **state)
{
	(void)state;
	parse(exited(75), "");
	assert_int_equal(r.verdict, HOOK_TEMPFAIL);
	assert_string_equal(r.reply, "451 4.7.1 message deferred by the "
	    "content filter, try again later");
	parse(exited(75), "452 4.3.1 busy");
	assert_string_equal(r.reply, "452 4.3.1 busy");
	parse(exited(75), "421 4.3.2 closing");
	assert_string_equal(r.reply, "451 4.7.1 421 4.3.2 closing");
	parse(exited(75), "550 5.7.1 no");
	assert_string_equal(r.reply, "451 4.7.1 550 5.7.1 no");
}

static void
test_other_statuses_and_signals_fail(void **state)
{
	(void)state;
	parse(exited(2), "X-A: 1\n");
	assert_int_equal(r.verdict, HOOK_FAILED);
	assert_string_equal(r.why, "exit status 2");
	parse(exited(100), "");
	assert_int_equal(r.verdict, HOOK_FAILED);
	parse(11, "X-A: 1\n");		/* WTERMSIG 11 */
	assert_true(WIFSIGNALED(11));
	assert_int_equal(r.verdict, HOOK_FAILED);
	assert_string_equal(r.why, "killed by signal 11");
	assert_string_equal(r.reply, "451 4.3.0 content filter failed, try "
	    "again later");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_0_without_output_accepts_with_no_fields),
		cmocka_unit_test(test_exit_0_fields_are_kept_with_lf_ends),
		cmocka_unit_test(test_exit_1_is_spam_with_its_fields),
		cmocka_unit_test(test_field_name_may_hold_any_printable_but_colon),
		cmocka_unit_test(test_malformed_fields_fail),
		cmocka_unit_test(test_nul_in_fields_fails),
		cmocka_unit_test(test_line_of_998_is_kept_and_999_fails),
		cmocka_unit_test(test_fields_over_the_count_fail),
		cmocka_unit_test(test_refuse_takes_the_last_line_and_its_codes),
		cmocka_unit_test(test_refuse_defaults_and_wrong_class_codes),
		cmocka_unit_test(test_refusal_text_is_sanitised_and_bounded),
		cmocka_unit_test(test_tempfail_is_4xx),
		cmocka_unit_test(test_other_statuses_and_signals_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
