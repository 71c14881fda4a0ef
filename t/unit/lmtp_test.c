/* lmtp_test.c — the LMTP server of a local domain as domain.conf's lmtp
 * key names it (lib/lmtp.c, lib/domconf.c): the forms Postfix's users
 * write, the port that goes without saying, and what is refused with a
 * reason before smtp-out ever tries it. */

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

#include <cmocka.h>

#include "domconf.h"
#include "lmtp.h"
#include "str.h"
#include "testutil.h"

static void
test_unix_socket_by_path(void **state)
{
	struct lmtp_target t;

	(void)state;
	assert_null(lmtp_target_parse("unix:/run/dovecot/lmtp", &t));
	assert_int_equal(t.unix_socket, 1);
	assert_string_equal(t.path, "/run/dovecot/lmtp");
	assert_null(lmtp_target_parse("/run/dovecot/lmtp", &t));
	assert_int_equal(t.unix_socket, 1);
	assert_string_equal(t.path, "/run/dovecot/lmtp");
}

static void
test_tcp_forms_and_port_24_by_default(void **state)
{
	struct lmtp_target t;

	(void)state;
	assert_null(lmtp_target_parse("[127.0.0.1]:2424", &t));
	assert_int_equal(t.unix_socket, 0);
	assert_string_equal(t.host, "127.0.0.1");
	assert_int_equal(t.port, 2424);
	assert_null(lmtp_target_parse("inet:[::1]", &t));
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.port, LMTP_PORT_DEFAULT);
	assert_int_equal(LMTP_PORT_DEFAULT, 24);
	assert_null(lmtp_target_parse("inet:Store.Example.ORG:24", &t));
	assert_string_equal(t.host, "store.example.org");
	assert_null(lmtp_target_parse("localhost", &t));
	assert_string_equal(t.host, "localhost");
	assert_int_equal(t.port, 24);
}

/* Each way of writing one server gives one spelling, which parses back
 * to the same server. */
static void
test_one_spelling_for_each_server(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "unix:/run/dovecot/lmtp", "unix:/run/dovecot/lmtp" },
		{ "/run/dovecot/lmtp", "unix:/run/dovecot/lmtp" },
		{ "127.0.0.1", "[127.0.0.1]:24" },
		{ "inet:127.0.0.1:24", "[127.0.0.1]:24" },
		{ "[127.0.0.1]:24", "[127.0.0.1]:24" },
		{ "[0:0::1]:2424", "[::1]:2424" },
		{ "inet:[::1]", "[::1]:24" },
		{ "Store.Example.ORG", "store.example.org:24" },
		{ "inet:store.example.org:24", "store.example.org:24" },
	};
	struct lmtp_target t, back;
	char out[LMTP_TARGET_MAX + 1], again[LMTP_TARGET_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(lmtp_target_parse(cases[i].in, &t));
		assert_int_equal(lmtp_target_format(&t, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].out);
		assert_null(lmtp_target_parse(out, &back));
		assert_int_equal(back.unix_socket, t.unix_socket);
		assert_int_equal(back.port, t.port);
		assert_int_equal(lmtp_target_format(&back, again,
		    sizeof(again)), 0);
		assert_string_equal(again, out);
	}
	assert_null(lmtp_target_parse("[::1]:24", &t));
	assert_int_equal(lmtp_target_format(&t, out, 8), -1);
}

static void
test_bad_servers_are_refused_with_a_reason(void **state)
{
	static const char *const bad[] = {
		"unix:run/dovecot/lmtp",	/* relative */
		"unix:",
		"[127.0.0.1",
		"[not-an-address]:24",
		"[127.0.0.1]x",
		"::1:24",			/* IPv6 without brackets */
		"store.example:0",
		"store.example:65536",
		"store.example:24x",
		"",
		"-bad-.example",
	};
	char longpath[LMTP_PATH_MAX + 8];
	struct lmtp_target t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = lmtp_target_parse(bad[i], &t);

		if (why == NULL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(why[0] != '\0');
	}
	/* sun_path holds 107 bytes and its NUL. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[LMTP_PATH_MAX] = '\0';
	assert_null(lmtp_target_parse(longpath, &t));
	longpath[LMTP_PATH_MAX] = 'a';
	longpath[LMTP_PATH_MAX + 1] = '\0';
	assert_non_null(lmtp_target_parse(longpath, &t));
}

/* domain.conf: the key is checked when the file is read, with the file
 * and line in the error. */
static void
test_domain_conf_key_is_checked_when_read(void **state)
{
	char dir[64], path[PATH_MAX], err[512];
	struct domconf dc;
	struct conf conf;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(tu_tmpdir(dir, sizeof(dir), "lmtp_test"), 0);
	str_copy(conf.dir, sizeof(conf.dir), dir);
	str_copy(conf.hostname, sizeof(conf.hostname), "mx.example.net");
	assert_int_equal(str_fmt(path, sizeof(path), "%s/domains", dir), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(str_fmt(path, sizeof(path),
	    "%s/domains/example.org", dir), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(str_fmt(path, sizeof(path),
	    "%s/domains/example.org/domain.conf", dir), 0);

	/* No file: not by LMTP. */
	assert_int_equal(domconf_load(&conf, "example.org", &dc, err,
	    sizeof(err)), 0);
	assert_string_equal(dc.lmtp, "");

	tu_write_str(path, "# the store\nlmtp = unix:/run/dovecot/lmtp\n");
	assert_int_equal(domconf_load(&conf, "example.org", &dc, err,
	    sizeof(err)), 0);
	assert_string_equal(dc.lmtp, "unix:/run/dovecot/lmtp");
	/* Kept in its one spelling, whichever was written. */
	tu_write_str(path, "lmtp = /run/dovecot/lmtp\n");
	assert_int_equal(domconf_load(&conf, "example.org", &dc, err,
	    sizeof(err)), 0);
	assert_string_equal(dc.lmtp, "unix:/run/dovecot/lmtp");
	tu_write_str(path, "lmtp = inet:127.0.0.1\n");
	assert_int_equal(domconf_load(&conf, "example.org", &dc, err,
	    sizeof(err)), 0);
	assert_string_equal(dc.lmtp, "[127.0.0.1]:24");

	/* A host name is fine (line 2); line 4 is not. */
	tu_write_str(path, "\nlmtp = dovecot\n\nlmtp = [::1\n");
	errno = 0;
	assert_int_equal(domconf_load(&conf, "example.org", &dc, err,
	    sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "domain.conf:4: "));
	assert_non_null(strstr(err, "without ']'"));
	assert_int_equal(tu_teardown(NULL, dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_socket_by_path),
		cmocka_unit_test(test_tcp_forms_and_port_24_by_default),
		cmocka_unit_test(test_one_spelling_for_each_server),
		cmocka_unit_test(test_bad_servers_are_refused_with_a_reason),
		cmocka_unit_test(test_domain_conf_key_is_checked_when_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
