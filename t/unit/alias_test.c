/* alias_test.c — where an address goes (alias.h): every form of an
 * aliases(5) line, the catch-all, drop characters and suffixes, case,
 * the recursion limit, loops and self-reference, remote and pipe targets,
 * postmaster, and alias_check's problems with their line numbers.  Each
 * test builds its own configuration directory. */

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

#include "alias.h"
#include "str.h"
#include "testutil.h"

#define D	"example.com"

enum { OUT_MAX = 8192 };

struct fix {
	char		dir[64];
	struct conf	conf;
	char		out[OUT_MAX];	/* the targets, one a line */
	char		why[ALIAS_WHY_MAX];
	size_t		n;		/* targets emitted */
	int		fail_at;	/* emit fails at this target (1..) */
	struct alias_target last;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "alias_test") == -1)
		return -1;
	str_copy(f->conf.dir, sizeof(f->conf.dir), f->dir);
	str_copy(f->conf.hostname, sizeof(f->conf.hostname),
	    "mx.example.net");
	str_copy(f->conf.maildirs, sizeof(f->conf.maildirs), "/var/mail");
	str_copy(f->conf.drop_characters, sizeof(f->conf.drop_characters),
	    CONF_DROP_CHARACTERS_DEFAULT);
	str_copy(f->conf.suffix_separators,
	    sizeof(f->conf.suffix_separators),
	    CONF_SUFFIX_SEPARATORS_DEFAULT);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	return tu_teardown(f, f->dir);
}

/* example.com with users alice, bob and the receive-only list, and the
 * aliases file given. */
static void
dom(struct fix *f, const char *aliases)
{
	tu_mkdomain(f->dir, D);
	tu_put_domain(f->dir, D, "users", "alice:!\nbob:!\nlist:!\n");
	if (aliases != NULL)
		tu_put_domain(f->dir, D, "aliases", aliases);
}

static int
collect(const struct alias_target *t, void *arg)
{
	struct fix *f = arg;
	size_t len = strlen(f->out);

	f->n++;
	f->last = *t;
	if (f->fail_at != 0 && f->n == (size_t)f->fail_at) {
		errno = ENOSPC;
		return -1;
	}
	switch (t->kind) {
	case ALIAS_MAILBOX:
		snprintf(f->out + len, sizeof(f->out) - len, "mailbox %s\n",
		    t->addr);
		break;
	case ALIAS_PIPE:
		snprintf(f->out + len, sizeof(f->out) - len, "pipe %s |%s\n",
		    t->addr, t->cmd);
		break;
	case ALIAS_REMOTE:
		snprintf(f->out + len, sizeof(f->out) - len, "remote %s\n",
		    t->addr);
		break;
	}
	return 0;
}

static enum alias_result
res(struct fix *f, const char *address)
{
	f->out[0] = '\0';
	f->why[0] = '\0';
	f->n = 0;
	return alias_resolve(&f->conf, address, collect, f, f->why,
	    sizeof(f->why));
}

/* address resolves, to exactly the lines of want. */
static void
to(struct fix *f, const char *address, const char *want)
{
	enum alias_result r = res(f, address);

	if (r != ALIAS_OK)
		fail_msg("%s: result %d: %s", address, r, f->why);
	assert_string_equal(f->out, want);
}

static void
broken(struct fix *f, const char *address, const char *why)
{
	enum alias_result r = res(f, address);

	if (r != ALIAS_BROKEN)
		fail_msg("%s: result %d, targets:\n%s", address, r, f->out);
	if (strstr(f->why, why) == NULL)
		fail_msg("%s: why is \"%s\", want \"%s\" in it", address,
		    f->why, why);
}

static void
nouser(struct fix *f, const char *address)
{
	enum alias_result r = res(f, address);

	if (r != ALIAS_NOUSER)
		fail_msg("%s: result %d, targets:\n%s", address, r, f->out);
}

/* --- the forms of a line ------------------------------------------------ */

static void
test_user_resolves_to_its_mailbox(void **state)
{
	struct fix *f = *state;

	dom(f, NULL);
	to(f, "alice@" D, "mailbox alice@" D "\n");
	assert_int_equal(f->last.kind, ALIAS_MAILBOX);
	assert_string_equal(f->last.user, "alice");
	assert_string_equal(f->last.domain, D);
	nouser(f, "carol@" D);
}

