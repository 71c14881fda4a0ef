/* conf_test.c — posthorn.conf: defaults, every key, and every error with
 * the exact "FILE:LINE: reason" a person will read. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "confwatch.h"
#include "filecache.h"
#include "str.h"
#include "testutil.h"

struct fx {
	char		dir[PATH_MAX];
	char		file[PATH_MAX];
	char		err[1024];
	char		want[2 * PATH_MAX];
	struct conf	c;
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "conf_test") == -1 ||
	    str_fmt(fx->file, sizeof(fx->file), "%s/%s", fx->dir,
	    CONF_FILE) == -1) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	return tu_teardown(fx, fx->dir);
}

static int
load(struct fx *fx, const char *text)
{
	if (text != NULL)
		tu_write_str(fx->file, text);
	fx->err[0] = '\0';
	return conf_load(&fx->c, fx->dir, fx->err, sizeof(fx->err));
}

/* The file fails to load at line lineno with this reason. */
static void
assert_error(struct fx *fx, const char *text, unsigned lineno,
    const char *reason)
{
	assert_int_equal(load(fx, text), -1);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want), "%s:%u: %s",
	    fx->file, lineno, reason), 0);
	assert_string_equal(fx->err, fx->want);
}

/* posthorn-config(8): every key, its value as a person writes it, and
 * the defaults beside what the file sets. */
static const char *
fmt(struct fx *fx, const struct conf *c, const char *key, int want)
{
	assert_int_equal(conf_format(c, key, fx->want, sizeof(fx->want)),
	    want);
	return fx->want;
}

static void
test_format_gives_each_value_as_the_file_writes_it(void **state)
{
	struct fx *fx = *state;
	struct conf d;
	size_t i;

	assert_int_equal(load(fx, "hostname = MX.Example.NET\n"
	    "max_message_size = 35M\nqueue_lifetime = 36h\n"
	    "command_timeout = 90\ndrop_characters =\nmax_deliveries = 7\n"
	    "spool = q\nbind6 = 2001:db8::1\n"), 0);
	assert_string_equal(fmt(fx, &fx->c, "hostname", 0), "mx.example.net");
	assert_string_equal(fmt(fx, &fx->c, "max_message_size", 0), "35M");
	assert_string_equal(fmt(fx, &fx->c, "queue_lifetime", 0), "36h");
	assert_string_equal(fmt(fx, &fx->c, "command_timeout", 0), "90");
	assert_string_equal(fmt(fx, &fx->c, "drop_characters", 0), "");
	assert_string_equal(fmt(fx, &fx->c, "max_deliveries", 0), "7");
	assert_string_equal(fmt(fx, &fx->c, "bind6", 0), "2001:db8::1");
	/* Unset: "" that the file can only say by leaving the key out. */
	assert_string_equal(fmt(fx, &fx->c, "bind4", 1), "");
	(void)str_fmt(fx->file, sizeof(fx->file), "%s/q", fx->dir);
	assert_string_equal(fmt(fx, &fx->c, "spool", 0), fx->file);
	errno = 0;
	assert_int_equal(conf_format(&fx->c, "no_such_key", fx->want,
	    sizeof(fx->want)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(conf_format(&fx->c, "tls_priority", fx->want, 8),
	    -1);
	assert_int_equal(errno, ENAMETOOLONG);

	/* The defaults ignore the file. */
	assert_int_equal(conf_defaults(&d, fx->dir, fx->err,
	    sizeof(fx->err)), 0);
	assert_string_equal(fmt(fx, &d, "max_message_size", 0), "50M");
	assert_string_equal(fmt(fx, &d, "queue_lifetime", 0), "5d");
	assert_string_equal(fmt(fx, &d, "command_timeout", 0), "10m");
	assert_string_equal(fmt(fx, &d, "drop_characters", 0), ".");
	assert_string_equal(fmt(fx, &d, "spool", 0), CONF_SPOOL_DEFAULT);

	/* Every key of the table is named, and formats. */
	for (i = 0; conf_key_name(i) != NULL; i++)
		assert_in_range(conf_format(&d, conf_key_name(i), fx->want,
		    sizeof(fx->want)), 0, 1);
	assert_true(i >= 18);		/* the keys of posthorn.conf(5) */
	assert_string_equal(conf_key_name(0), "hostname");
}

/* What posthorn-config prints loads back to the same configuration. */
static void
test_formatted_values_load_back_the_same(void **state)
{
	struct fx *fx = *state;
	struct conf first;
	char text[8192], v[CONF_PATH_MAX + 1], diff[256];
	size_t i, len = 0;
	int unset;

	assert_int_equal(load(fx, "hostname = mx.example.net\n"
	    "max_message_size = 1025\nqueue_lifetime = 0\n"
	    "suffix_separators = +-\nbind4 = 192.0.2.1\n"), 0);
	first = fx->c;
	for (i = 0; conf_key_name(i) != NULL; i++) {
		unset = conf_format(&first, conf_key_name(i), v, sizeof(v));
		assert_in_range(unset, 0, 1);
		assert_int_equal(str_fmt(text + len, sizeof(text) - len,
		    "%s%s = %s\n", unset ? "#" : "", conf_key_name(i), v), 0);
		len = strlen(text);
	}
	assert_int_equal(load(fx, text), 0);
	assert_int_equal(conf_diff(&first, &fx->c, diff, sizeof(diff)), 0);
}

static void
test_defaults_without_a_file(void **state)
{
	struct fx *fx = *state;
	char host[HOST_NAME_MAX + 1], want[PATH_MAX];

	assert_int_equal(load(fx, NULL), 0);
	assert_string_equal(fx->c.dir, fx->dir);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	str_lower(host);
	assert_string_equal(fx->c.hostname, host);
	assert_string_equal(fx->c.spool, "/var/spool/posthorn");
	assert_string_equal(fx->c.maildirs, "/var/mail");
	assert_int_equal(str_fmt(want, sizeof(want), "%s/certs/fullchain.pem",
	    fx->dir), 0);
	assert_string_equal(fx->c.tls_cert, want);
	assert_int_equal(str_fmt(want, sizeof(want), "%s/certs/privkey.pem",
	    fx->dir), 0);
	assert_string_equal(fx->c.tls_key, want);
	assert_int_equal(fx->c.max_message_size, 50 * 1024 * 1024);
}

static void
test_empty_file_gives_defaults(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, ""), 0);
	assert_string_equal(fx->c.spool, CONF_SPOOL_DEFAULT);
	assert_int_equal(fx->c.max_message_size, CONF_MAX_MESSAGE_SIZE_DEFAULT);
	assert_int_equal(fx->c.queue_minfree, 100 * 1024 * 1024);
}

