/* dkim_canon_test.c — DKIM canonicalization, simple and relaxed, of
 * header fields and bodies: the example of RFC 6376 §3.4.5, and the edge
 * cases on which signers and verifiers have disagreed: empty bodies,
 * trailing empty lines, lines of white space, a missing final CRLF,
 * folding, tabs, bare LF input and a CR LF cut between two reads. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "canon.h"
#include "str.h"

struct sink {
	char	buf[65536];
	size_t	len;
	int	calls;
};

static void
collect(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	assert_true(n > 0);
	assert_true(s->len + n <= sizeof(s->buf));
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->calls++;
}

/* The canonical body of in[len], fed in pieces of step bytes (0: all at
 * once). */
static void
body(int relaxed, const char *in, size_t len, size_t step, struct sink *s)
{
	struct canon_body *b;
	size_t off, n;

	b = malloc(sizeof(*b));
	assert_non_null(b);
	memset(s, 0, sizeof(*s));
	canon_body_init(b, relaxed, collect, s);
	if (step == 0)
		step = len > 0 ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		canon_body_update(b, in + off, n);
	}
	canon_body_final(b);
	free(b);
}

static void
check_body(int relaxed, const char *in, const char *want)
{
	struct sink *s = malloc(sizeof(*s));
	size_t step;

	assert_non_null(s);
	/* Whole, then one byte at a time, then in threes: the result never
	 * depends on where the reads cut the body. */
	for (step = 0; step <= 3; step += step == 0 ? 1 : 2) {
		body(relaxed, in, strlen(in), step, s);
		if (s->len != strlen(want) || memcmp(s->buf, want, s->len)
		    != 0)
			fail_msg("%s body of \"%s\" in steps of %zu: "
			    "got \"%.*s\", want \"%s\"", relaxed ? "relaxed" : "simple", in,
			    step, (int)s->len, s->buf, want);
	}
	free(s);
}

static void
check_header(int relaxed, const char *in, const char *want)
{
	char mem[1024];
	struct str out;
	int rc;

	str_init(&out, mem, sizeof(mem));
	rc = relaxed ? canon_header_relaxed(in, strlen(in), &out) :
	    canon_header_simple(in, strlen(in), &out);
	assert_int_equal(rc, 0);
	assert_string_equal(out.s, want);
}

/* RFC 6376 §3.4.5, the example: the header fields ... */
static void
test_rfc6376_example_headers(void **state)
{
	(void)state;
	check_header(1, "A: X", "a:X\r\n");
	check_header(1, "B : Y\t\r\n\tZ  ", "b:Y Z\r\n");
	check_header(0, "A: X", "A: X\r\n");
	check_header(0, "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n");
}

/* ... and the body. */
static void
test_rfc6376_example_body(void **state)
{
	const char *in = " C \r\nD \t E\r\n\r\n\r\n";

	(void)state;
	check_body(1, in, " C\r\nD E\r\n");
	check_body(0, in, " C \r\nD \t E\r\n");
}

