/* dovecot_test.c — smtp-auth's client of Dovecot's authentication
 * protocol (smtp-in/dovecot.c): the server's lines parsed with their tab
 * escapes and bounds, every line the protocol does not allow refused,
 * the exchange on a socket with its deadline, and auth_check through a
 * scripted server on a UNIX socket: the login Dovecot names, a refusal
 * counted by the failure limits, a server that is not there.  The real
 * Dovecot is t/e2e/test_dovecot_auth.py's. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth.h"
#include "authlimit.h"
#include "conf.h"
#include "dovecot.h"
#include "io.h"
#include "str.h"
#include "testutil.h"

#define SOURCE	"192.0.2.7"
#define NOW	1000000		/* s */

/* What a Dovecot 2.3 says first (SPID, CUID and COOKIE as it gives). */
#define HANDSHAKE \
	"VERSION\t1\t2\n" \
	"MECH\tPLAIN\tplaintext\n" \
	"MECH\tLOGIN\tplaintext\n" \
	"SPID\t7790\n" \
	"CUID\t1\n" \
	"COOKIE\t072c3885a53ec1a7cb3dd002909d2529\n" \
	"DONE\n"

/* One line through dovecot_line, from a writable copy. */
static enum dovecot_step
feed(struct dovecot *d, const char *line)
{
	static char buf[DOVECOT_LINE_MAX + 1];
	size_t n = strlen(line);

	assert_true(n < sizeof(buf));
	memcpy(buf, line, n + 1);
	return dovecot_line(d, buf, n);
}

/* Every line of text (LF-separated) but the last's LF; the last step. */
static enum dovecot_step
feed_all(struct dovecot *d, const char *text)
{
	char buf[4096], *p, *lf;
	enum dovecot_step r = DOVECOT_MORE;

	assert_true(strlen(text) < sizeof(buf));
	strcpy(buf, text);
	for (p = buf; *p != '\0'; p = lf + 1) {
		lf = strchr(p, '\n');
		assert_non_null(lf);
		*lf = '\0';
		r = dovecot_line(d, p, (size_t)(lf - p));
		if (r != DOVECOT_MORE && r != DOVECOT_READY)
			break;
	}
	return r;
}

static void
handshake(struct dovecot *d)
{
	dovecot_init(d);
	assert_int_equal(feed_all(d, HANDSHAKE), DOVECOT_READY);
}

static void
test_unescape_maps_every_escape(void **state)
{
	char s[] = "a\001tb\001nc\0011d\001re\0010f\001xg\001";
	size_t n;

	(void)state;
	n = dovecot_unescape(s, strlen(s));
	assert_int_equal(n, 13);
	assert_memory_equal(s, "a\tb\nc\001d\re\0fxg", 13);
}

static void
test_handshake_then_ok_names_the_user(void **state)
{
	struct dovecot d;

	(void)state;
	dovecot_init(&d);
	assert_int_equal(feed(&d, "VERSION\t1\t2"), DOVECOT_MORE);
	assert_int_equal(feed(&d, "MECH\tLOGIN\tplaintext"), DOVECOT_MORE);
	assert_int_equal(feed(&d, "MECH\tPLAIN\tplaintext"), DOVECOT_MORE);
	assert_int_equal(feed(&d, "SPID\t1"), DOVECOT_MORE);
	assert_int_equal(feed(&d, "SOMETHING-NEW\tx"), DOVECOT_MORE);
	assert_int_equal(feed(&d, "DONE"), DOVECOT_READY);
	assert_int_equal(feed(&d, "OK\t1\tuser=alice@example.com\t"
	    "original_user=ALICE@example.com"), DOVECOT_OK);
	assert_string_equal(d.user, "alice@example.com");
}

static void
test_escapes_in_the_user_are_undone(void **state)
{
	struct dovecot d;

	(void)state;
	handshake(&d);
	/* \001 before an ordinary character is that character. */
	assert_int_equal(feed(&d, "OK\t1\tuser=ali\001ce@example.com"),
	    DOVECOT_OK);
	assert_string_equal(d.user, "alice@example.com");
}

