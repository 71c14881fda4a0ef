/* dkim_verify_test.c — the verifier's parsers (the tag-list of RFC 6376
 * §3.2, the key record of §3.6.1 and RFC 8463 §4) and the whole of
 * verification on RFC 8463 Appendix A.3's message, whose two signatures
 * must pass with the RFC's keys, and fail once a byte changes; and the
 * reading of a header block that the verifier shares with the signer. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "dns.h"
#include "hdr.h"
#include "str.h"
#include "verify.h"

/* RFC 8463 Appendix A: the key records and the signed message. */
#define ED_NAME	"brisbane._domainkey.football.example.com"
#define ED_REC	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_NAME	"test._domainkey.football.example.com"
#define RSA_REC_P	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define RSA_REC	"v=DKIM1; k=rsa; p=" RSA_REC_P

#define A3_HEADER \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n" \
	" subject : date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n" \
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n" \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n" \
	" date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n" \
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n" \
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n" \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
#define A3_BODY \
	"Hi.\r\n" \
	"\r\n" \
	"We lost the game.  Are you hungry yet?\r\n" \
	"\r\n" \
	"Joe.\r\n"
#define A3_TIME	1528637909LL

/* The zone of the test: name, record; NULL record: a temporary
 * failure. */
struct zone {
	const char	*name;
	const char	*rec;
};

static const struct zone *zone;

static enum dns_result
stub_txt(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	const struct zone *z;

	(void)arg;
	(void)why;
	(void)whysize;
	*n = 0;
	for (z = zone; z->name != NULL; z++) {
		if (strcmp(z->name, name) != 0)
			continue;
		if (z->rec == NULL)
			return DNS_TEMP;
		if (*n < max) {
			assert_int_equal(str_copy(out[*n].text,
			    sizeof(out[*n].text), z->rec), 0);
			out[*n].cut = 0;
			(*n)++;
		}
	}
	return *n > 0 ? DNS_OK : DNS_NXDOMAIN;
}

static const struct zone rfc_zone[] = {
	{ ED_NAME, ED_REC },
	{ RSA_NAME, RSA_REC },
	{ NULL, NULL }
};

/* Verify header+body at time now in z; the struct for the checks. */
static struct verify *
run(const char *header, const char *body, long long now,
    const struct zone *z)
{
	struct verify *v = malloc(sizeof(*v));

	assert_non_null(v);
	zone = z;
	assert_int_equal(verify_header(v, header, strlen(header)), 0);
	/* Cut the body in two: pieces must not matter. */
	verify_body(v, body, strlen(body) / 2);
	verify_body(v, body + strlen(body) / 2, strlen(body) -
	    strlen(body) / 2);
	verify_finish(v, now, stub_txt, NULL);
	return v;
}