static void
test_list_alias_expands_to_local_and_remote_targets(void **state)
{
	struct fix *f = *state;

	dom(f, "team: alice, bob@" D ", someone@Gmail.COM\n");
	to(f, "team@" D, "mailbox alice@" D "\nmailbox bob@" D
	    "\nremote someone@gmail.com\n");
	assert_int_equal(f->last.kind, ALIAS_REMOTE);
}

static void
test_names_are_case_insensitive_on_both_sides(void **state)
{
	struct fix *f = *state;

	dom(f, "  Sales :ALICE\n");
	to(f, "sales@" D, "mailbox alice@" D "\n");
	to(f, "SALES@EXAMPLE.COM", "mailbox alice@" D "\n");
	to(f, "Alice@" D, "mailbox alice@" D "\n");
}

static void
test_comments_blanks_crlf_and_trailing_commas_are_ignored(void **state)
{
	struct fix *f = *state;

	dom(f, "# a comment\n\n   \n\t# indented comment\r\n"
	    "info: alice,, bob ,\r\n# ghost: alice\nlast: bob");
	to(f, "info@" D, "mailbox alice@" D "\nmailbox bob@" D "\n");
	to(f, "last@" D, "mailbox bob@" D "\n");
	nouser(f, "ghost@" D);
}

static void
test_left_side_may_name_its_own_domain(void **state)
{
	struct fix *f = *state;

	dom(f, "info@Example.COM: alice\nother@example.org: bob\n");
	to(f, "info@" D, "mailbox alice@" D "\n");
	/* The other domain's line is a syntax error, not a name. */
	nouser(f, "other@" D);
}

static void
test_pipe_alias_takes_the_rest_of_the_line(void **state)
{
	struct fix *f = *state;

	dom(f, "handler: |  /usr/bin/email-handler --work  \"a b\"  \n"
	    "null: | cat\n");
	to(f, "handler@" D,
	    "pipe handler@" D " |/usr/bin/email-handler --work  \"a b\"\n");
	assert_int_equal(f->last.kind, ALIAS_PIPE);
	assert_string_equal(f->last.user, "handler");
	assert_string_equal(f->last.domain, D);
	to(f, "NULL@" D, "pipe null@" D " |cat\n");
}

static void
test_pipe_reached_through_a_list(void **state)
{
	struct fix *f = *state;

	dom(f, "all: alice, archive\narchive: | /bin/archive\n");
	to(f, "all@" D, "mailbox alice@" D "\npipe archive@" D
	    " |/bin/archive\n");
}

static void
test_alias_comes_before_a_user_of_the_same_name(void **state)
{
	struct fix *f = *state;

	dom(f, "bob: alice\n");
	to(f, "bob@" D, "mailbox alice@" D "\n");
}

/* --- the catch-all -------------------------------------------------------- */

static void
test_catch_all_takes_what_no_user_or_alias_takes(void **state)
{
	struct fix *f = *state;

	dom(f, "info: bob\n*: me@gmail.com\n");
	to(f, "anything@" D, "remote me@gmail.com\n");
	to(f, "alice@" D, "mailbox alice@" D "\n");
	to(f, "info@" D, "mailbox bob@" D "\n");
	/* postmaster has no line: the catch-all takes it too. */
	to(f, "postmaster@" D, "remote me@gmail.com\n");
}

/* A catch-all pipe's command is told the address it caught (RECIPIENT,
 * USER), not "*" (issue 15, item 11); a named pipe keeps its alias. */
static void
test_catch_all_pipe_is_named_by_the_address_caught(void **state)
{
	struct fix *f = *state;

	dom(f, "tickets: | /bin/handler\n*: | /bin/catchall\n");
	to(f, "Billing+Q1@" D, "pipe billing+q1@" D " |/bin/catchall\n");
	assert_string_equal(f->last.user, "billing+q1");
	assert_string_equal(f->last.domain, D);
	to(f, "tickets@" D, "pipe tickets@" D " |/bin/handler\n");
	/* An alias to a name that only the catch-all takes. */
	dom(f, "info: ghost\n*: | /bin/catchall\n");
	to(f, "info@" D, "pipe ghost@" D " |/bin/catchall\n");
}

