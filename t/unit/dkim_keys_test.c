/* dkim_keys_test.c — DKIM key files: both formats of an Ed25519 key,
 * RSA in PKCS#1 and PKCS#8, the errors that name the file, the order of
 * a key directory, generation that never replaces a key, and the TXT
 * records in zone-file form. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keys.h"
#include "str.h"
#include "testutil.h"

/* RFC 8463 A.1 / RFC 8032 §7.1 test 1: the seed, its public key, and the
 * seed in PKCS#8 PEM as "openssl genpkey -algorithm ed25519" writes. */
#define ED_SEED	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define ED_PUB	"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define ED_PEM	"-----BEGIN PRIVATE KEY-----\n" \
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n" \
	"-----END PRIVATE KEY-----\n"
#define RSA_KEY	"/usr/lib/python3/dist-packages/dkim/tests/data/test.private"
/* 2026-11-23 12:00:00 UTC */
#define T_FIXED	1795435200LL

struct fx {
	char	dir[256];
	char	path[512];
	char	err[512];
	char	rec[4096];
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || tu_tmpdir(fx->dir, sizeof(fx->dir), "dkimkeys") ==
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

static const char *
put(struct fx *fx, const char *name, const char *text)
{
	assert_int_equal(str_fmt(fx->path, sizeof(fx->path), "%s/%s", fx->dir,
	    name), 0);
	tu_write_secret(fx->path, text);
	return fx->path;
}

static const char *
record(struct fx *fx, const struct keys_key *k, const char *domain)
{
	struct str s;

