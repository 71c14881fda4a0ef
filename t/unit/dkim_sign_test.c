/* dkim_sign_test.c — the DKIM-Signature field: RFC 8463 Appendix A.3
 * reproduced byte for byte from the RFC's keys and message (t= fixed),
 * the choice of signed fields and their oversigning, the bottom-up order
 * of repeated fields, the header split into fields, the From: domain,
 * and the folding of our own fields. */

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

#include "canon.h"
#include "keys.h"
#include "sign.h"
#include "str.h"
#include "testutil.h"

/* RFC 8463 Appendix A.1: the Ed25519 private key (the RFC 8032 §7.1
 * test 1 seed) and its public key.  The RSA key of A.1 is python3-dkim's
 * test key (the one of RFC 6376's examples). */
#define RFC_ED_SEED	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define RFC_ED_PUB	"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC_RSA_KEY	"/usr/lib/python3/dist-packages/dkim/tests/data/test.private"

/* RFC 8463 Appendix A.2: the message. */
#define RFC_HEADER \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
#define RFC_BODY \
	"Hi.\r\n" \
	"\r\n" \
	"We lost the game.  Are you hungry yet?\r\n" \
	"\r\n" \
	"Joe.\r\n"

/* RFC 8463 Appendix A.3: the signed message's two fields, as the RFC
 * prints them (its continuation lines start with one space). */
#define RFC_ED_SIG \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n" \
	" subject : date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n" \
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
#define RFC_RSA_SIG \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n" \
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n" \
	" date : message-id : from : subject : date;\r\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" \
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n" \
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n" \
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
/* The RFC's lines are 59 columns at most: its b= folds there. */
#define RFC_WIDTH	59

