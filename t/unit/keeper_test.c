/* keeper_test.c — the questions to smtp-keeper (keeper.h) and its
 * answers (keepd.h): each form parsed, anything else refused; the
 * datagram over a real SOCK_SEQPACKET pair arrives with its one socket
 * and is refused with whatever it brought otherwise; and the keeper
 * answers an SRS address and a user from a configuration of the test's,
 * reading the secret and the users file itself. */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "keepd.h"
#include "keeper.h"
#include "srs.h"
#include "str.h"
#include "testutil.h"

static void
parses(const char *q, struct keeper_req *r)
{
	assert_int_equal(keeper_parse(q, strlen(q), r), 0);
}

static void
refused(const char *q, size_t len)
{
	struct keeper_req r;

	errno = 0;
	assert_int_equal(keeper_parse(q, len, &r), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(r.arg[0], '\0');
}

static void
test_each_question_parses(void **state)
{
	struct keeper_req r;

	(void)state;
	parses("srs 192.0.2.7 SRS0=abcd=XY=remote.example=grace@example.org",
	    &r);
	assert_int_equal(r.op, KEEPER_SRS);
	assert_string_equal(r.peer, "192.0.2.7");
	assert_string_equal(r.arg,
	    "SRS0=abcd=XY=remote.example=grace@example.org");
	/* An address takes the rest of the line, quoted spaces and all. */
	parses("srs - \"SRS0=abcd=XY=r.example=a b\"@example.org", &r);
	assert_string_equal(r.peer, "-");
	assert_string_equal(r.arg, "\"SRS0=abcd=XY=r.example=a b\"@example.org");
	parses("user example.org alice", &r);
	assert_int_equal(r.op, KEEPER_USER);
	assert_string_equal(r.arg, "example.org");
	assert_string_equal(r.name, "alice");
	parses("auth 2001:db8::5", &r);
	assert_int_equal(r.op, KEEPER_AUTH);
	assert_string_equal(r.arg, "2001:db8::5");
	/* UTF-8 addresses (SMTPUTF8) pass as their bytes. */
	parses("user example.org j\xc3\xbcrgen", &r);
	assert_string_equal(r.name, "j\xc3\xbcrgen");
}

static void
test_anything_else_is_refused(void **state)
{
	char big[KEEPER_REQ_MAX + 2];

	(void)state;
	refused("", 0);
	refused("srs", 3);
	refused("srs ", 4);
	/* A peer and no address: the old form without a peer. */
	refused("srs x@example.org", 17);
	refused("srs 192.0.2.7 ", 14);
	refused("SRS x@example.org", 17);
	refused("forget everything", 17);
	refused("user example.org", 16);
	refused("user example.org ", 17);
	refused("user  alice", 11);
	refused("auth", 4);
	refused("auth 192.0.2.1 extra", 20);
	refused("auth ", 5);
	/* No control byte, no NUL, no DEL, no line end. */
	refused("srs - a@b\nuser b c", 19);
	refused("srs - a\0@example.org", 20);
	refused("srs - a\x7f@example.org", 20);
	refused("user example.org alice\r", 23);
	/* A peer longer than an address, a question longer than the limit. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "auth ", 5);
	refused(big, 5 + KEEPER_PEER_MAX + 1);
	memcpy(big, "srs - ", 6);
	refused(big, KEEPER_REQ_MAX + 1);
}

/* The shared socket and an asker's pair. */
struct fx {
	int	k[2];		/* [0] the sessions', [1] the keeper's */
	int	a[2];		/* [0] the asker's, [1] sent along */
	char	dir[PATH_MAX];
	struct keepd kd;
};

static int
setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fx.k) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fx.a) == -1 ||
	    tu_tmpdir(fx.dir, sizeof(fx.dir), "keeper_test") == -1)
		return -1;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	(void)close(fx->k[0]);
	(void)close(fx->k[1]);
	(void)close(fx->a[0]);
	(void)close(fx->a[1]);
	return tu_rmtree(fx->dir);
}

static void
test_a_question_arrives_with_its_socket(void **state)
{
	struct fx *fx = *state;
	char buf[KEEPER_REQ_MAX + 2], why[128];
	size_t len;
	int fd;

	assert_int_equal(keeper_send(fx->k[0], fx->a[1], "user a.example b"),
	    0);
	assert_int_equal(keeper_recv(fx->k[1], &fd, buf, sizeof(buf), &len,
	    why, sizeof(why)), KEEPER_GOT);
	assert_int_equal(len, 16);
	assert_string_equal(buf, "user a.example b");
	assert_true(fd > 2);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* It is the asker's socket: what goes in comes out at the asker. */
	assert_int_equal(write(fd, "yes\n", 4), 4);
	assert_int_equal(read(fx->a[0], buf, sizeof(buf)), 4);
	(void)close(fd);
}

static void
test_no_socket_or_a_datagram_socket_is_refused(void **state)
{
	struct fx *fx = *state;
	char buf[KEEPER_REQ_MAX + 2], why[128];
	int d[2], fd;
	size_t len;

	assert_int_equal(send(fx->k[0], "user a.example b", 16, 0), 16);
	assert_int_equal(keeper_recv(fx->k[1], &fd, buf, sizeof(buf), &len,
	    why, sizeof(why)), KEEPER_BAD);
	assert_int_equal(fd, -1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, d), 0);
	assert_int_equal(keeper_send(fx->k[0], d[1], "user a.example b"), 0);
	assert_int_equal(keeper_recv(fx->k[1], &fd, buf, sizeof(buf), &len,
	    why, sizeof(why)), KEEPER_BAD);
	assert_int_equal(fd, -1);
	(void)close(d[0]);
	(void)close(d[1]);
	/* The end is not an empty datagram. */
	(void)close(fx->k[0]);
	fx->k[0] = -1;
	assert_int_equal(keeper_recv(fx->k[1], &fd, buf, sizeof(buf), &len,
	    why, sizeof(why)), KEEPER_EOF);
}

