/* users_test.c — the users file, users(5): lookups, and rewrites that
 * keep every line they do not change byte for byte. */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "passwd.h"
#include "users.h"
#include "testutil.h"

#define H1 "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA"
#define H2 "$argon2id$v=19$m=65536,t=2,p=1$b3RoZXJzYWx0$b3RoZXI"

struct fix {
	char	dir[64];
	char	path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "users_test") == -1)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/users", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	return tu_teardown(f, f->dir);
}

/* The file's content, NUL-terminated, in a static buffer. */
static const char *
get(const char *path)
{
	static char buf[1 << 16];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
test_lookup_finds_the_users_hash(void **state)
{
	struct fix *f = *state;
	char hash[USERS_HASH_MAX];

	tu_write_str(f->path, "alice:" H1 "\nbob:" H2 "\n");
	assert_int_equal(users_lookup(f->path, "bob", hash, sizeof(hash)),
	    USERS_FOUND);
	assert_string_equal(hash, H2);
	assert_int_equal(users_lookup(f->path, "alice", NULL, 0),
	    USERS_FOUND);
	assert_int_equal(users_lookup(f->path, "carol", hash, sizeof(hash)),
	    USERS_NOTFOUND);
}

static void
test_lookup_ignores_case_of_name_and_of_file(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "Alice:" H1 "\nbob:" H2 "\n");
	assert_int_equal(users_lookup(f->path, "ALICE", NULL, 0),
	    USERS_FOUND);
	assert_int_equal(users_lookup(f->path, "alice", NULL, 0),
	    USERS_FOUND);
	assert_int_equal(users_lookup(f->path, "BoB", NULL, 0), USERS_FOUND);
}

static void
test_missing_file_has_no_users(void **state)
{
	struct fix *f = *state;

	assert_int_equal(users_lookup(f->path, "alice", NULL, 0),
	    USERS_NOTFOUND);
}

static void
test_receive_only_user_is_found_with_bang(void **state)
{
	struct fix *f = *state;
	char hash[USERS_HASH_MAX];

	tu_write_str(f->path, "# a list\n\nlist:!\r\n");
	assert_int_equal(users_lookup(f->path, "list", hash, sizeof(hash)),
	    USERS_FOUND);
	assert_string_equal(hash, USERS_RECEIVE_ONLY);
}

static void
test_comments_and_blank_lines_are_not_users(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "#alice:" H1 "\n \t\nbob:" H2 "\n");
	assert_int_equal(users_lookup(f->path, "#alice", NULL, 0),
	    USERS_NOTFOUND);
	assert_int_equal(users_lookup(f->path, "bob", NULL, 0), USERS_FOUND);
}

static void
expect_malformed(const char *path, const char *content, size_t n)
{
	tu_write_file(path, content, n);
	errno = 0;
	assert_int_equal(users_lookup(path, "alice", NULL, 0), USERS_ERROR);
	assert_int_equal(errno, EINVAL);
}

