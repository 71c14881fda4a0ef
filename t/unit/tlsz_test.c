/* tlsz_test.c — the zygote's request (tlsz.h): the payload's one form
 * both ways, and the datagram over a real SOCK_SEQPACKET pair: a request
 * arrives with its two descriptors, anything else is refused with every
 * descriptor it brought closed, and the end of the socket is told from an
 * empty datagram. */

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
#include "tlsz.h"
#include "testutil.h"

struct fx {
	int	z[2];		/* the zygote's pair: [0] sessions, [1] zygote */
	int	net[2];		/* stands for the connection */
	int	ctl[2];		/* smtp-in's pair to smtp-tlsd */
};

static int
setup(void **state)
{
	static struct fx fx;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fx.z) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.net) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.ctl) == -1)
		return -1;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	int *all[] = { fx->z, fx->net, fx->ctl };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (all[i][0] != -1)
			(void)close(all[i][0]);
		if (all[i][1] != -1)
			(void)close(all[i][1]);
	}
	return 0;
}

/* Send payload[len] with the descriptors fds[nfds], unchecked. */
static void
send_raw(int sock, const void *payload, size_t len, const int *fds,
    size_t nfds)
{
	assert_int_equal(fdpass_send(sock, payload, len, fds, nfds), 0);
}

static void
test_payload_round_trips_an_ipv6_address(void **state)
{
	unsigned char buf[TLSZ_REQ_SIZE];
	char peer[TLSZ_PEER_MAX];

	(void)state;
	assert_int_equal(tlsz_encode("2001:db8::5", buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], TLSZ_VERSION);
	assert_int_equal(tlsz_decode(buf, sizeof(buf), peer, sizeof(peer)), 0);
	assert_string_equal(peer, "2001:db8::5");
	assert_int_equal(tlsz_encode("", buf, sizeof(buf)), 0);
	assert_int_equal(tlsz_decode(buf, sizeof(buf), peer, sizeof(peer)), 0);
	assert_string_equal(peer, "");
}

static void
test_encode_refuses_blanks_controls_and_long_peers(void **state)
{
	unsigned char buf[TLSZ_REQ_SIZE];
	char longpeer[TLSZ_PEER_MAX + 1];

	(void)state;
	memset(longpeer, '1', TLSZ_PEER_MAX);
	longpeer[TLSZ_PEER_MAX] = '\0';
	errno = 0;
	assert_int_equal(tlsz_encode("192.0.2.1 x", buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tlsz_encode("192.0.2.1\n", buf, sizeof(buf)), -1);
	assert_int_equal(tlsz_encode(longpeer, buf, sizeof(buf)), -1);
	longpeer[TLSZ_PEER_MAX - 1] = '\0';	/* the longest that fits */
	assert_int_equal(tlsz_encode(longpeer, buf, sizeof(buf)), 0);
	assert_int_equal(tlsz_encode("192.0.2.1", buf, sizeof(buf) - 1), -1);
}

static void
test_decode_takes_one_form_only(void **state)
{
	unsigned char buf[TLSZ_REQ_SIZE + 1], bad[TLSZ_REQ_SIZE + 1];
	char peer[TLSZ_PEER_MAX];

	(void)state;
	assert_int_equal(tlsz_encode("192.0.2.7", buf, sizeof(buf)), 0);
	/* Short, long. */
	assert_int_equal(tlsz_decode(buf, TLSZ_REQ_SIZE - 1, peer,
	    sizeof(peer)), -1);
	buf[TLSZ_REQ_SIZE] = 0;
	assert_int_equal(tlsz_decode(buf, TLSZ_REQ_SIZE + 1, peer,
	    sizeof(peer)), -1);
	/* Another version. */
	memcpy(bad, buf, sizeof(bad));
	bad[0] = TLSZ_VERSION + 1;
	assert_int_equal(tlsz_decode(bad, TLSZ_REQ_SIZE, peer, sizeof(peer)),
	    -1);
	/* Bytes after the NUL. */
	memcpy(bad, buf, sizeof(bad));
	bad[TLSZ_REQ_SIZE - 1] = 'x';
	assert_int_equal(tlsz_decode(bad, TLSZ_REQ_SIZE, peer, sizeof(peer)),
	    -1);
	/* No NUL at all. */
	memset(bad + 1, '1', TLSZ_PEER_MAX);
	bad[0] = TLSZ_VERSION;
	assert_int_equal(tlsz_decode(bad, TLSZ_REQ_SIZE, peer, sizeof(peer)),
	    -1);
	/* A control byte in the address. */
	memcpy(bad, buf, sizeof(bad));
	bad[3] = '\r';
	assert_int_equal(tlsz_decode(bad, TLSZ_REQ_SIZE, peer, sizeof(peer)),
	    -1);
	/* A buffer too small for any peer. */
	assert_int_equal(tlsz_decode(buf, TLSZ_REQ_SIZE, peer,
	    TLSZ_PEER_MAX - 1), -1);
	assert_int_equal(tlsz_decode(buf, TLSZ_REQ_SIZE, peer, sizeof(peer)),
	    0);
}

static void
test_request_arrives_with_both_descriptors_close_on_exec(void **state)
{
	struct fx *fx = *state;
	char peer[TLSZ_PEER_MAX], why[128], byte = 0;
	int net, ctl;

	assert_int_equal(tlsz_send(fx->z[0], fx->net[0], fx->ctl[1],
	    "198.51.100.9"), 0);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_GOT);
	assert_string_equal(peer, "198.51.100.9");
	assert_true(fcntl(net, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(ctl, F_GETFD) & FD_CLOEXEC);
	/* The same sockets, in that order: what goes in comes out. */
	assert_int_equal(write(net, "n", 1), 1);
	assert_int_equal(read(fx->net[1], &byte, 1), 1);
	assert_int_equal(byte, 'n');
	assert_int_equal(write(ctl, "c", 1), 1);
	assert_int_equal(read(fx->ctl[0], &byte, 1), 1);
	assert_int_equal(byte, 'c');
	(void)close(net);
	(void)close(ctl);
}

static void
test_wrong_descriptor_counts_are_refused_and_closed(void **state)
{
	struct fx *fx = *state;
	unsigned char payload[TLSZ_REQ_SIZE];
	char peer[TLSZ_PEER_MAX], why[128];
	int three[3], net, ctl, before;

	assert_int_equal(tlsz_encode("192.0.2.1", payload, sizeof(payload)),
	    0);
	three[0] = fx->net[0];
	three[1] = fx->ctl[1];
	three[2] = fx->net[1];
	before = tu_open_fds();
	send_raw(fx->z[0], payload, sizeof(payload), three, 1);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_BAD);
	assert_non_null(strstr(why, "1 descriptors"));
	assert_int_equal(net, -1);
	assert_int_equal(tu_open_fds(), before);
	send_raw(fx->z[0], payload, sizeof(payload), three, 3);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_BAD);
	assert_int_equal(tu_open_fds(), before);
	send_raw(fx->z[0], payload, sizeof(payload), NULL, 0);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_BAD);
	assert_int_equal(tu_open_fds(), before);
}

