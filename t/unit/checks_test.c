/* checks_test.c — smtp-in's side of the checker (smtp-in/checks.c)
 * against a stand-in on a real SOCK_SEQPACKET pair: the answer to a
 * message that came with its descriptor; a checker that never answers
 * costs the deadline and no more; one that dies under a request, or is
 * gone before it, costs nothing; the early SPF answer rides along. */

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../smtp-in/checks.h"
#include "io.h"

struct fx {
	int	sp[2];		/* [0] the sessions' end, [1] the checker's */
	int	msg;		/* a file standing for the queue file */
};

static int
setup(void **state)
{
	static struct fx fx;
	char path[] = "/tmp/checks_test.XXXXXX";

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fx.sp) == -1 ||
	    (fx.msg = mkstemp(path)) == -1)
		return -1;
	(void)unlink(path);
	if (write(fx.msg, "Subject: hi\n\nbody\n", 18) != 18 ||
	    lseek(fx.msg, 0, SEEK_SET) == -1)
		return -1;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->sp[0] != -1)
		(void)close(fx->sp[0]);
	if (fx->sp[1] != -1)
		(void)close(fx->sp[1]);
	(void)close(fx->msg);
	return 0;
}

static void
request(struct ckp_request *r, enum ckp_kind k)
{
	memset(r, 0, sizeof(*r));
	r->kind = k;
	strcpy(r->authserv, "mx.example.net");
	strcpy(r->id, k == CKP_MSG ? "1NG8CNB2Q7700CJZ" : "");
	strcpy(r->ip, "192.0.2.7");
	strcpy(r->helo, "client.example");
	strcpy(r->sender, "bob@remote.example");
}

/* The stand-in: take one request; with answer, check it and answer
 * (the message's first line must be what the test wrote), else exit
 * without a word (a checker killed under it). */
static pid_t
checker(int sock, int answer, const char *want_spf)
{
	pid_t pid = fork();
	char buf[CKP_DGRAM_MAX], line[16];
	struct ckp_request r;
	struct ckp_answer a;
	int fds[CKP_NFDS_MAX];
	size_t nfds, len;
	ssize_t n;

	if (pid != 0)
		return pid;
	n = ckp_recv(sock, buf, sizeof(buf), fds, &nfds);
	if (n <= 0 || ckp_request_decode(buf, (size_t)n, &r) == -1)
		_exit(2);
	if (!answer)
		_exit(0);
	if (r.kind == CKP_MSG && (nfds != 2 || read(fds[1], line, 11) != 11 ||
	    memcmp(line, "Subject: hi", 11) != 0))
		_exit(3);
	if (strcmp(r.spf, want_spf) != 0)
		_exit(4);
	memset(&a, 0, sizeof(a));
	a.kind = r.kind;
	strcpy(a.spf, "pass");
	if (r.kind == CKP_MSG) {
		strcpy(a.dkim, "none");
		strcpy(a.dmarc, "fail");
		strcpy(a.policy, "reject");
		strcpy(a.disposition, "reject");
		strcpy(a.authres, "mx.example.net; spf=pass; dkim=none; "
		    "dmarc=fail");
	}
	if (ckp_answer_encode(&a, buf, sizeof(buf), &len) == -1 ||
	    ckp_send(fds[0], buf, len, NULL, 0) == -1)
		_exit(5);
	_exit(0);
}

