/* proxy_test.c — the PROXY protocol header reader (smtp-in/proxy.c) over
 * a real socketpair: versions 1 and 2, every address family it takes,
 * LOCAL and UNKNOWN, TLVs skipped, headers that arrive a byte at a time,
 * every malformed form refused with its reason, the deadline, and the
 * SMTP bytes after a header left unread for the session's line reader. */

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "proxy.h"

enum {
	SHORT_DEADLINE = 100,	/* ms: long enough to be exact, short to wait */
	SLACK = 2000,		/* ms a loaded machine (ASan) may oversleep */
	LONG_DEADLINE = 10000
};

struct fx {
	int	peer;		/* the proxy's end: the test writes here */
	int	fd;		/* smtp-in's end */
};

static int
setup(void **state)
{
	struct fx *fx;
	int sv[2];

	if ((fx = calloc(1, sizeof(*fx))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		free(fx);
		return -1;
	}
	fx->fd = sv[0];
	fx->peer = sv[1];
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	close(fx->fd);
	if (fx->peer != -1)
		close(fx->peer);
	free(fx);
	return 0;
}

static void
send_bytes(struct fx *fx, const void *p, size_t n)
{
	assert_int_equal(fd_write_all(fx->peer, p, n), 0);
}

static void
send_str(struct fx *fx, const char *s)
{
	send_bytes(fx, s, strlen(s));
}

static void
shut(struct fx *fx)
{
	assert_int_equal(shutdown(fx->peer, SHUT_WR), 0);
}

/* proxy_read with a generous deadline: 0 or -1, *why. */
static int
rd(struct fx *fx, struct proxy_info *pi, const char **why)
{
	return proxy_read(fx->fd, clock_ms() + LONG_DEADLINE, pi, why);
}

/* Everything left on smtp-in's end after the header (the writer's side
 * closed first), into buf: its length. */
static size_t
rest(struct fx *fx, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	shut(fx);
	while ((n = read(fx->fd, buf + have, size - 1 - have)) > 0)
		have += (size_t)n;
	assert_int_equal(n, 0);
	buf[have] = '\0';
	return have;
}

static void
assert_refused(struct fx *fx, const void *hdr, size_t n, const char *want)
{
	struct proxy_info pi;
	const char *why = NULL;

	send_bytes(fx, hdr, n);
	shut(fx);
	assert_int_equal(rd(fx, &pi, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
}

/* A version 2 header: the signature, version 2 and cmd, fam, then body. */
static size_t
v2(unsigned char *out, unsigned cmd, unsigned fam, const void *body,
    size_t len)
{
	static const unsigned char sig[12] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a
	};

	memcpy(out, sig, 12);
	out[12] = (unsigned char)(0x20 | cmd);
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(len >> 8);
	out[15] = (unsigned char)(len & 0xff);
	memcpy(out + 16, body, len);
	return 16 + len;
}

/* --- version 1 --------------------------------------------------------- */

static void
test_v1_tcp4_gives_source_and_destination(void **state)
{
	struct fx *fx = *state;
	struct proxy_info pi;
	const char *why;
	char buf[64];

	send_str(fx, "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_int_equal(pi.version, 1);
	assert_false(pi.local);
	assert_string_equal(pi.src, "192.0.2.7");
	assert_string_equal(pi.dst, "198.51.100.1");
	assert_int_equal(pi.sport, 56324);
	assert_int_equal(pi.dport, 25);
	assert_int_equal(rest(fx, buf, sizeof(buf)), 0);
}

static void
test_v1_tcp6_gives_source_and_destination(void **state)
{
	struct fx *fx = *state;
	struct proxy_info pi;
	const char *why;

	send_str(fx, "PROXY TCP6 2001:db8:0:0::5 2001:db8::1 65535 587\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_false(pi.local);
	/* As peer_normalize writes it. */
	assert_string_equal(pi.src, "2001:db8::5");
	assert_string_equal(pi.dst, "2001:db8::1");
	assert_int_equal(pi.sport, 65535);
	assert_int_equal(pi.dport, 587);
}

static void
test_v1_tcp6_ipv4_mapped_source_is_ipv4(void **state)
{
	struct fx *fx = *state;
	struct proxy_info pi;
	const char *why;

	send_str(fx, "PROXY TCP6 ::ffff:192.0.2.9 ::1 1 25\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "192.0.2.9");
}

static void
test_v1_unknown_keeps_the_connection_address(void **state)
{
	struct fx *fx = *state;
	struct proxy_info pi;
	const char *why;
	char buf[64];

	send_str(fx, "PROXY UNKNOWN\r\nPROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_true(pi.local);
	assert_string_equal(pi.src, "");
	/* The second form too: what follows UNKNOWN is ignored. */
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_true(pi.local);
	assert_int_equal(rest(fx, buf, sizeof(buf)), 0);
}

static void
test_v1_longest_lines_are_read(void **state)
{
	struct fx *fx = *state;
	/* The specification's worst case, 107 bytes, is UNKNOWN with all
	 * its optional fields; the longest TCP6 line is 104. */
	const char *unknown = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	const char *tcp6 = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_info pi;
	const char *why;

	assert_int_equal(strlen(unknown), PROXY_V1_MAX);
	send_str(fx, unknown);
	send_str(fx, tcp6);
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_true(pi.local);
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void
test_v1_without_lf_within_107_bytes_is_too_long(void **state)
{
	char line[200];

	memset(line, '1', sizeof(line));
	memcpy(line, "PROXY TCP4 ", 11);
	assert_refused(*state, line, sizeof(line), "too-long");
}

static void
test_v1_malformed_lines_are_refused(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 1 25\n", "syntax" },
		{ "PROXY TCP4  192.0.2.7 198.51.100.1 1 25\r\n", "syntax" },
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n", "syntax" },
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 1 25 \r\n", "syntax" },
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 1 25 9\r\n", "syntax" },
		{ "PROXY \r\n", "syntax" },
		{ "PROXY TCP4 2001:db8::5 198.51.100.1 1 25\r\n", "address" },
		{ "PROXY TCP6 192.0.2.7 2001:db8::1 1 25\r\n", "address" },
		{ "PROXY TCP4 192.0.2.300 198.51.100.1 1 25\r\n", "address" },
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 65536 25\r\n", "port" },
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 025 25\r\n", "port" },
		{ "PROXY TCP4 192.0.2.7 198.51.100.1 -1 25\r\n", "port" },
		{ "PROXY UDP4 192.0.2.7 198.51.100.1 1 25\r\n", "family" },
		{ "PROXY tcp4 192.0.2.7 198.51.100.1 1 25\r\n", "family" },
		{ "proxy TCP4 192.0.2.7 198.51.100.1 1 25\r\n", "signature" },
		{ "EHLO client.example\r\n", "signature" },
	};
	static const char nul[] = "PROXY TCP4 192.0.2.7\0 198.51.100.1 1 25\r\n";
	struct proxy_info pi;
	const char *why;
	size_t i, used;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(proxy_parse((const unsigned char *)bad[i].line,
		    strlen(bad[i].line), &used, &pi, &why), -1);
		assert_non_null(why);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("%s: %s, not %s", bad[i].line, why, bad[i].why);
	}
	assert_int_equal(proxy_parse((const unsigned char *)nul,
	    sizeof(nul) - 1, &used, &pi, &why), -1);
	assert_string_equal(why, "syntax");
}

static void
test_v1_truncated_header_is_eof(void **state)
{
	assert_refused(*state, "PROXY TCP4 192.0.2.7 198.51", 27, "eof");
}

/* --- version 2 --------------------------------------------------------- */

static const unsigned char inet[12] = {
	192, 0, 2, 7,  198, 51, 100, 1,  0xdc, 0x04,  0x00, 0x19
};

static void
test_v2_proxy_inet_gives_source_and_destination(void **state)
{
	struct fx *fx = *state;
	unsigned char h[64];
	struct proxy_info pi;
	const char *why;
	char buf[64];

	send_bytes(fx, h, v2(h, 1, 0x11, inet, sizeof(inet)));
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_int_equal(pi.version, 2);
	assert_false(pi.local);
	assert_string_equal(pi.src, "192.0.2.7");
	assert_string_equal(pi.dst, "198.51.100.1");
	assert_int_equal(pi.sport, 56324);
	assert_int_equal(pi.dport, 25);
	assert_int_equal(rest(fx, buf, sizeof(buf)), 0);
}

static void
test_v2_proxy_inet6_gives_source_and_destination(void **state)
{
	struct fx *fx = *state;
	unsigned char body[36] = {
		0x20, 0x01, 0x0d, 0xb8, [15] = 5,
		0x20, 0x01, 0x0d, 0xb8, [31] = 1,
		0x01, 0xbb, 0x02, 0x4b
	}, h[64];
	struct proxy_info pi;
	const char *why;

	send_bytes(fx, h, v2(h, 1, 0x21, body, sizeof(body)));
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "2001:db8::5");
	assert_string_equal(pi.dst, "2001:db8::1");
	assert_int_equal(pi.sport, 443);
	assert_int_equal(pi.dport, 587);
}

static void
test_v2_ipv4_mapped_source_is_ipv4(void **state)
{
	struct fx *fx = *state;
	unsigned char body[36] = {
		[10] = 0xff, 0xff, 192, 0, 2, 9, [31] = 1
	}, h[64];
	struct proxy_info pi;
	const char *why;

	send_bytes(fx, h, v2(h, 1, 0x21, body, sizeof(body)));
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "192.0.2.9");
}

static void
test_v2_tlvs_are_skipped_and_smtp_after_them_stays(void **state)
{
	struct fx *fx = *state;
	unsigned char body[12 + 3 + 9 + 3 + 8], h[128];
	struct proxy_info pi;
	const char *why;
	char buf[64];

	/* PP2_TYPE_AUTHORITY "mx.example", PP2_TYPE_NOOP of 5 bytes. */
	memcpy(body, inet, 12);
	memcpy(body + 12, "\x02\x00\x09" "mx.exampl", 12);
	memcpy(body + 24, "\x04\x00\x05" "\0\0\0\0\0", 8);
	send_bytes(fx, h, v2(h, 1, 0x11, body, sizeof(body)));
	send_str(fx, "EHLO client.example\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "192.0.2.7");
	assert_int_equal(rest(fx, buf, sizeof(buf)), 21);
	assert_string_equal(buf, "EHLO client.example\r\n");
}

static void
test_v2_local_keeps_the_connection_address(void **state)
{
	struct fx *fx = *state;
	unsigned char h[64];
	struct proxy_info pi;
	const char *why;
	char buf[64];

	send_bytes(fx, h, v2(h, 0, 0x00, "", 0));
	/* LOCAL may carry addresses too: ignored. */
	send_bytes(fx, h, v2(h, 0, 0x11, inet, sizeof(inet)));
	send_str(fx, "QUIT\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_true(pi.local);
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_true(pi.local);
	assert_string_equal(pi.src, "");
	assert_int_equal(rest(fx, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "QUIT\r\n");
}

static void
test_v2_largest_length_is_read_and_one_more_is_too_long(void **state)
{
	struct fx *fx = *state;
	unsigned char body[PROXY_V2_LEN_MAX + 1], h[sizeof(body) + 16];
	struct proxy_info pi;
	const char *why;
	size_t used;

	memset(body, 0, sizeof(body));
	memcpy(body, inet, 12);
	body[12] = 0x04;	/* one NOOP TLV filling the rest */
	body[13] = (unsigned char)((PROXY_V2_LEN_MAX - 15) >> 8);
	body[14] = (unsigned char)((PROXY_V2_LEN_MAX - 15) & 0xff);
	send_bytes(fx, h, v2(h, 1, 0x11, body, PROXY_V2_LEN_MAX));
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "192.0.2.7");
	/* Refused from its first 16 bytes, before the rest arrives. */
	assert_int_equal(proxy_parse(h, v2(h, 1, 0x11, body, sizeof(body)),
	    &used, &pi, &why), -1);
	assert_string_equal(why, "too-long");
	assert_int_equal(proxy_parse(h, 16, &used, &pi, &why), -1);
	assert_string_equal(why, "too-long");
}

static void
test_v2_malformed_headers_are_refused(void **state)
{
	unsigned char h[64];
	struct proxy_info pi;
	const char *why;
	size_t n, used;

	(void)state;
	/* Families other than TCP over IPv4 or IPv6: UNIX, UDP, UNSPEC. */
	n = v2(h, 1, 0x31, inet, sizeof(inet));
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "family");
	n = v2(h, 1, 0x12, inet, sizeof(inet));
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "family");
	n = v2(h, 1, 0x00, inet, sizeof(inet));
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "family");
	/* Shorter than the addresses of its family. */
	n = v2(h, 1, 0x11, inet, 11);
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "length");
	n = v2(h, 1, 0x21, inet, 12);
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "length");
	/* Version 1 in the binary form, or 3; a command of 2. */
	n = v2(h, 1, 0x11, inet, sizeof(inet));
	h[12] = 0x11;
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "version");
	h[12] = 0x31;
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "version");
	h[12] = 0x22;
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "command");
	/* A signature wrong in its last byte. */
	n = v2(h, 1, 0x11, inet, sizeof(inet));
	h[11] = 0x0d;
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), -1);
	assert_string_equal(why, "signature");
}

