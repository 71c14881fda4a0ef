/* state_test.c — queue-run's per-delivery state file, its wait queue and
 * its retry schedule: a state written is the state read back, escapes and
 * all; a damaged file is refused rather than guessed at; the heap gives
 * messages back in time order and the id set knows each id once. */

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
#include <unistd.h>

#include <cmocka.h>

#include "queue.h"
#include "sched.h"
#include "state.h"
#include "str.h"
#include "testutil.h"
#include "waitq.h"

struct fx {
	char	dir[64];
	char	id[QUEUE_ID_LEN + 1];
	char	path[PATH_MAX];		/* state/ID */
};

static int
setup(void **state)
{
	struct fx *f;
	struct queue_msg *m;
	const char *rcpts[] = { "alice@example.com", "list@example.com" };
	struct queue_env env = { "bob@remote.example", rcpts, 2, 0, "mx",
	    "192.0.2.1", "client.example", -1, NULL, DSN_RET_NONE, NULL, NULL,
	    NULL, NULL, 0 };
	char sub[96];
	const char *const *d, *dirs[] = { "tmp", "new", "state", NULL };
	int rc = -1;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (m = malloc(sizeof(*m))) == NULL)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "state_test") == -1)
		goto out;
	for (d = dirs; *d != NULL; d++)
		if (str_fmt(sub, sizeof(sub), "%s/%s", f->dir, *d) == -1 ||
		    mkdir(sub, 0700) == -1)
			goto out;
	if (queue_create(m, f->dir) == -1 || queue_put_env(m, &env) == -1 ||
	    queue_put(m, "Subject: x\n\nbody\n", 17) == -1 ||
	    queue_commit(m) == -1)
		goto out;
	memcpy(f->id, m->id, sizeof(f->id));
	if (str_fmt(f->path, sizeof(f->path), "%s/state/%s", f->dir,
	    f->id) == -1)
		goto out;
	*state = f;
	rc = 0;
out:
	free(m);
	return rc;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	return tu_teardown(f, f->dir);
}

static void
test_no_state_file_means_every_recipient_unresolved(void **state)
{
	struct fx *f = *state;
	struct state st;

	assert_int_equal(state_load(&st, f->dir, f->id), 0);
	assert_int_equal(st.n, 2);
	assert_int_equal(st.e[0].kind, STATE_RCPT);
	assert_int_equal(st.e[0].status, STATE_PENDING);
	assert_string_equal(st.e[1].orig, "list@example.com");
	assert_string_equal(st.env.sender, "bob@remote.example");
	assert_string_equal(st.env.via, "mx");
	assert_int_equal(st.size, 17);
	assert_false(st.dirty);
	state_free(&st);
}

static void
test_saved_state_reads_back_with_escapes(void **state)
{
	struct fx *f = *state;
	struct state st, back;
	int i;

	assert_int_equal(state_load(&st, f->dir, f->id), 0);
	st.e[0].status = STATE_SENT;	/* resolved: not written */
	assert_int_equal(state_add(&st, STATE_MAILBOX, "alice@example.com",
	    "alice@example.com", NULL), 2);
	i = state_add(&st, STATE_PIPE, "list@example.com",
	    "list@example.com", "tr 'a\tb' x \\ y");
	assert_int_equal(i, 3);
	st.e[i].attempts = 3;
	st.e[i].next = 1700000000;
	st.e[i].last = 1699999000;
	assert_int_equal(state_set_reason(&st.e[i], "4.3.0",
	    "command said:\nno\r\n", "| tr"), 0);
	assert_int_equal(state_save(&st, f->dir), 0);
	assert_false(st.dirty);

	assert_int_equal(state_load(&back, f->dir, f->id), 0);
	assert_int_equal(back.n, 3);	/* list's RCPT, alice, the pipe */
	assert_int_equal(back.e[0].kind, STATE_RCPT);
	assert_int_equal(back.e[1].kind, STATE_MAILBOX);
	assert_int_equal(back.e[2].kind, STATE_PIPE);
	assert_string_equal(back.e[2].cmd, "tr 'a\tb' x \\ y");
	assert_string_equal(back.e[2].reason, "command said:\nno\r\n");
	assert_string_equal(back.e[2].dsn, "4.3.0");
	assert_string_equal(back.e[2].where, "| tr");
	assert_int_equal(back.e[2].attempts, 3);
	assert_int_equal(back.e[2].next, 1700000000);
	assert_int_equal(back.e[2].last, 1699999000);
	state_free(&back);
	state_free(&st);
}

static void
test_same_target_twice_is_one_entry(void **state)
{
	struct fx *f = *state;
	struct state st;

	assert_int_equal(state_load(&st, f->dir, f->id), 0);
	assert_int_equal(state_add(&st, STATE_MAILBOX, "alice@example.com",
	    "alice@example.com", NULL), 2);
	assert_int_equal(state_add(&st, STATE_MAILBOX, "list@example.com",
	    "Alice@example.com", NULL), 2);
	assert_int_equal(state_add(&st, STATE_REMOTE, "list@example.com",
	    "alice@example.com", NULL), 3);
	state_free(&st);
}

