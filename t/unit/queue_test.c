/* queue_test.c — the queue's promises: a committed message reads back
 * exactly, nothing is left in tmp/ after a commit, an abort or a failed
 * commit, envelope values cannot break their line, IDs are unique and
 * sort by arrival, and the reader is bounded and forgiving of new keys. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "str.h"
#include "testutil.h"

struct spool {
	struct queue_msg *m;	/* the message under test */
	char	dir[64];
	char	tmp[96];
	char	new[96];
	char	state[96];
};

static int
setup(void **state)
{
	struct spool *s;

	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->m = malloc(sizeof *s->m)) == NULL)
		return -1;
	if (tu_tmpdir(s->dir, sizeof s->dir, "queue_test") == -1)
		return -1;
	snprintf(s->tmp, sizeof s->tmp, "%s/tmp", s->dir);
	snprintf(s->new, sizeof s->new, "%s/new", s->dir);
	snprintf(s->state, sizeof s->state, "%s/state", s->dir);
	if (tu_spool(s->dir) == -1)
		return -1;
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	struct spool *s = *state;

	free(s->m);
	return tu_teardown(s, s->dir);
}

/* Entries of dir; the first one's name into first when not NULL. */
static int
count(const char *dir, char *first, size_t size)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && first != NULL)
			assert_int_equal(str_copy(first, size, de->d_name), 0);
	}
	closedir(d);
	return n;
}

static const char *two_rcpts[] = { "bob@example.com", "\"a b\"@example.org" };

static void
fill_env(struct queue_env *e)
{
	memset(e, 0, sizeof *e);
	e->sender = "alice@example.net";
	e->rcpts = two_rcpts;
	e->nrcpts = 2;
	e->via = "submission";
	e->peer = "2001:db8::5";
	e->helo = "client.example.net";
	e->uid = -1;
}

/* s->m created in the spool, its envelope e written. */
static void
start(struct spool *s, const struct queue_env *e)
{
	assert_int_equal(queue_create(s->m, s->dir), 0);
	assert_int_equal(queue_put_env(s->m, e), 0);
}

/* Open the committed s->m in new/ and read its envelope: the fd. */
static int
read_committed(const struct spool *s, struct queue_envelope *env)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", s->new, s->m->id);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(queue_env_read(fd, env), 0);
	return fd;
}

static void
test_commit_round_trips_envelope_and_body(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_envelope env;
	struct queue_env e;
	const char body[] = "Subject: hi\n\nline one\nline two\n";
	char path[256], got[sizeof body];
	struct stat st;
	time_t before = time(NULL);
	int fd;

	fill_env(&e);
	e.flags = QUEUE_SMTPUTF8 | QUEUE_8BITMIME;
	e.auth = "alice@example.net";
	e.authres = "mx.example.com; spf=pass smtp.mailfrom=example.net";
	assert_int_equal(queue_create(m, s->dir), 0);
	assert_int_equal(strlen(m->id), QUEUE_ID_LEN);
	assert_int_equal(queue_put_env(m, &e), 0);
	assert_int_equal(queue_put(m, body, 7), 0);
	assert_int_equal(queue_put(m, body + 7, sizeof body - 1 - 7), 0);
	assert_int_equal(m->size, sizeof body - 1);
	assert_int_equal(queue_commit(m), 0);

	snprintf(path, sizeof path, "%s/%s", s->new, m->id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0137, 0);	/* at most 0640 */
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(queue_env_read(fd, &env), 0);
	assert_string_equal(env.id, m->id);
	assert_string_equal(env.sender, "alice@example.net");
	assert_int_equal(env.nrcpts, 2);
	assert_string_equal(env.rcpts[0], "bob@example.com");
	assert_string_equal(env.rcpts[1], "\"a b\"@example.org");
	assert_int_equal(env.flags, QUEUE_SMTPUTF8 | QUEUE_8BITMIME);
	assert_string_equal(env.via, "submission");
	assert_string_equal(env.peer, "2001:db8::5");
	assert_string_equal(env.helo, "client.example.net");
	assert_string_equal(env.auth, "alice@example.net");
	assert_string_equal(env.authres,
	    "mx.example.com; spf=pass smtp.mailfrom=example.net");
	assert_int_equal(env.uid, -1);
	assert_true(env.time >= before - 1 && env.time <= time(NULL));
	assert_int_equal(pread(fd, got, sizeof got, env.body),
	    (ssize_t)sizeof body - 1);
	assert_memory_equal(got, body, sizeof body - 1);
	queue_env_free(&env);
	close(fd);
}