static void
test_user_with_a_control_character_is_refused(void **state)
{
	static const char *bad[] = {
		"OK\t1\tuser=a\001tb@example.com",	/* TAB */
		"OK\t1\tuser=a\001nb@example.com",	/* LF: a log line */
		"OK\t1\tuser=a\0011b@example.com",	/* \001 */
		"OK\t1\tuser=a\0010b@example.com",	/* NUL */
	};
	struct dovecot d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		handshake(&d);
		assert_int_equal(feed(&d, bad[i]), DOVECOT_ERROR);
		assert_string_equal(d.user, "");
	}
}

/* Dovecot's FAIL names the login as the client typed it, escaped: a
 * client's TAB or \001 there must not turn a refusal into an error
 * (AUTH_TEMP, not counted). */
static void
test_fail_with_the_clients_odd_login_is_still_fail(void **state)
{
	struct dovecot d;

	(void)state;
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\tuser=alice@example.com\001t\t"
	    "original_user=alice@example.com\001t"), DOVECOT_FAIL);
	assert_string_equal(d.user, "");
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\tuser=a\0011\001n\0010"),
	    DOVECOT_FAIL);
	assert_string_equal(d.user, "");
}

static void
test_user_that_does_not_fit_is_refused(void **state)
{
	char line[DOVECOT_USER_MAX + 64];
	struct dovecot d;

	(void)state;
	handshake(&d);
	strcpy(line, "OK\t1\tuser=");
	memset(line + strlen(line), 'a', DOVECOT_USER_MAX);
	line[strlen("OK\t1\tuser=") + DOVECOT_USER_MAX] = '\0';
	assert_int_equal(feed(&d, line), DOVECOT_ERROR);
	/* One byte less fits, with its NUL. */
	handshake(&d);
	line[strlen(line) - 1] = '\0';
	assert_int_equal(feed(&d, line), DOVECOT_OK);
	assert_int_equal(strlen(d.user), DOVECOT_USER_MAX - 1);
}

static void
test_fail_and_fail_temp(void **state)
{
	struct dovecot d;

	(void)state;
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\tuser=alice@example.com"),
	    DOVECOT_FAIL);
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\ttemp\treason=passdb is down"),
	    DOVECOT_TEMP);
	assert_string_equal(d.reason, "passdb is down");
	/* Dovecot 2.3 says it with a code. */
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\tuser=alice@example.com\t"
	    "code=temp_fail"), DOVECOT_TEMP);
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\tcode=authz_fail"), DOVECOT_FAIL);
	/* A reason is printable whatever its escapes held. */
	handshake(&d);
	assert_int_equal(feed(&d, "FAIL\t1\treason=a\001nb\001tc\xff"),
	    DOVECOT_FAIL);
	assert_string_equal(d.reason, "a?b?c?");
}

static void
test_lines_the_protocol_does_not_allow_are_refused(void **state)
{
	static const char *bad[] = {
		"VERSION\t2\t0\n",			/* another major */
		"MECH\tPLAIN\nDONE\n",			/* no VERSION first */
		"VERSION\t1\t2\nMECH\tLOGIN\nDONE\n",	/* no PLAIN */
		"VERSION\t1\t2\nOK\t1\n",		/* before DONE */
		HANDSHAKE "CONT\t1\t\n",		/* PLAIN had its IR */
		HANDSHAKE "OK\t2\tuser=x@example.com\n",	/* not ours */
		HANDSHAKE "FAIL\n",			/* no id */
	};
	struct dovecot d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dovecot_init(&d);
		assert_int_equal(feed_all(&d, bad[i]), DOVECOT_ERROR);
		assert_true(d.reason[0] != '\0');
	}
}

static void
test_nul_in_a_line_is_refused(void **state)
{
	char line[] = "VERSION\t1\0\t2";
	struct dovecot d;

	(void)state;
	dovecot_init(&d);
	assert_int_equal(dovecot_line(&d, line, sizeof(line) - 1),
	    DOVECOT_ERROR);
}