static void
test_catch_all_to_a_local_user(void **state)
{
	struct fix *f = *state;

	dom(f, "*: alice\n");
	to(f, "whoever@" D, "mailbox alice@" D "\n");
}

static void
test_catch_all_to_a_name_that_does_not_exist_is_broken(void **state)
{
	struct fix *f = *state;

	dom(f, "*: ghost\n");
	broken(f, "whoever@" D, "aliases:1: ghost: no such user or alias");
	broken(f, "ghost@" D, "aliases:1: ghost: no such user or alias");
}

/* RFC 5321 §4.5.1: postmaster is accepted whatever else is wrong.  A
 * catch-all that works takes it (the person who reads the domain's other
 * mail); one that is broken does not make it refused: it falls to the
 * postmaster Maildir, and nothing of the broken line is delivered. */
static void
test_a_broken_catch_all_leaves_postmaster_its_maildir(void **state)
{
	struct fix *f = *state;

	dom(f, "*: ghost\n");
	to(f, "postmaster@" D, "mailbox postmaster@" D "\n");
	to(f, "PostMaster@" D, "mailbox postmaster@" D "\n");
	assert_string_equal(f->why, "");
	dom(f, "*: alice, me@gmail.com, ghost\n");
	to(f, "postmaster@" D, "mailbox postmaster@" D "\n");
	broken(f, "whoever@" D, "ghost: no such user or alias");
	dom(f, "abuse: postmaster\n*: alice, ghost\n");
	to(f, "abuse@" D, "mailbox postmaster@" D "\n");
	/* Working again: the catch-all has it back. */
	dom(f, "*: alice, me@gmail.com\n");
	to(f, "postmaster@" D, "mailbox alice@" D "\nremote me@gmail.com\n");
}

static void
test_without_catch_all_an_unknown_name_is_no_user(void **state)
{
	struct fix *f = *state;

	dom(f, "info: alice\n");
	nouser(f, "nobody@" D);
	assert_non_null(strstr(f->why, "nobody@" D));
}

/* --- drop characters and suffixes ----------------------------------------- */

static void
test_drop_characters_and_suffix_reach_the_user(void **state)
{
	struct fix *f = *state;

	dom(f, NULL);
	to(f, "a.li.ce+tag@" D, "mailbox alice@" D "\n");
	to(f, "A.Lice@" D, "mailbox alice@" D "\n");
	to(f, "alice+@" D, "mailbox alice@" D "\n");
	to(f, "alice+a.b+c@" D, "mailbox alice@" D "\n");
	nouser(f, "+alice@" D);
}

static void
test_drop_characters_in_alias_names_are_ignored(void **state)
{
	struct fix *f = *state;

	dom(f, "juana.perez: alice\njuana.perez+fruta: bob\n");
	to(f, "juana.perez@" D, "mailbox alice@" D "\n");
	to(f, "juanaperez@" D, "mailbox alice@" D "\n");
	to(f, "ju.ana.pe.rez@" D, "mailbox alice@" D "\n");
	to(f, "juanaperez+abc@" D, "mailbox alice@" D "\n");
	/* A suffix of its own comes before the name without it. */
	to(f, "juana.perez+fruta@" D, "mailbox bob@" D "\n");
	to(f, "juanaperez+fruta@" D, "mailbox bob@" D "\n");
	/* Behind the separator a dot counts. */
	to(f, "juanaperez+fru.ta@" D, "mailbox alice@" D "\n");
}

static void
test_user_names_with_drop_characters_are_found_as_written(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, D);
	tu_put_domain(f->dir, D, "users", "a.b:!\nab:!\n");
	tu_put_domain(f->dir, D, "aliases", "x: a.b\n");
	to(f, "x@" D, "mailbox a.b@" D "\n");
	to(f, "ab+z@" D, "mailbox ab@" D "\n");
}

static void
test_empty_drop_characters_and_separators_turn_them_off(void **state)
{
	struct fix *f = *state;

	dom(f, "john.doe: bob\n");
	f->conf.drop_characters[0] = '\0';
	f->conf.suffix_separators[0] = '\0';
	to(f, "alice@" D, "mailbox alice@" D "\n");
	nouser(f, "a.lice@" D);
	nouser(f, "alice+tag@" D);
	to(f, "john.doe@" D, "mailbox bob@" D "\n");
	nouser(f, "johndoe@" D);
}

