/* sign_test.c — DKIM signing on the way out (queue-run/dkim.c): which
 * messages are ours to sign and for which domain, the signature file
 * beside a queued message (written, read back, refused when damaged,
 * removed with the message, kept by the sweep), a failed signing that
 * holds the mail back, and the fields in front of every delivered copy;
 * and the same for ARC sealing (queue-run/seal.c): which copies are
 * forwarded copies of mail from outside, and the ARC file. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "atomic.h"
#include "conf.h"
#include "deliver.h"
#include "dkim.h"
#include "local.h"
#include "seal.h"
#include "queue.h"
#include "state.h"
#include "str.h"
#include "testutil.h"
#include "waitq.h"

#define HOST	"mx.example.net"
#define SIGS	"DKIM-Signature: v=1; a=ed25519-sha256; d=example.com;\n" \
		"\ts=sel; b=AAAA\n" \
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.com;\n" \
		" s=selr; b=BBBB\n"
#define MSG	"Received: from somewhere\n" \
		"From: Alice\n <alice@Example.COM>\n" \
		"To: bob@remote.example\nSubject: hi\n\nhello\n"

struct fx {
	char		dir[64];
	struct conf	conf;
	char		id[QUEUE_ID_LEN + 1];
	struct state	st;
	int		loaded;
	long		uid;	/* the injector of "local" mail: 0 = ours */
};

static int
setup(void **state)
{
	const char *const *d, *dirs[] = { "spool", "spool/tmp", "spool/new",
	    "spool/state", "etc", "mail", NULL };
	char sub[PATH_MAX];
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "sign_test") == -1) {
		free(f);
		return -1;
	}
	*state = f;
	for (d = dirs; *d != NULL; d++)
		if (str_fmt(sub, sizeof(sub), "%s/%s", f->dir, *d) == -1 ||
		    mkdir(sub, 0700) == -1)
			return -1;
	if (str_fmt(f->conf.dir, sizeof(f->conf.dir), "%s/etc", f->dir) ==
	    -1 || str_fmt(f->conf.spool, sizeof(f->conf.spool), "%s/spool",
	    f->dir) == -1 || str_fmt(f->conf.maildirs,
	    sizeof(f->conf.maildirs), "%s/mail", f->dir) == -1 ||
	    str_copy(f->conf.hostname, sizeof(f->conf.hostname), HOST) == -1)
		return -1;
	f->conf.command_timeout = 10;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->loaded)
		state_free(&f->st);
	return tu_teardown(f, f->dir);
}

/* A key file as dkimsign -g names it (dkim.c looks at names only). */
static void
key(struct fx *f, const char *domain, const char *file)
{
	char path[PATH_MAX];

	tu_mkdomain(f->conf.dir, domain);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/domains/%s/dkim",
	    f->conf.dir, domain), 0);
	assert_true(mkdir(path, 0750) == 0 || errno == EEXIST);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/domains/%s/dkim/%s",
	    f->conf.dir, domain, file), 0);
	tu_write_secret(path, "not read by queue-run\n");
}

/* Queue msg with via and auth (NULL: none) and load its state. */
static void
queue(struct fx *f, const char *via, const char *auth, const char *msg)
{
	const char *rcpts[] = { "bob@remote.example" };
	struct queue_env env = { "alice@example.com", rcpts, 1, 0, via,
	    NULL, NULL, -1, auth, DSN_RET_NONE, NULL, NULL, NULL, NULL,
	    0 };

	if (strcmp(via, "local") == 0)
		env.uid = f->uid == 0 ? (long)getuid() : f->uid;
	struct queue_msg *m;

	assert_non_null(m = malloc(sizeof(*m)));
	assert_int_equal(queue_create(m, f->conf.spool), 0);
	assert_int_equal(queue_put_env(m, &env), 0);
	assert_int_equal(queue_put(m, msg, strlen(msg)), 0);
	assert_int_equal(queue_commit(m), 0);
	memcpy(f->id, m->id, sizeof(f->id));
	free(m);
	if (f->loaded)
		state_free(&f->st);
	assert_int_equal(state_load(&f->st, f->conf.spool, f->id), 0);
	f->loaded = 1;
}

static char last_why[DKIM_WHY_MAX];	/* needed()'s reason */

