/* prefault.c — pages made present before they are written (prefault.h). */
#include <sys/mman.h>

#include <stdint.h>
#include <unistd.h>

#include "prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14; older libc headers lack it */
#endif

void
prefault(const void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a, b;

	if (len == 0 || page == 0 || len > UINTPTR_MAX - page ||
	    (uintptr_t)p > UINTPTR_MAX - page - len)
		return;
	a = (uintptr_t)p & ~(page - 1);
	b = ((uintptr_t)p + len + page - 1) & ~(page - 1);
	/* Only a cost saved: a failure leaves the pages to fault in. */
	(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
}

void
prefault_stack(size_t len)
{
	char here;
	uintptr_t top = (uintptr_t)&here;

	if (top < len)
		return;
	/* The stack grows down from here; the kernel maps at least
	 * 128 KiB of it at exec, so the range lies in its mapping. */
	prefault((const void *)(top - len), len);
}
