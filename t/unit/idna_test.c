/* idna_test.c — lib/idna: U-labels to A-labels and back, RFC 3492's
 * samples, the refusals of RFC 5891 with their reasons, and agreement
 * with libidn2 (what smtp-out and posthorn-config use) on valid names;
 * lib/idnlook's libidn2 lookup refuses what UTS #46 maps to other than
 * letters, digits, hyphens and dots. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <idn2.h>

#include "idna.h"
#include "idnlook.h"

static const char *
ascii(const char *d)
{
	static char out[IDNA_DOMAIN_MAX + 1];

	assert_int_equal(idna_to_ascii(d, out, sizeof(out)), IDNA_OK);
	return out;
}

static const char *
utf8(const char *d)
{
	static char out[4 * IDNA_DOMAIN_MAX + 1];

	assert_int_equal(idna_to_utf8(d, out, sizeof(out)), IDNA_OK);
	return out;
}

static void
test_u_label_becomes_its_a_label(void **state)
{
	(void)state;
	assert_string_equal(ascii("b\xc3\xbc" "cher.example"),
	    "xn--bcher-kva.example");
	assert_string_equal(ascii("M\xc3\xbc" "nchen.EXAMPLE."),
	    "xn--mnchen-3ya.example");
	assert_string_equal(ascii("\xc3\xbc"), "xn--tda");
	assert_string_equal(ascii("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.jp"),
	    "xn--wgv71a119e.jp");
	/* RFC 3492 §7.1 (B) Chinese, simplified */
	assert_string_equal(ascii("\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba"
	    "\xe4\xbb\x80\xe4\xb9\x88\xe4\xb8\x8d\xe8\xaf\xb4\xe4\xb8\xad"
	    "\xe6\x96\x87"), "xn--ihqwcrb4cv8a8dqg056pqjye");
	/* plain ASCII is only lowercased */
	assert_string_equal(ascii("Mail.Example.ORG"), "mail.example.org");
}

static void
test_a_label_becomes_its_u_label(void **state)
{
	(void)state;
	assert_string_equal(utf8("xn--bcher-kva.example"),
	    "b\xc3\xbc" "cher.example");
	assert_string_equal(utf8("XN--BCHER-KVA.Example"),
	    "b\xc3\xbc" "cher.example");
	assert_string_equal(utf8("xn--ihqwcrb4cv8a8dqg056pqjye"),
	    "\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88"
	    "\xe4\xb8\x8d\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87");
	/* U+10FFFF, the last code point (RFC 3629) */
	assert_string_equal(utf8("xn--a-h023p"), "a\xf4\x8f\xbf\xbf");
	/* a U-label given to idna_to_utf8 is kept */
	assert_string_equal(utf8("b\xc3\xbc" "cher.example"),
	    "b\xc3\xbc" "cher.example");
	/* an A-label given to idna_to_ascii is checked and kept */
	assert_string_equal(ascii("XN--bcher-kva.example"),
	    "xn--bcher-kva.example");
}

static void
test_other_spelling(void **state)
{
	char out[IDNA_DOMAIN_MAX * 4 + 1];

	(void)state;
	assert_int_equal(idna_other("b\xc3\xbc" "cher.example", out,
	    sizeof(out)), IDNA_OK);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(idna_other("xn--bcher-kva.example", out,
	    sizeof(out)), IDNA_OK);
	assert_string_equal(out, "b\xc3\xbc" "cher.example");
}

static void
test_is_intl_only_for_names_with_another_spelling(void **state)
{
	(void)state;
	assert_true(idna_is_intl("b\xc3\xbc" "cher.example"));
	assert_true(idna_is_intl("xn--bcher-kva.example"));
	assert_true(idna_is_intl("mail.XN--bcher-kva.example"));
	assert_false(idna_is_intl("example.org"));
	assert_false(idna_is_intl("axn--b.example"));
	assert_false(idna_is_intl("xn-.example"));
	assert_false(idna_is_intl(""));
}

