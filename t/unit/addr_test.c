/* addr_test.c — RFC 5321 §4.1.2 paths and mailboxes: what the grammar
 * allows, what it does not, every limit of §4.5.3.1 at its boundary, and
 * UTF-8 under SMTPUTF8.  Inputs are copied into buffers of exactly their
 * length so that ASan catches a parser reading one byte too far. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

/* Parse a path given with an explicit length, from exact-size memory. */
static enum addr_err
pathn(const char *s, size_t len, unsigned flags, struct addr *a,
    size_t *end)
{
	enum addr_err e;
	char *m = malloc(len > 0 ? len : 1);

	assert_non_null(m);
	memcpy(m, s, len);
	e = addr_parse_path(m, len, flags, a, end);
	free(m);
	return e;
}

static enum addr_err
path(const char *s, unsigned flags, struct addr *a)
{
	size_t end;
	enum addr_err e;

	e = pathn(s, strlen(s), flags, a, &end);
	if (e == ADDR_OK)
		assert_int_equal(end, strlen(s));
	return e;
}

static enum addr_err
baren(const char *s, size_t len, unsigned flags, struct addr *a)
{
	enum addr_err e;
	char *m = malloc(len > 0 ? len : 1);

	assert_non_null(m);
	memcpy(m, s, len);
	e = addr_parse(m, len, flags, a);
	free(m);
	return e;
}

static enum addr_err
bare(const char *s, unsigned flags, struct addr *a)
{
	return baren(s, strlen(s), flags, a);
}

/* The formatted form of a bare mailbox that must parse. */
static const char *
fmt(const char *s, unsigned flags)
{
	static char out[ADDR_TEXT_MAX];
	struct addr a;

	assert_int_equal(bare(s, flags, &a), ADDR_OK);
	assert_true(addr_format(&a, out, sizeof(out)) >= 0);
	return out;
}

/* n copies of c followed by tail, in buf. */
static char *
rep(char *buf, size_t size, char c, size_t n, const char *tail)
{
	size_t t = strlen(tail);

	assert_true(n + t < size);
	memset(buf, c, n);
	memcpy(buf + n, tail, t + 1);
	return buf;
}

/* A domain of total length n made of 63-octet labels and a last one. */
static char *
domain_of(char *buf, size_t size, size_t n)
{
	size_t i = 0, k;

	assert_true(n < size);
	while (i < n) {
		for (k = 0; k < 63 && i < n; k++)
			buf[i++] = 'a' + (char)(k % 26);
		if (i < n)
			buf[i++] = '.';
	}
	assert_true(buf[n - 1] != '.');
	buf[n] = '\0';
	return buf;
}

static void
test_plain_path_is_parsed_and_its_domain_lowercased(void **state)
{
	struct addr a;
	size_t end;

	(void)state;
	assert_int_equal(pathn("<Bob@Mail.Example.COM>", 22, 0, &a, &end),
	    ADDR_OK);
	assert_int_equal(end, 22);
	assert_string_equal(a.local, "Bob");
	assert_string_equal(a.domain, "mail.example.com");
	assert_false(a.null);
	assert_false(a.literal);
	assert_false(a.utf8);
}

static void
test_end_stops_past_the_bracket_and_leaves_parameters(void **state)
{
	struct addr a;
	size_t end;
	const char *s = "<a@b.example> SIZE=10 BODY=8BITMIME";

	(void)state;
	assert_int_equal(pathn(s, strlen(s), 0, &a, &end), ADDR_OK);
	assert_int_equal(end, 13);
	assert_string_equal(a.domain, "b.example");
	s = "<a@b>x>";
	assert_int_equal(pathn(s, strlen(s), 0, &a, &end), ADDR_OK);
	assert_int_equal(end, 5);
	/* The '>' beyond len is not seen. */
	assert_int_equal(pathn("<a@b>", 4, 0, &a, &end), ADDR_ESYNTAX);
}

