/* srs_test.c — lib/srs.c against Mail::SRS (libmail-srs-perl 0.31): the
 * vectors below were made with it, secret "posthorn-test-secret", its
 * time() fixed at T0 (BEGIN { *CORE::GLOBAL::time = sub () { T0 } }),
 * so that the same secret gives the same addresses as postsrsd/libsrs2
 * and Mail::SRS; then the checks of a bounce: case, tampering, age,
 * malformed fields. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <sodium.h>

#include "addr.h"
#include "conf.h"
#include "srs.h"
#include "str.h"
#include "testutil.h"

#define SECRET	"posthorn-test-secret"
#define FWD	"fwd.example"
#define T0	((time_t)1700000000)	/* day 19675, 219 mod 1024: "G3" */
#define DAY	((time_t)86400)

struct fx {
	char		dir[PATH_MAX];
	struct conf	conf;
	struct srs	srs;
	char		out[ADDR_TEXT_MAX];
	char		why[SRS_WHY_MAX];
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "srs_test") == -1 ||
	    str_fmt(fx->conf.srs_secret_file, sizeof(fx->conf.srs_secret_file),
	    "%s/srs.secret", fx->dir) == -1) {
		free(fx);
		return -1;
	}
	memcpy(fx->srs.secret, SECRET, strlen(SECRET));
	fx->srs.secretlen = strlen(SECRET);
	/* posthorn.conf's defaults, as srs_load takes them. */
	fx->conf.srs_hash_length = fx->conf.srs_hash_min = 4;
	fx->srs.hashlen = fx->srs.hashmin = 4;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	return tu_teardown(fx, fx->dir);
}

/* The secret file, private as install.sh makes it. */
static void
put_secret(struct fx *fx, const char *text)
{
	tu_write_str(fx->conf.srs_secret_file, text);
	assert_int_equal(chmod(fx->conf.srs_secret_file, 0640), 0);
}

static int
load(struct fx *fx)
{
	return srs_load(&fx->srs, &fx->conf, fx->why, sizeof(fx->why));
}

static const char *
fwd(struct fx *fx, const char *sender, time_t now)
{
	assert_int_equal(srs_forward(&fx->srs, sender, FWD, now, fx->out,
	    sizeof(fx->out)), 0);
	return fx->out;
}

static const char *
rev(struct fx *fx, const char *address, time_t now)
{
	assert_int_equal(srs_reverse(&fx->srs, address, now, fx->out,
	    sizeof(fx->out), fx->why, sizeof(fx->why)), 0);
	return fx->out;
}

