/* data_test.c — the DATA state machine: where a message ends, what is
 * written of it, and the refusals (smuggling, size, line length, loops),
 * with the input cut into chunks at every offset. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtp-in/data.h"

enum { SINK_MAX = 1 << 20 };

struct sink {
	char	buf[SINK_MAX];
	size_t	len;
	int	calls;
	int	fail_after;	/* fail the call after this many; -1 never */
};

static struct sink sink;

static int
collect(void *arg, const void *p, size_t n)
{
	struct sink *sk = arg;

	assert_true(n > 0);
	if (sk->fail_after >= 0 && sk->calls >= sk->fail_after) {
		errno = ENOSPC;
		return -1;
	}
	sk->calls++;
	assert_true(n <= sizeof(sk->buf) - sk->len);
	memcpy(sk->buf + sk->len, p, n);
	sk->len += n;
	return 0;
}

static void
start(struct data *d, uint64_t max, size_t line_max, unsigned rcvd_max)
{
	memset(&sink, 0, sizeof(sink));
	sink.fail_after = -1;
	data_init(d, max, line_max, rcvd_max, collect, &sink);
}

/* Feed all of s in chunks of chunk bytes (0: all at once); returns the
 * bytes consumed in total, stopping at the end. */
static size_t
feed(struct data *d, const char *s, size_t n, size_t chunk)
{
	size_t off = 0, k, used;

	while (off < n && !d->done) {
		k = chunk == 0 || chunk > n - off ? n - off : chunk;
		used = data_feed(d, s + off, k);
		assert_true(used <= k);
		if (!d->done)
			assert_int_equal(used, k);
		off += used;
	}
	return off;
}

#define FEED(d, lit, chunk)	feed((d), (lit), sizeof(lit) - 1, (chunk))

static void
assert_output(const char *want)
{
	assert_int_equal(sink.len, strlen(want));
	assert_memory_equal(sink.buf, want, sink.len);
}

static void
test_crlf_becomes_lf_and_terminator_ends(void **state)
{
	static const char in[] = "Subject: x\r\n\r\nline one\r\nline two\r\n.\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	assert_int_equal(FEED(&d, in, 0), sizeof(in) - 1);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_OK);
	assert_output("Subject: x\n\nline one\nline two\n");
	/* Size counts CR LF as two octets, the terminator not at all. */
	assert_int_equal(d.size, sizeof(in) - 1 - 3);
}

static void
test_dot_unstuffing(void **state)
{
	static const char in[] =
	    "..leading dot\r\n...\r\n..\r\nmid.dot\r\n. space\r\n.\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	FEED(&d, in, 0);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_OK);
	assert_output(".leading dot\n..\n.\nmid.dot\n space\n");
}

static void
test_immediate_terminator_is_empty_message(void **state)
{
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	assert_int_equal(FEED(&d, ".\r\n", 0), 3);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_OK);
	assert_int_equal(sink.len, 0);
	assert_int_equal(d.size, 0);
}

static void
test_bytes_after_terminator_are_not_consumed(void **state)
{
	static const char in[] = "x\r\n.\r\nQUIT\r\nMAIL FROM:<>\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	assert_int_equal(data_feed(&d, in, sizeof(in) - 1), 6);
	assert_true(d.done);
	assert_output("x\n");
	/* Done: nothing more is taken. */
	assert_int_equal(data_feed(&d, in + 6, sizeof(in) - 7), 0);
}

static void
test_terminator_split_at_every_offset(void **state)
{
	static const char in[] = "A: b\r\n\r\n.x\r\nbody\r\n..\r\nend\r\n.\r\nNOOP\r\n";
	static const char out[] = "A: b\n\nx\nbody\n.\nend\n";
	const size_t n = sizeof(in) - 1, end = n - 6;
	struct data d;
	size_t cut, used, chunk;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		start(&d, 0, 1000, 50);
		used = data_feed(&d, in, cut);
		if (!d.done) {
			assert_int_equal(used, cut);
			used += data_feed(&d, in + cut, n - cut);
		}
		assert_true(d.done);
		assert_int_equal(d.err, DATA_OK);
		assert_int_equal(used, end);
		assert_output(out);
	}
	for (chunk = 1; chunk <= 7; chunk++) {
		start(&d, 0, 1000, 50);
		assert_int_equal(feed(&d, in, n, chunk), end);
		assert_true(d.done);
		assert_output(out);
	}
}

/* Each sequence hides a second message behind a line end that some
 * server might take for the end of the first. */
