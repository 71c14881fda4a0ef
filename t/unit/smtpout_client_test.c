/* smtpout_client_test.c — smtp-out's SMTP client (smtp-out/client.c)
 * against a scripted server in a child process on a socketpair.  The
 * script says what the server sends and what it expects; everything the
 * client sent is kept, so a test checks both the results per recipient
 * and the bytes on the wire.  A client that waits where it should
 * pipeline deadlocks with the script, times out, and fails the test. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "io.h"

enum {
	TEST_TIMEOUT_MS = 3000,	/* every client wait in these tests */
	SERVER_WAIT_MS = 8000,	/* longer: the client gives up first */
	QUIET_MS = 200,		/* "nothing more was sent" */
	TRANSCRIPT_MAX = 256 * 1024,
	RCPTS = 8
};

struct run {
	struct client_rcpt	r[RCPTS];
	size_t			n;
	struct client_outcome	oc;
	enum client_result	res;
	char			wire[TRANSCRIPT_MAX];	/* what the client sent */
	size_t			wlen;
	int			server_status;
};

/* --- the scripted server (child process) -------------------------------- */

struct srv {
	int	fd;
	int	log;		/* transcript file */
	char	buf[65536];
	size_t	len;
};

static int
srv_fill(struct srv *s, int ms)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	ssize_t r;

	if (s->len == sizeof(s->buf))
		return -1;
	if (poll(&pfd, 1, ms) != 1)
		return -1;
	r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
	if (r <= 0)
		return -1;
	if (write(s->log, s->buf + s->len, (size_t)r) != r)
		return -1;
	s->len += (size_t)r;
	return 0;
}

static void
srv_take(struct srv *s, size_t n)
{
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
}

/* One line (CRLF excluded) into line[size]. */
static int
srv_line(struct srv *s, char *line, size_t size)
{
	char *lf;
	size_t n;

	while ((lf = memchr(s->buf, '\n', s->len)) == NULL)
		if (srv_fill(s, SERVER_WAIT_MS) == -1)
			return -1;
	n = (size_t)(lf - s->buf);
	if (n == 0 || s->buf[n - 1] != '\r' || n - 1 >= size)
		return -1;
	memcpy(line, s->buf, n - 1);
	line[n - 1] = '\0';
	srv_take(s, n + 1);
	return 0;
}

static int
srv_data(struct srv *s)
{
	char *end;

	for (;;) {
		if (s->len >= 3 && memcmp(s->buf, ".\r\n", 3) == 0) {
			srv_take(s, 3);
			return 0;
		}
		end = memmem(s->buf, s->len, "\r\n.\r\n", 5);
		if (end != NULL) {
			srv_take(s, (size_t)(end - s->buf) + 5);
			return 0;
		}
		if (srv_fill(s, SERVER_WAIT_MS) == -1)
			return -1;
	}
}

/* text and its CRLF in one write, so that the client reads the lines of
 * one step together, never the last without its end. */
static int
srv_send(struct srv *s, const char *text)
{
	struct iovec iov[2] = {
		{ (void *)text, strlen(text) }, { (void *)"\r\n", 2 }
	};

	if (writev(s->fd, iov, 2) != (ssize_t)(iov[0].iov_len + 2))
		return -1;
	return 0;
}

/* S<text>  send text CRLF (text may hold more CRLF-separated lines)
 * C<pfx>   read one command line, which must start with pfx
 * D        read the message through its final dot
 * Q        nothing more may have been sent for QUIET_MS (no pipelining)
 * X        close the connection now
 * Z        send nothing, wait for the client to give up (a timeout) */
static int
serve(int fd, int log, const char *const *script)
{
	struct srv s = { fd, log, "", 0 };
	char line[4096];
	const char *st;
	size_t i;

	for (i = 0; (st = script[i]) != NULL; i++) {
		switch (st[0]) {
		case 'S':
			if (srv_send(&s, st + 1) == -1)
				return 10;
			break;
		case 'C':
			if (srv_line(&s, line, sizeof(line)) == -1 ||
			    strncmp(line, st + 1, strlen(st + 1)) != 0) {
				fprintf(stderr, "server: step %zu: expected "
				    "\"%s\"\n", i, st + 1);
				return 11;
			}
			break;
		case 'D':
			if (srv_data(&s) == -1)
				return 12;
			break;
		case 'Q':
			if (s.len > 0 || srv_fill(&s, QUIET_MS) == 0) {
				fprintf(stderr, "server: step %zu: client "
				    "sent more than it should have\n", i);
				return 13;
			}
			break;
		case 'X':
			return 0;
		case 'Z':
			while (srv_fill(&s, SERVER_WAIT_MS) == 0)
				;
			return 0;
		}
	}
	/* Whatever else comes until the client closes goes on record. */
	while (srv_fill(&s, SERVER_WAIT_MS) == 0)
		;
	return 0;
}

/* --- running one session ---------------------------------------------------- */