static void
test_every_key_is_read(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
	    "# posthorn.conf\n"
	    "\n"
	    "   # an indented comment\n"
	    "hostname = Mail.Example.ORG\n"
	    "spool=/srv/spool\n"
	    "maildirs   =   /srv/mail dirs   \n"
	    "\ttls_cert\t=\t/etc/le/fullchain.pem\t\n"
	    "tls_key = /etc/le/privkey.pem\r\n"
	    "max_message_size = 10M"), 0);	/* no LF at the end */
	assert_string_equal(fx->c.hostname, "mail.example.org");
	assert_string_equal(fx->c.spool, "/srv/spool");
	assert_string_equal(fx->c.maildirs, "/srv/mail dirs");
	assert_string_equal(fx->c.tls_cert, "/etc/le/fullchain.pem");
	assert_string_equal(fx->c.tls_key, "/etc/le/privkey.pem");
	assert_int_equal(fx->c.max_message_size, 10 * 1024 * 1024);
}

/* The keys queue-run and smtp-out read, with their defaults. */
static void
test_delivery_keys_defaults_and_values(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, NULL), 0);
	assert_string_equal(fx->c.drop_characters, ".");
	assert_string_equal(fx->c.suffix_separators, "+");
	assert_int_equal(fx->c.queue_lifetime, 5 * 24 * 3600);
	assert_int_equal(fx->c.delay_warning_time, 4 * 3600);
	assert_int_equal(fx->c.command_timeout, 600);
	assert_int_equal(fx->c.max_deliveries, 50);
	assert_int_equal(fx->c.max_per_destination, 20);
	assert_string_equal(fx->c.bind4, "");
	assert_string_equal(fx->c.bind6, "");
	assert_non_null(strstr(fx->c.srs_secret_file, "/srs.secret"));
	assert_int_equal(load(fx, "drop_characters =\n"
	    "suffix_separators = +-\nqueue_lifetime = 2h\n"
	    "delay_warning_time = 0\n"
	    "command_timeout = 90\nmax_deliveries = 7\n"
	    "max_per_destination = 1\nbind4 = 192.0.2.1\n"
	    "bind6 = 2001:db8::1\nsrs_secret_file = /etc/x/srs\n"), 0);
	assert_string_equal(fx->c.drop_characters, "");
	assert_string_equal(fx->c.suffix_separators, "+-");
	assert_int_equal(fx->c.queue_lifetime, 7200);
	assert_int_equal(fx->c.delay_warning_time, 0);
	assert_int_equal(fx->c.command_timeout, 90);
	assert_int_equal(fx->c.max_deliveries, 7);
	assert_int_equal(fx->c.max_per_destination, 1);
	assert_string_equal(fx->c.bind4, "192.0.2.1");
	assert_string_equal(fx->c.bind6, "2001:db8::1");
	assert_string_equal(fx->c.srs_secret_file, "/etc/x/srs");
	assert_error(fx, "bind4 = 2001:db8::1\n", 1,
	    "bad value for 'bind4': not an IPv4 address");
	assert_error(fx, "bind6 = 192.0.2.1\n", 1,
	    "bad value for 'bind6': not an IPv6 address");
	assert_error(fx, "queue_lifetime = 5w\n", 1, "bad value for "
	    "'queue_lifetime': not a duration (a number, then s, m, h or d)");
	assert_error(fx, "max_deliveries = 0\n", 1,
	    "bad value for 'max_deliveries': must be at least 1");
	assert_error(fx, "drop_characters = ..\n", 1,
	    "bad value for 'drop_characters': a character given twice");
}

