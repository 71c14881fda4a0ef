/* queue_state.c — libFuzzer harness: queue-run's reader of a message's
 * state (queue-run/state.c, posthorn-queue(5)): SPOOL/state/ID, the
 * entry of each delivery, and SPOOL/state/ID.dkim, the signature fields,
 * beside a fixed SPOOL/new/ID.  The input up to its first NUL is the
 * state file; what follows the NUL, if there is one, is the .dkim file.
 * A state that loads is written back as state_save writes it, and must
 * load again to the same entries. */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "state.h"
#include "str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A queue id (posthorn-queue(5)) and its envelope, whose time is the
 * one the id was made of. */
#define ID	"1NHBG0XQX2K00GB3"
static const char message[] =
    "posthorn-queue 1\nid " ID "\ntime 1796587549\n"
    "from <bob@client.example.org>\nrcpt <alice@example.com>\n"
    "rcpt <list@example.com>\nvia mx\npeer 192.0.2.7\n\n"
    "Subject: hi\n\nbody\n";

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
same(const struct state *a, const struct state *b)
{
	size_t i, j = 0;

	/* An envelope recipient already sent is not written back. */
	for (i = 0; i < a->n; i++) {
		const struct state_entry *x = &a->e[i], *y;

		if (x->kind == STATE_RCPT && x->status == STATE_SENT)
			continue;
		if (j >= b->n)
			goto differ;
		y = &b->e[j++];
		if (x->kind != y->kind || x->status != y->status ||
		    x->attempts != y->attempts || x->next != y->next ||
		    x->last != y->last || strcmp(x->dsn, y->dsn) != 0 ||
		    !same_str(x->orig, y->orig) || !same_str(x->addr, y->addr) ||
		    !same_str(x->cmd, y->cmd) ||
		    !same_str(x->reason, y->reason) ||
		    !same_str(x->where, y->where))
			goto differ;
	}
	if (j == b->n)
		return;
differ:
	fprintf(stderr, "queue_state: %zu entries loaded, %zu after saving, "
	    "differ at %zu\n", a->n, b->n, j);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state a, b;
	static int ready;
	const struct fz_env *e = fz_env();
	const uint8_t *nul = memchr(data, '\0', size);
	size_t statelen = nul != NULL ? (size_t)(nul - data) : size;
	char path[PATH_MAX], dkim[PATH_MAX];

	if (!ready) {
		fz_path(path, "spool/new/" ID);
		fz_write(path, message, sizeof(message) - 1);
		ready = 1;
	}
	fz_path(path, "spool/state/" ID);
	fz_path(dkim, "spool/state/" ID STATE_DKIM_SUFFIX);
	fz_write(path, data, statelen);
	if (nul != NULL)
		fz_write(dkim, nul + 1, size - statelen - 1);
	else
		(void)unlink(dkim);
	if (state_load(&a, e->spool, ID) == -1)
		return 0;
	a.dirty = 1;
	if (state_save(&a, e->spool) == -1) {
		state_free(&a);
		return 0;	/* ENOMEM, ENOSPC: not the reader's business */
	}
	if (state_load(&b, e->spool, ID) == -1) {
		fprintf(stderr, "queue_state: what state_save wrote does not "
		    "load\n");
		abort();
	}
	same(&a, &b);
	state_free(&a);
	state_free(&b);
	return 0;
}