static void
test_endless_handshake_is_refused(void **state)
{
	struct dovecot d;
	int i;

	(void)state;
	dovecot_init(&d);
	assert_int_equal(feed(&d, "VERSION\t1\t2"), DOVECOT_MORE);
	for (i = 1; i < DOVECOT_HANDSHAKE_MAX; i++)
		assert_int_equal(feed(&d, "MECH\tX"), DOVECOT_MORE);
	assert_int_equal(feed(&d, "MECH\tX"), DOVECOT_ERROR);
}

static void
test_auth_line_names_the_client_only_by_address(void **state)
{
	char buf[256];
	int n;

	(void)state;
	n = dovecot_auth_line(buf, sizeof(buf), "AGEAYg==", "192.0.2.7");
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "AUTH\t1\tPLAIN\tservice=smtp\tsecured\t"
	    "nologin\trip=192.0.2.7\tresp=AGEAYg==\n");
	assert_true(dovecot_auth_line(buf, sizeof(buf), "AGEAYg==",
	    "2001:db8::5") > 0);
	assert_non_null(strstr(buf, "\trip=2001:db8::5\t"));
	assert_true(dovecot_auth_line(buf, sizeof(buf), "AGEAYg==",
	    AUTH_SOURCE_LOCAL) > 0);
	assert_null(strstr(buf, "rip="));
	assert_true(dovecot_auth_line(buf, sizeof(buf), "AGEAYg==",
	    "a\tb.c") > 0);
	assert_null(strstr(buf, "rip="));
	/* an address's characters that are no address */
	assert_true(dovecot_auth_line(buf, sizeof(buf), "AGEAYg==",
	    "1.2.3.4.5") > 0);
	assert_null(strstr(buf, "rip="));
	assert_true(dovecot_auth_line(buf, sizeof(buf), "AGEAYg==",
	    "::::") > 0);
	assert_null(strstr(buf, "rip="));
	/* one client, one address for Dovecot's penalty */
	assert_true(dovecot_auth_line(buf, sizeof(buf), "AGEAYg==",
	    "::ffff:192.0.2.7") > 0);
	assert_non_null(strstr(buf, "\trip=192.0.2.7\t"));
	assert_int_equal(dovecot_auth_line(buf, 20, "AGEAYg==", NULL), -1);
}

/* What the client wrote on the other end of a socketpair, up to EOF. */
static void
written(int fd, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	while ((n = read(fd, buf + have, size - 1 - have)) > 0)
		have += (size_t)n;
	assert_true(n == 0);
	buf[have] = '\0';
}

static void
test_talk_sends_handshake_and_auth_and_reads_the_answer(void **state)
{
	char got[1024], want[128];
	struct dovecot d;
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	/* The server's whole side fits the socket's buffer at once. */
	assert_int_equal(fd_write_all(sp[1], HANDSHAKE
	    "OK\t1\tuser=alice@example.com\n", strlen(HANDSHAKE
	    "OK\t1\tuser=alice@example.com\n")), 0);
	assert_int_equal(dovecot_talk(sp[0], &d, "AGEAYg==", SOURCE,
	    clock_ms() + 5000), DOVECOT_OK);
	assert_string_equal(d.user, "alice@example.com");
	close(sp[0]);
	written(sp[1], got, sizeof(got));
	snprintf(want, sizeof(want), "VERSION\t1\t1\nCPID\t%ld\n",
	    (long)getpid());
	assert_int_equal(strncmp(got, want, strlen(want)), 0);
	assert_string_equal(got + strlen(want), "AUTH\t1\tPLAIN\t"
	    "service=smtp\tsecured\tnologin\trip=" SOURCE "\t"
	    "resp=AGEAYg==\n");
	close(sp[1]);
}

