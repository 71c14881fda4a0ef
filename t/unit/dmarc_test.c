/* dmarc_test.c — dkimsign/psl.c and dkimsign/dmarc.c: organizational
 * domains against the cases of publicsuffix.org's own test list (on
 * Debian's copy of the list), DMARC records as RFC 7489 §6.3/6.6.3 reads
 * them, and policy discovery, alignment and pct= with canned TXT
 * records. */

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

#include "dmarc.h"
#include "fileread.h"
#include "psl.h"
#include "str.h"
#include "str.h"

/* --- the public suffix list ------------------------------------------ */

/* publicsuffix.org's tests/test_psl.txt, the cases in ASCII: a name and
 * its registrable domain, NULL when it has none (it is a public suffix;
 * DMARC then takes the name itself). */
static const struct {
	const char	*name, *org;
} psl_cases[] = {
	{ "com", NULL },
	{ "example.com", "example.com" },
	{ "b.example.com", "example.com" },
	{ "a.b.example.com", "example.com" },
	{ "uk.com", NULL },
	{ "example.uk.com", "example.uk.com" },
	{ "b.example.uk.com", "example.uk.com" },
	{ "test.ac", "test.ac" },
	{ "mm", NULL },
	{ "c.mm", NULL },
	{ "b.c.mm", "b.c.mm" },
	{ "a.b.c.mm", "b.c.mm" },
	{ "jp", NULL },
	{ "test.jp", "test.jp" },
	{ "www.test.jp", "test.jp" },
	{ "ac.jp", NULL },
	{ "test.ac.jp", "test.ac.jp" },
	{ "www.test.ac.jp", "test.ac.jp" },
	{ "kyoto.jp", NULL },
	{ "test.kyoto.jp", "test.kyoto.jp" },
	{ "ide.kyoto.jp", NULL },
	{ "b.ide.kyoto.jp", "b.ide.kyoto.jp" },
	{ "a.b.ide.kyoto.jp", "b.ide.kyoto.jp" },
	{ "c.kobe.jp", NULL },
	{ "b.c.kobe.jp", "b.c.kobe.jp" },
	{ "a.b.c.kobe.jp", "b.c.kobe.jp" },
	{ "city.kobe.jp", "city.kobe.jp" },
	{ "www.city.kobe.jp", "city.kobe.jp" },
	{ "ck", NULL },
	{ "test.ck", NULL },
	{ "b.test.ck", "b.test.ck" },
	{ "a.b.test.ck", "b.test.ck" },
	{ "www.ck", "www.ck" },
	{ "www.www.ck", "www.ck" },
	{ "us", NULL },
	{ "test.us", "test.us" },
	{ "www.test.us", "test.us" },
	{ "ak.us", NULL },
	{ "test.ak.us", "test.ak.us" },
	{ "www.test.ak.us", "test.ak.us" },
	{ "k12.ak.us", NULL },
	{ "test.k12.ak.us", "test.k12.ak.us" },
	{ "www.test.k12.ak.us", "test.k12.ak.us" },
	/* a TLD the list does not have: the implicit rule "*" */
	{ "example", NULL },
	{ "example.example", "example.example" },
	{ "b.example.example", "example.example" },
	{ "a.b.example.example", "example.example" },
	{ "EXAMPLE.Co.UK", "EXAMPLE.Co.UK" },
	{ "www.EXAMPLE.co.uk", "EXAMPLE.co.uk" },
};

static void
psl_of_debian_list(void **state)
{
	const char *names[PSL_NAMES_MAX];
	struct psl_name out[PSL_NAMES_MAX];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(psl_cases) / sizeof(psl_cases[0]); i += n) {
		n = sizeof(psl_cases) / sizeof(psl_cases[0]) - i;
		if (n > PSL_NAMES_MAX)
			n = PSL_NAMES_MAX;
		for (j = 0; j < n; j++)
			names[j] = psl_cases[i + j].name;
		assert_int_equal(psl_org_domains(PSL_FILE, names, n, out), 0);
		for (j = 0; j < n; j++) {
			const char *want = psl_cases[i + j].org != NULL ?
			    psl_cases[i + j].org : psl_cases[i + j].name;

			if (strcmp(out[j].org, want) != 0)
				fail_msg("%s: %s, not %s", names[j],
				    out[j].org, want);
		}
	}
}

/* The loaded table (smtp-checkd's) says what the pass over the file
 * says: for the cases above, and for a name one and two labels under
 * every rule of the list (its wildcards and exceptions included). */