static int
needed(struct fx *f, char *dom, size_t size)
{
	return dkim_needed(&f->conf, &f->st, dom, size, last_why,
	    sizeof(last_why));
}

static void
why_has(const char *s)
{
	if (strstr(last_why, s) == NULL)
		fail_msg("no \"%s\" in \"%s\"", s, last_why);
}

/* --- which messages, which domain -------------------------------------- */

static void
test_authenticated_submission_with_keys_is_signed_for_from_domain(
    void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, "example.com", "20261123e.ed25519");
	queue(f, "submission", "alice@example.com", MSG);
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.com");
}

static void
test_authenticated_submission_without_keys_is_not_signed(void **state)
{
	struct fx *f = *state;
	char dom[256];

	tu_mkdomain(f->conf.dir, "example.com");
	key(f, "other.example", "20261123r.rsa");
	queue(f, "submission", "alice@example.com", MSG);
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	assert_string_equal(dom, "");
}

static void
test_key_directory_with_other_files_only_is_no_key(void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, "example.com", ".20261123r.rsa.tmp");
	key(f, "example.com", "README");
	queue(f, "submissions", "alice@example.com", MSG);
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
}

static void
test_mail_from_outside_is_never_signed(void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, "example.com", "20261123e.ed25519");
	queue(f, "mx", NULL, MSG);
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	queue(f, "submission", NULL, MSG);	/* no AUTH: not ours */
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
}

static void
test_local_injection_is_signed_for_from_domain(void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, "example.com", "20261123r.rsa");
	queue(f, "local", NULL, MSG);
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.com");
}

static void
test_first_address_of_first_from_field_decides(void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, "example.com", "20261123r.rsa");
	queue(f, "local", NULL, "Subject: x\n"
	    "From: \"Elsewhere, Inc\" <x@elsewhere.example>, a@example.com\n"
	    "From: a@example.com\n\nbody\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	queue(f, "local", NULL, "Subject: no from\n\nFrom: a@example.com\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
}

static void
test_bounce_is_signed_with_hostname_keys(void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, HOST, "20261123e.ed25519");
	key(f, "example.net", "20261123r.rsa");
	queue(f, "bounce", NULL, "From: Mail Delivery System "
	    "<MAILER-DAEMON@" HOST ">\nSubject: x\n\nbody\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, HOST);
}

static void
test_bounce_falls_back_to_the_parent_domain(void **state)
{
	struct fx *f = *state;
	char dom[256];

	queue(f, "double-bounce", NULL, "From: <MAILER-DAEMON@" HOST ">\n\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	key(f, "example.net", "20261123r.rsa");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.net");
}

static void
test_mail_of_the_host_itself_is_signed_as_its_bounces(void **state)
{
	struct fx *f = *state;
	char dom[256];

	/* cron's mail: From: root@HOST, which has no key of its own. */
	queue(f, "local", NULL, "From: root@" HOST "\nSubject: cron\n\nx\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	key(f, "example.net", "20261123r.rsa");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.net");
	key(f, HOST, "20261123e.ed25519");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, HOST);
	/* From outside, the same From: is still not ours. */
	queue(f, "mx", NULL, "From: root@" HOST "\nSubject: cron\n\nx\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
}

/* --- the signature file ------------------------------------------------ */

static void
write_sidecar(struct fx *f, const char *text)
{
	char path[PATH_MAX];

	assert_int_equal(state_dkim_path(path, sizeof(path), f->conf.spool,
	    f->id), 0);
	assert_int_equal(atomic_write(path, text, strlen(text), 0640), 0);
}

static void
test_sidecar_is_loaded_with_the_message_and_removed_with_it(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX], why[DKIM_WHY_MAX];

	key(f, "example.com", "20261123r.rsa");
	queue(f, "local", NULL, MSG);
	assert_null(f->st.dkim);
	write_sidecar(f, SIGS);
	state_free(&f->st);
	assert_int_equal(state_load(&f->st, f->conf.spool, f->id), 0);
	assert_non_null(f->st.dkim);
	assert_int_equal(f->st.dkimlen, strlen(SIGS));
	assert_memory_equal(f->st.dkim, SIGS, strlen(SIGS));
	/* Signed before: not signed again (the key is no key). */
	assert_int_equal(dkim_prepare(&f->conf, &f->st, why, sizeof(why)),
	    0);
	assert_int_equal(f->st.sign, STATE_SIGN_DONE);
	assert_int_equal(state_remove(f->conf.spool, f->id), 0);
	assert_int_equal(state_dkim_path(path, sizeof(path), f->conf.spool,
	    f->id), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_damaged_sidecar_is_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"",
		"X-Other: 1\n",
		"DKIM-Signature: v=1; no line end",
		"DKIM-Signature: v=1\nX-Injected: 1\n",
		"DKIM-Signature: v=1\r\n",
	};
	size_t i;

	queue(f, "local", NULL, MSG);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_sidecar(f, bad[i]);
		state_free(&f->st);
		f->loaded = 0;
		assert_int_equal(state_load(&f->st, f->conf.spool, f->id), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_true(state_dkim_valid(SIGS, strlen(SIGS)));
}