static void
test_envelope_text_is_the_documented_format(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_env e;
	char path[256], buf[1024], want[1024];
	int fd;
	ssize_t n;

	fill_env(&e);
	e.flags = QUEUE_8BITMIME;
	e.uid = 1000;
	start(s, &e);
	assert_int_equal(queue_put(m, "x\n", 2), 0);
	assert_int_equal(queue_commit(m), 0);
	snprintf(path, sizeof path, "%s/%s", s->new, m->id);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_true((n = read(fd, buf, sizeof buf - 1)) > 0);
	buf[n] = '\0';
	close(fd);
	/* The time line is the one thing not known in advance. */
	snprintf(want, sizeof want, "posthorn-queue 1\nid %s\ntime ", m->id);
	assert_memory_equal(buf, want, strlen(want));
	assert_non_null(strstr(buf, "\nfrom <alice@example.net>\n"
	    "rcpt <bob@example.com>\nrcpt <\"a b\"@example.org>\n"
	    "body 8bitmime\nvia submission\npeer 2001:db8::5\n"
	    "helo client.example.net\nuid 1000\n\nx\n"));
	assert_null(strstr(buf, "smtputf8"));
}

static void
test_null_sender_is_written_as_empty_brackets(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_envelope env;
	struct queue_env e;
	int fd;

	fill_env(&e);
	e.sender = "";
	start(s, &e);
	assert_int_equal(queue_commit(m), 0);
	fd = read_committed(s, &env);
	assert_string_equal(env.sender, "");
	queue_env_free(&env);
	close(fd);
}

static void
test_commit_leaves_nothing_in_tmp(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_env e;
	char name[64];

	fill_env(&e);
	assert_int_equal(queue_create(m, s->dir), 0);
	assert_int_equal(count(s->tmp, NULL, 0), 1);
	assert_int_equal(queue_put_env(m, &e), 0);
	assert_int_equal(queue_put(m, "a\n", 2), 0);
	assert_int_equal(queue_commit(m), 0);
	assert_int_equal(count(s->tmp, NULL, 0), 0);
	assert_int_equal(count(s->new, name, sizeof name), 1);
	assert_string_equal(name, m->id);
	queue_abort(m);		/* after a commit: harmless */
	assert_int_equal(count(s->new, NULL, 0), 1);
}

static void
test_abort_leaves_nothing_anywhere(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_env e;

	fill_env(&e);
	start(s, &e);
	assert_int_equal(queue_put(m, "a\n", 2), 0);
	queue_abort(m);
	queue_abort(m);		/* twice: harmless */
	assert_int_equal(count(s->tmp, NULL, 0), 0);
	assert_int_equal(count(s->new, NULL, 0), 0);
	assert_int_equal(count(s->state, NULL, 0), 0);
}

/* queue_put_env refuses e with errno err. */
static void
assert_env_refused(struct queue_msg *m, const struct queue_env *e, int err)
{
	errno = 0;
	assert_int_equal(queue_put_env(m, e), -1);
	assert_int_equal(errno, err);
}