static void
test_empty_body_relaxed_is_empty_and_simple_is_one_crlf(void **state)
{
	struct sink s;
	unsigned char d[crypto_hash_sha256_BYTES];
	char b64[64];

	(void)state;
	check_body(1, "", "");
	check_body(0, "", "\r\n");
	/* The body hashes every verifier expects for an empty body. */
	body(1, "", 0, 0, &s);
	assert_int_equal(s.calls, 0);
	crypto_hash_sha256(d, (const unsigned char *)s.buf, s.len);
	sodium_bin2base64(b64, sizeof(b64), d, sizeof(d),
	    sodium_base64_VARIANT_ORIGINAL);
	assert_string_equal(b64,
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	body(0, "", 0, 0, &s);
	crypto_hash_sha256(d, (const unsigned char *)s.buf, s.len);
	sodium_bin2base64(b64, sizeof(b64), d, sizeof(d),
	    sodium_base64_VARIANT_ORIGINAL);
	assert_string_equal(b64,
	    "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
}

static void
test_body_of_empty_lines_only(void **state)
{
	(void)state;
	check_body(1, "\r\n\r\n\r\n", "");
	check_body(0, "\r\n\r\n\r\n", "\r\n");
	check_body(1, "\n", "");
	check_body(0, "\n", "\r\n");
}

static void
test_trailing_empty_lines_are_dropped(void **state)
{
	(void)state;
	check_body(1, "a\r\n\r\n\r\n", "a\r\n");
	check_body(0, "a\r\n\r\n\r\n", "a\r\n");
	/* Empty lines inside the body stay. */
	check_body(1, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
	check_body(0, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
}

static void
test_whitespace_only_lines(void **state)
{
	(void)state;
	/* Relaxed: a line of WSP is an empty line, trailing or not. */
	check_body(1, "a\r\n \t \r\nb\r\n", "a\r\n\r\nb\r\n");
	check_body(1, "a\r\n \r\n\t\r\n", "a\r\n");
	check_body(1, " \r\n\t\r\n", "");
	/* Simple: white space is content. */
	check_body(0, "a\r\n \r\n\t\r\n", "a\r\n \r\n\t\r\n");
	check_body(0, " \r\n", " \r\n");
}

static void
test_body_without_final_crlf_gets_one(void **state)
{
	(void)state;
	check_body(1, "abc", "abc\r\n");
	check_body(0, "abc", "abc\r\n");
	check_body(1, "a\r\nb  ", "a\r\nb\r\n");
	check_body(0, "a\r\nb  ", "a\r\nb  \r\n");
	check_body(1, "a\r\n\r\n  ", "a\r\n");
}

static void
test_relaxed_body_squeezes_wsp_and_keeps_leading_space(void **state)
{
	(void)state;
	check_body(1, "\t\ta  \t b\t\r\n", " a b\r\n");
	check_body(1, "x\t\r\n", "x\r\n");
}

static void
test_lf_only_body_is_canonicalized_as_crlf(void **state)
{
	(void)state;
	check_body(1, "a \n\n b\n\n\n", "a\r\n\r\n b\r\n");
	check_body(0, "a \n\n b\n\n\n", "a \r\n\r\n b\r\n");
	/* Mixed line ends are lines all the same. */
	check_body(1, "a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n");
}

static void
test_bare_cr_is_content(void **state)
{
	(void)state;
	check_body(1, "a\rb\r\n", "a\rb\r\n");
	check_body(0, "a\r", "a\r\r\n");
	check_body(1, "\r", "\r\r\n");
	/* CR then WSP: the CR is content, the WSP a run. */
	check_body(1, "a\r  b\r\n", "a\r b\r\n");
}

static void
test_long_body_streams_in_pieces(void **state)
{
	enum { N = 3 * CANON_BUF + 17 };
	struct sink *s = malloc(sizeof(*s));
	char *in = malloc(N + 1);

	(void)state;
	assert_non_null(s);
	assert_non_null(in);
	memset(in, 'x', N);
	in[N] = '\0';
	/* The sink sees pieces of at most CANON_BUF bytes. */
	body(1, in, N, 0, s);
	assert_int_equal(s->len, N + 2);
	assert_true(s->calls >= 4);
	assert_memory_equal(s->buf + N, "\r\n", 2);
	free(in);
	free(s);
}

static void
test_folded_header_relaxed(void **state)
{
	(void)state;
	check_header(1, "Subject: a\r\n\tb  c \r\n  d\t", "subject:a b c d\r\n");
	check_header(1, "Subject: a\n b", "subject:a b\r\n");
	check_header(1, "Subject:\r\n a", "subject:a\r\n");
	check_header(0, "Subject: a\n b", "Subject: a\r\n b\r\n");
}

static void
test_tabs_in_header(void **state)
{
	(void)state;
	check_header(1, "X-Tab:\tfoo\t\tbar\t", "x-tab:foo bar\r\n");
	check_header(1, "X-Tab\t:\t\tfoo", "x-tab:foo\r\n");
}

static void
test_relaxed_header_name_case_and_empty_value(void **state)
{
	(void)state;
	check_header(1, "MIME-Version: 1.0", "mime-version:1.0\r\n");
	check_header(1, "X:", "x:\r\n");
	check_header(1, "X:   \t", "x:\r\n");
	/* Only the name is lowercased. */
	check_header(1, "To: Joe <JOE@EXAMPLE.COM>",
	    "to:Joe <JOE@EXAMPLE.COM>\r\n");
	/* 8-bit bytes pass unchanged. */
	check_header(1, "Subject: Gr\xc3\xbc\xc3\x9f""e",
	    "subject:Gr\xc3\xbc\xc3\x9f""e\r\n");
}

static void
test_header_too_long_for_buffer_leaves_it_unchanged(void **state)
{
	char mem[8];
	struct str out;

	(void)state;
	str_init(&out, mem, sizeof(mem));
	assert_int_equal(str_appends(&out, "ab"), 0);
	assert_int_equal(canon_header_relaxed("Subject: x", 10, &out), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_string_equal(out.s, "ab");
	assert_int_equal(canon_header_simple("Subject: x", 10, &out), -1);
	assert_string_equal(out.s, "ab");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6376_example_headers),
		cmocka_unit_test(test_rfc6376_example_body),
		cmocka_unit_test(
		    test_empty_body_relaxed_is_empty_and_simple_is_one_crlf),
		cmocka_unit_test(test_body_of_empty_lines_only),
		cmocka_unit_test(test_trailing_empty_lines_are_dropped),
		cmocka_unit_test(test_whitespace_only_lines),
		cmocka_unit_test(test_body_without_final_crlf_gets_one),
		cmocka_unit_test(
		    test_relaxed_body_squeezes_wsp_and_keeps_leading_space),
		cmocka_unit_test(test_lf_only_body_is_canonicalized_as_crlf),
		cmocka_unit_test(test_bare_cr_is_content),
		cmocka_unit_test(test_long_body_streams_in_pieces),
		cmocka_unit_test(test_folded_header_relaxed),
		cmocka_unit_test(test_tabs_in_header),
		cmocka_unit_test(test_relaxed_header_name_case_and_empty_value),
		cmocka_unit_test(
		    test_header_too_long_for_buffer_leaves_it_unchanged),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