static void
smuggle_case(const char *seq, size_t seqlen)
{
	static const char head[] = "Subject: s\r\n\r\nbody";
	static const char tail[] = "MAIL FROM:<a@b>\r\nDATA\r\nevil\r\n.\r\n";
	char in[256];
	size_t n = 0, chunk, used;
	struct data d;

	memcpy(in, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	memcpy(in + n, seq, seqlen);
	n += seqlen;
	memcpy(in + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	for (chunk = 0; chunk <= 3; chunk++) {
		start(&d, 0, 1000, 50);
		used = feed(&d, in, n, chunk);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_SMUGGLE);
		/* Stopped at the bad byte: nothing of the tail consumed ... */
		assert_true(used <= sizeof(head) - 1 + seqlen);
		/* ... and nothing written after it. */
		assert_true(sink.len <= sizeof(head) - 1);
		assert_null(memmem(sink.buf, sink.len, "evil", 4));
		assert_null(memmem(sink.buf, sink.len, "MAIL", 4));
	}
}

static void
test_bare_lf_dot_lf_is_smuggling(void **state)
{
	(void)state;
	smuggle_case("\n.\n", 3);
}

static void
test_bare_cr_dot_cr_is_smuggling(void **state)
{
	(void)state;
	smuggle_case("\r.\r", 3);
}

static void
test_lf_dot_crlf_is_smuggling(void **state)
{
	(void)state;
	smuggle_case("\n.\r\n", 4);
}

static void
test_crlf_dot_lf_is_smuggling(void **state)
{
	(void)state;
	smuggle_case("\r\n.\n", 4);
}

static void
test_nul_is_smuggling(void **state)
{
	(void)state;
	smuggle_case("\r\n\0.\r\n", 6);
	smuggle_case("\0.", 2);
}

static void
test_bare_cr_inside_a_line_is_smuggling(void **state)
{
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	FEED(&d, "a\rb\r\n.\r\n", 0);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_SMUGGLE);
	assert_output("a");	/* nothing from the bare CR on */
}

static void
test_bare_lf_at_start_is_smuggling(void **state)
{
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	assert_int_equal(FEED(&d, "\n.\r\n", 0), 1);
	assert_int_equal(d.err, DATA_SMUGGLE);
}

static void
test_smuggling_overrides_an_earlier_error(void **state)
{
	struct data d;

	(void)state;
	start(&d, 4, 1000, 50);
	FEED(&d, "too big for four\r\nx\n.\r\n", 0);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_SMUGGLE);
}

static void
test_size_at_the_limit_passes(void **state)
{
	struct data d;

	(void)state;
	start(&d, 9, 1000, 50);
	FEED(&d, "0123456\r\n.\r\n", 0);	/* 7 + CR LF = 9 */
	assert_int_equal(d.err, DATA_OK);
	assert_output("0123456\n");
}

static void
test_too_big_is_consumed_to_the_end(void **state)
{
	static const char in[] = "0123456\r\nmore and more\r\n.\r\nQUIT\r\n";
	struct data d;

	(void)state;
	start(&d, 8, 1000, 50);
	assert_int_equal(FEED(&d, in, 5), sizeof(in) - 1 - 6);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_TOO_BIG);
	assert_true(sink.len <= 8);
}

static void
test_line_too_long_is_consumed_to_the_end(void **state)
{
	static const char in[] = "0123456789\r\n01234567890\r\nok\r\n.\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 10, 50);
	assert_int_equal(FEED(&d, in, 3), sizeof(in) - 1);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_LINE_TOO_LONG);
	assert_null(memmem(sink.buf, sink.len, "ok", 2));
}

static void
test_line_at_the_limit_passes(void **state)
{
	struct data d;

	(void)state;
	start(&d, 0, 10, 50);
	FEED(&d, "0123456789\r\n..23456789\r\n.\r\n", 0);
	assert_int_equal(d.err, DATA_OK);
}

/* Lines are counted a run at a time: the limit that a byte-by-byte
 * count crosses first is still the one reported, whatever the chunks. */
static void
test_first_limit_crossed_is_reported(void **state)
{
	static const char in[] = "\r\n0123456789abcdef\r\n.\r\n";
	static const struct {
		uint64_t max;
		size_t line_max;
		enum data_err want;
	} c[] = {
		{ 20, 5, DATA_LINE_TOO_LONG },	/* the line at its 6th byte */
		{ 8, 10, DATA_TOO_BIG },	/* the size at the 7th */
		{ 7, 5, DATA_TOO_BIG },		/* both at the 6th: size */
		{ 20, 16, DATA_OK },
	};
	struct data d;
	size_t i, chunk;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (chunk = 0; chunk <= 3; chunk++) {
			start(&d, c[i].max, c[i].line_max, 50);
			assert_int_equal(FEED(&d, in, chunk), sizeof(in) - 1);
			assert_true(d.done);
			assert_int_equal(d.err, c[i].want);
		}
}

