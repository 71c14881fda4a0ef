/* auth_test.c — smtp-auth(8)'s decisions: SASL PLAIN (RFC 4616) and
 * LOGIN decoded strictly, and the login checked against the users file:
 * which answers log in, which are refused (535), which are malformed
 * (501) and which are temporary (454).  The users file holds one real
 * argon2id hash, made once for the whole run: each verification costs
 * about a tenth of a second, so the tests that verify are few. */

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
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
#include "passwd.h"
#include "str.h"
#include "testutil.h"
#include "users.h"

#define SOURCE	"192.0.2.7"	/* the client of every check() */
#define NOW	1000000		/* s: the time of every check() */

#define PASSWORD	"correct horse"
#define ALICE		"alice@example.com"

static char alice_hash[PASSWD_HASH_MAX];	/* of PASSWORD */

struct fix {
	char		dir[64];
	struct conf	conf;
	char		login[AUTH_LOGIN_MAX];
	char		reason[AUTH_REASON_MAX];
};

static int
group_setup(void **state)
{
	(void)state;
	return passwd_hash(PASSWORD, strlen(PASSWORD), alice_hash);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char p[PATH_MAX], line[400], err[256];
	FILE *fp;

	if (f == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "auth_test") == -1)
		return -1;
	*state = f;
	snprintf(p, sizeof(p), "%s/posthorn.conf", f->dir);
	if ((fp = fopen(p, "w")) == NULL)
		return -1;
	fprintf(fp, "hostname = mx.example.net\nspool = %s/spool\n", f->dir);
	if (fclose(fp) == EOF)
		return -1;
	snprintf(p, sizeof(p), "%s/spool", f->dir);
	if (mkdir(p, 0700) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/domains", f->dir);
	if (mkdir(p, 0755) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/domains/example.com", f->dir);
	if (mkdir(p, 0755) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/domains/example.com/users", f->dir);
	snprintf(line, sizeof(line), "alice:%s\nbob:!\n", alice_hash);
	if ((fp = fopen(p, "w")) == NULL)
		return -1;
	fputs(line, fp);
	if (fclose(fp) == EOF)
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

/* "MECH " and the base64 of bin[0..n). */
static void
request(char *out, size_t size, const char *mech, const void *bin, size_t n)
{
	size_t m = strlen(mech);

	assert_true(m + 1 + sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL) <= size);
	memcpy(out, mech, m);
	out[m] = ' ';
	sodium_bin2base64(out + m + 1, size - m - 1, bin, n,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* The RFC 4616 message authzid NUL authcid NUL passwd, as a request. */
static void
plain(char *out, size_t size, const char *authzid, const char *authcid,
    const char *pw)
{
	char msg[1024];
	int n;

	n = snprintf(msg, sizeof(msg), "%s%c%s%c%s", authzid, '\0', authcid,
	    '\0', pw);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
	request(out, size, "PLAIN", msg, (size_t)n);
}

/* "LOGIN <base64 user> <base64 password>". */
static void
login(char *out, size_t size, const void *user, size_t ulen,
    const void *pw, size_t plen)
{
	size_t n;

	request(out, size, "LOGIN", user, ulen);
	n = strlen(out);
	assert_true(n + 1 < size);
	out[n] = ' ';
	sodium_bin2base64(out + n + 1, size - n - 1, pw, plen,
	    sodium_base64_VARIANT_ORIGINAL);
}

static enum auth_result
check(struct fix *f, const char *req)
{
	f->login[0] = '\0';
	f->reason[0] = '\0';
	return auth_check(&f->conf, SOURCE, req, strlen(req), NOW, f->login,
	    sizeof(f->login), f->reason, sizeof(f->reason));
}

/* Decoding alone: no users file, no hash. */
static enum auth_result
decode(struct fix *f, const char *req, size_t len)
{
	struct auth_cred c;
	enum auth_result r;

	f->reason[0] = '\0';
	r = auth_decode(req, len, &c, f->reason, sizeof(f->reason));
	auth_cred_wipe(&c);
	return r;
}

static void
test_plain_without_authzid_logs_in(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "", ALICE, PASSWORD);
	assert_int_equal(check(f, req), AUTH_OK);
	assert_string_equal(f->login, ALICE);
}

/* The login in either spelling of an international domain is the one
 * its directory has, as the case of ASCII is folded: senders(5) and
 * the logs know one name. */
static void
test_login_at_the_other_spelling_is_the_directory_s(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX], line[400], req[512];

	snprintf(p, sizeof(p), "%s/domains/b\xc3\xbc" "cher.example", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/domains/b\xc3\xbc" "cher.example/users",
	    f->dir);
	snprintf(line, sizeof(line), "alice:%s\n", alice_hash);
	tu_write_str(p, line);
	plain(req, sizeof(req), "", "alice@XN--BCHER-KVA.example", PASSWORD);
	assert_int_equal(check(f, req), AUTH_OK);
	assert_string_equal(f->login, "alice@b\xc3\xbc" "cher.example");
	plain(req, sizeof(req), "", "alice@b\xc3\xbc" "cher.example",
	    PASSWORD);
	assert_int_equal(check(f, req), AUTH_OK);
	assert_string_equal(f->login, "alice@b\xc3\xbc" "cher.example");
}

static void
test_plain_with_authzid_of_the_login_itself_logs_in(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "Alice@Example.COM", ALICE, PASSWORD);
	assert_int_equal(check(f, req), AUTH_OK);
	assert_string_equal(f->login, ALICE);
}

static void
test_plain_with_another_authzid_is_refused(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "bob@example.com", ALICE, PASSWORD);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "authzid"));
	assert_string_equal(f->login, "");
}

