/* session_test.c — whole SMTP sessions driven through a socketpair, with
 * a configuration directory and a spool made for each test: what a client
 * reads back, in order, what ends up in the queue, and how the session
 * ends. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "peer.h"
#include "../../smtp-in/session.h"
#include "testutil.h"

#define HOST	"mx.example.net"

enum { OUT_MAX = 256 * 1024, FILE_MAX = 64 * 1024 };

struct fixture {
	char		 root[64];
	char		 path[PATH_MAX];
	struct conf	 conf;
	struct session	 s;
	char		 out[OUT_MAX];
	size_t		 outlen;
	enum session_end end;
	enum session_mode mode;
	int		 codes[512];	/* the code of each (final) reply line */
	size_t		 ncodes;
	int		 tls_calls;	/* times the starttls stub ran */
	int		 auth_calls;
};

static struct fixture *current;	/* for the hooks */

#define PLAIN_OK	"AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA=="
#define PLAIN_WRONG	"AGFsaWNlQGV4YW1wbGUuY29tAHdyb25n"
#define LOGIN_USER	"YWxpY2VAZXhhbXBsZS5jb20="
#define LOGIN_PASS	"c2VjcmV0"

/* TLS "starts" and the session goes on over the same plaintext pair. */
static int
stub_starttls(struct session *s, char *why, size_t size)
{
	(void)why;
	(void)size;
	current->tls_calls++;
	(void)str_copy(s->tls_version, sizeof(s->tls_version), "TLSv1.3");
	(void)str_copy(s->tls_cipher, sizeof(s->tls_cipher), "TEST-CIPHER");
	return 0;
}

/* alice@example.com with "secret" is the one good login. */
static enum session_auth
stub_auth(struct session *s, const char *req, char *login, size_t size,
    char *why, size_t whysize)
{
	(void)s;
	current->auth_calls++;
	if (strcmp(req, "PLAIN " PLAIN_OK) == 0 ||
	    strcmp(req, "LOGIN " LOGIN_USER " " LOGIN_PASS) == 0) {
		(void)str_copy(login, size, "alice@example.com");
		return SESSION_AUTH_OK;
	}
	if (strcmp(req, "PLAIN AAAA") == 0) {
		(void)str_copy(why, whysize, "no NUL in PLAIN response");
		return SESSION_AUTH_BAD;
	}
	(void)str_copy(why, whysize, "wrong password");
	return SESSION_AUTH_NO;
}

static const struct session_hooks stub_hooks = { stub_starttls, stub_auth };


static void
write_file(struct fixture *f, const char *rel, const char *text)
{
	assert_true(str_fmt(f->path, sizeof(f->path), "%s/%s", f->root,
	    rel) == 0);
	tu_write_str(f->path, text);
}

static void
make_dir(struct fixture *f, const char *rel)
{
	assert_true(str_fmt(f->path, sizeof(f->path), "%s/%s", f->root,
	    rel) == 0);
	assert_int_equal(mkdir(f->path, 0755), 0);
}

/* A certificate and key where posthorn.conf's defaults look: their
 * content is smtp-tlsd's business, their presence smtp-in's. */
static void
with_certs(struct fixture *f)
{
	make_dir(f, "etc/certs");
	write_file(f, "etc/certs/fullchain.pem", "cert\n");
	write_file(f, "etc/certs/privkey.pem", "key\n");
	/* Private, as install.sh makes it: smtp-tlsd refuses it else. */
	assert_int_equal(chmod(f->path, 0640), 0);
}

static int
setup(void **state)
{
	struct fixture *f;
	char conf[1024], err[512];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(tu_tmpdir(f->root, sizeof(f->root), "session_test"),
	    0);
	make_dir(f, "etc");
	make_dir(f, "etc/domains");
	make_dir(f, "etc/domains/example.com");
	make_dir(f, "etc/domains/catchall.example");
	write_file(f, "etc/domains/example.com/users", "alice:!\nbob:!\n");
	write_file(f, "etc/domains/example.com/aliases", "info: alice\n");
	write_file(f, "etc/domains/catchall.example/users", "");
	write_file(f, "etc/domains/catchall.example/aliases",
	    "*: alice@example.com\n");
	make_dir(f, "spool");
	make_dir(f, "spool/tmp");
	make_dir(f, "spool/new");
	make_dir(f, "spool/state");
	make_dir(f, "mail");
	assert_true(str_fmt(conf, sizeof(conf), "hostname = " HOST "\n"
	    "spool = %s/spool\nmaildirs = %s/mail\n"
	    "max_message_size = 64K\n", f->root, f->root) == 0);
	write_file(f, "etc/posthorn.conf", conf);
	assert_true(str_fmt(f->path, sizeof(f->path), "%s/etc", f->root) == 0);
	if (conf_load(&f->conf, f->path, err, sizeof(err)) == -1)
		fail_msg("conf_load: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	return tu_teardown(f, f->root);
}

static void
parse_codes(struct fixture *f)
{
	size_t i = 0;

	f->ncodes = 0;
	while (i < f->outlen) {
		const char *line = f->out + i;
		const char *lf = memchr(line, '\n', f->outlen - i);
		size_t n;

		assert_non_null(lf);
		n = (size_t)(lf - line) + 1;
		assert_true(n >= 6 && line[n - 2] == '\r');
		if (line[3] == ' ' && f->ncodes < 512)
			f->codes[f->ncodes++] = atoi(line);
		i += n;
	}
}

/* Run one session: the client's bytes are all sent first (and its write
 * side closed unless keep_open), then the session runs to its end, then
 * everything it wrote is read back. */
static void
run_session(struct fixture *f, const char *in, size_t inlen, int keep_open,
    int64_t cmd_timeout_ms)
{
	struct io io;
	int sv[2];
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fd_write_all(sv[1], in, inlen), 0);
	if (!keep_open)
		assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	io_fd_init(&io, sv[0], sv[0]);
	current = f;
	session_init(&f->s, &f->conf, &stub_hooks, f->mode, &io, "192.0.2.7");
	if (cmd_timeout_ms > 0)
		f->s.cmd_timeout = f->s.data_timeout = f->s.idle_timeout =
		    cmd_timeout_ms;
	f->s.drain_timeout = 1000;
	f->s.auth_delay_ms = 10;
	f->end = session_run(&f->s);
	close(sv[0]);
	f->outlen = 0;
	while ((n = read(sv[1], f->out + f->outlen,
	    sizeof(f->out) - 1 - f->outlen)) > 0)
		f->outlen += (size_t)n;
	assert_true(n == 0 || (n == -1 && errno == ECONNRESET));
	f->out[f->outlen] = '\0';
	close(sv[1]);
	parse_codes(f);
}