static void
test_other_drop_characters_and_separators(void **state)
{
	struct fix *f = *state;

	dom(f, NULL);
	str_copy(f->conf.drop_characters, sizeof(f->conf.drop_characters),
	    "_");
	str_copy(f->conf.suffix_separators,
	    sizeof(f->conf.suffix_separators), "-+");
	to(f, "al_ice-news@" D, "mailbox alice@" D "\n");
	to(f, "alice+x@" D, "mailbox alice@" D "\n");
	nouser(f, "a.lice@" D);
}

/* --- recursion, loops, self-reference ------------------------------------- */

/* n aliases a1: a2, ..., an: alice. */
static void
chain(struct fix *f, int n)
{
	char buf[1024];
	size_t len = 0;
	int i;

	for (i = 1; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "a%d: a%d\n", i, i + 1);
	snprintf(buf + len, sizeof(buf) - len, "a%d: alice\n", n);
	dom(f, buf);
}

static void
test_ten_nested_aliases_resolve(void **state)
{
	struct fix *f = *state;

	chain(f, ALIAS_DEPTH_MAX);
	to(f, "a1@" D, "mailbox alice@" D "\n");
}

static void
test_eleven_nested_aliases_are_broken(void **state)
{
	struct fix *f = *state;

	chain(f, ALIAS_DEPTH_MAX + 1);
	broken(f, "a1@" D, "aliases nested deeper than 10: a1@" D " -> a2@"
	    D);
	assert_non_null(strstr(f->why, "a11@" D));
	assert_int_equal(f->n, 0);
	/* From the second on it is ten deep again. */
	to(f, "a2@" D, "mailbox alice@" D "\n");
}

static void
test_loop_is_broken_and_named(void **state)
{
	struct fix *f = *state;

	dom(f, "a: b\nb: a\nc: c\nd: alice, a\n");
	broken(f, "a@" D, "alias loop: a@" D " -> b@" D " -> a@" D);
	broken(f, "c@" D, "alias loop: c@" D " -> c@" D);
	broken(f, "d@" D, "alias loop: a@" D " -> b@" D " -> a@" D);
}

static void
test_self_reference_keeps_a_copy_for_the_user(void **state)
{
	struct fix *f = *state;

	dom(f, "alice: alice, alice@gmail.example\n"
	    "bob: b.o.b+x, bob@elsewhere.example\n");
	to(f, "alice@" D, "mailbox alice@" D "\nremote alice@gmail.example\n");
	to(f, "a.lice+tag@" D,
	    "mailbox alice@" D "\nremote alice@gmail.example\n");
	to(f, "bob@" D, "mailbox bob@" D "\nremote bob@elsewhere.example\n");
}

static void
test_shared_member_comes_twice_without_a_loop(void **state)
{
	struct fix *f = *state;

	dom(f, "all: x, y\nx: alice\ny: alice, bob\n");
	to(f, "all@" D, "mailbox alice@" D "\nmailbox alice@" D
	    "\nmailbox bob@" D "\n");
}

static void
test_local_target_that_does_not_exist_breaks_the_alias(void **state)
{
	struct fix *f = *state;

	dom(f, "# one\nteam: alice, carol, bob\n");
	broken(f, "team@" D, "/domains/" D "/aliases:2: carol: no such user "
	    "or alias");
}

static void
test_alias_to_another_local_domain_is_followed(void **state)
{
	struct fix *f = *state;

	dom(f, "info: help@example.org\n");
	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "users", "carol:!\n");
	tu_put_domain(f->dir, "example.org", "aliases",
	    "help: carol, alice@" D "\n");
	to(f, "info@" D, "mailbox carol@example.org\nmailbox alice@" D "\n");
	tu_put_domain(f->dir, "example.org", "aliases",
	    "help: carol, info@" D "\n");
	broken(f, "info@" D, "alias loop: info@" D " -> help@example.org -> "
	    "info@" D);
}

/* --- remote, postmaster, files -------------------------------------------- */