static void
test_user_and_domain_are_case_insensitive(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "", "ALICE@Example.COM", PASSWORD);
	assert_int_equal(check(f, req), AUTH_OK);
	/* As the users file names the user, the domain lowercased. */
	assert_string_equal(f->login, ALICE);
}

static void
test_wrong_password_is_refused_and_never_in_the_reason(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "", ALICE, "correct horsf");
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "wrong password"));
	assert_non_null(strstr(f->reason, ALICE));
	assert_null(strstr(f->reason, "horsf"));
	assert_string_equal(f->login, "");
}

static void
test_login_mechanism_right_and_wrong_password(void **state)
{
	struct fix *f = *state;
	char req[512];

	login(req, sizeof(req), ALICE, strlen(ALICE), PASSWORD,
	    strlen(PASSWORD));
	assert_int_equal(check(f, req), AUTH_OK);
	assert_string_equal(f->login, ALICE);
	login(req, sizeof(req), ALICE, strlen(ALICE), "nope", 4);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_null(strstr(f->reason, "nope"));
}

static void
test_receive_only_user_cannot_log_in(void **state)
{
	struct fix *f = *state;
	char req[512];

	/* users(5) "!": no password is the right one, not even empty. */
	plain(req, sizeof(req), "", "bob@example.com", "!");
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "receive-only"));
}

static void
test_unknown_user_is_refused(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "", "carol@example.com", PASSWORD);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "no such user"));
}

static void
test_unknown_domain_and_the_bare_hostname_are_refused(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "", "alice@example.org", PASSWORD);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "not a local domain"));
	/* Local, but without domains/HOSTNAME there are no users. */
	plain(req, sizeof(req), "", "alice@mx.example.net", PASSWORD);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "no such user"));
}

static void
test_bad_base64_is_malformed(void **state)
{
	struct fix *f = *state;
	/* "\0a@b.c\0pw" is AGFAYi5jAHB3 (12 characters, no padding);
	 * "\0a@b.c\0p" is AGFAYi5jAHA= . */
	static const char *const bad[] = {
		"PLAIN AGFAYi5jAHA",		/* padding missing */
		"PLAIN AGFAYi5jAHA==",		/* padding too long */
		"PLAIN AGFAYi5jAHB=",		/* bits left over */
		"PLAIN AGFAYi5jAHB3=",		/* padding after a quantum */
		"PLAIN AGFAYi5j*HB3",		/* not in the alphabet */
		"PLAIN AGFAYi5j-HB3",		/* URL-safe alphabet */
		"PLAIN AGFAYi5j AHB3",		/* space inside */
		"PLAIN AGFAYi5jAHB3 ",		/* space after */
		"PLAIN  AGFAYi5jAHB3",		/* space before */
		"PLAIN AGFAYi5jAHB3\r",		/* a CR left over */
		"PLAIN AGFA\nYi5jAHB3",		/* a line break */
		"PLAIN =",			/* RFC 4954's empty response */
		"PLAIN ",
	};
	size_t i;

	assert_int_equal(decode(f, "PLAIN AGFAYi5jAHB3", 18), AUTH_OK);
	assert_int_equal(decode(f, "PLAIN AGFAYi5jAHA=", 18), AUTH_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode(f, bad[i], strlen(bad[i])), AUTH_BAD);
		assert_true(strstr(f->reason, "base64") != NULL ||
		    strstr(f->reason, "NUL") != NULL);
	}
	/* A NUL byte in the line itself. */
	assert_int_equal(decode(f, "PLAIN AGFA\0Yi5jAHB3", 19), AUTH_BAD);
	assert_int_equal(decode(f, "LOGIN YUBiLmM= cHc", 18), AUTH_BAD);
	assert_int_equal(decode(f, "LOGIN YUBiLmM cHc=", 18), AUTH_BAD);
	assert_int_equal(decode(f, "LOGIN YUBiLmM= cHc= cHc=", 24),
	    AUTH_BAD);
	assert_int_equal(decode(f, "LOGIN YUBiLmM= cHc=", 19), AUTH_OK);
}