static int
mem_fd(const char *data, size_t n)
{
	int fd = memfd_create("msg", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void
params_default(struct client_params *p)
{
	memset(p, 0, sizeof(*p));
	p->helo = "out.test.example";
	p->sender = "a@b.example";
	p->tls = CLIENT_TLS_NONE;
	p->to.greeting = p->to.cmd = p->to.mail = p->to.rcpt = p->to.data =
	    p->to.block = p->to.dot = p->to.quit = TEST_TIMEOUT_MS;
}

static void
run_msg(const char *const *script, const struct client_params *p,
    const char *msg, size_t msglen, struct run *run)
{
	static const char *const rcpts[] = { "x@d.example", "y@d.example",
	    "z@d.example" };
	struct client_msg m;
	struct io io;
	char why[256];
	pid_t pid;
	int sv[2], log, mfd, status;
	ssize_t r;

	if (run->n == 0)
		run->n = 1;
	for (size_t i = 0; i < run->n; i++)
		run->r[i].addr = rcpts[i];
	log = memfd_create("wire", MFD_CLOEXEC);
	assert_true(log >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	mfd = mem_fd(msg, msglen);
	assert_int_equal(client_msg_open(mfd, &m, why, sizeof(why)), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(serve(sv[1], log, script));
	}
	close(sv[1]);
	io_fd_init(&io, sv[0], sv[0]);
	run->res = client_session(&io, p, &m, run->r, run->n, &run->oc);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	run->server_status = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
	r = pread(log, run->wire, sizeof(run->wire) - 1, 0);
	assert_true(r >= 0);
	run->wlen = (size_t)r;
	run->wire[r] = '\0';
	close(log);
	client_msg_close(&m);
	close(mfd);
}

static void
run_session(const char *const *script, const struct client_params *p,
    struct run *run)
{
	static const char msg[] = "Subject: t\n\nhello\n";

	run_msg(script, p, msg, sizeof(msg) - 1, run);
}

static struct run *
new_run(size_t n)
{
	struct run *run = calloc(1, sizeof(*run));

	assert_non_null(run);
	run->n = n;
	return run;
}

static void
assert_rcpt(const struct run *run, size_t i, enum client_status st,
    const char *dsn)
{
	assert_int_equal(run->r[i].status, st);
	assert_string_equal(run->r[i].dsn, dsn);
}

#define EHLO_PIPE	"S250-fake.example\r\n250-PIPELINING\r\n250 8BITMIME"
#define EHLO_PLAIN	"S250-fake.example\r\n250 8BITMIME"

/* --- the tests ------------------------------------------------------------------ */

static void
test_pipelining_sends_mail_rcpts_and_data_together(void **state)
{
	static const char *const script[] = {
		"S220 fake ESMTP", "CEHLO out.test.example", EHLO_PIPE,
		"CMAIL FROM:<a@b.example>", "CRCPT TO:<x@d.example>",
		"CRCPT TO:<y@d.example>", "CDATA",
		"S250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go",
		"D", "S250 2.0.0 queued as 1", "CQUIT", "S221 bye", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_rcpt(run, 1, CLIENT_SENT, "2.0.0");
	assert_string_equal(run->r[0].text, "250 2.0.0 queued as 1");
	free(run);
}

static void
test_without_pipelining_each_reply_is_awaited(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN,
		"CMAIL FROM:<a@b.example>", "Q", "S250 ok",
		"CRCPT TO:<x@d.example>", "Q", "S250 ok",
		"CDATA", "Q", "S354 go", "D", "S250 done", "CQUIT", "S221",
		NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	free(run);
}

static void
test_ehlo_refused_falls_back_to_helo(void **state)
{
	static const char *const script[] = {
		"S220 old", "CEHLO out.test.example", "S502 5.5.1 what?",
		"CHELO out.test.example", "S250 hi",
		"CMAIL FROM:<a@b.example>", "S250 ok",
		"CRCPT TO:<x@d.example>", "S250 ok", "CDATA", "S354 go",
		"D", "S250 ok", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.eightbit = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	/* HELO has no extensions: no BODY= parameter. */
	assert_null(strstr(run->wire, "BODY="));
	free(run);
}

static void
test_mail_parameters_follow_the_extensions(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO",
		"S250-fake\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
		    "250-SMTPUTF8\r\n250 PIPELINING",
		"CMAIL FROM:<a@b.example> SIZE=21 BODY=8BITMIME SMTPUTF8",
		"CRCPT", "CDATA", "S250 ok\r\n250 ok\r\n354 go", "D",
		"S250 ok", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.eightbit = 1;
	p.smtputf8 = 1;
	run_session(script, &p, run);	/* 18 bytes -> 21 in CRLF */
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	free(run);
}

static void
test_message_over_the_hosts_size_fails_534_unsent(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 SIZE 10",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.3.4");
	assert_rcpt(run, 1, CLIENT_FAILED, "5.3.4");
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_smtputf8_not_offered_fails_567(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE, "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.smtputf8 = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.6.7");
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_mail_4xx_defers_every_recipient(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE, "CMAIL", "CRCPT", "CRCPT",
		"CDATA",
		"S451 4.3.0 try later\r\n503 5.5.1 no MAIL\r\n"
		    "503 5.5.1 no MAIL\r\n503 5.5.1 no valid recipients",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_DEFERRED, "4.3.0");
	assert_rcpt(run, 1, CLIENT_DEFERRED, "4.3.0");
	assert_string_equal(run->r[1].text, "451 4.3.0 try later");
	free(run);
}

static void
test_mail_5xx_fails_every_recipient(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL",
		"S553 5.7.1 sender refused", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.7.1");
	assert_rcpt(run, 1, CLIENT_FAILED, "5.7.1");
	assert_null(strstr(run->wire, "RCPT"));
	free(run);
}

static void
test_rcpt_replies_decide_each_recipient(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE, "CMAIL",
		"CRCPT TO:<x@d.example>", "CRCPT TO:<y@d.example>",
		"CRCPT TO:<z@d.example>", "CDATA",
		"S250 ok\r\n250 ok\r\n450 4.2.1 mailbox busy\r\n"
		    "550-5.1.1 no such\r\n550 5.1.1 user\r\n354 go",
		"D", "S250 2.0.0 ok", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(3);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_rcpt(run, 1, CLIENT_DEFERRED, "4.2.1");
	assert_rcpt(run, 2, CLIENT_FAILED, "5.1.1");
	/* A multi-line reply: one line, the repeated codes left out. */
	assert_string_equal(run->r[2].text, "550 5.1.1 no such user");
	free(run);
}

static void
test_every_rcpt_refused_sends_no_message(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
		"CRCPT", "S550 5.1.1 no", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.1.1");
	assert_null(strstr(run->wire, "DATA"));
	free(run);
}

static void
test_data_refused_decides_accepted_recipients(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE, "CMAIL", "CRCPT", "CRCPT",
		"CDATA",
		"S250 ok\r\n250 ok\r\n550 5.1.1 no\r\n554 5.7.1 no data",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.7.1");
	assert_rcpt(run, 1, CLIENT_FAILED, "5.1.1");
	free(run);
}

static void
test_reply_after_dot_4xx_defers_5xx_fails(void **state)
{
	static const char *const s4[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
		"CRCPT", "S250 ok", "CDATA", "S354 go", "D",
		"S452 4.3.1 disk full", "CQUIT", "S221", NULL
	};
	static const char *const s5[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
		"CRCPT", "S250 ok", "CDATA", "S354 go", "D",
		"S554 spam", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	run_session(s4, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_DEFERRED, "4.3.1");
	memset(run, 0, sizeof(*run));
	run->n = 1;
	run_session(s5, &p, run);
	assert_int_equal(run->server_status, 0);
	/* No enhanced code: derived from the reply's class. */
	assert_rcpt(run, 0, CLIENT_FAILED, "5.0.0");
	assert_string_equal(run->r[0].text, "554 spam");
	free(run);
}

static void
test_line_ends_are_crlf_and_dots_are_stuffed(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
		"CRCPT", "S250 ok", "CDATA", "S354 go", "D", "S250 ok",
		"CQUIT", "S221", NULL
	};
	/* LF, a lone CR, CR LF, a line ".", a leading dot, no final LF. */
	static const char msg[] = "a\n.\n..x\nb\rc\r\nd\r\r\n.";
	static const char want[] = "DATA\r\na\r\n..\r\n...x\r\nb\r\nc\r\n"
	    "d\r\n\r\n..\r\n.\r\nQUIT\r\n";
	struct client_params p;
	struct run *run = new_run(1);
	const char *data;

	(void)state;
	params_default(&p);
	run_msg(script, &p, msg, sizeof(msg) - 1, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	data = strstr(run->wire, "DATA\r\n");
	assert_non_null(data);
	assert_string_equal(data, want);
	free(run);
}

/* UTF-8 in the header (RFC 6532) is told from UTF-8 in the body alone,
 * wherever the header's empty line falls: smtp-out needs SMTPUTF8 for
 * the first only. */
static void
test_utf8_in_the_header_is_told_from_utf8_in_the_body(void **state)
{
	static const struct {
		const char	*msg;
		int		 hdr8;
	} cases[] = {
		{ "Subject: gr\xc3\xbc\xc3\x9f" "e\n\nhi\n", 1 },
		{ "Subject: hi\r\n\r\nK\xc3\xa4se\r\n", 0 },
		{ "Subject: hi\n\nK\xc3\xa4se\n", 0 },
		{ "\nK\xc3\xa4se\n", 0 },		/* no header */
		{ "To: a\n b\xc3\xbc\n\n", 1 },	/* a fold */
		{ "Subject: hi\n", 0 },		/* no body */
	};
	struct client_msg m;
	char why[256];
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = mem_fd(cases[i].msg, strlen(cases[i].msg));
		assert_int_equal(client_msg_open(fd, &m, why, sizeof(why)), 0);
		assert_int_equal(m.hdr8, cases[i].hdr8);
		client_msg_close(&m);
		close(fd);
	}
}

static void
test_nul_in_message_fails_560_without_connecting(void **state)
{
	static const char *const script[] = { NULL };
	static const char msg[] = "Subject: t\n\nnul\0here\n";
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_msg(script, &p, msg, sizeof(msg) - 1, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.6.0");
	assert_rcpt(run, 1, CLIENT_FAILED, "5.6.0");
	assert_int_equal(run->wlen, 0);
	free(run);
}

static void
test_line_over_998_octets_fails_560(void **state)
{
	static const char *const script[] = { NULL };
	struct client_params p;
	struct run *run = new_run(1);
	char msg[1200];

	(void)state;
	params_default(&p);
	memset(msg, 'a', sizeof(msg));
	msg[999] = '\n';	/* 999 octets: one too many */
	run_msg(script, &p, msg, sizeof(msg), run);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.6.0");
	assert_int_equal(run->wlen, 0);
	memset(run, 0, sizeof(*run));
	run->n = 1;
	msg[998] = '\n';	/* 998: the limit, fine */
	{
		static const char *const ok[] = {
			"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
			"CRCPT", "S250 ok", "CDATA", "S354 go", "D",
			"S250 ok", "CQUIT", "S221", NULL
		};

		run_msg(ok, &p, msg, 999, run);
	}
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	free(run);
}

static void
test_greeting_554_moves_to_the_next_host(void **state)
{
	static const char *const script[] = {
		"S554 5.7.1 go away", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_int_equal(run->r[0].status, CLIENT_PENDING);
	assert_int_equal(run->oc.fail_status, CLIENT_FAILED);
	assert_string_equal(run->oc.fail_dsn, "5.7.1");
	free(run);
}

static void
test_421_at_rcpt_keeps_answered_recipients(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
		"CRCPT TO:<x@d.example>", "S550 5.1.1 no",
		"CRCPT TO:<y@d.example>", "S421 4.3.2 shutting down", "X",
		NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.1.1");
	assert_int_equal(run->r[1].status, CLIENT_PENDING);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.3.2");
	free(run);
}

static void
test_silent_server_times_out_and_moves_on(void **state)
{
	static const char *const script[] = { "Z", NULL };
	struct client_params p;
	struct run *run = new_run(1);
	int64_t t0;

	(void)state;
	params_default(&p);
	p.to.greeting = 300;
	t0 = clock_ms();
	run_session(script, &p, run);
	assert_true(clock_ms() - t0 < TEST_TIMEOUT_MS);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.4.2");
	assert_non_null(strstr(run->oc.fail_text, "timeout"));
	free(run);
}

static void
test_connection_lost_after_dot_defers_without_next_host(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PLAIN, "CMAIL", "S250 ok",
		"CRCPT", "S250 ok", "CDATA", "S354 go", "D", "X", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	/* It may have been delivered: later, not elsewhere now. */
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_DEFERRED, "4.4.2");
	free(run);
}

/* --- LMTP (RFC 2033) ------------------------------------------------------ */

#define LHLO_PIPE	"S250-fake.example\r\n250-PIPELINING\r\n" \
			"250 ENHANCEDSTATUSCODES"

static void
test_lmtp_one_reply_per_accepted_recipient_after_the_dot(void **state)
{
	/* x accepted and saved, y refused at RCPT (never in the replies
	 * after the dot), z accepted and then over quota. */
	static const char *const script[] = {
		"S220 fake LMTP", "CLHLO out.test.example", LHLO_PIPE,
		"CMAIL FROM:<a@b.example>", "CRCPT TO:<x@d.example>",
		"CRCPT TO:<y@d.example>", "CRCPT TO:<z@d.example>", "CDATA",
		"S250 2.1.0 ok\r\n250 2.1.5 ok\r\n"
		    "550 5.1.1 <y@d.example> User doesn't exist\r\n"
		    "250 2.1.5 ok\r\n354 go",
		"D", "S250 2.0.0 <x@d.example> Saved",
		"S452 4.2.2 <z@d.example> Quota exceeded", "CQUIT", "S221",
		NULL
	};
	struct client_params p;
	struct run *run = new_run(3);

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_string_equal(run->r[0].text, "250 2.0.0 <x@d.example> Saved");
	assert_rcpt(run, 1, CLIENT_FAILED, "5.1.1");
	assert_string_equal(run->r[1].text,
	    "550 5.1.1 <y@d.example> User doesn't exist");
	assert_rcpt(run, 2, CLIENT_DEFERRED, "4.2.2");
	assert_null(strstr(run->wire, "EHLO"));
	free(run);
}

static void
test_lmtp_5xx_after_the_dot_fails_that_recipient_alone(void **state)
{
	static const char *const script[] = {
		"S220 fake LMTP", "CLHLO", LHLO_PIPE, "CMAIL", "CRCPT",
		"CRCPT", "CDATA",
		"S250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go",
		"D", "S552 5.2.2 <x@d.example> Mailbox full",
		"S250 2.0.0 <y@d.example> Saved", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_FAILED, "5.2.2");
	assert_rcpt(run, 1, CLIENT_SENT, "2.0.0");
	free(run);
}

static void
test_lmtp_multiline_reply_after_the_dot_is_one_recipients(void **state)
{
	/* x's reply has three lines: it is x's alone, and y's comes
	 * after it, in y's place. */
	static const char *const script[] = {
		"S220 fake LMTP", "CLHLO", LHLO_PIPE, "CMAIL", "CRCPT",
		"CRCPT", "CDATA",
		"S250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go",
		"D", "S452-4.2.2 <x@d.example> Quota exceeded\r\n"
		    "452-4.2.2 try again\r\n452 4.2.2 later",
		"S550 5.2.1 <y@d.example> Mailbox disabled", "CQUIT", "S221",
		NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_DEFERRED, "4.2.2");
	assert_string_equal(run->r[0].text, "452 4.2.2 <x@d.example> Quota "
	    "exceeded try again later");
	assert_rcpt(run, 1, CLIENT_FAILED, "5.2.1");
	assert_string_equal(run->r[1].text,
	    "550 5.2.1 <y@d.example> Mailbox disabled");
	free(run);
}

static void
test_lmtp_replies_cut_short_defer_the_rest(void **state)
{
	/* The first reply came, then the connection went: the second
	 * recipient may have its copy, or not: deferred, never failed. */
	static const char *const script[] = {
		"S220 fake LMTP", "CLHLO", LHLO_PIPE, "CMAIL", "CRCPT",
		"CRCPT", "CDATA",
		"S250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go",
		"D", "S250 2.0.0 <x@d.example> Saved", "X", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_rcpt(run, 1, CLIENT_DEFERRED, "4.4.2");
	free(run);
}

static void
test_lmtp_lhlo_refused_defers_with_no_helo(void **state)
{
	static const char *const script[] = {
		"S220 fake LMTP", "CLHLO", "S500 5.5.1 unknown command",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.5.1");
	assert_null(strstr(run->wire, "HELO out"));
	free(run);
}

static void
test_lmtp_greeting_554_is_temporary(void **state)
{
	static const char *const script[] = {
		"S554 5.3.2 not now", "CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.3.2");
	free(run);
}

static void
test_timeouts_are_rfc5321s(void **state)
{
	struct client_timeouts t;

	(void)state;
	client_timeouts_default(&t);
	assert_int_equal(t.greeting, 5 * 60 * 1000);	/* §4.5.3.2.1 */
	assert_int_equal(t.mail, 5 * 60 * 1000);	/* §4.5.3.2.2 */
	assert_int_equal(t.rcpt, 5 * 60 * 1000);	/* §4.5.3.2.3 */
	assert_int_equal(t.data, 2 * 60 * 1000);	/* §4.5.3.2.4 */
	assert_int_equal(t.block, 3 * 60 * 1000);	/* §4.5.3.2.5 */
	assert_int_equal(t.dot, 10 * 60 * 1000);	/* §4.5.3.2.6 */
}

/* --- TLS policy, with a stand-in for the TLS layer -------------------------- */

struct fake_tls {
	int	fail;
	int	verified;
	int	calls;
	int	dane;		/* the TLSA records matched */
};

static int
fake_starttls(void *arg, struct io *io, int64_t deadline,
    struct client_tls_info *info, char *why, size_t whysz)
{
	struct fake_tls *f = arg;

	(void)io;
	(void)deadline;
	f->calls++;
	if (f->fail) {
		snprintf(why, whysz, "handshake broke");
		return -1;
	}
	snprintf(info->version, sizeof(info->version), "TLSv1.3");
	snprintf(info->cipher, sizeof(info->cipher), "TLS_AES_128_GCM_SHA256");
	info->verified = f->verified;
	snprintf(info->reason, sizeof(info->reason), "%s",
	    f->verified ? "" : "not signed by a trusted CA");
	info->dane = f->dane;
	snprintf(info->dane_why, sizeof(info->dane_why), "%s",
	    f->dane ? "DANE-EE(3) SPKI(1) SHA2-256(1)" :
	    "no TLSA record matches the certificate chain");
	return 0;
}

static void
test_tls_dane_match_delivers_and_says_dane(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", "CEHLO", EHLO_PLAIN,
		"CMAIL", "S250 ok", "CRCPT", "S250 ok", "CDATA", "S354 go",
		"D", "S250 ok", "CQUIT", "S221", NULL
	};
	/* Not verified by PKIX: DANE-EE needs no CA. */
	struct fake_tls f = { 0, 0, 0, 1 };
	struct client_params p;
	struct run *run = new_run(1);
	char desc[CLIENT_TLSDESC_MAX];

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_DANE;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_string_equal(client_tls_outcome(&run->oc), "dane");
	client_tls_describe(&run->oc, desc, sizeof(desc));
	assert_string_equal(desc, "TLSv1.3/TLS_AES_128_GCM_SHA256/dane");
	free(run);
}

static void
test_tls_dane_mismatch_defers_475_without_mail(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", "CQUIT", "S221", NULL
	};
	/* A certificate the trust store likes is still not enough. */
	struct fake_tls f = { 0, 1, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_DANE;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.7.5");
	assert_non_null(strstr(run->oc.fail_text, "TLSA"));
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_tls_dane_without_starttls_defers_never_plaintext(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE, "CQUIT", "S221", NULL
	};
	struct fake_tls f = { 0, 1, 0, 1 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_DANE;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_string_equal(run->oc.fail_dsn, "4.7.5");
	assert_int_equal(f.calls, 0);
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_tls_dane_handshake_failure_is_no_plaintext_retry(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", NULL
	};
	struct fake_tls f = { 1, 0, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_DANE;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_tls_encrypt_without_starttls_defers_475(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE, "CQUIT", "S221", NULL
	};
	struct fake_tls f = { 0, 1, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_ENCRYPT;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.7.5");
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_tls_may_uses_starttls_and_says_so(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", "CEHLO", EHLO_PLAIN,
		"CMAIL", "S250 ok", "CRCPT", "S250 ok", "CDATA", "S354 go",
		"D", "S250 ok", "CQUIT", "S221", NULL
	};
	struct fake_tls f = { 0, 0, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);
	char desc[CLIENT_TLSDESC_MAX];

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_MAY;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(f.calls, 1);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	client_tls_describe(&run->oc, desc, sizeof(desc));
	assert_string_equal(desc, "TLSv1.3/TLS_AES_128_GCM_SHA256/opportunistic");
	free(run);
}

static void
test_tls_may_handshake_failure_asks_for_plaintext_retry(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", "X", NULL
	};
	struct fake_tls f = { 1, 0, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_MAY;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_RETRY_PLAIN);
	assert_int_equal(run->r[0].status, CLIENT_PENDING);
	free(run);
}

static void
test_tls_verify_refuses_an_unverified_certificate(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", "CQUIT", "S221", NULL
	};
	struct fake_tls f = { 0, 0, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_VERIFY;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_string_equal(run->oc.fail_dsn, "4.7.5");
	assert_non_null(strstr(run->oc.fail_text, "not signed"));
	assert_null(strstr(run->wire, "MAIL"));
	free(run);
}

static void
test_auth_plain_goes_only_after_tls(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go ahead", "CEHLO",
		"S250-fake\r\n250 AUTH LOGIN PLAIN",
		/* base64 of NUL "user" NUL "pw" */
		"CAUTH PLAIN AHVzZXIAcHc=", "S235 2.7.0 ok",
		"CMAIL", "S250 ok", "CRCPT", "S250 ok", "CDATA", "S354 go",
		"D", "S250 ok", "CQUIT", "S221", NULL
	};
	struct fake_tls f = { 0, 1, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_ENCRYPT;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	p.auth_user = "user";
	p.auth_pass = "pw";
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	free(run);
}

static void
test_auth_is_never_sent_in_plaintext(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 AUTH PLAIN",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_MAY;
	p.auth_user = "user";
	p.auth_pass = "pw";
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_NEXT);
	assert_string_equal(run->oc.fail_dsn, "4.7.5");
	assert_null(strstr(run->wire, "AUTH"));
	free(run);
}

static void
test_auth_refused_defers(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", "S250-fake\r\n250 STARTTLS",
		"CSTARTTLS", "S220 go", "CEHLO", "S250-fake\r\n250 AUTH PLAIN",
		"CAUTH PLAIN", "S535 5.7.8 bad credentials", "CQUIT", "S221",
		NULL
	};
	struct fake_tls f = { 0, 1, 0, 0 };
	struct client_params p;
	struct run *run = new_run(1);

	(void)state;
	params_default(&p);
	p.tls = CLIENT_TLS_MAY;
	p.starttls = fake_starttls;
	p.starttls_arg = &f;
	p.auth_user = "user";
	p.auth_pass = "pw";
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(run->oc.fail_dsn, "4.7.8");
	free(run);
}

static void
test_message_from_a_pipe_is_copied_and_reread(void **state)
{
	static const char msg[] = "Subject: p\n\n.x\n";
	struct client_msg m;
	char why[256], buf[64];
	int pfd[2];
	ssize_t r;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], msg, sizeof(msg) - 1),
	    (ssize_t)sizeof(msg) - 1);
	close(pfd[1]);
	assert_int_equal(client_msg_open(pfd[0], &m, why, sizeof(why)), 0);
	close(pfd[0]);
	assert_int_equal(m.verdict, CLIENT_MSG_OK);
	/* CRLF line ends and the stuffed dot: 10 + 2, 2, 3 + 2. */
	assert_int_equal(m.size, 19);
	r = pread(m.fd, buf, sizeof(buf), m.start);
	assert_int_equal(r, (ssize_t)sizeof(msg) - 1);
	assert_memory_equal(buf, msg, sizeof(msg) - 1);
	client_msg_close(&m);
}

/* -H: header fields go before a message read from a regular file, which
 * is read in place; the wire size counts both. */
static void
test_prefix_goes_before_the_message(void **state)
{
	static const char sig[] = "DKIM-Signature: v=1; b=x\n";
	static const char msg[] = "Subject: p\n\nbody\n";
	struct client_msg m;
	char why[256], buf[128], path[] = "/tmp/smtpout_test.XXXXXX";
	ssize_t r;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, msg, sizeof(msg) - 1),
	    (ssize_t)sizeof(msg) - 1);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(client_msg_open_prefixed(fd, sig, sizeof(sig) - 1,
	    &m, why, sizeof(why)), 0);
	assert_int_equal(m.verdict, CLIENT_MSG_OK);
	/* Each LF counts as CR LF on the wire: 4 lines and 1. */
	assert_int_equal(m.size, sizeof(sig) - 1 + sizeof(msg) - 1 + 4);
	/* The fields go first, from memory; the file is read in place,
	 * not copied. */
	assert_ptr_equal(m.prefix, sig);
	assert_int_equal(m.prefixlen, sizeof(sig) - 1);
	assert_false(m.owned);
	r = pread(m.fd, buf, sizeof(buf), m.start);
	assert_int_equal(r, (ssize_t)(sizeof(msg) - 1));
	assert_memory_equal(buf, msg, sizeof(msg) - 1);
	client_msg_close(&m);
	close(fd);
}

/* A prefix longer than the chunks the encoder takes at a time. */
static void
test_long_prefix_is_counted_whole(void **state)
{
	static char sig[40000];
	struct client_msg m;
	char why[256];
	int pfd[2];
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(sig); i++)
		sig[i] = i % 100 == 99 ? '\n' : 'x';
	sig[sizeof(sig) - 2] = '\n';
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "\nb\n", 3), 3);
	close(pfd[1]);
	assert_int_equal(client_msg_open_prefixed(pfd[0], sig,
	    sizeof(sig) - 1, &m, why, sizeof(why)), 0);
	close(pfd[0]);
	assert_int_equal(m.verdict, CLIENT_MSG_OK);
	/* 400 lines of the prefix and 2 of the message, each + CR. */
	assert_int_equal(m.size, sizeof(sig) - 1 + 400 + 3 + 2);
	client_msg_close(&m);
}