static void
test_talk_gives_up_at_the_deadline(void **state)
{
	struct dovecot d;
	int64_t t0;
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	t0 = clock_ms();
	assert_int_equal(dovecot_talk(sp[0], &d, "AGEAYg==", SOURCE,
	    t0 + 200), DOVECOT_ERROR);
	assert_true(clock_ms() - t0 >= 200);
	assert_non_null(strstr(d.reason, "in time"));
	/* Silent after its handshake, too. */
	assert_int_equal(fd_write_all(sp[1], HANDSHAKE, strlen(HANDSHAKE)),
	    0);
	assert_int_equal(dovecot_talk(sp[0], &d, "AGEAYg==", SOURCE,
	    clock_ms() + 200), DOVECOT_ERROR);
	assert_non_null(strstr(d.reason, "in time"));
	close(sp[0]);
	close(sp[1]);
}

static void
test_talk_refuses_a_line_over_the_limit_and_an_early_close(void **state)
{
	static char big[DOVECOT_LINE_MAX + 2];
	struct dovecot d;
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(fd_write_all(sp[1], "VERSION\t1\t2\n", 12), 0);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(fd_write_all(sp[1], big, sizeof(big)), 0);
	assert_int_equal(dovecot_talk(sp[0], &d, "AGEAYg==", SOURCE,
	    clock_ms() + 5000), DOVECOT_ERROR);
	assert_non_null(strstr(d.reason, "longer than"));
	close(sp[0]);
	close(sp[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(fd_write_all(sp[1], HANDSHAKE, strlen(HANDSHAKE)),
	    0);
	assert_int_equal(shutdown(sp[1], SHUT_WR), 0);
	assert_int_equal(dovecot_talk(sp[0], &d, "AGEAYg==", SOURCE,
	    clock_ms() + 5000), DOVECOT_ERROR);
	assert_non_null(strstr(d.reason, "closed"));
	close(sp[0]);
	close(sp[1]);
}

/* smtp-auth ignores SIGPIPE, as here: a Dovecot gone before the
 * handshake is an error to report. */
static void
test_talk_to_a_closed_socket_is_an_error(void **state)
{
	struct dovecot d;
	int sp[2];

	(void)state;
	assert_true(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	assert_int_equal(dovecot_talk(sp[0], &d, "AGEAYg==", SOURCE,
	    clock_ms() + 5000), DOVECOT_ERROR);
	assert_non_null(strstr(d.reason, "handshake"));
	close(sp[0]);
}

static void
test_connect_says_why_not(void **state)
{
	char path[200];

	(void)state;
	assert_int_equal(fd_connect_unix("/nonexistent/auth-client"), -1);
	assert_int_equal(errno, ENOENT);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(fd_connect_unix(path), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

/* auth_check against a scripted server ------------------------------ */

struct fix {
	char		dir[64];
	char		sock[PATH_MAX];
	struct conf	conf;
	char		login[AUTH_LOGIN_MAX];
	char		reason[AUTH_REASON_MAX];
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char p[PATH_MAX], text[PATH_MAX + 128], err[256];

	if (f == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "dovecot_test") == -1)
		return -1;
	*state = f;
	snprintf(f->sock, sizeof(f->sock), "%s/auth-client", f->dir);
	snprintf(p, sizeof(p), "%s/posthorn.conf", f->dir);
	snprintf(text, sizeof(text), "hostname = mx.example.net\n"
	    "spool = %s/spool\nauth_dovecot = auth-client\n", f->dir);
	tu_write_str(p, text);
	snprintf(p, sizeof(p), "%s/spool", f->dir);
	if (mkdir(p, 0700) == -1)
		return -1;
	if (conf_load(&f->conf, f->dir, err, sizeof(err)) == -1) {
		fprintf(stderr, "conf_load: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	return tu_teardown(f, f->dir);
}

/* A server at f->sock that answers one connection with script after
 * the client's AUTH line, which it keeps in got (a file) for the test.
 * Its pid. */
static pid_t
serve(struct fix *f, const char *script)
{
	struct sockaddr_un sa;
	char buf[8192], p[PATH_MAX];
	size_t have = 0;
	ssize_t n;
	pid_t pid;
	int l, c;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, f->sock);
	(void)unlink(f->sock);
	assert_true((l = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_true((pid = fork()) != -1);
	if (pid > 0) {
		close(l);
		return pid;
	}
	if ((c = accept(l, NULL, NULL)) == -1 ||
	    fd_write_all(c, HANDSHAKE, strlen(HANDSHAKE)) == -1)
		_exit(1);
	/* Up to the AUTH line's LF (the third line). */
	while (have < sizeof(buf) - 1 &&
	    (n = read(c, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\nAUTH\t") != NULL &&
		    buf[have - 1] == '\n')
			break;
	}
	snprintf(p, sizeof(p), "%s/got", f->dir);
	tu_write_file(p, buf, have);
	if (fd_write_all(c, script, strlen(script)) == -1)
		_exit(1);
	_exit(0);
}

/* The file at path, NUL-ended, in buf[size]. */
static void
slurp(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static void
reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* auth_check of PLAIN \0authcid\0passwd from SOURCE. */
static enum auth_result
check(struct fix *f, const char *authcid, const char *passwd)
{
	unsigned char bin[512];
	char req[1024];
	size_t n = 0;

	bin[n++] = '\0';
	memcpy(bin + n, authcid, strlen(authcid));
	n += strlen(authcid);
	bin[n++] = '\0';
	memcpy(bin + n, passwd, strlen(passwd));
	n += strlen(passwd);
	strcpy(req, "PLAIN ");
	sodium_bin2base64(req + 6, sizeof(req) - 6, bin, n,
	    sodium_base64_VARIANT_ORIGINAL);
	f->login[0] = f->reason[0] = '\0';
	return auth_check(&f->conf, SOURCE, req, strlen(req), NOW, f->login,
	    sizeof(f->login), f->reason, sizeof(f->reason));
}

static void
test_dovecot_user_is_the_login_lowercased(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX], got[8192];
	pid_t pid;

	pid = serve(f, "OK\t1\tuser=Alice@Example.COM\n");
	assert_int_equal(check(f, "alice", "pw"), AUTH_OK);
	reap(pid);
	assert_string_equal(f->login, "alice@example.com");
	/* The server saw the client's login and password, as PLAIN. */
	snprintf(p, sizeof(p), "%s/got", f->dir);
	slurp(p, got, sizeof(got));
	assert_non_null(strstr(got, "\tresp=AGFsaWNlAHB3\n"));
	assert_non_null(strstr(got, "\trip=" SOURCE "\t"));
}

/* A UTF-8 user of a domain of ours, named by Dovecot in the other
 * spelling, is the login its users file would give: the domain spelt
 * as its directory (users(5)). */
static void
test_dovecot_utf8_user_takes_the_directorys_spelling(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];
	pid_t pid;

	snprintf(p, sizeof(p), "%s/domains", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/domains/b\xc3\xbc" "cher.example", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	pid = serve(f, "OK\t1\tuser=J\xc3\xb6rg@XN--bcher-kva.example\n");
	assert_int_equal(check(f, "j\xc3\xb6rg@xn--bcher-kva.example", "pw"),
	    AUTH_OK);
	reap(pid);
	assert_string_equal(f->login, "j\xc3\xb6rg@b\xc3\xbc" "cher.example");
	/* Another's domain stays as Dovecot gave it. */
	pid = serve(f, "OK\t1\tuser=j\xc3\xb6rg@xn--bcher-kva.test\n");
	assert_int_equal(check(f, "j\xc3\xb6rg@xn--bcher-kva.test", "pw"),
	    AUTH_OK);
	reap(pid);
	assert_string_equal(f->login, "j\xc3\xb6rg@xn--bcher-kva.test");
}

static void
test_dovecot_user_without_a_domain_is_temporary(void **state)
{
	struct fix *f = *state;
	pid_t pid;

	pid = serve(f, "OK\t1\tuser=alice\n");
	assert_int_equal(check(f, "alice", "pw"), AUTH_TEMP);
	reap(pid);
	assert_string_equal(f->login, "");
	assert_non_null(strstr(f->reason, "auth_username_format"));
}

static void
test_dovecot_refusal_is_no_and_counted(void **state)
{
	struct fix *f = *state;
	const struct authlim_max max = { 1, 100 };
	struct authlim lim = { .fd = -1 };
	enum authlim_verdict v;
	pid_t pid;

	pid = serve(f, "FAIL\t1\tuser=alice@example.com\n");
	assert_int_equal(check(f, "alice@example.com", "wrong"), AUTH_NO);
	reap(pid);
	assert_null(strstr(f->reason, "wrong"));
	assert_int_equal(authlim_open(&lim, f->conf.spool), 0);
	assert_int_equal(authlim_check(&lim, &max, SOURCE,
	    "alice@example.com", NOW, &v), 0);
	assert_int_equal(v, AUTHLIM_SOURCE);
	authlim_close(&lim);
}

/* A wrong password under a login with a TAB, which Dovecot's FAIL
 * echoes: a refusal, counted like any. */
static void
test_dovecot_refusal_of_an_odd_login_is_counted(void **state)
{
	struct fix *f = *state;
	const struct authlim_max max = { 1, 100 };
	struct authlim lim = { .fd = -1 };
	enum authlim_verdict v;
	pid_t pid;

	pid = serve(f, "FAIL\t1\tuser=alice@example.com\001t\n");
	assert_int_equal(check(f, "alice@example.com\t", "wrong"), AUTH_NO);
	reap(pid);
	assert_int_equal(authlim_open(&lim, f->conf.spool), 0);
	assert_int_equal(authlim_check(&lim, &max, SOURCE,
	    "alice@example.com", NOW, &v), 0);
	assert_int_equal(v, AUTHLIM_SOURCE);
	authlim_close(&lim);
}

static void
test_dovecot_temp_and_absent_are_temporary_and_not_counted(void **state)
{
	struct fix *f = *state;
	const struct authlim_max max = { 1, 1 };
	struct authlim lim = { .fd = -1 };
	enum authlim_verdict v;
	pid_t pid;

	pid = serve(f, "FAIL\t1\ttemp\treason=ldap down\n");
	assert_int_equal(check(f, "alice@example.com", "pw"), AUTH_TEMP);
	reap(pid);
	assert_non_null(strstr(f->reason, "ldap down"));
	assert_int_equal(unlink(f->sock), 0);
	assert_int_equal(check(f, "alice@example.com", "pw"), AUTH_TEMP);
	assert_non_null(strstr(f->reason, "No such file"));
	assert_int_equal(authlim_open(&lim, f->conf.spool), 0);
	assert_int_equal(authlim_check(&lim, &max, SOURCE,
	    "alice@example.com", NOW, &v), 0);
	assert_int_equal(v, AUTHLIM_OK);
	authlim_close(&lim);
}

/* The client's bytes, whatever they hold (TAB, LF, CR, Dovecot's \001
 * escape, field names), reach Dovecot only inside resp='s base64: the
 * AUTH line has the fields we write and no other. */
static void
test_client_bytes_reach_dovecot_only_inside_resp(void **state)
{
	static const char authcid[] = "alice@example.com\tuser=root\n"
	    "OK\t1\001t", passwd[] = "pw\tresp=AA==\r\n\0010\001";
	struct fix *f = *state;
	unsigned char bin[256];
	char p[PATH_MAX], got[8192], want[1024], *auth;
	size_t n = 0;
	pid_t pid;

	bin[n++] = '\0';
	memcpy(bin + n, authcid, strlen(authcid));
	n += strlen(authcid);
	bin[n++] = '\0';
	memcpy(bin + n, passwd, strlen(passwd));
	n += strlen(passwd);
	snprintf(want, sizeof(want), "AUTH\t1\tPLAIN\tservice=smtp\t"
	    "secured\tnologin\trip=" SOURCE "\tresp=");
	sodium_bin2base64(want + strlen(want), sizeof(want) - strlen(want),
	    bin, n, sodium_base64_VARIANT_ORIGINAL);
	assert_true(strlen(want) + 2 < sizeof(want));
	strcat(want, "\n");

	pid = serve(f, "FAIL\t1\n");
	assert_int_equal(check(f, authcid, passwd), AUTH_NO);
	reap(pid);
	snprintf(p, sizeof(p), "%s/got", f->dir);
	slurp(p, got, sizeof(got));
	assert_non_null(auth = strstr(got, "\nAUTH\t"));
	assert_string_equal(auth + 1, want);
	/* and the log's reason has none of them raw */
	assert_null(strpbrk(f->reason, "\t\r\n\001"));
	assert_null(strstr(f->reason, "pw"));
}

/* An authzid other than the login is refused here, before Dovecot is
 * asked (none listens: asking would be a temporary failure). */
static void
test_other_authzid_is_refused_without_asking(void **state)
{
	static const char msg[] = "root@example.com\0alice@example.com\0pw";
	struct fix *f = *state;
	char req[256];

	strcpy(req, "PLAIN ");
	sodium_bin2base64(req + 6, sizeof(req) - 6,
	    (const unsigned char *)msg, sizeof(msg) - 1,
	    sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(auth_check(&f->conf, SOURCE, req, strlen(req), NOW,
	    f->login, sizeof(f->login), f->reason, sizeof(f->reason)),
	    AUTH_NO);
	assert_string_equal(f->login, "");
	assert_non_null(strstr(f->reason, "authzid"));
}

static void
test_conf_auth_dovecot_must_fit_a_socket_address(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX], text[400], err[256], longname[200];
	struct conf c;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(p, sizeof(p), "%s/posthorn.conf", f->dir);
	snprintf(text, sizeof(text), "auth_dovecot = /%s\n", longname);
	tu_write_str(p, text);
	assert_int_equal(conf_load(&c, f->dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "auth_dovecot"));
	/* Empty: the users files, as when it is not there. */
	tu_write_str(p, "auth_dovecot =\n");
	assert_int_equal(conf_load(&c, f->dir, err, sizeof(err)), 0);
	assert_string_equal(c.auth_dovecot, "");
	tu_write_str(p, "auth_dovecot = /run/dovecot/posthorn-auth\n");
	assert_int_equal(conf_load(&c, f->dir, err, sizeof(err)), 0);
	assert_string_equal(c.auth_dovecot, "/run/dovecot/posthorn-auth");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unescape_maps_every_escape),
		cmocka_unit_test(test_handshake_then_ok_names_the_user),
		cmocka_unit_test(test_escapes_in_the_user_are_undone),
		cmocka_unit_test(test_user_with_a_control_character_is_refused),
		cmocka_unit_test(
		    test_fail_with_the_clients_odd_login_is_still_fail),
		cmocka_unit_test(test_user_that_does_not_fit_is_refused),
		cmocka_unit_test(test_fail_and_fail_temp),
		cmocka_unit_test(
		    test_lines_the_protocol_does_not_allow_are_refused),
		cmocka_unit_test(test_nul_in_a_line_is_refused),
		cmocka_unit_test(test_endless_handshake_is_refused),
		cmocka_unit_test(
		    test_auth_line_names_the_client_only_by_address),
		cmocka_unit_test(
		    test_talk_sends_handshake_and_auth_and_reads_the_answer),
		cmocka_unit_test(test_talk_gives_up_at_the_deadline),
		cmocka_unit_test(
		    test_talk_refuses_a_line_over_the_limit_and_an_early_close),
		cmocka_unit_test(test_talk_to_a_closed_socket_is_an_error),
		cmocka_unit_test(test_connect_says_why_not),
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dovecot_user_is_the_login_lowercased),
		T(test_dovecot_utf8_user_takes_the_directorys_spelling),
		T(test_dovecot_user_without_a_domain_is_temporary),
		T(test_dovecot_refusal_is_no_and_counted),
		T(test_dovecot_refusal_of_an_odd_login_is_counted),
		T(test_dovecot_temp_and_absent_are_temporary_and_not_counted),
		T(test_client_bytes_reach_dovecot_only_inside_resp),
		T(test_other_authzid_is_refused_without_asking),
		T(test_conf_auth_dovecot_must_fit_a_socket_address),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