/* A configuration of example.org with alice and the SRS secret. */
static void
configure(struct fx *fx)
{
	char path[PATH_MAX + 32], err[1024];

	(void)snprintf(path, sizeof(path), "%s/posthorn.conf", fx->dir);
	tu_write_str(path, "hostname = mx.example.org\n");
	(void)snprintf(path, sizeof(path), "%s/srs.secret", fx->dir);
	tu_write_secret(path, "keeper test secret\n");
	tu_mkdomain(fx->dir, "example.org");
	tu_put_domain(fx->dir, "example.org", "users", "alice:!\n");
	assert_int_equal(keepd_init(&fx->kd, fx->dir, err, sizeof(err)), 0);
}

/* The keeper's answer to q, as the asker reads it. */
static void
ask(struct fx *fx, const char *q, char *answer, size_t size)
{
	struct keeper_req r;
	ssize_t n;

	assert_int_equal(keeper_parse(q, strlen(q), &r), 0);
	keepd_serve(&fx->kd, &r, fx->a[1]);	/* taken: closed */
	fx->a[1] = -1;
	n = read(fx->a[0], answer, size - 1);
	assert_true(n > 0);
	answer[n] = '\0';
	(void)close(fx->a[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    fx->a), 0);
}

static void
test_the_keeper_checks_srs_and_users_itself(void **state)
{
	struct fx *fx = *state;
	char addr[ADDR_TEXT_MAX], q[KEEPER_REQ_MAX], a[KEEPER_ANSWER_MAX];
	char why[256], *at;
	struct srs srs;

	configure(fx);
	assert_int_equal(srs_load(&srs, &fx->kd.w.conf, why, sizeof(why)), 0);
	assert_int_equal(srs_forward(&srs, "grace@remote.example",
	    "example.org", time(NULL), addr, sizeof(addr)), 0);
	(void)snprintf(q, sizeof(q), "srs 192.0.2.1 %s", addr);
	ask(fx, q, a, sizeof(a));
	assert_string_equal(a, "ok grace@remote.example\n");
	/* Another local part under the same hash: forged. */
	at = strstr(addr, "=grace@");
	assert_non_null(at);
	memcpy(at, "=mall0@", 7);
	(void)snprintf(q, sizeof(q), "srs 192.0.2.1 %s", addr);
	ask(fx, q, a, sizeof(a));
	assert_memory_equal(a, "no ", 3);
	assert_non_null(strstr(a, "bad hash"));
	ask(fx, "srs - SRS0=abcd=XY=r.example=x@elsewhere.example", a,
	    sizeof(a));
	assert_memory_equal(a, "no ", 3);
	ask(fx, "user example.org alice", a, sizeof(a));
	assert_string_equal(a, "yes\n");
	ask(fx, "user example.org ALICE", a, sizeof(a));
	assert_string_equal(a, "yes\n");
	ask(fx, "user example.org bob", a, sizeof(a));
	assert_string_equal(a, "no\n");
	/* A domain that could name another directory has no users. */
	ask(fx, "user ../etc alice", a, sizeof(a));
	assert_string_equal(a, "no\n");
}

/* Failed SRS recipients counted per client (srsfail.h): past the limit
 * a source is answered "limit" without a check, even for a good
 * address, and another source is not. */
static void
test_a_source_that_failed_too_often_is_refused_unchecked(void **state)
{
	struct fx *fx = *state;
	char good[ADDR_TEXT_MAX], bad[ADDR_TEXT_MAX], q[KEEPER_REQ_MAX];
	char a[KEEPER_ANSWER_MAX], why[256], *at;
	struct srs srs;
	unsigned i;

	configure(fx);
	assert_int_equal(srs_load(&srs, &fx->kd.w.conf, why, sizeof(why)), 0);
	assert_int_equal(srs_forward(&srs, "grace@remote.example",
	    "example.org", time(NULL), good, sizeof(good)), 0);
	(void)str_copy(bad, sizeof(bad), good);
	at = strstr(bad, "=grace@");
	assert_non_null(at);
	memcpy(at, "=mall0@", 7);
	for (i = 0; i < SRSFAIL_MAX; i++) {
		(void)snprintf(q, sizeof(q), "srs 2001:db8::%x %s", i + 1, bad);
		ask(fx, q, a, sizeof(a));
		assert_memory_equal(a, "no ", 3);
	}
	(void)snprintf(q, sizeof(q), "srs 2001:db8::ffff %s", good);
	ask(fx, q, a, sizeof(a));
	assert_memory_equal(a, "limit ", 6);
	(void)snprintf(q, sizeof(q), "srs 192.0.2.1 %s", good);
	ask(fx, q, a, sizeof(a));
	assert_string_equal(a, "ok grace@remote.example\n");
	/* An unknown peer is not one source for all. */
	for (i = 0; i < SRSFAIL_MAX + 1; i++) {
		(void)snprintf(q, sizeof(q), "srs - %s", bad);
		ask(fx, q, a, sizeof(a));
		assert_memory_equal(a, "no ", 3);
	}
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_question_parses),
		cmocka_unit_test(test_anything_else_is_refused),
		T(test_a_question_arrives_with_its_socket),
		T(test_no_socket_or_a_datagram_socket_is_refused),
		T(test_the_keeper_checks_srs_and_users_itself),
		T(test_a_source_that_failed_too_often_is_refused_unchecked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