static void
test_tag_list_values_lose_the_fws_around_them(void **state)
{
	const char *s = " v = 1 ;\r\n\ta=rsa-sha256;b= ab\r\n cd ;x=";
	struct verify_tag t[8];
	size_t n;

	(void)state;
	assert_int_equal(verify_tags(s, strlen(s), t, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(t[0].nlen, 1);
	assert_memory_equal(t[0].val, "1", 1);
	assert_int_equal(t[0].vlen, 1);
	assert_int_equal(t[1].vlen, strlen("rsa-sha256"));
	/* The value keeps its inner FWS; raw adds what surrounds it. */
	assert_int_equal(t[2].vlen, strlen("ab\r\n cd"));
	assert_memory_equal(s + t[2].raw_off, " ab\r\n cd ", t[2].raw_len);
	assert_int_equal(t[3].vlen, 0);
}

static void
test_tag_list_trailing_semicolon_and_empty(void **state)
{
	struct verify_tag t[8];
	size_t n;

	(void)state;
	assert_int_equal(verify_tags("a=1; ", 5, t, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(verify_tags("", 0, t, 8, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_tag_list_errors(void **state)
{
	static const char *const bad[] = {
		"a=1; a=2",		/* a tag twice */
		"a",			/* no '=' */
		"a=1;;b=2",		/* an empty tag-spec */
		"1a=2",			/* a name starts with a letter */
		"a-b=1",		/* and goes on with ALNUMPUNC */
		"a=\x01",		/* a control character */
		"a=1;b=2;c=3"		/* more than max (2) */
	};
	struct verify_tag t[2];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify_tags(bad[i], strlen(bad[i]), t, 2,
		    &n), -1);
}

static void
test_key_record_defaults_to_rsa_any_hash(void **state)
{
	struct verify_key k;
	char why[64];

	(void)state;
	assert_int_equal(verify_key_parse(RSA_REC + strlen("v=DKIM1; k=rsa; "),
	    strlen(RSA_REC) - strlen("v=DKIM1; k=rsa; "), &k, why,
	    sizeof(why)), 0);
	assert_false(k.ed25519);
	assert_true(k.sha1_ok);
	assert_true(k.sha256_ok);
	assert_false(k.testing);
	assert_false(k.revoked);
	assert_int_equal(k.plen, 162);
}

static void
test_key_record_flags_and_restrictions(void **state)
{
	const char *s = "v=DKIM1; k=ed25519; h=sha256; s=email:*; t=y:s; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	struct verify_key k;
	char why[64];

	(void)state;
	assert_int_equal(verify_key_parse(s, strlen(s), &k, why,
	    sizeof(why)), 0);
	assert_true(k.ed25519);
	assert_false(k.sha1_ok);
	assert_true(k.sha256_ok);
	assert_true(k.testing);
	assert_true(k.strict);
	assert_int_equal(k.plen, 32);
}

static void
test_key_record_empty_p_is_revoked(void **state)
{
	struct verify_key k;
	char why[64];

	(void)state;
	assert_int_equal(verify_key_parse("v=DKIM1; p=", 11, &k, why,
	    sizeof(why)), 0);
	assert_true(k.revoked);
}

static void
test_key_record_errors(void **state)
{
	static const char *const bad[] = {
		"k=rsa; v=DKIM1; p=AAAA",	/* v= not first */
		"v=DKIM2; p=AAAA",
		"v=DKIM1; k=dsa; p=AAAA",
		"v=DKIM1; s=tlsrpt; p=AAAA",	/* not for email */
		"v=DKIM1; k=rsa",		/* no p= */
		"v=DKIM1; p=!!!!",
		"v=DKIM1; k=ed25519; p=AAAA",	/* not 32 bytes */
		"v=DKIM1; p=AAAA; p=AAAA"
	};
	struct verify_key k;
	char why[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(verify_key_parse(bad[i], strlen(bad[i]), &k,
		    why, sizeof(why)), -1);
		assert_true(why[0] != '\0');
	}
}

static void
test_rfc8463_a3_both_signatures_pass(void **state)
{
	struct verify *v = run(A3_HEADER, A3_BODY, A3_TIME, rfc_zone);
	char mem[2048];
	struct str ar;

	(void)state;
	assert_int_equal(v->nsig, 2);
	assert_string_equal(verify_result_name(v->sig[0].result), "pass");
	assert_string_equal(verify_result_name(v->sig[1].result), "pass");
	assert_int_equal(v->sig[0].alg, VERIFY_ED25519_SHA256);
	assert_int_equal(v->sig[1].alg, VERIFY_RSA_SHA256);
	/* One body hash serves both. */
	assert_int_equal(v->nbody, 1);
	str_init(&ar, mem, sizeof(mem));
	assert_int_equal(verify_ar(v, &ar), 0);
	assert_string_equal(ar.s,
	    "dkim=pass header.d=football.example.com"
	    " header.i=@football.example.com header.s=brisbane"
	    " header.a=ed25519-sha256 header.b=\"/gCrinpc\"; "
	    "dkim=pass header.d=football.example.com"
	    " header.i=@football.example.com header.s=test"
	    " header.a=rsa-sha256 header.b=F45dVWDf");
	free(v);
}

static void
test_rfc8463_a3_changed_body_fails(void **state)
{
	struct verify *v = run(A3_HEADER, "Hi.\r\n\r\nWe won the game.\r\n",
	    A3_TIME, rfc_zone);

	(void)state;
	assert_int_equal(v->sig[0].result, VERIFY_FAIL);
	assert_string_equal(v->sig[0].reason, "body hash mismatch");
	assert_int_equal(v->sig[1].result, VERIFY_FAIL);
	free(v);
}

static void
test_rfc8463_a3_changed_subject_fails(void **state)
{
	char h[sizeof(A3_HEADER)];
	char *p;
	struct verify *v;

	(void)state;
	memcpy(h, A3_HEADER, sizeof(h));
	p = strstr(h, "dinner");
	p[0] = 'D';
	v = run(h, A3_BODY, A3_TIME, rfc_zone);
	assert_int_equal(v->sig[0].result, VERIFY_FAIL);
	assert_string_equal(v->sig[0].reason, "signature did not verify");
	assert_int_equal(v->sig[1].result, VERIFY_FAIL);
	free(v);
}

static void
test_a_second_from_breaks_the_oversigned_signatures(void **state)
{
	char h[sizeof(A3_HEADER) + 64];
	struct verify *v;

	(void)state;
	assert_int_equal(str_fmt(h, sizeof(h), "%s%s", A3_HEADER,
	    "From: Mallory <m@evil.example>\r\n"), 0);
	v = run(h, A3_BODY, A3_TIME, rfc_zone);
	assert_int_equal(v->sig[0].result, VERIFY_FAIL);
	assert_int_equal(v->sig[1].result, VERIFY_FAIL);
	free(v);
}

static void
test_key_lookup_outcomes(void **state)
{
	static const struct zone temp[] = {
		{ ED_NAME, NULL }, { NULL, NULL }
	};
	static const struct zone revoked[] = {
		{ ED_NAME, "v=DKIM1; k=ed25519; p=" },
		{ RSA_NAME, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" },
		{ NULL, NULL }
	};
	static const struct zone testing[] = {
		{ ED_NAME, "v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" },
		{ RSA_NAME, "v=DKIM1; h=sha1; p=" RSA_REC_P },
		{ NULL, NULL }
	};
	struct verify *v;

	(void)state;
	v = run(A3_HEADER, A3_BODY, A3_TIME, temp);
	assert_int_equal(v->sig[0].result, VERIFY_TEMPERROR);
	assert_int_equal(v->sig[1].result, VERIFY_PERMERROR);
	assert_string_equal(v->sig[1].reason, "no key record");
	free(v);
	v = run(A3_HEADER, A3_BODY, A3_TIME, revoked);
	assert_int_equal(v->sig[0].result, VERIFY_PERMERROR);
	assert_string_equal(v->sig[0].reason, "key revoked, p= empty");
	assert_int_equal(v->sig[1].result, VERIFY_PERMERROR);
	assert_string_equal(v->sig[1].reason, "key k= does not match a=");
	free(v);
	v = run(A3_HEADER, A3_BODY, A3_TIME, testing);
	assert_int_equal(v->sig[0].result, VERIFY_NEUTRAL);
	assert_int_equal(v->sig[1].result, VERIFY_PERMERROR);
	assert_string_equal(v->sig[1].reason, "key h= excludes the hash");
	free(v);
}

static void
test_times_are_checked_before_the_key(void **state)
{
	static const struct zone none[] = { { NULL, NULL } };
	struct verify *v;

	(void)state;
	/* t= a day ahead of the verifier's clock. */
	v = run(A3_HEADER, A3_BODY, A3_TIME - 86400, none);
	assert_int_equal(v->sig[0].result, VERIFY_PERMERROR);
	assert_string_equal(v->sig[0].reason,
	    "signature dated in the future, t=");
	free(v);
	/* Within the skew it is taken (and then has no key here). */
	v = run(A3_HEADER, A3_BODY, A3_TIME - 60, none);
	assert_string_equal(v->sig[0].reason, "no key record");
	free(v);
}

static void
test_unusable_fields_are_permerrors(void **state)
{
	static const struct {
		const char	*field;
		const char	*reason;
	} c[] = {
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; "
		  "h=to:subject; bh=AAAA; b=AAAA\r\n", "From is not signed" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; "
		  "h=from; bh=AAAA; b=AAAA; i=joe@evil.example\r\n",
		  "i= is not within d=" },
		{ "DKIM-Signature: v=2; a=rsa-sha256; d=example.com; s=s; "
		  "h=from; bh=AAAA; b=AAAA\r\n", "v= is not 1" },
		{ "DKIM-Signature: v=1; a=rsa-md5; d=example.com; s=s; "
		  "h=from; bh=AAAA; b=AAAA\r\n", "unknown algorithm" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; "
		  "h=from; bh=AAAA; b=AAAA\r\n", "a required tag is missing" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; "
		  "d=example.com; h=from; bh=AAAA; b=AAAA\r\n",
		  "signature syntax" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; "
		  "h=from; bh=AAAA; b=AAAA; x=100; t=200\r\n",
		  "x= before t=" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; "
		  "c=fancy/simple; h=from; bh=AAAA; b=AAAA\r\n",
		  "unknown c=" }
	};
	struct verify *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = run(c[i].field, "", A3_TIME, rfc_zone);
		assert_int_equal(v->nsig, 1);
		assert_int_equal(v->sig[0].result, VERIFY_PERMERROR);
		assert_string_equal(v->sig[0].reason, c[i].reason);
		free(v);
	}
}

static void
test_no_signature_is_none_and_the_count_is_bounded(void **state)
{
	static const char sig[] = "DKIM-Signature: v=1; a=rsa-sha256; "
	    "d=example.com; s=s; h=from; bh=AAAA; b=AAAA\r\n";
	char h[sizeof(sig) * (VERIFY_SIGS_MAX + 2)];
	struct verify *v;
	char mem[64];
	struct str ar;
	size_t i;

	(void)state;
	v = run("From: a@example.com\r\n", "", A3_TIME, rfc_zone);
	assert_int_equal(v->nsig, 0);
	str_init(&ar, mem, sizeof(mem));
	assert_int_equal(verify_ar(v, &ar), 0);
	assert_string_equal(ar.s, "dkim=none");
	free(v);
	h[0] = '\0';
	for (i = 0; i < VERIFY_SIGS_MAX + 2; i++)
		strcat(h, sig);
	v = run(h, "", A3_TIME, rfc_zone);
	assert_int_equal(v->nsig, VERIFY_SIGS_MAX);
	assert_int_equal(v->nfields, VERIFY_SIGS_MAX + 2);
	free(v);
}

/* hdr_read on a pipe holding text; the offsets it gives. */
static int
read_text(const char *text, char *buf, size_t cap, size_t *n, size_t *hlen,
    size_t *body)
{
	int p[2], rc;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	rc = hdr_read(p[0], buf, cap, n, hlen, body);
	close(p[0]);
	return rc;
}

static void
test_hdr_read_finds_the_body_after_the_empty_line(void **state)
{
	char buf[64];
	size_t n, hlen, body;

	(void)state;
	assert_int_equal(read_text("A: 1\r\nB: 2\r\n\r\nbody\r\n", buf,
	    sizeof(buf), &n, &hlen, &body), 0);
	assert_int_equal(hlen, 12);
	assert_int_equal(body, 14);
	assert_memory_equal(buf + body, "body\r\n", n - body);
	assert_int_equal(read_text("A: 1\n\nbody", buf, sizeof(buf), &n,
	    &hlen, &body), 0);
	assert_int_equal(hlen, 5);
	assert_int_equal(body, 6);
	/* A message of header only: all of it is header. */
	assert_int_equal(read_text("A: 1\r\nB: 2", buf, sizeof(buf), &n,
	    &hlen, &body), 0);
	assert_int_equal(hlen, 10);
	assert_int_equal(body, 10);
	/* A header that does not fit. */
	errno = 0;
	assert_int_equal(read_text("A: 1\r\nB: 2\r\n\r\n", buf, 8, &n,
	    &hlen, &body), -1);
	assert_int_equal(errno, E2BIG);
}

/* The reason of a dkim= result and check's DMARC reason both go out as
 * an RFC 5322 comment, through the one escaper: a ')' cannot close it
 * early, nor a CR LF start a field of its own. */
static void
test_ar_comment_escapes_what_would_end_it(void **state)
{
	char buf[128];
	struct str o;

	(void)state;
	str_init(&o, buf, sizeof(buf));
	assert_int_equal(verify_ar_comment(&o, "a) b\\(c\r\nX: y"), 0);
	assert_int_equal(o.len, strlen(" (a\\) b\\\\\\(c??X: y)"));
	assert_memory_equal(o.s, " (a\\) b\\\\\\(c??X: y)", o.len);
	str_init(&o, buf, 4);
	assert_int_equal(verify_ar_comment(&o, "too long"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_list_values_lose_the_fws_around_them),
		cmocka_unit_test(test_tag_list_trailing_semicolon_and_empty),
		cmocka_unit_test(test_tag_list_errors),
		cmocka_unit_test(test_ar_comment_escapes_what_would_end_it),
		cmocka_unit_test(test_key_record_defaults_to_rsa_any_hash),
		cmocka_unit_test(test_key_record_flags_and_restrictions),
		cmocka_unit_test(test_key_record_empty_p_is_revoked),
		cmocka_unit_test(test_key_record_errors),
		cmocka_unit_test(test_rfc8463_a3_both_signatures_pass),
		cmocka_unit_test(test_rfc8463_a3_changed_body_fails),
		cmocka_unit_test(test_rfc8463_a3_changed_subject_fails),
		cmocka_unit_test(test_a_second_from_breaks_the_oversigned_signatures),
		cmocka_unit_test(test_key_lookup_outcomes),
		cmocka_unit_test(test_times_are_checked_before_the_key),
		cmocka_unit_test(test_unusable_fields_are_permerrors),
		cmocka_unit_test(test_no_signature_is_none_and_the_count_is_bounded),
		cmocka_unit_test(test_hdr_read_finds_the_body_after_the_empty_line),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