static void
test_invalid_labels_are_refused_with_a_reason(void **state)
{
	char out[IDNA_DOMAIN_MAX + 1], big[300];
	static const char *bad_ace[] = {
		"xn--abc-.example",	/* decodes to ASCII only */
		"xn--bcher-kv.example",	/* truncated */
		"xn--bcher-kva!.example",	/* not a digit */
		"xn--BCHER-KVA-.example",	/* not what it encodes to */
		"xn--.example",
		"xn--99999999999999999.example",	/* overflow */
		"xn--a-rc4g.example",		/* U+D800, a surrogate */
		"xn--a-7z5g.example",		/* U+DBFF */
		"xn--a-j023p.example",		/* U+110000 */
		"xn--a-8s902716a.example",	/* U+7FFFFFFF */
		"XN--A-RC4G.example",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_ace) / sizeof(bad_ace[0]); i++) {
		assert_int_equal(idna_to_utf8(bad_ace[i], out, sizeof(out)),
		    IDNA_EPUNYCODE);
		assert_int_equal(idna_to_ascii(bad_ace[i], out, sizeof(out)),
		    IDNA_EPUNYCODE);
		assert_string_equal(out, "");
	}
	assert_string_equal(idna_why(IDNA_EPUNYCODE),
	    "xn-- label that is not the Punycode of a U-label");
	assert_int_equal(idna_to_ascii("a..b", out, sizeof(out)),
	    IDNA_EEMPTY);
	assert_int_equal(idna_to_ascii("", out, sizeof(out)), IDNA_EEMPTY);
	assert_int_equal(idna_to_ascii("b\xc3.example", out, sizeof(out)),
	    IDNA_EUTF8);
	assert_int_equal(idna_to_ascii("-b\xc3\xbc.example", out,
	    sizeof(out)), IDNA_EHYPHEN);
	assert_int_equal(idna_to_ascii("b\xc3\xbc--x.example", out,
	    sizeof(out)), IDNA_EHYPHEN);
	assert_int_equal(idna_to_ascii("ab--\xc3\xbc.example", out,
	    sizeof(out)), IDNA_EHYPHEN);
	assert_string_equal(idna_why(IDNA_EHYPHEN), "label with a "
	    "hyphen at its start or end, or in its 3rd and 4th places");
	/* 60 ASCII letters and one u-umlaut: 63 octets of UTF-8, but
	 * more than 63 as an A-label */
	memset(big, 'a', 60);
	memcpy(big + 60, "\xc3\xbc", 3);
	assert_int_equal(idna_to_ascii(big, out, sizeof(out)),
	    IDNA_ELABEL_LONG);
	/* a 64-octet ASCII label */
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_int_equal(idna_to_ascii(big, out, sizeof(out)),
	    IDNA_ELABEL_LONG);
	/* out too small */
	assert_int_equal(idna_to_ascii("b\xc3\xbc" "cher.example", out, 10),
	    IDNA_EDOMAIN_LONG);
}

/* On names that IDNA 2008 allows, ours and libidn2's A-labels agree. */
static void
test_agrees_with_libidn2(void **state)
{
	static const char *names[] = {
		"b\xc3\xbc" "cher.example",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.jp",
		"\xce\xb5\xcf\x85\xcf\x87\xce\xb1\xcf\x81\xce\xb9\xcf\x83\xcf"
		    "\x84\xce\xaf\xce\xb5\xcf\x82.gr",
		"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80"
		    "\xd1\x84",
		"stra\xc3\x9f" "e.de",
		"mail.example.org",
	};
	char *lib;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(idn2_to_ascii_8z(names[i], &lib,
		    IDN2_NONTRANSITIONAL), IDN2_OK);
		assert_string_equal(ascii(names[i]), lib);
		idn2_free(lib);
	}
}

/* UTS #46 maps fullwidth and ideographic forms to ASCII that no host
 * name holds: smtp-out would have sent "RCPT TO:<x@a> notify=success
 * <b.example>" to a host without SMTPUTF8, and looked up "a..b". */
static void
test_idnlook_refuses_names_that_map_to_delimiters(void **state)
{
	static const char *bad[] = {
		"a\xef\xbc\x9e\xe3\x80\x80notify\xef\xbc\x9dsuccess"
		    "\xe3\x80\x80\xef\xbc\x9c" "b.example",	/* >, =, < */
		"a\xef\xbc\x8e\xef\xbc\x8e" "b.example",	/* U+FF0E */
		"b\xc3\xbc.a\xef\xbc\x8f" "b",		/* U+FF0F */
		"a\xef\xbc\x9a" "25.b\xc3\xbc.example",	/* U+FF1A */
	};
	char out[IDNA_DOMAIN_MAX + 1], why[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(idnlook_to_ascii(bad[i], out, sizeof(out),
		    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "letters, digits, hyphens and dots"));
	/* what UTS #46 maps to letters stays a name */
	assert_int_equal(idnlook_to_ascii("B\xc3\x9c" "CHER.example", out,
	    sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(idnlook_to_ascii("\xef\xbc\xa1.b\xc3\xbc"
	    ".example", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "a.xn--b-eha.example");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u_label_becomes_its_a_label),
		cmocka_unit_test(test_a_label_becomes_its_u_label),
		cmocka_unit_test(test_other_spelling),
		cmocka_unit_test(test_is_intl_only_for_names_with_another_spelling),
		cmocka_unit_test(test_invalid_labels_are_refused_with_a_reason),
		cmocka_unit_test(test_agrees_with_libidn2),
		cmocka_unit_test(test_idnlook_refuses_names_that_map_to_delimiters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