static void
test_too_many_received_is_a_loop(void **state)
{
	static const char in[] =
	    "Received: a\r\nreceived : b\r\n\tcontinued\r\nRECEIVED:c\r\n"
	    "Subject: x\r\n\r\nbody\r\n.\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 1000, 2);
	assert_int_equal(FEED(&d, in, 0), sizeof(in) - 1);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_LOOP);
	assert_int_equal(d.nreceived, 3);
}

static void
test_received_is_counted_in_the_header_only(void **state)
{
	static const char in[] =
	    "Received: a\r\nX-Received: no\r\nReceived-SPF: no\r\n\r\n"
	    "Received: in the body\r\nReceived: again\r\n.\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 1000, 1);
	FEED(&d, in, 0);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_OK);
	assert_int_equal(d.nreceived, 1);
}

/* The values of the header's Delivered-To: fields are kept for the loop
 * check (issue 15, item 10), folds joined, whatever the chunking; those
 * of the body, and of look-alike names, are not. */
static void
test_delivered_to_values_are_kept_from_the_header(void **state)
{
	static const char in[] =
	    "Delivered-To: alice@example.org\r\nX-Delivered-To: no@x\r\n"
	    "delivered-to : <bob@example.org>\r\n"
	    "Delivered-To:\r\n\tfolded@example.org\r\n"
	    "Delivered-Top: no@x\r\nSubject: Delivered-To: no@x\r\n"
	    "Delivered-To: last@example.org\r\n"
	    "\r\nDelivered-To: body@example.org\r\n.\r\n";
	struct data d;
	size_t chunk;

	(void)state;
	for (chunk = 0; chunk < sizeof(in); chunk++) {
		start(&d, 0, 1000, 50);
		assert_int_equal(FEED(&d, in, chunk), sizeof(in) - 1);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_OK);
		assert_string_equal(d.dt, " alice@example.org\n"
		    " <bob@example.org>\n\tfolded@example.org\n"
		    " last@example.org\n");
	}
}

/* A header that is all Delivered-To: keeps what fits, whole values
 * only, and the message goes on. */
static void
test_delivered_to_values_beyond_the_room_are_dropped_whole(void **state)
{
	static char in[64 * 1024];
	struct data d;
	size_t n = 0, i;
	int k;

	(void)state;
	for (i = 0; i < 500; i++) {
		k = snprintf(in + n, sizeof(in) - n,
		    "Delivered-To: user%zu@example.org\r\n", i);
		assert_true(k > 0 && (size_t)k < sizeof(in) - n);
		n += (size_t)k;
	}
	memcpy(in + n, "\r\nbody\r\n.\r\n", 11);
	n += 11;
	start(&d, 0, 1000, 50);
	assert_int_equal(feed(&d, in, n, 0), n);
	assert_int_equal(d.err, DATA_OK);
	assert_true(d.dtlen < sizeof(d.dt));
	assert_int_equal(d.dt[d.dtlen - 1], '\n');
	assert_int_equal(strncmp(d.dt, " user0@example.org\n", 19), 0);
}

static void
test_sink_failure_is_reported_and_input_consumed(void **state)
{
	static const char in[] = "a\r\nb\r\n.\r\n";
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	sink.fail_after = 0;
	assert_int_equal(FEED(&d, in, 1), sizeof(in) - 1);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_EWRITE);
	assert_int_equal(d.werrno, ENOSPC);
	assert_int_equal(sink.calls, 0);
}

static void
test_dot_not_at_line_start_does_not_end(void **state)
{
	struct data d;

	(void)state;
	start(&d, 0, 1000, 50);
	FEED(&d, "a.\r\n.\r\n", 0);
	assert_true(d.done);
	assert_output("a.\n");
}

/* Authentication-Results fields that claim our authserv-id (any case,
 * with blanks, hidden behind a comment or a fold) are renamed, the rest
 * and the body left alone, whatever the chunks. */