static void
test_plain_without_two_nuls_or_with_a_third_is_malformed(void **state)
{
	struct fix *f = *state;
	char req[512];

	request(req, sizeof(req), "PLAIN", ALICE, strlen(ALICE));
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	assert_non_null(strstr(f->reason, "NUL"));
	request(req, sizeof(req), "PLAIN", "\0" ALICE, strlen(ALICE) + 1);
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	request(req, sizeof(req), "PLAIN", "\0" ALICE "\0pw\0x",
	    strlen(ALICE) + 6);
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	assert_non_null(strstr(f->reason, "password"));
}

static void
test_empty_login_or_password_is_malformed(void **state)
{
	struct fix *f = *state;
	char req[512];

	plain(req, sizeof(req), "", "", PASSWORD);
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	assert_non_null(strstr(f->reason, "empty login"));
	plain(req, sizeof(req), "", ALICE, "");
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	assert_non_null(strstr(f->reason, "empty password"));
	assert_int_equal(decode(f, "LOGIN  cHc=", 11), AUTH_BAD);
	assert_int_equal(decode(f, "LOGIN YUBiLmM= ", 15), AUTH_BAD);
	assert_non_null(strstr(f->reason, "empty password"));
}

static void
test_nul_inside_a_login_field_is_malformed(void **state)
{
	struct fix *f = *state;
	char req[512];

	login(req, sizeof(req), "alice\0@example.com", 18, PASSWORD,
	    strlen(PASSWORD));
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	assert_non_null(strstr(f->reason, "NUL inside the user name"));
	login(req, sizeof(req), ALICE, strlen(ALICE), "pass\0word", 9);
	assert_int_equal(decode(f, req, strlen(req)), AUTH_BAD);
	assert_non_null(strstr(f->reason, "NUL inside the password"));
}

static void
test_login_that_is_not_user_at_domain_is_malformed(void **state)
{
	struct fix *f = *state;
	static const char *const bad[] = {
		"alice", "alice@", "@example.com", "alice@[192.0.2.1]",
		"al ice@example.com", "alice@example.com extra",
		"\xc3@example.com"		/* not UTF-8 */
	};
	char req[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		plain(req, sizeof(req), "", bad[i], PASSWORD);
		assert_int_equal(check(f, req), AUTH_BAD);
		assert_non_null(strstr(f->reason, "not user@domain"));
	}
	/* A UTF-8 login (RFC 4616 takes UTF-8) is looked up like any. */
	plain(req, sizeof(req), "", "\xc3\xa9@example.com", PASSWORD);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "no such user"));
}

static void
test_reason_is_one_printable_line(void **state)
{
	struct fix *f = *state;
	char req[512];
	const char *p;

	/* The authzid is the client's bytes, and it goes into the reason. */
	plain(req, sizeof(req), "x\r\n250 fake\x7f\xff", ALICE, PASSWORD);
	assert_int_equal(check(f, req), AUTH_NO);
	assert_non_null(strstr(f->reason, "250 fake"));
	for (p = f->reason; *p != '\0'; p++)
		assert_true(*p >= ' ' && *p <= '~');
}