/* --- several messages on one connection ---------------------------------- */

/* Two messages over one connection (client_open, client_send twice,
 * client_close) with the parameters p, r1 and r2 one recipient each:
 * the results of the second send in *res2. */
static void
run_two_with(const char *const *script, const struct client_params *pp,
    struct run *r1, struct run *r2, enum client_result *res2,
    int *reusable)
{
	static const char msg[] = "Subject: t\n\nhello\n";
	struct client_params p = *pp;
	struct client_msg m;
	struct client *c;
	struct io io;
	char why[256];
	pid_t pid;
	int sv[2], log, mfd, status;

	r1->n = r2->n = 1;
	r1->r[0].addr = "x@d.example";
	r2->r[0].addr = "y@d.example";
	log = memfd_create("wire", MFD_CLOEXEC);
	assert_true(log >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	mfd = mem_fd(msg, sizeof(msg) - 1);
	assert_int_equal(client_msg_open(mfd, &m, why, sizeof(why)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(serve(sv[1], log, script));
	}
	close(sv[1]);
	io_fd_init(&io, sv[0], sv[0]);
	assert_int_equal(client_open(&io, &p, &r1->oc, &c), CLIENT_DONE);
	r1->res = client_send(c, &p, &m, r1->r, 1, &r1->oc);
	assert_int_equal(r1->res, CLIENT_DONE);
	assert_true(client_reusable(c));
	*res2 = client_send(c, &p, &m, r2->r, 1, &r2->oc);
	*reusable = client_reusable(c);
	client_close(c, 1);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	r1->server_status = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
	close(log);
	client_msg_close(&m);
	close(mfd);
}

/* The same with the default parameters (SMTP). */
static void
run_two(const char *const *script, struct run *r1, struct run *r2,
    enum client_result *res2, int *reusable)
{
	struct client_params p;

	params_default(&p);
	run_two_with(script, &p, r1, r2, res2, reusable);
}

static void
test_second_message_on_a_kept_connection_begins_with_rset(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE,
		"CMAIL FROM:<a@b.example>", "CRCPT TO:<x@d.example>", "CDATA",
		"S250 ok\r\n250 ok\r\n354 go", "D", "S250 2.0.0 queued as 1",
		/* No QUIT between the two: RSET, then the second. */
		"CRSET", "S250 2.0.0 reset",
		"CMAIL FROM:<a@b.example>", "CRCPT TO:<y@d.example>", "CDATA",
		"S250 ok\r\n250 ok\r\n354 go", "D", "S250 2.0.0 queued as 2",
		"CQUIT", "S221 bye", NULL
	};
	struct run *r1 = new_run(1), *r2 = new_run(1);
	enum client_result res2;
	int reusable;

	(void)state;
	run_two(script, r1, r2, &res2, &reusable);
	assert_int_equal(r1->server_status, 0);
	assert_int_equal(res2, CLIENT_DONE);
	assert_true(reusable);
	assert_rcpt(r1, 0, CLIENT_SENT, "2.0.0");
	assert_rcpt(r2, 0, CLIENT_SENT, "2.0.0");
	assert_string_equal(r2->r[0].text, "250 2.0.0 queued as 2");
	free(r1);
	free(r2);
}

static void
test_421_to_rset_leaves_the_message_pending_for_a_new_connection(
    void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE,
		"CMAIL", "CRCPT", "CDATA", "S250 ok\r\n250 ok\r\n354 go", "D",
		"S250 2.0.0 queued as 1",
		"CRSET", "S421 4.4.2 closing", "X", NULL
	};
	struct run *r1 = new_run(1), *r2 = new_run(1);
	enum client_result res2;
	int reusable;

	(void)state;
	run_two(script, r1, r2, &res2, &reusable);
	assert_int_equal(r1->server_status, 0);
	assert_int_equal(res2, CLIENT_NEXT);
	assert_false(reusable);
	/* Nothing was said of it: pending, for the caller to send again. */
	assert_int_equal(r2->r[0].status, CLIENT_PENDING);
	assert_int_equal(r2->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(r2->oc.fail_text, "421 4.4.2 closing");
	free(r1);
	free(r2);
}

static void
test_connection_closed_between_messages_is_found_at_rset(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE,
		"CMAIL", "CRCPT", "CDATA", "S250 ok\r\n250 ok\r\n354 go", "D",
		"S250 2.0.0 queued as 1", "X", NULL
	};
	struct run *r1 = new_run(1), *r2 = new_run(1);
	enum client_result res2;
	int reusable;

	(void)state;
	run_two(script, r1, r2, &res2, &reusable);
	assert_int_equal(res2, CLIENT_NEXT);
	assert_false(reusable);
	assert_int_equal(r2->r[0].status, CLIENT_PENDING);
	assert_string_equal(r2->oc.fail_dsn, "4.4.2");
	free(r1);
	free(r2);
}