static void
test_v2_truncated_header_is_eof(void **state)
{
	unsigned char h[64];

	assert_refused(*state, h, v2(h, 1, 0x11, inet, sizeof(inet)) - 1,
	    "eof");
}

static void
test_v2_truncated_in_the_signature_is_eof(void **state)
{
	assert_refused(*state, "\r\n\r\n\0\r\n", 7, "eof");
}

/* --- either ------------------------------------------------------------ */

static void
test_every_prefix_asks_for_more(void **state)
{
	const char *line = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n";
	unsigned char h[64];
	struct proxy_info pi;
	const char *why;
	size_t i, n, used;

	(void)state;
	n = strlen(line);
	for (i = 0; i < n; i++)
		assert_int_equal(proxy_parse((const unsigned char *)line, i,
		    &used, &pi, &why), 1);
	assert_int_equal(proxy_parse((const unsigned char *)line, n, &used,
	    &pi, &why), 0);
	assert_int_equal(used, n);
	n = v2(h, 1, 0x11, inet, sizeof(inet));
	for (i = 0; i < n; i++)
		assert_int_equal(proxy_parse(h, i, &used, &pi, &why), 1);
	assert_int_equal(proxy_parse(h, n, &used, &pi, &why), 0);
	assert_int_equal(used, n);
}

