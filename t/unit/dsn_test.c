/* dsn_test.c — RFC 3461's parameters (lib/dsn.c): xtext decoded and
 * encoded, its bad forms refused, NOTIFY's keywords and NEVER alone,
 * RET, ORCPT's address type and ENVID's length bound. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dsn.h"

static int
dec(const char *in, char *out, size_t size)
{
	return dsn_xtext_decode(in, strlen(in), out, size);
}

static void
test_xtext_decodes_plus_hex_and_plain_characters(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(dec("abc+2Bdef+3Dg", out, sizeof(out)), 9);
	assert_string_equal(out, "abc+def=g");
	assert_int_equal(dec("a+20b", out, sizeof(out)), 3);
	assert_string_equal(out, "a b");
	assert_int_equal(dec("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_bad_xtext_is_refused(void **state)
{
	static const char *const bad[] = {
		"a+2",		/* "+" and one digit */
		"a+",		/* "+" at the end */
		"a+2b",		/* lower-case hex (RFC 3461 §4) */
		"a+G0",		/* not hex */
		"a=b",		/* "=" must be encoded */
		"a b",		/* a space must be encoded */
		"a\x7f",	/* DEL */
		"a\xc3\xa9",	/* 8-bit */
		"a+0D+0A",	/* a decoded CR LF: never in the queue */
		"+00",		/* a decoded NUL */
		"+80",		/* a decoded 8-bit byte */
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(dec(bad[i], out, sizeof(out)), -1);
		assert_int_equal(errno, EINVAL);
	}
}