static void
test_tls_priority_is_tls12_and_13_by_default_and_may_be_set(void **state)
{
	struct fx *fx = *state;
	static char text[CONF_TLS_PRIORITY_MAX + 64];
	size_t n;

	assert_int_equal(load(fx, NULL), 0);
	assert_string_equal(fx->c.tls_priority,
	    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"
	    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
	    "+GROUP-SECP521R1:+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:"
	    "+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192:"
	    "%SERVER_PRECEDENCE");
	assert_int_equal(load(fx, "tls_priority = NORMAL:-VERS-ALL:"
	    "+VERS-TLS1.3 \n"), 0);
	assert_string_equal(fx->c.tls_priority,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	assert_error(fx, "tls_priority =\n", 1,
	    "empty value for 'tls_priority'");
	/* CONF_TLS_PRIORITY_MAX bytes are fine, one more is not. */
	n = strlen("tls_priority = ");
	memcpy(text, "tls_priority = ", n);
	memset(text + n, 'N', CONF_TLS_PRIORITY_MAX);
	text[n + CONF_TLS_PRIORITY_MAX] = '\0';
	assert_int_equal(load(fx, text), 0);
	assert_int_equal(strlen(fx->c.tls_priority), CONF_TLS_PRIORITY_MAX);
	text[n + CONF_TLS_PRIORITY_MAX] = 'N';
	text[n + CONF_TLS_PRIORITY_MAX + 1] = '\0';
	assert_error(fx, text, 1, "bad value for 'tls_priority': too long");
}

static void
test_hash_inside_a_line_is_not_a_comment(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "spool = /srv/a#b\n"), 0);
	assert_string_equal(fx->c.spool, "/srv/a#b");
	assert_error(fx, "hostname = mx.example.org # the MX\n", 1,
	    "bad value for 'hostname': not a valid host name "
	    "(letters, digits, '-' and dots)");
}

static void
test_relative_paths_are_under_the_conf_dir(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "tls_cert = certs/a.pem\nspool = q\n"), 0);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want), "%s/certs/a.pem",
	    fx->dir), 0);
	assert_string_equal(fx->c.tls_cert, fx->want);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want), "%s/q",
	    fx->dir), 0);
	assert_string_equal(fx->c.spool, fx->want);
}

static void
test_relative_conf_dir_is_made_absolute(void **state)
{
	struct fx *fx = *state;
	char cwd[PATH_MAX], *base;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	base = strrchr(fx->dir, '/');
	assert_int_equal(chdir("/tmp"), 0);
	tu_write_str(fx->file, "spool = s\n");
	assert_int_equal(conf_load(&fx->c, base + 1, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(fx->c.dir, fx->dir);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want), "%s/s",
	    fx->dir), 0);
	assert_string_equal(fx->c.spool, fx->want);
}

/* SRS: postsrsd's hash length written, compared with case unless the
 * compatibility switch says otherwise (issue 15, item 9). */
