/* fdpass_test.c — a datagram with descriptors (fdpass.h) over a real
 * SOCK_SEQPACKET pair: descriptors arrive close-on-exec, too many are
 * refused as cut and none leaks, a cut payload is told, the end of the
 * socket is told from an empty datagram, and neither side blocks where
 * its callers rely on it not to. */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdpass.h"
#include "testutil.h"

static void
seqpacket(int sp[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
}

static void
test_descriptors_arrive_close_on_exec(void **state)
{
	int sp[2], st[2], fds[FDPASS_MAX], send[2], trunc;
	char buf[16];
	size_t nfds;

	(void)state;
	seqpacket(sp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
	send[0] = st[0];
	send[1] = st[1];
	assert_int_equal(fdpass_send(sp[0], "hello", 5, send, 2), 0);
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(nfds, 2);
	assert_int_equal(trunc, 0);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
	assert_true(fdpass_stream(fds[0]));
	assert_true(fdpass_stream(fds[1]));
	assert_false(fdpass_stream(sp[0]));	/* a socket, not a stream */
	fdpass_close(fds, nfds);

	/* Without descriptors: none. */
	assert_int_equal(fdpass_send(sp[0], "x", 1, NULL, 0), 0);
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), 1);
	assert_int_equal(nfds, 0);
	assert_int_equal(trunc, 0);

	(void)close(st[0]);
	(void)close(st[1]);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

static void
test_send_refuses_more_than_max(void **state)
{
	int sp[2], fds[FDPASS_MAX + 1], i;

	(void)state;
	seqpacket(sp);
	for (i = 0; i < FDPASS_MAX + 1; i++)
		fds[i] = sp[0];
	errno = 0;
	assert_int_equal(fdpass_send(sp[0], "x", 1, fds, FDPASS_MAX + 1), -1);
	assert_int_equal(errno, EINVAL);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/* More descriptors than FDPASS_MAX, sent raw: those that fit come and
 * the datagram is marked cut; the rest are closed, none leaks. */
static void
test_too_many_descriptors_are_cut_and_none_leaks(void **state)
{
	enum { MANY = FDPASS_MAX + 4 };
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * MANY)];
	} cm;
	int sp[2], many[MANY], fds[FDPASS_MAX], before, trunc, i;
	struct iovec iov = { (void *)"x", 1 };
	struct msghdr m;
	struct cmsghdr *c;
	char buf[4];
	size_t nfds;

	(void)state;
	seqpacket(sp);
	for (i = 0; i < MANY; i++)
		many[i] = sp[0];
	memset(&cm, 0, sizeof(cm));
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(many));
	memcpy(CMSG_DATA(c), many, sizeof(many));
	assert_int_equal(sendmsg(sp[0], &m, 0), 1);

	before = tu_open_fds();
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), 1);
	assert_int_equal(trunc, 1);
	assert_true(nfds <= FDPASS_MAX);
	assert_int_equal(tu_open_fds(), before + (int)nfds);
	fdpass_close(fds, nfds);
	assert_int_equal(tu_open_fds(), before);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

static void
test_a_longer_payload_is_cut(void **state)
{
	int sp[2], st[2], fds[FDPASS_MAX], trunc;
	char buf[4];
	size_t nfds;

	(void)state;
	seqpacket(sp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
	assert_int_equal(fdpass_send(sp[0], "0123456789", 10, st, 1), 0);
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), 4);
	assert_int_equal(trunc, 1);
	assert_int_equal(nfds, 1);	/* still handed over, to be closed */
	fdpass_close(fds, nfds);
	(void)close(st[0]);
	(void)close(st[1]);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

static void
test_empty_datagram_is_not_the_end_but_a_close_is(void **state)
{
	int sp[2], fds[FDPASS_MAX], trunc;
	char buf[4];
	size_t nfds;

	(void)state;
	seqpacket(sp);
	assert_int_equal(fdpass_send(sp[0], "", 0, NULL, 0), 0);
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), 0);
	assert_int_equal(nfds, 0);
	assert_false(fdpass_hung_up(sp[1]));
	(void)close(sp[0]);
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), 0);
	assert_int_equal(nfds, 0);
	assert_true(fdpass_hung_up(sp[1]));
	(void)close(sp[1]);
}

/* Neither side blocks on a non-blocking socket, nor does the sender on a
 * full one: EAGAIN, and no descriptor. */
static void
test_neither_side_blocks(void **state)
{
	int sp[2], fds[FDPASS_MAX], trunc, rc = 0, i;
	char buf[4];
	size_t nfds = 99;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK,
	    0, sp), 0);
	errno = 0;
	assert_int_equal(fdpass_recv(sp[1], buf, sizeof(buf), fds, &nfds,
	    &trunc), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(nfds, 0);
	(void)close(sp[0]);
	(void)close(sp[1]);

	seqpacket(sp);	/* blocking: fdpass_send must not block anyway */
	for (i = 0; i < 100000 && rc == 0; i++)
		rc = fdpass_send(sp[0], "x", 1, &sp[0], 1);
	assert_int_equal(rc, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/* To a peer that has gone: at once, and no SIGPIPE. */
static void
test_send_to_a_closed_peer_fails_at_once(void **state)
{
	int sp[2];

	(void)state;
	seqpacket(sp);
	(void)close(sp[1]);
	errno = 0;
	assert_int_equal(fdpass_send(sp[0], "x", 1, &sp[0], 1), -1);
	assert_int_equal(errno, EPIPE);
	(void)close(sp[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptors_arrive_close_on_exec),
		cmocka_unit_test(test_send_refuses_more_than_max),
		cmocka_unit_test(test_too_many_descriptors_are_cut_and_none_leaks),
		cmocka_unit_test(test_a_longer_payload_is_cut),
		cmocka_unit_test(test_empty_datagram_is_not_the_end_but_a_close_is),
		cmocka_unit_test(test_neither_side_blocks),
		cmocka_unit_test(test_send_to_a_closed_peer_fails_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