#define RUN(f, lit)	run_session((f), (lit), sizeof(lit) - 1, 0, 0)

/* The client side of a STARTTLS session, in a child: what comes before
 * the first "STARTTLS\r\n" is sent, then nothing until the 220 to it, as
 * a client that waits for it does; then the rest.  Everything read goes
 * to the file at path. */
static void
tls_client(int fd, const char *in, const char *path)
{
	const char *cut = strstr(in, "STARTTLS\r\n");
	char buf[OUT_MAX];
	size_t len = 0, first = cut != NULL ? (size_t)(cut - in) + 10 :
	    strlen(in);
	ssize_t n;
	int sent = 0;

	if (fd_write_all(fd, in, first) == -1)
		_exit(1);
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (!sent && strstr(buf, "220 2.0.0 Ready") != NULL) {
			if (fd_write_all(fd, in + first, strlen(in + first)) ==
			    -1 || shutdown(fd, SHUT_WR) == -1)
				_exit(1);
			sent = 1;
		}
		if (!sent && cut == NULL && shutdown(fd, SHUT_WR) == 0)
			sent = 1;
	}
	tu_write_file(path, buf, len);
	_exit(0);
}

static void
run_tls(struct fixture *f, const char *in)
{
	char path[PATH_MAX];
	struct io io;
	int sv[2], status;
	pid_t pid;
	FILE *fp;

	assert_true(str_fmt(path, sizeof(path), "%s/client.out", f->root) ==
	    0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(sv[0]);
		tls_client(sv[1], in, path);
	}
	close(sv[1]);
	io_fd_init(&io, sv[0], sv[0]);
	current = f;
	session_init(&f->s, &f->conf, &stub_hooks, f->mode, &io, "192.0.2.7");
	f->s.drain_timeout = 1000;
	f->s.auth_delay_ms = 10;
	f->end = session_run(&f->s);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(fp = fopen(path, "r"));
	f->outlen = fread(f->out, 1, sizeof(f->out) - 1, fp);
	fclose(fp);
	f->out[f->outlen] = '\0';
	parse_codes(f);
}

#define RUN_TLS(f, lit)	run_tls((f), (lit))

static void
assert_codes(const struct fixture *f, const int *want, size_t n)
{
	size_t i;

	if (f->ncodes != n)
		fail_msg("%zu replies, want %zu:\n%s", f->ncodes, n, f->out);
	for (i = 0; i < n; i++)
		if (f->codes[i] != want[i])
			fail_msg("reply %zu is %d, want %d:\n%s", i, f->codes[i],
			    want[i], f->out);
}

#define CODES(f, ...)	do {						\
	static const int want_[] = { __VA_ARGS__ };			\
	assert_codes((f), want_, sizeof(want_) / sizeof(want_[0]));	\
} while (0)

static void
assert_out_has(const struct fixture *f, const char *s)
{
	if (strstr(f->out, s) == NULL)
		fail_msg("no \"%s\" in:\n%s", s, f->out);
}

/* Count the files of spool/SUB; with one, read it into buf. */
static size_t
spool_files(struct fixture *f, const char *sub, char *buf, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	assert_true(str_fmt(dir, sizeof(dir), "%s/spool/%s", f->root,
	    sub) == 0);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && buf != NULL) {
			ssize_t r;
			int fd;

			assert_true(str_fmt(f->path, sizeof(f->path), "%s/%s",
			    dir, de->d_name) == 0);
			assert_true((fd = open(f->path, O_RDONLY)) != -1);
			r = read(fd, buf, len - 1);
			assert_true(r >= 0);
			buf[r] = '\0';
			close(fd);
		}
	}
	closedir(d);
	return n;
}

static void
test_greeting_and_ehlo_lines(void **state)
{
	struct fixture *f = *state;

	RUN(f, "EHLO client.example\r\nQUIT\r\n");
	assert_string_equal(f->out,
	    "220 " HOST " ESMTP posthorn\r\n"
	    "250-" HOST "\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 65536\r\n"
	    "250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250-SMTPUTF8\r\n"
	    "250-DSN\r\n"
	    "250 HELP\r\n"
	    "221 2.0.0 " HOST " closing connection\r\n");
	assert_int_equal(f->end, SESSION_QUIT);
}

static void
test_helo_replies_with_hostname(void **state)
{
	struct fixture *f = *state;

	RUN(f, "HELO client.example\r\nHELO\r\nHELO bad\x01name\r\n");
	CODES(f, 220, 250, 501, 501);
	assert_out_has(f, "\r\n250 " HOST "\r\n");
	assert_int_equal(f->end, SESSION_EOF);
}