static void
test_remote_address_is_one_remote_target(void **state)
{
	struct fix *f = *state;

	dom(f, NULL);
	to(f, "Someone@Gmail.com", "remote Someone@gmail.com\n");
	to(f, "x@[192.0.2.1]", "remote x@[192.0.2.1]\n");
	to(f, "\"a b\"@gmail.com", "remote \"a b\"@gmail.com\n");
}

static void
test_postmaster_exists_in_every_local_domain(void **state)
{
	struct fix *f = *state;

	tu_mkdomain(f->dir, D);
	to(f, "postmaster@" D, "mailbox postmaster@" D "\n");
	to(f, "PostMaster@" D, "mailbox postmaster@" D "\n");
	to(f, "postmaster", "mailbox postmaster@mx.example.net\n");
	to(f, "postmaster@mx.example.net",
	    "mailbox postmaster@mx.example.net\n");
	nouser(f, "root@mx.example.net");
}

static void
test_postmaster_alias_or_user_comes_first(void **state)
{
	struct fix *f = *state;

	dom(f, "postmaster: alice, me@gmail.com\n");
	to(f, "postmaster@" D, "mailbox alice@" D "\nremote me@gmail.com\n");
	tu_put_domain(f->dir, D, "aliases", "");
	tu_put_domain(f->dir, D, "users", "postmaster:!\n");
	to(f, "postmaster@" D, "mailbox postmaster@" D "\n");
}

static void
test_unreadable_file_is_a_temporary_failure(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];

	tu_mkdomain(f->dir, D);
	/* A directory in the file's place: open works, read fails. */
	snprintf(p, sizeof(p), "%s/domains/" D "/aliases", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	errno = 0;
	assert_int_equal(res(f, "alice@" D), ALIAS_TEMPFAIL);
	assert_int_equal(errno, EISDIR);
	assert_non_null(strstr(f->why, "/aliases"));
	rmdir(p);
	snprintf(p, sizeof(p), "%s/domains/" D "/users", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(res(f, "alice@" D), ALIAS_TEMPFAIL);
	assert_non_null(strstr(f->why, "/users"));
}

static void
test_line_too_long_is_a_temporary_failure(void **state)
{
	struct fix *f = *state;
	char *s = malloc(ALIAS_LINE_MAX + 64);

	assert_non_null(s);
	memset(s, 'x', ALIAS_LINE_MAX + 1);
	str_copy(s + ALIAS_LINE_MAX + 1, 63, ": alice\n");
	dom(f, s);
	free(s);
	assert_int_equal(res(f, "info@" D), ALIAS_TEMPFAIL);
}

static void
test_emit_that_fails_stops_with_a_temporary_failure(void **state)
{
	struct fix *f = *state;

	dom(f, "team: alice, bob\n");
	f->fail_at = 1;
	assert_int_equal(res(f, "team@" D), ALIAS_TEMPFAIL);
	assert_int_equal(f->n, 1);
	assert_int_equal(errno, ENOSPC);
}

static void
test_name_given_twice_resolves_to_the_first(void **state)
{
	struct fix *f = *state;

	dom(f, "info: alice\nInfo: bob\nin.fo: bob\n*: alice\n*: bob\n");
	to(f, "info@" D, "mailbox alice@" D "\n");
	to(f, "info+x@" D, "mailbox alice@" D "\n");
	to(f, "other@" D, "mailbox alice@" D "\n");
}

static void
test_bad_line_breaks_only_its_own_alias(void **state)
{
	struct fix *f = *state;

	dom(f, "no colon here\nbad: alice, not an address\n"
	    "empty: , ,\nnopipe: |\nfine: bob\n");
	broken(f, "bad@" D, "aliases:2: not an address");
	broken(f, "empty@" D, "aliases:3: no target");
	broken(f, "nopipe@" D, "aliases:4: '|' without a command");
	assert_int_equal(f->n, 0);
	to(f, "fine@" D, "mailbox bob@" D "\n");
}

static void
test_bad_address_is_no_user(void **state)
{
	struct fix *f = *state;

	dom(f, NULL);
	nouser(f, "not an address");
	nouser(f, "alice");
}

/* --- alias_check ---------------------------------------------------------- */

struct reports {
	char	text[OUT_MAX];	/* "LINE: why\n" each */
	char	file[PATH_MAX];
	int	n;
};

static void
report(const char *file, size_t line, const char *why, void *arg)
{
	struct reports *r = arg;
	size_t len = strlen(r->text);

	snprintf(r->file, sizeof(r->file), "%s", file);
	snprintf(r->text + len, sizeof(r->text) - len, "%zu: %s\n", line,
	    why);
	r->n++;
}

static int
check(struct fix *f, const char *domain, struct reports *r)
{
	memset(r, 0, sizeof(*r));
	return alias_check(&f->conf, domain, report, r);
}

/* The report of line "N: " says want. */
static void
said(const struct reports *r, const char *want)
{
	if (strstr(r->text, want) == NULL)
		fail_msg("no \"%s\" in the reports:\n%s", want, r->text);
}

static void
test_check_of_a_good_file_reports_nothing(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "# fine\ninfo: alice, bob, me@gmail.com\nh: | cat\n"
	    "alice: alice, alice@gmail.example\n*: alice\n");
	assert_int_equal(check(f, D, &r), 0);
	assert_string_equal(r.text, "");
	tu_mkdomain(f->dir, "example.org");
	assert_int_equal(check(f, "example.org", &r), 0);
	assert_int_equal(check(f, "mx.example.net", &r), 0);
}

