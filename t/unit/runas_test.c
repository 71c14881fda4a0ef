/* runas_test.c — whom queue-runas(8) runs a command as: the
 * configuration's command_user (posthorn.conf's, a domain's
 * domain.conf over it), and only from a configuration that root alone
 * can write; never root, never the caller, never a group of the
 * caller's.  Run as root (make check is), with the system's nobody. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pwd.h>
#include <unistd.h>

#include <cmocka.h>

#include "runas.h"
#include "str.h"
#include "testutil.h"

struct fx {
	char		dir[64];
	char		etc[PATH_MAX];
	struct conf	conf;
	uid_t		nobody;
	gid_t		nogroup;
};

static int
setup(void **state)
{
	struct passwd *pw;
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "runas_test") == -1 ||
	    str_fmt(fx->etc, sizeof(fx->etc), "%s/etc", fx->dir) == -1 ||
	    mkdir(fx->etc, 0755) == -1 || chmod(fx->etc, 0755) == -1 ||
	    (pw = getpwnam("nobody")) == NULL)
		return -1;
	fx->nobody = pw->pw_uid;
	fx->nogroup = pw->pw_gid;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	return tu_teardown(fx, fx->dir);
}

/* posthorn.conf with text, loaded from the trusted directory. */
static void
load(struct fx *fx, const char *text)
{
	char path[PATH_MAX], real[PATH_MAX], why[RUNAS_WHY_MAX];

	assert_int_equal(str_fmt(path, sizeof(path), "%s/posthorn.conf",
	    fx->etc), 0);
	tu_write_str(path, text);
	assert_int_equal(chmod(path, 0644), 0);
	if (runas_trusted_dir(fx->etc, real, sizeof(real), why,
	    sizeof(why)) == -1)
		fail_msg("%s", why);
	assert_int_equal(conf_load(&fx->conf, real, why, sizeof(why)), 0);
}

/* runas_target for example.org, as a caller of uid 1000 in group 1000
 * and its groups 1001 and 1002 (posthorn, posthorn-drop, mail...). */
static int
target(struct fx *fx, struct runas_id *id, char *why, size_t size)
{
	static const gid_t groups[] = { 1001, 1002 };

	return runas_target(&fx->conf, "example.org", 1000, 1000, groups, 2,
	    id, why, size);
}

static void
test_default_is_nobody_with_its_group(void **state)
{
	struct fx *fx = *state;
	char why[RUNAS_WHY_MAX];
	struct runas_id id;

	load(fx, "spool = /nonexistent\n");
	if (target(fx, &id, why, sizeof(why)) == -1)
		fail_msg("%s", why);
	assert_int_equal(id.uid, fx->nobody);
	assert_int_equal(id.gid, fx->nogroup);
	assert_string_equal(id.name, "nobody");
}

static void
test_root_is_refused(void **state)
{
	struct fx *fx = *state;
	char why[RUNAS_WHY_MAX];
	struct runas_id id;

	load(fx, "command_user = root\n");
	assert_int_equal(target(fx, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "refused, root's uid"));
	/* nobody with root's group: the same. */
	load(fx, "command_user = nobody:root\n");
	assert_int_equal(target(fx, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "refused, root's group"));
}

static void
test_the_callers_uid_and_groups_are_refused(void **state)
{
	struct fx *fx = *state;
	char why[RUNAS_WHY_MAX];
	struct runas_id id;

	load(fx, "spool = /nonexistent\n");
	assert_int_equal(runas_target(&fx->conf, "example.org", fx->nobody,
	    1000, NULL, 0, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "mail system's own user"));
	assert_int_equal(runas_target(&fx->conf, "example.org", 1000, 1000,
	    (const gid_t[]){ 5, fx->nogroup }, 2, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "a group of the mail system's"));
}

static void
test_the_owner_of_the_spool_is_refused(void **state)
{
	struct fx *fx = *state;
	char spool[PATH_MAX], text[PATH_MAX + 16], why[RUNAS_WHY_MAX];
	struct runas_id id;

	assert_int_equal(str_fmt(spool, sizeof(spool), "%s/spool", fx->dir),
	    0);
	assert_int_equal(mkdir(spool, 0700), 0);
	assert_int_equal(chown(spool, fx->nobody, fx->nogroup), 0);
	assert_int_equal(str_fmt(text, sizeof(text), "spool = %s\n", spool),
	    0);
	load(fx, text);
	assert_int_equal(target(fx, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "owns the spool"));
}

