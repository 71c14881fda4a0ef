/* prefault_test.c — the pages prefault() asks for are present after it,
 * and only those; what it cannot do it leaves alone. */

#include <sys/mman.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { PAGES = 16 };

static size_t page;

/* A fresh anonymous mapping of PAGES pages, none present yet. */
static unsigned char *
fresh(void)
{
	void *p = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* Which of p's pages are present: a string of '1' and '0'. */
static void
present(unsigned char *p, char out[PAGES + 1])
{
	unsigned char v[PAGES];
	size_t i;

	assert_int_equal(mincore(p, PAGES * page, v), 0);
	for (i = 0; i < PAGES; i++)
		out[i] = (v[i] & 1) ? '1' : '0';
	out[PAGES] = '\0';
}

static int
setup(void **state)
{
	(void)state;
	page = (size_t)sysconf(_SC_PAGESIZE);
	return page > 0 ? 0 : -1;
}

/* A kernel without the call (before 5.14): nothing to see. */
static void
skip_without_populate(void)
{
	unsigned char *p = fresh();
	int r = madvise(p, page, MADV_POPULATE_WRITE);

	(void)munmap(p, PAGES * page);
	if (r == -1)
		skip();
}

static void
test_the_pages_asked_for(void **state)
{
	unsigned char *p;
	char got[PAGES + 1];

	(void)state;
	skip_without_populate();
	p = fresh();
	present(p, got);
	assert_string_equal(got, "0000000000000000");
	/* 100 bytes into page 2, three pages long: pages 2 to 5 */
	prefault(p + 2 * page + 100, 3 * page);
	present(p, got);
	assert_string_equal(got, "0011110000000000");
	/* and they are writable, with nothing in them */
	assert_int_equal(p[5 * page + page - 1], 0);
	p[2 * page] = 1;
	/* one byte: its page */
	prefault(p + 9 * page + page - 1, 1);
	present(p, got);
	assert_string_equal(got, "0011110001000000");
	assert_int_equal(munmap(p, PAGES * page), 0);
}

static void
test_nothing_asked_nothing_done(void **state)
{
	unsigned char *p;
	char got[PAGES + 1];

	(void)state;
	skip_without_populate();
	p = fresh();
	prefault(p + page, 0);
	present(p, got);
	assert_string_equal(got, "0000000000000000");
	assert_int_equal(munmap(p, PAGES * page), 0);
}

static void
test_what_cannot_be_done_is_left(void **state)
{
	unsigned char *p;

	(void)state;
	p = fresh();
	assert_int_equal(munmap(p, PAGES * page), 0);
	/* unmapped, and a range that would wrap: no crash, no error */
	prefault(p, PAGES * page);
	prefault((void *)(UINTPTR_MAX - page), 2 * page);
	/* the stack below this frame */
	prefault_stack(PREFAULT_STACK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_pages_asked_for),
		cmocka_unit_test(test_nothing_asked_nothing_done),
		cmocka_unit_test(test_what_cannot_be_done_is_left),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
