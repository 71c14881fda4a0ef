/* mailhdr_test.c — addr-specs out of RFC 5322 address lists as real mail
 * writes them: display names, comments, quoted strings, folding, groups,
 * obsolete routes and empty elements; and refusal of what is not an
 * address list, within fixed bounds.  Values are copied into buffers of
 * exactly their length so that ASan catches a read past the end. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "mailhdr.h"

/* What the callback saw: the addresses joined with '|'. */
struct seen {
	char	text[8192];
	size_t	len;
	int	calls;
	int	stop_at;	/* return 7 on this call (1-based), 0: never */
};

static int
collect(void *arg, const char *a, size_t len)
{
	struct seen *s = arg;

	/* The address is NUL-terminated and has no NUL inside. */
	assert_int_equal(a[len], '\0');
	assert_int_equal(strlen(a), len);
	assert_true(s->len + len + 2 < sizeof(s->text));
	if (s->calls > 0)
		s->text[s->len++] = '|';
	memcpy(s->text + s->len, a, len);
	s->len += len;
	s->text[s->len] = '\0';
	s->calls++;
	return s->calls == s->stop_at ? 7 : 0;
}

static int
runn(const char *v, size_t len, struct seen *s)
{
	char *m = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(m);
	memcpy(m, v, len);
	memset(s, 0, sizeof(*s));
	rc = mailhdr_addresses(m, len, collect, s);
	free(m);
	return rc;
}

/* The addresses of v joined with '|', or "ERROR" for a syntax error. */
static const char *
addrs(const char *v)
{
	static struct seen s;

	if (runn(v, strlen(v), &s) == -1)
		return "ERROR";
	return s.text;
}

static void
test_is_matches_the_field_name_case_insensitively(void **state)
{
	const char *v = NULL;
	const char *l;

	(void)state;
	l = "To: a@x";
	assert_true(mailhdr_is(l, strlen(l), "to", &v));
	assert_ptr_equal(v, l + 3);
	l = "tO:a@x";
	assert_true(mailhdr_is(l, strlen(l), "To", &v));
	assert_ptr_equal(v, l + 3);
	/* obs-optional: WSP between the name and the colon. */
	l = "To \t: a@x";
	assert_true(mailhdr_is(l, strlen(l), "To", &v));
	assert_ptr_equal(v, l + 5);
	l = "To:";
	assert_true(mailhdr_is(l, 3, "to", &v));
	assert_ptr_equal(v, l + 3);
	v = NULL;
	l = "Tox: a@x";
	assert_false(mailhdr_is(l, strlen(l), "To", &v));
	l = "Reply-To: a@x";
	assert_false(mailhdr_is(l, strlen(l), "To", &v));
	l = "Cc: a@x";
	assert_false(mailhdr_is(l, strlen(l), "To", &v));
	l = "To a@x";
	assert_false(mailhdr_is(l, strlen(l), "To", &v));
	l = " To: a@x";
	assert_false(mailhdr_is(l, strlen(l), "To", &v));
	l = "T";
	assert_false(mailhdr_is(l, strlen(l), "To", &v));
	/* The colon beyond len is not seen. */
	assert_false(mailhdr_is("To:", 2, "To", &v));
	assert_false(mailhdr_is("To :", 3, "To", &v));
	assert_null(v);
}

static void
test_bare_addr_specs_and_lists(void **state)
{
	(void)state;
	assert_string_equal(addrs("bob@x.example"), "bob@x.example");
	assert_string_equal(addrs(" bob@x , alice@y "), "bob@x|alice@y");
	assert_string_equal(addrs("a.b.c@x.y.z"), "a.b.c@x.y.z");
	assert_string_equal(addrs("bob@[192.0.2.1]"), "bob@[192.0.2.1]");
	assert_string_equal(addrs("bob@[IPv6:2001:db8::1]"),
	    "bob@[IPv6:2001:db8::1]");
	/* Domain case and spelling are the caller's to judge. */
	assert_string_equal(addrs("Bob@X.Example"), "Bob@X.Example");
}