static void
test_password_over_the_limit_is_refused(void **state)
{
	struct fix *f = *state;
	char pw[PASSWD_MAX + 2], req[AUTH_REQUEST_MAX + 1];

	memset(pw, 'x', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	login(req, sizeof(req), ALICE, strlen(ALICE), pw, strlen(pw));
	assert_int_equal(decode(f, req, strlen(req)), AUTH_NO);
	assert_null(strstr(f->reason, "xxxx"));
	pw[PASSWD_MAX] = '\0';		/* the longest that is taken */
	login(req, sizeof(req), ALICE, strlen(ALICE), pw, strlen(pw));
	assert_int_equal(decode(f, req, strlen(req)), AUTH_OK);
}

static void
test_overlong_or_unknown_request_is_malformed(void **state)
{
	struct fix *f = *state;
	static char req[AUTH_REQUEST_MAX + 2];

	memset(req, 'A', sizeof(req) - 1);
	memcpy(req, "PLAIN ", 6);
	assert_int_equal(decode(f, req, AUTH_REQUEST_MAX + 1), AUTH_BAD);
	assert_non_null(strstr(f->reason, "longer"));
	assert_int_equal(decode(f, "CRAM-MD5 AAAA", 13), AUTH_BAD);
	assert_int_equal(decode(f, "plain AGFAYi5jAHB3", 18), AUTH_BAD);
	assert_int_equal(decode(f, "PLAIN", 5), AUTH_BAD);
	assert_int_equal(decode(f, "", 0), AUTH_BAD);
}

/* A users file that cannot be read, whoever runs the test (chmod 000
 * does not stop root): a directory in its place, or a line longer than
 * users(5) allows. */
static void
test_unreadable_users_file_is_temporary(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX], line[USERS_LINE_MAX + 16], req[512];

	snprintf(p, sizeof(p), "%s/domains/example.com/users", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	plain(req, sizeof(req), "", ALICE, PASSWORD);
	assert_int_equal(check(f, req), AUTH_TEMP);
	assert_non_null(strstr(f->reason, "users"));
	assert_int_equal(rmdir(p), 0);

	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	tu_write_str(p, line);
	assert_int_equal(check(f, req), AUTH_TEMP);
	assert_non_null(strstr(f->reason, "malformed"));
}

/* argon2id wants 64 MiB.  In a child whose address space cannot grow
 * that much, the right password is a temporary failure, not a 535 that
 * would make the user think the password wrong. */
static void
test_no_memory_for_argon2id_is_temporary(void **state)
{
	struct fix *f = *state;
	char req[512], status[64];
	struct rlimit rl;
	long kib = 0;
	FILE *fp;
	pid_t pid;
	int st;

	plain(req, sizeof(req), "", ALICE, PASSWORD);
	assert_non_null(fp = fopen("/proc/self/status", "r"));
	while (fgets(status, sizeof(status), fp) != NULL)
		if (sscanf(status, "VmSize: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	assert_true(kib > 0);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		/* 16 MiB more than now: enough for the rest, not for it. */
		rl.rlim_cur = rl.rlim_max = ((rlim_t)kib + 16 * 1024) * 1024;
		if (setrlimit(RLIMIT_AS, &rl) == -1)
			_exit(100);
		_exit(check(f, req) == AUTH_TEMP &&
		    strstr(f->reason, "memory") != NULL ? 0 : 101);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_read_request_takes_exactly_one_bounded_line(void **state)
{
	char buf[AUTH_REQUEST_MAX + 2];
	static char big[AUTH_REQUEST_MAX + 2];
	size_t len;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "PLAIN AAAA\n", 11), 11);
	close(p[1]);
	assert_int_equal(auth_read_request(p[0], buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "PLAIN AAAA");
	close(p[0]);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "PLAIN AAAA", 10), 10);
	close(p[1]);
	assert_int_equal(auth_read_request(p[0], buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, EPROTO);
	close(p[0]);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "PLAIN AAAA\nLOGIN\n", 17), 17);
	close(p[1]);
	assert_int_equal(auth_read_request(p[0], buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, EPROTO);
	close(p[0]);

	/* AUTH_REQUEST_MAX bytes and the LF fit; one more does not. */
	memset(big, 'A', sizeof(big));
	big[AUTH_REQUEST_MAX] = '\n';
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, AUTH_REQUEST_MAX + 1),
	    AUTH_REQUEST_MAX + 1);
	close(p[1]);
	assert_int_equal(auth_read_request(p[0], buf, sizeof(buf), &len), 0);
	assert_int_equal(len, AUTH_REQUEST_MAX);
	close(p[0]);
	big[AUTH_REQUEST_MAX] = 'A';
	big[AUTH_REQUEST_MAX + 1] = '\n';
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], big, AUTH_REQUEST_MAX + 2),
	    AUTH_REQUEST_MAX + 2);
	close(p[1]);
	assert_int_equal(auth_read_request(p[0], buf, sizeof(buf), &len), -1);
	assert_int_equal(errno, E2BIG);
	close(p[0]);
}

