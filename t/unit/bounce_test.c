/* bounce_test.c — the DSN that bounce_send() queues: to whom it goes
 * (the sender, the postmaster once, nobody after that or for a null
 * sender), its envelope, and its content as a mail client reads it: each
 * DSN is parsed by Python's email package (bounce_check.py beside this
 * file) and checked part by part and field by field. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../queue-run/bounce.h"
#include "fileread.h"
#include "queue.h"
#include "str.h"
#include "testutil.h"

#define PYTHON		"/usr/bin/python3"
#define HOST		"mx.local.example"
#define SENDER		"alice@local.example"
#define BODY_LINE	"SECRET BODY LINE, never in a DSN"

enum {
	ARGS_MAX = 64,
	/* What clean() in bounce.c keeps of a long diagnostic: the 900
	 * bytes of BOUNCE_DIAG_MAX less "...", and the NUL. */
	DIAG_KEPT = 896
};

struct fx {
	struct conf	 conf;
	struct queue_msg m;
	char		 dir[64];
	char		 new[96];
	char		 tmp[96];
	char		 check[256];	/* bounce_check.py */
	/* the original message, open, and its envelope */
	int		 fd;
	struct queue_envelope env;
	/* the DSN, once sent */
	char		 newid[QUEUE_ID_LEN + 1];
	char		 dsn[256];
};

static int
setup(void **state)
{
	struct fx *f;
	const char *slash;

	if ((f = calloc(1, sizeof *f)) == NULL)
		return -1;
	f->fd = -1;
	if (tu_tmpdir(f->dir, sizeof f->dir, "bounce_test") == -1 ||
	    tu_spool(f->dir) == -1)
		return -1;
	if (str_fmt(f->new, sizeof f->new, "%s/new", f->dir) == -1 ||
	    str_fmt(f->tmp, sizeof f->tmp, "%s/tmp", f->dir) == -1 ||
	    str_copy(f->conf.hostname, sizeof f->conf.hostname, HOST) == -1 ||
	    str_copy(f->conf.spool, sizeof f->conf.spool, f->dir) == -1)
		return -1;
	/* The script sits beside this file; make runs the tests from the
	 * top of the tree, where __FILE__ is relative to. */
	slash = strrchr(__FILE__, '/');
	if (str_fmt(f->check, sizeof f->check, "%.*s/bounce_check.py",
	    slash == NULL ? 1 : (int)(slash - __FILE__),
	    slash == NULL ? "." : __FILE__) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->fd != -1) {
		close(f->fd);
		queue_env_free(&f->env);
	}
	return tu_teardown(f, f->dir);
}