static void
test_display_names_are_dropped(void **state)
{
	(void)state;
	assert_string_equal(addrs("\"Bob Smith\" <bob@x>"), "bob@x");
	assert_string_equal(addrs("Bob <bob@x>"), "bob@x");
	assert_string_equal(addrs("Bob Smith<bob@x>"), "bob@x");
	assert_string_equal(addrs("John Q. Public <jqp@x>"), "jqp@x");
	assert_string_equal(addrs("\"Smith, Bob\" <bob@x>, alice@y"),
	    "bob@x|alice@y");
	assert_string_equal(addrs("<bob@x>"), "bob@x");
	assert_string_equal(addrs("< bob @ x >"), "bob@x");
	assert_string_equal(addrs("\"a \\\"q\\\" b\" <bob@x>"), "bob@x");
	assert_string_equal(addrs("=?utf-8?q?J=C3=B6rg?= <j@x>"), "j@x");
	assert_string_equal(addrs("J\xc3\xb6rg M\xc3\xbcller <j@x>"), "j@x");
	assert_string_equal(addrs("\"J\xc3\xb6rg\" <j@x>, =?iso-8859-1?b?"
	    "SvZyZw==?= <k@y>"), "j@x|k@y");
}

static void
test_comments_are_removed_wherever_cfws_may_be(void **state)
{
	(void)state;
	assert_string_equal(addrs("bob@x (Bob)"), "bob@x");
	assert_string_equal(addrs("(c) bob (c) @ (c) x (c) . (c) y (c)"),
	    "bob@x.y");
	assert_string_equal(addrs("bob@x (a (nested (deep)) b)"), "bob@x");
	assert_string_equal(addrs("bob@x (a \\) still comment)"), "bob@x");
	assert_string_equal(addrs("bob@x (a \\( not nested)"), "bob@x");
	assert_string_equal(addrs("Bob (the builder) <bob@x> (c), a@y"),
	    "bob@x|a@y");
	assert_string_equal(addrs("<(c)bob@x(c)>"), "bob@x");
	assert_string_equal(addrs("bob@x (\"quotes\" <in> @comment,;:)"),
	    "bob@x");
	assert_string_equal(addrs("(only a comment)"), "");
}

static void
test_comment_nesting_is_bounded(void **state)
{
	char v[256];
	size_t n, i;

	(void)state;
	for (n = MAILHDR_COMMENT_DEPTH_MAX; n <= MAILHDR_COMMENT_DEPTH_MAX + 1;
	    n++) {
		memcpy(v, "a@x ", 4);
		for (i = 0; i < n; i++) {
			v[4 + i] = '(';
			v[4 + n + i] = ')';
		}
		v[4 + 2 * n] = '\0';
		if (n <= MAILHDR_COMMENT_DEPTH_MAX)
			assert_string_equal(addrs(v), "a@x");
		else
			assert_string_equal(addrs(v), "ERROR");
	}
}

static void
test_quoted_local_parts_stay_quoted(void **state)
{
	(void)state;
	assert_string_equal(addrs("\"john doe\"@x"), "\"john doe\"@x");
	assert_string_equal(addrs("\"a\\\"b\"@x"), "\"a\\\"b\"@x");
	assert_string_equal(addrs("Bob <\"john doe\"@x>"), "\"john doe\"@x");
	assert_string_equal(addrs("\"abc\"@x"), "\"abc\"@x");
	/* obs-local-part: words and dots with CFWS between. */
	assert_string_equal(addrs("a . b @x"), "a.b@x");
	assert_string_equal(addrs("\"a\".b@x"), "\"a\".b@x");
}