static void
test_check_reports_every_syntax_error_with_its_line(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "# 1\n"
	    "no colon\n"				/* 2 */
	    ": alice\n"					/* 3 */
	    "info:\n"					/* 4 */
	    "x@example.org: alice\n"			/* 5 */
	    "two words: alice\n"			/* 6 */
	    "list: alice, not an address, |cat\n"	/* 7 */
	    "p: |   \n"					/* 8 */
	    "ok: alice\n"				/* 9 */
	    "a..b: alice\n");				/* 10 */
	assert_int_equal(check(f, D, &r), 9);
	assert_non_null(strstr(r.file, "/domains/" D "/aliases"));
	said(&r, "2: no ':'");
	said(&r, "3: no name");
	said(&r, "4: info: no target");
	said(&r, "5: x@example.org: a name of another domain");
	said(&r, "6: two words: a name has no spaces");
	said(&r, "7: not an address: ");
	said(&r, "7: |cat: a pipe must be the whole right side");
	said(&r, "8: '|' without a command");
	said(&r, "10: a..b: ");
	assert_null(strstr(r.text, "\n9: "));
}

/* No valid name at all: nothing to sort (qsort(NULL, 0) is undefined;
 * UBSan in the SAN=1 build, issue 15 item 12). */
static void
test_check_of_a_file_without_a_valid_name(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "# only a comment\nno colon\n");
	assert_int_equal(check(f, D, &r), 1);
	said(&r, "2: no ':'");
	dom(f, "");
	assert_int_equal(check(f, D, &r), 0);
}

static void
test_check_reports_a_name_given_twice(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "info: alice\nsales: bob\nINFO: bob\nin.fo: bob\n");
	assert_int_equal(check(f, D, &r), 2);
	said(&r, "3: info: named again; line 1 is the one used");
	said(&r, "4: in.fo: named again; line 1 is the one used");
}

static void
test_check_reports_local_targets_that_do_not_exist(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "team: alice, carol, dave@" D ", x@gmail.com\n"
	    "up: team\n");
	assert_int_equal(check(f, D, &r), 2);
	said(&r, "1: carol: no such user or alias");
	said(&r, "1: dave@" D ": no such user or alias");
	/* up leads to the broken team: that is team's line's problem. */
	assert_null(strstr(r.text, "2: "));
}

static void
test_check_reports_a_loop_once_at_its_first_line(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "x: a\na: b\nb: a\nself: self\n");
	assert_int_equal(check(f, D, &r), 2);
	said(&r, "2: alias loop: a@" D " -> b@" D " -> a@" D);
	said(&r, "4: alias loop: self@" D " -> self@" D);
}

