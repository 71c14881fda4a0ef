/* deliver_test.c — local delivery as a user and a mail loop see it: the
 * Maildir is made on first delivery and holds exactly Return-Path:,
 * Delivered-To: and the message; every delivery gets its own name; a
 * Delivered-To: loop bounces; a pipe gets the message and a clean
 * environment, and its exit status, stderr and deadline decide the
 * outcome; the domain's MDA runs without a shell with % expanded. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../queue-run/deliver.h"
#include "../../queue-run/local.h"
#include "io.h"
#include "str.h"
#include "testutil.h"

#define SENDER	"bob@remote.example"
#define ORIG	"Alice.Smith+tag@example.org"
#define QID	"1NG8CNB2Q7700CJZ"
#define BODY	"Received: from remote.example\nSubject: hi\n\nhello\n"
#define PREFIX	"Return-Path: <" SENDER ">\nDelivered-To: alice@example.org\n"

struct fx {
	char			dir[64];
	char			box[PATH_MAX];		/* the Maildir */
	char			domdir[PATH_MAX];	/* etc/domains/D */
	char			out[PATH_MAX];		/* a command's files */
	char			out2[PATH_MAX];
	struct conf		conf;
	struct deliver_msg	msg;
	struct alias_target	mbox, pipe;
	struct deliver_result	r;
	int			fd;
};

static int
setup(void **state)
{
	char path[PATH_MAX];
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	fx->fd = -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "deliver_test") == -1) {
		free(fx);
		return -1;
	}
	*state = fx;
	/* Commands run as nobody (queue-runas(8)): they write their files
	 * here, and no one but root may replace what root put here. */
	if (chmod(fx->dir, 01777) == -1)
		return -1;
	if (str_fmt(fx->conf.dir, sizeof(fx->conf.dir), "%s/etc",
	    fx->dir) == -1 ||
	    str_fmt(fx->conf.maildirs, sizeof(fx->conf.maildirs), "%s/mail",
	    fx->dir) == -1 ||
	    str_fmt(fx->box, sizeof(fx->box), "%s/example.org/alice",
	    fx->conf.maildirs) == -1 ||
	    str_fmt(fx->domdir, sizeof(fx->domdir), "%s/domains/example.org",
	    fx->conf.dir) == -1 ||
	    str_fmt(fx->out, sizeof(fx->out), "%s/out", fx->dir) == -1 ||
	    str_fmt(fx->out2, sizeof(fx->out2), "%s/out2", fx->dir) == -1 ||
	    str_copy(fx->conf.hostname, sizeof(fx->conf.hostname),
	    "mx.example.org") == -1)
		return -1;
	if (mkdir(fx->conf.dir, 0755) == -1 ||
	    str_fmt(path, sizeof(path), "%s/domains", fx->conf.dir) == -1 ||
	    mkdir(path, 0755) == -1 || mkdir(fx->domdir, 0755) == -1 ||
	    mkdir(fx->conf.maildirs, 0755) == -1)
		return -1;
	fx->conf.command_timeout = 10;

	fx->msg.conf = &fx->conf;
	fx->msg.fd = -1;
	fx->msg.id = QID;
	fx->msg.sender = SENDER;
	fx->msg.orig = ORIG;

	fx->mbox.kind = ALIAS_MAILBOX;
	(void)str_copy(fx->mbox.addr, sizeof(fx->mbox.addr),
	    "alice@example.org");
	(void)str_copy(fx->mbox.user, sizeof(fx->mbox.user), "alice");
	(void)str_copy(fx->mbox.domain, sizeof(fx->mbox.domain),
	    "example.org");
	fx->pipe.kind = ALIAS_PIPE;
	(void)str_copy(fx->pipe.addr, sizeof(fx->pipe.addr),
	    "pipe@example.org");
	(void)str_copy(fx->pipe.user, sizeof(fx->pipe.user), "pipe");
	(void)str_copy(fx->pipe.domain, sizeof(fx->pipe.domain),
	    "example.org");
	umask(022);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	fd_close(&fx->fd);
	return tu_teardown(fx, fx->dir);
}

/* A queue file: an envelope, its empty line, then the message (n bytes),
 * and msg pointing at it. */