static void
test_folded_fields_are_unfolded(void **state)
{
	(void)state;
	assert_string_equal(addrs("a@x,\r\n b@y,\n\tc@z\r\n"), "a@x|b@y|c@z");
	assert_string_equal(addrs("\"Bob\r\n Smith\" <b@x>"), "b@x");
	assert_string_equal(addrs("\"john\r\n doe\"@x"), "\"john doe\"@x");
	assert_string_equal(addrs("b@x (a\r\n\tcomment)"), "b@x");
	assert_string_equal(addrs("Bob\r\n <b@x>"), "b@x");
	assert_string_equal(addrs("<b\r\n @x>"), "b@x");
	assert_string_equal(addrs("b@x\n"), "b@x");
	/* A line break that is not a fold ends the field: text after it
	 * is not part of it. */
	assert_string_equal(addrs("a@x\r\nb@y"), "ERROR");
	assert_string_equal(addrs("a@x,\r\nb@y"), "ERROR");
	assert_string_equal(addrs("a@x\r\n\r\n"), "ERROR");
	assert_string_equal(addrs("a@x\rb@y"), "ERROR");
	assert_string_equal(addrs("a@x\r b@y"), "ERROR");
	assert_string_equal(addrs("\"a\r\nb\"@x"), "ERROR");
	assert_string_equal(addrs("b@x (a\r\ncomment)"), "ERROR");
}

static void
test_real_world_folded_to_field(void **state)
{
	const char *l =
	    "To: \"Smith, John\" <john@example.com>,\r\n"
	    "\tJane Doe <jane@example.org>, (team lead)\r\n"
	    " bob@example.net (Bob), undisclosed-recipients:;,\r\n"
	    "  =?utf-8?q?J=C3=B6rg?= <j@example.de>\r\n";
	const char *v = NULL;

	(void)state;
	assert_true(mailhdr_is(l, strlen(l), "to", &v));
	assert_string_equal(addrs(v), "john@example.com|jane@example.org|"
	    "bob@example.net|j@example.de");
}

static void
test_obsolete_routes_are_dropped(void **state)
{
	(void)state;
	assert_string_equal(addrs("<@r1.example,@r2.example:bob@x>"),
	    "bob@x");
	assert_string_equal(addrs("Bob <@r1:bob@x>"), "bob@x");
	assert_string_equal(addrs("<,@r1, ,@r2:bob@x>"), "bob@x");
	assert_string_equal(addrs("<@ r1 (c) , @r2 : bob@x>"), "bob@x");
	assert_string_equal(addrs("<@:bob@x>"), "ERROR");
	assert_string_equal(addrs("<,:bob@x>"), "ERROR");
	assert_string_equal(addrs("<@r1 bob@x>"), "ERROR");
	assert_string_equal(addrs("<@r1@r2:bob@x>"), "ERROR");
	assert_string_equal(addrs("<@r1:>"), "ERROR");
}

static void
test_bare_local_parts_are_passed_on_as_written(void **state)
{
	(void)state;
	assert_string_equal(addrs("bob"), "bob");
	assert_string_equal(addrs("bob, alice@x"), "bob|alice@x");
	assert_string_equal(addrs("bob (Bob)"), "bob");
	assert_string_equal(addrs("b.o.b"), "b.o.b");
	assert_string_equal(addrs("Bob <bob>"), "bob");
	assert_string_equal(addrs("\"john doe\""), "\"john doe\"");
	assert_string_equal(addrs("Bob Smith"), "ERROR");
	assert_string_equal(addrs("bob."), "ERROR");
}

