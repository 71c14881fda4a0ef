/* arc_test.c — ARC (dkimsign/arc.h): the ARC-Authentication-Results
 * field built from the checks' results and folded, the AMS and seal
 * prefixes of sign.c, the structure of a chain (incomplete, repeated,
 * a seal stating the wrong cv=), and a round trip: sets made by
 * arc_seal validated by arc_finish with the keys' own records, i=1 then
 * i=2, and a changed body or seal failing.  dkimpy checks the same sets
 * independently in t/e2e/test_arc.py. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "arc.h"
#include "dns.h"
#include "keys.h"
#include "sign.h"
#include "str.h"
#include "testutil.h"
#include "verify.h"

/* RFC 8463 Appendix A.1's Ed25519 seed, and python3-dkim's RSA test
 * key, as in dkim_sign_test.c. */
#define ED_SEED		"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define RSA_KEY		"/usr/lib/python3/dist-packages/dkim/tests/data/test.private"

#define HEADER \
	"Received: from client.sender.test by mx.example.net\n" \
	"From: Carol <carol@sender.test>\n" \
	"To: info@example.com\n" \
	"Subject: forwarded\n" \
	"Date: Mon, 07 Dec 2026 01:00:00 +0000\n"
#define BODY	"Hello  there. \n\n\n"

enum { OUT_MAX = 64 * 1024 };

struct fx {
	char		 dir[256];
	struct keys_key	 ed, rsa;
	char		 edrec[KEYS_VALUE_MAX], rsarec[KEYS_VALUE_MAX];
	struct arc	 a;
	char		 msg[OUT_MAX];
	char		 out[OUT_MAX];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char path[512], err[512];