/* Queue an original message and open it, with its envelope, in f. */
static void
original(struct fx *f, const char *sender, const char *via,
    const char *const *rcpts, size_t n, unsigned flags, const char *msg,
    size_t len)
{
	struct queue_env e;
	char path[256];

	memset(&e, 0, sizeof e);
	e.sender = sender;
	e.rcpts = rcpts;
	e.nrcpts = n;
	e.flags = flags;
	e.via = via;
	e.peer = "192.0.2.7";
	e.helo = "client.example";
	e.uid = -1;
	assert_int_equal(queue_create(&f->m, f->dir), 0);
	assert_int_equal(queue_put_env(&f->m, &e), 0);
	assert_int_equal(queue_put(&f->m, msg, len), 0);
	assert_int_equal(queue_commit(&f->m), 0);
	assert_int_equal(str_fmt(path, sizeof path, "%s/%s", f->new,
	    f->m.id), 0);
	assert_true((f->fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(queue_env_read(f->fd, &f->env), 0);
}

static const char plain_msg[] =
    "Received: from client.example ([192.0.2.7])\n"
    "\tby " HOST " with ESMTP id X; Mon, 23 Nov 2026 12:00:00 +0100\n"
    "From: Alice <" SENDER ">\n"
    "To: bob@remote.example\n"
    "Subject: hello there\n"
    "Message-ID: <orig.1@local.example>\n"
    "\n"
    BODY_LINE "\n"
    "and more of it\n";

static void
original_plain(struct fx *f, const char *sender, const char *via)
{
	static const char *rcpts[] = {
		"bob@remote.example", "info@local.example"
	};

	original(f, sender, via, rcpts, 2, 0, plain_msg,
	    sizeof plain_msg - 1);
}

/* Send the DSN; on BOUNCE_QUEUED read its envelope into dsn (the
 * caller frees it) and check what every DSN's envelope holds. */
static enum bounce_outcome
send_dsn(struct fx *f, const struct bounce_rcpt *r, size_t n,
    struct queue_envelope *dsn)
{
	enum bounce_outcome rc;
	int fd;

	memset(f->newid, 0, sizeof f->newid);
	rc = bounce_send(&f->conf, f->fd, &f->env, r, n, f->newid);
	if (rc != BOUNCE_QUEUED)
		return rc;
	assert_int_equal(strlen(f->newid), QUEUE_ID_LEN);
	assert_string_not_equal(f->newid, f->env.id);
	assert_int_equal(str_fmt(f->dsn, sizeof f->dsn, "%s/%s", f->new,
	    f->newid), 0);
	assert_true((fd = open(f->dsn, O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(queue_env_read(fd, dsn), 0);
	close(fd);
	assert_string_equal(dsn->id, f->newid);
	assert_string_equal(dsn->sender, "");
	assert_int_equal(dsn->nrcpts, 1);
	assert_string_equal(dsn->peer, "");
	assert_string_equal(dsn->helo, "");
	assert_int_equal(dsn->uid, -1);
	assert_int_equal(tu_entries(f->tmp), 0);
	return rc;
}

/* Run bounce_check.py on the DSN with the common arguments and the
 * NULL-terminated extra ones; its exit status is the verdict. */
static void
check_dsn(struct fx *f, const char *to, ...)
{
	const char *argv[ARGS_MAX];
	char arrival[32];
	const char *a;
	va_list ap;
	size_t n = 0;
	pid_t pid;
	int status;

	assert_int_equal(access(f->check, R_OK), 0);
	assert_int_equal(str_fmt(arrival, sizeof arrival, "%lld",
	    (long long)f->env.time), 0);
	argv[n++] = PYTHON;
	argv[n++] = f->check;
	argv[n++] = f->dsn;
	argv[n++] = "--to";
	argv[n++] = to;
	argv[n++] = "--host";
	argv[n++] = HOST;
	argv[n++] = "--id";
	argv[n++] = f->newid;
	argv[n++] = "--orig-id";
	argv[n++] = f->env.id;
	argv[n++] = "--arrival";
	argv[n++] = arrival;
	va_start(ap, to);
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(n < ARGS_MAX - 1);
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;

	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		execv(PYTHON, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_dsn_of_one_failure_goes_to_the_sender(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example",
		.final = "bob@remote.example",
		.status = "5.1.1",
		.diag_type = "smtp",
		.diag = "550 5.1.1 <bob@remote.example>: no such user",
		.remote_mta = "mx1.remote.example",
		.last_attempt = 1800000000
	};

	original_plain(f, SENDER, "submission");
	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	assert_string_equal(dsn.rcpts[0], SENDER);
	assert_string_equal(dsn.via, BOUNCE_VIA);
	assert_int_equal(dsn.flags, 0);
	queue_env_free(&dsn);
	assert_int_equal(tu_entries(f->new), 2);

	check_dsn(f, SENDER,
	    "--rcpt", "-", "bob@remote.example", "5.1.1", "smtp",
	    "550 5.1.1 <bob@remote.example>: no such user",
	    "mx1.remote.example",
	    "--header-has", "Subject: hello there\n",
	    "--header-has", "Message-ID: <orig.1@local.example>\n",
	    "--header-has", "\tby " HOST " with ESMTP",
	    "--lacks", BODY_LINE,
	    "--lacks", "and more of it",
	    "--text-has", "The mailbox does not exist.",
	    (char *)NULL);
}

static void
test_dsn_of_two_failures_has_a_block_for_each(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r[2] = { {
		.orig = "bob@remote.example",
		.final = "bob@remote.example",
		.status = "4.4.7",
		.diag_type = "smtp",
		.diag = "451 4.3.0 try again later",
		.remote_mta = "mx1.remote.example",
		.last_attempt = 1800000000
	}, {
		.orig = "info@local.example",
		.final = "carol@local.example",
		.status = "5.2.2",
		.diag_type = "x-posthorn",
		.diag = "maildir: No space left on device",
		.remote_mta = NULL,
		.last_attempt = 1800000100
	} };

	original_plain(f, SENDER, "mx");
	assert_int_equal(send_dsn(f, r, 2, &dsn), BOUNCE_QUEUED);
	assert_string_equal(dsn.rcpts[0], SENDER);
	assert_string_equal(dsn.via, BOUNCE_VIA);
	queue_env_free(&dsn);

	check_dsn(f, SENDER,
	    "--rcpt", "-", "bob@remote.example", "4.4.7", "smtp",
	    "451 4.3.0 try again later", "mx1.remote.example",
	    "--rcpt", "info@local.example", "carol@local.example", "5.2.2",
	    "x-posthorn", "maildir: No space left on device", "-",
	    "--header-has", "Subject: hello there\n",
	    "--lacks", BODY_LINE,
	    "--text-has", "The mailbox is full.",
	    "--text-has", "could not be delivered in time",
	    (char *)NULL);
}

static void
test_null_sender_is_never_sent_a_dsn(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example", .final = "bob@remote.example",
		.status = "5.1.1", .diag_type = "smtp", .diag = "550 no"
	};

	original_plain(f, "", "mx");
	assert_int_equal(send_dsn(f, &r, 1, NULL), BOUNCE_DROPPED);
	assert_int_equal(tu_entries(f->new), 1);	/* the original */
	assert_int_equal(tu_entries(f->tmp), 0);
}

static void
test_failed_dsn_goes_to_the_postmaster(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r = {
		.orig = SENDER "x", .final = SENDER "x",
		.status = "5.1.1", .diag_type = "x-posthorn",
		.diag = "no such user", .last_attempt = 1800000000
	};

	original_plain(f, "", BOUNCE_VIA);
	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	assert_string_equal(dsn.rcpts[0], "postmaster@" HOST);
	assert_string_equal(dsn.via, BOUNCE_VIA_DOUBLE);
	queue_env_free(&dsn);

	check_dsn(f, "postmaster@" HOST, "--double",
	    "--rcpt", "-", SENDER "x", "5.1.1", "x-posthorn", "no such user",
	    "-",
	    "--header-has", "Subject: hello there\n",
	    "--lacks", BODY_LINE,
	    "--text-has", "for the postmaster",
	    (char *)NULL);
}

static void
test_failed_double_bounce_is_dropped(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = {
		.orig = "postmaster@" HOST, .final = "postmaster@" HOST,
		.status = "5.1.1", .diag_type = "x-posthorn", .diag = "gone"
	};

	original_plain(f, "", BOUNCE_VIA_DOUBLE);
	assert_int_equal(send_dsn(f, &r, 1, NULL), BOUNCE_DROPPED);
	assert_int_equal(tu_entries(f->new), 1);
	assert_int_equal(tu_entries(f->tmp), 0);
}

/* More header than BOUNCE_HEADERS_MAX: what is quoted ends with a whole
 * line within the bound; a line longer than RFC 5322 allows is cut. */
static void
test_huge_header_is_cut_at_a_line_boundary(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example", .final = "bob@remote.example",
		.status = "5.1.1", .diag_type = "smtp", .diag = "550 no",
		.last_attempt = 1800000000
	};
	static const char *rcpts[] = { "bob@remote.example" };
	const size_t lines = 2000, linelen = 66;	/* 132 000 bytes */
	const size_t longlen = 3000;
	char *msg, *p;
	size_t i, len;

	len = 64 + longlen + lines * linelen + 64;
	assert_non_null(msg = malloc(len));
	p = msg;
	memcpy(p, "Subject: big\nX-Long: ", 21);
	p += 21;
	memset(p, 'b', longlen);
	p += longlen;
	*p++ = '\n';
	for (i = 0; i < lines; i++) {
		assert_int_equal(snprintf(p, linelen + 1,
		    "X-Filler-%04zu: %050d\n", i, 0), (int)linelen);
		p += linelen;
	}
	memcpy(p, "\n" BODY_LINE "\n", sizeof BODY_LINE + 1);
	p += sizeof BODY_LINE + 1;
	assert_true((size_t)(p - msg) < len);
	original(f, SENDER, "mx", rcpts, 1, 0, msg, (size_t)(p - msg));
	free(msg);

	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	queue_env_free(&dsn);
	check_dsn(f, SENDER,
	    "--rcpt", "-", "bob@remote.example", "5.1.1", "smtp", "550 no",
	    "-",
	    "--header-max", "65536",
	    "--header-line-re",
	    "Subject: big|X-Long: b{990}|X-Filler-[0-9]{4}: 0{50}",
	    /* 13 + 3009 bytes come first: 947 filler lines fit. */
	    "--header-has", "X-Filler-0000: ",
	    "--header-has", "X-Filler-0946: ",
	    "--header-lacks", "X-Filler-0947: ",
	    "--lacks", BODY_LINE,
	    (char *)NULL);
}

static void
test_diagnostic_with_crlf_stays_one_line(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example", .final = "bob@remote.example",
		.status = "5.7.1", .diag_type = "smtp",
		.diag = "550-5.7.1 first line\r\n550-5.7.1 second\n"
		    "Injected: field\r\n\r\n550 5.7.1 last\tline\x01.",
		.remote_mta = "mx1.remote.example\r\nX-Evil: 1",
		.last_attempt = 1800000000
	};

	original_plain(f, SENDER, "mx");
	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	queue_env_free(&dsn);
	check_dsn(f, SENDER,
	    "--rcpt", "-", "bob@remote.example", "5.7.1", "smtp",
	    "550-5.7.1 first line  550-5.7.1 second Injected: field    "
	    "550 5.7.1 last line .",
	    "mx1.remote.example  X-Evil: 1",
	    (char *)NULL);
}

static void
test_long_diagnostic_is_cut_to_one_short_line(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	char diag[5000], want[DIAG_KEPT + 4];
	struct bounce_rcpt r = {
		.orig = "bob@remote.example", .final = "bob@remote.example",
		.status = "5.0.0", .diag_type = "smtp", .diag = diag,
		.last_attempt = 1800000000
	};

	memset(diag, 'd', sizeof diag - 1);
	diag[sizeof diag - 1] = '\0';
	memset(want, 'd', DIAG_KEPT);
	memcpy(want + DIAG_KEPT, "...", 4);
	original_plain(f, SENDER, "mx");
	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	queue_env_free(&dsn);
	/* bounce_check.py also holds every line to 998 bytes. */
	check_dsn(f, SENDER,
	    "--rcpt", "-", "bob@remote.example", "5.0.0", "smtp", want, "-",
	    (char *)NULL);
}

static void
test_garbled_status_becomes_the_class_default(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r[3] = {
		{ .orig = "a@remote.example", .final = "a@remote.example",
		  .status = "5.1.1 user unknown", .diag_type = "smtp",
		  .diag = "550 no", .last_attempt = 1800000000 },
		{ .orig = "b@remote.example", .final = "b@remote.example",
		  .status = "4.1234.1", .diag_type = "smtp",
		  .diag = "450 no", .last_attempt = 1800000000 },
		{ .orig = "c@remote.example", .final = "c@remote.example",
		  .status = "2.0.0", .diag_type = "smtp\r\nX: y",
		  .diag = "250 ok?", .last_attempt = 1800000000 }
	};

	original_plain(f, SENDER, "mx");
	assert_int_equal(send_dsn(f, r, 3, &dsn), BOUNCE_QUEUED);
	queue_env_free(&dsn);
	check_dsn(f, SENDER,
	    "--rcpt", "-", "a@remote.example", "5.0.0", "smtp", "550 no", "-",
	    "--rcpt", "-", "b@remote.example", "4.0.0", "smtp", "450 no", "-",
	    "--rcpt", "-", "c@remote.example", "5.0.0", "smtpXy", "250 ok?",
	    "-",
	    (char *)NULL);
}

/* RFC 6533: a UTF-8 address makes the report global, and the DSN an
 * SMTPUTF8 message; the UTF-8 header of an SMTPUTF8 original is quoted
 * as message/global-headers. */
static void
test_utf8_address_makes_a_global_report(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	static const char *rcpts[] = { "j\xc3\xb6rg@local.example" };
	static const char msg[] =
	    "From: J\xc3\xb6rg <j\xc3\xb6rg@local.example>\n"
	    "Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
	    "\n" BODY_LINE "\n";
	struct bounce_rcpt r = {
		.orig = "j\xc3\xb6rg@local.example",
		.final = "j\xc3\xb6rg@local.example",
		.status = "5.1.1", .diag_type = "x-posthorn",
		.diag = "kein Postfach f\xc3\xbcr j\xc3\xb6rg",
		.last_attempt = 1800000000
	};

	original(f, "s\xc3\xa9nder@remote.example", "mx", rcpts, 1,
	    QUEUE_SMTPUTF8 | QUEUE_8BITMIME, msg, sizeof msg - 1);
	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	assert_string_equal(dsn.rcpts[0], "s\xc3\xa9nder@remote.example");
	assert_int_equal(dsn.flags, QUEUE_SMTPUTF8 | QUEUE_8BITMIME);
	queue_env_free(&dsn);
	check_dsn(f, "s\xc3\xa9nder@remote.example", "--global",
	    "--global-headers",
	    "--rcpt", "-", "j\xc3\xb6rg@local.example", "5.1.1",
	    "x-posthorn", "kein Postfach f\xc3\xbcr j\xc3\xb6rg", "-",
	    "--header-has", "Subject: Gr\xc3\xbc\xc3\x9f" "e",
	    "--lacks", BODY_LINE,
	    (char *)NULL);
}

/* An ASCII report keeps a UTF-8 remote reply in its human part only:
 * message/delivery-status is ASCII (RFC 3464 §2.1.3). */
static void
test_utf8_reply_in_an_ascii_report_is_replaced(void **state)
{
	struct fx *f = *state;
	struct queue_envelope dsn;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example", .final = "bob@remote.example",
		.status = "5.1.1", .diag_type = "smtp",
		.diag = "550 f\xc3\xbcr \xff",
		.last_attempt = 1800000000
	};

	original_plain(f, SENDER, "mx");
	assert_int_equal(send_dsn(f, &r, 1, &dsn), BOUNCE_QUEUED);
	assert_int_equal(dsn.flags, QUEUE_8BITMIME);
	queue_env_free(&dsn);
	check_dsn(f, SENDER,
	    "--rcpt", "-", "bob@remote.example", "5.1.1", "smtp",
	    "550 f?r ?", "-",
	    "--text-has", "550 f\xc3\xbcr ?",
	    (char *)NULL);
}

static void
test_missing_spool_is_an_error_and_commits_nothing(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example", .final = "bob@remote.example",
		.status = "5.1.1", .diag_type = "smtp", .diag = "550 no"
	};

	original_plain(f, SENDER, "mx");
	assert_int_equal(str_fmt(f->conf.spool, sizeof f->conf.spool,
	    "%s/nonexistent", f->dir), 0);
	errno = 0;
	assert_int_equal(send_dsn(f, &r, 1, NULL), BOUNCE_ERROR);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tu_entries(f->new), 1);
	assert_int_equal(tu_entries(f->tmp), 0);
}

