/* route_test.c — routes(5): every form a line takes, which line wins for
 * a domain, the auth file's mode and content, and bad lines reported
 * with their file and line number, by route_lookup (the first) and by
 * route_check (all of them). */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "route.h"
#include "testutil.h"

struct fx {
	char		dir[64];
	struct conf	c;
	struct route	r;
	char		err[512];
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "route_test") == -1) {
		free(fx);
		return -1;
	}
	snprintf(fx->c.dir, sizeof(fx->c.dir), "%s", fx->dir);
	snprintf(fx->c.hostname, sizeof(fx->c.hostname), "mail.example.org");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	return tu_teardown(fx, fx->dir);
}

static void
put(struct fx *fx, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	tu_write_str(path, text);
	assert_int_equal(chmod(path, mode), 0);
}

static int
lookup(struct fx *fx, const char *domain)
{
	return route_lookup(&fx->c, domain, &fx->r, fx->err, sizeof(fx->err));
}

static void
test_no_routes_file_means_mx_with_tls_may(void **state)
{
	struct fx *fx = *state;

	memset(&fx->r, 0x55, sizeof(fx->r));
	assert_int_equal(lookup(fx, "example.com"), 0);
	assert_int_equal(fx->r.mx, 1);
	assert_int_equal(fx->r.tls, ROUTE_TLS_MAY);
	assert_int_equal(fx->r.port, 25);
	assert_int_equal(fx->r.implicit_tls, 0);
	assert_string_equal(fx->r.auth_user, "");
	assert_string_equal(fx->r.ca, "");
}

static void
test_domain_line_wins_over_star(void **state)
{
	struct fx *fx = *state;

	put(fx, "routes",
	    "# destination    next hop               options\n"
	    "*                smtp.example.net:587   tls=encrypt\n"
	    "\n"
	    "   # indented comment\n"
	    "Partner.Example  mx  tls=verify   # pinned\n", 0644);
	assert_int_equal(lookup(fx, "PARTNER.example."), 0);
	assert_int_equal(fx->r.mx, 1);
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	assert_int_equal(lookup(fx, "other.example"), 0);
	assert_int_equal(fx->r.mx, 0);
	assert_string_equal(fx->r.host, "smtp.example.net");
	assert_int_equal(fx->r.port, 587);
	assert_int_equal(fx->r.implicit_tls, 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_ENCRYPT);
	/* A subdomain is another domain. */
	assert_int_equal(lookup(fx, "sub.partner.example"), 0);
	assert_int_equal(fx->r.mx, 0);
}

static void
test_without_star_other_domains_use_mx(void **state)
{
	struct fx *fx = *state;

	put(fx, "routes", "partner.example relay.example.net\n", 0644);
	assert_int_equal(lookup(fx, "example.com"), 0);
	assert_int_equal(fx->r.mx, 1);
	assert_int_equal(fx->r.tls, ROUTE_TLS_MAY);
	assert_int_equal(lookup(fx, "partner.example"), 0);
	assert_int_equal(fx->r.mx, 0);
	assert_string_equal(fx->r.host, "relay.example.net");
	assert_int_equal(fx->r.port, 25);
	assert_int_equal(fx->r.tls, ROUTE_TLS_MAY);
}

static void
test_every_next_hop_form(void **state)
{
	struct fx *fx = *state;

	put(fx, "routes",
	    "a.example\tMX\n"
	    "b.example\tRelay.Example.NET\n"
	    "c.example\trelay.example.net:2525\n"
	    "d.example\t[2001:db8::25]:587\n"
	    "e.example\t[192.0.2.25]\n"
	    "f.example\t192.0.2.26:26\n"
	    "g.example\tsmtps.example.net:465\n"
	    "h.example\t[::1]\n", 0644);
	assert_int_equal(lookup(fx, "a.example"), 0);
	assert_int_equal(fx->r.mx, 1);
	assert_int_equal(lookup(fx, "b.example"), 0);
	assert_string_equal(fx->r.host, "relay.example.net");
	assert_int_equal(fx->r.port, 25);
	assert_int_equal(lookup(fx, "c.example"), 0);
	assert_string_equal(fx->r.host, "relay.example.net");
	assert_int_equal(fx->r.port, 2525);
	assert_int_equal(lookup(fx, "d.example"), 0);
	assert_string_equal(fx->r.host, "2001:db8::25");
	assert_int_equal(fx->r.port, 587);
	assert_int_equal(lookup(fx, "e.example"), 0);
	assert_string_equal(fx->r.host, "192.0.2.25");
	assert_int_equal(fx->r.port, 25);
	assert_int_equal(lookup(fx, "f.example"), 0);
	assert_string_equal(fx->r.host, "192.0.2.26");
	assert_int_equal(fx->r.port, 26);
	assert_int_equal(fx->r.implicit_tls, 0);
	assert_int_equal(lookup(fx, "g.example"), 0);
	assert_int_equal(fx->r.port, 465);
	assert_int_equal(fx->r.implicit_tls, 1);
	assert_int_equal(fx->r.tls, ROUTE_TLS_MAY);
	assert_int_equal(lookup(fx, "h.example"), 0);
	assert_string_equal(fx->r.host, "::1");
}