static void
test_check_reports_aliases_nested_too_deep(void **state)
{
	struct fix *f = *state;
	struct reports r;

	chain(f, ALIAS_DEPTH_MAX + 1);
	assert_int_equal(check(f, D, &r), 1);
	said(&r, "1: aliases nested deeper than 10");
	chain(f, ALIAS_DEPTH_MAX);	/* rewrites the file: a1..a10 */
	assert_int_equal(check(f, D, &r), 0);
}

static void
test_check_reports_another_domain_s_problem_where_it_leads(void **state)
{
	struct fix *f = *state;
	struct reports r;

	dom(f, "info: help@example.org\n");
	tu_mkdomain(f->dir, "example.org");
	tu_put_domain(f->dir, "example.org", "aliases", "help: ghost\n");
	assert_int_equal(check(f, D, &r), 1);
	said(&r, "1: ");
	said(&r, "example.org/aliases:1: ghost: no such user or alias");
	assert_int_equal(check(f, "example.org", &r), 1);
	said(&r, "1: ghost: no such user or alias");
}

static void
test_check_goes_on_after_a_line_too_long(void **state)
{
	struct fix *f = *state;
	struct reports r;
	char *s = malloc(ALIAS_LINE_MAX + 64);

	assert_non_null(s);
	memcpy(s, "a: alice\n", 9);
	memset(s + 9, 'x', ALIAS_LINE_MAX + 1);
	str_copy(s + 9 + ALIAS_LINE_MAX + 1, 54, ": alice\nbad\nb: bob\n");
	dom(f, s);
	free(s);
	assert_int_equal(check(f, D, &r), 2);
	said(&r, "2: a line longer than 4096 bytes");
	said(&r, "3: no ':'");
}

static void
test_check_of_a_domain_that_is_not_local(void **state)
{
	struct fix *f = *state;
	struct reports r;

	assert_int_equal(check(f, "nowhere.example", &r), 1);
	said(&r, "0: not a local domain");
	assert_int_equal(check(f, "../etc", &r), 1);
}