static void
psl_table_agrees_with_the_scan(void **state)
{
	struct psl_table t;
	struct psl_name a[PSL_NAMES_MAX], b[PSL_NAMES_MAX];
	static char names_buf[PSL_NAMES_MAX][PSL_NAME_MAX + 1];
	const char *names[PSL_NAMES_MAX];
	char *list, *p, *nl, rule[PSL_LINE_MAX];
	size_t len, i, n = 0, k, checked = 0;

	(void)state;
	assert_int_equal(psl_table_load(&t, PSL_FILE), 0);
	assert_true(t.nrules > 5000);
	for (i = 0; i < sizeof(psl_cases) / sizeof(psl_cases[0]); i++) {
		names[0] = psl_cases[i].name;
		assert_int_equal(psl_table_org_domains(&t, names, 1, a), 0);
		assert_int_equal(psl_org_domains(PSL_FILE, names, 1, b), 0);
		assert_string_equal(a[0].org, b[0].org);
	}
	assert_int_equal(fileread_all(PSL_FILE, PSL_FILE_MAX, &list, &len), 0);
	for (p = list; p < list + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(list + len - p))) == NULL)
			nl = list + len;
		k = (size_t)(nl - p);
		if (k == 0 || (k >= 2 && p[0] == '/') || k >= sizeof(rule) - 8)
			continue;
		memcpy(rule, p, k);
		rule[k] = '\0';
		p = rule[0] == '!' ? rule + 1 : rule[0] == '*' && rule[1] ==
		    '.' ? rule + 2 : rule;
		for (i = 0; i < 2 && n < PSL_NAMES_MAX; i++) {
			(void)str_fmt(names_buf[n], sizeof(names_buf[n]),
			    i == 0 ? "x.%s" : "y.x.%s", p);
			names[n] = names_buf[n];
			n++;
		}
		p = nl - k;	/* back in the list, for the next line */
		if (n < PSL_NAMES_MAX && nl < list + len)
			continue;
		assert_int_equal(psl_table_org_domains(&t, names, n, a), 0);
		assert_int_equal(psl_org_domains(PSL_FILE, names, n, b), 0);
		for (i = 0; i < n; i++)
			if (strcmp(a[i].org, b[i].org) != 0)
				fail_msg("%s: table %s, scan %s", names[i],
				    a[i].org, b[i].org);
		checked += n;
		n = 0;
	}
	assert_true(checked > 10000);
	free(list);
	psl_table_free(&t);
}

static void
psl_refuses_too_many_and_a_missing_list(void **state)
{
	const char *names[PSL_NAMES_MAX + 1] = { "a.example" };
	struct psl_name out[PSL_NAMES_MAX + 1];

	(void)state;
	assert_int_equal(psl_org_domains(PSL_FILE, names, PSL_NAMES_MAX + 1,
	    out), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(psl_org_domains("/nonexistent/psl.dat", names, 1,
	    out), -1);
	assert_int_equal(errno, ENOENT);
}

/* --- records --------------------------------------------------------- */

static void
record_tags(void **state)
{
	struct dmarc_record r;
	char why[DMARC_WHY_MAX];

	(void)state;
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject", &r, why,
	    sizeof(why)), 0);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT);	/* sp= defaults to p= */
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);

	assert_int_equal(dmarc_record_parse(" v = DMARC1 ;p=Quarantine; "
	    "sp=none;adkim=s; aspf=s; pct=25; rua=mailto:d@example.com; x=y;",
	    &r, why, sizeof(why)), 0);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(r.pct, 25);

	/* a bad pct= is ignored */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none; pct=101", &r,
	    why, sizeof(why)), 0);
	assert_int_equal(r.pct, 100);
}

static void
record_refusals(void **state)
{
	struct dmarc_record r;
	char why[DMARC_WHY_MAX];

	(void)state;
	/* v= first, and DMARC1 as spelled */
	assert_int_equal(dmarc_record_parse("p=reject; v=DMARC1", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(dmarc_record_parse("v=dmarc1; p=reject", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(dmarc_record_parse("v=DMARC10; p=reject", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(dmarc_record_parse("v=spf1 -all", &r, why,
	    sizeof(why)), -1);
	/* no usable p=, no rua=: no record */
	assert_int_equal(dmarc_record_parse("v=DMARC1", &r, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "p="));
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=drop", &r, why,
	    sizeof(why)), -1);
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=reject; sp=bin", &r,
	    why, sizeof(why)), -1);
	/* ... but with a valid rua=, p=none (§6.6.3 step 6) */
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=drop; "
	    "rua=mailto:r@example.com", &r, why, sizeof(why)), 0);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_true(r.p_from_rua);
	assert_int_equal(dmarc_record_parse("v=DMARC1; rua=nonsense", &r, why,
	    sizeof(why)), -1);
}

/* --- evaluation ------------------------------------------------------ */

/* Canned TXT records: name, text; a text of NULL is a temporary
 * failure. */
struct zone {
	const char	*name, *text;
};

static enum dns_result
canned_txt(void *ctx, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	const struct zone *z;

	*n = 0;
	for (z = ctx; z->name != NULL; z++) {
		if (strcmp(z->name, name) != 0)
			continue;
		if (z->text == NULL) {
			str_fmt_cut(why, whysize, "timed out");
			return DNS_TEMP;
		}
		if (*n < max) {
			memset(&out[*n], 0, sizeof(out[*n]));
			(void)str_copy(out[*n].text, sizeof(out[*n].text),
			    z->text);
			(*n)++;
		}
	}
	return *n > 0 ? DNS_OK : DNS_NXDOMAIN;
}