/* srs_reverse refuses address, saying why. */
static void
refused(struct fx *fx, const char *address, time_t now, const char *why)
{
	errno = 0;
	assert_int_equal(srs_reverse(&fx->srs, address, now, fx->out,
	    sizeof(fx->out), fx->why, sizeof(fx->why)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(fx->out, "");
	assert_non_null(strstr(fx->why, why));
}

static void
test_forward_matches_mail_srs(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(fwd(fx, "alice@example.org", T0),
	    "SRS0=TT+u=G3=example.org=alice@" FWD);
	assert_string_equal(fwd(fx, "Alice.Smith@example.org", T0),
	    "SRS0=SEx1=G3=example.org=Alice.Smith@" FWD);
	/* The case of the local part stays; the HMAC sees it lowercased. */
	assert_string_equal(fwd(fx, "ALICE@example.org", T0),
	    "SRS0=TT+u=G3=example.org=ALICE@" FWD);
	/* '=' in the user: the last field takes the rest. */
	assert_string_equal(fwd(fx, "user=with=eq@example.org", T0),
	    "SRS0=qMZh=G3=example.org=user=with=eq@" FWD);
	/* UTF-8 bytes go into the HMAC as they are (Perl's lc on bytes). */
	assert_string_equal(fwd(fx, "jos\xc3\xa9@example.org", T0),
	    "SRS0=THWQ=G3=example.org=jos\xc3\xa9@" FWD);
}

static void
test_forward_of_srs0_wraps_it_in_srs1(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(fwd(fx,
	    "SRS0=abcd=XY=orig.example=bob@first.example", T0),
	    "SRS1=EdRo=first.example==abcd=XY=orig.example=bob@" FWD);
	/* Its own separator is kept: "=+". */
	assert_string_equal(fwd(fx,
	    "SRS0+abcd=XY=orig.example=bob@first.example", T0),
	    "SRS1=ZKKj=first.example=+abcd=XY=orig.example=bob@" FWD);
}

static void
test_forward_of_srs1_keeps_first_host_and_signs_anew(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(fwd(fx,
	    "SRS1=wxyz=first.example==abcd=XY=orig.example=bob@second.example",
	    T0), "SRS1=EdRo=first.example==abcd=XY=orig.example=bob@" FWD);
}

static void
test_forward_of_malformed_srs1_is_einval(void **state)
{
	struct fx *fx = *state;

	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, "SRS1=hash@first.example",
	    FWD, T0, fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(srs_forward(&fx->srs, "SRS1=h=host=@first.example",
	    FWD, T0, fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
}

/* Found by fuzz/srs.c: srs_forward made addresses that srs_reverse then
 * refused, so that a bounce could never come back. */
static void
test_forward_refuses_what_could_not_come_back(void **state)
{
	struct fx *fx = *state;
	char made[ADDR_TEXT_MAX];

	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, "\"\"@example.org", FWD, T0,
	    fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(fx->out, "");
	/* host0 of an SRS1 must be a domain for the bounce to go on. */
	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, "SRS1=agh=$Aample=bob@fwd.le",
	    FWD, T0, fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
	/* 63 octets, but 65 with the quotes that the space needs. */
	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, "\"a b\"@abcdefghij"
	    "abcdefghijabcdefghijabcdefgh.example", FWD, T0,
	    fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_string_equal(fx->out, "");
	/* What it does rewrite comes back. */
	(void)str_copy(made, sizeof(made), fwd(fx, "SRS1=wxyz=first.example=="
	    "abcd=XY=orig.example=bob@second.example", T0));
	assert_string_equal(rev(fx, made, T0),
	    "SRS0=abcd=XY=orig.example=bob@first.example");
	(void)str_copy(made, sizeof(made), fwd(fx, "\"a b\"@example.org", T0));
	assert_string_equal(rev(fx, made, T0), "\"a b\"@example.org");
}

static void
test_timestamp_is_day_mod_1024_high_bits_first(void **state)
{
	struct fx *fx = *state;

	assert_non_null(strstr(fwd(fx, "a@b.example", 0), "=AA=b.example"));
	assert_non_null(strstr(fwd(fx, "a@b.example", 1 * DAY), "=AB="));
	assert_non_null(strstr(fwd(fx, "a@b.example", 32 * DAY), "=BA="));
	assert_non_null(strstr(fwd(fx, "a@b.example", 1023 * DAY + 5),
	    "=77="));
	assert_non_null(strstr(fwd(fx, "a@b.example", 1024 * DAY), "=AA="));
}

static void
test_forward_then_reverse_gives_the_sender_back(void **state)
{
	struct fx *fx = *state;
	char srs[ADDR_TEXT_MAX];

	(void)str_copy(srs, sizeof(srs), fwd(fx, "\"john doe\"@example.org",
	    T0));
	/* The new local part needs quotes as the old one did; the HMAC
	 * is over the unquoted text, as Mail::SRS's "john doe". */
	assert_string_equal(srs, "\"SRS0=4VHh=G3=example.org=john doe\"@"
	    FWD);
	assert_string_equal(rev(fx, srs, T0), "\"john doe\"@example.org");
	(void)str_copy(srs, sizeof(srs), fwd(fx, "bob@[192.0.2.1]", T0));
	assert_string_equal(rev(fx, srs, T0 + 3 * DAY), "bob@[192.0.2.1]");
}

static void
test_reverse_accepts_mail_srs_addresses(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(rev(fx, "SRS0=TT+u=G3=example.org=alice@" FWD,
	    T0), "alice@example.org");
	/* A hash of 8, as Mail::SRS makes with HashLength => 8. */
	assert_string_equal(rev(fx,
	    "SRS0=SRMuP6yp=G3=example.org=carol@" FWD, T0),
	    "carol@example.org");
	/* SRS1 gives the SRS0 address at the first forwarder. */
	assert_string_equal(rev(fx,
	    "SRS1=EdRo=first.example==abcd=XY=orig.example=bob@" FWD, T0),
	    "SRS0=abcd=XY=orig.example=bob@first.example");
}

/* The hash is compared with its case: a lowercase guess would otherwise
 * hit with 2^-20 rather than 2^-24.  The rest of the address may change
 * case on its way (the HMAC covers it lowercased). */
static void
test_reverse_compares_the_hash_with_its_case(void **state)
{
	struct fx *fx = *state;

	refused(fx, "SRS0=tt+u=G3=example.org=alice@" FWD, T0, "bad hash");
	refused(fx, "SRS0=TT+U=G3=example.org=alice@" FWD, T0, "bad hash");
	refused(fx, "srs1=edro=first.example==abcd=xy=orig.example=bob@" FWD,
	    T0, "bad hash");
	refused(fx, "SRS0=srmup6yp=G3=example.org=carol@" FWD, T0,
	    "bad hash");
	assert_string_equal(rev(fx, "srs0=TT+u=g3=EXAMPLE.ORG=Alice@"
	    "FWD.EXAMPLE", T0), "Alice@example.org");
}

/* srs_postsrsd_compat: postsrsd's and Mail::SRS's rule, for relays that
 * lowercase or uppercase a whole local part. */
static void
test_reverse_ignores_case_smashed_by_a_relay(void **state)
{
	struct fx *fx = *state;

	fx->srs.nocase = 1;
	assert_string_equal(rev(fx, "srs0=tt+u=g3=example.org=alice@fwd.example",
	    T0), "alice@example.org");
	assert_string_equal(rev(fx, "SRS0=TT+U=G3=EXAMPLE.ORG=ALICE@"
	    "FWD.EXAMPLE", T0), "ALICE@example.org");
	assert_string_equal(rev(fx,
	    "srs1=edro=first.example==abcd=xy=orig.example=bob@" FWD, T0),
	    "SRS0=abcd=xy=orig.example=bob@first.example");
}

/* srs_hash_length writes longer hashes (Mail::SRS's HashLength); a
 * bounce's hash must then be as long, unless srs_hash_min keeps the
 * shorter ones of mail still on its way readable. */
static void
test_longer_hash_written_and_its_minimum_read(void **state)
{
	struct fx *fx = *state;
	const char *four = "SRS0=SRMu=G3=example.org=carol@" FWD;
	char eight[ADDR_TEXT_MAX];

	fx->srs.hashlen = fx->srs.hashmin = 8;
	(void)str_copy(eight, sizeof(eight), fwd(fx, "carol@example.org",
	    T0));
	assert_string_equal(eight, "SRS0=SRMuP6yp=G3=example.org=carol@" FWD);
	assert_string_equal(rev(fx, eight, T0), "carol@example.org");
	refused(fx, four, T0, "bad hash");
	fx->srs.hashmin = 4;
	assert_string_equal(rev(fx, four, T0), "carol@example.org");
	/* srs_load takes both from posthorn.conf. */
	tu_write_secret(fx->conf.srs_secret_file, SECRET "\n");
	fx->conf.srs_hash_length = 12;
	fx->conf.srs_hash_min = 6;
	fx->conf.srs_postsrsd_compat = 1;
	assert_int_equal(srs_load(&fx->srs, &fx->conf, fx->why,
	    sizeof(fx->why)), 0);
	assert_int_equal(fx->srs.hashlen, 12);
	assert_int_equal(fx->srs.hashmin, 6);
	assert_int_equal(fx->srs.nocase, 1);
	assert_int_equal(strlen(fwd(fx, "carol@example.org", T0)),
	    strlen("SRS0=SRMuP6yp=G3=example.org=carol@" FWD) + 4);
}

static void
test_reverse_is_good_for_21_days_and_no_more(void **state)
{
	struct fx *fx = *state;
	const char *a = "SRS0=TT+u=G3=example.org=alice@" FWD;

	assert_string_equal(rev(fx, a, T0 + 21 * DAY), "alice@example.org");
	refused(fx, a, T0 + 22 * DAY, "expired");
	/* A stamp from tomorrow is one from 1023 days ago. */
	refused(fx, a, T0 - DAY, "expired");
}

static void
test_reverse_counts_age_across_the_1024_day_wrap(void **state)
{
	struct fx *fx = *state;
	/* Mail::SRS at day 20476 (1020 mod 1024, "74"). */
	const char *a = "SRS0=2jmB=74=wrap.example=bob@" FWD;
	time_t made = (time_t)1769130000;

	assert_string_equal(rev(fx, a, made + 7 * DAY), "bob@wrap.example");
	refused(fx, a, made + 22 * DAY, "expired");
}

static void
test_reverse_refuses_a_tampered_address(void **state)
{
	struct fx *fx = *state;

	refused(fx, "SRS0=TT+v=G3=example.org=alice@" FWD, T0, "bad hash");
	refused(fx, "SRS0=TT+u=G3=example.org=mallory@" FWD, T0, "bad hash");
	refused(fx, "SRS0=TT+u=G3=example.net=alice@" FWD, T0, "bad hash");
	refused(fx, "SRS0=TT+u=G4=example.org=alice@" FWD, T0, "bad hash");
	refused(fx, "SRS1=EdRo=first.example==abcd=XY=orig.example=eve@" FWD,
	    T0, "bad hash");
	/* Every character of a longer hash counts. */
	refused(fx, "SRS0=SRMuP6yq=G3=example.org=carol@" FWD, T0, "bad hash");
	/* Fewer than 4 characters: a prefix anyone could guess. */
	refused(fx, "SRS0=TT+=G3=example.org=alice@" FWD, T0, "bad hash");
}

static void
test_reverse_refuses_other_secrets(void **state)
{
	struct fx *fx = *state;

	memcpy(fx->srs.secret, "another", 7);
	fx->srs.secretlen = 7;
	refused(fx, "SRS0=TT+u=G3=example.org=alice@" FWD, T0, "bad hash");
}

static void
test_reverse_refuses_what_is_not_srs(void **state)
{
	struct fx *fx = *state;

	refused(fx, "alice@" FWD, T0, "not an SRS address");
	refused(fx, "SRS2=TT+u=G3=example.org=alice@" FWD, T0,
	    "not an SRS address");
	refused(fx, "SRS0", T0, "not an address");
	refused(fx, "", T0, "not an address");
	refused(fx, "SRS0=TT+u=G3=example.org@" FWD, T0, "malformed");
	refused(fx, "SRS0=TT+u=G3=example.org=@" FWD, T0, "malformed");
	refused(fx, "SRS0=TT+u==example.org=alice@" FWD, T0, "malformed");
	refused(fx, "SRS0=TT+u=G1=example.org=alice@" FWD, T0, "malformed");
	refused(fx, "SRS0=TT+u=G3A=example.org=alice@" FWD, T0, "malformed");
	refused(fx, "SRS1=EdRo=first.example@" FWD, T0, "malformed");
}

/* "SRS1=HASH=host0=rest"@FWD, quoted, signed with SECRET as lib/srs.c
 * signs: the base64 HMAC-SHA1 of host0 and rest, lowercased. */
static void
sign_srs1(char *out, size_t size, const char *host0, const char *rest)
{
	unsigned char in[512], mac[20];
	char b64[sodium_base64_ENCODED_LEN(20,
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t len = 0;
	const char *p;

	for (p = host0; *p != '\0'; p++)
		in[len++] = (unsigned char)str_tolower((unsigned char)*p);
	for (p = rest; *p != '\0'; p++)
		in[len++] = (unsigned char)str_tolower((unsigned char)*p);
	assert_int_equal(gnutls_hmac_fast(GNUTLS_MAC_SHA1, SECRET,
	    strlen(SECRET), in, len, mac), 0);
	(void)sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	assert_true(str_fmt(out, size, "\"SRS1=%.4s=%s=%s\"@" FWD, b64, host0,
	    rest) == 0);
}

static void
test_reverse_never_returns_a_non_address(void **state)
{
	struct fx *fx = *state;
	char a[ADDR_TEXT_MAX];

	/* Signed, but the host is no domain: refused all the same.
	 * srs_forward no longer makes one; another SRS tool with the same
	 * secret could. */
	sign_srs1(a, sizeof(a), "bad host", "u");
	refused(fx, a, T0, "not an address");
	/* The same fields with a domain: the signature is right. */
	sign_srs1(a, sizeof(a), "good.example", "=abcd=XY=orig.example=bob");
	assert_string_equal(rev(fx, a, T0),
	    "SRS0=abcd=XY=orig.example=bob@good.example");
}

static void
test_forward_refuses_a_local_part_over_64(void **state)
{
	struct fx *fx = *state;
	/* "SRS0=HASH=TT=example.org=" is 25 octets: with 40 more, 65. */
	const char *s = "abcdefghijklmnopqrstuvwxyz0123456789abcd@example.org";

	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, s, FWD, T0, fx->out,
	    sizeof(fx->out)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	/* One octet less fits (Mail::SRS's address for it). */
	assert_string_equal(fwd(fx, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org", T0), "SRS0=UG0o=G3=example.org="
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@" FWD);
	assert_int_equal(strlen(fx->out), 64 + 1 + strlen(FWD));
}

static void
test_forward_refuses_what_is_not_an_address(void **state)
{
	struct fx *fx = *state;

	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, "", FWD, T0, fx->out,
	    sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(srs_forward(&fx->srs, "alice", FWD, T0, fx->out,
	    sizeof(fx->out)), -1);
	assert_int_equal(srs_forward(&fx->srs, "alice@example.org",
	    "not a domain", T0, fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(srs_forward(&fx->srs, "alice@example.org", FWD, T0,
	    fx->out, 10), -1);
	assert_int_equal(errno, ENOSPC);
	/* An empty quoted local part would make SRS0=...=c.example=@fwd,
	 * which no reverse takes back: left unrewritten. */
	errno = 0;
	assert_int_equal(srs_forward(&fx->srs, "\"\"@c.example", FWD, T0,
	    fx->out, sizeof(fx->out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(fx->out, "");
}

static void
test_is_srs_takes_the_tag_and_a_separator(void **state)
{
	(void)state;
	assert_true(srs_is_srs("SRS0=x"));
	assert_true(srs_is_srs("srs1=x"));
	assert_true(srs_is_srs("Srs0+x"));
	assert_true(srs_is_srs("SRS1-x"));
	assert_false(srs_is_srs("SRS2=x"));
	assert_false(srs_is_srs("SRS0x"));
	assert_false(srs_is_srs("SRS0"));
	assert_false(srs_is_srs("SRS"));
	assert_false(srs_is_srs(""));
	assert_false(srs_is_srs("alice"));
}

static void
test_load_takes_the_first_line(void **state)
{
	struct fx *fx = *state;

	put_secret(fx, SECRET "\nold secret\n");
	memset(&fx->srs, 0xff, sizeof(fx->srs));
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->srs.secretlen, strlen(SECRET));
	assert_memory_equal(fx->srs.secret, SECRET, strlen(SECRET));
	assert_string_equal(fwd(fx, "alice@example.org", T0),
	    "SRS0=TT+u=G3=example.org=alice@" FWD);
	/* No final LF is fine too. */
	put_secret(fx, SECRET);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->srs.secretlen, strlen(SECRET));
}

static void
test_load_refuses_empty_long_and_missing_files(void **state)
{
	struct fx *fx = *state;
	char big[SRS_SECRET_MAX + 3];

	put_secret(fx, "");
	errno = 0;
	assert_int_equal(load(fx), -1);
	assert_int_equal(errno, EINVAL);
	put_secret(fx, "\nsecond line\n");
	assert_int_equal(load(fx), -1);
	assert_int_equal(errno, EINVAL);
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	put_secret(fx, big);
	assert_int_equal(load(fx), -1);
	assert_int_equal(errno, EINVAL);
	big[sizeof(big) - 3] = '\n';	/* 255 bytes: the most there is */
	big[sizeof(big) - 2] = '\0';
	put_secret(fx, big);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->srs.secretlen, SRS_SECRET_MAX);
	(void)str_fmt(fx->conf.srs_secret_file,
	    sizeof(fx->conf.srs_secret_file), "%s/missing", fx->dir);
	assert_int_equal(load(fx), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(fx->why, "/missing: "));
}

/* A restore by "git clone" makes it 0644: refused, with the fix. */
static void
test_load_refuses_a_secret_others_can_read(void **state)
{
	struct fx *fx = *state;
	char fix[PATH_MAX + 32];

	put_secret(fx, SECRET "\n");
	assert_int_equal(chmod(fx->conf.srs_secret_file, 0644), 0);
	memset(&fx->srs, 0, sizeof(fx->srs));
	errno = 0;
	assert_int_equal(load(fx), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fx->srs.secretlen, 0);
	(void)str_fmt(fix, sizeof(fix), "chmod o-rwx %s",
	    fx->conf.srs_secret_file);
	assert_non_null(strstr(fx->why, fix));
	assert_non_null(strstr(fx->why, "0644"));
	assert_int_equal(chmod(fx->conf.srs_secret_file, 0602), 0);
	assert_int_equal(load(fx), -1);
	assert_int_equal(errno, EPERM);
	/* Group-readable is how install.sh leaves it (group posthorn). */
	assert_int_equal(chmod(fx->conf.srs_secret_file, 0640), 0);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->srs.secretlen, strlen(SECRET));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_forward_matches_mail_srs),
		T(test_forward_of_srs0_wraps_it_in_srs1),
		T(test_forward_of_srs1_keeps_first_host_and_signs_anew),
		T(test_forward_of_malformed_srs1_is_einval),
		T(test_forward_refuses_what_could_not_come_back),
		T(test_timestamp_is_day_mod_1024_high_bits_first),
		T(test_forward_then_reverse_gives_the_sender_back),
		T(test_reverse_accepts_mail_srs_addresses),
		T(test_reverse_compares_the_hash_with_its_case),
		T(test_reverse_ignores_case_smashed_by_a_relay),
		T(test_longer_hash_written_and_its_minimum_read),
		T(test_reverse_is_good_for_21_days_and_no_more),
		T(test_reverse_counts_age_across_the_1024_day_wrap),
		T(test_reverse_refuses_a_tampered_address),
		T(test_reverse_refuses_other_secrets),
		T(test_reverse_refuses_what_is_not_srs),
		T(test_reverse_never_returns_a_non_address),
		T(test_forward_refuses_a_local_part_over_64),
		T(test_forward_refuses_what_is_not_an_address),
		T(test_is_srs_takes_the_tag_and_a_separator),
		T(test_load_takes_the_first_line),
		T(test_load_refuses_empty_long_and_missing_files),
		T(test_load_refuses_a_secret_others_can_read),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
