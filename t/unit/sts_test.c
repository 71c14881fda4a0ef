/* sts_test.c — MTA-STS policies (smtp-out/sts.c): the policy text parsed
 * strictly as RFC 8461 §3.2 writes it, the _mta-sts record's id (§3.1),
 * MX patterns with and without a wildcard (§4.1), the cache file, and
 * the counts line of TLS reports (lib/tlsrpt.c), the rua addresses of
 * an _smtp._tls record and a day's JSON report (smtp-out/report.c). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "report.h"
#include "sts.h"
#include "tlsrpt.h"

static int
parse(const char *text, struct sts_policy *pol)
{
	char why[256];

	return sts_parse(text, strlen(text), pol, why, sizeof(why));
}

static void
test_rfc_example_policy_parses(void **state)
{
	struct sts_policy pol;

	(void)state;
	assert_int_equal(parse("version: STSv1\nmode: enforce\n"
	    "mx: mail.example.com\nmx: *.example.net\n"
	    "mx: backupmx.example.com\nmax_age: 604800\n", &pol), 0);
	assert_int_equal(pol.mode, STS_MODE_ENFORCE);
	assert_int_equal(pol.max_age, 604800);
	assert_int_equal(pol.nmx, 3);
	assert_string_equal(pol.mx[1], "*.example.net");
}

static void
test_crlf_blanks_and_extensions_are_taken(void **state)
{
	struct sts_policy pol;

	(void)state;
	assert_int_equal(parse("version: STSv1\r\nmode:testing  \r\n"
	    "mx: MX.Example.COM\r\nmax_age:86400\r\nx-ext_1: what ever\r\n",
	    &pol), 0);
	assert_int_equal(pol.mode, STS_MODE_TESTING);
	assert_string_equal(pol.mx[0], "mx.example.com");
	assert_int_equal(parse("version: STSv1\nmode: none\nmax_age: 0",
	    &pol), 0);
	assert_int_equal(pol.mode, STS_MODE_NONE);
	assert_int_equal(pol.nmx, 0);
}

static void
test_bad_policies_are_refused(void **state)
{
	static const char *bad[] = {
		"",
		"mode: enforce\nmx: a.example\nmax_age: 1\n",	/* version */
		"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nversion: STSv1\nmode: enforce\n"
		    "mx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforcing\nmx: a.example\n"
		    "max_age: 1\n",
		"version: STSv1\nmode: enforce\nmode: testing\n"
		    "mx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n"
		    "max_age: 31557601\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n"
		    "max_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n"
		    "max_age: 12345678901\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",	/* no mx */
		"version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.*.example\n"
		    "max_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n",
		"<html>version: STSv1</html>\n",
	};
	struct sts_policy pol;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &pol) != -1)
			fail_msg("taken: %s", bad[i]);
}