static void
test_env_values_that_break_a_line_are_refused(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	const char *bad_rcpt[] = { "bob@example.com", "eve@x\nrcpt <m@x>" };
	struct queue_env e;

	assert_int_equal(queue_create(m, s->dir), 0);

	fill_env(&e);
	e.sender = "a@b\nrcpt <evil@example.com>";
	assert_env_refused(m, &e, EINVAL);

	fill_env(&e);
	e.rcpts = bad_rcpt;
	assert_env_refused(m, &e, EINVAL);

	fill_env(&e);
	e.helo = "name\r";
	assert_env_refused(m, &e, EINVAL);

	fill_env(&e);
	e.nrcpts = 0;
	assert_env_refused(m, &e, EINVAL);

	queue_abort(m);
	assert_int_equal(count(s->tmp, NULL, 0), 0);
}

static void
test_envelope_over_the_bound_is_refused(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_env e;
	const char **many;
	size_t i, n = QUEUE_ENV_MAX / 16;

	assert_non_null(many = calloc(n, sizeof *many));
	for (i = 0; i < n; i++)
		many[i] = "someone@example.com";	/* 27 bytes a line */
	fill_env(&e);
	e.rcpts = many;
	e.nrcpts = n;
	assert_int_equal(queue_create(m, s->dir), 0);
	assert_env_refused(m, &e, E2BIG);
	queue_abort(m);
	free(many);
}