static void
test_pipelined_batch_is_answered_in_order_and_queued(void **state)
{
	struct fixture *f = *state;
	char file[FILE_MAX];

	RUN(f, "EHLO client.example\r\n"
	    "MAIL FROM:<bob@remote.example> SIZE=100\r\n"
	    "RCPT TO:<alice@example.com>\r\n"
	    "RCPT TO:<nobody@example.com>\r\n"
	    "RCPT TO:<info@example.com>\r\n"
	    "DATA\r\n"
	    "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n"
	    "NOOP\r\nQUIT\r\n");
	CODES(f, 220, 250, 250, 250, 550, 250, 354, 250, 250, 221);
	assert_out_has(f, "550 5.1.1 <nobody@example.com>: no such user here");
	assert_out_has(f, "250 2.0.0 Ok: queued as ");
	assert_int_equal(spool_files(f, "tmp", NULL, 0), 0);
	assert_int_equal(spool_files(f, "new", file, sizeof(file)), 1);
	assert_non_null(strstr(file, "\nrcpt <alice@example.com>\n"
	    "rcpt <info@example.com>\n"));
	assert_non_null(strstr(file, "\nvia mx\n"));
	assert_non_null(strstr(file, "\npeer 192.0.2.7\n"));
	assert_non_null(strstr(file, "\nhelo client.example\n"));
	assert_non_null(strstr(file, "\n\nReceived: from client.example "
	    "([192.0.2.7])\n\tby " HOST " (posthorn) with ESMTP id "));
	/* Two recipients: neither is named. */
	assert_null(strstr(file, "\tfor <"));
	assert_non_null(strstr(file, "\nSubject: hi\n\n.dot\nbody\n"));
	assert_int_equal(f->s.messages, 1);
}

/* RFC 3461: each recipient's NOTIFY and ORCPT, and the transaction's
 * RET and ENVID, reach the envelope decoded; a refused recipient's do
 * not, and the next transaction starts without them. */