static void
test_malformed_line_makes_lookup_fail_with_einval(void **state)
{
	struct fix *f = *state;
	char longline[USERS_LINE_MAX + 10];
	static const char *const bad[] = {
		"alice:" H1 "\nno colon here\n",
		"alice:" H1 "\nbad name:" H2 "\n",
		"alice:" H1 "\nbob:\n",
		"alice:" H1 "\n:" H2 "\n",
		"alice:" H1 "\nbob:$argon2id$ space\n",
		"alice:" H1 "\nbob:plaintext\n",
		"alice:" H1 "\n.bob:" H2 "\n",
		"alice:" H1 "\nb\xc3:" H2 "\n",	/* not UTF-8 */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_malformed(f->path, bad[i], strlen(bad[i]));
	/* A NUL byte inside a line. */
	expect_malformed(f->path, "alice:" H1 "\nbob\0:" H2 "\n",
	    sizeof("alice:" H1 "\nbob\0:" H2 "\n") - 1);
	/* One line longer than USERS_LINE_MAX, even a comment. */
	memset(longline, 'x', sizeof(longline));
	longline[0] = '#';
	longline[sizeof(longline) - 1] = '\n';
	expect_malformed(f->path, longline, sizeof(longline));
}

static void
test_longest_valid_line_is_accepted(void **state)
{
	struct fix *f = *state;
	char line[USERS_LINE_MAX + 1], name[USERS_NAME_MAX + 1];
	size_t n;

	memset(name, 'a', USERS_NAME_MAX);
	name[USERS_NAME_MAX] = '\0';
	n = (size_t)snprintf(line, sizeof(line), "%s:$", name);
	memset(line + n, 'h', USERS_HASH_MAX - 2);	/* hash: 127 bytes */
	n += USERS_HASH_MAX - 2;
	memcpy(line + n, "\r\n", 2);
	n += 2;
	assert_true(n <= USERS_LINE_MAX);
	tu_write_file(f->path, line, n);
	assert_int_equal(users_lookup(f->path, name, NULL, 0), USERS_FOUND);
}

/* A last line without its LF is measured with it: the longest that
 * reads is one byte shorter, and a user added after it (which writes
 * the LF) is then found.  The fuzzer found a 195-byte comment that read
 * well until a user was added. */
static void
test_a_last_line_without_its_lf_counts_it(void **state)
{
	struct fix *f = *state;
	char line[USERS_LINE_MAX];
	char hash[USERS_HASH_MAX + 1];

	memset(line, 'x', sizeof(line));
	line[0] = '#';
	expect_malformed(f->path, line, USERS_LINE_MAX);
	tu_write_file(f->path, line, USERS_LINE_MAX - 1);
	assert_int_equal(users_lookup(f->path, "alice", NULL, 0),
	    USERS_NOTFOUND);
	assert_int_equal(users_set(f->path, "alice", H1), 0);
	assert_int_equal(users_lookup(f->path, "alice", hash, sizeof(hash)),
	    USERS_FOUND);
	assert_string_equal(hash, H1);
}

static void
test_more_than_users_max_lines_is_malformed(void **state)
{
	struct fix *f = *state;
	FILE *fp = fopen(f->path, "w");
	size_t i;

	assert_non_null(fp);
	for (i = 0; i < USERS_MAX + 1; i++)
		fputs("#\n", fp);
	assert_int_equal(fclose(fp), 0);
	errno = 0;
	assert_int_equal(users_lookup(f->path, "alice", NULL, 0),
	    USERS_ERROR);
	assert_int_equal(errno, EINVAL);
}

static void
test_malformed_line_after_the_match_still_fails(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "alice:" H1 "\ngarbage\n");
	assert_int_equal(users_lookup(f->path, "alice", NULL, 0),
	    USERS_ERROR);
}

static void
test_set_creates_missing_file_with_mode_0640(void **state)
{
	struct fix *f = *state;
	struct stat st;
	mode_t old = umask(077);

	assert_int_equal(users_set(f->path, "alice", H1), 0);
	umask(old);
	assert_string_equal(get(f->path), "alice:" H1 "\n");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(tu_entries(f->dir), 1);	/* no temporary left */
}

static void
test_set_appends_keeping_other_lines_byte_for_byte(void **state)
{
	struct fix *f = *state;
	const char *before = "# users of example.org\r\n\n  \n"
	    "Bob:" H2 "\r\n# trailing comment";

	tu_write_str(f->path, before);
	assert_int_equal(users_set(f->path, "alice", H1), 0);
	/* The unterminated last line gains its LF, nothing else changes. */
	assert_string_equal(get(f->path), "# users of example.org\r\n\n  \n"
	    "Bob:" H2 "\r\n# trailing comment\nalice:" H1 "\n");
	assert_int_equal(tu_entries(f->dir), 1);
}

static void
test_set_replaces_the_hash_in_place(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "# head\nALICE:" H1 "\r\n# mid\nbob:!\n");
	assert_int_equal(users_set(f->path, "alice", H2), 0);
	assert_string_equal(get(f->path),
	    "# head\nalice:" H2 "\n# mid\nbob:!\n");
	assert_int_equal(users_set(f->path, "bob", H1), 0);
	assert_string_equal(get(f->path),
	    "# head\nalice:" H2 "\n# mid\nbob:" H1 "\n");
}

static void
test_set_drops_later_duplicates_of_the_name(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "alice:" H1 "\nbob:!\nalice:!\n");
	assert_int_equal(users_set(f->path, "alice", H2), 0);
	assert_string_equal(get(f->path), "alice:" H2 "\nbob:!\n");
}