	if (fx == NULL || tu_tmpdir(fx->dir, sizeof(fx->dir), "arc") == -1) {
		free(fx);
		return -1;
	}
	*state = fx;
	if (str_fmt(path, sizeof(path), "%s/ed.ed25519", fx->dir) == -1)
		return -1;
	tu_write_secret(path, ED_SEED "\n");
	if (keys_load(&fx->ed, path, KEYS_ED25519, err, sizeof(err)) == -1 ||
	    keys_record_value(&fx->ed, fx->edrec, sizeof(fx->edrec)) == -1)
		return -1;
	if (str_fmt(path, sizeof(path), "%s/rsa.rsa", fx->dir) == -1)
		return -1;
	tu_copy_secret(RSA_KEY, path);
	if (keys_load(&fx->rsa, path, KEYS_RSA, err, sizeof(err)) == -1 ||
	    keys_record_value(&fx->rsa, fx->rsarec, sizeof(fx->rsarec)) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	keys_free(&fx->ed);
	keys_free(&fx->rsa);
	return tu_teardown(fx, fx->dir);
}

/* The key records of the fixture, by name, as a DNS stub. */
static enum dns_result
stub_txt(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	struct fx *fx = arg;
	const char *rec = NULL;

	(void)why;
	(void)whysize;
	*n = 0;
	if (strcmp(name, "ed._domainkey.example.com") == 0)
		rec = fx->edrec;
	else if (strcmp(name, "rsa._domainkey.example.com") == 0 ||
	    strcmp(name, "rsa._domainkey.relay.test") == 0)
		rec = fx->rsarec;
	else if (strcmp(name, "down._domainkey.example.com") == 0)
		return DNS_TEMP;
	if (rec == NULL || max == 0)
		return DNS_NXDOMAIN;
	memset(&out[0], 0, sizeof(out[0]));
	assert_int_equal(str_copy(out[0].text, sizeof(out[0].text), rec), 0);
	*n = 1;
	return DNS_OK;
}

/* Read msg (header, empty line, body) into fx->a and finish it. */
static void
take(struct fx *fx, const char *msg)
{
	const char *sep = strstr(msg, "\n\n");
	size_t hlen;

	assert_non_null(sep);
	hlen = (size_t)(sep - msg) + 1;
	assert_true(strlen(msg) < sizeof(fx->msg));
	if (msg != fx->msg)
		memmove(fx->msg, msg, strlen(msg) + 1);
	assert_int_equal(arc_header(&fx->a, fx->msg, hlen), 0);
	arc_body(&fx->a, fx->msg + hlen + 1, strlen(msg) - hlen - 1);
	arc_finish(&fx->a, stub_txt, fx);
}

/* msg sealed as example.com with k: the new message in fx->out. */
static void
seal(struct fx *fx, const char *msg, const struct keys_key *k,
    const char *domain, const char *authres)
{
	char *copy = strdup(msg);
	struct str o;

	assert_non_null(copy);
	take(fx, copy);
	str_init(&o, fx->out, sizeof(fx->out));
	assert_int_equal(arc_seal(&fx->a, domain, k, 1796000000, authres,
	    "mx.example.net", &o), 0);
	assert_int_equal(str_appends(&o, copy), 0);
	free(copy);
}

static void
test_aar_without_results_is_none_by_our_hostname(void **state)
{
	char mem[256];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(arc_aar(&s, 1, NULL, "mx.example.net", NULL, "\n"),
	    0);
	assert_string_equal(s.s,
	    "ARC-Authentication-Results: i=1; mx.example.net; none\n");
	str_reset(&s);
	assert_int_equal(arc_aar(&s, 3, "", "mx.example.net", NULL, "\r\n"),
	    0);
	assert_string_equal(s.s,
	    "ARC-Authentication-Results: i=3; mx.example.net; none\r\n");
	/* No authserv-id in what was given: ours. */
	str_reset(&s);
	assert_int_equal(arc_aar(&s, 1, "; spf=pass", "mx.example.net", NULL,
	    "\n"), 0);
	assert_string_equal(s.s,
	    "ARC-Authentication-Results: i=1; mx.example.net; spf=pass\n");
}

static void
test_aar_carries_the_checks_results_folded(void **state)
{
	const char *ar = "mx.example.net; spf=pass smtp.mailfrom=sender.test; "
	    "dkim=pass (good signature; rsa) header.d=sender.test "
	    "header.s=sel; dmarc=pass header.from=sender.test";
	char mem[1024], *line, *save;
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(arc_aar(&s, 1, ar, "ignored", NULL, "\n"), 0);
	assert_string_equal(s.s,
	    "ARC-Authentication-Results: i=1; mx.example.net;\n"
	    " spf=pass smtp.mailfrom=sender.test;\n"
	    " dkim=pass (good signature; rsa) header.d=sender.test header.s=sel;\n"
	    " dmarc=pass header.from=sender.test\n");
	for (line = strtok_r(mem, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= ARC_WIDTH);
}

static void
test_aar_adds_the_chain_result(void **state)
{
	char mem[512];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(arc_aar(&s, 2, "mx.example.net; none", "x", "pass",
	    "\n"), 0);
	assert_string_equal(s.s,
	    "ARC-Authentication-Results: i=2; mx.example.net; arc=pass\n");
	str_reset(&s);
	assert_int_equal(arc_aar(&s, 2, "mx.example.net; spf=fail", "x",
	    "pass", "\n"), 0);
	assert_string_equal(s.s, "ARC-Authentication-Results: i=2; "
	    "mx.example.net; spf=fail; arc=pass\n");
}

static void
test_aar_refuses_line_breaks_and_small_buffers(void **state)
{
	char mem[40];
	struct str s;

	(void)state;
	str_init(&s, mem, sizeof(mem));
	errno = 0;
	assert_int_equal(arc_aar(&s, 1, "mx; spf=pass\r\nX-Evil: 1", "x",
	    NULL, "\n"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(arc_aar(&s, 1, "mx.example.net; spf=pass", "x",
	    NULL, "\n"), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(s.len, 0);
}

static void
test_sign_prefix_makes_the_ams_and_seal_tags(void **state)
{
	struct fx *fx = *state;
	struct sign_hname hn[2] = { { "from", 4 }, { "to", 2 } };
	struct sign_tags t;
	char mem[1024];
	struct str s;

	memset(&t, 0, sizeof(t));
	t.domain = "example.com";
	t.t = 1796000000;
	t.bh = "BH";
	t.h = hn;
	t.nh = 2;
	t.width = ARC_WIDTH;
	t.eol = "\n";
	t.instance = 2;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(sign_prefix(&s, &t, &fx->rsa), 0);
	assert_string_equal(s.s, "ARC-Message-Signature: i=2; a=rsa-sha256; "
	    "c=relaxed/relaxed; d=example.com;\n s=rsa; t=1796000000; "
	    "h=from:to;\n bh=BH;\n b=");
	t.cv = "pass";
	str_reset(&s);
	assert_int_equal(sign_prefix(&s, &t, &fx->ed), 0);
	assert_string_equal(s.s, "ARC-Seal: i=2; cv=pass; a=ed25519-sha256; "
	    "d=example.com; s=ed; t=1796000000;\n b=");
}

static void
test_no_chain_is_cv_none_and_the_first_set_verifies(void **state)
{
	struct fx *fx = *state;
	const char *k;

	take(fx, HEADER "\n" BODY);
	assert_int_equal(fx->a.n, 0);
	assert_int_equal(fx->a.cv, ARC_CV_NONE);
	assert_string_equal(arc_next_cv(&fx->a), "none");
	seal(fx, HEADER "\n" BODY, &fx->rsa, "example.com",
	    "mx.example.net; spf=pass smtp.mailfrom=sender.test");
	k = fx->out;
	assert_true(strncmp(k, "ARC-Seal: i=1; cv=none; a=rsa-sha256;",
	    37) == 0);
	assert_non_null(strstr(k, "\nARC-Message-Signature: i=1; "));
	assert_non_null(strstr(k, "\nARC-Authentication-Results: i=1; "
	    "mx.example.net;\n spf=pass smtp.mailfrom=sender.test\n"
	    "Received: "));
	/* What we made is a chain that passes. */
	take(fx, fx->out);
	assert_int_equal(fx->a.n, 1);
	assert_int_equal(fx->a.cv, ARC_CV_PASS);
	assert_string_equal(arc_next_cv(&fx->a), "pass");
}

static void
test_second_set_is_i2_cv_pass_and_verifies(void **state)
{
	struct fx *fx = *state;
	char *first;

	seal(fx, HEADER "\n" BODY, &fx->rsa, "relay.test", NULL);
	first = strdup(fx->out);
	assert_non_null(first);
	seal(fx, first, &fx->ed, "example.com", NULL);
	free(first);
	assert_true(strncmp(fx->out, "ARC-Seal: i=2; cv=pass; "
	    "a=ed25519-sha256;", 41) == 0);
	assert_non_null(strstr(fx->out, "ARC-Authentication-Results: i=2; "
	    "mx.example.net; arc=pass\n"));
	take(fx, fx->out);
	assert_int_equal(fx->a.n, 2);
	assert_int_equal(fx->a.cv, ARC_CV_PASS);
	assert_string_equal(arc_next_cv(&fx->a), "pass");
}

static void
test_changed_body_or_seal_fails(void **state)
{
	struct fx *fx = *state;
	char *m, *p;

	seal(fx, HEADER "\n" BODY, &fx->rsa, "example.com", NULL);
	m = strdup(fx->out);
	assert_non_null(m);
	p = strstr(m, "Hello");
	assert_non_null(p);
	p[0] = 'J';
	take(fx, m);
	assert_int_equal(fx->a.cv, ARC_CV_FAIL);
	assert_null(arc_next_cv(&fx->a));
	assert_non_null(strstr(fx->a.why, "body hash"));
	/* The seal's t= changed: the AMS still verifies, the seal not. */
	p[0] = 'H';
	p = strstr(m, "t=1796000000");
	assert_non_null(p);
	p[strlen("t=179600000")] = '1';
	take(fx, m);
	assert_int_equal(fx->a.cv, ARC_CV_FAIL);
	assert_string_equal(fx->a.why,
	    "ARC-Seal i=1: signature did not verify");
	free(m);
}

static void
test_key_not_found_for_now_is_temperror(void **state)
{
	struct fx *fx = *state;
	char *m;

	seal(fx, HEADER "\n" BODY, &fx->rsa, "example.com", NULL);
	m = malloc(OUT_MAX + 16);
	assert_non_null(m);
	/* The seal and the AMS name selector "down", whose lookup the stub
	 * answers SERVFAIL. */
	{
		struct str s;
		const char *q = fx->out, *hit;

		str_init(&s, m, OUT_MAX + 16);
		while ((hit = strstr(q, "s=rsa;")) != NULL) {
			assert_int_equal(str_append(&s, q, (size_t)(hit - q)),
			    0);
			assert_int_equal(str_appends(&s, "s=down;"), 0);
			q = hit + 6;
		}
		assert_int_equal(str_appends(&s, q), 0);
	}
	take(fx, m);
	assert_int_equal(fx->a.cv, ARC_CV_TEMP);
	assert_null(arc_next_cv(&fx->a));
	free(m);
}

static unsigned slow_calls;

/* stub_txt, each answer 60 ms late: a key server that answers just
 * before the lookup's timeout, at the scale of a test. */
static enum dns_result
slow_txt(void *arg, const char *name, struct dns_text *out, size_t max,
    size_t *n, char *why, size_t whysize)
{
	struct timespec ts = { 0, 60 * 1000 * 1000 };

	slow_calls++;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return stub_txt(arg, name, out, max, n, why, whysize);
}

/* A chain of three sets has four keys to look up; with 100 ms for all
 * of them and 60 ms each, the third is never asked: temperror, no set
 * added, where without the budget it would pass after 240 ms. */
static void
test_slow_keys_past_the_budget_are_temperror(void **state)
{
	struct fx *fx = *state;
	struct arc_budget b;
	char *m;
	size_t hlen;
	int round;

	seal(fx, HEADER "\n" BODY, &fx->rsa, "relay.test", NULL);
	for (round = 0; round < 2; round++) {
		m = strdup(fx->out);
		assert_non_null(m);
		seal(fx, m, &fx->rsa, "example.com", NULL);
		free(m);
	}
	memmove(fx->msg, fx->out, strlen(fx->out) + 1);
	hlen = (size_t)(strstr(fx->msg, "\n\n") - fx->msg) + 1;

	assert_int_equal(arc_header(&fx->a, fx->msg, hlen), 0);
	assert_int_equal(fx->a.n, 3);
	arc_body(&fx->a, fx->msg + hlen + 1, strlen(fx->msg) - hlen - 1);
	slow_calls = 0;
	arc_budget_start(&b, slow_txt, fx, 100);
	arc_finish(&fx->a, arc_budget_txt, &b);
	assert_int_equal(fx->a.cv, ARC_CV_TEMP);
	assert_null(arc_next_cv(&fx->a));
	assert_string_equal(fx->a.why,
	    "ARC-Seal i=2: key lookup failed for now");
	assert_int_equal(slow_calls, 2);

	/* The same chain within its budget passes. */
	assert_int_equal(arc_header(&fx->a, fx->msg, hlen), 0);
	arc_body(&fx->a, fx->msg + hlen + 1, strlen(fx->msg) - hlen - 1);
	slow_calls = 0;
	arc_budget_start(&b, slow_txt, fx, 10000);
	arc_finish(&fx->a, arc_budget_txt, &b);
	assert_int_equal(fx->a.cv, ARC_CV_PASS);
	assert_int_equal(slow_calls, 4);
}

static void
test_structure_incomplete_repeated_and_false_cv(void **state)
{
	struct fx *fx = *state;
	char *m;

	take(fx, "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=x.test; s=a; b=AA\n"
	    HEADER "\n" BODY);
	assert_int_equal(fx->a.cv, ARC_CV_FAIL);
	assert_string_equal(fx->a.why, "ARC set i=1 is incomplete");
	take(fx, "ARC-Authentication-Results: i=1; x; none\n"
	    "ARC-Authentication-Results: i=1; y; none\n" HEADER "\n" BODY);
	assert_string_equal(fx->a.why,
	    "two ARC fields of one kind with i=1");
	take(fx, "ARC-Authentication-Results: x; none\n" HEADER "\n" BODY);
	assert_int_equal(fx->a.cv, ARC_CV_FAIL);
	assert_string_equal(fx->a.why, "an ARC field without a valid i=");
	assert_null(arc_next_cv(&fx->a));
	/* A good set whose seal says cv=pass at i=1. */
	seal(fx, HEADER "\n" BODY, &fx->rsa, "example.com", NULL);
	m = strdup(fx->out);
	assert_non_null(m);
	memcpy(strstr(m, "cv=none"), "cv=pass", 7);
	take(fx, m);
	assert_string_equal(fx->a.why, "ARC-Seal i=1 says cv=pass");
	free(m);
}

static void
test_header_without_signed_fields_is_not_sealed(void **state)
{
	struct fx *fx = *state;
	char mem[1024];
	struct str o;

	take(fx, "X-Only: this\n\nbody\n");
	assert_string_equal(arc_next_cv(&fx->a), "none");
	str_init(&o, mem, sizeof(mem));
	errno = 0;
	assert_int_equal(arc_seal(&fx->a, "example.com", &fx->rsa, 1, NULL,
	    "mx.example.net", &o), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(o.len, 0);
}

static void
test_pick_key_prefers_rsa(void **state)
{
	struct fx *fx = *state;
	struct keys_key two[2];

	two[0] = fx->ed;
	two[1] = fx->rsa;
	assert_ptr_equal(arc_pick_key(two, 2), &two[1]);
	assert_ptr_equal(arc_pick_key(two, 1), &two[0]);
	assert_null(arc_pick_key(two, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_aar_without_results_is_none_by_our_hostname),
		cmocka_unit_test(test_aar_carries_the_checks_results_folded),
		cmocka_unit_test(test_aar_adds_the_chain_result),
		cmocka_unit_test(
		    test_aar_refuses_line_breaks_and_small_buffers),
		cmocka_unit_test_setup_teardown(
		    test_sign_prefix_makes_the_ams_and_seal_tags, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_chain_is_cv_none_and_the_first_set_verifies,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_second_set_is_i2_cv_pass_and_verifies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_changed_body_or_seal_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_key_not_found_for_now_is_temperror, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_structure_incomplete_repeated_and_false_cv, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_header_without_signed_fields_is_not_sealed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_slow_keys_past_the_budget_are_temperror, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pick_key_prefers_rsa,
		    setup, teardown),
	};

	if (keys_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