static void
test_check_of_an_unreadable_file_is_an_error(void **state)
{
	struct fix *f = *state;
	struct reports r;
	char p[PATH_MAX];

	tu_mkdomain(f->dir, D);
	snprintf(p, sizeof(p), "%s/domains/" D "/aliases", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	errno = 0;
	assert_int_equal(check(f, D, &r), -1);
	assert_int_equal(errno, EISDIR);
}

/* --- send-as (alias_sendas) ------------------------------------------- */

static int
sendas(struct fix *f, const char *login, const char *address)
{
	return alias_sendas(&f->conf, login, address, f->why,
	    sizeof(f->why));
}

/* "sales: alice" gives alice sales@; a chain of such aliases too; her
 * own suffixes and drop characters are hers, even when her own line
 * keeps a copy elsewhere. */
static void
test_sendas_an_alias_whose_one_target_is_the_login(void **state)
{
	struct fix *f = *state;

	dom(f, "sales: alice\nteam: sales\n"
	    "bob: bob, bob@gmail.example\n");
	assert_int_equal(sendas(f, "alice@" D, "sales@" D), 1);
	assert_int_equal(sendas(f, "alice@" D, "Team@" D), 1);
	assert_int_equal(sendas(f, "alice@" D, "a.lice+x@" D), 1);
	assert_int_equal(sendas(f, "bob@" D, "bob+lists@" D), 1);
	assert_int_equal(sendas(f, "bob@" D, "sales@" D), 0);
}

/* "bob: bob, alice" sends alice a copy of bob's mail, not his name; a
 * list of two users is neither's. */
static void
test_sendas_never_through_an_alias_another_user_receives(void **state)
{
	struct fix *f = *state;

	dom(f, "bob: bob, alice\nboth: alice, list\n"
	    "out: alice, someone@gmail.example\n");
	assert_int_equal(sendas(f, "alice@" D, "bob@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "bob+x@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "both@" D), 0);
	assert_int_equal(sendas(f, "list@" D, "both@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "out@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "nobody@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "alice@gmail.example"), 0);
}

/* The catch-all leads everything to alice; it makes nothing hers.
 * Nor does postmaster, an alias of hers or not. */
static void
test_sendas_never_through_the_catch_all_or_for_postmaster(void **state)
{
	struct fix *f = *state;

	dom(f, "*: alice\npostmaster: alice\nabuse: postmaster\n");
	tu_mkdomain(f->dir, "other.example");
	tu_put_domain(f->dir, "other.example", "aliases",
	    "*: alice@" D "\n");
	assert_int_equal(sendas(f, "alice@" D, "billing@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "billing@other.example"), 0);
	assert_int_equal(sendas(f, "alice@" D, "postmaster@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "post.master+x@" D), 0);
	assert_int_equal(sendas(f, "alice@" D, "postmaster"), 0);
	/* abuse's one target is postmaster's line, not alice: hers */
	assert_int_equal(sendas(f, "alice@" D, "abuse@" D), 1);
	assert_int_equal(sendas(f, "alice@" D, "alice@" D), 1);
}

/* A file that cannot be read is a temporary failure, not a no. */
static void
test_sendas_unreadable_aliases_is_a_temporary_failure(void **state)
{
	struct fix *f = *state;
	char p[PATH_MAX];

	dom(f, NULL);
	snprintf(p, sizeof(p), "%s/domains/" D "/aliases", f->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	errno = 0;
	assert_int_equal(sendas(f, "alice@" D, "sales@" D), -1);
	assert_int_equal(errno, EISDIR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_user_resolves_to_its_mailbox),
		T(test_list_alias_expands_to_local_and_remote_targets),
		T(test_names_are_case_insensitive_on_both_sides),
		T(test_comments_blanks_crlf_and_trailing_commas_are_ignored),
		T(test_left_side_may_name_its_own_domain),
		T(test_pipe_alias_takes_the_rest_of_the_line),
		T(test_pipe_reached_through_a_list),
		T(test_alias_comes_before_a_user_of_the_same_name),
		T(test_catch_all_takes_what_no_user_or_alias_takes),
		T(test_catch_all_pipe_is_named_by_the_address_caught),
		T(test_catch_all_to_a_local_user),
		T(test_catch_all_to_a_name_that_does_not_exist_is_broken),
		T(test_without_catch_all_an_unknown_name_is_no_user),
		T(test_drop_characters_and_suffix_reach_the_user),
		T(test_drop_characters_in_alias_names_are_ignored),
		T(test_user_names_with_drop_characters_are_found_as_written),
		T(test_empty_drop_characters_and_separators_turn_them_off),
		T(test_other_drop_characters_and_separators),
		T(test_ten_nested_aliases_resolve),
		T(test_eleven_nested_aliases_are_broken),
		T(test_loop_is_broken_and_named),
		T(test_self_reference_keeps_a_copy_for_the_user),
		T(test_shared_member_comes_twice_without_a_loop),
		T(test_local_target_that_does_not_exist_breaks_the_alias),
		T(test_alias_to_another_local_domain_is_followed),
		T(test_remote_address_is_one_remote_target),
		T(test_postmaster_exists_in_every_local_domain),
		T(test_a_broken_catch_all_leaves_postmaster_its_maildir),
		T(test_postmaster_alias_or_user_comes_first),
		T(test_unreadable_file_is_a_temporary_failure),
		T(test_line_too_long_is_a_temporary_failure),
		T(test_emit_that_fails_stops_with_a_temporary_failure),
		T(test_name_given_twice_resolves_to_the_first),
		T(test_bad_line_breaks_only_its_own_alias),
		T(test_bad_address_is_no_user),
		T(test_check_of_a_good_file_reports_nothing),
		T(test_check_reports_every_syntax_error_with_its_line),
		T(test_check_of_a_file_without_a_valid_name),
		T(test_check_reports_a_name_given_twice),
		T(test_check_reports_local_targets_that_do_not_exist),
		T(test_check_reports_a_loop_once_at_its_first_line),
		T(test_check_reports_aliases_nested_too_deep),
		T(test_check_reports_another_domain_s_problem_where_it_leads),
		T(test_check_goes_on_after_a_line_too_long),
		T(test_check_of_a_domain_that_is_not_local),
		T(test_check_of_an_unreadable_file_is_an_error),
		T(test_sendas_an_alias_whose_one_target_is_the_login),
		T(test_sendas_never_through_an_alias_another_user_receives),
		T(test_sendas_never_through_the_catch_all_or_for_postmaster),
		T(test_sendas_unreadable_aliases_is_a_temporary_failure),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
