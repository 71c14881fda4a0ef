/* check_test.c — dkimsign/check.c without a network: which author
 * domain DMARC takes from the From fields (RFC 7489 §6.6.1), and how the
 * Authentication-Results field is folded (RFC 5322 §2.1.1, §2.2.3). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "hdr.h"
#include "str.h"

static enum check_from
from_of(const char *header, char *dom, size_t cap)
{
	static struct hdr h;

	assert_int_equal(hdr_parse(&h, header, strlen(header)), 0);
	dom[0] = '\0';
	return check_from_domain(&h, dom, cap);
}

static void
test_one_from_domain_lowercased(void **state)
{
	char dom[256];

	(void)state;
	assert_int_equal(from_of("Subject: x\r\nFrom: \"Al, B\" "
	    "<al@Mail.Example.COM> (home)\r\nTo: b@c.test\r\n", dom,
	    sizeof(dom)), CHECK_FROM_ONE);
	assert_string_equal(dom, "mail.example.com");
	/* Folded, and two addresses of one domain: still one domain. */
	assert_int_equal(from_of("from: a@x.test,\r\n b@X.test\r\n", dom,
	    sizeof(dom)), CHECK_FROM_ONE);
	assert_string_equal(dom, "x.test");
}

static void
test_several_from_domains_or_fields_are_many(void **state)
{
	char dom[256];

	(void)state;
	assert_int_equal(from_of("From: a@x.test, b@y.test\r\n", dom,
	    sizeof(dom)), CHECK_FROM_MANY);
	/* Two fields, even of the same domain: RFC 5322 §3.6 allows one. */
	assert_int_equal(from_of("From: a@x.test\r\nFrom: a@x.test\r\n", dom,
	    sizeof(dom)), CHECK_FROM_MANY);
}

static void
test_no_from_domain_is_none(void **state)
{
	char dom[256];

	(void)state;
	assert_int_equal(from_of("To: a@x.test\r\n", dom, sizeof(dom)),
	    CHECK_FROM_NONE);
	assert_int_equal(from_of("From: undisclosed:;\r\n", dom,
	    sizeof(dom)), CHECK_FROM_NONE);
	assert_int_equal(from_of("From: a@[192.0.2.1]\r\n", dom,
	    sizeof(dom)), CHECK_FROM_NONE);
	assert_int_equal(from_of("From: <<<\r\n", dom, sizeof(dom)),
	    CHECK_FROM_NONE);
	assert_int_equal(from_of("From: a@.\r\n", dom, sizeof(dom)),
	    CHECK_FROM_NONE);
}

/* Every line of s shorter than width, continuation lines starting with
 * a tab; the number of lines. */
static int
lines_under(const char *s, size_t width)
{
	const char *p = s, *nl;
	size_t len, cols;
	int n = 0;

	for (;;) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		/* a tab counts as 8 columns */
		cols = len + (p != s && *p == '\t' ? 7 : 0);

		assert_true(cols < width);
		if (p != s)
			assert_int_equal(*p, '\t');
		n++;
		if (nl == NULL)
			return n;
		p = nl + 1;
	}
}

static void
test_fold_puts_each_method_on_a_line(void **state)
{
	char mem[1024];
	struct str o;

	(void)state;
	str_init(&o, mem, sizeof(mem));
	assert_int_equal(check_fold(&o, "Authentication-Results",
	    "mx.test; spf=pass smtp.mailfrom=a@x.test; dkim=none; "
	    "dmarc=none header.from=x.test"), 0);
	assert_string_equal(o.s, "Authentication-Results: mx.test;\n"
	    "\tspf=pass smtp.mailfrom=a@x.test;\n\tdkim=none;\n"
	    "\tdmarc=none header.from=x.test");
}

static void
test_fold_long_method_under_78_and_quotes_kept_whole(void **state)
{
	char mem[2048], un[2048];
	struct str o;
	const char *v = "mx.test; dkim=fail (body hash did not verify) "
	    "header.d=example.com header.i=@example.com header.s=sel2026 "
	    "header.a=rsa-sha256 header.b=\"ab c/+=\"; dkim=pass "
	    "header.d=a.very.long.subdomain.of.an.example.com "
	    "header.s=selector";
	size_t i, j = 0;

	(void)state;
	str_init(&o, mem, sizeof(mem));
	assert_int_equal(check_fold(&o, "Authentication-Results", v), 0);
	assert_true(lines_under(o.s, CHECK_FOLD_WIDTH) >= 4);
	assert_non_null(strstr(o.s, "header.b=\"ab c/+=\";"));
	/* Unfolded (RFC 5322 §2.2.3: the CRLF removed, the tab stays a
	 * space's worth of white space), it is the value again. */
	for (i = strlen("Authentication-Results: "); o.s[i] != '\0'; i++) {
		if (o.s[i] == '\n')
			continue;
		un[j++] = o.s[i] == '\t' ? ' ' : o.s[i];
	}
	un[j] = '\0';
	assert_string_equal(un, v);
}

static void
test_fold_refuses_what_no_line_holds(void **state)
{
	static char mem[4096], word[1200];
	struct str o;

	(void)state;
	memset(word, 'a', sizeof(word) - 1);
	str_init(&o, mem, sizeof(mem));
	assert_int_equal(check_fold(&o, "X", word), -1);
	assert_int_equal(o.len, 0);
	/* A first word that fits a continuation line but not the name's
	 * line (found by fuzz/check.c). */
	word[990] = '\0';
	assert_int_equal(check_fold(&o, "Authentication-Results", word), -1);
	assert_int_equal(o.len, 0);
	assert_int_equal(check_fold(&o, "X", word), 0);
	assert_int_equal(o.len, 2 + 1 + 990);
	/* and a buffer too small leaves it as it was */
	str_init(&o, mem, 16);
	assert_int_equal(check_fold(&o, "Authentication-Results", "a; b"),
	    -1);
	assert_int_equal(o.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_from_domain_lowercased),
		cmocka_unit_test(test_several_from_domains_or_fields_are_many),
		cmocka_unit_test(test_no_from_domain_is_none),
		cmocka_unit_test(test_fold_puts_each_method_on_a_line),
		cmocka_unit_test(
		    test_fold_long_method_under_78_and_quotes_kept_whole),
		cmocka_unit_test(test_fold_refuses_what_no_line_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