static void
test_bad_payload_and_non_sockets_are_refused_and_closed(void **state)
{
	struct fx *fx = *state;
	char peer[TLSZ_PEER_MAX], why[128];
	int two[2], p[2], net, ctl, before;

	two[0] = fx->net[0];
	two[1] = fx->ctl[1];
	before = tu_open_fds();
	send_raw(fx->z[0], "GET / HTTP/1.0\r\n", 16, two, 2);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_BAD);
	assert_non_null(strstr(why, "malformed"));
	assert_int_equal(tu_open_fds(), before);
	/* A pipe where the connection should be. */
	assert_int_equal(pipe(p), 0);
	before = tu_open_fds();
	assert_int_equal(tlsz_send(fx->z[0], p[0], fx->ctl[1], "192.0.2.1"),
	    0);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_BAD);
	assert_non_null(strstr(why, "not a stream socket"));
	assert_int_equal(tu_open_fds(), before);
	(void)close(p[0]);
	(void)close(p[1]);
}

static void
test_empty_datagram_is_not_the_end_but_a_close_is(void **state)
{
	struct fx *fx = *state;
	char peer[TLSZ_PEER_MAX], why[128];
	int net, ctl;

	send_raw(fx->z[0], "", 0, NULL, 0);
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_BAD);
	(void)close(fx->z[0]);
	fx->z[0] = -1;
	assert_int_equal(tlsz_recv(fx->z[1], &net, &ctl, peer, sizeof(peer),
	    why, sizeof(why)), TLSZ_EOF);
}

static void
test_send_to_a_closed_zygote_fails_at_once(void **state)
{
	struct fx *fx = *state;

	(void)close(fx->z[1]);
	fx->z[1] = -1;
	errno = 0;
	assert_int_equal(tlsz_send(fx->z[0], fx->net[0], fx->ctl[1],
	    "192.0.2.1"), -1);
	assert_true(errno == EPIPE || errno == ECONNREFUSED ||
	    errno == ECONNRESET);
	errno = 0;
	assert_int_equal(tlsz_send(fx->net[0], fx->net[0], fx->ctl[1],
	    "192.0.2.1 x"), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_send_to_a_full_zygote_does_not_block(void **state)
{
	struct fx *fx = *state;
	int i, rc = 0;

	/* Nobody reads: the queue fills, and then the send says EAGAIN
	 * instead of waiting. */
	for (i = 0; i < 100000 && rc == 0; i++)
		rc = tlsz_send(fx->z[0], fx->net[0], fx->ctl[1], "192.0.2.1");
	assert_int_equal(rc, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_round_trips_an_ipv6_address),
		cmocka_unit_test(test_encode_refuses_blanks_controls_and_long_peers),
		cmocka_unit_test(test_decode_takes_one_form_only),
		T(test_request_arrives_with_both_descriptors_close_on_exec),
		T(test_wrong_descriptor_counts_are_refused_and_closed),
		T(test_bad_payload_and_non_sockets_are_refused_and_closed),
		T(test_empty_datagram_is_not_the_end_but_a_close_is),
		T(test_send_to_a_closed_zygote_fails_at_once),
		T(test_send_to_a_full_zygote_does_not_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