static void
test_groups(void **state)
{
	(void)state;
	assert_string_equal(addrs("undisclosed-recipients:;"), "");
	assert_string_equal(addrs("undisclosed-recipients: ;"), "");
	assert_string_equal(addrs("team: a@x, b@y;"), "a@x|b@y");
	assert_string_equal(addrs("team: a@x, Bob <b@y>; , c@z"),
	    "a@x|b@y|c@z");
	assert_string_equal(addrs("\"The Team\" (c): a@x,,b@y,;"), "a@x|b@y");
	assert_string_equal(addrs("a@x, team: b@y; (c)"), "a@x|b@y");
	assert_string_equal(addrs("team: bob;"), "bob");
	/* Real mail often ends the field before the ';'. */
	assert_string_equal(addrs("undisclosed-recipients:"), "");
	assert_string_equal(addrs("team: a@x"), "a@x");
	assert_string_equal(addrs("outer: inner: a@x;;"), "ERROR");
	assert_string_equal(addrs("outer: inner: a@x;"), "ERROR");
	assert_string_equal(addrs("outer: inner:"), "ERROR");
	assert_string_equal(addrs(": a@x;"), "ERROR");
	assert_string_equal(addrs("team: a@x; junk"), "ERROR");
	assert_string_equal(addrs("team: a@x; b@y"), "ERROR");
	assert_string_equal(addrs("a@x; b@y"), "ERROR");
	assert_string_equal(addrs(";"), "ERROR");
}

static void
test_empty_elements_are_skipped(void **state)
{
	struct seen s;

	(void)state;
	assert_string_equal(addrs("a@x,,b@y"), "a@x|b@y");
	assert_string_equal(addrs(",a@x,"), "a@x");
	assert_string_equal(addrs(" , ,(c), "), "");
	assert_string_equal(addrs(""), "");
	assert_string_equal(addrs("   "), "");
	assert_int_equal(runn("", 0, &s), 0);
	assert_int_equal(s.calls, 0);
}

static void
test_callback_value_stops_the_walk(void **state)
{
	struct seen s;
	const char *v = "a@x, b@y, c@z";
	char *m = malloc(strlen(v));

	(void)state;
	assert_non_null(m);
	memcpy(m, v, strlen(v));
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(mailhdr_addresses(m, strlen(v), collect, &s), 7);
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.text, "a@x|b@y");
	/* Stops before the syntax error further on is even read. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(mailhdr_addresses("a@x, <<<", 8, collect, &s), 7);
	free(m);
}

static void
test_unbalanced_quotes_comments_and_brackets_are_errors(void **state)
{
	static const char *bad[] = {
		"\"bob@x", "bob@x \"", "bob@x (c", "bob@x (a (b)", "bob@x )",
		"<bob@x", "bob@x>", "Bob <bob@x", "<<bob@x>>", "a@[1.2.3.4",
		"a@1.2.3.4]", "a@[1.2[3].4]", "a@[a\\]b]", "a@[a\\b]",
		"\"a\\", "bob@x (a\\", "<>", "< >", "Bob <>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(addrs(bad[i]), "ERROR");
}

static void
test_text_where_an_address_should_be_is_an_error(void **state)
{
	static const char *bad[] = {
		"a@x b@y", "a b@x", "\"a\" b@x", "a@b@c", "@x", "a@", "a@x.",
		"a@.x", "a@x..y", "a.@x", ".a@x", "a..b@x", "Bob <bob@x> junk",
		"Bob <bob@x> <alice@y>", "bob@x Bob", "a@x, b@y c", "[a]@x",
		"a@x:", "a@x;", "Bob: <a@x> b;", "a@ (c)", "a\\b@x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(addrs(bad[i]), "ERROR");
}

static void
test_nul_and_control_bytes_are_errors(void **state)
{
	struct seen s;

	(void)state;
	assert_int_equal(runn("a\0b@x", 5, &s), -1);
	assert_int_equal(runn("a@x\0", 4, &s), -1);
	assert_int_equal(runn("\"a\0b\"@x", 7, &s), -1);
	assert_int_equal(runn("\"a\\\0\"@x", 7, &s), -1);
	assert_int_equal(runn("a@x (c\0)", 8, &s), -1);
	assert_int_equal(runn("a@[1\0]", 6, &s), -1);
	assert_string_equal(addrs("\"a\x01" "b\"@x"), "ERROR");
	assert_string_equal(addrs("\"a\x7f\"@x"), "ERROR");
	assert_string_equal(addrs("a\x1b" "b@x"), "ERROR");
	/* A tab is WSP inside a quoted string. */
	assert_string_equal(addrs("\"a\tb\"@x"), "\"a\tb\"@x");
}