static void
test_dsn_parameters_reach_the_envelope(void **state)
{
	struct fixture *f = *state;
	char file[FILE_MAX];

	RUN(f, "EHLO client.example\r\n"
	    "MAIL FROM:<bob@remote.example> RET=HDRS ENVID=QQ+2B1\r\n"
	    "RCPT TO:<nobody@example.com> NOTIFY=SUCCESS "
	    "ORCPT=rfc822;nobody@example.com\r\n"
	    "RCPT TO:<alice@example.com> NOTIFY=NEVER\r\n"
	    "RCPT TO:<info@example.com> NOTIFY=success,delay "
	    "ORCPT=rfc822;list+2Binfo@example.com\r\n"
	    "RCPT TO:<bad@example.com> NOTIFY=NEVER,DELAY\r\n"
	    "DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 250, 550, 250, 250, 501, 354, 250, 221);
	assert_out_has(f, "250-DSN\r\n");
	assert_int_equal(spool_files(f, "new", file, sizeof(file)), 1);
	assert_non_null(strstr(file, "\nrcpt <alice@example.com>\n"
	    "notify NEVER\nrcpt <info@example.com>\nnotify SUCCESS,DELAY\n"
	    "orcpt rfc822;list+info@example.com\nret HDRS\nenvid QQ+1\n"));
	assert_null(strstr(file, "nobody"));
}

static void
test_one_recipient_is_named_and_helo_is_smtp(void **state)
{
	struct fixture *f = *state;
	char file[FILE_MAX];

	RUN(f, "HELO client.example\r\nMAIL FROM:<>\r\n"
	    "RCPT TO:<Postmaster>\r\nRCPT TO:<postmaster>\r\n"
	    "DATA\r\n.\r\nQUIT\r\n");
	CODES(f, 220, 250, 250, 250, 250, 354, 250, 221);
	assert_int_equal(spool_files(f, "new", file, sizeof(file)), 1);
	assert_non_null(strstr(file, "\nfrom <>\n"));
	/* Stored once, qualified with our name. */
	assert_non_null(strstr(file, "\nrcpt <postmaster@" HOST ">\nvia"));
	assert_non_null(strstr(file, " with SMTP id "));
	assert_non_null(strstr(file, "\n\tfor <postmaster@" HOST ">;\n\t"));
}

static void
test_relay_is_refused(void **state)
{
	struct fixture *f = *state;

	RUN(f, "EHLO client.example\r\nMAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<victim@gmail.com>\r\nRCPT TO:<x@[127.0.0.1]>\r\n"
	    "RCPT TO:<@example.com:x@gmail.com>\r\nDATA\r\nQUIT\r\n");
	CODES(f, 220, 250, 250, 554, 554, 554, 554, 221);
	assert_out_has(f, "554 5.7.1 <victim@gmail.com>: relay access denied");
	assert_out_has(f, "554 5.5.1 no valid recipients");
	assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	assert_int_equal(spool_files(f, "tmp", NULL, 0), 0);
}

static void
test_101st_recipient_gets_452(void **state)
{
	struct fixture *f = *state;
	static char in[16384];
	struct str s;
	int i;

	str_init(&s, in, sizeof(in));
	assert_int_equal(str_appends(&s, "EHLO c.example\r\n"
	    "MAIL FROM:<bob@remote.example>\r\n"), 0);
	for (i = 1; i <= 101; i++)
		assert_int_equal(str_appendf(&s,
		    "RCPT TO:<r%d@catchall.example>\r\n", i), 0);
	/* A duplicate is accepted, and stored once. */
	assert_int_equal(str_appends(&s, "RCPT TO:<r1@catchall.example>\r\n"
	    "QUIT\r\n"), 0);
	run_session(f, s.s, s.len, 0, 0);
	assert_int_equal(f->ncodes, 1 + 1 + 1 + 101 + 1 + 1);
	for (i = 3; i < 103; i++)
		assert_int_equal(f->codes[i], 250);
	assert_int_equal(f->codes[103], 452);
	assert_int_equal(f->codes[104], 250);
	assert_out_has(f, "452 4.5.3 too many recipients");
	assert_int_equal(f->s.nrcpts, 100);
	/* 452 is not counted as an error. */
	assert_int_equal(f->s.errors, 0);
}

static void
test_errors_limit_gives_421(void **state)
{
	struct fixture *f = *state;
	static char in[4096];
	struct str s;
	int i;

	str_init(&s, in, sizeof(in));
	for (i = 0; i < 30; i++)
		assert_int_equal(str_appends(&s, "BOGUS\r\n"), 0);
	run_session(f, s.s, s.len, 0, 0);
	assert_int_equal(f->ncodes, 1 + SMTP_ERRORS_MAX + 1);
	for (i = 1; i <= SMTP_ERRORS_MAX; i++)
		assert_int_equal(f->codes[i], 500);
	assert_int_equal(f->codes[SMTP_ERRORS_MAX + 1], 421);
	assert_out_has(f, "421 4.7.0 too many errors; closing\r\n");
	assert_int_equal(f->end, SESSION_ERRORS);
}

static void
test_get_closes(void **state)
{
	struct fixture *f = *state;

	RUN(f, "GET / HTTP/1.1\r\nHost: x\r\n\r\nQUIT\r\n");
	CODES(f, 220, 502);
	assert_out_has(f, "502 5.5.1 not an HTTP server; closing");
	assert_int_equal(f->end, SESSION_HTTP);
}

static void
test_smuggled_message_is_never_queued(void **state)
{
	struct fixture *f = *state;

	RUN(f, "EHLO c.example\r\nMAIL FROM:<bob@remote.example>\r\n"
	    "RCPT TO:<alice@example.com>\r\nDATA\r\n"
	    "Subject: first\r\n\r\nbody\n.\n"
	    "MAIL FROM:<admin@example.com>\r\nRCPT TO:<bob@example.com>\r\n"
	    "DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n");
	CODES(f, 220, 250, 250, 250, 354, 554);
	assert_out_has(f, "554 5.5.2 bare CR or LF or NUL in DATA");
	assert_int_equal(f->end, SESSION_SMUGGLING);
	assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	assert_int_equal(spool_files(f, "tmp", NULL, 0), 0);
}

static void
test_too_big_message_is_refused_and_session_goes_on(void **state)
{
	struct fixture *f = *state;
	static char in[128 * 1024];
	struct str s;
	int i;

	str_init(&s, in, sizeof(in));
	assert_int_equal(str_appends(&s, "EHLO c.example\r\n"
	    "MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
	    "DATA\r\nSubject: big\r\n\r\n"), 0);
	for (i = 0; i < 70; i++)
		assert_int_equal(str_appendf(&s, "%01000d\r\n", i), 0);
	assert_int_equal(str_appends(&s, ".\r\nNOOP\r\n"), 0);
	run_session(f, s.s, s.len, 0, 0);
	CODES(f, 220, 250, 250, 250, 354, 552, 250);
	assert_out_has(f, "552 5.3.4 ");
	assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	assert_int_equal(spool_files(f, "tmp", NULL, 0), 0);
}

static void
test_bad_sequences_are_503(void **state)
{
	struct fixture *f = *state;

	RUN(f, "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.com>\r\n"
	    "DATA\r\nEHLO c.example\r\nMAIL FROM:<a@b.example>\r\n"
	    "MAIL FROM:<a@b.example>\r\nDATA\r\nRSET\r\n"
	    "RCPT TO:<alice@example.com>\r\n");
	CODES(f, 220, 503, 503, 503, 250, 250, 503, 554, 250, 503);
	assert_out_has(f, "503 5.5.1 send HELO or EHLO first");
	assert_out_has(f, "503 5.5.1 nested MAIL command");
	assert_int_equal(f->s.errors, 6);
}

/* STARTTLS and AUTH need a greeting and no transaction: each says so,
 * not "need MAIL command first" (RFC 4954 §4: AUTH during a transaction
 * is a 503). */
static void
test_starttls_and_auth_out_of_sequence_say_why(void **state)
{
	struct fixture *f = *state;

	RUN(f, "STARTTLS\r\nAUTH PLAIN " PLAIN_OK "\r\nEHLO c.example\r\n"
	    "MAIL FROM:<a@b.example>\r\nSTARTTLS\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\nRSET\r\nQUIT\r\n");
	CODES(f, 220, 503, 503, 250, 250, 503, 503, 250, 221);
	assert_out_has(f, "503 5.5.1 send HELO or EHLO first\r\n"
	    "503 5.5.1 send HELO or EHLO first\r\n");
	assert_out_has(f, "503 5.5.1 STARTTLS not allowed during a mail "
	    "transaction\r\n");
	assert_out_has(f, "503 5.5.1 AUTH not allowed during a mail "
	    "transaction\r\n");
	assert_null(strstr(f->out, "need MAIL command first"));
}

static void
test_bare_lf_and_nul_commands_are_refused(void **state)
{
	struct fixture *f = *state;
	static const char in[] = "EHLO c.example\nNOOP\0x\r\nNOOP\r\n";

	run_session(f, in, sizeof(in) - 1, 0, 0);
	CODES(f, 220, 500, 500, 250);
	assert_out_has(f, "500 5.5.2 line must end with CRLF");
	assert_int_equal(f->s.state, SESSION_FRESH);
}

static void
test_long_command_line_is_refused(void **state)
{
	struct fixture *f = *state;
	static char in[3 * SMTP_CMD_LINE_MAX];

	memcpy(in, "NOOP ", 5);
	memset(in + 5, 'x', sizeof(in) - 5 - 8);
	memcpy(in + sizeof(in) - 8, "\r\nQUIT\r\n", 8);
	run_session(f, in, sizeof(in), 0, 0);
	CODES(f, 220, 500, 221);
	assert_out_has(f, "500 5.5.2 line too long");
}

static void
test_other_verbs(void **state)
{
	struct fixture *f = *state;

	RUN(f, "noop\r\nVRFY bob\r\nEXPN list\r\nHELP\r\nRSET\r\nquit\r\n");
	CODES(f, 220, 250, 252, 502, 214, 250, 221);
	assert_out_has(f, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n");
	assert_out_has(f, "252 2.5.0 ");
}

static void
test_idle_client_times_out(void **state)
{
	struct fixture *f = *state;

	run_session(f, "EHLO c.example\r\n", 16, 1, 200);
	CODES(f, 220, 250, 421);
	assert_out_has(f, "421 4.4.2 " HOST " timeout; closing\r\n");
	assert_int_equal(f->end, SESSION_TIMEOUT);
}

/* A client that sends first, then each of the lines of paced (NULL
 * ended) pace_ms apart, as a client that waits does; then reads what
 * the session wrote into the file at path.  A write refused (the
 * session is gone) ends the writing. */
static void
paced_client(int fd, const char *first, const char *const *paced,
    int pace_ms, const char *path)
{
	static char buf[OUT_MAX];
	size_t len = 0, i;
	ssize_t n;

	(void)signal(SIGPIPE, SIG_IGN);
	if (fd_write_all(fd, first, strlen(first)) == 0)
		for (i = 0; paced[i] != NULL; i++) {
			(void)poll(NULL, 0, pace_ms);
			if (fd_write_all(fd, paced[i], strlen(paced[i])) == -1)
				break;
		}
	(void)shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	tu_write_file(path, buf, len);
	_exit(0);
}

static void
run_paced(struct fixture *f, const char *first, const char *const *paced,
    int pace_ms, int64_t cmd_timeout_ms, int64_t idle_timeout_ms)
{
	char path[PATH_MAX];
	struct io io;
	int sv[2], status;
	pid_t pid;
	FILE *fp;

	assert_true(str_fmt(path, sizeof(path), "%s/client.out", f->root) ==
	    0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(sv[0]);
		paced_client(sv[1], first, paced, pace_ms, path);
	}
	close(sv[1]);
	io_fd_init(&io, sv[0], sv[0]);
	current = f;
	session_init(&f->s, &f->conf, &stub_hooks, f->mode, &io, "192.0.2.7");
	f->s.cmd_timeout = cmd_timeout_ms;
	f->s.idle_timeout = idle_timeout_ms;
	f->s.drain_timeout = 1000;
	f->end = session_run(&f->s);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(fp = fopen(path, "r"));
	f->outlen = fread(f->out, 1, sizeof(f->out) - 1, fp);
	fclose(fp);
	f->out[f->outlen] = '\0';
	parse_codes(f);
}

/* A NOOP before each deadline does not keep a session: the clock runs
 * from the last command that moved it on (here MAIL). */
static void
test_noops_do_not_keep_a_session_alive(void **state)
{
	struct fixture *f = *state;
	static const char *const noops[] = { "NOOP\r\n", "NOOP\r\n",
	    "NOOP\r\n", "NOOP\r\n", "NOOP\r\n", "NOOP\r\n", "NOOP\r\n",
	    "NOOP\r\n", "NOOP\r\n", "NOOP\r\n", "NOOP\r\n", "NOOP\r\n",
	    "QUIT\r\n", NULL };

	/* Each NOOP comes well within the 400 ms of a command; their sum
	 * does not. */
	run_paced(f, "EHLO c.example\r\nMAIL FROM:<bob@remote.example>\r\n",
	    noops, 100, 400, 400);
	assert_int_equal(f->end, SESSION_TIMEOUT);
	assert_out_has(f, "421 4.4.2 " HOST " timeout; closing\r\n");
	assert_true(f->ncodes < 3 + 8);
}

/* Outside a transaction, before AUTH, a session waits SMTP_IDLE_TIMEOUT
 * for a command; inside one, the full SMTP_CMD_TIMEOUT. */
static void
test_idle_timeout_is_shorter_outside_a_transaction(void **state)
{
	struct fixture *f = *state;
	static const char *const late_rcpt[] = {
	    "RCPT TO:<alice@example.com>\r\nQUIT\r\n", NULL };
	static const char *const late_mail[] = {
	    "MAIL FROM:<bob@remote.example>\r\nQUIT\r\n", NULL };

	run_paced(f, "EHLO c.example\r\nMAIL FROM:<bob@remote.example>\r\n",
	    late_rcpt, 300, 5000, 100);
	CODES(f, 220, 250, 250, 250, 221);
	assert_int_equal(f->end, SESSION_QUIT);

	run_paced(f, "EHLO c.example\r\n", late_mail, 300, 5000, 100);
	CODES(f, 220, 250, 421);
	assert_int_equal(f->end, SESSION_TIMEOUT);
	assert_int_equal(SMTP_IDLE_TIMEOUT, 60);
	assert_int_equal(SMTP_CMD_TIMEOUT, 300);
}

/* NOOP, RSET, VRFY, a greeting again, unknown commands: SMTP_JUNK_MAX
 * between two accepted messages, then 421. */
static void
test_commands_that_move_no_mail_are_capped(void **state)
{
	struct fixture *f = *state;
	static char in[8192];
	static const char *const junk[] = { "NOOP\r\n", "RSET\r\n",
	    "VRFY bob\r\n", "EHLO c.example\r\n", "HELP\r\n" };
	static const char msg[] = "MAIL FROM:<bob@remote.example>\r\n"
	    "RCPT TO:<alice@example.com>\r\nDATA\r\nSubject: t\r\n\r\n"
	    "hi\r\n.\r\n";
	struct str s;
	size_t i;

	/* The cap, an accepted message, the cap again: no 421. */
	str_init(&s, in, sizeof(in));
	assert_int_equal(str_appends(&s, "EHLO c.example\r\n"), 0);
	for (i = 0; i < SMTP_JUNK_MAX; i++)
		assert_int_equal(str_appends(&s, junk[i % 5]), 0);
	assert_int_equal(str_appends(&s, msg), 0);
	for (i = 0; i < SMTP_JUNK_MAX; i++)
		assert_int_equal(str_appends(&s, "NOOP\r\n"), 0);
	assert_int_equal(str_appends(&s, "QUIT\r\n"), 0);
	run_session(f, s.s, s.len, 0, 0);
	assert_int_equal(f->end, SESSION_QUIT);
	assert_int_equal(spool_files(f, "new", NULL, 0), 1);

	/* One more NOOP than the cap: 421 instead of its 250. */
	str_init(&s, in, sizeof(in));
	assert_int_equal(str_appends(&s, "EHLO c.example\r\n"), 0);
	for (i = 0; i < SMTP_JUNK_MAX + 5; i++)
		assert_int_equal(str_appends(&s, "NOOP\r\n"), 0);
	run_session(f, s.s, s.len, 0, 0);
	assert_int_equal(f->ncodes, 2 + SMTP_JUNK_MAX + 1);
	assert_int_equal(f->codes[f->ncodes - 2], 250);
	assert_int_equal(f->codes[f->ncodes - 1], 421);
	assert_out_has(f, "421 4.7.0 too many commands that move no mail; "
	    "closing\r\n");
	assert_int_equal(f->end, SESSION_JUNK);
}

static void
test_data_timeout_aborts_the_message(void **state)
{
	struct fixture *f = *state;
	static const char in[] = "EHLO c.example\r\n"
	    "MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
	    "DATA\r\nSubject: half\r\n";

	run_session(f, in, sizeof(in) - 1, 1, 200);
	CODES(f, 220, 250, 250, 250, 354, 421);
	assert_int_equal(f->end, SESSION_TIMEOUT);
	assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	assert_int_equal(spool_files(f, "tmp", NULL, 0), 0);
}

static void
test_peer_addresses_are_normalized(void **state)
{
	char buf[SMTP_PEER_MAX];

	(void)state;
	assert_int_equal(peer_normalize("::ffff:192.0.2.7", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "192.0.2.7");
	assert_int_equal(peer_normalize("2001:DB8:0::5", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2001:db8::5");
	assert_int_equal(peer_normalize("nonsense", buf, sizeof(buf)), -1);
	assert_string_equal(buf, "unknown");
}

/* --- STARTTLS and AUTH (the helpers stubbed) ----------------------- */

static void
test_no_certificate_no_starttls(void **state)
{
	struct fixture *f = *state;

	RUN(f, "EHLO c.example\r\nSTARTTLS\r\nQUIT\r\n");
	CODES(f, 220, 250, 454, 221);
	assert_null(strstr(f->out, "STARTTLS\r\n"));
	assert_int_equal(f->tls_calls, 0);
}

/* A key others can read would be refused by smtp-tlsd: not offered. */
static void
test_key_others_can_read_no_starttls(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	assert_int_equal(chmod(f->path, 0644), 0);
	RUN(f, "EHLO c.example\r\nSTARTTLS\r\nQUIT\r\n");
	CODES(f, 220, 250, 454, 221);
	assert_null(strstr(f->out, "STARTTLS\r\n"));
	assert_int_equal(f->tls_calls, 0);
}

static void
test_starttls_resets_the_session(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\n"
	    "MAIL FROM:<a@b.example>\r\n"
	    "EHLO c.example\r\nSTARTTLS\r\nQUIT\r\n");
	/* After TLS: MAIL needs a new EHLO; a second STARTTLS is 503. */
	CODES(f, 220, 250, 220, 503, 250, 503, 221);
	assert_int_equal(f->tls_calls, 1);
	assert_out_has(f, "250-STARTTLS\r\n");
	assert_out_has(f, "250-AUTH PLAIN LOGIN\r\n");
}

static void
test_starttls_with_pipelined_bytes_is_refused(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	/* The RSET rides in the same packet as STARTTLS: it must be
	 * answered in plaintext, and TLS must not start. */
	RUN(f, "EHLO c.example\r\nSTARTTLS\r\nRSET\r\nQUIT\r\n");
	CODES(f, 220, 250, 503, 250, 221);
	assert_int_equal(f->tls_calls, 0);
}

static void
test_auth_needs_tls_and_is_not_offered_before(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	RUN(f, "EHLO c.example\r\nAUTH PLAIN " PLAIN_OK "\r\nQUIT\r\n");
	CODES(f, 220, 250, 538, 221);
	assert_null(strstr(f->out, "AUTH PLAIN"));
	assert_int_equal(f->auth_calls, 0);
}

static void
test_auth_plain_login_and_cancel(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN\r\n*\r\n"
	    "AUTH PLAIN !!!\r\n"
	    "AUTH PLAIN AAAA\r\n"
	    "AUTH CRAM-MD5\r\n"
	    "AUTH LOGIN\r\n" LOGIN_USER "\r\n" LOGIN_PASS "\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\nEHLO c.example\r\nQUIT\r\n");
	CODES(f, 220, 250, 220, 250, 334, 501, 501, 501, 504, 334, 334, 235,
	    503, 250, 221);
	assert_out_has(f, "334 VXNlcm5hbWU6\r\n");
	assert_out_has(f, "334 UGFzc3dvcmQ6\r\n");
	assert_int_equal(f->s.errors >= 4, 1);
	assert_string_equal(f->s.login, "alice@example.com");
}

static void
test_three_wrong_passwords_close_the_session(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_WRONG "\r\n"
	    "AUTH PLAIN " PLAIN_WRONG "\r\n"
	    "AUTH PLAIN " PLAIN_WRONG "\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n");
	CODES(f, 220, 250, 220, 250, 535, 535, 421);
	assert_int_equal(f->end, SESSION_AUTH_FAILED);
	assert_int_equal(f->auth_calls, 3);
}

static void
test_submission_requires_auth_and_owned_sender(void **state)
{
	struct fixture *f = *state;
	char buf[FILE_MAX];

	with_certs(f);
	f->mode = SESSION_SUBMISSION;
	RUN_TLS(f, "EHLO c.example\r\nMAIL FROM:<alice@example.com>\r\n"
	    "STARTTLS\r\nEHLO c.example\r\n"
	    "MAIL FROM:<alice@example.com>\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<bob@example.com>\r\n"
	    "MAIL FROM:<info@example.com>\r\n"
	    "RCPT TO:<someone@gmail.example>\r\n"
	    "DATA\r\n"
	    "From: Alice <alice@example.com>\r\n"
	    "\r\nhello\r\n.\r\n"
	    "MAIL FROM:<a.li.ce+x@example.com>\r\nRSET\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 530, 220, 250, 530, 235, 550, 250, 250, 354, 250,
	    250, 250, 221);
	assert_out_has(f, "550 5.7.1 <bob@example.com>: not an address of "
	    "user alice@example.com");
	assert_int_equal(spool_files(f, "new", buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "via submission\n"));
	assert_non_null(strstr(buf, "\nauth alice@example.com\n"));
	assert_non_null(strstr(buf, "with ESMTPSA id "));
	assert_non_null(strstr(buf, "(using TLSv1.3 with cipher "
	    "TEST-CIPHER)"));
	assert_null(strstr(buf, "alice@example.com)"));
}

static void
test_forged_from_header_is_refused(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	f->mode = SESSION_SUBMISSION;
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<someone@gmail.example>\r\n"
	    "DATA\r\n"
	    "Subject: hi\r\nFrom: alice@example.com,\r\n"
	    " The Boss <ceo@example.com>\r\n"
	    "\r\nFrom: this line is the body\r\n.\r\nQUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 250, 250, 354, 550, 221);
	assert_out_has(f, "550 5.7.1 From: <ceo@example.com> is not an "
	    "address of user alice@example.com");
	assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	assert_int_equal(spool_files(f, "tmp", NULL, 0), 0);
}

/* The names a DKIM signer takes for From: (RFC 5322 §4.5.8 allows blanks
 * before the colon) are From: to the policy too; and two From: fields,
 * of which a reader and a verifier could each take another, are refused
 * even when both are the user's. */
static void
test_from_spelled_with_blanks_or_twice_is_refused(void **state)
{
	static const char *const heads[] = {
		"From : Boss <ceo@example.com>\r\n",
		"FROM\t: ceo@example.com\r\n",
		"from    :ceo@example.com\r\n",
		"From: alice@example.com\r\nFrom: alice@example.com\r\n",
	};
	struct fixture *f = *state;
	char in[2048];
	size_t i;

	with_certs(f);
	f->mode = SESSION_SUBMISSION;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		assert_true(str_fmt(in, sizeof(in), "EHLO c.example\r\n"
		    "STARTTLS\r\nEHLO c.example\r\n"
		    "AUTH PLAIN " PLAIN_OK "\r\n"
		    "MAIL FROM:<alice@example.com>\r\n"
		    "RCPT TO:<someone@gmail.example>\r\nDATA\r\n"
		    "%sSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		    heads[i]) == 0);
		RUN_TLS(f, in);
		CODES(f, 220, 250, 220, 250, 235, 250, 250, 354, 550, 221);
		assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	}
}

/* Local parts fold their case here, another domain's need not: Bob@ and
 * bob@ of a remote domain are two recipients, ALICE@ and alice@ of ours
 * one. */
static void
test_remote_recipients_keep_their_case(void **state)
{
	struct fixture *f = *state;
	char buf[FILE_MAX];

	with_certs(f);
	f->mode = SESSION_SUBMISSION;
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<Bob@Gmail.example>\r\nRCPT TO:<bob@gmail.example>\r\n"
	    "RCPT TO:<ALICE@example.com>\r\nRCPT TO:<alice@example.com>\r\n"
	    "DATA\r\nFrom: alice@example.com\r\n\r\nhi\r\n.\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 250, 250, 250, 250, 250, 354, 250,
	    221);
	assert_int_equal(spool_files(f, "new", buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "rcpt <Bob@gmail.example>\n"
	    "rcpt <bob@gmail.example>\nrcpt <ALICE@example.com>\n"));
	assert_null(strstr(buf, "rcpt <alice@example.com>"));
}

/* Send-as through aliases (issue 15.4): an alias that bob receives too
 * is not alice's, the catch-all that leads everything to her gives her
 * nothing, nor does postmaster; an alias whose one target is alice and
 * an address the senders file gives her are hers. */
static void
test_send_as_only_through_an_alias_of_the_user_alone(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	write_file(f, "etc/domains/example.com/aliases",
	    "info: alice\nbob: bob, alice\npostmaster: alice\n");
	f->mode = SESSION_SUBMISSION;
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<bob@example.com>\r\n"
	    "MAIL FROM:<billing@catchall.example>\r\n"
	    "MAIL FROM:<postmaster@example.com>\r\n"
	    "MAIL FROM:<info@example.com>\r\nRSET\r\n"
	    "MAIL FROM:<news@catchall.example>\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 550, 550, 550, 250, 250, 550, 221);
	assert_out_has(f, "550 5.7.1 <bob@example.com>: not an address of "
	    "user alice@example.com");
	assert_out_has(f, "550 5.7.1 <billing@catchall.example>: not an "
	    "address of user alice@example.com");
	write_file(f, "etc/senders", "# given\nbob@example.com: "
	    "news@catchall.example\nalice@example.com: @other.example, "
	    " News@Catchall.example\n");
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<news@catchall.example>\r\nRSET\r\n"
	    "MAIL FROM:<x@other.example>\r\nRSET\r\n"
	    "MAIL FROM:<billing@catchall.example>\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 250, 250, 250, 250, 550, 221);
}

/* Sender:, Resent-From: and Resent-Sender: are checked as From: is; two
 * Sender: fields are refused as two From: fields are. */
static void
test_sender_and_resent_fields_are_checked_like_from(void **state)
{
	static const struct {
		const char *head, *reply;
	} cases[] = {
		{ "From: alice@example.com\r\nSender: ceo@example.com\r\n",
		  "550 5.7.1 Sender: <ceo@example.com> is not" },
		{ "From: alice@example.com\r\nResent-From: The Boss\r\n"
		  " <ceo@example.com>\r\n",
		  "550 5.7.1 Resent-From: <ceo@example.com> is not" },
		{ "resent-sender : ceo@example.com\r\n",
		  "550 5.7.1 Resent-Sender: <ceo@example.com> is not" },
		{ "Sender: alice@example.com\r\nSender: info@example.com\r\n",
		  "550 5.7.1 more than one Sender: field" },
	};
	struct fixture *f = *state;
	char in[2048];
	size_t i;

	with_certs(f);
	f->mode = SESSION_SUBMISSION;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(str_fmt(in, sizeof(in), "EHLO c.example\r\n"
		    "STARTTLS\r\nEHLO c.example\r\n"
		    "AUTH PLAIN " PLAIN_OK "\r\n"
		    "MAIL FROM:<alice@example.com>\r\n"
		    "RCPT TO:<someone@gmail.example>\r\nDATA\r\n"
		    "%sSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		    cases[i].head) == 0);
		RUN_TLS(f, in);
		CODES(f, 220, 250, 220, 250, 235, 250, 250, 354, 550, 221);
		assert_out_has(f, cases[i].reply);
		assert_int_equal(spool_files(f, "new", NULL, 0), 0);
	}
	/* Her own, and an alias of hers alone, in every field: taken. */
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<someone@gmail.example>\r\nDATA\r\n"
	    "From: Info <info@example.com>\r\nSender: alice@example.com\r\n"
	    "Resent-From: alice+x@example.com\r\n\r\nbody\r\n.\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 250, 250, 354, 250, 221);
}

/* refuse_address_in_name = yes: a display name or a comment that shows
 * another address than the field's own is refused; the field's own
 * address in its name is not another. */
static void
test_address_in_display_name_is_refused_when_the_domain_asks(void **state)
{
	static const char *const heads[] = {
		"From: \"ceo@example.com\" <alice@example.com>\r\n",
		"From: \"CEO (ceo@example.com)\" <alice@example.com>\r\n",
		"From: alice@example.com (ceo@example.com)\r\n",
		"From: alice@example.com\r\nSender: \"x@y.example\" "
		    "<alice@example.com>\r\n",
	};
	struct fixture *f = *state;
	char in[2048];
	size_t i;
	int strict;

	with_certs(f);
	f->mode = SESSION_SUBMISSION;
	for (strict = 0; strict <= 1; strict++) {
		if (strict)
			write_file(f, "etc/domains/example.com/domain.conf",
			    "refuse_address_in_name = yes\n");
		for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
			assert_true(str_fmt(in, sizeof(in), "EHLO c.example"
			    "\r\nSTARTTLS\r\nEHLO c.example\r\n"
			    "AUTH PLAIN " PLAIN_OK "\r\n"
			    "MAIL FROM:<alice@example.com>\r\n"
			    "RCPT TO:<someone@gmail.example>\r\nDATA\r\n"
			    "%sSubject: x\r\n\r\nbody\r\n.\r\n"
			    "QUIT\r\n", heads[i]) == 0);
			RUN_TLS(f, in);
			if (strict) {
				CODES(f, 220, 250, 220, 250, 235, 250, 250,
				    354, 550, 221);
				assert_out_has(f, "names another address than "
				    "its own");
			} else
				CODES(f, 220, 250, 220, 250, 235, 250, 250,
				    354, 250, 221);
		}
	}
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<someone@gmail.example>\r\nDATA\r\n"
	    "From: \"alice@example.com\" <Alice@Example.com> (at home)\r\n"
	    "\r\nbody\r\n.\r\nQUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 250, 250, 354, 250, 221);
}

static void
test_any_sender_domain_allows_other_senders(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	write_file(f, "etc/domains/example.com/domain.conf",
	    "# shared\nany_sender = yes\n");
	f->mode = SESSION_SUBMISSION;
	RUN_TLS(f, "EHLO c.example\r\nSTARTTLS\r\nEHLO c.example\r\n"
	    "AUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<news@other.example>\r\nQUIT\r\n");
	CODES(f, 220, 250, 220, 250, 235, 250, 221);
}

static void
test_submission_without_certificate_says_so(void **state)
{
	struct fixture *f = *state;

	f->mode = SESSION_SUBMISSION;
	RUN(f, "EHLO c.example\r\n");
	CODES(f, 421);
	assert_out_has(f, "TLS is not configured");
}

static void
test_mx_relay_after_auth(void **state)
{
	struct fixture *f = *state;

	with_certs(f);
	RUN_TLS(f, "EHLO c.example\r\nMAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<x@gmail.example>\r\nRSET\r\n"
	    "STARTTLS\r\nEHLO c.example\r\nAUTH PLAIN " PLAIN_OK "\r\n"
	    "MAIL FROM:<alice@example.com>\r\n"
	    "RCPT TO:<x@gmail.example>\r\nRCPT TO:<nobody@example.com>\r\n"
	    "QUIT\r\n");
	CODES(f, 220, 250, 250, 554, 250, 220, 250, 235, 250, 250, 550, 221);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_greeting_and_ehlo_lines),
		T(test_no_certificate_no_starttls),
		T(test_key_others_can_read_no_starttls),
		T(test_starttls_resets_the_session),
		T(test_starttls_with_pipelined_bytes_is_refused),
		T(test_auth_needs_tls_and_is_not_offered_before),
		T(test_auth_plain_login_and_cancel),
		T(test_three_wrong_passwords_close_the_session),
		T(test_submission_requires_auth_and_owned_sender),
		T(test_forged_from_header_is_refused),
		T(test_from_spelled_with_blanks_or_twice_is_refused),
		T(test_remote_recipients_keep_their_case),
		T(test_send_as_only_through_an_alias_of_the_user_alone),
		T(test_sender_and_resent_fields_are_checked_like_from),
		T(test_address_in_display_name_is_refused_when_the_domain_asks),
		T(test_any_sender_domain_allows_other_senders),
		T(test_submission_without_certificate_says_so),
		T(test_mx_relay_after_auth),
		T(test_helo_replies_with_hostname),
		T(test_pipelined_batch_is_answered_in_order_and_queued),
		T(test_dsn_parameters_reach_the_envelope),
		T(test_one_recipient_is_named_and_helo_is_smtp),
		T(test_relay_is_refused),
		T(test_101st_recipient_gets_452),
		T(test_errors_limit_gives_421),
		T(test_get_closes),
		T(test_smuggled_message_is_never_queued),
		T(test_too_big_message_is_refused_and_session_goes_on),
		T(test_bad_sequences_are_503),
		T(test_starttls_and_auth_out_of_sequence_say_why),
		T(test_bare_lf_and_nul_commands_are_refused),
		T(test_long_command_line_is_refused),
		T(test_other_verbs),
		T(test_idle_client_times_out),
		T(test_noops_do_not_keep_a_session_alive),
		T(test_idle_timeout_is_shorter_outside_a_transaction),
		T(test_commands_that_move_no_mail_are_capped),
		T(test_data_timeout_aborts_the_message),
		cmocka_unit_test(test_peer_addresses_are_normalized),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