static void
test_xtext_that_does_not_fit_is_refused(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(dec("abc", out, sizeof(out)), 3);
	errno = 0;
	assert_int_equal(dec("abcd", out, sizeof(out)), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(dec("ab+2B+2B", out, sizeof(out)), -1);
}

static void
test_xtext_encode_round_trips(void **state)
{
	char enc[128], back[64];
	const char *s = "bob+tag=x y@example.org";

	(void)state;
	assert_int_equal(dsn_xtext_encode(s, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "bob+2Btag+3Dx+20y@example.org");
	assert_int_equal(dec(enc, back, sizeof(back)), (int)strlen(s));
	assert_string_equal(back, s);
	assert_int_equal(dsn_xtext_encode("a+b", enc, 5), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(dsn_xtext_encode("a+b", enc, 6), 0);
}

static void
test_notify_keywords_and_never_alone(void **state)
{
	unsigned m = 0;
	char text[DSN_NOTIFY_TEXT_MAX];

	(void)state;
	assert_int_equal(dsn_notify_parse("SUCCESS,delay", 13, &m), 0);
	assert_int_equal(m, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY);
	dsn_notify_format(m, text, sizeof(text));
	assert_string_equal(text, "SUCCESS,DELAY");
	assert_int_equal(dsn_notify_parse("NEVER", 5, &m), 0);
	assert_int_equal(m, DSN_NOTIFY_NEVER);
	dsn_notify_format(DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE |
	    DSN_NOTIFY_DELAY, text, sizeof(text));
	assert_string_equal(text, "SUCCESS,FAILURE,DELAY");
	assert_int_equal(dsn_notify_parse("NEVER,SUCCESS", 13, &m), -1);
	assert_int_equal(dsn_notify_parse("FAILURE,FAILURE", 15, &m), -1);
	assert_int_equal(dsn_notify_parse("SUCCESS,", 8, &m), -1);
	assert_int_equal(dsn_notify_parse("", 0, &m), -1);
	assert_int_equal(dsn_notify_parse("SOMETIMES", 9, &m), -1);
	/* Not given is FAILURE and DELAY; NEVER wants nothing. */
	assert_true(dsn_notify_wants(0, DSN_NOTIFY_FAILURE));
	assert_true(dsn_notify_wants(0, DSN_NOTIFY_DELAY));
	assert_false(dsn_notify_wants(0, DSN_NOTIFY_SUCCESS));
	assert_false(dsn_notify_wants(DSN_NOTIFY_NEVER, DSN_NOTIFY_FAILURE));
	assert_false(dsn_notify_wants(DSN_NOTIFY_SUCCESS,
	    DSN_NOTIFY_FAILURE));
	assert_true(dsn_notify_wants(DSN_NOTIFY_SUCCESS, DSN_NOTIFY_SUCCESS));
}

static void
test_ret_full_or_hdrs(void **state)
{
	enum dsn_ret r;

	(void)state;
	assert_int_equal(dsn_ret_parse("hdrs", 4, &r), 0);
	assert_int_equal(r, DSN_RET_HDRS);
	assert_int_equal(dsn_ret_parse("FULL", 4, &r), 0);
	assert_int_equal(r, DSN_RET_FULL);
	assert_string_equal(dsn_ret_name(r), "FULL");
	assert_int_equal(dsn_ret_parse("BODY", 4, &r), -1);
	assert_int_equal(dsn_ret_parse("", 0, &r), -1);
}

static void
test_orcpt_type_and_address(void **state)
{
	char out[DSN_ORCPT_MAX + 1], enc[DSN_ORCPT_MAX * 3 + 1];
	char big[DSN_ORCPT_MAX + 2];
	const char *v = "rfc822;bob+2Bx@example.org";

	(void)state;
	assert_int_equal(dsn_orcpt_parse(v, strlen(v), out, sizeof(out)), 0);
	assert_string_equal(out, "rfc822;bob+x@example.org");
	assert_int_equal(dsn_orcpt_encode(out, enc, sizeof(enc)), 0);
	assert_string_equal(enc, v);
	assert_int_equal(dsn_orcpt_parse("rfc822;", 7, out, sizeof(out)), -1);
	assert_int_equal(dsn_orcpt_parse(";a@b", 4, out, sizeof(out)), -1);
	assert_int_equal(dsn_orcpt_parse("a@b", 3, out, sizeof(out)), -1);
	assert_int_equal(dsn_orcpt_parse("rfc 822;a@b", 11, out,
	    sizeof(out)), -1);
	assert_int_equal(dsn_orcpt_parse("rfc822;a=b", 10, out,
	    sizeof(out)), -1);
	/* 500 characters, and one more. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "rfc822;", 7);
	assert_int_equal(dsn_orcpt_parse(big, DSN_ORCPT_MAX, out,
	    sizeof(out)), 0);
	assert_int_equal(dsn_orcpt_parse(big, DSN_ORCPT_MAX + 1, out,
	    sizeof(out)), -1);
	assert_int_equal(dsn_orcpt_encode("no-type", enc, sizeof(enc)), -1);
}

static void
test_envid_is_bounded_and_not_empty(void **state)
{
	char out[DSN_ENVID_MAX + 1], big[DSN_ENVID_MAX + 1];

	(void)state;
	assert_int_equal(dsn_envid_parse("QQ314159+2B1", 12, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "QQ314159+1");
	memset(big, 'x', sizeof(big));
	assert_int_equal(dsn_envid_parse(big, DSN_ENVID_MAX, out,
	    sizeof(out)), 0);
	assert_int_equal(dsn_envid_parse(big, DSN_ENVID_MAX + 1, out,
	    sizeof(out)), -1);
	assert_int_equal(dsn_envid_parse("", 0, out, sizeof(out)), -1);
	assert_int_equal(dsn_envid_parse("a b", 3, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_xtext_decodes_plus_hex_and_plain_characters),
		cmocka_unit_test(test_bad_xtext_is_refused),
		cmocka_unit_test(test_xtext_that_does_not_fit_is_refused),
		cmocka_unit_test(test_xtext_encode_round_trips),
		cmocka_unit_test(test_notify_keywords_and_never_alone),
		cmocka_unit_test(test_ret_full_or_hdrs),
		cmocka_unit_test(test_orcpt_type_and_address),
		cmocka_unit_test(test_envid_is_bounded_and_not_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