static void
test_set_keeps_mode_of_existing_file(void **state)
{
	struct fix *f = *state;
	struct stat st;

	tu_write_str(f->path, "bob:!\n");
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(users_set(f->path, "alice", "!"), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void
test_set_refuses_a_malformed_file_and_leaves_it(void **state)
{
	struct fix *f = *state;
	const char *before = "bob:!\nthis is not a user line\n";

	tu_write_str(f->path, before);
	errno = 0;
	assert_int_equal(users_set(f->path, "alice", H1), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(get(f->path), before);
	assert_int_equal(tu_entries(f->dir), 1);
}

static void
test_set_refuses_bad_names_and_hashes(void **state)
{
	struct fix *f = *state;

	assert_int_equal(users_set(f->path, "Alice", H1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(users_set(f->path, "a:b", H1), -1);
	assert_int_equal(users_set(f->path, "alice", "x\ny"), -1);
	assert_int_equal(users_set(f->path, "alice", ""), -1);
	assert_int_equal(tu_entries(f->dir), 0);
}

static void
test_set_into_missing_directory_fails(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/nodir/users", f->dir);
	assert_int_equal(users_set(p, "alice", H1), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_del_removes_only_the_user(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "# c\r\nalice:" H1 "\n\nBOB:!\r\ncarol:" H2);
	assert_int_equal(users_del(f->path, "bob"), USERS_FOUND);
	assert_string_equal(get(f->path),
	    "# c\r\nalice:" H1 "\n\ncarol:" H2);
	assert_int_equal(users_lookup(f->path, "bob", NULL, 0),
	    USERS_NOTFOUND);
	assert_int_equal(tu_entries(f->dir), 1);
}

static void
test_del_of_unknown_user_leaves_the_file_alone(void **state)
{
	struct fix *f = *state;
	struct stat a, b;

	tu_write_str(f->path, "alice:" H1 "\n");
	assert_int_equal(stat(f->path, &a), 0);
	assert_int_equal(users_del(f->path, "bob"), USERS_NOTFOUND);
	assert_int_equal(stat(f->path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);	/* not even rewritten */
}

static void
test_del_without_file_or_directory_is_notfound(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];

	assert_int_equal(users_del(f->path, "bob"), USERS_NOTFOUND);
	snprintf(p, sizeof(p), "%s/nodir/users", f->dir);
	assert_int_equal(users_del(p, "bob"), USERS_NOTFOUND);
	assert_int_equal(tu_entries(f->dir), 0);
}

static void
test_del_refuses_a_malformed_file(void **state)
{
	struct fix *f = *state;

	tu_write_str(f->path, "alice:!\nbroken\n");
	assert_int_equal(users_del(f->path, "alice"), USERS_ERROR);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(get(f->path), "alice:!\nbroken\n");
}

struct seen {
	char	names[256];
	int	count;
};

static int
collect(void *arg, const char *name, int receive_only)
{
	struct seen *s = arg;
	size_t n = strlen(s->names);

	snprintf(s->names + n, sizeof(s->names) - n, "%s%s,", name,
	    receive_only ? "(r)" : "");
	return ++s->count == 3;		/* stop after three */
}

static void
test_list_gives_users_in_file_order(void **state)
{
	struct fix *f = *state;
	struct seen s = { "", 0 };

	tu_write_str(f->path, "# x\nCarol:" H1 "\nalice:!\n\nbob:" H2
	    "\ndave:!\n");
	assert_int_equal(users_list(f->path, collect, &s), 0);
	assert_string_equal(s.names, "carol,alice(r),bob,");
	assert_int_equal(s.count, 3);
}

static void
test_list_of_missing_file_is_empty(void **state)
{
	struct fix *f = *state;
	struct seen s = { "", 0 };

	assert_int_equal(users_list(f->path, collect, &s), 0);
	assert_int_equal(s.count, 0);
}

static void
test_name_valid_takes_lowercase_dot_atoms(void **state)
{
	char longest[USERS_NAME_MAX + 2];

	(void)state;
	assert_true(users_name_valid("alice"));
	assert_true(users_name_valid("a.b.c"));
	assert_true(users_name_valid("x+tag"));
	assert_true(users_name_valid("o'neil"));
	assert_true(users_name_valid("a!#$%&'*+-=?^_`{|}~9"));
	memset(longest, 'a', sizeof(longest));
	longest[USERS_NAME_MAX] = '\0';
	assert_true(users_name_valid(longest));
	longest[USERS_NAME_MAX] = 'a';
	longest[USERS_NAME_MAX + 1] = '\0';
	assert_false(users_name_valid(longest));
	assert_false(users_name_valid(""));
	assert_false(users_name_valid("Alice"));
	assert_false(users_name_valid(".a"));
	assert_false(users_name_valid("a."));
	assert_false(users_name_valid("a..b"));
	assert_false(users_name_valid("#a"));
	assert_false(users_name_valid("a/b"));
	assert_false(users_name_valid("a b"));
	assert_false(users_name_valid("a:b"));
	assert_false(users_name_valid("a@b"));
	assert_false(users_name_valid("\"a\""));
	/* UTF-8 is atext under RFC 6531 §3.3; what is not UTF-8 is not. */
	assert_true(users_name_valid("b\xc3\xa9"));
	assert_true(users_name_valid("j\xc3\xb6rg.m"));
	assert_false(users_name_valid("b\xc3"));
	assert_false(users_name_valid("b\xc0\x80"));
	assert_false(users_name_valid("b\xed\xa0\x80"));
}

/* passwd.c belongs with the file its hashes go into. */
static void
test_passwd_hash_is_argon2id_and_verifies_only_its_password(void **state)
{
	char hash[PASSWD_HASH_MAX], again[PASSWD_HASH_MAX];

	(void)state;
	assert_int_equal(passwd_hash("s3cret", 6, hash), 0);
	assert_memory_equal(hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31);
	assert_true(strlen(hash) < USERS_HASH_MAX);
	assert_int_equal(passwd_verify(hash, "s3cret", 6), 0);
	assert_int_equal(passwd_verify(hash, "s3cre", 5), -1);
	assert_int_equal(passwd_verify(hash, "s3cret!", 7), -1);
	assert_int_equal(passwd_verify(hash, "S3cret", 6), -1);
	/* A fresh salt each time. */
	assert_int_equal(passwd_hash("s3cret", 6, again), 0);
	assert_string_not_equal(hash, again);
	/* The length counts, not a NUL. */
	assert_int_equal(passwd_hash("a\0b", 3, hash), 0);
	assert_int_equal(passwd_verify(hash, "a\0b", 3), 0);
	assert_int_equal(passwd_verify(hash, "a", 1), -1);
}

static void
test_passwd_never_verifies_receive_only_or_other_hashes(void **state)
{
	char hash[PASSWD_HASH_MAX];

	(void)state;
	assert_int_equal(passwd_verify(USERS_RECEIVE_ONLY, "", 0), -1);
	assert_int_equal(passwd_verify(USERS_RECEIVE_ONLY, "!", 1), -1);
	assert_int_equal(passwd_verify("", "", 0), -1);
	assert_int_equal(passwd_hash("pw", 2, hash), 0);
	/* The same hash under another name (argon2i) is refused. */
	assert_int_equal(passwd_verify(hash, "pw", 2), 0);
	memmove(hash + 8, hash + 9, strlen(hash + 9) + 1);
	assert_memory_equal(hash, "$argon2i$", 9);
	assert_int_equal(passwd_verify(hash, "pw", 2), -1);
	assert_int_equal(passwd_hash("pw", PASSWD_MAX + 1, hash), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_lookup_finds_the_users_hash),
		T(test_lookup_ignores_case_of_name_and_of_file),
		T(test_missing_file_has_no_users),
		T(test_receive_only_user_is_found_with_bang),
		T(test_comments_and_blank_lines_are_not_users),
		T(test_malformed_line_makes_lookup_fail_with_einval),
		T(test_longest_valid_line_is_accepted),
		T(test_a_last_line_without_its_lf_counts_it),
		T(test_more_than_users_max_lines_is_malformed),
		T(test_malformed_line_after_the_match_still_fails),
		T(test_set_creates_missing_file_with_mode_0640),
		T(test_set_appends_keeping_other_lines_byte_for_byte),
		T(test_set_replaces_the_hash_in_place),
		T(test_set_drops_later_duplicates_of_the_name),
		T(test_set_keeps_mode_of_existing_file),
		T(test_set_refuses_a_malformed_file_and_leaves_it),
		T(test_set_refuses_bad_names_and_hashes),
		T(test_set_into_missing_directory_fails),
		T(test_del_removes_only_the_user),
		T(test_del_of_unknown_user_leaves_the_file_alone),
		T(test_del_without_file_or_directory_is_notfound),
		T(test_del_refuses_a_malformed_file),
		T(test_list_gives_users_in_file_order),
		T(test_list_of_missing_file_is_empty),
		T(test_name_valid_takes_lowercase_dot_atoms),
		T(test_passwd_hash_is_argon2id_and_verifies_only_its_password),
		T(test_passwd_never_verifies_receive_only_or_other_hashes),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