static void
test_tls_policies_and_ca(void **state)
{
	struct fx *fx = *state;
	char ca[PATH_MAX];

	put(fx, "ca.pem", "not checked here\n", 0644);
	put(fx, "routes",
	    "a.example mx tls=none\n"
	    "b.example mx tls=may\n"
	    "c.example mx tls=encrypt\n"
	    "d.example mx tls=verify ca=ca.pem\n"
	    "e.example mx ca=/etc/hostname\n"
	    "f.example mx tls=dane\n"
	    "g.example mx tls=sts\n", 0644);
	assert_int_equal(lookup(fx, "a.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_NONE);
	assert_int_equal(lookup(fx, "b.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_MAY);
	assert_int_equal(lookup(fx, "c.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_ENCRYPT);
	assert_int_equal(lookup(fx, "d.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	snprintf(ca, sizeof(ca), "%s/ca.pem", fx->dir);
	assert_string_equal(fx->r.ca, ca);
	assert_int_equal(lookup(fx, "e.example"), 0);
	assert_string_equal(fx->r.ca, "/etc/hostname");
	assert_int_equal(lookup(fx, "f.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_DANE);
	assert_int_equal(lookup(fx, "g.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_STS);
}

static void
test_missing_ca_file_fails_its_lookup(void **state)
{
	struct fx *fx = *state;

	put(fx, "routes", "a.example mx\nb.example mx ca=nothere.pem\n",
	    0644);
	assert_int_equal(lookup(fx, "a.example"), 0);
	assert_int_equal(lookup(fx, "b.example"), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(fx->err, "routes:2: ca file"));
}

static void
test_auth_file_gives_the_credentials(void **state)
{
	struct fx *fx = *state;
	char sub[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/secrets", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	put(fx, "secrets/ses", "AKIAEXAMPLE:pass:with:colons\n", 0600);
	put(fx, "secrets/other", "user@example.org:pw\r\n", 0640);
	put(fx, "routes",
	    "* email-smtp.eu-west-1.amazonaws.com:587 auth=secrets/ses "
	    "tls=verify\n"
	    "b.example smtp.example.net auth=secrets/other\n", 0644);
	assert_int_equal(lookup(fx, "example.com"), 0);
	assert_string_equal(fx->r.host, "email-smtp.eu-west-1.amazonaws.com");
	assert_int_equal(fx->r.port, 587);
	assert_string_equal(fx->r.auth_user, "AKIAEXAMPLE");
	assert_string_equal(fx->r.auth_pass, "pass:with:colons");
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	assert_int_equal(lookup(fx, "b.example"), 0);
	assert_string_equal(fx->r.auth_user, "user@example.org");
	assert_string_equal(fx->r.auth_pass, "pw");
	/* A password goes to a verified host only: auth= without tls=
	 * is tls=verify. */
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
}

static void
test_auth_means_verify_unless_encrypt_is_written(void **state)
{
	struct fx *fx = *state;

	put(fx, "secrets", "u:p\n", 0600);
	put(fx, "routes",
	    "a.example smtp.example.net:587 auth=secrets\n"
	    "b.example smtp.example.net:587 auth=secrets tls=may\n"
	    "c.example smtp.example.net:587 auth=secrets tls=encrypt\n"
	    "d.example smtp.example.net:465 auth=secrets\n"
	    "e.example smtp.example.net:587 auth=secrets tls=sts\n"
	    "f.example smtp.example.net:587 auth=secrets tls=dane\n", 0644);
	assert_int_equal(lookup(fx, "a.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	assert_int_equal(lookup(fx, "b.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	/* The documented opt-out: encrypt written out stays encrypt. */
	assert_int_equal(lookup(fx, "c.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_ENCRYPT);
	assert_int_equal(lookup(fx, "d.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	assert_int_equal(fx->r.implicit_tls, 1);
	/* sts proves nothing by itself: verify; dane proves the name. */
	assert_int_equal(lookup(fx, "e.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_VERIFY);
	assert_int_equal(lookup(fx, "f.example"), 0);
	assert_int_equal(fx->r.tls, ROUTE_TLS_DANE);
}

static void
test_auth_file_readable_by_others_is_refused(void **state)
{
	struct fx *fx = *state;

	put(fx, "smarthost", "user:secret\n", 0644);
	put(fx, "routes", "# smarthost\n* smtp.example.net auth=smarthost\n",
	    0644);
	assert_int_equal(lookup(fx, "example.com"), -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(fx->err, "routes:2: auth file smarthost: "
	    "mode 0644, must be 0600 or 0640"));
	assert_string_equal(fx->r.auth_pass, "");
	put(fx, "smarthost", "user:secret\n", 0660);
	assert_int_equal(lookup(fx, "example.com"), -1);
	put(fx, "smarthost", "user:secret\n", 0400);
	assert_int_equal(lookup(fx, "example.com"), -1);
	put(fx, "smarthost", "user:secret\n", 0600);
	assert_int_equal(lookup(fx, "example.com"), 0);
}

static void
test_auth_file_not_read_for_other_domains(void **state)
{
	struct fx *fx = *state;

	put(fx, "smarthost", "user:secret\n", 0644);
	put(fx, "routes", "partner.example smtp.example.net "
	    "auth=smarthost\n", 0644);
	assert_int_equal(lookup(fx, "example.com"), 0);
	assert_int_equal(fx->r.mx, 1);
	assert_int_equal(lookup(fx, "partner.example"), -1);
}

static void
test_bad_auth_files(void **state)
{
	static const char *bad[] = {
		"no colon here\n",
		":nouser\n",
		"nopass:\n",
		"user:pw\nsecond:line\n",
		"",
		"user:p\0w\n",
	};
	static const size_t len[] = { 14, 8, 8, 20, 0, 9 };
	struct fx *fx = *state;
	char path[PATH_MAX];
	size_t i;

	put(fx, "routes", "* smtp.example.net auth=a\n", 0644);
	snprintf(path, sizeof(path), "%s/a", fx->dir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_write_file(path, bad[i], len[i]);
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(lookup(fx, "example.com"), -1);
		assert_non_null(strstr(fx->err, "routes:1: auth file a"));
	}
	assert_int_equal(unlink(path), 0);
	assert_int_equal(lookup(fx, "example.com"), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_bad_lines_are_named_by_line(void **state)
{
	static const struct {
		const char	*line;
		const char	*why;
	} bad[] = {
		{ "a.example", "without a next hop" },
		{ "a.example mx tls=maybe", "tls= must be" },
		{ "a.example mx tls=", "expected key=value" },
		{ "a.example mx tls", "expected key=value" },
		{ "a.example mx tls=none tls=may", "twice" },
		{ "a.example mx port=25", "unknown key port" },
		{ "a.example host.example:0", "port must be" },
		{ "a.example host.example:65536", "port must be" },
		{ "a.example host.example:25x", "port must be" },
		{ "a.example host.example:", "port must be" },
		{ "a.example 2001:db8::1", "goes in brackets" },
		{ "a.example [2001:db8::1", "without ']'" },
		{ "a.example [not-an-address]:25", "in brackets" },
		{ "a.example [192.0.2.1]x", "junk after" },
		{ "a.example host_name.example", "not a host name" },
		{ "a_b.example mx", "not a domain name" },
		{ "a.example host.example:465 tls=none", "port 465" },
		{ "a.example host.example auth=x tls=none", "in clear" },
		{ "a.example mx ca=x ca=y", "twice" },
		{ "a.example mx a=1 b=2 c=3 d=4 e=5 f=6 g=7", "too many" },
		{ "a.example mx\x01", "control character" },
		{ "a.example mx\na.example mx", "a second line, the first is "
		    "line 3" },
	};
	struct fx *fx = *state;
	char text[256], want[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# routes\nok.example mx\n%s\n",
		    bad[i].line);
		put(fx, "routes", text, 0644);
		/* Any domain: a bad line fails every lookup. */
		assert_int_equal(lookup(fx, "a.example"), -1);
		assert_int_equal(errno, EINVAL);
		snprintf(want, sizeof(want), "/routes:%d: ",
		    strchr(bad[i].line, '\n') != NULL ? 4 : 3);
		if (strstr(fx->err, want) == NULL ||
		    strstr(fx->err, bad[i].why) == NULL)
			fail_msg("line \"%s\": got \"%s\"", bad[i].line,
			    fx->err);
		if (strchr(bad[i].line, '\n') == NULL)
			assert_int_equal(lookup(fx, "ok.example"), -1);
	}
}

static void
test_long_line_and_nul_are_refused(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX], text[2100];

	memset(text, ' ', sizeof(text));
	memcpy(text, "a.example mx", 12);
	text[sizeof(text) - 1] = '\n';
	snprintf(path, sizeof(path), "%s/routes", fx->dir);
	tu_write_file(path, text, sizeof(text));
	assert_int_equal(lookup(fx, "a.example"), -1);
	assert_non_null(strstr(fx->err, "routes:1: line longer than"));
	tu_write_file(path, "b.example mx\na.example\0 mx\n", 26);
	assert_int_equal(lookup(fx, "b.example"), -1);
	assert_non_null(strstr(fx->err, "routes:2: NUL byte"));
}

struct problems {
	size_t	lines[16];
	char	why[16][256];
	size_t	n;
};

static void
collect(const char *file, size_t line, const char *why, void *arg)
{
	struct problems *p = arg;

	assert_non_null(strstr(file, "/routes"));
	assert_true(p->n < 16);
	p->lines[p->n] = line;
	snprintf(p->why[p->n], sizeof(p->why[0]), "%s", why);
	p->n++;
}

static void
test_check_reports_every_problem(void **state)
{
	struct fx *fx = *state;
	struct problems p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(route_check(&fx->c, collect, &p), 0);	/* no file */
	put(fx, "open", "u:p\n", 0644);
	put(fx, "closed", "u:p\n", 0600);
	put(fx, "routes",
	    "a.example mx tls=bogus\n"
	    "b.example relay.example auth=open\n"
	    "c.example relay.example auth=closed\n"
	    "\n"
	    "A.example mx\n"
	    "d.example mx ca=missing.pem\n"
	    "* mx frob=1\n", 0644);
	assert_int_equal(route_check(&fx->c, collect, &p), 4);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.lines[0], 1);
	assert_non_null(strstr(p.why[0], "tls="));
	assert_int_equal(p.lines[1], 2);
	assert_non_null(strstr(p.why[1], "mode 0644"));
	assert_int_equal(p.lines[2], 6);
	assert_non_null(strstr(p.why[2], "missing.pem"));
	assert_int_equal(p.lines[3], 7);
	assert_non_null(strstr(p.why[3], "unknown key frob"));
	/* (Line 1 was bad, so line 5 was the first a.example line.)  A
	 * destination twice, in another case: */
	memset(&p, 0, sizeof(p));
	put(fx, "routes", "a.example mx\nb.example mx\nA.EXAMPLE mx\n", 0644);
	assert_int_equal(route_check(&fx->c, collect, &p), 1);
	assert_int_equal(p.lines[0], 3);
	assert_non_null(strstr(p.why[0], "the first is line 1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_no_routes_file_means_mx_with_tls_may, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_domain_line_wins_over_star, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_without_star_other_domains_use_mx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_next_hop_form,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_policies_and_ca,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_ca_file_fails_its_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_auth_file_gives_the_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_auth_means_verify_unless_encrypt_is_written, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_auth_file_readable_by_others_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_auth_file_not_read_for_other_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_auth_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_lines_are_named_by_line, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_long_line_and_nul_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_reports_every_problem, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