static void
test_ids_are_unique_and_sorted(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_env e;
	char prev[QUEUE_ID_LEN + 1] = "";
	int i;

	fill_env(&e);
	for (i = 0; i < 300; i++) {
		assert_int_equal(queue_create(m, s->dir), 0);
		assert_int_equal(strlen(m->id), QUEUE_ID_LEN);
		assert_int_equal(strspn(m->id,
		    "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), QUEUE_ID_LEN);
		assert_true(strcmp(prev, m->id) < 0);
		memcpy(prev, m->id, sizeof prev);
		/* Half committed: a commit frees the tmp/ name, which must
		 * not let the next create reuse the ID. */
		if (i % 2 == 0) {
			assert_int_equal(queue_put_env(m, &e), 0);
			assert_int_equal(queue_commit(m), 0);
		} else
			queue_abort(m);
	}
	assert_int_equal(count(s->new, NULL, 0), 150);
	assert_int_equal(count(s->tmp, NULL, 0), 0);
}

static void
test_failed_rename_leaves_tmp_empty(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_env e;

	fill_env(&e);
	start(s, &e);
	assert_int_equal(queue_put(m, "a\n", 2), 0);
	/* new/ goes away under the open message: the rename must fail. */
	assert_int_equal(rmdir(s->new), 0);
	errno = 0;
	assert_int_equal(queue_commit(m), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count(s->tmp, NULL, 0), 0);
	assert_int_equal(mkdir(s->new, 0770), 0);
	assert_int_equal(count(s->new, NULL, 0), 0);
}

static void
test_missing_spool_is_a_temporary_enoent(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	char dir[128];

	snprintf(dir, sizeof dir, "%s/nonexistent", s->dir);
	errno = 0;
	assert_int_equal(queue_create(m, dir), -1);
	assert_int_equal(errno, ENOENT);
	queue_abort(m);		/* after a failed create: harmless */
	/* A spool without tmp/: same answer, nothing made. */
	assert_int_equal(rmdir(s->tmp), 0);
	errno = 0;
	assert_int_equal(queue_create(m, s->dir), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mkdir(s->tmp, 0770), 0);
}

/* queue-inject runs this with its caller's uid (root from cron) in a
 * spool that posthorn owns: a tmp/ or new/ swapped for a link must not
 * take the message, or anything, where the link points. */
static void
test_tmp_or_new_as_a_link_is_refused(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	const char *dirs[] = { s->tmp, s->new };
	char away[128];
	size_t i;

	snprintf(away, sizeof away, "%s/elsewhere", s->dir);
	assert_int_equal(mkdir(away, 0770), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(rmdir(dirs[i]), 0);
		assert_int_equal(symlink(away, dirs[i]), 0);
		errno = 0;
		assert_int_equal(queue_create(m, s->dir), -1);
		assert_true(errno == ELOOP || errno == ENOTDIR);
		queue_abort(m);
		assert_int_equal(count(away, NULL, 0), 0);
		assert_int_equal(unlink(dirs[i]), 0);
		assert_int_equal(mkdir(dirs[i], 0770), 0);
	}
	assert_int_equal(count(s->tmp, NULL, 0), 0);
	assert_int_equal(count(s->new, NULL, 0), 0);
}

static void
test_large_message_round_trips(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_envelope env;
	struct queue_env e;
	size_t total = 3 * QUEUE_WBUFSZ + 123, off = 0, k, step = 1;
	char *data, *got;
	int fd;

	assert_non_null(data = malloc(total));
	assert_non_null(got = malloc(total));
	for (k = 0; k < total; k++)
		data[k] = (char)('a' + k % 26);
	fill_env(&e);
	start(s, &e);
	/* Chunks from 1 byte to more than the buffer. */
	while (off < total) {
		k = step < total - off ? step : total - off;
		assert_int_equal(queue_put(m, data + off, k), 0);
		off += k;
		step = step * 3 + 1;
	}
	assert_int_equal(queue_commit(m), 0);
	fd = read_committed(s, &env);
	assert_int_equal(pread(fd, got, total, env.body), (ssize_t)total);
	assert_memory_equal(got, data, total);
	queue_env_free(&env);
	close(fd);
	free(got);
	free(data);
}

static void
test_reader_ignores_unknown_keys(void **state)
{
	struct spool *s = *state;
	struct queue_envelope env;
	const char text[] = "posthorn-queue 1\nid 01HBX2C4ABCDE123\n"
	    "time 1700000000\nfrom <a@b.example>\nfuture-key some value\n"
	    "flag-of-tomorrow\nrcpt <c@d.example>\nbody 7bit\n\nmsg\n";
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/new/handmade", s->dir);
	tu_write_str(path, text);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(queue_env_read(fd, &env), 0);
	assert_string_equal(env.id, "01HBX2C4ABCDE123");
	assert_int_equal(env.time, 1700000000);
	assert_string_equal(env.sender, "a@b.example");
	assert_int_equal(env.nrcpts, 1);
	assert_string_equal(env.rcpts[0], "c@d.example");
	assert_int_equal(env.flags, 0);
	assert_int_equal(env.body, (off_t)(strlen(text) - 4));
	queue_env_free(&env);
	close(fd);
}

static void
expect_malformed(const char *path, const char *text)
{
	struct queue_envelope env;
	int fd;

	tu_write_str(path, text);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	errno = 0;
	assert_int_equal(queue_env_read(fd, &env), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void
test_reader_refuses_malformed_envelopes(void **state)
{
	struct spool *s = *state;
	char path[256];

	snprintf(path, sizeof path, "%s/new/bad", s->dir);
	/* no empty line */
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\n");
	/* another version */
	expect_malformed(path, "posthorn-queue 2\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\n\n");
	/* no recipient */
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\n\nmsg\n");
	/* an ID with a letter Crockford left out */
	expect_malformed(path, "posthorn-queue 1\nid 000000000000000U\n"
	    "time 1\nfrom <>\nrcpt <a@b>\n\n");
	/* no brackets */
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt a@b\n\n");
	/* no time */
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "from <>\nrcpt <a@b>\n\n");
	/* empty file */
	expect_malformed(path, "");
	/* DSN parameters: before any recipient, twice, or bad values */
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nnotify NEVER\nrcpt <a@b>\n\n");
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\nnotify NEVER\nnotify DELAY\n\n");
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\nnotify NEVER,DELAY\n\n");
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\norcpt a@b\n\n");
	expect_malformed(path, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\nret BODY\n\n");
}

/* RFC 3461's parameters round-trip, each recipient's after its line;
 * an envelope without them (an older writer's) reads as "none". */
static void
test_dsn_parameters_round_trip(void **state)
{
	struct spool *s = *state;
	struct queue_msg *m = s->m;
	struct queue_envelope env;
	struct queue_env e;
	const unsigned notify[] = { DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY,
	    0 };
	const char *orcpt[] = { NULL, "rfc822;b+c@example.org" };
	char path[256], buf[1024];
	ssize_t n;
	int fd;

	fill_env(&e);
	e.ret = DSN_RET_HDRS;
	e.envid = "QQ314159";
	e.notify = notify;
	e.orcpt = orcpt;
	start(s, &e);
	assert_int_equal(queue_put(m, "x\n", 2), 0);
	assert_int_equal(queue_commit(m), 0);
	snprintf(path, sizeof path, "%s/%s", s->new, m->id);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_true((n = read(fd, buf, sizeof buf - 1)) > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "rcpt <bob@example.com>\n"
	    "notify SUCCESS,DELAY\nrcpt <\"a b\"@example.org>\n"
	    "orcpt rfc822;b+c@example.org\nret HDRS\nenvid QQ314159\n"));
	assert_int_equal(queue_env_read(fd, &env), 0);
	assert_int_equal(env.ret, DSN_RET_HDRS);
	assert_string_equal(env.envid, "QQ314159");
	assert_int_equal(env.notify[0], DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY);
	assert_int_equal(env.notify[1], 0);
	assert_null(env.orcpt[0]);
	assert_string_equal(env.orcpt[1], "rfc822;b+c@example.org");
	queue_env_free(&env);
	close(fd);

	/* Without them. */
	snprintf(path, sizeof path, "%s/new/old", s->dir);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600))
	    != -1);
	assert_int_equal(write(fd, "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\nrcpt <a@b>\n\nx\n", 66), 66);
	assert_int_equal(queue_env_read(fd, &env), 0);
	assert_int_equal(env.ret, DSN_RET_NONE);
	assert_string_equal(env.envid, "");
	assert_int_equal(env.notify[0], 0);
	assert_null(env.orcpt[0]);
	queue_env_free(&env);
	close(fd);

	/* A value that breaks a line is refused before anything is
	 * written. */
	queue_abort(m);
	orcpt[0] = "rfc822;a\nb";
	assert_int_equal(queue_create(m, s->dir), 0);
	assert_int_equal(queue_put_env(m, &e), -1);
	orcpt[0] = "no type";
	assert_int_equal(queue_put_env(m, &e), -1);
	queue_abort(m);
}