static void
test_dnssec_keys_defaults_and_values(void **state)
{
	struct fx *fx = *state;
	char anchor[PATH_MAX];

	assert_int_equal(load(fx, NULL), 0);
	assert_string_equal(fx->c.dnssec, "validate");
	assert_string_equal(fx->c.dnssec_trust_anchor,
	    "/usr/share/dns/root.key");
	assert_int_equal(load(fx, "dnssec = off\n"
	    "dnssec_trust_anchor = keys/test.key\n"), 0);
	assert_string_equal(fx->c.dnssec, "off");
	snprintf(anchor, sizeof(anchor), "%s/keys/test.key", fx->c.dir);
	assert_string_equal(fx->c.dnssec_trust_anchor, anchor);
	/* No "trust the resolver's AD bit" mode: a typo or a wish for one
	 * is an error, not a quiet default. */
	assert_error(fx, "dnssec = ad\n", 1,
	    "bad value for 'dnssec': must be validate or off");
}

static void
test_dnsbl_is_a_list_of_zones(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, NULL), 0);
	assert_string_equal(fx->c.dnsbl, "");
	assert_int_equal(load(fx, "dnsbl = zen.example\t bl.example\n"), 0);
	assert_string_equal(fx->c.dnsbl, "zen.example\t bl.example");
	assert_error(fx, "dnsbl = zen.example bad_zone!\n", 1,
	    "bad value for 'dnsbl': not a list of DNS zones");
}

/* The checks of port 25 mail: on, with the field, 10 s, p=reject
 * refused and p=quarantine local, SPF fail taken, unless said. */
static void
test_checks_keys_defaults_and_values(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, NULL), 0);
	assert_int_equal(fx->c.checks, 1);
	assert_int_equal(fx->c.checks_header, 1);
	assert_int_equal(fx->c.checks_timeout, 10);
	assert_int_equal(fx->c.spf_refuse, 0);
	assert_string_equal(fx->c.dmarc_reject, "refuse");
	assert_string_equal(fx->c.dmarc_quarantine, "local");
	assert_int_equal(load(fx, "checks = no\nchecks_header = no\n"
	    "checks_timeout = 1m\nspf_refuse = yes\ndmarc_reject = local\n"
	    "dmarc_quarantine = refuse\n"), 0);
	assert_int_equal(fx->c.checks, 0);
	assert_int_equal(fx->c.checks_header, 0);
	assert_int_equal(fx->c.checks_timeout, 60);
	assert_int_equal(fx->c.spf_refuse, 1);
	assert_string_equal(fx->c.dmarc_reject, "local");
	assert_string_equal(fx->c.dmarc_quarantine, "refuse");
	assert_error(fx, "checks_timeout = 61\n", 1,
	    "bad value for 'checks_timeout': must be 1 to 60 seconds");
	assert_error(fx, "dmarc_reject = accept\n", 1,
	    "bad value for 'dmarc_reject': must be refuse or local");
}

static void
test_srs_keys_defaults_and_values(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, NULL), 0);
	assert_int_equal(fx->c.srs_hash_length, 4);
	assert_int_equal(fx->c.srs_hash_min, 4);
	assert_int_equal(fx->c.srs_postsrsd_compat, 0);
	assert_int_equal(load(fx, "srs_hash_length = 10\n"), 0);
	assert_int_equal(fx->c.srs_hash_length, 10);
	assert_int_equal(fx->c.srs_hash_min, 10);
	assert_int_equal(load(fx, "srs_hash_length = 10\nsrs_hash_min = 4\n"
	    "srs_postsrsd_compat = yes\n"), 0);
	assert_int_equal(fx->c.srs_hash_length, 10);
	assert_int_equal(fx->c.srs_hash_min, 4);
	assert_int_equal(fx->c.srs_postsrsd_compat, 1);
	assert_error(fx, "srs_hash_length = 3\n", 1,
	    "bad value for 'srs_hash_length': must be at least 4 (24 bits)");
	assert_error(fx, "srs_hash_min = 28\n", 1,
	    "bad value for 'srs_hash_min': number too large");
	assert_error(fx, "srs_postsrsd_compat = 1\n", 1,
	    "bad value for 'srs_postsrsd_compat': must be yes or no");
	assert_int_equal(load(fx, "srs_hash_min = 8\n"), -1);
	assert_non_null(strstr(fx->err,
	    "srs_hash_min is more than srs_hash_length"));
}

static void
test_unknown_key_names_line_and_key(void **state)
{
	assert_error(*state, "# c\nspool = /x\n\nhostnme = a.example\n", 4,
	    "unknown key 'hostnme'");
}

static void
test_missing_equals_is_an_error(void **state)
{
	assert_error(*state, "\n\nhostname mx.example\n", 3, "missing '='");
}

static void
test_missing_key_is_an_error(void **state)
{
	assert_error(*state, " = x\n", 1, "missing key before '='");
}