static void
test_our_authentication_results_are_renamed(void **state)
{
	static const char in[] =
	    "Authentication-Results: MX.Example.ORG; spf=pass\r\n"
	    "authentication-results :\tmx.example.org (forged); dkim=pass\r\n"
	    "Authentication-Results: mx.example.org.evil; spf=pass\r\n"
	    "Authentication-Results: other.example; spf=fail\r\n"
	    "Authentication-Results: (c) mx.example.org; spf=pass\r\n"
	    "Authentication-Results:\r\n mx.example.org; spf=pass\r\n"
	    "Authentication-Result: mx.example.org; x=y\r\n"
	    "X-Authentication-Results: mx.example.org; x=y\r\n"
	    "Subject: Authentication-Results: mx.example.org;\r\n"
	    "Authentication-Results: mx.example.org\r\n"
	    "\r\n"
	    "Authentication-Results: mx.example.org; spf=pass\r\n"
	    ".\r\n";
	static const char want[] =
	    "X-Original-Authentication-Results: MX.Example.ORG; spf=pass\n"
	    "X-Original-authentication-results :\tmx.example.org (forged); "
	    "dkim=pass\n"
	    "Authentication-Results: mx.example.org.evil; spf=pass\n"
	    "Authentication-Results: other.example; spf=fail\n"
	    "X-Original-Authentication-Results: (c) mx.example.org; "
	    "spf=pass\n"
	    "X-Original-Authentication-Results:\n mx.example.org; spf=pass\n"
	    "Authentication-Result: mx.example.org; x=y\n"
	    "X-Authentication-Results: mx.example.org; x=y\n"
	    "Subject: Authentication-Results: mx.example.org;\n"
	    "X-Original-Authentication-Results: mx.example.org\n"
	    "\n"
	    "Authentication-Results: mx.example.org; spf=pass\n";
	struct data d;
	size_t chunk;

	(void)state;
	for (chunk = 0; chunk < sizeof(in); chunk++) {
		start(&d, 0, 1000, 100);
		data_authserv(&d, "mx.example.org");
		assert_int_equal(FEED(&d, in, chunk), sizeof(in) - 1);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_OK);
		assert_output(want);
		assert_int_equal(d.ar.renamed, 5);
		assert_int_equal(d.size, sizeof(in) - 1 - 3);
	}
}

/* What a reader of RFC 8601 takes for our field, though its id is not
 * written as a plain token right after the colon: a quoted-string id
 * (RFC 8601 value, RFC 2045), and the name followed by more blanks
 * before the colon (RFC 5322 §4.5.3) than the hold keeps. */
static void
test_quoted_or_far_authentication_results_are_renamed(void **state)
{
	static const char quoted[] =
	    "Authentication-Results: \"mx.example.org\"; dkim=pass\r\n"
	    "Authentication-Results: \"other.example\"; dkim=pass\r\n";
	static const char quoted_want[] =
	    "X-Original-Authentication-Results: \"mx.example.org\"; "
	    "dkim=pass\n"
	    "X-Original-Authentication-Results: \"other.example\"; "
	    "dkim=pass\n";
	static const char name[] = "Authentication-Results";
	static const char value[] = ": mx.example.org; dkim=pass";
	static const char end[] = "\r\n.\r\n";
	char in[2048], want[2048];
	size_t inlen, wantlen, blanks = ARNAME_HOLD_MAX + 10, chunk;
	struct data d;

	(void)state;
	/* The quoted ones and the far one, each message on its own. */
	memcpy(in, quoted, sizeof(quoted) - 1);
	inlen = sizeof(quoted) - 1;
	memcpy(in + inlen, ".\r\n", 3);
	inlen += 3;
	for (chunk = 0; chunk < inlen; chunk++) {
		start(&d, 0, 1000, 100);
		data_authserv(&d, "mx.example.org");
		assert_int_equal(feed(&d, in, inlen, chunk), inlen);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_OK);
		assert_output(quoted_want);
		assert_int_equal(d.ar.renamed, 2);
	}

	memcpy(in, name, sizeof(name) - 1);
	inlen = sizeof(name) - 1;
	memset(in + inlen, ' ', blanks);
	inlen += blanks;
	memcpy(in + inlen, value, sizeof(value) - 1);
	inlen += sizeof(value) - 1;
	memcpy(in + inlen, end, sizeof(end) - 1);
	inlen += sizeof(end) - 1;
	wantlen = (size_t)snprintf(want, sizeof(want), "%s%s",
	    ARNAME_PREFIX, name);
	memset(want + wantlen, ' ', blanks);
	wantlen += blanks;
	wantlen += (size_t)snprintf(want + wantlen, sizeof(want) - wantlen,
	    "%s\n", value);
	for (chunk = 0; chunk < inlen; chunk += 37) {
		start(&d, 0, 1000, 100);
		data_authserv(&d, "mx.example.org");
		assert_int_equal(feed(&d, in, inlen, chunk), inlen);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_OK);
		assert_output(want);
		assert_int_equal(d.ar.renamed, 1);
	}
}