static void
reaped(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_the_answer_to_a_message_with_the_early_spf(void **state)
{
	struct fx *fx = *state;
	struct ckp_request r;
	struct ckp_answer a;
	struct checks c;
	pid_t pid;

	checks_init(&c, fx->sp[0]);
	request(&r, CKP_SPF);
	pid = checker(fx->sp[1], 1, "");
	assert_int_equal(checks_spf_ask(&c, &r), 0);
	assert_int_equal(checks_spf_wait(&c, clock_ms() + 5000), 1);
	assert_string_equal(c.spf, "pass");
	reaped(pid);
	/* The message's request says SPF's answer. */
	request(&r, CKP_MSG);
	pid = checker(fx->sp[1], 1, "pass");
	assert_int_equal(checks_message(&c, &r, fx->msg, clock_ms() + 5000,
	    &a), 1);
	reaped(pid);
	assert_string_equal(a.dmarc, "fail");
	assert_string_equal(a.disposition, "reject");
	assert_string_equal(a.authres,
	    "mx.example.net; spf=pass; dkim=none; dmarc=fail");
	checks_reset(&c);
	assert_int_equal(c.spf_fd, -1);
	/* The next transaction of the session from the same sender takes
	 * the answer without a request; another sender asks. */
	request(&r, CKP_SPF);
	assert_int_equal(checks_spf_ask(&c, &r), 0);
	assert_int_equal(checks_spf_wait(&c, 0), 1);
	assert_string_equal(c.spf, "pass");
	assert_int_equal(recv(fx->sp[1], &a, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	strcpy(r.sender, "other@remote.example");
	assert_int_equal(checks_spf_ask(&c, &r), 0);
	assert_int_equal(checks_spf_wait(&c, 0), 0);
	assert_true(recv(fx->sp[1], &a, sizeof(a), MSG_DONTWAIT) > 0);
}

static void
test_a_silent_checker_costs_the_deadline_and_no_more(void **state)
{
	struct fx *fx = *state;
	struct ckp_request r;
	struct ckp_answer a;
	struct checks c;
	int64_t t0, spent;

	checks_init(&c, fx->sp[0]);
	request(&r, CKP_MSG);
	t0 = clock_ms();
	/* Nobody reads the checker's end: the request waits in it. */
	assert_int_equal(checks_message(&c, &r, fx->msg, t0 + 200, &a), 0);
	spent = clock_ms() - t0;
	assert_true(spent >= 190 && spent < 2000);
	assert_string_equal(a.spf, "temperror");
	assert_string_equal(a.dmarc, "temperror");
	assert_string_equal(a.authres, "mx.example.net; spf=temperror "
	    "(checker timeout); dkim=temperror; dmarc=temperror");
}

static void
test_a_checker_dying_under_a_request_costs_nothing(void **state)
{
	struct fx *fx = *state;
	struct ckp_request r;
	struct ckp_answer a;
	struct checks c;
	int64_t t0;
	pid_t pid;

	checks_init(&c, fx->sp[0]);
	request(&r, CKP_MSG);
	pid = checker(fx->sp[1], 0, "");
	/* Its copy of the answer's socket closes with it, and the wait
	 * ends there, long before the deadline. */
	(void)close(fx->sp[1]);
	fx->sp[1] = -1;
	t0 = clock_ms();
	assert_int_equal(checks_message(&c, &r, fx->msg, t0 + 10000, &a), 0);
	assert_true(clock_ms() - t0 < 5000);
	reaped(pid);
	assert_non_null(strstr(a.authres, "(checker gone)"));
	/* Gone for good: the next request fails at once. */
	assert_int_equal(checks_message(&c, &r, fx->msg, clock_ms() + 10000,
	    &a), 0);
	assert_non_null(strstr(a.authres, "(checker not running)"));
	assert_int_equal(c.sock, -1);
	fx->sp[0] = -1;		/* closed by checks.c */
}

static void
test_no_checker_no_wait(void **state)
{
	struct fx *fx = *state;
	struct ckp_request r;
	struct ckp_answer a;
	struct checks c;

	checks_init(&c, -1);
	request(&r, CKP_SPF);
	assert_int_equal(checks_spf_ask(&c, &r), -1);
	assert_int_equal(checks_spf_wait(&c, clock_ms() + 10000), 0);
	request(&r, CKP_MSG);
	assert_int_equal(checks_message(&c, &r, fx->msg, clock_ms() + 10000,
	    &a), 0);
	assert_string_equal(a.dkim, "temperror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_the_answer_to_a_message_with_the_early_spf, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_silent_checker_costs_the_deadline_and_no_more,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_checker_dying_under_a_request_costs_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_checker_no_wait,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