static void
test_over_long_address_is_an_error_but_long_display_name_is_not(
    void **state)
{
	static char v[4096];
	size_t n;

	(void)state;
	/* The longest address that fits the fixed buffer. */
	n = ADDR_TEXT_MAX - 1 - 2;
	memset(v, 'a', n);
	memcpy(v + n, "@x", 3);
	assert_string_equal(addrs(v), v);
	memset(v, 'a', n + 1);
	memcpy(v + n + 1, "@x", 3);
	assert_string_equal(addrs(v), "ERROR");
	/* Long in the domain, or in a quoted local part. */
	memcpy(v, "a@", 2);
	memset(v + 2, 'd', 3000);
	v[3002] = '\0';
	assert_string_equal(addrs(v), "ERROR");
	v[0] = '"';
	memset(v + 1, 'q', 3000);
	memcpy(v + 3001, "\"@x", 4);
	assert_string_equal(addrs(v), "ERROR");
	/* A bare local part that long. */
	memset(v, 'a', 3000);
	v[3000] = '\0';
	assert_string_equal(addrs(v), "ERROR");
	/* A display name of any length is not an address. */
	memset(v, 'N', 1000);
	v[1000] = ' ';
	memset(v + 1001, 'M', 1000);
	memcpy(v + 2001, " <b@x>", 7);
	assert_string_equal(addrs(v), "b@x");
	v[0] = '"';
	v[1999] = '"';
	assert_string_equal(addrs(v), "b@x");
	/* Nor is a long comment. */
	memcpy(v, "b@x (", 5);
	memset(v + 5, 'c', 3000);
	memcpy(v + 3005, ")", 2);
	assert_string_equal(addrs(v), "b@x");
}

static void
test_many_elements_cost_no_memory(void **state)
{
	static char v[60000];
	struct seen s;
	size_t i;

	(void)state;
	/* 20000 empty elements and groups: nothing accumulates. */
	for (i = 0; i < 20000; i++)
		v[i] = ',';
	assert_int_equal(runn(v, 20000, &s), 0);
	assert_int_equal(s.calls, 0);
	for (i = 0; i + 3 <= sizeof(v); i += 3)
		memcpy(v + i, "g:;", 3);
	assert_int_equal(runn(v, sizeof(v), &s), -1);
	for (i = 0; i + 4 <= sizeof(v); i += 4)
		memcpy(v + i, "g:;,", 4);
	assert_int_equal(runn(v, sizeof(v), &s), 0);
	/* Deep but bounded comments, many of them. */
	for (i = 0; i + 4 <= sizeof(v); i += 4)
		memcpy(v + i, "(()(", 4);
	assert_int_equal(runn(v, sizeof(v), &s), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_matches_the_field_name_case_insensitively),
		cmocka_unit_test(test_bare_addr_specs_and_lists),
		cmocka_unit_test(test_display_names_are_dropped),
		cmocka_unit_test(test_comments_are_removed_wherever_cfws_may_be),
		cmocka_unit_test(test_comment_nesting_is_bounded),
		cmocka_unit_test(test_quoted_local_parts_stay_quoted),
		cmocka_unit_test(test_folded_fields_are_unfolded),
		cmocka_unit_test(test_real_world_folded_to_field),
		cmocka_unit_test(test_obsolete_routes_are_dropped),
		cmocka_unit_test(test_bare_local_parts_are_passed_on_as_written),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_empty_elements_are_skipped),
		cmocka_unit_test(test_callback_value_stops_the_walk),
		cmocka_unit_test(test_unbalanced_quotes_comments_and_brackets_are_errors),
		cmocka_unit_test(test_text_where_an_address_should_be_is_an_error),
		cmocka_unit_test(test_nul_and_control_bytes_are_errors),
		cmocka_unit_test(test_over_long_address_is_an_error_but_long_display_name_is_not),
		cmocka_unit_test(test_many_elements_cost_no_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