static void
test_null_path_needs_null_ok(void **state)
{
	struct addr a;
	size_t end;
	char out[8];

	(void)state;
	assert_int_equal(pathn("<>", 2, 0, &a, &end), ADDR_ENULL);
	assert_int_equal(pathn("<> SIZE=1", 9, ADDR_NULL_OK, &a, &end),
	    ADDR_OK);
	assert_int_equal(end, 2);
	assert_true(a.null);
	assert_int_equal(addr_format(&a, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(bare("", ADDR_NULL_OK, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("<>", ADDR_NULL_OK, &a), ADDR_ESYNTAX);
}

static void
test_postmaster_alone_needs_nodomain_ok(void **state)
{
	struct addr a;
	char out[16];

	(void)state;
	assert_int_equal(path("<postmaster>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<PostMaster>", ADDR_NODOMAIN_OK, &a), ADDR_OK);
	assert_string_equal(a.local, "postmaster");
	assert_string_equal(a.domain, "");
	assert_int_equal(addr_format(&a, out, sizeof(out)), 10);
	assert_string_equal(out, "postmaster");
	assert_int_equal(path("<bob>", ADDR_NODOMAIN_OK, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<postmaste>", ADDR_NODOMAIN_OK, &a),
	    ADDR_ESYNTAX);
	assert_int_equal(path("<\"postmaster\">", ADDR_NODOMAIN_OK, &a),
	    ADDR_ESYNTAX);
	assert_int_equal(path("<@r.example:postmaster>", ADDR_NODOMAIN_OK,
	    &a), ADDR_ESYNTAX);
	assert_int_equal(bare("postmaster", ADDR_NODOMAIN_OK, &a), ADDR_OK);
	assert_int_equal(bare("postmaster", 0, &a), ADDR_ESYNTAX);
	/* With a domain it is an ordinary mailbox. */
	assert_int_equal(path("<Postmaster@X.example>", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "Postmaster");
}

static void
test_source_route_is_accepted_and_dropped(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(path("<@r1.example,@r2.example:u@d.example>", 0, &a),
	    ADDR_OK);
	assert_string_equal(a.local, "u");
	assert_string_equal(a.domain, "d.example");
	assert_int_equal(path("<@r1.example:u@d.example>", 0, &a), ADDR_OK);
	assert_int_equal(path("<@r1.example:>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<@:u@d.example>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<@r1,r2:u@d.example>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<@r1,:u@d.example>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<@r1 u@d.example>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<@r1u@d.example>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<@[192.0.2.1]:u@d.example>", 0, &a),
	    ADDR_ESYNTAX);
	assert_int_equal(bare("@r1:u@d.example", 0, &a), ADDR_ESYNTAX);
}

static void
test_quoted_local_part_is_stored_unquoted(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(path("<\"john doe\"@x.example>", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "john doe");
	assert_int_equal(bare("\"a\\\"b\"@x", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "a\"b");
	assert_int_equal(bare("\"a\\\\b\"@x", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "a\\b");
	assert_int_equal(bare("\"\\a\"@x", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "a");
	assert_int_equal(bare("\"\"@x", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "");
	assert_int_equal(bare("\"a.@(x)\"@x", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "a.@(x)");
}

static void
test_local_part_is_formatted_quoted_only_when_needed(void **state)
{
	(void)state;
	assert_string_equal(fmt("\"abc\"@x", 0), "abc@x");
	assert_string_equal(fmt("\"a.b\"@x", 0), "a.b@x");
	assert_string_equal(fmt("\"\\a\"@x", 0), "a@x");
	assert_string_equal(fmt("\"john doe\"@x", 0), "\"john doe\"@x");
	assert_string_equal(fmt("\"a\\\"b\"@x", 0), "\"a\\\"b\"@x");
	assert_string_equal(fmt("\"a\\\\b\"@x", 0), "\"a\\\\b\"@x");
	assert_string_equal(fmt("\"a..b\"@x", 0), "\"a..b\"@x");
	assert_string_equal(fmt("\".a\"@x", 0), "\".a\"@x");
	assert_string_equal(fmt("\"a.\"@x", 0), "\"a.\"@x");
	assert_string_equal(fmt("\"\"@x", 0), "\"\"@x");
	assert_string_equal(fmt("a.b+tag@X.Example", 0), "a.b+tag@x.example");
	assert_string_equal(fmt("\"\xc3\xbc\"@x", ADDR_UTF8), "\xc3\xbc@x");
}

static void
test_format_round_trips(void **state)
{
	static const char *in[] = {
		"a@x", "\"john doe\"@x", "\"a\\\"b\"@x", "\"a\\\\b\"@x",
		"\"\"@x", "\"a..b\"@x", "u@[192.0.2.1]", "u@[IPv6:2001:db8::1]",
		"!#$%&'*+-/=?^_`{|}~@x",
	};
	struct addr a, b;
	char out[ADDR_TEXT_MAX];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(bare(in[i], 0, &a), ADDR_OK);
		n = addr_format(&a, out, sizeof(out));
		assert_int_equal(n, strlen(out));
		assert_string_equal(out, in[i]);
		assert_int_equal(bare(out, 0, &b), ADDR_OK);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void
test_format_fails_when_out_is_too_small(void **state)
{
	struct addr a;
	char out[8];

	(void)state;
	assert_int_equal(bare("abc@xyz", 0, &a), ADDR_OK);
	assert_int_equal(addr_format(&a, out, 8), 7);
	assert_string_equal(out, "abc@xyz");
	assert_int_equal(addr_format(&a, out, 7), -1);
	assert_int_equal(addr_format(&a, out, 0), -1);
	assert_int_equal(bare("\"a b\"@x", 0, &a), ADDR_OK);
	assert_int_equal(addr_format(&a, out, 8), 7);
	assert_int_equal(addr_format(&a, out, 7), -1);
	assert_int_equal(bare("postmaster", ADDR_NODOMAIN_OK, &a), ADDR_OK);
	assert_int_equal(addr_format(&a, out, 8), -1);
}

static void
test_quoted_local_part_refuses_bytes_outside_qtext(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(path("<\"abc@x>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"abc", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\\", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\tb\"@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\\\tb\"@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\x7f\"@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\\\x7f\"@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\"b@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("a\"b\"@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("\"a\".b@x", 0, &a), ADDR_ESYNTAX);
}

static void
test_dots_only_between_atoms(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(bare("a.b.c@x", 0, &a), ADDR_OK);
	assert_string_equal(a.local, "a.b.c");
	assert_int_equal(bare(".a@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("a..b@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("a.@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare(".@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<a.@x>", 0, &a), ADDR_ESYNTAX);
}

static void
test_atext_and_nothing_else_in_dot_string(void **state)
{
	struct addr a;
	static const char *bad[] = {
		"a b@x", "a,b@x", "a(b@x", "a)b@x", "a<b@x", "a>b@x",
		"a[b@x", "a]b@x", "a:b@x", "a;b@x", "a\\b@x", "a@b@x",
		"@x", "a@", "a", "",
	};
	size_t i;

	(void)state;
	assert_int_equal(bare("!#$%&'*+-/=?^_`{|}~@x", 0, &a), ADDR_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bare(bad[i], 0, &a), ADDR_ESYNTAX);
}

static void
test_domain_labels_follow_ldh_rules(void **state)
{
	struct addr a;
	char buf[128];
	static const char *bad[] = {
		"a@-x.example", "a@x-.example", "a@x..example", "a@x.example.",
		"a@.x", "a@x_y.example", "a@x y", "a@x!y", "a@x.-", "a@x.",
	};
	size_t i;

	(void)state;
	assert_int_equal(bare("a@x-y.example", 0, &a), ADDR_OK);
	assert_int_equal(bare("a@1.2.3.4", 0, &a), ADDR_OK);
	assert_false(a.literal);
	assert_int_equal(bare("a@x--y", 0, &a), ADDR_OK);
	assert_int_equal(bare("a@x", 0, &a), ADDR_OK);
	assert_int_equal(path("<a@x.example.>", 0, &a), ADDR_ESYNTAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bare(bad[i], 0, &a), ADDR_ESYNTAX);
	/* A label is 1..63 octets. */
	memcpy(buf, "a@", 2);
	rep(buf + 2, sizeof(buf) - 2, 'l', 63, ".example");
	assert_int_equal(bare(buf, 0, &a), ADDR_OK);
	rep(buf + 2, sizeof(buf) - 2, 'l', 64, ".example");
	assert_int_equal(bare(buf, 0, &a), ADDR_ESYNTAX);
	rep(buf + 2, sizeof(buf) - 2, 'l', 64, "");
	assert_int_equal(bare(buf, 0, &a), ADDR_ESYNTAX);
}

static void
test_ipv4_literal_is_checked(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(path("<u@[192.0.2.1]>", 0, &a), ADDR_OK);
	assert_true(a.literal);
	assert_string_equal(a.domain, "[192.0.2.1]");
	assert_int_equal(bare("u@[192.0.2.256]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[192.0.2]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[192.0.2.1.5]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[1234.0.2.1]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[192.0.2.1", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("u@[192.0.2.1]x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("u@[192.0.2.1].x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("u@[192.0. 2.1]", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("u@[192.0.[2.1]", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("u@x.[192.0.2.1]", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(path("<u@[192.0.2.1>", 0, &a), ADDR_ESYNTAX);
}

static void
test_ipv6_literal_is_checked_and_tag_normalised(void **state)
{
	struct addr a;
	char buf[128];

	(void)state;
	assert_int_equal(path("<u@[IPv6:2001:DB8::1]>", 0, &a), ADDR_OK);
	assert_true(a.literal);
	assert_string_equal(a.domain, "[IPv6:2001:db8::1]");
	assert_int_equal(bare("u@[ipv6:::1]", 0, &a), ADDR_OK);
	assert_string_equal(a.domain, "[IPv6:::1]");
	assert_int_equal(bare("u@[IPV6:::FFFF:192.0.2.1]", 0, &a), ADDR_OK);
	assert_string_equal(a.domain, "[IPv6:::ffff:192.0.2.1]");
	assert_int_equal(bare("u@[IPv6:1:2:3:4:5:6:7:8]", 0, &a), ADDR_OK);
	assert_int_equal(bare("u@[IPv6:1.2.3.4]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[IPv6:2001:db8:::1]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[IPv6:1:2:3:4:5:6:7:8:9]", 0, &a),
	    ADDR_ELITERAL);
	assert_int_equal(bare("u@[IPv6:12345::]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[IPv6:]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[IPv6:g::1]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[2001:db8::1]", 0, &a), ADDR_ELITERAL);
	/* Longer than any IPv6 text form: refused without a copy. */
	memcpy(buf, "u@[IPv6:", 8);
	rep(buf + 8, sizeof(buf) - 8, '1', 100, "]");
	assert_int_equal(bare(buf, 0, &a), ADDR_ELITERAL);
}

static void
test_general_address_literal_is_refused_as_such(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(bare("u@[foo:bar]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(path("<u@[foo:bar]>", ADDR_UTF8, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[x-tag:anything]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[localhost]", 0, &a), ADDR_ELITERAL);
	assert_int_equal(bare("u@[192.0.2.\xc3\xa4]", ADDR_UTF8, &a),
	    ADDR_ESYNTAX);
}

static void
test_utf8_local_part_needs_the_flag(void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(bare("\xc3\xbc@x", 0, &a), ADDR_E8BIT);
	assert_int_equal(path("<\xc3\xbc@x>", 0, &a), ADDR_E8BIT);
	assert_int_equal(bare("\xc3\xbc@x", ADDR_UTF8, &a), ADDR_OK);
	assert_true(a.utf8);
	assert_string_equal(a.local, "\xc3\xbc");
	assert_int_equal(bare("\"j\xc3\xb6rg m\"@x", ADDR_UTF8, &a), ADDR_OK);
	assert_string_equal(a.local, "j\xc3\xb6rg m");
	assert_int_equal(bare("\"j\xc3\xb6rg\"@x", 0, &a), ADDR_E8BIT);
	/* The flag alone does not make an address non-ASCII. */
	assert_int_equal(bare("a@x", ADDR_UTF8, &a), ADDR_OK);
	assert_false(a.utf8);
	/* Invalid bytes are 8-bit first when 8-bit is not allowed. */
	assert_int_equal(bare("\x80@x", 0, &a), ADDR_E8BIT);
}

static void
test_utf8_domain_needs_the_flag_and_is_lowercased_in_ascii_only(
    void **state)
{
	struct addr a;

	(void)state;
	assert_int_equal(bare("x@b\xc3\xbc" "cher.example", 0, &a),
	    ADDR_E8BIT);
	assert_int_equal(bare("x@B\xc3\x9c" "CHER.Example", ADDR_UTF8, &a),
	    ADDR_OK);
	assert_true(a.utf8);
	assert_string_equal(a.domain, "b\xc3\x9c" "cher.example");
	assert_int_equal(path("<x@\xc3\xbc>", ADDR_UTF8, &a), ADDR_OK);
	assert_int_equal(bare("x@b\x80" "cher.example", ADDR_UTF8, &a),
	    ADDR_EUTF8);
	assert_int_equal(bare("x@-\xc3\xbc", ADDR_UTF8, &a), ADDR_ESYNTAX);
}

static void
test_invalid_utf8_is_refused(void **state)
{
	static const char *bad[] = {
		"\xc0\xaf@x",		/* overlong '/' */
		"\xc1\xbf@x",		/* overlong */
		"\xe0\x80\xaf@x",	/* overlong, 3 bytes */
		"\xf0\x80\x80\xaf@x",	/* overlong, 4 bytes */
		"\x80@x",		/* lone continuation */
		"a\xbf" "b@x",		/* lone continuation inside */
		"\xed\xa0\x80@x",	/* U+D800, a surrogate */
		"\xed\xbf\xbf@x",	/* U+DFFF */
		"\xf4\x90\x80\x80@x",	/* U+110000 */
		"\xf5\x80\x80\x80@x",
		"\xff@x",
		"\xc3@x",		/* truncated */
		"\xe2\x82@x",		/* truncated */
		"\"\xc3\"@x",		/* truncated, quoted */
		"\"\xed\xa0\x80\"@x",	/* surrogate, quoted */
	};
	struct addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bare(bad[i], ADDR_UTF8, &a), ADDR_EUTF8);
		assert_int_equal(bare(bad[i], 0, &a), ADDR_E8BIT);
	}
	/* A truncated sequence at the very end of the input. */
	assert_int_equal(baren("a@x\xc3", 4, ADDR_UTF8, &a), ADDR_EUTF8);
	assert_int_equal(pathn("<\xe2\x82", 3, ADDR_UTF8, &a, &i),
	    ADDR_EUTF8);
}

static void
test_utf8_valid_accepts_exactly_rfc3629(void **state)
{
	(void)state;
	assert_true(addr_utf8_valid("", 0));
	assert_true(addr_utf8_valid("abc\x01", 4));
	assert_true(addr_utf8_valid("\xc3\xbc", 2));
	assert_true(addr_utf8_valid("\xc2\x80", 2));		/* U+0080 */
	assert_true(addr_utf8_valid("\xe0\xa0\x80", 3));	/* U+0800 */
	assert_true(addr_utf8_valid("\xed\x9f\xbf", 3));	/* U+D7FF */
	assert_true(addr_utf8_valid("\xee\x80\x80", 3));	/* U+E000 */
	assert_true(addr_utf8_valid("\xf0\x90\x80\x80", 4));	/* U+10000 */
	assert_true(addr_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_true(addr_utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	assert_false(addr_utf8_valid("\xc0\x80", 2));
	assert_false(addr_utf8_valid("\xc1\xbf", 2));
	assert_false(addr_utf8_valid("\xe0\x9f\xbf", 3));
	assert_false(addr_utf8_valid("\xed\xa0\x80", 3));
	assert_false(addr_utf8_valid("\xf0\x8f\xbf\xbf", 4));
	assert_false(addr_utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(addr_utf8_valid("\xf8\x88\x80\x80\x80", 5));
	assert_false(addr_utf8_valid("\x80", 1));
	assert_false(addr_utf8_valid("\xc3\xbc", 1));
	assert_false(addr_utf8_valid("\xe2\x82\xac", 2));
	assert_false(addr_utf8_valid("\xe2\x28\xa1", 3));
}

static void
test_control_bytes_cr_lf_and_nul_are_refused(void **state)
{
	static const char *bad[] = {
		"a\rb@x", "a\nb@x", "a\tb@x", "a\x1b" "b@x", "a\x7f@x",
		"\"a\rb\"@x", "\"a\nb\"@x", "\"a\\\r\"@x", "a@x\r\n", "a@x\n",
		"a@x\r", "a@x\ry",
	};
	struct addr a;
	size_t i, end;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bare(bad[i], 0, &a), ADDR_ESYNTAX);
		assert_int_equal(bare(bad[i], ADDR_UTF8, &a), ADDR_ESYNTAX);
	}
	assert_int_equal(baren("a\0b@x", 5, ADDR_UTF8, &a), ADDR_ESYNTAX);
	assert_int_equal(baren("\"a\0b\"@x", 7, ADDR_UTF8, &a),
	    ADDR_ESYNTAX);
	assert_int_equal(baren("\"a\\\0\"@x", 7, ADDR_UTF8, &a),
	    ADDR_ESYNTAX);
	assert_int_equal(baren("a@x\0", 4, 0, &a), ADDR_ESYNTAX);
	assert_int_equal(pathn("<a@x\0>", 6, 0, &a, &end), ADDR_ESYNTAX);
	assert_int_equal(pathn("<a@x\r\n>", 7, 0, &a, &end), ADDR_ESYNTAX);
	assert_int_equal(pathn("<a\r@x>", 6, 0, &a, &end), ADDR_ESYNTAX);
}

static void
test_path_brackets_and_trailing_bytes(void **state)
{
	static const char *bad[] = {
		"", "<", ">", "a@x", "a@x>", "<a@x", "< a@x>", "<a@x >",
		"<<a@x>", "<a @x>", "<a@ x>", "<@>",
		"<\"\">", "<:a@x>",
	};
	struct addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(path(bad[i], ADDR_NULL_OK | ADDR_NODOMAIN_OK,
		    &a), ADDR_ESYNTAX);
	assert_int_equal(bare("a@x>", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("a@x ", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare(" a@x", 0, &a), ADDR_ESYNTAX);
	assert_int_equal(bare("<a@x>", 0, &a), ADDR_ESYNTAX);
}

static void
test_local_part_of_64_octets_passes_and_65_does_not(void **state)
{
	struct addr a;
	char buf[1100];
	size_t i;

	(void)state;
	assert_int_equal(bare(rep(buf, sizeof(buf), 'a', 64, "@x"), 0, &a),
	    ADDR_OK);
	assert_int_equal(strlen(a.local), 64);
	assert_int_equal(bare(rep(buf, sizeof(buf), 'a', 65, "@x"), 0, &a),
	    ADDR_ELOCAL_LONG);
	assert_int_equal(bare(rep(buf, sizeof(buf), 'a', 1000, "@x"), 0, &a),
	    ADDR_ELOCAL_LONG);
	/* Quoted: the quotes count, as transmitted. */
	buf[0] = '"';
	rep(buf + 1, sizeof(buf) - 1, 'q', 62, "\"@x");
	assert_int_equal(bare(buf, 0, &a), ADDR_OK);
	assert_int_equal(strlen(a.local), 62);
	rep(buf + 1, sizeof(buf) - 1, 'q', 63, "\"@x");
	assert_int_equal(bare(buf, 0, &a), ADDR_ELOCAL_LONG);
	/* Escapes count as transmitted too: 31 pairs + quotes = 64. */
	buf[0] = '"';
	for (i = 0; i < 31; i++)
		memcpy(buf + 1 + 2 * i, "\\\"", 2);
	memcpy(buf + 63, "\"@x", 4);
	assert_int_equal(bare(buf, 0, &a), ADDR_OK);
	assert_int_equal(strlen(a.local), 31);
	assert_string_equal(fmt(buf, 0), buf);
	for (i = 0; i < 32; i++)
		memcpy(buf + 1 + 2 * i, "\\\"", 2);
	memcpy(buf + 65, "\"@x", 4);
	assert_int_equal(bare(buf, 0, &a), ADDR_ELOCAL_LONG);
	/* UTF-8 counts in octets: 32 two-octet characters are 64. */
	for (i = 0; i < 32; i++)
		memcpy(buf + 2 * i, "\xc3\xbc", 2);
	memcpy(buf + 64, "@x", 3);
	assert_int_equal(bare(buf, ADDR_UTF8, &a), ADDR_OK);
	memcpy(buf + 64, "a@x", 4);
	assert_int_equal(bare(buf, ADDR_UTF8, &a), ADDR_ELOCAL_LONG);
	/* The same in a path. */
	buf[0] = '<';
	rep(buf + 1, sizeof(buf) - 1, 'a', 64, "@x>");
	assert_int_equal(path(buf, 0, &a), ADDR_OK);
	rep(buf + 1, sizeof(buf) - 1, 'a', 65, "@x>");
	assert_int_equal(path(buf, 0, &a), ADDR_ELOCAL_LONG);
}

static void
test_domain_limit_of_255_octets(void **state)
{
	struct addr a;
	char d[300], buf[400];

	(void)state;
	/* 63.63.63.63 is a 255-octet domain: valid as a domain, but no
	 * path can carry it with a local part. */
	domain_of(d, sizeof(d), 255);
	assert_int_equal(snprintf(buf, sizeof(buf), "a@%s", d), 257);
	assert_int_equal(bare(buf, 0, &a), ADDR_EPATH_LONG);
	/* 63.63.63.62.1: 256 octets, over the domain limit. */
	domain_of(d, sizeof(d), 254);
	assert_int_equal(snprintf(buf, sizeof(buf), "a@%s.b", d), 258);
	assert_int_equal(bare(buf, 0, &a), ADDR_EDOMAIN_LONG);
	assert_int_equal(snprintf(buf, sizeof(buf), "<a@%s.b>", d), 260);
	assert_int_equal(path(buf, 0, &a), ADDR_EDOMAIN_LONG);
	/* The longest domain a path can hold: 252 with "a@" and brackets. */
	domain_of(d, sizeof(d), 252);
	assert_int_equal(snprintf(buf, sizeof(buf), "<a@%s>", d), 256);
	assert_int_equal(path(buf, 0, &a), ADDR_OK);
	assert_int_equal(strlen(a.domain), 252);
	/* A 64-octet last label is a syntax error whatever the length. */
	domain_of(d, sizeof(d), 191);
	assert_true(snprintf(buf, sizeof(buf), "a@%s.%s", d,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	    > 0);
	assert_int_equal(bare(buf, 0, &a), ADDR_ESYNTAX);
}

static void
test_path_of_256_octets_passes_and_257_does_not(void **state)
{
	struct addr a;
	char l[80], d[300], r[80], buf[600];

	(void)state;
	rep(l, sizeof(l), 'l', 64, "");
	domain_of(d, sizeof(d), 189);
	assert_int_equal(snprintf(buf, sizeof(buf), "<%s@%s>", l, d), 256);
	assert_int_equal(path(buf, 0, &a), ADDR_OK);
	domain_of(d, sizeof(d), 190);
	assert_int_equal(snprintf(buf, sizeof(buf), "<%s@%s>", l, d), 257);
	assert_int_equal(path(buf, 0, &a), ADDR_EPATH_LONG);
	/* The bare form must fit a path once bracketed. */
	domain_of(d, sizeof(d), 189);
	assert_int_equal(snprintf(buf, sizeof(buf), "%s@%s", l, d), 254);
	assert_int_equal(bare(buf, 0, &a), ADDR_OK);
	domain_of(d, sizeof(d), 190);
	assert_int_equal(snprintf(buf, sizeof(buf), "%s@%s", l, d), 255);
	assert_int_equal(bare(buf, 0, &a), ADDR_EPATH_LONG);
	/* A source route counts towards the path. */
	rep(r, sizeof(r), 'r', 63, "");
	domain_of(d, sizeof(d), 124);
	assert_int_equal(snprintf(buf, sizeof(buf), "<@%s:%s@%s>", r, l, d),
	    256);
	assert_int_equal(path(buf, 0, &a), ADDR_OK);
	domain_of(d, sizeof(d), 125);
	assert_int_equal(snprintf(buf, sizeof(buf), "<@%s:%s@%s>", r, l, d),
	    257);
	assert_int_equal(path(buf, 0, &a), ADDR_EPATH_LONG);
	/* The longest formatted path fits ADDR_TEXT_MAX. */
	domain_of(d, sizeof(d), 189);
	assert_int_equal(snprintf(buf, sizeof(buf), "%s@%s", l, d), 254);
	assert_int_equal(strlen(fmt(buf, 0)), 254);
}

static void
test_strerror_gives_a_phrase_for_each_error(void **state)
{
	enum addr_err e, f;

	(void)state;
	assert_string_equal(addr_strerror(ADDR_ELOCAL_LONG),
	    "local part longer than 64 octets");
	assert_string_equal(addr_strerror(ADDR_EDOMAIN_LONG),
	    "domain longer than 255 octets");
	assert_string_equal(addr_strerror(ADDR_EPATH_LONG),
	    "path longer than 256 octets");
	for (e = ADDR_OK; e <= ADDR_ENULL; e++) {
		assert_non_null(addr_strerror(e));
		assert_true(strlen(addr_strerror(e)) > 0);
		/* Printable text only: it goes into SMTP replies. */
		assert_null(strpbrk(addr_strerror(e), "\r\n"));
		for (f = ADDR_OK; f < e; f++)
			assert_string_not_equal(addr_strerror(e),
			    addr_strerror(f));
	}
	assert_non_null(addr_strerror((enum addr_err)99));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_path_is_parsed_and_its_domain_lowercased),
		cmocka_unit_test(test_end_stops_past_the_bracket_and_leaves_parameters),
		cmocka_unit_test(test_null_path_needs_null_ok),
		cmocka_unit_test(test_postmaster_alone_needs_nodomain_ok),
		cmocka_unit_test(test_source_route_is_accepted_and_dropped),
		cmocka_unit_test(test_quoted_local_part_is_stored_unquoted),
		cmocka_unit_test(test_local_part_is_formatted_quoted_only_when_needed),
		cmocka_unit_test(test_format_round_trips),
		cmocka_unit_test(test_format_fails_when_out_is_too_small),
		cmocka_unit_test(test_quoted_local_part_refuses_bytes_outside_qtext),
		cmocka_unit_test(test_dots_only_between_atoms),
		cmocka_unit_test(test_atext_and_nothing_else_in_dot_string),
		cmocka_unit_test(test_domain_labels_follow_ldh_rules),
		cmocka_unit_test(test_ipv4_literal_is_checked),
		cmocka_unit_test(test_ipv6_literal_is_checked_and_tag_normalised),
		cmocka_unit_test(test_general_address_literal_is_refused_as_such),
		cmocka_unit_test(test_utf8_local_part_needs_the_flag),
		cmocka_unit_test(test_utf8_domain_needs_the_flag_and_is_lowercased_in_ascii_only),
		cmocka_unit_test(test_invalid_utf8_is_refused),
		cmocka_unit_test(test_utf8_valid_accepts_exactly_rfc3629),
		cmocka_unit_test(test_control_bytes_cr_lf_and_nul_are_refused),
		cmocka_unit_test(test_path_brackets_and_trailing_bytes),
		cmocka_unit_test(test_local_part_of_64_octets_passes_and_65_does_not),
		cmocka_unit_test(test_domain_limit_of_255_octets),
		cmocka_unit_test(test_path_of_256_octets_passes_and_257_does_not),
		cmocka_unit_test(test_strerror_gives_a_phrase_for_each_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