static void
test_damaged_state_is_refused(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {
		"posthorn-state 2\n",
		"posthorn-state 1\npending\tmailbox\t0\t0\t0\t\ta\tb\t\t\n",
		"posthorn-state 1\nsent\tbox\t0\t0\t0\t\ta\tb\t\t\t\n",
		"posthorn-state 1\nsent\tmailbox\tx\t0\t0\t\ta\tb\t\t\t\n",
		"posthorn-state 1\nsent\tmailbox\t0\t0\t0\t\ta\\q\tb\t\t\t\n",
		"posthorn-state 1\nsent\tmailbox\t0\t0\t0\t\ta\tb\t\t\t",
		NULL
	};
	struct state st;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		tu_write_str(f->path, bad[i]);
		assert_int_equal(state_load(&st, f->dir, f->id), -1);
		assert_int_equal(errno, EINVAL);
	}
	tu_write_str(f->path,
	    "posthorn-state 1\nsent\tmailbox\t0\t0\t0\t2.0.0\ta\tb\t\t\t\n");
	assert_int_equal(state_load(&st, f->dir, f->id), 0);
	assert_int_equal(st.n, 1);
	state_free(&st);
}

static void
test_remove_takes_message_then_state(void **state)
{
	struct fx *f = *state;
	struct state st;
	char new[PATH_MAX];

	tu_write_str(f->path, "posthorn-state 1\n");
	assert_int_equal(state_remove(f->dir, f->id), 0);
	assert_int_equal(str_fmt(new, sizeof(new), "%s/new/%s", f->dir,
	    f->id) == -1, 0);
	assert_int_equal(access(new, F_OK), -1);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(state_load(&st, f->dir, f->id), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(state_remove(f->dir, f->id), 0);	/* again */
}

static void
test_backoff_doubles_from_five_minutes_to_an_hour(void **state)
{
	(void)state;
	assert_int_equal(sched_backoff(1), 300);
	assert_int_equal(sched_backoff(2), 600);
	assert_int_equal(sched_backoff(3), 1200);
	assert_int_equal(sched_backoff(4), 2400);
	assert_int_equal(sched_backoff(5), 3600);
	assert_int_equal(sched_backoff(100), 3600);
}

static void
test_waitq_pops_in_time_order_and_learns_once(void **state)
{
	struct waitq q;
	struct waitq_item it;
	char id[QUEUE_ID_LEN + 1];
	int i, n = 500;
	time_t last = 0;

	(void)state;
	waitq_init(&q);
	for (i = 0; i < n; i++) {
		(void)str_fmt(id, sizeof(id), "%016d", i);
		assert_int_equal(waitq_learn(&q, id), 1);
		assert_int_equal(waitq_learn(&q, id), 0);
		assert_int_equal(waitq_push(&q, id, (i * 7919) % 1000), 0);
	}
	for (i = 0; i < n; i++) {
		assert_non_null(waitq_top(&q));
		waitq_pop(&q, &it);
		assert_true(it.next >= last);
		last = it.next;
		assert_true(waitq_known(&q, it.id));
		waitq_forget(&q, it.id);
		assert_false(waitq_known(&q, it.id));
	}
	assert_null(waitq_top(&q));
	/* Forgotten ids may be learnt again (tombstones are reused). */
	assert_int_equal(waitq_learn(&q, "0000000000000007"), 1);
	waitq_free(&q);
}

/* A small queue that turns over many messages: forgotten ids leave
 * tombstones, which must never fill the table (a lookup would then probe
 * for ever) nor make it grow without bound. */
static void
test_waitq_turnover_keeps_the_set_small(void **state)
{
	struct waitq q;
	char id[QUEUE_ID_LEN + 1], old[QUEUE_ID_LEN + 1];
	int i;

	(void)state;
	waitq_init(&q);
	for (i = 0; i < 100000; i++) {
		(void)str_fmt(id, sizeof(id), "%016d", i);
		assert_int_equal(waitq_learn(&q, id), 1);
		if (i >= 3) {
			(void)str_fmt(old, sizeof(old), "%016d", i - 3);
			waitq_forget(&q, old);
			assert_false(waitq_known(&q, old));
		}
	}
	assert_true(waitq_known(&q, id));
	assert_true(q.setcap <= 64);
	waitq_free(&q);
}

static void
test_waitq_flush_makes_everything_due_and_forced(void **state)
{
	struct waitq q;
	struct waitq_item it;

	(void)state;
	waitq_init(&q);
	assert_int_equal(waitq_learn(&q, "AAAAAAAAAAAAAAAA"), 1);
	assert_int_equal(waitq_push(&q, "AAAAAAAAAAAAAAAA", 5000), 0);
	assert_int_equal(waitq_learn(&q, "BBBBBBBBBBBBBBBB"), 1);
	assert_int_equal(waitq_push(&q, "BBBBBBBBBBBBBBBB", 9000), 0);
	waitq_all_due(&q);
	waitq_pop(&q, &it);
	assert_int_equal(it.next, 0);
	assert_true(it.force);
	waitq_pop(&q, &it);
	assert_int_equal(it.next, 0);
	assert_true(it.force);
	waitq_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_no_state_file_means_every_recipient_unresolved,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_saved_state_reads_back_with_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_same_target_twice_is_one_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_damaged_state_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_remove_takes_message_then_state, setup, teardown),
		cmocka_unit_test(
		    test_backoff_doubles_from_five_minutes_to_an_hour),
		cmocka_unit_test(
		    test_waitq_pops_in_time_order_and_learns_once),
		cmocka_unit_test(
		    test_waitq_turnover_keeps_the_set_small),
		cmocka_unit_test(
		    test_waitq_flush_makes_everything_due_and_forced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
