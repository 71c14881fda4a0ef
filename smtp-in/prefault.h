/* prefault.h — the pages a session is sure to write, made present at its
 * start in one call each rather than one page fault each.
 *
 * A session is a fresh process, so every page of its stack, its state and
 * its buffers is new to it.  On a guest with shadow page tables (the
 * machines this was measured on) a page fault costs 10–14 µs and a page
 * made present by MADV_POPULATE_WRITE, then written, half that
 * (bench/firsttouch).  A session writes the same few dozen pages every
 * time, so asking for them at once saves 0.2 ms of CPU a message and
 * 0.06 ms a connection there (bench/cost.py); on bare metal, where a
 * fault costs about 1 µs, it changes little either way.  Where the call
 * is missing (Linux before 5.14) or refused, nothing changes but the
 * cost. */
#ifndef POSTHORN_PREFAULT_H
#define POSTHORN_PREFAULT_H

#include <stddef.h>

enum {
	/* The stack below main() that a message's session uses: DATA's
	 * state, the queue file's envelope and a log line (36 KiB deep
	 * measured, main's own frame included). */
	PREFAULT_STACK = 32 * 1024
};

/* The pages holding [p, p + len), present and writable. */
void	prefault(const void *p, size_t len);
/* The len bytes of stack below the caller's frame, likewise. */
void	prefault_stack(size_t len);

#endif