static void
test_empty_value_is_an_error(void **state)
{
	assert_error(*state, "spool = /x\nmaildirs =   \n", 2,
	    "empty value for 'maildirs'");
}

static void
test_key_given_twice_is_an_error(void **state)
{
	assert_error(*state, "spool = /a\n#\nspool = /b\n", 3,
	    "key 'spool' given twice (first on line 1)");
}

static void
test_line_longer_than_max_is_an_error(void **state)
{
	struct fx *fx = *state;
	static char text[CONF_LINE_MAX + 64];

	/* A comment of exactly CONF_LINE_MAX bytes is fine... */
	memset(text, ' ', CONF_LINE_MAX);
	text[0] = '#';
	text[CONF_LINE_MAX] = '\n';
	text[CONF_LINE_MAX + 1] = '\0';
	assert_int_equal(load(fx, text), 0);
	/* ...one more byte is not, on line 2. */
	memset(text, ' ', CONF_LINE_MAX + 2);
	text[0] = '\n';
	text[1] = '#';
	text[CONF_LINE_MAX + 2] = '\n';
	text[CONF_LINE_MAX + 3] = '\0';
	assert_error(fx, text, 2, "line longer than 4096 bytes");
}

static void
test_nul_byte_is_an_error(void **state)
{
	struct fx *fx = *state;

	tu_write_file(fx->file, "spool = /a\nx\0y\n", 16);
	assert_int_equal(load(fx, NULL), -1);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want), "%s:2: NUL byte",
	    fx->file), 0);
	assert_string_equal(fx->err, fx->want);
}

/* A name in U-labels is kept as its A-labels: what the greeting and
 * EHLO say (RFC 5890). */
static void
test_international_host_name_becomes_its_a_label(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "hostname = MX.B\xc3\xbc" "cher.example\n"),
	    0);
	assert_string_equal(fx->c.hostname, "mx.xn--bcher-kva.example");
}

static void
test_bad_host_names_are_refused(void **state)
{
	struct fx *fx = *state;
	const char *bad[] = {
		"a..example", ".example", "example.", "-a.example",
		"a-.example", "a_b.example", "a b.example", "[192.0.2.1]",
	};
	char text[600], label[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(str_fmt(text, sizeof(text), "hostname = %s\n",
		    bad[i]), 0);
		assert_error(fx, text, 1, "bad value for 'hostname': not a "
		    "valid host name (letters, digits, '-' and dots)");
	}
	assert_error(fx, "hostname = -\xc3\xa4.example\n", 1, "bad value for "
	    "'hostname': not a valid international host name (RFC 5891)");
	/* A 63-byte label is fine, 64 is not. */
	memset(label, 'a', 63);
	label[63] = '\0';
	assert_int_equal(str_fmt(text, sizeof(text), "hostname = %s.ex\n",
	    label), 0);
	assert_int_equal(load(fx, text), 0);
	assert_int_equal(str_fmt(text, sizeof(text), "hostname = %sa.ex\n",
	    label), 0);
	assert_int_equal(load(fx, text), -1);
	/* 253 bytes in all is fine, 254 is not. */
	assert_int_equal(str_fmt(text, sizeof(text),
	    "hostname = %s.%s.%s.%s\n", label, label, label, label + 2), 0);
	assert_int_equal(load(fx, text), 0);
	assert_int_equal(strlen(fx->c.hostname), 253);
	assert_int_equal(str_fmt(text, sizeof(text),
	    "hostname = %s.%s.%s.%s\n", label, label, label, label + 1), 0);
	assert_int_equal(load(fx, text), -1);
	/* One label, digits and inner hyphens are fine. */
	assert_int_equal(load(fx, "hostname = Mx-1\n"), 0);
	assert_string_equal(fx->c.hostname, "mx-1");
}

static void
test_size_suffixes_are_powers_of_1024(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char	*text;
		uint64_t	 size;
	} ok[] = {
		{ "max_message_size = 1024\n", 1024 },
		{ "max_message_size = 1K\n", 1024 },
		{ "max_message_size = 1k\n", 1024 },
		{ "max_message_size = 35M\n", 35 * 1024 * 1024 },
		{ "max_message_size = 2G\n", UINT64_C(2) << 30 },
		{ "max_message_size = 4G\n", UINT64_C(4) << 30 },
		{ "max_message_size = 4194304K\n", UINT64_C(4) << 30 },
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(load(fx, ok[i].text), 0);
		assert_int_equal(fx->c.max_message_size, ok[i].size);
	}
}