	str_init(&s, fx->rec, sizeof(fx->rec));
	assert_int_equal(keys_record(k, domain, &s), 0);
	return fx->rec;
}

static void
test_ed25519_seed_and_pem_are_the_same_key(void **state)
{
	struct fx *fx = *state;
	struct keys_key a, b;

	assert_int_equal(keys_load(&a, put(fx, "s1.ed25519", ED_SEED "\n"),
	    KEYS_ED25519, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(keys_load(&b, put(fx, "s2.ed25519", ED_PEM),
	    KEYS_ED25519, fx->err, sizeof(fx->err)), 0);
	assert_memory_equal(a.pk, b.pk, sizeof(a.pk));
	assert_memory_equal(a.sk, b.sk, sizeof(a.sk));
	assert_string_equal(record(fx, &a, "example.com"),
	    "s1._domainkey.example.com. IN TXT ( \"v=DKIM1; k=ed25519; p="
	    ED_PUB "\" )\n");
	keys_free(&a);
	keys_free(&b);
}

static void
test_rsa_pkcs1_key_loads_and_its_record_is_the_rfc_one(void **state)
{
	struct fx *fx = *state;
	struct keys_key k;

	if (access(RSA_KEY, R_OK) == -1)
		fail_msg("%s: %s (install python3-dkim)", RSA_KEY,
		    strerror(errno));
	assert_int_equal(str_fmt(fx->path, sizeof(fx->path), "%s/test.rsa",
	    fx->dir), 0);
	tu_copy_secret(RSA_KEY, fx->path);
	assert_int_equal(keys_load(&k, fx->path, KEYS_RSA, fx->err,
	    sizeof(fx->err)), 0);
	/* RFC 8463 A.1's RSA public key; a trailing dot is not doubled. */
	assert_string_equal(record(fx, &k, "football.example.com."),
	    "test._domainkey.football.example.com. IN TXT ( \"v=DKIM1; k=rsa; "
	    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id"
	    "Y6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC"
	    "/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3"
	    "G+2kryOTIKT+l/K4w3QIDAQAB\" )\n");
	keys_free(&k);
}

static void
test_bad_key_files_are_named_in_the_error(void **state)
{
	struct fx *fx = *state;
	struct keys_key k;
	char missing[600];

	assert_int_equal(keys_load(&k, put(fx, "a.rsa", "garbage\n"),
	    KEYS_RSA, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "/a.rsa: "));
	/* An Ed25519 key where an RSA key should be. */
	assert_int_equal(keys_load(&k, put(fx, "b.rsa", ED_PEM), KEYS_RSA,
	    fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "not an RSA key"));
	assert_int_equal(keys_load(&k, put(fx, "c.ed25519", "c2hvcnQ=\n"),
	    KEYS_ED25519, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "/c.ed25519: "));
	assert_int_equal(keys_load(&k, put(fx, "-x.ed25519", ED_SEED),
	    KEYS_ED25519, fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "not a valid selector"));
	snprintf(missing, sizeof(missing), "%s/none.rsa", fx->dir);
	assert_int_equal(keys_load(&k, missing, KEYS_RSA, fx->err,
	    sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "No such file"));
}

/* Something that cannot be read as a key file (root reads a mode 000
 * file, so a directory stands in for it). */
static void
test_unreadable_key_is_an_error(void **state)
{
	struct fx *fx = *state;
	struct keys_key k;

	assert_int_equal(str_fmt(fx->path, sizeof(fx->path), "%s/a.ed25519",
	    fx->dir), 0);
	assert_int_equal(mkdir(fx->path, 0700), 0);
	assert_int_equal(keys_load(&k, fx->path, KEYS_ED25519, fx->err,
	    sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "/a.ed25519: "));
}

/* A key restored by "git clone" is 0644: refused before it is read,
 * with the fix; group-readable (install.sh's 0640) is used. */
static void
test_key_others_can_read_is_refused_with_the_fix(void **state)
{
	struct fx *fx = *state;
	struct keys_key k;
	char fix[PATH_MAX + 32];

	put(fx, "s.ed25519", ED_PEM);
	assert_int_equal(chmod(fx->path, 0644), 0);
	assert_int_equal(keys_load(&k, fx->path, KEYS_ED25519, fx->err,
	    sizeof(fx->err)), -1);
	assert_int_equal(str_fmt(fix, sizeof(fix), "chmod o-rwx %s",
	    fx->path), 0);
	assert_non_null(strstr(fx->err, fix));
	assert_non_null(strstr(fx->err, "0644"));
	/* The directory's load stops at it too: nothing signs with it. */
	assert_int_equal(keys_load_dir(fx->dir, &k, 1, &(size_t){ 0 },
	    fx->err, sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, fix));
	assert_int_equal(chmod(fx->path, 0640), 0);
	assert_int_equal(keys_load(&k, fx->path, KEYS_ED25519, fx->err,
	    sizeof(fx->err)), 0);
	keys_free(&k);
}

static void
test_key_dir_is_ed25519_first_then_rsa_by_selector(void **state)
{
	struct fx *fx = *state;
	struct keys_key k[KEYS_MAX];
	size_t n, i;

	if (access(RSA_KEY, R_OK) == -1)
		fail_msg("%s: %s", RSA_KEY, strerror(errno));
	put(fx, "b.ed25519", ED_SEED);
	put(fx, "a.ed25519", ED_PEM);
	put(fx, "README", "not a key");
	put(fx, ".c.rsa.tmp.12", "half a key");
	put(fx, "old.rsa.bak", "not a key");
	assert_int_equal(str_fmt(fx->path, sizeof(fx->path), "%s/r.rsa",
	    fx->dir), 0);
	tu_copy_secret(RSA_KEY, fx->path);
	assert_int_equal(keys_load_dir(fx->dir, k, KEYS_MAX, &n, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(k[0].selector, "a");
	assert_int_equal(k[0].type, KEYS_ED25519);
	assert_string_equal(k[1].selector, "b");
	assert_string_equal(k[2].selector, "r");
	assert_int_equal(k[2].type, KEYS_RSA);
	for (i = 0; i < n; i++)
		keys_free(&k[i]);
	/* One bad key fails the directory, naming the file. */
	put(fx, "z.rsa", "garbage");
	assert_int_equal(keys_load_dir(fx->dir, k, KEYS_MAX, &n, fx->err,
	    sizeof(fx->err)), -1);
	assert_int_equal(n, 0);
	assert_non_null(strstr(fx->err, "/z.rsa: "));
	/* No directory: no keys, not an error. */
	assert_int_equal(str_fmt(fx->path, sizeof(fx->path), "%s/none",
	    fx->dir), 0);
	assert_int_equal(keys_load_dir(fx->path, k, KEYS_MAX, &n, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(n, 0);
}

static void
test_generate_makes_dated_keys_mode_0640_and_never_replaces(void **state)
{
	struct fx *fx = *state;
	struct keys_key g[2], l[KEYS_MAX];
	char dir[300], rsa[400], ed[400], *p, *q;
	struct stat st;
	size_t n, i, len;

	assert_int_equal(str_fmt(dir, sizeof(dir), "%s/dkim", fx->dir), 0);
	assert_int_equal(keys_generate(dir, (time_t)T_FIXED, 2048, g, fx->err,
	    sizeof(fx->err)), 0);
	assert_string_equal(g[0].selector, "20261123r");
	assert_string_equal(g[1].selector, "20261123e");
	assert_int_equal(str_fmt(rsa, sizeof(rsa), "%s/20261123r.rsa", dir),
	    0);
	assert_int_equal(str_fmt(ed, sizeof(ed), "%s/20261123e.ed25519", dir),
	    0);
	assert_int_equal(stat(rsa, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(stat(ed, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(tu_entries(dir), 2);	/* no temporaries left */

	/* What was written loads back as the same keys. */
	assert_int_equal(keys_load_dir(dir, l, KEYS_MAX, &n, fx->err,
	    sizeof(fx->err)), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(l[0].pk, g[1].pk, sizeof(l[0].pk));
	record(fx, &g[0], "example.com");
	p = strdup(fx->rec);
	assert_non_null(p);
	assert_string_equal(record(fx, &l[1], "example.com"), p);

	/* The RSA record: strings of at most 255 octets, in zone form. */
	assert_true(strncmp(p, "20261123r._domainkey.example.com. IN TXT ( "
	    "\"v=DKIM1; k=rsa; p=MIIBIjAN", 70) == 0);
	assert_non_null(strstr(p, "\"\n\t\""));
	for (q = strchr(p, '"'); q != NULL; q = strchr(q + len + 2, '"')) {
		len = strcspn(q + 1, "\"");
		assert_true(len <= KEYS_TXT_STRING_MAX);
	}
	free(p);

	/* A second run the same day replaces nothing. */
	for (i = 0; i < 2; i++)
		keys_free(&g[i]);
	assert_int_equal(keys_generate(dir, (time_t)T_FIXED, 2048, g, fx->err,
	    sizeof(fx->err)), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(fx->err, "exists"));
	assert_int_equal(keys_load_dir(dir, g, 2, &n, fx->err,
	    sizeof(fx->err)), 0);
	assert_memory_equal(g[0].pk, l[0].pk, sizeof(g[0].pk));
	for (i = 0; i < 2; i++) {
		keys_free(&g[i]);
		keys_free(&l[i]);
	}
}

static void
test_generate_refuses_a_bad_size(void **state)
{
	struct fx *fx = *state;
	struct keys_key g[2];

	assert_int_equal(keys_generate(fx->dir, (time_t)T_FIXED, 512, g,
	    fx->err, sizeof(fx->err)), -1);
	assert_int_equal(tu_entries(fx->dir), 0);
}

static void
test_selector_names(void **state)
{
	(void)state;
	assert_true(keys_selector_ok("20261123r", 9));
	assert_true(keys_selector_ok("a.b-c", 5));
	assert_false(keys_selector_ok("", 0));
	assert_false(keys_selector_ok("a..b", 4));
	assert_false(keys_selector_ok("a_b", 3));
	assert_false(keys_selector_ok("a/b", 3));
	assert_false(keys_selector_ok("a-", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_ed25519_seed_and_pem_are_the_same_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_rsa_pkcs1_key_loads_and_its_record_is_the_rfc_one,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_key_files_are_named_in_the_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_key_is_an_error,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_key_others_can_read_is_refused_with_the_fix, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_key_dir_is_ed25519_first_then_rsa_by_selector, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_generate_makes_dated_keys_mode_0640_and_never_replaces,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_generate_refuses_a_bad_size, setup, teardown),
		cmocka_unit_test(test_selector_names),
	};

	if (keys_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