static const struct zone zone[] = {
	{ "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine" },
	{ "_dmarc.example.com", "some other use of the name" },
	{ "_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s" },
	{ "_dmarc.half.example", "v=DMARC1; p=reject; pct=50" },
	{ "_dmarc.two.example", "v=DMARC1; p=none" },
	{ "_dmarc.two.example", "v=DMARC1; p=reject" },
	{ "_dmarc.slow.example", NULL },
	{ "_dmarc.co.uk", "v=DMARC1; p=reject" },	/* never asked */
	{ NULL, NULL }
};

static struct dmarc_outcome
evaluate(const char *from, int spf_pass, const char *spf_domain,
    const struct dmarc_dkim *dkim, size_t ndkim, int sample)
{
	struct dmarc_input in;
	struct dmarc_outcome out;

	memset(&in, 0, sizeof(in));
	in.from = from;
	in.spf_pass = spf_pass;
	in.spf_domain = spf_domain;
	in.dkim = dkim;
	in.ndkim = ndkim;
	in.sample = sample;
	in.psl_file = PSL_FILE;
	assert_int_equal(dmarc_evaluate(&in, canned_txt, (void *)zone, &out),
	    0);
	return out;
}

static void
alignment_relaxed(void **state)
{
	struct dmarc_dkim sub = { "mail.example.com", 1 };
	struct dmarc_dkim other = { "example.net", 1 };
	struct dmarc_dkim bad = { "example.com", 0 };
	struct dmarc_outcome o;

	(void)state;
	/* SPF of a subdomain aligns with the organizational domain */
	o = evaluate("example.com", 1, "bounces.example.com", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.spf_aligned);
	assert_false(o.dkim_aligned);
	/* DKIM of a subdomain too; a passing signature of another domain
	 * and a failing one of ours do not */
	o = evaluate("example.com", 0, "example.net", &sub, 1, 0);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.dkim_aligned);
	{
		struct dmarc_dkim two[2] = { other, bad };

		o = evaluate("example.com", 1, "example.net", two, 2, 0);
	}
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_int_equal(o.disposition, DMARC_POLICY_REJECT);
	assert_string_equal(o.domain, "example.com");
}

static void
alignment_strict(void **state)
{
	struct dmarc_dkim sub = { "mail.strict.example", 1 };
	struct dmarc_dkim same = { "strict.example", 1 };
	struct dmarc_outcome o;

	(void)state;
	o = evaluate("strict.example", 1, "bounces.strict.example", &sub, 1,
	    0);
	assert_int_equal(o.result, DMARC_FAIL);
	o = evaluate("strict.example", 1, "strict.example", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.spf_aligned);
	o = evaluate("strict.example", 0, "", &same, 1, 0);
	assert_int_equal(o.result, DMARC_PASS);
}

static void
subdomain_policy_from_the_organizational_domain(void **state)
{
	struct dmarc_outcome o;

	(void)state;
	/* news.example.com has no record: example.com's sp= applies */
	o = evaluate("news.example.com", 0, "example.net", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_string_equal(o.domain, "example.com");
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	/* the public suffix above an organizational domain is never asked */
	o = evaluate("example.co.uk", 0, "", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_NONE);
	/* no record anywhere */
	o = evaluate("example.org", 0, "", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_NONE);
}

static void
pct_samples_failures(void **state)
{
	struct dmarc_outcome o;

	(void)state;
	o = evaluate("half.example", 0, "", NULL, 0, 49);
	assert_int_equal(o.disposition, DMARC_POLICY_REJECT);
	o = evaluate("half.example", 0, "", NULL, 0, 50);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_REJECT);
	assert_int_equal(o.disposition, DMARC_POLICY_QUARANTINE);
}

static void
errors(void **state)
{
	struct dmarc_outcome o;

	(void)state;
	o = evaluate("two.example", 0, "", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_PERMERROR);
	assert_int_equal(o.disposition, DMARC_POLICY_NONE);
	o = evaluate("slow.example", 1, "slow.example", NULL, 0, 0);
	assert_int_equal(o.result, DMARC_TEMPERROR);
	assert_string_equal(dmarc_result_name(o.result), "temperror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(psl_of_debian_list),
		cmocka_unit_test(psl_table_agrees_with_the_scan),
		cmocka_unit_test(psl_refuses_too_many_and_a_missing_list),
		cmocka_unit_test(record_tags),
		cmocka_unit_test(record_refusals),
		cmocka_unit_test(alignment_relaxed),
		cmocka_unit_test(alignment_strict),
		cmocka_unit_test(subdomain_policy_from_the_organizational_domain),
		cmocka_unit_test(pct_samples_failures),
		cmocka_unit_test(errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