static void
test_lmtp_reply_too_many_after_the_dot_is_not_taken_for_rsets(
    void **state)
{
	/* Two replies after the dot for one recipient: the second would
	 * be read as RSET's, and every reply of the next message as the
	 * one of the command before.  The connection is dropped instead,
	 * with nothing sent after the dot, and the next message waits for
	 * a new one. */
	static const char *const script[] = {
		"S220 fake LMTP", "CLHLO", LHLO_PIPE,
		"CMAIL", "CRCPT", "CDATA", "S250 ok\r\n250 ok\r\n354 go", "D",
		"S250 2.0.0 <x@d.example> Saved\r\n"
		    "250 2.0.0 <x@d.example> Saved",
		"Q", NULL
	};
	struct client_params p;
	struct run *r1 = new_run(1), *r2 = new_run(1);
	enum client_result res2;
	int reusable;

	(void)state;
	params_default(&p);
	p.lmtp = 1;
	run_two_with(script, &p, r1, r2, &res2, &reusable);
	assert_int_equal(r1->server_status, 0);
	assert_rcpt(r1, 0, CLIENT_SENT, "2.0.0");
	assert_int_equal(res2, CLIENT_NEXT);
	assert_false(reusable);
	assert_int_equal(r2->r[0].status, CLIENT_PENDING);
	assert_int_equal(r2->oc.fail_status, CLIENT_DEFERRED);
	assert_string_equal(r2->oc.fail_dsn, "4.5.0");
	free(r1);
	free(r2);
}