static void
test_bad_sizes_are_refused(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char	*value;
		const char	*reason;
	} bad[] = {
		{ "1023", "must be between 1K and 4G" },
		{ "0", "must be between 1K and 4G" },
		{ "4294967297", "must be between 1K and 4G" },
		{ "4097M", "must be between 1K and 4G" },
		{ "18446744073709551615", "must be between 1K and 4G" },
		{ "18446744073709551616", "number too large" },
		{ "99999999999999999999999", "number too large" },
		{ "17179869184G", "number too large" },
		{ "-1", "not a number" },
		{ "M", "not a number" },
		{ "10 M", "not a number with an optional K, M or G suffix" },
		{ "10MB", "not a number with an optional K, M or G suffix" },
		{ "10T", "not a number with an optional K, M or G suffix" },
		{ "0x100000", "not a number with an optional K, M or G suffix" },
	};
	char text[128], reason[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(str_fmt(text, sizeof(text),
		    "\nmax_message_size = %s\n", bad[i].value), 0);
		assert_int_equal(str_fmt(reason, sizeof(reason),
		    "bad value for 'max_message_size': %s", bad[i].reason), 0);
		assert_error(fx, text, 2, reason);
	}
}

/* queue_minfree: 0 turns the floor off; at most 1024G. */
static void
test_queue_minfree(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx, "queue_minfree = 0\n"), 0);
	assert_int_equal(fx->c.queue_minfree, 0);
	assert_int_equal(load(fx, "queue_minfree = 512M\n"), 0);
	assert_int_equal(fx->c.queue_minfree, UINT64_C(512) << 20);
	assert_int_equal(load(fx, "queue_minfree = 1024G\n"), 0);
	assert_int_equal(fx->c.queue_minfree, UINT64_C(1) << 40);
	assert_error(fx, "\nqueue_minfree = 1025G\n", 2,
	    "bad value for 'queue_minfree': must be at most 1024G");
	assert_error(fx, "\nqueue_minfree = 10MB\n", 2,
	    "bad value for 'queue_minfree': not a number with an optional K, "
	    "M or G suffix");
}

static void
test_path_longer_than_conf_path_max_is_refused(void **state)
{
	struct fx *fx = *state;
	static char text[CONF_PATH_MAX + 64];

	/* The longest absolute path is taken... */
	assert_int_equal(str_fmt(text, sizeof(text), "spool = /"), 0);
	memset(text + 9, 'p', CONF_PATH_MAX - 2);
	text[9 + CONF_PATH_MAX - 2] = '\0';
	assert_int_equal(load(fx, text), 0);
	assert_int_equal(strlen(fx->c.spool), CONF_PATH_MAX - 1);
	/* ...one byte more is not, and neither is a relative one that
	 * becomes too long under the directory. */
	text[9 + CONF_PATH_MAX - 2] = 'p';
	text[9 + CONF_PATH_MAX - 1] = '\0';
	assert_error(fx, text, 1, "bad value for 'spool': path too long");
	memmove(text + 8, text + 9, CONF_PATH_MAX - 1);
	text[8 + CONF_PATH_MAX - 16] = '\0';
	assert_error(fx, text, 1, "bad value for 'spool': path too long");
}

static void
test_unreadable_file_is_an_error_not_the_defaults(void **state)
{
	struct fx *fx = *state;

	/* A directory in the file's place: open works, read fails. */
	assert_int_equal(mkdir(fx->file, 0755), 0);
	assert_int_equal(load(fx, NULL), -1);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want), "%s: %s",
	    fx->file, strerror(EISDIR)), 0);
	assert_string_equal(fx->err, fx->want);
	assert_int_equal(rmdir(fx->file), 0);
}

/* A mistyped -C or POSTHORN_CONF must not quietly become the defaults,
 * and with them the system's spool. */
static void
test_missing_conf_dir_is_an_error_not_the_defaults(void **state)
{
	struct fx *fx = *state;
	struct conf c;
	char dir[PATH_MAX], err[512];

	assert_int_equal(str_fmt(dir, sizeof(dir), "%s/no-such-dir", fx->dir),
	    0);
	assert_int_equal(conf_load(&c, dir, err, sizeof(err)), -1);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want),
	    "configuration directory %s: %s", dir, strerror(ENOENT)), 0);
	assert_string_equal(err, fx->want);
}