static void
queue_file(struct fx *fx, const char *body, size_t n)
{
	static const char env[] = "posthorn-queue 1\nid " QID "\n"
	    "time 1700000000\nfrom <" SENDER ">\nrcpt <" ORIG ">\n"
	    "via mx\n\n";
	char path[PATH_MAX];
	int fd;

	assert_int_equal(str_fmt(path, sizeof(path), "%s/q", fx->dir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(fd_write_all(fd, env, sizeof(env) - 1), 0);
	assert_int_equal(fd_write_all(fd, body, n), 0);
	assert_int_equal(close(fd), 0);
	fd_close(&fx->fd);
	assert_true((fx->fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	fx->msg.fd = fx->fd;
	fx->msg.body = sizeof(env) - 1;
	fx->msg.size = (off_t)n;
}

static void
queue_str(struct fx *fx, const char *body)
{
	queue_file(fx, body, strlen(body));
}

/* The whole file into a malloc'd buffer (NUL added); its length in *n. */
static char *
slurp(const char *path, size_t *n)
{
	struct stat st;
	char *buf;
	int fd;

	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(buf = malloc((size_t)st.st_size + 1));
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*n = (size_t)st.st_size;
	return buf;
}

static void
assert_file_is(const char *path, const char *want, size_t wantlen)
{
	size_t n;
	char *got;

	got = slurp(path, &n);
	assert_int_equal(n, wantlen);
	assert_memory_equal(got, want, n);
	free(got);
}

/* The one file in dir, as a path. */
static void
only_file(const char *dir, char *path, size_t size)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		assert_int_equal(str_fmt(path, size, "%s/%s", dir,
		    de->d_name), 0);
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static int
sub_entries(const char *dir, const char *sub)
{
	char path[PATH_MAX];

	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s", dir, sub), 0);
	return tu_entries(path);
}

static int
open_fds(void)
{
	return tu_entries("/proc/self/fd");
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* --- Maildir ----------------------------------------------------------- */

static void
test_first_delivery_makes_the_maildir_with_the_fields_prepended(void **state)
{
	static const char sub[][4] = { "tmp", "new", "cur" };
	struct fx *fx = *state;
	char path[PATH_MAX], newdir[PATH_MAX];
	struct stat st;
	size_t i;
	int fds;

	queue_str(fx, BODY);
	assert_false(exists(fx->box));
	fds = open_fds();
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_string_equal(fx->r.dsn, "2.0.0");
	assert_string_equal(fx->r.reason, "delivered to maildir");
	for (i = 0; i < 3; i++) {
		assert_int_equal(str_fmt(path, sizeof(path), "%s/%s", fx->box,
		    sub[i]), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	assert_int_equal(sub_entries(fx->box, "tmp"), 0);
	assert_int_equal(sub_entries(fx->box, "cur"), 0);
	assert_int_equal(str_fmt(newdir, sizeof(newdir), "%s/new", fx->box),
	    0);
	only_file(newdir, path, sizeof(path));
	assert_string_equal(fx->r.where, path);
	assert_non_null(strstr(path, ".mx.example.org"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_file_is(path, PREFIX BODY, strlen(PREFIX BODY));
}

static void
test_second_delivery_gets_a_second_name(void **state)
{
	struct fx *fx = *state;
	char first[PATH_MAX];

	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_int_equal(str_copy(first, sizeof(first), fx->r.where), 0);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_string_not_equal(first, fx->r.where);
	assert_int_equal(sub_entries(fx->box, "new"), 2);
	assert_file_is(first, PREFIX BODY, strlen(PREFIX BODY));
	assert_file_is(fx->r.where, PREFIX BODY, strlen(PREFIX BODY));
}

static void
test_message_bytes_are_copied_as_they_are(void **state)
{
	struct fx *fx = *state;
	static const char body[] = "Subject: raw\n\nCR\r here, NUL \0 there,"
	    "\nno final newline";
	char want[256];
	size_t n;

	/* Whatever a local injection left in the message goes through. */
	queue_file(fx, body, sizeof(body) - 1);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	n = strlen(PREFIX);
	memcpy(want, PREFIX, n);
	memcpy(want + n, body, sizeof(body) - 1);
	assert_file_is(fx->r.where, want, n + sizeof(body) - 1);
}

static void
test_large_message_reaches_the_maildir_whole(void **state)
{
	struct fx *fx = *state;
	size_t n = 3 * 1024 * 1024 + 17, i, len;
	char *body, *got;

	assert_non_null(body = malloc(n));
	memcpy(body, "Subject: big\n\n", 14);
	for (i = 14; i < n; i++)
		body[i] = i % 77 == 76 ? '\n' : (char)('a' + i % 26);
	queue_file(fx, body, n);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	got = slurp(fx->r.where, &len);
	assert_int_equal(len, strlen(PREFIX) + n);
	assert_memory_equal(got, PREFIX, strlen(PREFIX));
	assert_memory_equal(got + strlen(PREFIX), body, n);
	free(got);
	free(body);
}

static void
test_null_sender_gets_an_empty_return_path(void **state)
{
	struct fx *fx = *state;
	static const char want[] = "Return-Path: <>\n"
	    "Delivered-To: alice@example.org\n" BODY;

	fx->msg.sender = "";
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_file_is(fx->r.where, want, sizeof(want) - 1);
}

static void
test_delivered_to_of_the_same_address_is_a_permanent_loop(void **state)
{
	struct fx *fx = *state;

	/* Folded, other case, other fields around it. */
	queue_str(fx, "Received: from a\n\tby b\n"
	    "Delivered-To: someone@else.example\n"
	    "DELIVERED-TO :\n  <ALICE@Example.ORG> \n"
	    "Subject: loop\n\nbody\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.4.6");
	assert_string_equal(fx->r.reason,
	    "mail loop: already delivered to alice@example.org");
	assert_false(exists(fx->box));
}

static void
test_delivered_to_elsewhere_or_in_the_body_is_no_loop(void **state)
{
	struct fx *fx = *state;

	queue_str(fx, "Delivered-To: alice@example.org.evil\n"
	    "X-Delivered-To: alice@example.org\n"
	    "Subject: no loop\n"
	    "\n"
	    "Delivered-To: alice@example.org\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
}

static void
test_crlf_header_loop_is_found(void **state)
{
	struct fx *fx = *state;

	queue_str(fx, "Subject: x\r\nDelivered-To: alice@example.org\r\n"
	    "\r\nbody\r\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.4.6");
}

static void
test_host_name_slash_and_colon_are_escaped(void **state)
{
	struct fx *fx = *state;
	const char *name;

	assert_int_equal(str_copy(fx->conf.hostname,
	    sizeof(fx->conf.hostname), "a/b:c"), 0);
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	name = strrchr(fx->r.where, '/') + 1;
	assert_non_null(strstr(name, ".a\\057b\\072c"));
	assert_null(strchr(name, ':'));
}

static void
test_missing_maildirs_root_is_temporary(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(rmdir(fx->conf.maildirs), 0);
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.0");
	assert_non_null(strstr(fx->r.reason, "No such file or directory"));
	assert_false(exists(fx->conf.maildirs));
}

static void
test_broken_maildir_is_temporary_and_leaves_no_file(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX];
	int fds;

	/* new/ is a file: the rename fails after tmp/ was written. */
	assert_int_equal(str_fmt(path, sizeof(path), "%s/example.org",
	    fx->conf.maildirs), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mkdir(fx->box, 0700), 0);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/tmp", fx->box), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/new", fx->box), 0);
	tu_write_str(path, "not a directory");
	queue_str(fx, BODY);
	fds = open_fds();
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_true(fx->r.dsn[0] == '4');
	assert_non_null(strstr(fx->r.reason, "Not a directory"));
	assert_int_equal(sub_entries(fx->box, "tmp"), 0);
}

static void
test_short_queue_file_is_temporary_and_leaves_no_file(void **state)
{
	struct fx *fx = *state;

	queue_str(fx, BODY);
	fx->msg.size += 100;	/* the envelope promises more */
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_non_null(strstr(fx->r.reason, "queue file"));
	assert_int_equal(sub_entries(fx->box, "tmp"), 0);
	assert_int_equal(sub_entries(fx->box, "new"), 0);
}

static void
test_user_unsafe_as_a_file_name_is_refused(void **state)
{
	struct fx *fx = *state;

	(void)str_copy(fx->mbox.user, sizeof(fx->mbox.user), "../alice");
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_int_equal(tu_entries(fx->conf.maildirs), 0);
}

/* --- pipes ------------------------------------------------------------- */

static void pipe_cmd(struct fx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
pipe_cmd(struct fx *fx, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(fx->pipe.cmd, sizeof(fx->pipe.cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(fx->pipe.cmd));
}

static void
test_pipe_exit_0_gets_the_message_and_a_clean_environment(void **state)
{
	static const char want[] = "Return-Path: <" SENDER ">\n"
	    "Delivered-To: pipe@example.org\n" BODY;
	static const char *const vars[] = {
		"PATH=/usr/local/bin:/usr/bin:/bin\n",
		"SENDER=" SENDER "\n",
		"RECIPIENT=pipe@example.org\n",
		"ORIGINAL_RECIPIENT=" ORIG "\n",
		"USER=pipe\n",
		"DOMAIN=example.org\n",
		"QUEUE_ID=" QID "\n",
		"HOME=/\n",
	};
	struct fx *fx = *state;
	char *env, where[PATH_MAX * 2];
	size_t i, n;
	int fds;

	assert_int_equal(setenv("DELIVER_TEST_CANARY", "leak", 1), 0);
	pipe_cmd(fx, " cat > %s; env > %s", fx->out, fx->out2);
	queue_str(fx, BODY);
	fds = open_fds();
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_string_equal(fx->r.dsn, "2.0.0");
	assert_string_equal(fx->r.reason, "command exited 0");
	assert_int_equal(str_fmt(where, sizeof(where), "| cat > %s; env > %s",
	    fx->out, fx->out2), 0);
	assert_string_equal(fx->r.where, where);
	assert_file_is(fx->out, want, sizeof(want) - 1);
	env = slurp(fx->out2, &n);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strncmp(env, vars[i], strlen(vars[i])) != 0 &&
		    strstr(env, vars[i]) == NULL)
			fail_msg("%s missing from:\n%s", vars[i], env);
	assert_null(strstr(env, "DELIVER_TEST_CANARY"));
	/* The configuration is passed on, as every program does. */
	assert_int_equal(str_fmt(where, sizeof(where), "POSTHORN_CONF=%s\n",
	    fx->conf.dir), 0);
	assert_non_null(strstr(env, where));
	free(env);
	unsetenv("DELIVER_TEST_CANARY");
}

static void
test_pipe_runs_in_root_directory(void **state)
{
	struct fx *fx = *state;

	pipe_cmd(fx, "pwd > %s", fx->out);
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_file_is(fx->out, "/\n", 2);
}

/* As nobody, with no group but its own (queue-runas(8)); and it cannot
 * signal queue-runas, its parent: stopped, that would hold queue-run. */
static void
test_pipe_runs_as_nobody_and_cannot_stop_its_parent(void **state)
{
	struct fx *fx = *state;
	struct passwd *pw;
	char want[128];
	int n;

	assert_non_null(pw = getpwnam("nobody"));
	n = snprintf(want, sizeof(want), "%lu %lu %lu\nrefused\n",
	    (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid,
	    (unsigned long)pw->pw_gid);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	fx->conf.command_timeout = 5;
	pipe_cmd(fx, "cat >/dev/null; echo $(id -u) $(id -g) $(id -G) > %s; "
	    "if kill -STOP $PPID 2>/dev/null; then echo stopped; "
	    "else echo refused; fi >> %s", fx->out, fx->out);
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_file_is(fx->out, want, (size_t)n);
}

static void
test_command_inherits_nothing_but_stdio(void **state)
{
	struct fx *fx = *state;
	int leak;

	/* Even a descriptor of the caller's without close-on-exec. */
	assert_true((leak = open("/dev/null", O_RDONLY)) != -1);
	pipe_cmd(fx, "exec ls /proc/self/fd > %s", fx->out);
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	close(leak);
	assert_int_equal(fx->r.status, DELIVER_OK);
	/* 3 is ls's own reading of the directory. */
	assert_file_is(fx->out, "0\n1\n2\n3\n", 8);
}

static void
test_pipe_exit_75_is_temporary(void **state)
{
	struct fx *fx = *state;

	pipe_cmd(fx, "cat >/dev/null; echo try later >&2; exit 75");
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.0");
	assert_string_equal(fx->r.reason,
	    "command exited with status 75: try later");
}

static void
test_pipe_exit_1_is_permanent_with_the_stderr_tail(void **state)
{
	struct fx *fx = *state;

	pipe_cmd(fx, "printf ' first\\n\\tno such\\001 mailbox \\n\\n' >&2; "
	    "exit 1");
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.3.0");
	assert_string_equal(fx->r.reason,
	    "command exited with status 1: first no such mailbox");
}

static void
test_pipe_chatty_stderr_does_not_block_and_keeps_the_end(void **state)
{
	struct fx *fx = *state;
	const char *tail;

	/* Far more than a pipe buffer holds, then the words that matter. */
	pipe_cmd(fx, "head -c 300000 /dev/zero | tr '\\0' x >&2; "
	    "echo >&2; echo the end >&2; exit 3");
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_true(strncmp(fx->r.reason, "command exited with status 3: ",
	    30) == 0);
	tail = fx->r.reason + 30;
	assert_true(strlen(tail) <= DELIVER_STDERR_TAIL);
	assert_true(strlen(tail) > DELIVER_STDERR_TAIL - 20);
	assert_string_equal(tail + strlen(tail) - 8, " the end");
}

static void
test_pipe_that_reads_nothing_and_exits_0_is_delivered(void **state)
{
	struct fx *fx = *state;
	struct sigaction sa;
	size_t n = 2 * 1024 * 1024;
	char *body;

	assert_non_null(body = malloc(n));
	memset(body, 'y', n);
	memcpy(body, "Subject: x\n\n", 12);
	queue_file(fx, body, n);
	free(body);
	pipe_cmd(fx, "exit 0");
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	/* SIGPIPE is ignored only while the command runs. */
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
}

static void
test_pipe_gets_a_large_message_whole(void **state)
{
	struct fx *fx = *state;
	size_t n = 5 * 1024 * 1024 + 3, i, len;
	char *body, *got;
	size_t pre;

	assert_non_null(body = malloc(n));
	memcpy(body, "Subject: big\n\n", 14);
	for (i = 14; i < n; i++)
		body[i] = i % 61 == 60 ? '\n' : (char)('A' + i % 23);
	queue_file(fx, body, n);
	pipe_cmd(fx, "cat > %s", fx->out);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	got = slurp(fx->out, &len);
	pre = strlen("Return-Path: <" SENDER ">\nDelivered-To: "
	    "pipe@example.org\n");
	assert_int_equal(len, pre + n);
	assert_memory_equal(got + pre, body, n);
	free(got);
	free(body);
}

static void
test_pipe_killed_by_a_signal_is_temporary(void **state)
{
	struct fx *fx = *state;

	pipe_cmd(fx, "kill -TERM $$");
	queue_str(fx, BODY);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.0");
	assert_string_equal(fx->r.reason, "command killed by signal 15");
}

static pid_t
read_pid(const char *path)
{
	char buf[32];
	size_t n;
	char *s;

	s = slurp(path, &n);
	(void)str_copy(buf, sizeof(buf), s);
	free(s);
	return (pid_t)atol(buf);
}

/* pid, a child of ours (or orphaned to us, the subreaper) whose parent
 * is gone, was killed by SIGKILL: a zombie to reap at once or very soon. */
static void
assert_killed(pid_t pid)
{
	pid_t w = 0;
	int status = 0, i;

	assert_true(pid > 0);
	for (i = 0; i < 200; i++) {
		if ((w = waitpid(pid, &status, WNOHANG)) != 0)
			break;
		usleep(10000);
	}
	assert_int_equal(w, pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void
test_pipe_timeout_kills_the_whole_process_group(void **state)
{
	struct fx *fx = *state;
	struct timespec t0, t1;
	int fds;
	double secs;

	/* The command's background child comes back to us when orphaned,
	 * so that we can see how it ended. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	fx->conf.command_timeout = 1;
	pipe_cmd(fx, "sleep 30 & echo $! > %s; echo $$ > %s; exec sleep 30",
	    fx->out2, fx->out);
	queue_str(fx, BODY);
	fds = open_fds();
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	assert_int_equal(open_fds(), fds);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.9 && secs < 3.0);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.0");
	assert_string_equal(fx->r.reason, "command timed out after 1 s");

	/* The command and its background child: both killed. */
	assert_killed(read_pid(fx->out));
	assert_killed(read_pid(fx->out2));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

static void
test_pipe_loop_is_permanent_and_runs_nothing(void **state)
{
	struct fx *fx = *state;

	pipe_cmd(fx, "touch %s", fx->out);
	queue_str(fx, "Delivered-To: Pipe@Example.org\n\nbody\n");
	local_pipe(&fx->msg, &fx->pipe, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.4.6");
	assert_false(exists(fx->out));
}

/* --- the domain's MDA -------------------------------------------------- */

/* A script that writes its arguments, one a line, and its stdin. */
static void
mda_script(struct fx *fx, char *path, size_t size, int status)
{
	char text[1024];

	assert_int_equal(str_fmt(path, size, "%s/mda.sh", fx->dir), 0);
	assert_int_equal(str_fmt(text, sizeof(text), "#!/bin/sh\n"
	    "for a; do printf '%%s\\n' \"$a\"; done > %s\n"
	    "cat > %s\nexit %d\n", fx->out, fx->out2, status), 0);
	tu_write_str(path, text);
	assert_int_equal(chmod(path, 0755), 0);
}

static void
mda_file(struct fx *fx, const char *line)
{
	char path[PATH_MAX];

	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s", fx->domdir,
	    DELIVER_MDA_FILE), 0);
	tu_write_str(path, line);
}

static void
test_mda_runs_without_a_shell_with_escapes_expanded(void **state)
{
	struct fx *fx = *state;
	char script[PATH_MAX], line[PATH_MAX + 128];
	static const char args[] = "-d\nalice\n--domain=example.org\n"
	    "alice@example.org\n<" SENDER ">\n100%\n$HOME;\n";

	mda_script(fx, script, sizeof(script), 0);
	assert_int_equal(str_fmt(line, sizeof(line), "# the MDA\n\n"
	    "  %s -d %%u\t--domain=%%d %%a <%%s> 100%%%% $HOME;\n"
	    "ignored second line\n", script), 0);
	mda_file(fx, line);
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_string_equal(fx->r.dsn, "2.0.0");
	assert_string_equal(fx->r.where, script);
	assert_file_is(fx->out, args, sizeof(args) - 1);
	assert_file_is(fx->out2, PREFIX BODY, strlen(PREFIX BODY));
	/* No Maildir when the domain has an MDA. */
	assert_int_equal(tu_entries(fx->conf.maildirs), 0);
}

/* The sender is the client's: an argument that it would start with '-'
 * never reaches the MDA (an option), and the null sender is
 * MAILER-DAEMON, not an empty argument (issue 15, item 11). */
static void
test_mda_sender_escape_is_never_an_option_nor_empty(void **state)
{
	struct fx *fx = *state;
	char script[PATH_MAX], line[PATH_MAX + 64];
	static const char null[] = "-f\nMAILER-DAEMON\n--from=MAILER-DAEMON\n";
	static const char inside[] = "--from=-oQ/tmp@x\n";

	mda_script(fx, script, sizeof(script), 0);
	assert_int_equal(str_fmt(line, sizeof(line), "%s -f %%s\n", script),
	    0);
	mda_file(fx, line);
	queue_str(fx, BODY);
	fx->msg.sender = "-oQ/tmp@x";
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.1.7");
	assert_non_null(strstr(fx->r.reason, "-oQ/tmp@x"));
	assert_int_equal(access(fx->out, F_OK), -1);	/* nothing ran */

	/* Inside an argument it is a value. */
	assert_int_equal(str_fmt(line, sizeof(line), "%s --from=%%s\n",
	    script), 0);
	mda_file(fx, line);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_file_is(fx->out, inside, sizeof(inside) - 1);

	/* The null sender has a name, as in Postfix's pipe(8). */
	assert_int_equal(str_fmt(line, sizeof(line), "%s -f %%s --from=%%s\n",
	    script), 0);
	mda_file(fx, line);
	fx->msg.sender = "";
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_file_is(fx->out, null, sizeof(null) - 1);
}

static void
test_mda_exit_codes_follow_the_pipe_rules(void **state)
{
	struct fx *fx = *state;
	char script[PATH_MAX], line[PATH_MAX + 8];

	mda_script(fx, script, sizeof(script), 75);
	assert_int_equal(str_fmt(line, sizeof(line), "%s %%u\n", script), 0);
	mda_file(fx, line);
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.0");

	mda_script(fx, script, sizeof(script), 67);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.3.0");
	assert_string_equal(fx->r.reason, "command exited with status 67");
}

static void
test_mda_is_found_on_the_fixed_path(void **state)
{
	struct fx *fx = *state;

	/* true(1) lives in /usr/bin or /bin, never in our PATH's absence. */
	mda_file(fx, "true %u\n");
	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_string_equal(fx->r.where, "true");
}

static void
test_mda_configuration_errors_are_temporary(void **state)
{
	struct fx *fx = *state;

	queue_str(fx, BODY);
	mda_file(fx, "true %x\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.5");
	assert_non_null(strstr(fx->r.reason, "%x"));

	mda_file(fx, "no-such-mda-anywhere -d %u\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.5");
	assert_non_null(strstr(fx->r.reason, "not found"));

	mda_file(fx, "# only a comment\n\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.5");
	assert_int_equal(tu_entries(fx->conf.maildirs), 0);
}

static void
test_mda_loop_is_permanent(void **state)
{
	struct fx *fx = *state;

	mda_file(fx, "true\n");
	queue_str(fx, "Delivered-To: alice@example.org\n\nbody\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_PERM);
	assert_string_equal(fx->r.dsn, "5.4.6");
}

/* --- in queue-run's own process --------------------------------------- */

/* The scheduler's way in: a Maildir is written before local_start
 * returns, by this process, with no child made (waitpid sees none). */
static void
test_maildir_is_written_before_start_returns_with_no_process(void **state)
{
	struct fx *fx = *state;
	struct local_job j;
	char newdir[PATH_MAX], path[PATH_MAX];
	int status;

	queue_str(fx, BODY);
	assert_int_equal(local_start(&j, &fx->msg, &fx->mbox), 1);
	assert_int_equal(local_pid(&j), -1);
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(j.r.status, DELIVER_OK);
	assert_int_equal(str_fmt(newdir, sizeof(newdir), "%s/new", fx->box),
	    0);
	only_file(newdir, path, sizeof(path));
	assert_string_equal(j.r.where, path);
	assert_int_equal(sub_entries(fx->box, "tmp"), 0);
	assert_file_is(path, PREFIX BODY, strlen(PREFIX BODY));
}

/* The message's DKIM-Signature fields (state/ID.dkim) come right after
 * Return-Path: and Delivered-To:, as the delivery process put them. */
static void
test_maildir_gets_the_signature_fields_after_ours(void **state)
{
	static const char sig[] = "DKIM-Signature: v=1; a=ed25519-sha256;\n"
	    "\td=example.org; s=s1; b=AAAA\n";
	struct fx *fx = *state;
	char newdir[PATH_MAX], path[PATH_MAX];

	queue_str(fx, BODY);
	fx->msg.prefix = sig;
	fx->msg.prefixlen = sizeof(sig) - 1;
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_int_equal(str_fmt(newdir, sizeof(newdir), "%s/new", fx->box),
	    0);
	only_file(newdir, path, sizeof(path));
	assert_file_is(path, PREFIX "DKIM-Signature: v=1; a=ed25519-sha256;\n"
	    "\td=example.org; s=s1; b=AAAA\n" BODY,
	    strlen(PREFIX) + sizeof(sig) - 1 + strlen(BODY));
}

/* A Maildir whose tmp/ cannot take a file: temporary, and nothing left
 * in new/ (nothing is renamed before its fsync). */
static void
test_unwritable_maildir_is_temporary_with_nothing_in_new(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX];

	queue_str(fx, BODY);
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);	/* makes it */
	assert_int_equal(fx->r.status, DELIVER_OK);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/tmp", fx->box), 0);
	assert_int_equal(tu_rmtree(path), 0);
	tu_write_str(path, "not a directory\n");
	local_mailbox(&fx->msg, &fx->mbox, &fx->r);
	assert_int_equal(fx->r.status, DELIVER_TEMP);
	assert_string_equal(fx->r.dsn, "4.3.0");
	assert_non_null(strstr(fx->r.reason, "cannot create in"));
	assert_int_equal(sub_entries(fx->box, "new"), 1);
}

/* The disk full, the quota, a permission: temporary, each with its RFC
 * 3463 code, as a delivery process reported them. */
static void
test_write_errors_map_to_temporary_codes(void **state)
{
	static const struct {
		int		 err;
		const char	*dsn;
	} t[] = {
		{ ENOSPC, "4.3.1" }, { EDQUOT, "4.2.2" }, { EACCES, "4.2.0" },
		{ EPERM, "4.2.0" }, { EIO, "4.3.0" },
	};
	struct deliver_result r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		deliver_result_errno(&r, t[i].err, "cannot write", "/m/tmp/x");
		assert_int_equal(r.status, DELIVER_TEMP);
		assert_string_equal(r.dsn, t[i].dsn);
		assert_non_null(strstr(r.reason, "cannot write /m/tmp/x: "));
		assert_non_null(strstr(r.reason, strerror(t[i].err)));
	}
}

/* A pipe from the scheduler's poll loop: started, then fed and reaped
 * by local_step; the command leads its own session and process group
 * and starts with no signal blocked or ignored, whatever the caller
 * blocks (queue-run: SIGTERM, SIGINT, SIGHUP) and ignores (SIGPIPE). */
static void
test_pipe_is_driven_by_the_callers_loop_in_a_session_of_its_own(
    void **state)
{
	struct fx *fx = *state;
	struct local_job j;
	struct pollfd pfd[DELIVER_POLLFDS];
	sigset_t block, old;
	struct sigaction ign, oldpipe;
	char *got, *p;
	int64_t due;
	pid_t pid;
	size_t n, len;
	int steps = 0, done = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old), 0);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGPIPE, &ign, &oldpipe), 0);
	/* The masks are read by grep of its own process, which has what the
	 * shell passes on: the shell's own, read from outside, is all
	 * blocked for a moment whenever it forks (dash), a race the test
	 * lost now and then. */
	pipe_cmd(fx, "cat >/dev/null; { ps -o sid= -p $$; ps -o pgid= -p $$; "
	    "grep -E '^Sig(Blk|Ign)' /proc/self/status; } > %s", fx->out);
	queue_str(fx, BODY);
	assert_int_equal(local_start(&j, &fx->msg, &fx->pipe), 0);
	assert_true((pid = local_pid(&j)) > 0);
	while (!done && steps++ < 10000) {
		n = local_pollset(&j, pfd, &due);
		assert_true(n > 0 && n <= DELIVER_POLLFDS);
		assert_true(poll(pfd, n, 1000) >= 0);
		done = local_step(&j, pfd);
	}
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &oldpipe, NULL), 0);
	assert_true(done);
	assert_int_equal(j.r.status, DELIVER_OK);
	assert_int_equal(local_pid(&j), -1);
	got = slurp(fx->out, &len);
	/* sid and pgid: the shell's own pid, twice (ps pads them). */
	assert_int_equal(atoi(got), pid);
	assert_int_equal(atoi(strchr(got, '\n') + 1), pid);
	/* The standard signals, 1 to 31: glibc's posix_spawn leaves its
	 * own two (32 and 33, which no program may use) as they were. */
	assert_non_null(p = strstr(got, "SigBlk:\t"));
	assert_int_equal(strtoull(p + 8, NULL, 16) & 0x7fffffffULL, 0);
	assert_non_null(p = strstr(got, "SigIgn:\t"));
	assert_int_equal(strtoull(p + 8, NULL, 16) & 0x7fffffffULL, 0);
	free(got);
}

/* At queue-run's shutdown: the command and what it started are killed
 * and reaped, nothing reported. */
static void
test_aborted_command_is_killed_and_reaped(void **state)
{
	struct fx *fx = *state;
	struct local_job j;
	int status;

	pipe_cmd(fx, "exec sleep 30");
	queue_str(fx, BODY);
	assert_int_equal(local_start(&j, &fx->msg, &fx->pipe), 0);
	assert_true(local_pid(&j) > 0);
	local_abort(&j);
	assert_int_equal(local_pid(&j), -1);
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_first_delivery_makes_the_maildir_with_the_fields_prepended),
		T(test_second_delivery_gets_a_second_name),
		T(test_message_bytes_are_copied_as_they_are),
		T(test_large_message_reaches_the_maildir_whole),
		T(test_null_sender_gets_an_empty_return_path),
		T(test_delivered_to_of_the_same_address_is_a_permanent_loop),
		T(test_delivered_to_elsewhere_or_in_the_body_is_no_loop),
		T(test_crlf_header_loop_is_found),
		T(test_host_name_slash_and_colon_are_escaped),
		T(test_missing_maildirs_root_is_temporary),
		T(test_broken_maildir_is_temporary_and_leaves_no_file),
		T(test_short_queue_file_is_temporary_and_leaves_no_file),
		T(test_user_unsafe_as_a_file_name_is_refused),
		T(test_pipe_exit_0_gets_the_message_and_a_clean_environment),
		T(test_pipe_runs_in_root_directory),
		T(test_pipe_runs_as_nobody_and_cannot_stop_its_parent),
		T(test_command_inherits_nothing_but_stdio),
		T(test_pipe_exit_75_is_temporary),
		T(test_pipe_exit_1_is_permanent_with_the_stderr_tail),
		T(test_pipe_chatty_stderr_does_not_block_and_keeps_the_end),
		T(test_pipe_that_reads_nothing_and_exits_0_is_delivered),
		T(test_pipe_gets_a_large_message_whole),
		T(test_pipe_killed_by_a_signal_is_temporary),
		T(test_pipe_timeout_kills_the_whole_process_group),
		T(test_pipe_loop_is_permanent_and_runs_nothing),
		T(test_mda_runs_without_a_shell_with_escapes_expanded),
		T(test_mda_sender_escape_is_never_an_option_nor_empty),
		T(test_mda_exit_codes_follow_the_pipe_rules),
		T(test_mda_is_found_on_the_fixed_path),
		T(test_mda_configuration_errors_are_temporary),
		T(test_mda_loop_is_permanent),
		T(test_maildir_is_written_before_start_returns_with_no_process),
		T(test_maildir_gets_the_signature_fields_after_ours),
		T(test_unwritable_maildir_is_temporary_with_nothing_in_new),
		T(test_write_errors_map_to_temporary_codes),
		T(test_pipe_is_driven_by_the_callers_loop_in_a_session_of_its_own),
		T(test_aborted_command_is_killed_and_reaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