static void
test_failed_signing_holds_the_mail_back(void **state)
{
	struct fx *f = *state;
	char why[DKIM_WHY_MAX], path[PATH_MAX];

	key(f, "example.com", "20261123r.rsa");
	queue(f, "local", NULL, MSG);
	/* key() wrote no key: the file does not load. */
	assert_int_equal(dkim_prepare(&f->conf, &f->st, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "not signed"));
	assert_non_null(strstr(why, "20261123r.rsa"));
	assert_int_equal(f->st.sign, STATE_SIGN_FAILED);
	assert_null(f->st.dkim);
	why[0] = '\0';
	assert_int_equal(dkim_prepare(&f->conf, &f->st, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "not signed"));
	assert_int_equal(state_dkim_path(path, sizeof(path), f->conf.spool,
	    f->id), 0);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_unsigned_mail_goes_as_it_is(void **state)
{
	struct fx *f = *state;
	char why[DKIM_WHY_MAX];

	key(f, "example.com", "20261123r.rsa");
	queue(f, "mx", NULL, MSG);
	assert_int_equal(dkim_prepare(&f->conf, &f->st, why, sizeof(why)),
	    0);
	assert_int_equal(f->st.sign, STATE_SIGN_NONE);
	assert_null(f->st.dkim);
}

static void
test_sweep_keeps_the_sidecar_of_a_known_message_only(void **state)
{
	struct fx *f = *state;
	struct waitq q;
	char id[QUEUE_ID_LEN + 1], name[64];

	(void)f;
	waitq_init(&q);
	assert_int_equal(waitq_learn(&q, "1NG8CNB2Q7700CJZ"), 1);
	assert_true(dkim_sidecar_known(&q, "1NG8CNB2Q7700CJZ.dkim"));
	assert_false(dkim_sidecar_known(&q, "1NG8CNB2Q7700CJY.dkim"));
	assert_false(dkim_sidecar_known(&q, "1NG8CNB2Q7700CJZ"));
	assert_false(dkim_sidecar_known(&q,
	    "1NG8CNB2Q7700CJZ.dkim.tmp.1234"));
	assert_int_equal(str_fmt(name, sizeof(name), "%s.dkim",
	    "1NG8CNB2Q7700CJZ"), 0);
	assert_true(state_dkim_name(name, id));
	assert_string_equal(id, "1NG8CNB2Q7700CJZ");
	assert_false(state_dkim_name("not-an-id.dkim", id));
	/* The ARC set of a forwarded message, the same way. */
	assert_true(dkim_sidecar_known(&q, "1NG8CNB2Q7700CJZ.arc"));
	assert_false(dkim_sidecar_known(&q, "1NG8CNB2Q7700CJY.arc"));
	assert_true(state_arc_name("1NG8CNB2Q7700CJZ.arc", id));
	assert_string_equal(id, "1NG8CNB2Q7700CJZ");
	waitq_free(&q);
}

/* --- the fields in front of each copy ---------------------------------- */

static char *
only_file(const char *dir, size_t *len)
{
	char path[PATH_MAX];
	FILE *p;
	char name[NAME_MAX + 1], cmd[PATH_MAX + 32], *buf;
	struct stat sb;
	int fd;

	assert_int_equal(str_fmt(cmd, sizeof(cmd), "ls %s", dir), 0);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(name, sizeof(name), p));
	name[strcspn(name, "\n")] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s", dir, name), 0);
	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_non_null(buf = malloc((size_t)sb.st_size + 1));
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	buf[sb.st_size] = '\0';
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

static void
msg_of(struct fx *f, struct deliver_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->conf = &f->conf;
	m->fd = f->st.fd;
	m->body = f->st.env.body;
	m->size = f->st.size;
	m->id = f->st.env.id;
	m->sender = f->st.env.sender;
	m->orig = "bob@example.com";
	m->prefix = f->st.dkim;
	m->prefixlen = f->st.dkimlen;
}

static void
test_maildir_copy_has_the_fields_after_return_path(void **state)
{
	struct fx *f = *state;
	static const char want[] = "Return-Path: <alice@example.com>\n"
	    "Delivered-To: bob@example.com\n" SIGS MSG;
	struct deliver_result r;
	struct alias_target t;
	struct deliver_msg m;
	char box[PATH_MAX], *got;
	size_t len;

	queue(f, "local", NULL, MSG);
	write_sidecar(f, SIGS);
	state_free(&f->st);
	assert_int_equal(state_load(&f->st, f->conf.spool, f->id), 0);
	msg_of(f, &m);
	memset(&t, 0, sizeof(t));
	t.kind = ALIAS_MAILBOX;
	(void)str_copy(t.addr, sizeof(t.addr), "bob@example.com");
	(void)str_copy(t.user, sizeof(t.user), "bob");
	(void)str_copy(t.domain, sizeof(t.domain), "example.com");
	tu_mkdomain(f->conf.dir, "example.com");
	local_mailbox(&m, &t, &r);
	assert_int_equal(r.status, DELIVER_OK);
	assert_int_equal(str_fmt(box, sizeof(box), "%s/example.com/bob/new",
	    f->conf.maildirs), 0);
	got = only_file(box, &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_string_equal(got, want);
	free(got);
}

static void
test_pipe_gets_the_fields_too_and_unsigned_mail_none(void **state)
{
	struct fx *f = *state;
	static const char want[] = "Return-Path: <alice@example.com>\n"
	    "Delivered-To: pipe@example.com\n" SIGS MSG;
	static const char plain[] = "Return-Path: <alice@example.com>\n"
	    "Delivered-To: pipe@example.com\n" MSG;
	struct deliver_result r;
	struct alias_target t;
	struct deliver_msg m;
	char out[PATH_MAX], *got;
	size_t len;

	queue(f, "local", NULL, MSG);
	write_sidecar(f, SIGS);
	state_free(&f->st);
	assert_int_equal(state_load(&f->st, f->conf.spool, f->id), 0);
	assert_int_equal(str_fmt(out, sizeof(out), "%s/out", f->dir), 0);
	memset(&t, 0, sizeof(t));
	t.kind = ALIAS_PIPE;
	(void)str_copy(t.addr, sizeof(t.addr), "pipe@example.com");
	(void)str_copy(t.user, sizeof(t.user), "pipe");
	(void)str_copy(t.domain, sizeof(t.domain), "example.com");
	assert_int_equal(str_fmt(t.cmd, sizeof(t.cmd), "cat > %s/out/x",
	    f->dir), 0);
	/* The pipe runs as nobody (queue-runas(8)): it may write here. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(mkdir(out, 0700), 0);
	assert_int_equal(chmod(out, 0777), 0);
	msg_of(f, &m);
	local_pipe(&m, &t, &r);
	assert_int_equal(r.status, DELIVER_OK);
	got = only_file(out, &len);
	assert_string_equal(got, want);
	free(got);
	m.prefix = NULL;
	m.prefixlen = 0;
	local_pipe(&m, &t, &r);
	assert_int_equal(r.status, DELIVER_OK);
	got = only_file(out, &len);
	assert_string_equal(got, plain);
	free(got);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* --- ARC sealing: which copies (seal.h) -------------------------------- */

#define ARC	"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.com;\n" \
		" s=sel; b=AAAA\n" \
		"ARC-Message-Signature: i=1; a=rsa-sha256; d=example.com\n" \
		"ARC-Authentication-Results: i=1; mx.example.net; none\n"

static int
forwarded(struct fx *f, const char *orig, const char *addr,
    enum state_kind kind)
{
	struct state_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.orig = (char *)orig;
	e.addr = (char *)addr;
	return seal_forwarded(&f->conf, &f->st, &e);
}

static void
test_only_forwarded_copies_of_outside_mail_are_sealed(void **state)
{
	struct fx *f = *state;

	tu_mkdomain(f->conf.dir, "example.com");
	queue(f, "mx", NULL, MSG);
	assert_true(forwarded(f, "info@example.com", "x@gmail.example",
	    STATE_REMOTE));
	/* Not forwarded: a local copy, a remote recipient as it was, an
	 * alias of a domain that is not ours. */
	assert_false(forwarded(f, "info@example.com", "alice@example.com",
	    STATE_MAILBOX));
	assert_false(forwarded(f, "x@gmail.example", "x@gmail.example",
	    STATE_REMOTE));
	assert_false(forwarded(f, "info@other.example", "x@gmail.example",
	    STATE_REMOTE));
	/* Ours: signed, not sealed. */
	queue(f, "submission", "alice@example.com", MSG);
	assert_false(forwarded(f, "info@example.com", "x@gmail.example",
	    STATE_REMOTE));
	queue(f, "local", NULL, MSG);
	assert_false(forwarded(f, "info@example.com", "x@gmail.example",
	    STATE_REMOTE));
	queue(f, "bounce", NULL, MSG);
	assert_false(forwarded(f, "info@example.com", "x@gmail.example",
	    STATE_REMOTE));
}

static void
test_arc_file_is_loaded_refused_when_damaged_and_removed(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"", "DKIM-Signature: v=1\n", "ARC-Seal: i=1; no line end",
		"ARC-Seal: i=1\r\n",
	};
	char path[PATH_MAX];
	size_t i;

	queue(f, "mx", NULL, MSG);
	assert_null(f->st.arc);
	assert_int_equal(state_arc_path(path, sizeof(path), f->conf.spool,
	    f->id), 0);
	assert_int_equal(atomic_write(path, ARC, strlen(ARC), 0640), 0);
	state_free(&f->st);
	assert_int_equal(state_load(&f->st, f->conf.spool, f->id), 0);
	assert_non_null(f->st.arc);
	assert_memory_equal(f->st.arc, ARC, strlen(ARC));
	/* Sealed before: not sealed again, whatever the keys. */
	seal_prepare(&f->conf, &f->st, &f->st.e[0]);
	assert_int_equal(f->st.seal, STATE_SEAL_DONE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(atomic_write(path, bad[i], strlen(bad[i]),
		    0640), 0);
		state_free(&f->st);
		f->loaded = 0;
		assert_int_equal(state_load(&f->st, f->conf.spool, f->id), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(state_remove(f->conf.spool, f->id), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_arc_seal_no_or_no_key_leaves_it_unsealed(void **state)
{
	struct fx *f = *state;

	tu_mkdomain(f->conf.dir, "example.com");
	queue(f, "mx", NULL, MSG);
	assert_int_equal(state_add(&f->st, STATE_REMOTE, "info@example.com",
	    "x@gmail.example", NULL), 1);
	f->conf.arc_seal = 0;
	seal_prepare(&f->conf, &f->st, &f->st.e[1]);
	assert_int_equal(f->st.seal, STATE_SEAL_NONE);
	assert_null(f->st.arc);
	/* On, but no key for example.com: not sealed, nothing logged. */
	f->conf.arc_seal = 1;
	f->st.seal = STATE_SEAL_UNKNOWN;
	seal_prepare(&f->conf, &f->st, &f->st.e[1]);
	assert_int_equal(f->st.seal, STATE_SEAL_NONE);
	assert_null(f->st.arc);
}

/* --- who may have it signed as whom (lib/sendas.h) --------------------- */

#define AS(from)	"From: " from "\nTo: bob@remote.example\n\nhi\n"

/* "bob: bob, alice" gives alice a copy of bob's mail, not his key; the
 * catch-all that leads a domain to her gives her none of it. */
static void
test_submission_as_an_alias_another_user_receives_is_not_signed(
    void **state)
{
	struct fx *f = *state;
	char dom[256];

	key(f, "example.com", "20261123r.rsa");
	key(f, "catchall.example", "20261123r.rsa");
	tu_put_domain(f->conf.dir, "example.com", "users", "alice:!\nbob:!\n");
	tu_put_domain(f->conf.dir, "example.com", "aliases",
	    "bob: bob, alice\nsales: alice\n");
	tu_put_domain(f->conf.dir, "catchall.example", "aliases",
	    "*: alice@example.com\n");
	queue(f, "submission", "alice@example.com", AS("bob@example.com"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	assert_string_equal(dom, "");
	why_has("not an address of user alice@example.com");
	queue(f, "submission", "alice@example.com",
	    AS("billing@catchall.example"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	queue(f, "submission", "alice@example.com", AS("sales@example.com"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.com");
	/* Given by the senders file: signed. */
	assert_int_equal(str_fmt(dom, sizeof(dom), "%s/senders",
	    f->conf.dir), 0);
	tu_write_str(dom, "alice@example.com: @catchall.example\n");
	queue(f, "submission", "alice@example.com",
	    AS("billing@catchall.example"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "catchall.example");
}

/* any_sender = yes (issue 12.4): what the domain let its user send is
 * signed with the domain's key; another domain's key is not lent. */
static void
test_any_sender_submission_is_signed_for_its_own_domain_only(void **state)
{
	struct fx *f = *state;
	char dom[256], path[PATH_MAX];

	key(f, "example.com", "20261123r.rsa");
	key(f, "other.example", "20261123r.rsa");
	tu_put_domain(f->conf.dir, "example.com", "users", "alice:!\n");
	queue(f, "submission", "alice@example.com", AS("ceo@example.com"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	why_has("not an address of user alice@example.com");
	assert_int_equal(str_fmt(path, sizeof(path), "%s/domains/example.com/"
	    "domain.conf", f->conf.dir), 0);
	tu_write_str(path, "any_sender = yes\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.com");
	queue(f, "submission", "alice@example.com",
	    AS("CEO <ceo@Other.Example>"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	assert_string_equal(dom, "");
	why_has("lends no key of other.example");
}

/* Local injection (issue 15.3): root and the posthorn user (our own
 * uid) have it signed; another uid only for what DIR/senders gives it,
 * by uid or by name. */
static void
test_local_injection_by_another_user_is_signed_only_if_given(void **state)
{
	struct fx *f = *state;
	char dom[256], path[PATH_MAX];

	key(f, "example.com", "20261123r.rsa");
	f->uid = 65534;
	queue(f, "local", NULL, AS("CEO <ceo@example.com>"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	assert_string_equal(dom, "");
	why_has("uid 65534");
	assert_int_equal(str_fmt(path, sizeof(path), "%s/senders",
	    f->conf.dir), 0);
	tu_write_str(path, "65534: ceo@example.org, @example.net\n"
	    "alice@example.com: @example.com\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	tu_write_str(path, "65534: CEO@example.com\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	assert_string_equal(dom, "example.com");
	tu_write_str(path, "#65534: @example.com\nnobody : @example.com\n");
	assert_int_equal(needed(f, dom, sizeof(dom)), 1);
	/* An envelope that names no uid is nobody's. */
	f->uid = -1;
	queue(f, "local", NULL, AS("ceo@example.com"));
	assert_int_equal(needed(f, dom, sizeof(dom)), 0);
	why_has("unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_authenticated_submission_with_keys_is_signed_for_from_domain),
		T(test_authenticated_submission_without_keys_is_not_signed),
		T(test_key_directory_with_other_files_only_is_no_key),
		T(test_mail_from_outside_is_never_signed),
		T(test_local_injection_is_signed_for_from_domain),
		T(test_first_address_of_first_from_field_decides),
		T(test_bounce_is_signed_with_hostname_keys),
		T(test_bounce_falls_back_to_the_parent_domain),
		T(test_submission_as_an_alias_another_user_receives_is_not_signed),
		T(test_any_sender_submission_is_signed_for_its_own_domain_only),
		T(test_local_injection_by_another_user_is_signed_only_if_given),
		T(test_mail_of_the_host_itself_is_signed_as_its_bounces),
		T(test_sidecar_is_loaded_with_the_message_and_removed_with_it),
		T(test_damaged_sidecar_is_refused),
		T(test_failed_signing_holds_the_mail_back),
		T(test_unsigned_mail_goes_as_it_is),
		T(test_sweep_keeps_the_sidecar_of_a_known_message_only),
		T(test_only_forwarded_copies_of_outside_mail_are_sealed),
		T(test_arc_file_is_loaded_refused_when_damaged_and_removed),
		T(test_arc_seal_no_or_no_key_leaves_it_unsealed),
		T(test_maildir_copy_has_the_fields_after_return_path),
		T(test_pipe_gets_the_fields_too_and_unsigned_mail_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
