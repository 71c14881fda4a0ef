/* keycache_test.c — queue-run's in-process DKIM signing: the fields
 * filter_fields makes with kept keys are the bytes "dkimsign -h" makes
 * (filter_run) for the same message and time, and the kept keys follow
 * their files (queue-run/keycache.c): read once, read again when a key
 * is added, replaced or removed, an unreadable key an error each time. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "filecache.h"
#include "filter.h"
#include "keycache.h"
#include "keys.h"
#include "str.h"
#include "testutil.h"

#define DOMAIN	"example.com"
#define T	1764000000LL
#define MSG	"Received: from somewhere\n" \
		"From: Alice <alice@example.com>\nTo: bob@remote.example\n" \
		"Subject: kept keys\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n" \
		"\nhello  there \n\n\n"

enum { OUT_MAX = 16384 };

struct fx {
	char		dir[64];
	char		keydir[PATH_MAX];
	char		msg[PATH_MAX];
	struct conf	conf;
};

static int
setup(void **state)
{
	struct keys_key k[2];
	char err[256];
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "keycache_test") == -1) {
		free(f);
		return -1;
	}
	*state = f;
	if (str_fmt(f->conf.dir, sizeof(f->conf.dir), "%s/etc", f->dir) ==
	    -1 || mkdir(f->conf.dir, 0700) == -1 ||
	    str_fmt(f->keydir, sizeof(f->keydir), "%s/domains/%s/dkim",
	    f->conf.dir, DOMAIN) == -1 ||
	    str_fmt(f->msg, sizeof(f->msg), "%s/msg", f->dir) == -1)
		return -1;
	tu_mkdomain(f->conf.dir, DOMAIN);
	if (keys_init() == -1 || keys_generate(f->keydir, (time_t)T, 2048, k,
	    err, sizeof(err)) == -1)
		return -1;
	keys_free(&k[0]);
	keys_free(&k[1]);
	tu_write_str(f->msg, MSG);
	/* Every change counts at once, whatever the clock's tick. */
	filecache_set_racy_ms(0);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	keycache_clear();
	return tu_teardown(f, f->dir);
}

static int
open_msg(const struct fx *f)
{
	int fd = open(f->msg, O_RDONLY | O_CLOEXEC);

	assert_true(fd != -1);
	return fd;
}

/* What "dkimsign -C DIR -h -d DOMAIN -t T" writes, into buf. */
static size_t
dkimsign_h(const struct fx *f, char *buf, size_t cap)
{
	struct filter_opts o = { f->conf.dir, DOMAIN, T, 1 };
	char path[PATH_MAX], err[512];
	int in = open_msg(f), out;
	ssize_t n;

	assert_int_equal(str_fmt(path, sizeof(path), "%s/out", f->dir), 0);
	assert_true((out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) != -1);
	assert_int_equal(filter_run(&o, in, out, err, sizeof(err)), 0);
	assert_true((n = pread(out, buf, cap, 0)) > 0);
	close(in);
	close(out);
	return (size_t)n;
}

/* queue-run's way: the kept keys, filter_fields. */
static int
in_process(struct fx *f, struct str *out, char *err, size_t errlen)
{
	const struct keys_key *k;
	size_t n;
	int in, rc;

	if (keycache_get(&f->conf, DOMAIN, &k, &n, err, errlen) == -1)
		return -1;
	in = open_msg(f);
	rc = filter_fields(in, DOMAIN, k, n, T, out, err, errlen);
	close(in);
	return rc;
}

static void
test_in_process_fields_are_the_bytes_of_dkimsign_h(void **state)
{
	struct fx *f = *state;
	char a[OUT_MAX], b[OUT_MAX], err[512];
	struct str s;
	size_t alen;

	alen = dkimsign_h(f, a, sizeof(a));
	str_init(&s, b, sizeof(b));
	assert_int_equal(in_process(f, &s, err, sizeof(err)), 0);
	assert_int_equal(s.len, alen);
	assert_memory_equal(s.s, a, alen);
	/* Two fields, Ed25519 first, as the message's line ends. */
	assert_true(strncmp(b, "DKIM-Signature: v=1; a=ed25519-sha256;", 38)
	    == 0);
	assert_non_null(strstr(b, "\nDKIM-Signature: v=1; a=rsa-sha256;"));
	assert_null(memchr(b, '\r', s.len));
	/* A body byte changed: other fields (the check can fail). */
	tu_write_str(f->msg, MSG "x\n");
	str_init(&s, b, sizeof(b));
	assert_int_equal(in_process(f, &s, err, sizeof(err)), 0);
	assert_false(s.len == alen && memcmp(s.s, a, alen) == 0);
}

static void
test_too_small_an_output_is_an_error(void **state)
{
	struct fx *f = *state;
	char b[200], err[512];
	struct str s;

	str_init(&s, b, sizeof(b));
	assert_int_equal(in_process(f, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "signing failed"));
}

static void
test_keys_are_read_once_and_again_when_they_change(void **state)
{
	struct fx *f = *state;
	struct keycache_stats s0, s;
	const struct keys_key *k;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char seed[crypto_sign_SEEDBYTES];
	char path[PATH_MAX], b64[64], err[512];
	size_t n;

	keycache_stats(&s0);
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].type, KEYS_ED25519);
	memcpy(pk, k[0].pk, sizeof(pk));
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), 0);
	keycache_stats(&s);
	assert_int_equal(s.loads - s0.loads, 1);
	assert_int_equal(s.hits - s0.hits, 1);

	/* The Ed25519 key rewritten in place, as a seed: read again. */
	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s.ed25519",
	    f->keydir, k[0].selector), 0);
	randombytes_buf(seed, sizeof(seed));
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed),
	    sodium_base64_VARIANT_ORIGINAL);
	tu_write_secret(path, b64);
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), 0);
	keycache_stats(&s);
	assert_int_equal(s.loads - s0.loads, 2);
	assert_int_equal(n, 2);
	assert_memory_not_equal(k[0].pk, pk, sizeof(pk));

	/* The RSA key removed: the directory changed, one key left. */
	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s.rsa",
	    f->keydir, k[1].selector), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(k[0].type, KEYS_ED25519);
}

static void
test_a_broken_key_is_an_error_each_time(void **state)
{
	struct fx *f = *state;
	struct keycache_stats s0, s;
	const struct keys_key *k;
	char path[PATH_MAX], err[512];
	size_t n;

	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/zz.rsa", f->keydir),
	    0);
	tu_write_secret(path, "not a key\n");
	keycache_stats(&s0);
	err[0] = '\0';
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "zz.rsa"));
	err[0] = '\0';
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "zz.rsa"));
	keycache_stats(&s);
	assert_int_equal(s.hits, s0.hits);
	/* Fixed: read and kept again. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(keycache_get(&f->conf, DOMAIN, &k, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 2);
}

static void
test_a_domain_without_keys_has_none(void **state)
{
	struct fx *f = *state;
	const struct keys_key *k;
	char err[512];
	size_t n = 9;

	assert_int_equal(keycache_get(&f->conf, "other.example", &k, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(keycache_get(&f->conf, "../x", &k, &n, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_in_process_fields_are_the_bytes_of_dkimsign_h, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_too_small_an_output_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_keys_are_read_once_and_again_when_they_change, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_broken_key_is_an_error_each_time, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_domain_without_keys_has_none, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