static void
test_a_policy_over_64k_is_refused(void **state)
{
	struct sts_policy pol;
	char why[128], *big;
	size_t n = STS_POLICY_MAX + 1, len;

	(void)state;
	assert_non_null(big = malloc(n + 1));
	len = (size_t)snprintf(big, n + 1, "version: STSv1\nmode: testing\n"
	    "mx: a.example\nmax_age: 1\n");
	memset(big + len, '\n', n - len);
	assert_int_equal(sts_parse(big, n, &pol, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer"));
	/* The same at exactly the limit is a policy. */
	assert_int_equal(sts_parse(big, n - 1, &pol, why, sizeof(why)), 0);
	free(big);
}

static void
test_too_many_mx_lines_are_refused_not_cut(void **state)
{
	struct sts_policy pol;
	char text[8192], why[128];
	int i, n;

	(void)state;
	n = snprintf(text, sizeof(text), "version: STSv1\nmode: enforce\n"
	    "max_age: 10\n");
	for (i = 0; i <= STS_MX_MAX; i++)
		n += snprintf(text + n, sizeof(text) - n, "mx: m%d.example\n",
		    i);
	assert_int_equal(sts_parse(text, (size_t)n, &pol, why, sizeof(why)),
	    -1);
}

static void
test_wildcard_matches_one_label_only(void **state)
{
	(void)state;
	assert_true(sts_pattern_match("*.example.net", "mx1.example.net"));
	assert_true(sts_pattern_match("*.example.net", "MX1.Example.NET."));
	assert_false(sts_pattern_match("*.example.net", "example.net"));
	assert_false(sts_pattern_match("*.example.net", "a.b.example.net"));
	assert_false(sts_pattern_match("*.example.net", ".example.net"));
	assert_false(sts_pattern_match("*.example.net", "mx1.example.org"));
	assert_false(sts_pattern_match("*.example.net", "mx1xexample.net"));
	assert_true(sts_pattern_match("mail.example.com",
	    "mail.example.com"));
	assert_true(sts_pattern_match("mail.example.com",
	    "Mail.Example.Com."));
	assert_false(sts_pattern_match("mail.example.com",
	    "x.mail.example.com"));
	assert_false(sts_pattern_match("mail.example.com", "example.com"));
	assert_false(sts_pattern_match("mail.example.com",
	    "mail.example.co"));
}

static void
test_mx_match_tries_every_pattern(void **state)
{
	struct sts_policy pol;

	(void)state;
	assert_int_equal(parse("version: STSv1\nmode: enforce\n"
	    "mx: mail.example.com\nmx: *.example.net\nmax_age: 1\n", &pol),
	    0);
	assert_true(sts_mx_match(&pol, "mail.example.com"));
	assert_true(sts_mx_match(&pol, "b.example.net"));
	assert_false(sts_mx_match(&pol, "evil.example"));
}

static void
test_txt_record_id(void **state)
{
	char id[STS_ID_MAX + 1];

	(void)state;
	assert_int_equal(sts_txt_id("v=STSv1; id=20160831085700Z;", id,
	    sizeof(id)), 0);
	assert_string_equal(id, "20160831085700Z");
	assert_int_equal(sts_txt_id("v=STSv1;id=abc", id, sizeof(id)), 0);
	assert_string_equal(id, "abc");
	assert_int_equal(sts_txt_id("v=STSv1 ; ext=1 ; id=x9 ", id,
	    sizeof(id)), 0);
	assert_string_equal(id, "x9");
	assert_int_equal(sts_txt_id("v=STSv1;", id, sizeof(id)), -1);
	assert_int_equal(sts_txt_id("v=STSv10; id=a", id, sizeof(id)), -1);
	assert_int_equal(sts_txt_id("id=a; v=STSv1", id, sizeof(id)), -1);
	assert_int_equal(sts_txt_id("v=STSv1; id=a-b", id, sizeof(id)), -1);
	assert_int_equal(sts_txt_id("v=STSv1; id=a; id=b", id, sizeof(id)),
	    -1);
	assert_int_equal(sts_txt_id("v=STSv1; id="
	    "123456789012345678901234567890123", id, sizeof(id)), -1);
}

static void
test_cache_round_trip(void **state)
{
	static const char text[] = "posthorn-mta-sts 1\nid abc1\n"
	    "fetched 1700000000\n\nversion: STSv1\nmode: enforce\n"
	    "mx: *.example.net\nmax_age: 3600\n";
	struct sts_policy pol;
	const char *body;
	size_t bodylen;
	char why[128];

	(void)state;
	assert_int_equal(sts_cache_parse(text, sizeof(text) - 1, &pol, &body,
	    &bodylen, why, sizeof(why)), 0);
	assert_string_equal(pol.id, "abc1");
	assert_int_equal(pol.fetched, 1700000000);
	assert_int_equal(pol.mode, STS_MODE_ENFORCE);
	assert_true(strncmp(body, "version: STSv1\n", 15) == 0);
	assert_true(sts_fresh(&pol, 1700000000 + 3599));
	assert_false(sts_fresh(&pol, 1700000000 + 3600));
	assert_int_equal(sts_cache_parse(text + 1, sizeof(text) - 2, &pol,
	    NULL, NULL, why, sizeof(why)), -1);
}

static void
test_counts_line_parses_back(void **state)
{
	struct tlsrpt_event ev;
	char line[] = "v1\tsts\texample.com\tcertificate-expired\t"
	    "192.0.2.1\tmx.example.com\t-\t-";
	char bad[] = "v2\tsts\texample.com\tsuccess\t-\t-\t-\t-";

	(void)state;
	assert_int_equal(tlsrpt_parse(line, &ev), 0);
	assert_string_equal(ev.policy_type, "sts");
	assert_string_equal(ev.result, "certificate-expired");
	assert_string_equal(ev.mx_host, "mx.example.com");
	assert_null(ev.receiving_ip);
	assert_null(ev.reason_code);
	assert_int_equal(tlsrpt_parse(bad, &ev), -1);
}

static void
test_rua_mailto_addresses_of_a_tlsrpt_record(void **state)
{
	char a[REPORT_RUAS_MAX][REPORT_ADDR_MAX];
	int https;

	(void)state;
	assert_int_equal(report_rua("v=TLSRPTv1; rua=mailto:tls@example.com",
	    a, REPORT_RUAS_MAX, &https), 1);
	assert_string_equal(a[0], "tls@example.com");
	assert_false(https);
	assert_int_equal(report_rua("v=TLSRPTv1;rua=https://r.example/x, "
	    "mailto:tls%2Dreports@example.com!10m,mailto:b@example.org",
	    a, REPORT_RUAS_MAX, &https), 2);
	assert_string_equal(a[0], "tls-reports@example.com");
	assert_string_equal(a[1], "b@example.org");
	assert_true(https);
	/* Not a TLSRPTv1 record, or no rua: none. */
	assert_int_equal(report_rua("v=TLSRPTv10; rua=mailto:a@b.example",
	    a, REPORT_RUAS_MAX, &https), -1);
	assert_int_equal(report_rua("v=TLSRPTv1; ruf=mailto:a@b.example",
	    a, REPORT_RUAS_MAX, &https), -1);
	/* An address that would break the header is dropped. */
	assert_int_equal(report_rua("v=TLSRPTv1; rua=mailto:a%0A@b.example",
	    a, REPORT_RUAS_MAX, &https), 0);
	/* So is what is not one mailbox: a control byte, a space, a second
	 * address, a path, no domain; the good one beside them stays. */
	assert_int_equal(report_rua("v=TLSRPTv1; rua=mailto:a%01@b.example,"
	    "mailto:a%20b@b.example,mailto:a@b.example%2C%20c@d.example,"
	    "mailto:%3Ca@b.example%3E,mailto:nodomain,mailto:a@b.example",
	    a, REPORT_RUAS_MAX, &https), 1);
	assert_string_equal(a[0], "a@b.example");
}

static void
test_report_json_sums_per_policy_and_failure(void **state)
{
	static char text[] =
	    "v1\tsts\te.example\tsuccess\t192.0.2.1\tmx.e.example\t-\t-\n"
	    "v1\tsts\te.example\tcertificate-expired\t192.0.2.1\t"
	    "mx.e.example\t198.51.100.1\t-\n"
	    "v1\tsts\te.example\tcertificate-expired\t192.0.2.1\t"
	    "mx.e.example\t198.51.100.1\t-\n"
	    "v1\tno-policy-found\tf.example\tsuccess\t-\t-\t-\t-\n"
	    "v1\tsts\te.example\tsuccess\t192.0.2.1\tmx.e.example\t-\t-\n";
	static const char pol[] = "version: STSv1\nmode: enforce\n"
	    "mx: mx.e.example\nmax_age: 86400\n";
	struct report_meta m = { "example.net", "t@example.net",
	    "mx.example.net" };
	struct report_day d;
	size_t first, count, len;
	char *json, path[] = "/tmp/sts_test.XXXXXX", file[64];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/2026-12-05", path);
	assert_non_null(fp = fopen(file, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(report_load(file, &d), 0);
	assert_int_equal(d.n, 5);
	assert_int_equal(report_domain(&d, 0, &first, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(d.ev[first].policy_domain, "e.example");
	assert_int_equal(report_json(&d, first, count, &m, pol,
	    sizeof(pol) - 1, &json, &len), 0);
	assert_non_null(strstr(json, "\"total-successful-session-count\":2,"
	    "\"total-failure-session-count\":2"));
	assert_non_null(strstr(json, "\"result-type\":\"certificate-expired"
	    "\""));
	assert_non_null(strstr(json, "\"failed-session-count\":2}"));
	assert_non_null(strstr(json, "\"policy-string\":[\"version: STSv1\","
	    "\"mode: enforce\",\"mx: mx.e.example\",\"max_age: 86400\"]"));
	assert_non_null(strstr(json, "\"start-datetime\":"
	    "\"2026-12-05T00:00:00Z\""));
	free(json);
	assert_int_equal(report_domain(&d, 1, &first, &count), 0);
	assert_string_equal(d.ev[first].policy_domain, "f.example");
	assert_int_equal(report_domain(&d, 2, &first, &count), -1);
	report_free(&d);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(rmdir(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example_policy_parses),
		cmocka_unit_test(test_crlf_blanks_and_extensions_are_taken),
		cmocka_unit_test(test_bad_policies_are_refused),
		cmocka_unit_test(test_a_policy_over_64k_is_refused),
		cmocka_unit_test(test_too_many_mx_lines_are_refused_not_cut),
		cmocka_unit_test(test_wildcard_matches_one_label_only),
		cmocka_unit_test(test_mx_match_tries_every_pattern),
		cmocka_unit_test(test_txt_record_id),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_counts_line_parses_back),
		cmocka_unit_test(test_rua_mailto_addresses_of_a_tlsrpt_record),
		cmocka_unit_test(test_report_json_sums_per_policy_and_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
