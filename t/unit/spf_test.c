/* spf_test.c — lib/spf.c without a network: the macro expander against
 * the examples of RFC 7208 §7.4 and the rules of §7.3 (transformers,
 * delimiters, URL escaping, exp-only letters, %{p} asked only when
 * used), and the record parser against the ABNF of §12 (every term,
 * cidr lengths, domain-spec endings, the errors that make a permerror
 * wherever they are in the record). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <sys/socket.h>

#include "dns.h"
#include "spf.h"

struct fx {
	struct dns_addr		v4, v6;
	struct spf_macros	m;
	int			ptr_calls;
	char			out[SPF_EXPAND_MAX];
};

static const char *
ptr_name(void *arg)
{
	struct fx *f = arg;

	f->ptr_calls++;
	return "mx.example.org";
}

static int
setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(dns_addr_parse("192.0.2.3", &f.v4), 0);
	assert_int_equal(dns_addr_parse("2001:db8::cb01", &f.v6), 0);
	/* RFC 7208 §7.4's sender and domain. */
	f.m.sender = "strong-bad@email.example.com";
	f.m.local = "strong-bad";
	f.m.sender_domain = "email.example.com";
	f.m.domain = "email.example.com";
	f.m.ip = &f.v4;
	f.m.helo = "mx.example.org";
	f.m.receiver = "mx.receiver.example";
	f.m.now = 1700000000;
	f.m.ptr = ptr_name;
	f.m.arg = &f;
	*state = &f;
	return 0;
}

static const char *
expand(struct fx *f, const char *spec, int exp)
{
	if (spf_expand(&f->m, spec, strlen(spec), exp, f->out,
	    sizeof(f->out)) == -1)
		return NULL;
	return f->out;
}

static void
test_expand_rfc7208_section_7_4_examples(void **state)
{
	static const char *const ex[][2] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}",
		    "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net" },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		const char *got = expand(f, ex[i][0], 0);

		assert_non_null(got);
		assert_string_equal(got, ex[i][1]);
	}
}

static void
test_expand_ipv6_is_dot_format_nibbles(void **state)
{
	struct fx *f = *state;
	const char *got;

	f->m.ip = &f->v6;
	got = expand(f, "%{ir}.%{v}._spf.%{d2}", 0);
	assert_non_null(got);
	/* §7.4; the nibbles are upper case, as the RFC 7208 test suite
	 * expects them (DNS does not mind). */
	assert_int_equal(strcasecmp(got, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"), 0);
	got = expand(f, "%{c}", 1);
	assert_non_null(got);
	assert_string_equal(got, "2001:db8::cb01");
}

static void
test_expand_escapes_and_specials(void **state)
{
	struct fx *f = *state;

	f->m.local = "~jack&jill=up a_b3.c";
	assert_string_equal(expand(f, "%{L}", 0),
	    "~jack%26jill%3Dup%20a_b3.c");
	assert_string_equal(expand(f, "a%%b%_c%-d", 0), "a%b c%20d");
	/* several delimiters, each splits; reversed, then the right two */
	f->m.local = "foo-bar+zip+quux";
	assert_string_equal(expand(f, "%{l2r+-}", 0), "bar.foo");
	assert_string_equal(expand(f, "%{l=/,}", 0), "foo-bar+zip+quux");
	/* more parts asked than there are: all of them */
	assert_string_equal(expand(f, "%{d99}", 0), "email.example.com");
	assert_string_equal(expand(f, "%{D2}", 0), "example.com");
}

static void
test_expand_refuses_bad_macros(void **state)
{
	static const char *const bad[] = {
		"%{x}", "%{d0}", "%{", "%{d", "%a", "%", "a%", "%{d2r-x}",
		"%{}", "%{ d}", "%(ir)", "foo%.bar",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(expand(f, bad[i], 0));
}

static void
test_exp_only_letters_only_in_exp(void **state)
{
	struct fx *f = *state;
	char t[32];

	assert_null(expand(f, "%{c}", 0));
	assert_null(expand(f, "%{r}.example.com", 0));
	assert_null(expand(f, "%{t}", 0));
	assert_string_equal(expand(f, "%{c} %{r}", 1),
	    "192.0.2.3 mx.receiver.example");
	snprintf(t, sizeof(t), "%lld", f->m.now);
	assert_string_equal(expand(f, "%{t}", 1), t);
	f->m.receiver = NULL;
	assert_string_equal(expand(f, "%{r}", 1), "unknown");
	/* an explanation may hold blanks; a domain-spec may not */
	assert_non_null(expand(f, "not from %{i}", 1));
	assert_null(expand(f, "not from %{i}", 0));
}

static void
test_ptr_is_asked_only_when_used(void **state)
{
	struct fx *f = *state;

	assert_string_equal(expand(f, "%{d}.%{i}", 0),
	    "email.example.com.192.0.2.3");
	assert_int_equal(f->ptr_calls, 0);
	assert_string_equal(expand(f, "%{p2}", 0), "example.org");
	assert_int_equal(f->ptr_calls, 1);
	f->m.p = "given.example";
	assert_string_equal(expand(f, "%{p}", 0), "given.example");
	assert_int_equal(f->ptr_calls, 1);
}

static void
test_expand_that_does_not_fit_fails(void **state)
{
	struct fx *f = *state;
	char small[8];

	assert_int_equal(spf_expand(&f->m, "%{d}", 4, 0, small,
	    sizeof(small)), -1);
	assert_int_equal(spf_expand(&f->m, "%{d1}", 5, 0, small,
	    sizeof(small)), 0);
	assert_string_equal(small, "com");
}

/* The terms of a record, parsed one by one. */
static void
test_parse_every_term(void **state)
{
	const char *rec = "v=spf1 +a:example.com/24//64 mx ~ip4:192.0.2.0/24 "
	    "-ip6:2001:db8::/32 ?exists:%{i}._spf.%{d} ptr:example.org "
	    "include:_spf.example.net  all redirect=x.example "
	    "exp=e.example foo.bar-1=%{d}x ";
	const char *pos = rec + 6;
	struct spf_term t;
	char why[128];

	(void)state;
	assert_int_equal(spf_parse(rec, why, sizeof(why)), 0);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_A);
	assert_int_equal(t.qualifier, '+');
	assert_int_equal(t.cidr4, 24);
	assert_int_equal(t.cidr6, 64);
	assert_int_equal(t.speclen, strlen("example.com"));
	assert_memory_equal(t.spec, "example.com", t.speclen);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_MX);
	assert_null(t.spec);
	assert_int_equal(t.cidr4, 32);
	assert_int_equal(t.cidr6, 128);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_IP4);
	assert_int_equal(t.qualifier, '~');
	assert_int_equal(t.cidr4, 24);
	assert_int_equal(t.net.family, AF_INET);
	assert_memory_equal(t.net.addr, "\xc0\x00\x02\x00", 4);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_IP6);
	assert_int_equal(t.qualifier, '-');
	assert_int_equal(t.cidr6, 32);
	assert_int_equal(t.net.family, AF_INET6);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_EXISTS);
	assert_int_equal(t.qualifier, '?');
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_PTR);
	assert_memory_equal(t.spec, "example.org", t.speclen);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_INCLUDE);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_ALL);
	assert_int_equal(t.textlen, 3);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_REDIRECT);
	assert_memory_equal(t.spec, "x.example", t.speclen);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_EXP);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 1);
	assert_int_equal(t.kind, SPF_UNKNOWN_MOD);
	assert_int_equal(spf_term_next(&pos, &t, why, sizeof(why)), 0);
}

