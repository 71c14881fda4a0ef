/* resolve_test.c — which recipients exist: local domains, postmaster,
 * users, aliases and the catch-all, and temporary failure when a file
 * cannot be read.  Where an address goes is alias_test.c's; this pins
 * smtp-in's view of it.  Each test builds its own configuration
 * directory. */

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

#include "domains.h"
#include "resolve.h"
#include "str.h"
#include "testutil.h"

#define H1 "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA"

struct fix {
	char		dir[64];
	struct conf	conf;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "resolve_test") == -1)
		return -1;
	str_copy(f->conf.dir, sizeof(f->conf.dir), f->dir);
	str_copy(f->conf.hostname, sizeof(f->conf.hostname),
	    "mx.example.net");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	return tu_teardown(f, f->dir);
}

/* A file name made a directory: open succeeds, read fails (EISDIR). */
static void
unreadable(struct fix *f, const char *domain, const char *file)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/domains/%s/%s", f->dir, domain, file);
	assert_int_equal(mkdir(p, 0755), 0);
}

static enum resolve_result
rcpt(struct fix *f, const char *local, const char *domain)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	str_copy(a.local, sizeof(a.local), local);
	str_copy(a.domain, sizeof(a.domain), domain);
	a.literal = domain[0] == '[';
	return resolve_rcpt(&f->conf, &a);
}

static void
test_hostname_is_local_in_any_case(void **state)
{
	struct fix *f = *state;

	assert_int_equal(domains_is_local(&f->conf, "mx.example.net"),
	    1);
	assert_int_equal(domains_is_local(&f->conf, "MX.Example.NET"),
	    1);
	assert_int_equal(domains_is_local(&f->conf, "example.net"),
	    0);
}

static void
test_directory_under_domains_makes_a_domain_local(void **state)
{
	struct fix *f = *state;

	assert_int_equal(domains_is_local(&f->conf, "example.org"), 0);
	tu_mkdomain(f->dir, "example.org");
	assert_int_equal(domains_is_local(&f->conf, "example.org"), 1);
	assert_int_equal(domains_is_local(&f->conf, "EXAMPLE.org"), 1);
}

static void
test_a_plain_file_under_domains_is_not_a_domain(void **state)
{
	struct fix *f = *state;
	struct conf conf;
	char p[PATH_MAX];

	tu_mkdomain(f->dir, "example.org");
	snprintf(p, sizeof(p), "%s/domains/example.com", f->dir);
	tu_write_str(p, "");
	assert_int_equal(domains_is_local(&f->conf, "example.com"), 0);
	assert_int_equal(rcpt(f, "alice", "example.com"), RESOLVE_REMOTE);
	/* ENOTDIR: domains/ itself a file. */
	snprintf(p, sizeof(p), "%s/domains/example.com", f->dir);
	str_copy(conf.dir, sizeof(conf.dir), p);
	str_copy(conf.hostname, sizeof(conf.hostname), "mx.example.net");
	assert_int_equal(domains_is_local(&conf, "example.org"), 0);
}

static void
test_slash_or_leading_dot_is_never_local(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	assert_int_equal(domains_is_local(&f->conf, "."), 0);
	assert_int_equal(domains_is_local(&f->conf, ".."), 0);
	assert_int_equal(domains_is_local(&f->conf,
	    "../domains/example.org"), 0);
	assert_int_equal(domains_is_local(&f->conf,
	    "example.org/."), 0);
	assert_int_equal(domains_is_local(&f->conf, ""), 0);
}

static void
test_unreadable_domains_directory_is_an_error(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX], q[PATH_MAX];

	tu_mkdomain(f->dir, "example.org");
	/* A symlink loop: stat fails with ELOOP, neither yes nor no. */
	snprintf(p, sizeof(p), "%s/domains/loop.example", f->dir);
	snprintf(q, sizeof(q), "%s/domains/loop.example", f->dir);
	assert_int_equal(symlink(q, p), 0);
	errno = 0;
	assert_int_equal(domains_is_local(&f->conf, "loop.example"),
	    -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(rcpt(f, "alice", "loop.example"), RESOLVE_TEMPFAIL);
}

static void
test_address_literal_is_remote(void **state)
{
	struct fix *f = *state;

	assert_int_equal(rcpt(f, "postmaster", "[192.0.2.1]"),
	    RESOLVE_REMOTE);
	assert_int_equal(rcpt(f, "alice", "[IPv6:2001:db8::1]"),
	    RESOLVE_REMOTE);
}

static void
test_postmaster_without_domain_is_local(void **state)
{
	struct fix *f = *state;

	assert_int_equal(rcpt(f, "postmaster", ""), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "PostMaster", ""), RESOLVE_LOCAL);
}