struct fx {
	char	dir[256];
	struct hdr h;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || tu_tmpdir(fx->dir, sizeof(fx->dir), "dkimsign") ==
	    -1) {
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

static void
body_hash(const char *body, char bh[SIGN_BH_LEN])
{
	struct sign_body *b = malloc(sizeof(*b));

	assert_non_null(b);
	sign_body_init(b);
	sign_body_update(b, body, strlen(body));
	sign_body_final(b, bh);
	free(b);
}

/* The field of A.3 up to "b=", the RFC's tags with our body hash in bh=,
 * signed and folded by sign_finish. */
static void
rfc_field(struct fx *fx, const struct keys_key *k, const char *rfc,
    char *out, size_t cap)
{
	static const char *const names[] = { "from", "to", "subject",
	    "date", "message-id", "from", "subject", "date" };
	struct sign_hname hn[8];
	crypto_hash_sha256_state st;
	char bh[SIGN_BH_LEN];
	const char *p;
	struct str s;
	size_t i;

	body_hash(RFC_BODY, bh);
	assert_string_equal(bh, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	assert_int_equal(hdr_parse(&fx->h, RFC_HEADER,
	    strlen(RFC_HEADER)), 0);
	for (i = 0; i < 8; i++) {
		hn[i].s = names[i];
		hn[i].len = strlen(names[i]);
	}
	assert_int_equal(sign_header_hash(&fx->h, hn, 8, &st), 0);
	str_init(&s, out, cap);
	p = strstr(rfc, " bh=");
	assert_non_null(p);
	assert_int_equal(str_append(&s, rfc, (size_t)(p - rfc)), 0);
	assert_int_equal(str_appendf(&s, " bh=%s;\r\n b=", bh), 0);
	assert_int_equal(sign_finish(&s, 0, &st, k, RFC_WIDTH, "\r\n"), 0);
}

static void
write_key(const char *dir, const char *name, const char *text, char *path,
    size_t cap)
{
	assert_int_equal(str_fmt(path, cap, "%s/%s", dir, name), 0);
	tu_write_secret(path, text);
}

static void
test_rfc8463_a3_ed25519_signature_byte_for_byte(void **state)
{
	struct fx *fx = *state;
	struct keys_key k;
	char path[512], err[512], field[2048], rec[512];
	struct str r;

	write_key(fx->dir, "brisbane.ed25519", RFC_ED_SEED "\n", path,
	    sizeof(path));
	assert_int_equal(keys_load(&k, path, KEYS_ED25519, err, sizeof(err)),
	    0);
	assert_string_equal(k.selector, "brisbane");
	str_init(&r, rec, sizeof(rec));
	assert_int_equal(keys_record(&k, "football.example.com", &r), 0);
	assert_non_null(strstr(rec, "p=" RFC_ED_PUB "\""));
	rfc_field(fx, &k, RFC_ED_SIG, field, sizeof(field));
	assert_string_equal(field, RFC_ED_SIG);
	keys_free(&k);
}

static void
test_rfc8463_a3_rsa_signature_byte_for_byte(void **state)
{
	struct fx *fx = *state;
	struct keys_key k;
	char err[512], field[2048], path[512];

	if (access(RFC_RSA_KEY, R_OK) == -1)
		fail_msg("%s: %s (install python3-dkim: t/deps.sh)",
		    RFC_RSA_KEY, strerror(errno));
	/* keys_load takes the selector from the file name. */
	assert_int_equal(str_fmt(path, sizeof(path), "%s/test.rsa", fx->dir),
	    0);
	tu_copy_secret(RFC_RSA_KEY, path);
	assert_int_equal(keys_load(&k, path, KEYS_RSA, err, sizeof(err)), 0);
	rfc_field(fx, &k, RFC_RSA_SIG, field, sizeof(field));
	assert_string_equal(field, RFC_RSA_SIG);
	keys_free(&k);
}

/* A one-byte change in the body or a signed field changes b=. */
static void
test_rfc8463_a3_changes_with_the_message(void **state)
{
	struct fx *fx = *state;
	static const char *const names[] = { "from", "to", "subject" };
	struct sign_hname hn[3];
	crypto_hash_sha256_state a, b;
	unsigned char da[32], db[32];
	char bh[SIGN_BH_LEN];
	size_t i;
	const char *h2 = "From: Joe SixPack <joe@football.example.com>\r\n"
	    "To: Suzie Q <suzie@shopping.example.net>\r\n"
	    "Subject: Is dinner ready!\r\n";

	body_hash("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n"
	    "\r\nJoe!\r\n", bh);
	assert_string_not_equal(bh,
	    "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	for (i = 0; i < 3; i++) {
		hn[i].s = names[i];
		hn[i].len = strlen(names[i]);
	}
	assert_int_equal(hdr_parse(&fx->h, RFC_HEADER,
	    strlen(RFC_HEADER)), 0);
	assert_int_equal(sign_header_hash(&fx->h, hn, 3, &a), 0);
	assert_int_equal(hdr_parse(&fx->h, h2, strlen(h2)), 0);
	assert_int_equal(sign_header_hash(&fx->h, hn, 3, &b), 0);
	crypto_hash_sha256_final(&a, da);
	crypto_hash_sha256_final(&b, db);
	assert_memory_not_equal(da, db, sizeof(da));
}

static void
hlist_text(const char *hdr, struct fx *fx, char *out, size_t cap)
{
	struct sign_hname hn[64];
	struct str s;
	size_t n, i;

	assert_int_equal(hdr_parse(&fx->h, hdr, strlen(hdr)), 0);
	n = sign_hlist(&fx->h, hn, 64);
	str_init(&s, out, cap);
	for (i = 0; i < n; i++)
		assert_int_equal(str_appendf(&s, "%s%.*s", i ? ":" : "",
		    (int)hn[i].len, hn[i].s), 0);
}

static void
test_hlist_signs_present_fields_and_oversigns(void **state)
{
	struct fx *fx = *state;
	char h[1024];

	hlist_text("Received: from a by b\r\n"
	    "From: a@example.com\r\n"
	    "To: b@example.net\r\n"
	    "To: c@example.net\r\n"
	    "Subject: hi\r\n"
	    "Message-ID: <1@example.com>\r\n"
	    "X-Mailer: none\r\n"
	    "List-Id: <l.example.com>\r\n"
	    "list-unsubscribe: <mailto:u@example.com>\r\n"
	    "List-Id: <again>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain\r\n", fx, h, sizeof(h));
	assert_string_equal(h, "from:from:to:to:to:subject:subject:"
	    "message-id:mime-version:mime-version:content-type:content-type:"
	    "List-Id:List-Id:list-unsubscribe");
}

static void
test_hlist_of_all_named_fields(void **state)
{
	struct fx *fx = *state;
	char h[1024];

	hlist_text("Date: x\nReply-To: r@x\nIn-Reply-To: <a@b>\n"
	    "References: <a@b>\nCc: c@x\nContent-Transfer-Encoding: 8bit\n"
	    "From: f@x\n", fx, h, sizeof(h));
	assert_string_equal(h, "from:from:cc:cc:date:date:reply-to:reply-to:"
	    "in-reply-to:references:content-transfer-encoding:"
	    "content-transfer-encoding");
}

/* RFC 6376 §5.4.2: the first "to" of h= is the last To: field. */
static void
test_repeated_fields_are_hashed_bottom_up(void **state)
{
	struct fx *fx = *state;
	const char *hdr = "To: one\r\nSubject: s\r\nTo:  two\r\n";
	const char *want = "to:two\r\nto:one\r\nsubject:s\r\n";
	struct sign_hname hn[4] = { { "to", 2 }, { "TO", 2 }, { "to", 2 },
	    { "subject", 7 } };
	crypto_hash_sha256_state st;
	unsigned char got[32], exp[32];

	assert_int_equal(hdr_parse(&fx->h, hdr, strlen(hdr)), 0);
	assert_int_equal(sign_header_hash(&fx->h, hn, 4, &st), 0);
	crypto_hash_sha256_final(&st, got);
	crypto_hash_sha256(exp, (const unsigned char *)want, strlen(want));
	assert_memory_equal(got, exp, sizeof(got));
}

static void
test_header_parse_folding_and_line_ends(void **state)
{
	struct fx *fx = *state;
	const char *crlf = "A: 1\r\nB: 2\r\n  2b\r\n\tc\r\nC : 3\r\n";
	const char *lf = "A: 1\nB: 2\n 2b\nC";

	assert_int_equal(hdr_parse(&fx->h, crlf, strlen(crlf)), 0);
	assert_int_equal(fx->h.n, 3);
	assert_string_equal(fx->h.eol, "\r\n");
	assert_int_equal(fx->h.f[1].off, 6);
	assert_int_equal(fx->h.f[1].len, strlen("B: 2\r\n  2b\r\n\tc"));
	assert_int_equal(fx->h.f[2].namelen, 1);
	assert_int_equal(fx->h.f[2].len, 5);
	assert_int_equal(hdr_parse(&fx->h, lf, strlen(lf)), 0);
	assert_int_equal(fx->h.n, 3);
	assert_string_equal(fx->h.eol, "\n");
	assert_int_equal(fx->h.f[1].len, strlen("B: 2\n 2b"));
	/* A line without a colon is a field with no name. */
	assert_int_equal(fx->h.f[2].namelen, 0);
}

static void
test_header_with_too_many_fields_is_refused(void **state)
{
	struct fx *fx = *state;
	size_t n = (HDR_FIELDS_MAX + 1) * 4, i;
	char *h = malloc(n);

	assert_non_null(h);
	for (i = 0; i < n; i += 4)
		memcpy(h + i, "X:\r\n", 4);
	assert_int_equal(hdr_parse(&fx->h, h, n - 4), 0);
	assert_int_equal(hdr_parse(&fx->h, h, n), -1);
	assert_int_equal(errno, E2BIG);
	free(h);
}

static void
from_domain(struct fx *fx, const char *hdr, char *dom, size_t cap, int want)
{
	assert_int_equal(hdr_parse(&fx->h, hdr, strlen(hdr)), 0);
	assert_int_equal(sign_from_domain(&fx->h, dom, cap), want);
}

static void
test_from_domain(void **state)
{
	struct fx *fx = *state;
	char d[64];

	from_domain(fx, "To: x@y\r\nFROM: \"Joe, Q\" <Joe@Example.COM>\r\n",
	    d, sizeof(d), 0);
	assert_string_equal(d, "example.com");
	from_domain(fx, "From:\r\n (c) a@B.example,\r\n b@c.example\r\n", d,
	    sizeof(d), 0);
	assert_string_equal(d, "b.example");
	from_domain(fx, "To: x@y\r\n", d, sizeof(d), -1);
	assert_int_equal(errno, ENOENT);
	from_domain(fx, "From: undisclosed:;\r\n", d, sizeof(d), -1);
	assert_int_equal(errno, ENOENT);
	from_domain(fx, "From: a@averyveryverylongdomain.example\r\n", d, 8,
	    -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

/* Our own field: lines of at most 78 columns, the message's line end, bh=
 * and b= on lines of their own, no l=.  (That it verifies is for the
 * three verifiers of t/e2e/test_dkimsign.py.) */
static void
test_our_field_is_folded_at_78_columns(void **state)
{
	struct fx *fx = *state;
	const char *hdr = "From: a@example.com\nTo: b@example.net\n"
	    "Subject: a subject\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n";
	struct sign_hname hn[16];
	struct sign_tags t;
	struct keys_key k;
	crypto_hash_sha256_state st;
	char path[512], err[256], bh[SIGN_BH_LEN], mem[2048], *line, *save;
	struct str s;
	size_t n;

	write_key(fx->dir, "sel.ed25519", RFC_ED_SEED, path, sizeof(path));
	assert_int_equal(keys_load(&k, path, KEYS_ED25519, err, sizeof(err)),
	    0);
	assert_int_equal(hdr_parse(&fx->h, hdr, strlen(hdr)), 0);
	n = sign_hlist(&fx->h, hn, 16);
	assert_int_equal(n, 8);
	assert_int_equal(sign_header_hash(&fx->h, hn, n, &st), 0);
	body_hash("", bh);
	memset(&t, 0, sizeof(t));
	t.domain = "example.com";
	t.t = 1795000000;
	t.bh = bh;
	t.h = hn;
	t.nh = n;
	t.width = SIGN_WIDTH;
	t.eol = fx->h.eol;
	str_init(&s, mem, sizeof(mem));
	assert_int_equal(sign_prefix(&s, &t, &k), 0);
	assert_int_equal(sign_finish(&s, 0, &st, &k, SIGN_WIDTH, t.eol), 0);
	assert_null(strchr(s.s, '\r'));
	assert_non_null(strstr(s.s, "\n bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMp"
	    "JWZG3hSuFU=;\n b="));
	assert_non_null(strstr(s.s, " t=1795000000;"));
	assert_non_null(strstr(s.s, " s=sel;"));
	assert_non_null(strstr(s.s, "h=from:from:to:to:subject:subject:"));
	assert_null(strstr(s.s, "l="));
	assert_int_equal(s.s[s.len - 1], '\n');
	for (line = strtok_r(s.s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= SIGN_WIDTH);
	keys_free(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_rfc8463_a3_ed25519_signature_byte_for_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_rfc8463_a3_rsa_signature_byte_for_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_rfc8463_a3_changes_with_the_message, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hlist_signs_present_fields_and_oversigns, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hlist_of_all_named_fields,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_repeated_fields_are_hashed_bottom_up, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_header_parse_folding_and_line_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_header_with_too_many_fields_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_from_domain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_our_field_is_folded_at_78_columns, setup, teardown),
	};

	if (keys_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