static void
test_452_after_a_taken_recipient_sends_the_rest_in_another_transaction(
    void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE,
		"CMAIL", "CRCPT TO:<x@d.example>", "CRCPT TO:<y@d.example>",
		"CRCPT TO:<z@d.example>", "CDATA",
		"S250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n"
		    "452 4.5.3 too many recipients\r\n354 go",
		"D", "S250 2.0.0 queued as 1",
		/* The same connection, for y and z. */
		"CRSET", "S250 ok",
		"CMAIL", "CRCPT TO:<y@d.example>", "CRCPT TO:<z@d.example>",
		"CDATA", "S250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n354 go",
		"D", "S250 2.0.0 queued as 2",
		"CRSET", "S250 ok",
		"CMAIL", "CRCPT TO:<z@d.example>", "CDATA",
		"S250 ok\r\n250 ok\r\n354 go", "D", "S250 2.0.0 queued as 3",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(3);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_rcpt(run, 1, CLIENT_SENT, "2.0.0");
	assert_rcpt(run, 2, CLIENT_SENT, "2.0.0");
	assert_string_equal(run->r[0].text, "250 2.0.0 queued as 1");
	assert_string_equal(run->r[1].text, "250 2.0.0 queued as 2");
	assert_string_equal(run->r[2].text, "250 2.0.0 queued as 3");
	free(run);
}