static void
test_other_domain_is_remote(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	assert_int_equal(rcpt(f, "alice", "gmail.com"), RESOLVE_REMOTE);
	assert_int_equal(rcpt(f, "postmaster", "gmail.com"), RESOLVE_REMOTE);
}

static void
test_postmaster_of_a_local_domain_needs_no_file(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	assert_int_equal(rcpt(f, "postmaster", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "POSTMASTER", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "alice", "example.org"), RESOLVE_NOUSER);
}

static void
test_postmaster_with_unreadable_files_is_a_temporary_failure(void **state)
{
	struct fix *f = *state;

	/* postmaster may be an alias: refusing it for good, or accepting
	 * it for a Maildir that the alias would not pick, would both be
	 * wrong. */
	tu_mkdomain(f->dir, "example.org");
	unreadable(f, "example.org", "aliases");
	assert_int_equal(rcpt(f, "postmaster", "example.org"),
	    RESOLVE_TEMPFAIL);
	assert_int_equal(rcpt(f, "alice", "example.org"), RESOLVE_TEMPFAIL);
}

static void
test_hostname_without_directory_has_only_postmaster(void **state)
{
	struct fix *f = *state;

	assert_int_equal(rcpt(f, "postmaster", "mx.example.net"),
	    RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "root", "mx.example.net"), RESOLVE_NOUSER);
	/* With a directory it is a domain like the others. */
	tu_mkdomain(f->dir, "mx.example.net");
	tu_put_domain(f->dir, "mx.example.net", "users", "root:!\n");
	assert_int_equal(rcpt(f, "root", "mx.example.net"), RESOLVE_LOCAL);
}

static void
test_user_of_users_file_is_local_in_any_case(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "users",
	    "# users\nalice:" H1 "\nlist:!\n");
	assert_int_equal(rcpt(f, "alice", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "Alice", "Example.ORG"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "list", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "bob", "example.org"), RESOLVE_NOUSER);
}

/* An international domain is local in both spellings, whichever its
 * directory has, and domains_name gives the directory's. */
static void
test_international_domain_is_local_in_either_spelling(void **state)
{
	struct fix *f = *state;
	char name[ADDR_DOMAIN_MAX + 1];
	int hasdir;

	tu_mkdomain(f->dir, "b\xc3\xbc" "cher.example");
	tu_put_domain(f->dir, "b\xc3\xbc" "cher.example", "users",
	    "j\xc3\xb6rg:!\n");
	tu_mkdomain(f->dir, "xn--mnchen-3ya.example");
	tu_put_domain(f->dir, "xn--mnchen-3ya.example", "users", "anna:!\n");

	assert_int_equal(rcpt(f, "j\xc3\xb6rg", "b\xc3\xbc" "cher.example"),
	    RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "J\xc3\xb6rg", "XN--BCHER-KVA.example"),
	    RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "anna", "m\xc3\xbcnchen.example"),
	    RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "bob", "xn--bcher-kva.example"),
	    RESOLVE_NOUSER);
	assert_int_equal(domains_name(&f->conf, "XN--bcher-kva.EXAMPLE",
	    name, sizeof(name), &hasdir), 1);
	assert_string_equal(name, "b\xc3\xbc" "cher.example");
	assert_true(hasdir);
	assert_int_equal(domains_name(&f->conf, "M\xc3\xbcnchen.example",
	    name, sizeof(name), &hasdir), 1);
	assert_string_equal(name, "xn--mnchen-3ya.example");
	/* Not the Punycode of a U-label, or another domain: not local. */
	assert_int_equal(rcpt(f, "anna", "xn--bcher-kv.example"),
	    RESOLVE_REMOTE);
	assert_int_equal(rcpt(f, "anna", "d\xc3\xb6main.example"),
	    RESOLVE_REMOTE);
	/* Upper case beyond ASCII is not IDNA 2008: not recognized. */
	assert_int_equal(rcpt(f, "j\xc3\xb6rg", "B\xc3\x9c" "CHER.example"),
	    RESOLVE_REMOTE);
}

static void
test_unreadable_aliases_fail_even_a_user(void **state)
{
	struct fix *f = *state;

	/* An alias of a user's own name comes first ("alice: alice,
	 * alice@gmail.example"), so a user's answer needs the file too. */
	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "users", "alice:" H1 "\n");
	unreadable(f, "example.org", "aliases");
	assert_int_equal(rcpt(f, "alice", "example.org"), RESOLVE_TEMPFAIL);
	assert_int_equal(rcpt(f, "bob", "example.org"), RESOLVE_TEMPFAIL);
}

static void
test_alias_that_leads_nowhere_is_refused(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "users", "alice:!\n");
	tu_put_domain(f->dir, "example.org", "aliases", "info: alice, ghost\n"
	    "loop: loop2\nloop2: loop\nbad: alice, not an address\n"
	    "fine: alice\n");
	assert_int_equal(rcpt(f, "info", "example.org"), RESOLVE_NOUSER);
	assert_int_equal(rcpt(f, "loop", "example.org"), RESOLVE_NOUSER);
	assert_int_equal(rcpt(f, "bad", "example.org"), RESOLVE_NOUSER);
	assert_int_equal(rcpt(f, "fine", "example.org"), RESOLVE_LOCAL);
}