static void
test_conf_dir_takes_option_then_environment_then_default(void **state)
{
	(void)state;
	assert_int_equal(setenv("POSTHORN_CONF", "/env/conf", 1), 0);
	assert_string_equal(conf_dir("/opt/conf"), "/opt/conf");
	assert_string_equal(conf_dir(NULL), "/env/conf");
	assert_int_equal(setenv("POSTHORN_CONF", "", 1), 0);
	assert_string_equal(conf_dir(NULL), CONF_DIR_DEFAULT);
	assert_int_equal(unsetenv("POSTHORN_CONF"), 0);
	assert_string_equal(conf_dir(NULL), "/etc/posthorn");
}

static void
test_domain_path_is_under_domains(void **state)
{
	struct fx *fx = *state;
	char buf[PATH_MAX], small[16];

	assert_int_equal(load(fx, NULL), 0);
	assert_int_equal(conf_domain_path(&fx->c, "example.org", NULL, buf,
	    sizeof(buf)), 0);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want),
	    "%s/domains/example.org", fx->dir), 0);
	assert_string_equal(buf, fx->want);
	assert_int_equal(conf_domain_path(&fx->c, "example.org", "users", buf,
	    sizeof(buf)), 0);
	assert_int_equal(str_fmt(fx->want, sizeof(fx->want),
	    "%s/domains/example.org/users", fx->dir), 0);
	assert_string_equal(buf, fx->want);

	errno = 0;
	assert_int_equal(conf_domain_path(&fx->c, "example.org", "users",
	    small, sizeof(small)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_domain_that_leaves_domains_is_refused(void **state)
{
	struct fx *fx = *state;
	const char *bad[] = { "", ".", "..", "../etc", ".hidden", "a/b",
	    "example.org/../../x" };
	char buf[PATH_MAX];
	size_t i;

	assert_int_equal(load(fx, NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(conf_domain_path(&fx->c, bad[i], "aliases",
		    buf, sizeof(buf)), -1);
		assert_int_equal(errno, EINVAL);
	}
}

static void
test_diff_names_the_keys_that_changed(void **state)
{
	struct fx *fx = *state;
	struct conf *a;
	char buf[256];

	assert_non_null(a = malloc(sizeof(*a)));
	assert_int_equal(load(fx, "hostname = a.example\n"
	    "tls_cert = /x/cert.pem\n"), 0);
	*a = fx->c;
	assert_int_equal(conf_diff(a, &fx->c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* A shorter value over a longer one: bytes past the NUL do not
	 * count; numbers do. */
	assert_int_equal(load(fx, "hostname = b.example\n"
	    "tls_cert = /x/c\nqueue_lifetime = 1h\n"), 0);
	assert_int_equal(conf_diff(a, &fx->c, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hostname,tls_cert,queue_lifetime");
	/* Cut at the buffer, whole names only; the count stays. */
	assert_int_equal(conf_diff(a, &fx->c, buf, 12), 3);
	assert_string_equal(buf, "hostname");
	assert_int_equal(conf_copy_key(&fx->c, a, "hostname"), 0);
	assert_string_equal(fx->c.hostname, "a.example");
	assert_int_equal(conf_copy_key(&fx->c, a, "nosuchkey"), -1);
	free(a);
}

static void
test_watch_reloads_a_change_and_keeps_the_old_on_error(void **state)
{
	struct fx *fx = *state;
	static const char *const fixed[] = { "spool", NULL };
	struct confwatch *w;

	filecache_set_racy_ms(0);	/* no second reading: its own test */
	assert_non_null(w = malloc(sizeof(*w)));
	tu_write_str(fx->file, "hostname = a.example\n");
	assert_int_equal(confwatch_load(w, fx->dir, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(confwatch_check(w, 0, fixed), CONFWATCH_SAME);
	/* Another inode (an editor's rename), one key more. */
	assert_int_equal(unlink(fx->file), 0);
	tu_write_str(fx->file, "hostname = b.example\nspool = /elsewhere\n"
	    "max_deliveries = 7\n");
	assert_int_equal(confwatch_check(w, 0, fixed), CONFWATCH_RELOADED);
	assert_string_equal(w->conf.hostname, "b.example");
	assert_int_equal(w->conf.max_deliveries, 7);
	assert_string_equal(w->conf.spool, CONF_SPOOL_DEFAULT);
	assert_string_equal(w->changed, "hostname,max_deliveries");
	assert_string_equal(w->kept, "spool");
	assert_int_equal(confwatch_check(w, 0, fixed), CONFWATCH_SAME);
	/* Broken: the whole of the old one stays, said once. */
	assert_int_equal(unlink(fx->file), 0);
	tu_write_str(fx->file, "hostname = c.example\nmax_deliveries = 0\n");
	assert_int_equal(confwatch_check(w, 0, fixed), CONFWATCH_FAILED);
	assert_non_null(strstr(w->err, ":2: bad value for 'max_deliveries'"));
	assert_string_equal(w->conf.hostname, "b.example");
	assert_int_equal(w->conf.max_deliveries, 7);
	assert_int_equal(confwatch_check(w, 0, fixed), CONFWATCH_SAME);
	/* Forced (SIGHUP): read whatever stat says, and said again. */
	assert_int_equal(confwatch_check(w, 1, fixed), CONFWATCH_FAILED);
	/* Gone: the defaults are a configuration. */
	assert_int_equal(unlink(fx->file), 0);
	assert_int_equal(confwatch_check(w, 0, fixed), CONFWATCH_RELOADED);
	assert_int_equal(w->conf.max_deliveries,
	    CONF_MAX_DELIVERIES_DEFAULT);
	filecache_set_racy_ms(FILECACHE_RACY_MS);
	free(w);
}

static void
test_watch_reads_a_racy_file_once_more(void **state)
{
	struct fx *fx = *state;
	struct confwatch *w;
	struct stat st;
	struct timespec ts[2];

	assert_non_null(w = malloc(sizeof(*w)));
	tu_write_str(fx->file, "hostname = a.example\n");
	/* Read within the window of its change... */
	filecache_set_racy_ms(60 * 60 * 1000);
	assert_int_equal(confwatch_load(w, fx->dir, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(w->racy, 1);
	/* ...then changed in the same tick: same size, same inode, and
	 * (set back by hand) the same times. */
	assert_int_equal(stat(fx->file, &st), 0);
	tu_write_str(fx->file, "hostname = b.example\n");
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, fx->file, ts, 0), 0);
	/* ctime cannot be set back: taken as it is now, as if the change
	 * had come within the same tick as the reading. */
	assert_int_equal(stat(fx->file, &st), 0);
	w->st.st_ctim = st.st_ctim;
	assert_int_equal(confwatch_check(w, 0, NULL), CONFWATCH_SAME);
	assert_string_equal(w->conf.hostname, "a.example");
	/* Past the window: read once more, and the change is found. */
	filecache_set_racy_ms(0);
	assert_int_equal(confwatch_check(w, 0, NULL), CONFWATCH_RELOADED);
	assert_string_equal(w->conf.hostname, "b.example");
	assert_int_equal(w->racy, 0);
	assert_int_equal(confwatch_check(w, 0, NULL), CONFWATCH_SAME);
	filecache_set_racy_ms(FILECACHE_RACY_MS);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_defaults_without_a_file),
		T(test_empty_file_gives_defaults),
		T(test_every_key_is_read),
		T(test_delivery_keys_defaults_and_values),
		T(test_hash_inside_a_line_is_not_a_comment),
		T(test_relative_paths_are_under_the_conf_dir),
		T(test_relative_conf_dir_is_made_absolute),
		T(test_dnssec_keys_defaults_and_values),
		T(test_dnsbl_is_a_list_of_zones),
		T(test_checks_keys_defaults_and_values),
		T(test_srs_keys_defaults_and_values),
		T(test_unknown_key_names_line_and_key),
		T(test_missing_equals_is_an_error),
		T(test_missing_key_is_an_error),
		T(test_empty_value_is_an_error),
		T(test_key_given_twice_is_an_error),
		T(test_line_longer_than_max_is_an_error),
		T(test_nul_byte_is_an_error),
		T(test_bad_host_names_are_refused),
		T(test_international_host_name_becomes_its_a_label),
		T(test_size_suffixes_are_powers_of_1024),
		T(test_bad_sizes_are_refused),
		T(test_queue_minfree),
		T(test_path_longer_than_conf_path_max_is_refused),
		T(test_unreadable_file_is_an_error_not_the_defaults),

		T(test_missing_conf_dir_is_an_error_not_the_defaults),
		T(test_conf_dir_takes_option_then_environment_then_default),
		T(test_domain_path_is_under_domains),
		T(test_tls_priority_is_tls12_and_13_by_default_and_may_be_set),
		T(test_domain_that_leaves_domains_is_refused),
		T(test_diff_names_the_keys_that_changed),
		T(test_watch_reloads_a_change_and_keeps_the_old_on_error),
		T(test_watch_reads_a_racy_file_once_more),
		T(test_format_gives_each_value_as_the_file_writes_it),
		T(test_formatted_values_load_back_the_same),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