static void
test_reader_is_bounded(void **state)
{
	struct spool *s = *state;
	struct queue_envelope env;
	const char head[] = "posthorn-queue 1\nid 0000000000000000\n"
	    "time 1\nfrom <>\n";
	const char line[] = "rcpt <someone@example.com>\n";
	char path[256];
	size_t n;
	int fd;

	snprintf(path, sizeof path, "%s/new/huge", s->dir);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600))
	    != -1);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	for (n = 0; n < 2 * QUEUE_ENV_MAX; n += strlen(line))
		assert_int_equal(write(fd, line, strlen(line)),
		    (ssize_t)strlen(line));
	assert_int_equal(write(fd, "\nmsg\n", 5), 5);
	errno = 0;
	assert_int_equal(queue_env_read(fd, &env), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

/* What a content filter reads (queue_reader) is the message from its
 * first byte, after what is buffered; queue_rewrite adds an envelope key
 * and fields on top, the rest intact, and the commit takes the new
 * file, leaving nothing in tmp/. */
static void
test_reader_and_rewrite_for_a_filter(void **state)
{
	struct spool *s = *state;
	struct queue_envelope env;
	struct queue_env e;
	const char body[] = "Received: by us\nSubject: hi\n\nbody\n";
	const char fields[] = "X-Spam-Flag: YES\n";
	char got[256];
	ssize_t n;
	int fd;

	fill_env(&e);
	start(s, &e);
	assert_int_equal(queue_put(s->m, body, sizeof body - 1), 0);
	assert_true((fd = queue_reader(s->m)) != -1);
	n = read(fd, got, sizeof got);
	assert_int_equal(n, (ssize_t)sizeof body - 1);
	assert_memory_equal(got, body, sizeof body - 1);
	close(fd);
	assert_int_equal(queue_rewrite(s->m, "bad\nkey", "", 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(queue_rewrite(s->m, QUEUE_ENV_LOCAL_ONLY, fields,
	    sizeof fields - 1), 0);
	assert_int_equal(s->m->size, sizeof body - 1 + sizeof fields - 1);
	/* Bytes after the rewrite land after the message. */
	assert_int_equal(queue_put(s->m, "more\n", 5), 0);
	assert_int_equal(queue_commit(s->m), 0);
	assert_int_equal(count(s->tmp, NULL, 0), 0);
	fd = read_committed(s, &env);
	assert_int_equal(env.flags, QUEUE_LOCAL_ONLY);
	assert_int_equal(env.nrcpts, 2);
	n = pread(fd, got, sizeof got, env.body);
	assert_int_equal(n, (ssize_t)(sizeof fields - 1 + sizeof body - 1 + 5));
	assert_memory_equal(got, fields, sizeof fields - 1);
	assert_memory_equal(got + sizeof fields - 1, body, sizeof body - 1);
	assert_memory_equal(got + sizeof fields - 1 + sizeof body - 1,
	    "more\n", 5);
	queue_env_free(&env);
	close(fd);
}

/* The envelope's reserved stretch (queue_env.reserve) is filled in place
 * after the data: the reader finds authres and localonly, the message's
 * bytes are where they were, and what does not fit is E2BIG with the
 * stretch left as it was, fillable once. */
static void
test_reserved_envelope_is_filled_in_place(void **state)
{
	struct spool *s = *state;
	struct queue_envelope env;
	struct queue_env e;
	const char body[] = "Received: by us\nSubject: hi\n\nbody\n";
	const char lines[] = "localonly\nauthres mx.example; spf=pass "
	    "smtp.mailfrom=a@b.example\n";
	char big[600], got[256];
	uint64_t envlen;
	ssize_t n;
	int fd;

	fill_env(&e);
	e.reserve = 512;
	start(s, &e);
	envlen = s->m->envlen;
	assert_int_equal(queue_put(s->m, body, sizeof body - 1), 0);
	memset(big, 'x', sizeof big);
	memcpy(big, "authres ", 8);
	big[sizeof big - 1] = '\n';
	assert_int_equal(queue_env_fill(s->m, big, sizeof big), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(queue_env_fill(s->m, "a\n\nb\n", 5), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(queue_env_fill(s->m, lines, sizeof lines - 1), 0);
	assert_int_equal(queue_env_fill(s->m, lines, sizeof lines - 1), -1);
	assert_int_equal(s->m->envlen, envlen);
	assert_int_equal(queue_commit(s->m), 0);
	fd = read_committed(s, &env);
	assert_int_equal(env.flags, QUEUE_LOCAL_ONLY);
	assert_string_equal(env.authres,
	    "mx.example; spf=pass smtp.mailfrom=a@b.example");
	assert_int_equal(env.body, (off_t)envlen);
	n = pread(fd, got, sizeof got, env.body);
	assert_int_equal(n, (ssize_t)sizeof body - 1);
	assert_memory_equal(got, body, sizeof body - 1);
	queue_env_free(&env);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_commit_round_trips_envelope_and_body, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reader_and_rewrite_for_a_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reserved_envelope_is_filled_in_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_envelope_text_is_the_documented_format, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_null_sender_is_written_as_empty_brackets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_commit_leaves_nothing_in_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_abort_leaves_nothing_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_env_values_that_break_a_line_are_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_envelope_over_the_bound_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ids_are_unique_and_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_rename_leaves_tmp_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_spool_is_a_temporary_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tmp_or_new_as_a_link_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_large_message_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reader_ignores_unknown_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reader_refuses_malformed_envelopes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reader_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dsn_parameters_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
