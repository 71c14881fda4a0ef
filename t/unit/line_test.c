/* line_test.c — the line reader over a real socketpair: limits, how each
 * line ended, over-long lines skipped, lines split across reads, pipelined
 * bytes kept, end of file and deadlines.  Also the io and out layers that
 * it sits on. */

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
#include "line.h"
#include "out.h"
#include "str.h"

enum {
	SMTP_LINE = 1000,	/* RFC 5321 §4.5.3.1.6 text line, CRLF excluded */
	SHORT_DEADLINE = 100,	/* ms: long enough to be exact, short to wait */
	SLACK = 2000		/* ms a loaded machine (ASan) may oversleep */
};

struct fx {
	int		 peer;		/* the test writes here */
	int		 fd;		/* the reader's end */
	struct io	 io;
	struct line	 l;
	struct str	 out;
	char		 mem[64 * 1024];
};

static int
setup(void **state)
{
	struct fx *fx;
	int sv[2];

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		free(fx);
		return -1;
	}
	fx->fd = sv[0];
	fx->peer = sv[1];
	io_fd_init(&fx->io, fx->fd, fx->fd);
	line_init(&fx->l, &fx->io);
	str_init(&fx->out, fx->mem, sizeof(fx->mem));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->peer != -1)
		close(fx->peer);
	close(fx->fd);
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
send_eof(struct fx *fx)
{
	close(fx->peer);
	fx->peer = -1;
}

static enum line_status
get(struct fx *fx, size_t max, unsigned *flags)
{
	return line_get(&fx->l, &fx->out, max, IO_NO_DEADLINE, flags);
}

/* An io that hands out at most TRICKLE bytes per read, as a slow peer
 * (or a TLS record boundary) would. */
enum { TRICKLE = 1 };

static ssize_t
trickle_read(struct io *io, void *p, size_t n)
{
	return recv(io->rfd, p, n < TRICKLE ? n : TRICKLE, MSG_DONTWAIT);
}

