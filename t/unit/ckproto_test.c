/* ckproto_test.c — the checker's requests and answers (ckproto.h): both
 * texts round-trip, every other form is refused, and the datagram over a
 * real SOCK_SEQPACKET pair brings its descriptors, or, cut short or with
 * too many, brings none and leaks none; the temperror answer reads as an
 * Authentication-Results value. */

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

#include "ckproto.h"
#include "fdpass.h"
#include "testutil.h"

static void
fill_request(struct ckp_request *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = CKP_MSG;
	strcpy(r->authserv, "mx.example.net");
	strcpy(r->id, "1NG8CNB2Q7700CJZ");
	strcpy(r->ip, "2001:db8::5");
	strcpy(r->helo, "client.example");
	strcpy(r->sender, "");		/* the null sender */
	strcpy(r->spf, "pass");
}

static void
test_request_and_answer_round_trip(void **state)
{
	struct ckp_request r, back;
	struct ckp_answer a, aback;
	char buf[CKP_DGRAM_MAX];
	size_t len;

	(void)state;
	fill_request(&r);
	assert_int_equal(ckp_request_encode(&r, buf, sizeof(buf), &len), 0);
	assert_int_equal(ckp_request_decode(buf, len, &back), 0);
	assert_int_equal(back.kind, CKP_MSG);
	assert_string_equal(back.authserv, r.authserv);
	assert_string_equal(back.id, r.id);
	assert_string_equal(back.ip, r.ip);
	assert_string_equal(back.helo, r.helo);
	assert_string_equal(back.sender, "");
	assert_string_equal(back.spf, "pass");

	memset(&a, 0, sizeof(a));
	a.kind = CKP_SPF;
	strcpy(a.spf, "fail");
	strcpy(a.spf_exp, "see https://example.org/why");
	strcpy(a.policy, "none");
	strcpy(a.disposition, "none");
	assert_int_equal(ckp_answer_encode(&a, buf, sizeof(buf), &len), 0);
	assert_int_equal(ckp_answer_decode(buf, len, &aback), 0);
	assert_int_equal(aback.kind, CKP_SPF);
	assert_string_equal(aback.spf, "fail");
	assert_string_equal(aback.spf_exp, a.spf_exp);
	assert_string_equal(aback.dkim, "");
	assert_string_equal(aback.authres, "");
}

static void
test_values_that_break_a_line_are_refused(void **state)
{
	struct ckp_request r;
	char buf[CKP_DGRAM_MAX];
	size_t len;

	(void)state;
	fill_request(&r);
	strcpy(r.helo, "a\nb");
	errno = 0;
	assert_int_equal(ckp_request_encode(&r, buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, EINVAL);
	fill_request(&r);
	strcpy(r.sender, "a\rb@example.org");
	assert_int_equal(ckp_request_encode(&r, buf, sizeof(buf), &len), -1);
	fill_request(&r);
	assert_int_equal(ckp_request_encode(&r, buf, 20, &len), -1);
	assert_int_equal(errno, ENOBUFS);
}

static void
test_other_forms_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"posthorn-check 1 msg",
		/* a line short */
		"posthorn-check 1 msg\nmx\nid\n192.0.2.1\nhelo\nsender",
		/* a line too many */
		"posthorn-check 1 msg\nmx\nid\n192.0.2.1\nhelo\nsender\npass\n",
		"posthorn-check 2 msg\nmx\nid\n192.0.2.1\nhelo\nsender\npass",
		"posthorn-check 1 dkim\nmx\nid\n192.0.2.1\nhelo\nsender\npass",
		"posthorn-check 1 msg\nmx\nid\n192.0.2.1\nhelo\ns\r\npass",
		/* a word too long */
		"posthorn-check 1 msg\nmx\nid\n192.0.2.1\nhelo\nsender\n"
		    "passpasspasspasspass",
	};
	const char good[] =
	    "posthorn-check 1 spf\nmx\n\n192.0.2.1\nhelo\n\n";
	struct ckp_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(ckp_request_decode(bad[i], strlen(bad[i]),
		    &r), -1);
		assert_int_equal(errno, EINVAL);
	}
	/* A NUL inside is not text. */
	assert_int_equal(ckp_request_decode(good, sizeof(good), &r), -1);
	assert_int_equal(ckp_request_decode(good, sizeof(good) - 1, &r), 0);
	assert_int_equal(r.kind, CKP_SPF);
	assert_string_equal(r.sender, "");
}

static void
test_datagram_brings_its_descriptors(void **state)
{
	int sp[2], reply[2], fds[CKP_NFDS_MAX], three[3];
	char buf[64];
	size_t nfds;
	ssize_t n;
	int before;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
	    0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
	    0, reply), 0);
	fds[0] = reply[1];
	fds[1] = reply[1];
	assert_int_equal(ckp_send(sp[0], "hello", 5, fds, 2), 0);
	n = ckp_recv(sp[1], buf, sizeof(buf), fds, &nfds);
	assert_int_equal(n, 5);
	assert_int_equal(nfds, 2);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	(void)close(fds[0]);
	(void)close(fds[1]);

	/* Too many descriptors: none kept, none leaked. */
	before = tu_open_fds();
	three[0] = three[1] = three[2] = reply[1];
	assert_int_equal(fdpass_send(sp[0], "x", 1, three, 3), 0);
	errno = 0;
	assert_int_equal(ckp_recv(sp[1], buf, sizeof(buf), fds, &nfds), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(nfds, 0);
	assert_int_equal(tu_open_fds(), before);

	/* Longer than the buffer: cut, refused. */
	assert_int_equal(ckp_send(sp[0], "0123456789", 10, NULL, 0), 0);
	assert_int_equal(ckp_recv(sp[1], buf, 4, fds, &nfds), -1);
	assert_int_equal(errno, EMSGSIZE);

	/* An empty datagram is not the end; the end is. */
	assert_int_equal(send(sp[0], "", 0, 0), 0);
	assert_int_equal(ckp_recv(sp[1], buf, sizeof(buf), fds, &nfds), -1);
	assert_int_equal(errno, EMSGSIZE);
	(void)close(sp[0]);
	assert_int_equal(ckp_recv(sp[1], buf, sizeof(buf), fds, &nfds), 0);
	(void)close(sp[1]);
	(void)close(reply[0]);
	(void)close(reply[1]);
}

static void
test_temperror_is_a_field_value(void **state)
{
	struct ckp_request r;
	struct ckp_answer a;

	(void)state;
	fill_request(&r);
	ckp_temperror(&r, "", "checker timeout", &a);
	assert_int_equal(a.kind, CKP_MSG);
	assert_string_equal(a.spf, "temperror");
	assert_string_equal(a.dkim, "temperror");
	assert_string_equal(a.dmarc, "temperror");
	assert_string_equal(a.disposition, "none");
	assert_string_equal(a.authres, "mx.example.net; spf=temperror "
	    "(checker timeout); dkim=temperror; dmarc=temperror");
	/* The SPF word known from MAIL FROM is kept. */
	ckp_temperror(&r, "pass", "checker busy", &a);
	assert_string_equal(a.spf, "pass");
	assert_non_null(strstr(a.authres, "; spf=pass (checker busy);"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_and_answer_round_trip),
		cmocka_unit_test(test_values_that_break_a_line_are_refused),
		cmocka_unit_test(test_other_forms_are_refused),
		cmocka_unit_test(test_datagram_brings_its_descriptors),
		cmocka_unit_test(test_temperror_is_a_field_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