/* data_header_max: a header the checker could not read whole (more
 * fields, or more bytes through its empty line, than it takes) is
 * refused and consumed to the end; one at both limits passes, and so
 * does any header without the limits. */
static void
test_header_past_the_checkers_limits_is_refused(void **state)
{
	static char in[8192];
	size_t len, k, chunk;
	struct data d;

	(void)state;
	/* Four fields, one of them folded: at a limit of 4, then over 3. */
	len = (size_t)snprintf(in, sizeof(in), "A: 1\r\nB: 2\r\n 2b\r\n"
	    "C: 3\r\nD: 4\r\n\r\nE: body, not a field\r\n.\r\n");
	for (chunk = 0; chunk < len; chunk++) {
		start(&d, 0, 1000, 100);
		data_header_max(&d, 0, 4);
		assert_int_equal(feed(&d, in, len, chunk), len);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_OK);
		start(&d, 0, 1000, 100);
		data_header_max(&d, 0, 3);
		assert_int_equal(feed(&d, in, len, chunk), len);
		assert_true(d.done);
		assert_int_equal(d.err, DATA_HEADER_TOO_BIG);
	}
	/* The header's bytes: 31 through its empty line ("A: 1" CR LF
	 * "B: 2" CR LF " 2b" CR LF "C: 3" CR LF "D: 4" CR LF CR LF). */
	start(&d, 0, 1000, 100);
	data_header_max(&d, 31, 0);
	assert_int_equal(feed(&d, in, len, 0), len);
	assert_int_equal(d.err, DATA_OK);
	start(&d, 0, 1000, 100);
	data_header_max(&d, 30, 0);
	assert_int_equal(feed(&d, in, len, 0), len);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_HEADER_TOO_BIG);
	/* Without limits, 1500 fields pass; with the checker's, not. */
	len = 0;
	for (k = 0; k < 1500; k++)
		len += (size_t)snprintf(in + len, sizeof(in) - len, "X:\r\n");
	len += (size_t)snprintf(in + len, sizeof(in) - len, "\r\nb\r\n.\r\n");
	start(&d, 0, 1000, 100);
	assert_int_equal(feed(&d, in, len, 0), len);
	assert_int_equal(d.err, DATA_OK);
	start(&d, 0, 1000, 100);
	data_header_max(&d, 256 * 1024, 1000);
	assert_int_equal(feed(&d, in, len, 0), len);
	assert_true(d.done);
	assert_int_equal(d.err, DATA_HEADER_TOO_BIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_our_authentication_results_are_renamed),
		cmocka_unit_test(
		    test_quoted_or_far_authentication_results_are_renamed),
		cmocka_unit_test(test_header_past_the_checkers_limits_is_refused),
		cmocka_unit_test(test_crlf_becomes_lf_and_terminator_ends),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_immediate_terminator_is_empty_message),
		cmocka_unit_test(test_bytes_after_terminator_are_not_consumed),
		cmocka_unit_test(test_terminator_split_at_every_offset),
		cmocka_unit_test(test_bare_lf_dot_lf_is_smuggling),
		cmocka_unit_test(test_bare_cr_dot_cr_is_smuggling),
		cmocka_unit_test(test_lf_dot_crlf_is_smuggling),
		cmocka_unit_test(test_crlf_dot_lf_is_smuggling),
		cmocka_unit_test(test_nul_is_smuggling),
		cmocka_unit_test(test_bare_cr_inside_a_line_is_smuggling),
		cmocka_unit_test(test_bare_lf_at_start_is_smuggling),
		cmocka_unit_test(test_smuggling_overrides_an_earlier_error),
		cmocka_unit_test(test_size_at_the_limit_passes),
		cmocka_unit_test(test_too_big_is_consumed_to_the_end),
		cmocka_unit_test(test_line_too_long_is_consumed_to_the_end),
		cmocka_unit_test(test_line_at_the_limit_passes),
		cmocka_unit_test(test_first_limit_crossed_is_reported),
		cmocka_unit_test(test_too_many_received_is_a_loop),
		cmocka_unit_test(test_received_is_counted_in_the_header_only),
		cmocka_unit_test(
		    test_delivered_to_values_are_kept_from_the_header),
		cmocka_unit_test(
		    test_delivered_to_values_beyond_the_room_are_dropped_whole),
		cmocka_unit_test(test_sink_failure_is_reported_and_input_consumed),
		cmocka_unit_test(test_dot_not_at_line_start_does_not_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