static void
test_parse_accepts_what_the_abnf_allows(void **state)
{
	static const char *const good[] = {
		"v=spf1", "v=spf1 ", "V=SpF1 -ALL", "v=spf1  a  -all ",
		"v=spf1 a:foo:bar/baz.example.com",
		"v=spf1 a:foo.example.xn--zckzah", "v=spf1 a:x.1-2",
		"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
		"v=spf1 a:%{H}.bar -all", "v=spf1 default=+",
		"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}",
		"v=spf1 ip6:::1.1.1.1/0", "v=spf1 a:mail.example...com",
		"v=spf1 a//0 mx/0 a/32//128 ip4:0.0.0.0/0",
		"v=spf1 redirect=%{d}.d.spf.example.com.",
		"v=spf1 include:o.spf.example.com. ~all",
		"v=spf1 exp=%{d}",
	};
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (spf_parse(good[i], why, sizeof(why)) != 0)
			fail_msg("%s: %s", good[i], why);
}

static void
test_parse_refuses_syntax_errors_anywhere(void **state)
{
	static const char *const bad[] = {
		"v=spf10", "v=spf1\ta", "v=spf1 a/33", "v=spf1 a//129",
		"v=spf1 a/24/64", "v=spf1 mx/33", "v=spf1 ip4:1.2.3.4/032",
		"v=spf1 ip4", "v=spf1 ip4:1.2.3", "v=spf1 ip4:1.2.3.4//32",
		"v=spf1 ip4:1.2.3.4:8080", "v=spf1 ip6::CAFE::BABE",
		"v=spf1 ip6:::1/129", "v=spf1 ip6", "v=spf1 -all.",
		"v=spf1 -all:foo", "v=spf1 -all/8", "v=spf1 ptr/0",
		"v=spf1 include", "v=spf1 include:", "v=spf1 include:a.b/24",
		"v=spf1 exists", "v=spf1 exists:", "v=spf1 exists:a.com/24",
		"v=spf1 a:museum", "v=spf1 a:museum.", "v=spf1 a:abc.123",
		"v=spf1 a:111.222.33.44", "v=spf1 a:example.-com",
		"v=spf1 a:foo-bar", "v=spf1 a:", "v=spf1 mx:",
		"v=spf1 redirect=", "v=spf1 exp=", "v=spf1 exp=-all",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 redirect=a.example -all redirect=a.example",
		"v=spf1 1up=foo", "v=spf1 =all", "v=spf1 -all foo=%abc",
		"v=spf1 ip4:1.2.3.4 -all moo", "v=spf1 redirect:a.example",
		"v=spf1 moo.cow/far_out=man:dog/cat",
		"v=spf1 exp=%{r}.example.com", "v=spf1 -exists:%(ir).sbl.x.com",
		"v=spf1 a:foo.example.com\x01", "v=spf1 a:ctrl.example.com\rptr",
		"v=spf1 \x80" "a:example.net -all", "v=spf1 a:%{a}.example.com",
		"v=spf1 exists:%{l0r-}.example.com", "v=spf1 a:%{d00}.x.example",
	};
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (spf_parse(bad[i], why, sizeof(why)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(why[0] != '\0');
	}
}

static void
test_is_record_wants_version_then_space_or_end(void **state)
{
	(void)state;
	assert_true(spf_is_record("v=spf1"));
	assert_true(spf_is_record("v=spf1 -all"));
	assert_true(spf_is_record("V=SPF1 a"));
	assert_false(spf_is_record("v=spf10"));
	assert_false(spf_is_record("v=spf1mx"));
	assert_false(spf_is_record(" v=spf1"));
	assert_false(spf_is_record(""));
}

static void
test_domain_spec_endings(void **state)
{
	(void)state;
	assert_true(spf_domain_spec_ok("a.example", 9));
	assert_true(spf_domain_spec_ok("a.example.", 10));
	assert_true(spf_domain_spec_ok("%{d}", 4));
	assert_true(spf_domain_spec_ok("x.%{d}", 6));
	assert_true(spf_domain_spec_ok("%%", 2));
	assert_false(spf_domain_spec_ok("", 0));
	assert_false(spf_domain_spec_ok("example", 7));
	assert_false(spf_domain_spec_ok("%{d}example", 11));
	assert_false(spf_domain_spec_ok("a.ex_ample", 10));
	assert_false(spf_domain_spec_ok("a.com-", 6));
	assert_false(spf_domain_spec_ok("a.b c", 5));
}

static void
test_result_names(void **state)
{
	(void)state;
	assert_string_equal(spf_result_name(SPF_PASS), "pass");
	assert_string_equal(spf_result_name(SPF_FAIL), "fail");
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
	assert_string_equal(spf_result_name(SPF_NEUTRAL), "neutral");
	assert_string_equal(spf_result_name(SPF_NONE), "none");
	assert_string_equal(spf_result_name(SPF_TEMPERROR), "temperror");
	assert_string_equal(spf_result_name(SPF_PERMERROR), "permerror");
}

/* A domain that is no name never reaches the resolver: none at once. */
static void
test_check_of_a_literal_or_one_label_is_none(void **state)
{
	struct spf_request req;
	struct spf_answer ans;

	(void)state;
	memset(&req, 0, sizeof(req));
	assert_int_equal(dns_addr_parse("192.0.2.3", &req.ip), 0);
	req.helo = "OEMCOMPUTER";
	req.sender = "";
	assert_int_equal(spf_check_mailfrom(&req, &ans), SPF_NONE);
	assert_string_equal(ans.identity, "helo");
	assert_string_equal(ans.sender, "postmaster@OEMCOMPUTER");
	req.sender = "a@[192.0.2.3]";
	assert_int_equal(spf_check_mailfrom(&req, &ans), SPF_NONE);
	req.sender = "a@x.a123456789012345678901234567890123456789012345"
	    "678901234567890123.example";
	assert_int_equal(spf_check_mailfrom(&req, &ans), SPF_NONE);
	req.sender = "@a...example";
	assert_int_equal(spf_check_mailfrom(&req, &ans), SPF_NONE);
	assert_string_equal(ans.sender, "postmaster@a...example");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup(f, setup)
		T(test_expand_rfc7208_section_7_4_examples),
		T(test_expand_ipv6_is_dot_format_nibbles),
		T(test_expand_escapes_and_specials),
		T(test_expand_refuses_bad_macros),
		T(test_exp_only_letters_only_in_exp),
		T(test_ptr_is_asked_only_when_used),
		T(test_expand_that_does_not_fit_fails),
#undef T
		cmocka_unit_test(test_parse_every_term),
		cmocka_unit_test(test_parse_accepts_what_the_abnf_allows),
		cmocka_unit_test(test_parse_refuses_syntax_errors_anywhere),
		cmocka_unit_test(test_is_record_wants_version_then_space_or_end),
		cmocka_unit_test(test_domain_spec_endings),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_check_of_a_literal_or_one_label_is_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