static ssize_t
trickle_write(struct io *io, const void *p, size_t n)
{
	return send(io->wfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static size_t
no_pending(struct io *io)
{
	(void)io;
	return 0;
}

static const struct io_ops trickle_ops = {
	trickle_read, trickle_write, no_pending
};

static void
test_crlf_line_is_read_without_its_crlf(void **state)
{
	struct fx *fx = *state;
	unsigned flags = 99;

	send_str(fx, "EHLO client.example\r\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "EHLO client.example");
	assert_int_equal(fx->out.len, 19);
	assert_int_equal(flags, LINE_CRLF);
}

static void
test_bare_lf_line_has_no_crlf_flag(void **state)
{
	struct fx *fx = *state;
	unsigned flags = 99;

	send_str(fx, "NOOP\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "NOOP");
	assert_int_equal(flags, 0);
}

static void
test_empty_lines_are_lines(void **state)
{
	struct fx *fx = *state;
	unsigned flags;

	send_str(fx, "\r\n\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_int_equal(fx->out.len, 0);
	assert_int_equal(flags, LINE_CRLF);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_int_equal(fx->out.len, 0);
	assert_int_equal(flags, 0);
}

static void
test_bare_cr_inside_is_kept_and_flagged(void **state)
{
	struct fx *fx = *state;
	unsigned flags;

	send_str(fx, "a\rb\r\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_int_equal(fx->out.len, 3);
	assert_memory_equal(fx->out.s, "a\rb", 3);
	assert_int_equal(flags, LINE_CRLF | LINE_BARE_CR);

	send_str(fx, "c\r\r\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_memory_equal(fx->out.s, "c\r", 2);
	assert_int_equal(flags, LINE_CRLF | LINE_BARE_CR);

	send_str(fx, "d\r\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_int_equal(flags, LINE_CRLF);
}

static void
test_nul_inside_is_kept_and_flagged(void **state)
{
	struct fx *fx = *state;
	unsigned flags;

	send_bytes(fx, "a\0b\r\n", 5);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_int_equal(fx->out.len, 3);
	assert_memory_equal(fx->out.s, "a\0b", 3);
	assert_int_equal(flags, LINE_CRLF | LINE_NUL);
}

static void
test_line_of_exactly_max_bytes_is_read(void **state)
{
	struct fx *fx = *state;
	char buf[SMTP_LINE + 2];
	unsigned flags;

	memset(buf, 'x', SMTP_LINE);
	memcpy(buf + SMTP_LINE, "\r\n", 2);
	send_bytes(fx, buf, sizeof(buf));
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_int_equal(fx->out.len, SMTP_LINE);
	assert_int_equal(flags, LINE_CRLF);
}

static void
test_line_of_max_plus_one_is_too_long_and_next_is_fine(void **state)
{
	struct fx *fx = *state;
	char buf[SMTP_LINE + 3];
	unsigned flags;

	memset(buf, 'x', SMTP_LINE + 1);
	memcpy(buf + SMTP_LINE + 1, "\r\n", 2);
	send_bytes(fx, buf, sizeof(buf));
	send_str(fx, "QUIT\r\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_TOOLONG);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "QUIT");
	assert_int_equal(flags, LINE_CRLF);
}

static void
test_line_longer_than_out_capacity_is_too_long(void **state)
{
	struct fx *fx = *state;
	char small[8];
	struct str s;
	unsigned flags;

	str_init(&s, small, sizeof(small));
	send_str(fx, "1234567\r\n12345678\r\nok\r\n");
	assert_int_equal(line_get(&fx->l, &s, SMTP_LINE, IO_NO_DEADLINE,
	    &flags), LINE_OK);
	assert_string_equal(s.s, "1234567");
	assert_int_equal(line_get(&fx->l, &s, SMTP_LINE, IO_NO_DEADLINE,
	    &flags), LINE_TOOLONG);
	assert_int_equal(line_get(&fx->l, &s, SMTP_LINE, IO_NO_DEADLINE,
	    &flags), LINE_OK);
	assert_string_equal(s.s, "ok");
}

static void
test_line_many_buffers_long_is_skipped_and_next_is_fine(void **state)
{
	struct fx *fx = *state;
	size_t n = 3 * LINE_BUFSZ + 17;
	char *big;
	unsigned flags;

	assert_non_null(big = malloc(n));
	memset(big, 'y', n);
	big[n - 1] = '\n';
	send_bytes(fx, big, n);
	free(big);
	send_str(fx, "RSET\r\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_TOOLONG);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "RSET");
}

static void
test_line_longer_than_buffer_is_read_when_max_allows(void **state)
{
	struct fx *fx = *state;
	size_t n = LINE_BUFSZ + 100;
	char *big;
	unsigned flags;

	assert_non_null(big = malloc(n + 2));
	memset(big, 'z', n);
	memcpy(big + n, "\r\n", 2);
	send_bytes(fx, big, n + 2);
	free(big);
	assert_int_equal(get(fx, sizeof(fx->mem) - 1, &flags), LINE_OK);
	assert_int_equal(fx->out.len, n);
	assert_int_equal(flags, LINE_CRLF);
}

static void
test_line_split_across_many_reads_is_whole(void **state)
{
	struct fx *fx = *state;
	struct io slow;
	unsigned flags;

	slow = fx->io;
	slow.ops = &trickle_ops;
	line_init(&fx->l, &slow);
	send_str(fx, "MAIL FROM:<a@b.example>\r\nx\ry\r\nz\r");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "MAIL FROM:<a@b.example>");
	assert_int_equal(flags, LINE_CRLF);
	/* Bare CR at a read boundary followed by a byte other than LF. */
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_memory_equal(fx->out.s, "x\ry", 3);
	assert_int_equal(flags, LINE_CRLF | LINE_BARE_CR);
	/* CR and LF in different writes, and reads. */
	send_str(fx, "\n");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "z");
	assert_int_equal(flags, LINE_CRLF);
}

static void
test_line_split_across_writes_is_whole(void **state)
{
	struct fx *fx = *state;
	unsigned flags;
	pid_t pid;
	int status;

	/* A writer that sends the line in pieces while we already wait,
	 * each piece only once the reader has taken the one before (the
	 * reader's socket is empty again), so every piece is a read of its
	 * own.  Bounded: a reader that stops reading fails the test. */
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		const char *pieces[] = { "RCPT ", "TO:<c@d", ".example>\r", "\n" };
		int64_t until = clock_ms() + SLACK;
		size_t i;
		int queued;

		for (i = 0; i < 4; i++) {
			if (fd_write_all(fx->peer, pieces[i],
			    strlen(pieces[i])) == -1)
				_exit(1);
			do {
				if (ioctl(fx->fd, FIONREAD, &queued) == -1 ||
				    clock_ms() > until)
					_exit(2);
				if (queued > 0)
					(void)poll(NULL, 0, 1);
			} while (queued > 0);
		}
		_exit(0);
	}
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "RCPT TO:<c@d.example>");
	assert_int_equal(flags, LINE_CRLF);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_pipelined_lines_stay_buffered(void **state)
{
	struct fx *fx = *state;
	const char *rest = "RCPT TO:<b@x.example>\r\nDATA\r\n";
	const char *p;
	unsigned flags;
	ssize_t n;

	send_str(fx, "MAIL FROM:<a@x.example>\r\n");
	send_str(fx, rest);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "MAIL FROM:<a@x.example>");
	assert_int_equal(line_buffered(&fx->l), strlen(rest));
	n = line_peek(&fx->l, &p, IO_NO_DEADLINE);
	assert_int_equal(n, strlen(rest));
	assert_memory_equal(p, rest, strlen(rest));
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "RCPT TO:<b@x.example>");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "DATA");
	assert_int_equal(line_buffered(&fx->l), 0);
}

static void
test_peek_and_consume_stream_raw_bytes(void **state)
{
	struct fx *fx = *state;
	const char *p;
	unsigned flags;

	send_str(fx, "hello\r\nworld");
	assert_int_equal(line_peek(&fx->l, &p, IO_NO_DEADLINE), 12);
	assert_memory_equal(p, "hello", 5);
	line_consume(&fx->l, 3);
	assert_int_equal(line_buffered(&fx->l), 9);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "lo");
	line_consume(&fx->l, 100);	/* more than buffered: all of it */
	assert_int_equal(line_buffered(&fx->l), 0);
	send_eof(fx);
	assert_int_equal(line_peek(&fx->l, &p, IO_NO_DEADLINE), 0);
}

static void
test_eof_mid_line_discards_the_partial_line(void **state)
{
	struct fx *fx = *state;
	unsigned flags;

	send_str(fx, "QUIT\r\nQUI");
	send_eof(fx);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_OK);
	assert_string_equal(fx->out.s, "QUIT");
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_EOF);
	assert_int_equal(fx->out.len, 0);
	assert_int_equal(get(fx, SMTP_LINE, &flags), LINE_EOF);
}

static void
test_silent_peer_times_out_at_the_deadline(void **state)
{
	struct fx *fx = *state;
	int64_t t0, dt;
	unsigned flags;

	send_str(fx, "HEL");	/* a partial line, then nothing */
	t0 = clock_ms();
	errno = 0;
	assert_int_equal(line_get(&fx->l, &fx->out, SMTP_LINE,
	    t0 + SHORT_DEADLINE, &flags), LINE_TIMEOUT);
	assert_int_equal(errno, ETIMEDOUT);
	dt = clock_ms() - t0;
	assert_true(dt >= SHORT_DEADLINE);
	assert_true(dt < SHORT_DEADLINE + SLACK);
}

static void
test_flood_without_lf_times_out_while_skipping(void **state)
{
	struct fx *fx = *state;
	size_t n = 4 * LINE_BUFSZ;
	int64_t t0, dt;
	unsigned flags;
	char *big;

	assert_non_null(big = malloc(n));
	memset(big, 'f', n);
	send_bytes(fx, big, n);
	free(big);
	t0 = clock_ms();
	assert_int_equal(line_get(&fx->l, &fx->out, SMTP_LINE,
	    t0 + SHORT_DEADLINE, &flags), LINE_TIMEOUT);
	dt = clock_ms() - t0;
	assert_true(dt >= SHORT_DEADLINE);
	assert_true(dt < SHORT_DEADLINE + SLACK);
}

static void
test_io_read_past_deadline_is_etimedout(void **state)
{
	struct fx *fx = *state;
	char c;

	errno = 0;
	assert_int_equal(io_read(&fx->io, &c, 1, clock_ms() - 1), -1);
	assert_int_equal(errno, ETIMEDOUT);
}

static void
test_io_write_to_closed_peer_is_epipe(void **state)
{
	struct fx *fx = *state;

	send_eof(fx);
	errno = 0;
	assert_int_equal(io_write_all(&fx->io, "250 OK\r\n", 8,
	    IO_NO_DEADLINE), -1);
	assert_int_equal(errno, EPIPE);
}

static void
test_io_write_to_peer_that_never_reads_times_out(void **state)
{
	struct fx *fx = *state;
	static char big[1024 * 1024];	/* more than any socket buffer */
	int64_t t0, dt;

	t0 = clock_ms();
	errno = 0;
	assert_int_equal(io_write_all(&fx->io, big, sizeof(big),
	    t0 + SHORT_DEADLINE), -1);
	assert_int_equal(errno, ETIMEDOUT);
	dt = clock_ms() - t0;
	assert_true(dt >= SHORT_DEADLINE);
	assert_true(dt < SHORT_DEADLINE + SLACK);
}

static void
test_out_holds_replies_until_flush(void **state)
{
	struct fx *fx = *state;
	struct out o;
	char buf[64];
	ssize_t n;

	out_init(&o, &fx->io);
	assert_int_equal(out_puts(&o, "250 a\r\n", IO_NO_DEADLINE), 0);
	assert_int_equal(out_put(&o, "250 b\r\n", 7, IO_NO_DEADLINE), 0);
	n = recv(fx->peer, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, -1);
	assert_int_equal(out_flush(&o, IO_NO_DEADLINE), 0);
	n = recv(fx->peer, buf, sizeof(buf), 0);
	assert_int_equal(n, 14);
	assert_memory_equal(buf, "250 a\r\n250 b\r\n", 14);
}

static void
test_out_flushes_when_full_and_keeps_order(void **state)
{
	struct fx *fx = *state;
	static char big[OUT_BUFSZ + 10], got[OUT_BUFSZ + 100];
	struct out o;
	size_t have = 0;
	ssize_t n;

	memset(big, 'b', sizeof(big));
	out_init(&o, &fx->io);
	assert_int_equal(out_puts(&o, "first", IO_NO_DEADLINE), 0);
	assert_int_equal(out_put(&o, big, sizeof(big), IO_NO_DEADLINE), 0);
	assert_int_equal(out_puts(&o, "last", IO_NO_DEADLINE), 0);
	assert_int_equal(out_flush(&o, IO_NO_DEADLINE), 0);
	assert_int_equal(shutdown(fx->fd, SHUT_WR), 0);
	while ((n = read(fx->peer, got + have, sizeof(got) - have)) > 0)
		have += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(have, 5 + sizeof(big) + 4);
	assert_memory_equal(got, "first", 5);
	assert_memory_equal(got + 5, big, sizeof(big));
	assert_memory_equal(got + 5 + sizeof(big), "last", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_crlf_line_is_read_without_its_crlf),
		T(test_bare_lf_line_has_no_crlf_flag),
		T(test_empty_lines_are_lines),
		T(test_bare_cr_inside_is_kept_and_flagged),
		T(test_nul_inside_is_kept_and_flagged),
		T(test_line_of_exactly_max_bytes_is_read),
		T(test_line_of_max_plus_one_is_too_long_and_next_is_fine),
		T(test_line_longer_than_out_capacity_is_too_long),
		T(test_line_many_buffers_long_is_skipped_and_next_is_fine),
		T(test_line_longer_than_buffer_is_read_when_max_allows),
		T(test_line_split_across_many_reads_is_whole),
		T(test_line_split_across_writes_is_whole),
		T(test_pipelined_lines_stay_buffered),
		T(test_peek_and_consume_stream_raw_bytes),
		T(test_eof_mid_line_discards_the_partial_line),
		T(test_silent_peer_times_out_at_the_deadline),
		T(test_flood_without_lf_times_out_while_skipping),
		T(test_io_read_past_deadline_is_etimedout),
		T(test_io_write_to_closed_peer_is_epipe),
		T(test_io_write_to_peer_that_never_reads_times_out),
		T(test_out_holds_replies_until_flush),
		T(test_out_flushes_when_full_and_keeps_order),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