static void
test_no_failed_recipient_is_refused(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = { .orig = "x@y.example", .final = NULL };

	original_plain(f, SENDER, "mx");
	errno = 0;
	assert_int_equal(send_dsn(f, &r, 0, NULL), BOUNCE_ERROR);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(send_dsn(f, &r, 1, NULL), BOUNCE_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tu_entries(f->new), 1);
	assert_int_equal(tu_entries(f->tmp), 0);
}

/* bounce_notify's other kinds: queued, its envelope as bounce_send's. */
static void
send_kind(struct fx *f, enum bounce_kind k, const struct bounce_rcpt *r,
    size_t n, time_t until)
{
	struct queue_envelope dsn;
	int fd;

	memset(f->newid, 0, sizeof f->newid);
	assert_int_equal(bounce_notify(&f->conf, f->fd, &f->env, k, r, n,
	    until, f->newid), BOUNCE_QUEUED);
	assert_int_equal(str_fmt(f->dsn, sizeof f->dsn, "%s/%s", f->new,
	    f->newid), 0);
	assert_true((fd = open(f->dsn, O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(queue_env_read(fd, &dsn), 0);
	close(fd);
	assert_string_equal(dsn.sender, "");
	assert_string_equal(dsn.rcpts[0], SENDER);
	assert_string_equal(dsn.via, BOUNCE_VIA);
	queue_env_free(&dsn);
}

/* RFC 3464 Action: delayed, with Will-Retry-Until, the ENVID of the
 * original and its ORCPT as Original-Recipient; the headers only. */
static void
test_delay_report_says_delayed_and_until_when(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = {
		.orig = "list@local.example",
		.final = "bob@remote.example",
		.status = "4.4.1",
		.diag_type = "x-posthorn",
		.diag = "connect to mx1.remote.example: timed out",
		.last_attempt = 1800000000,
		.orcpt = "rfc822;old-bob@remote.example"
	};

	original_plain(f, SENDER, "submission");
	f->env.envid = "QQ314159";
	f->env.ret = DSN_RET_FULL;	/* about failures only */
	send_kind(f, BOUNCE_DELAY, &r, 1, 1800086400);
	check_dsn(f, SENDER, "--kind", "delay", "--envid", "QQ314159",
	    "--rcpt", "old-bob@remote.example", "bob@remote.example", "4.4.1",
	    "x-posthorn", "connect to mx1.remote.example: timed out", "-",
	    "--header-has", "Subject: hello there\n",
	    "--lacks", BODY_LINE,
	    "--text-has", "still trying",
	    (char *)NULL);
	/* A 5xx status is no status of a delay. */
	r.status = "5.1.1";
	send_kind(f, BOUNCE_DELAY, &r, 1, 1800086400);
	check_dsn(f, SENDER, "--kind", "delay", "--envid", "QQ314159",
	    "--rcpt", "old-bob@remote.example", "bob@remote.example", "4.0.0",
	    "x-posthorn", "connect to mx1.remote.example: timed out", "-",
	    (char *)NULL);
}

static void
test_success_report_says_delivered(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = {
		.orig = "bob@local.example",
		.final = "bob@local.example",
		.status = "2.0.0",
		.last_attempt = 1800000000
	};

	original_plain(f, SENDER, "mx");
	send_kind(f, BOUNCE_SUCCESS, &r, 1, 0);
	check_dsn(f, SENDER, "--kind", "success",
	    "--rcpt", "-", "bob@local.example", "2.0.0", "-", "-", "-",
	    "--lacks", BODY_LINE,
	    "--text-has", "was delivered",
	    (char *)NULL);
}

/* RET=FULL: the whole message as message/rfc822, in a failure report. */
static void
test_ret_full_returns_the_message(void **state)
{
	struct fx *f = *state;
	struct bounce_rcpt r = {
		.orig = "bob@remote.example",
		.final = "bob@remote.example",
		.status = "5.1.1",
		.diag_type = "smtp",
		.diag = "550 5.1.1 no such user",
		.last_attempt = 1800000000
	};
	char *raw;
	size_t len;

	original_plain(f, SENDER, "mx");
	f->env.ret = DSN_RET_FULL;
	send_kind(f, BOUNCE_FAILURE, &r, 1, 0);
	assert_int_equal(fileread_all(f->dsn, 1 << 20, &raw, &len), 0);
	assert_non_null(memmem(raw, len, "Content-Type: message/rfc822\n",
	    29));
	assert_non_null(memmem(raw, len, BODY_LINE, strlen(BODY_LINE)));
	assert_null(memmem(raw, len, "text/rfc822-headers", 19));
	free(raw);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dsn_of_one_failure_goes_to_the_sender),
		T(test_dsn_of_two_failures_has_a_block_for_each),
		T(test_null_sender_is_never_sent_a_dsn),
		T(test_failed_dsn_goes_to_the_postmaster),
		T(test_failed_double_bounce_is_dropped),
		T(test_huge_header_is_cut_at_a_line_boundary),
		T(test_diagnostic_with_crlf_stays_one_line),
		T(test_long_diagnostic_is_cut_to_one_short_line),
		T(test_garbled_status_becomes_the_class_default),
		T(test_utf8_address_makes_a_global_report),
		T(test_utf8_reply_in_an_ascii_report_is_replaced),
		T(test_missing_spool_is_an_error_and_commits_nothing),
		T(test_no_failed_recipient_is_refused),
		T(test_delay_report_says_delayed_and_until_when),
		T(test_success_report_says_delivered),
		T(test_ret_full_returns_the_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