/* A proxy that sends its header one byte at a time, each only once the
 * reader has taken the one before (the reader's socket is empty again),
 * so every byte is a read of its own; then SMTP bytes, which must stay.
 * Bounded: a reader that stops taking bytes fails the test. */
static void
split_one_byte_at_a_time(struct fx *fx, const unsigned char *hdr, size_t n)
{
	struct proxy_info pi;
	const char *why;
	char buf[64];
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		int64_t until = clock_ms() + SLACK;
		size_t i;
		int queued;

		for (i = 0; i < n; i++) {
			if (fd_write_all(fx->peer, hdr + i, 1) == -1)
				_exit(1);
			do {
				if (ioctl(fx->fd, FIONREAD, &queued) == -1 ||
				    clock_ms() > until)
					_exit(2);
				if (queued > 0)
					(void)poll(NULL, 0, 1);
			} while (queued > 0);
		}
		if (fd_write_all(fx->peer, "NOOP\r\n", 6) == -1)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_string_equal(pi.src, "192.0.2.7");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(rest(fx, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "NOOP\r\n");
}

static void
test_v1_one_byte_at_a_time(void **state)
{
	const char *line = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n";

	split_one_byte_at_a_time(*state, (const unsigned char *)line,
	    strlen(line));
}

static void
test_v2_one_byte_at_a_time(void **state)
{
	unsigned char h[64];

	split_one_byte_at_a_time(*state, h, v2(h, 1, 0x11, inet,
	    sizeof(inet)));
}

static void
test_v1_with_pipelined_smtp_leaves_it_unread(void **state)
{
	struct fx *fx = *state;
	struct proxy_info pi;
	const char *why;
	char buf[128];

	/* One write: the header and the client's first commands. */
	send_str(fx, "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n"
	    "EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n");
	assert_int_equal(rd(fx, &pi, &why), 0);
	assert_int_equal(rest(fx, buf, sizeof(buf)), 46);
	assert_string_equal(buf,
	    "EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n");
}

static void
test_late_header_times_out_at_the_deadline(void **state)
{
	struct fx *fx = *state;
	struct proxy_info pi;
	const char *why;
	int64_t t0, t;

	send_str(fx, "PROXY TCP4 192.0.2.7");
	t0 = clock_ms();
	assert_int_equal(proxy_read(fx->fd, t0 + SHORT_DEADLINE, &pi, &why),
	    -1);
	t = clock_ms() - t0;
	assert_string_equal(why, "timeout");
	assert_true(t >= SHORT_DEADLINE);
	assert_true(t < SHORT_DEADLINE + SLACK);
}

static void
test_not_a_socket_is_a_read_error(void **state)
{
	struct proxy_info pi;
	const char *why;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fd_write_all(p[1], "PROXY UNKNOWN\r\n", 15), 0);
	assert_int_equal(proxy_read(p[0], clock_ms() + LONG_DEADLINE, &pi,
	    &why), -1);
	assert_string_equal(why, "read");
	assert_int_equal(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_v1_tcp4_gives_source_and_destination),
		T(test_v1_tcp6_gives_source_and_destination),
		T(test_v1_tcp6_ipv4_mapped_source_is_ipv4),
		T(test_v1_unknown_keeps_the_connection_address),
		T(test_v1_longest_lines_are_read),
		T(test_v1_without_lf_within_107_bytes_is_too_long),
		T(test_v1_malformed_lines_are_refused),
		T(test_v1_truncated_header_is_eof),
		T(test_v2_proxy_inet_gives_source_and_destination),
		T(test_v2_proxy_inet6_gives_source_and_destination),
		T(test_v2_ipv4_mapped_source_is_ipv4),
		T(test_v2_tlvs_are_skipped_and_smtp_after_them_stays),
		T(test_v2_local_keeps_the_connection_address),
		T(test_v2_largest_length_is_read_and_one_more_is_too_long),
		T(test_v2_malformed_headers_are_refused),
		T(test_v2_truncated_header_is_eof),
		T(test_v2_truncated_in_the_signature_is_eof),
		T(test_every_prefix_asks_for_more),
		T(test_v1_one_byte_at_a_time),
		T(test_v2_one_byte_at_a_time),
		T(test_v1_with_pipelined_smtp_leaves_it_unread),
		T(test_late_header_times_out_at_the_deadline),
		T(test_not_a_socket_is_a_read_error),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