static void
test_452_to_every_recipient_defers_them_in_one_transaction(void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE,
		"CMAIL", "CRCPT", "CRCPT", "CDATA",
		"S250 ok\r\n452 4.3.1 out of storage\r\n"
		    "452 4.3.1 out of storage\r\n554 no valid recipients",
		"CQUIT", "S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_DEFERRED, "4.3.1");
	assert_rcpt(run, 1, CLIENT_DEFERRED, "4.3.1");
	free(run);
}

static void
test_452_held_recipient_keeps_the_reply_if_no_transaction_takes_it(
    void **state)
{
	static const char *const script[] = {
		"S220 fake", "CEHLO", EHLO_PIPE,
		"CMAIL", "CRCPT", "CRCPT", "CDATA",
		"S250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n354 go", "D",
		"S250 2.0.0 queued as 1",
		"CRSET", "S250 ok", "CMAIL", "CRCPT", "CDATA",
		"S250 ok\r\n452 4.5.3 still too many\r\n554 no valid", "CQUIT",
		"S221", NULL
	};
	struct client_params p;
	struct run *run = new_run(2);

	(void)state;
	params_default(&p);
	run_session(script, &p, run);
	assert_int_equal(run->server_status, 0);
	assert_int_equal(run->res, CLIENT_DONE);
	assert_rcpt(run, 0, CLIENT_SENT, "2.0.0");
	assert_rcpt(run, 1, CLIENT_DEFERRED, "4.5.3");
	free(run);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_second_message_on_a_kept_connection_begins_with_rset),
		cmocka_unit_test(
		    test_421_to_rset_leaves_the_message_pending_for_a_new_connection),
		cmocka_unit_test(
		    test_connection_closed_between_messages_is_found_at_rset),
		cmocka_unit_test(
		    test_lmtp_reply_too_many_after_the_dot_is_not_taken_for_rsets),
		cmocka_unit_test(
		    test_452_after_a_taken_recipient_sends_the_rest_in_another_transaction),
		cmocka_unit_test(
		    test_452_to_every_recipient_defers_them_in_one_transaction),
		cmocka_unit_test(
		    test_452_held_recipient_keeps_the_reply_if_no_transaction_takes_it),
		cmocka_unit_test(test_prefix_goes_before_the_message),
		cmocka_unit_test(test_long_prefix_is_counted_whole),
		cmocka_unit_test(
		    test_pipelining_sends_mail_rcpts_and_data_together),
		cmocka_unit_test(test_without_pipelining_each_reply_is_awaited),
		cmocka_unit_test(test_ehlo_refused_falls_back_to_helo),
		cmocka_unit_test(test_mail_parameters_follow_the_extensions),
		cmocka_unit_test(
		    test_message_over_the_hosts_size_fails_534_unsent),
		cmocka_unit_test(test_smtputf8_not_offered_fails_567),
		cmocka_unit_test(test_utf8_in_the_header_is_told_from_utf8_in_the_body),
		cmocka_unit_test(test_mail_4xx_defers_every_recipient),
		cmocka_unit_test(test_mail_5xx_fails_every_recipient),
		cmocka_unit_test(test_rcpt_replies_decide_each_recipient),
		cmocka_unit_test(test_every_rcpt_refused_sends_no_message),
		cmocka_unit_test(
		    test_data_refused_decides_accepted_recipients),
		cmocka_unit_test(test_reply_after_dot_4xx_defers_5xx_fails),
		cmocka_unit_test(test_line_ends_are_crlf_and_dots_are_stuffed),
		cmocka_unit_test(
		    test_nul_in_message_fails_560_without_connecting),
		cmocka_unit_test(test_line_over_998_octets_fails_560),
		cmocka_unit_test(test_greeting_554_moves_to_the_next_host),
		cmocka_unit_test(test_421_at_rcpt_keeps_answered_recipients),
		cmocka_unit_test(test_silent_server_times_out_and_moves_on),
		cmocka_unit_test(
		    test_connection_lost_after_dot_defers_without_next_host),
		cmocka_unit_test(test_lmtp_one_reply_per_accepted_recipient_after_the_dot),
		cmocka_unit_test(test_lmtp_5xx_after_the_dot_fails_that_recipient_alone),
		cmocka_unit_test(
		    test_lmtp_multiline_reply_after_the_dot_is_one_recipients),
		cmocka_unit_test(test_lmtp_replies_cut_short_defer_the_rest),
		cmocka_unit_test(test_lmtp_lhlo_refused_defers_with_no_helo),
		cmocka_unit_test(test_lmtp_greeting_554_is_temporary),
		cmocka_unit_test(test_timeouts_are_rfc5321s),
		cmocka_unit_test(test_tls_encrypt_without_starttls_defers_475),
		cmocka_unit_test(test_tls_dane_match_delivers_and_says_dane),
		cmocka_unit_test(
		    test_tls_dane_mismatch_defers_475_without_mail),
		cmocka_unit_test(
		    test_tls_dane_without_starttls_defers_never_plaintext),
		cmocka_unit_test(
		    test_tls_dane_handshake_failure_is_no_plaintext_retry),
		cmocka_unit_test(test_tls_may_uses_starttls_and_says_so),
		cmocka_unit_test(
		    test_tls_may_handshake_failure_asks_for_plaintext_retry),
		cmocka_unit_test(
		    test_tls_verify_refuses_an_unverified_certificate),
		cmocka_unit_test(test_auth_plain_goes_only_after_tls),
		cmocka_unit_test(test_auth_is_never_sent_in_plaintext),
		cmocka_unit_test(test_auth_refused_defers),
		cmocka_unit_test(
		    test_message_from_a_pipe_is_copied_and_reread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