static void
test_a_domain_names_its_own_user(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX], why[RUNAS_WHY_MAX];
	struct runas_id id;

	load(fx, "command_user = root\nspool = /nonexistent\n");
	tu_mkdomain(fx->etc, "example.org");
	assert_int_equal(str_fmt(path, sizeof(path),
	    "%s/domains/example.org/domain.conf", fx->etc), 0);
	tu_write_str(path, "command_user = nobody:nogroup\n");
	assert_int_equal(chmod(path, 0644), 0);
	if (target(fx, &id, why, sizeof(why)) == -1)
		fail_msg("%s", why);
	assert_int_equal(id.uid, fx->nobody);
	assert_string_equal(id.name, "nobody:nogroup");
	/* One that others may write names no one. */
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(target(fx, &id, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a file of root's alone"));
}

static void
test_a_configuration_others_can_write_is_refused(void **state)
{
	struct fx *fx = *state;
	char real[PATH_MAX], why[RUNAS_WHY_MAX], sub[PATH_MAX];

	load(fx, "\n");
	assert_int_equal(chmod(fx->etc, 0775), 0);
	assert_int_equal(runas_trusted_dir(fx->etc, real, sizeof(real), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not root's alone"));
	/* Sticky and world-writable, as /tmp: fine above it, not as it. */
	assert_int_equal(chmod(fx->etc, 01777), 0);
	assert_int_equal(runas_trusted_dir(fx->etc, real, sizeof(real), why,
	    sizeof(why)), -1);
	assert_int_equal(str_fmt(sub, sizeof(sub), "%s/sub", fx->etc), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	if (runas_trusted_dir(sub, real, sizeof(real), why,
	    sizeof(why)) == -1)
		fail_msg("%s", why);
	/* A directory of another user's, even one that no one else may
	 * write. */
	assert_int_equal(chown(sub, fx->nobody, fx->nogroup), 0);
	assert_int_equal(runas_trusted_dir(sub, real, sizeof(real), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "owner"));
}

/* posthorn.conf is refused by the walk, before conf_load reads it as
 * root: one that others may write, and a link to a file of root's. */
static void
test_posthorn_conf_is_checked_before_it_is_read(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX], real[PATH_MAX], why[RUNAS_WHY_MAX];

	load(fx, "\n");
	assert_int_equal(str_fmt(path, sizeof(path), "%s/posthorn.conf",
	    fx->etc), 0);
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(runas_trusted_dir(fx->etc, real, sizeof(real), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not a file of root's alone"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(runas_trusted_dir(fx->etc, real, sizeof(real), why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not a file of root's alone"));
	/* None at all: the defaults, root's choice too. */
	assert_int_equal(unlink(path), 0);
	if (runas_trusted_dir(fx->etc, real, sizeof(real), why,
	    sizeof(why)) == -1)
		fail_msg("%s", why);
}

/* queue-runas -G: only groups the caller has may be kept; "" keeps
 * none; anything but decimal gids and commas is refused. */
static void
test_keep_groups_only_takes_away(void **state)
{
	const gid_t have[] = { 100, 101, 102 };
	gid_t out[4];
	char why[RUNAS_WHY_MAX];
	size_t n;

	(void)state;
	assert_int_equal(runas_keep_groups("", have, 3, out, 4, &n, why,
	    sizeof(why)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(runas_keep_groups("101", have, 3, out, 4, &n, why,
	    sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 101);
	assert_int_equal(runas_keep_groups("102,100", have, 3, out, 4, &n,
	    why, sizeof(why)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 102);
	assert_int_equal(out[1], 100);
	/* A group of someone else's: root's, say. */
	assert_int_equal(runas_keep_groups("101,0", have, 3, out, 4, &n, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not the caller's"));
	assert_int_equal(runas_keep_groups("100", have, 0, out, 4, &n, why,
	    sizeof(why)), -1);
	assert_int_equal(runas_keep_groups("100,101", have, 3, out, 1, &n,
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too many"));
	/* Not a list of numbers. */
	assert_int_equal(runas_keep_groups("posthorn", have, 3, out, 4, &n,
	    why, sizeof(why)), -1);
	assert_int_equal(runas_keep_groups("-1", have, 3, out, 4, &n, why,
	    sizeof(why)), -1);
	assert_int_equal(runas_keep_groups("100,", have, 3, out, 4, &n, why,
	    sizeof(why)), -1);
	assert_int_equal(runas_keep_groups(",100", have, 3, out, 4, &n, why,
	    sizeof(why)), -1);
	assert_int_equal(runas_keep_groups("100 ", have, 3, out, 4, &n, why,
	    sizeof(why)), -1);
	assert_int_equal(runas_keep_groups("4294967295", have, 3, out, 4, &n,
	    why, sizeof(why)), -1);
	assert_int_equal(runas_keep_groups("99999999999999999999", have, 3,
	    out, 4, &n, why, sizeof(why)), -1);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_default_is_nobody_with_its_group),
		T(test_root_is_refused),
		T(test_the_callers_uid_and_groups_are_refused),
		T(test_the_owner_of_the_spool_is_refused),
		T(test_a_domain_names_its_own_user),
		T(test_a_configuration_others_can_write_is_refused),
		T(test_posthorn_conf_is_checked_before_it_is_read),
		cmocka_unit_test(test_keep_groups_only_takes_away),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