static void
test_local_alias_to_a_remote_address_is_local(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "aliases", "me: me@gmail.com\n");
	assert_int_equal(rcpt(f, "me", "example.org"), RESOLVE_LOCAL);
}

static void
test_alias_name_is_local_in_any_case(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "users", "alice:!\n");
	tu_put_domain(f->dir, "example.org", "aliases", "# aliases\n\n"
	    "info: alice@example.org, bob@example.com\n"
	    "  Sales :alice\r\n"
	    "# ghost: alice\n"
	    "no colon on this line\n"
	    "tail: alice");
	assert_int_equal(rcpt(f, "info", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "INFO", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "sales", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "tail", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "ghost", "example.org"), RESOLVE_NOUSER);
	assert_int_equal(rcpt(f, "alice", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "bob", "example.org"), RESOLVE_NOUSER);
	assert_int_equal(rcpt(f, "no colon on this line", "example.org"),
	    RESOLVE_NOUSER);
}

static void
test_catch_all_makes_every_name_local(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	tu_mkdomain(f->dir, "example.com");
	tu_put_domain(f->dir, "example.org", "aliases",
	    "info: alice\n*: me@gmail.com\n");
	tu_put_domain(f->dir, "example.com", "aliases", "info: alice\n");
	assert_int_equal(rcpt(f, "anything", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "anything", "example.com"), RESOLVE_NOUSER);
}

static void
test_domain_without_files_has_only_postmaster(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, "example.org");
	assert_int_equal(rcpt(f, "postmaster", "example.org"), RESOLVE_LOCAL);
	assert_int_equal(rcpt(f, "alice", "example.org"), RESOLVE_NOUSER);
}

static void
test_unreadable_or_malformed_files_are_temporary_failures(void **state)
{
	struct fix *f = *state;
	char longline[5000];

	tu_mkdomain(f->dir, "a.example");
	tu_put_domain(f->dir, "a.example", "users",
	    "alice:" H1 "\nnot a user line\n");
	assert_int_equal(rcpt(f, "alice", "a.example"), RESOLVE_TEMPFAIL);
	assert_int_equal(rcpt(f, "bob", "a.example"), RESOLVE_TEMPFAIL);

	tu_mkdomain(f->dir, "b.example");
	unreadable(f, "b.example", "users");
	assert_int_equal(rcpt(f, "bob", "b.example"), RESOLVE_TEMPFAIL);

	tu_mkdomain(f->dir, "c.example");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	tu_put_domain(f->dir, "c.example", "aliases", longline);
	assert_int_equal(rcpt(f, "bob", "c.example"), RESOLVE_TEMPFAIL);
}

static void
test_domains_are_the_directories_sorted(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX], **v;
	size_t n, i;

	/* No domains directory: no domains, and no error. */
	assert_int_equal(domains_list(&f->conf, &v, &n), 0);
	assert_int_equal(n, 0);
	tu_mkdomain(f->dir, "zeta.example");
	tu_mkdomain(f->dir, "alpha.example");
	tu_mkdomain(f->dir, ".hidden");
	str_fmt(p, sizeof(p), "%s/domains/file.example", f->dir);
	tu_write_str(p, "not a domain\n");
	assert_int_equal(domains_list(&f->conf, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "alpha.example");
	assert_string_equal(v[1], "zeta.example");
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_hostname_is_local_in_any_case),
		T(test_directory_under_domains_makes_a_domain_local),
		T(test_a_plain_file_under_domains_is_not_a_domain),
		T(test_slash_or_leading_dot_is_never_local),
		T(test_unreadable_domains_directory_is_an_error),
		T(test_address_literal_is_remote),
		T(test_postmaster_without_domain_is_local),
		T(test_other_domain_is_remote),
		T(test_international_domain_is_local_in_either_spelling),
		T(test_postmaster_of_a_local_domain_needs_no_file),
		T(test_postmaster_with_unreadable_files_is_a_temporary_failure),
		T(test_hostname_without_directory_has_only_postmaster),
		T(test_user_of_users_file_is_local_in_any_case),
		T(test_unreadable_aliases_fail_even_a_user),
		T(test_alias_that_leads_nowhere_is_refused),
		T(test_local_alias_to_a_remote_address_is_local),
		T(test_alias_name_is_local_in_any_case),
		T(test_catch_all_makes_every_name_local),
		T(test_domain_without_files_has_only_postmaster),
		T(test_unreadable_or_malformed_files_are_temporary_failures),
		T(test_domains_are_the_directories_sorted),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