/* A source with CONF_AUTH_FAILURES_DEFAULT failures on record is refused even
 * with the right password: no verification ran. */
static void
test_source_that_failed_too_often_is_refused_unchecked(void **state)
{
	struct fix *f = *state;
	struct authlim lim;
	char req[512];
	int i;

	assert_int_equal(authlim_open(&lim, f->conf.spool), 0);
	for (i = 0; i < CONF_AUTH_FAILURES_DEFAULT - 1; i++)
		assert_int_equal(authlim_fail(&lim, SOURCE, "x@example.com",
		    NOW), 0);
	authlim_close(&lim);
	/* the 30th failure, by a wrong password checked */
	plain(req, sizeof(req), "", "alice@example.com", "wrong");
	assert_int_equal(check(f, req), AUTH_NO);
	plain(req, sizeof(req), "", "alice@example.com", PASSWORD);
	assert_int_equal(check(f, req), AUTH_TEMP);
	assert_non_null(strstr(f->reason, "too many failed logins from "
	    SOURCE));
	assert_string_equal(f->login, "");
}

/* Every refusal of a valid request counts, a success does not. */
static void
test_failures_are_counted_per_source_and_login(void **state)
{
	struct fix *f = *state;
	const struct authlim_max max = { CONF_AUTH_FAILURES_DEFAULT,
	    CONF_AUTH_FAILURES_DEFAULT };
	enum authlim_verdict v;
	struct authlim lim;
	char req[512];
	int i;

	plain(req, sizeof(req), "", "alice@example.com", PASSWORD);
	assert_int_equal(check(f, req), AUTH_OK);
	plain(req, sizeof(req), "", "nobody@example.com", "x");
	assert_int_equal(check(f, req), AUTH_NO);
	assert_int_equal(authlim_open(&lim, f->conf.spool), 0);
	for (i = 0; i < CONF_AUTH_FAILURES_DEFAULT - 2; i++)
		assert_int_equal(authlim_fail(&lim, SOURCE, "y@example.com",
		    NOW), 0);
	assert_int_equal(authlim_check(&lim, &max, SOURCE, "a@b", NOW, &v),
	    0);
	assert_int_equal(v, AUTHLIM_OK);
	assert_int_equal(authlim_fail(&lim, SOURCE, "y@example.com", NOW), 0);
	assert_int_equal(authlim_check(&lim, &max, SOURCE, "a@b", NOW, &v),
	    0);
	assert_int_equal(v, AUTHLIM_SOURCE);
	authlim_close(&lim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_plain_without_authzid_logs_in),
		T(test_plain_with_authzid_of_the_login_itself_logs_in),
		T(test_login_at_the_other_spelling_is_the_directory_s),
		T(test_plain_with_another_authzid_is_refused),
		T(test_user_and_domain_are_case_insensitive),
		T(test_wrong_password_is_refused_and_never_in_the_reason),
		T(test_login_mechanism_right_and_wrong_password),
		T(test_receive_only_user_cannot_log_in),
		T(test_unknown_user_is_refused),
		T(test_unknown_domain_and_the_bare_hostname_are_refused),
		T(test_bad_base64_is_malformed),
		T(test_plain_without_two_nuls_or_with_a_third_is_malformed),
		T(test_empty_login_or_password_is_malformed),
		T(test_nul_inside_a_login_field_is_malformed),
		T(test_login_that_is_not_user_at_domain_is_malformed),
		T(test_reason_is_one_printable_line),
		T(test_password_over_the_limit_is_refused),
		T(test_overlong_or_unknown_request_is_malformed),
		T(test_unreadable_users_file_is_temporary),
		T(test_no_memory_for_argon2id_is_temporary),
		T(test_read_request_takes_exactly_one_bounded_line),
		T(test_source_that_failed_too_often_is_refused_unchecked),
		T(test_failures_are_counted_per_source_and_login),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
