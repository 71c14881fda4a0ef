/* sjob.c — smtp-out's job stream (sjob.h): NUL-terminated arguments, an
 * empty one at the end of each job.  The writer is queue-run, the reader
 * smtp-out -J; both bound what they hold. */

#include <errno.h>
#include <string.h>

#include "sjob.h"

int
sjob_put(char *buf, size_t cap, size_t *len, const char *arg)
{
	size_t n = strlen(arg) + 1;

	if (*len > cap || n > cap - *len) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf + *len, arg, n);
	*len += n;
	return 0;
}

int
sjob_end(char *buf, size_t cap, size_t *len)
{
	return sjob_put(buf, cap, len, "");
}

int
sjob_parse(char *buf, size_t len, char **argv, size_t max, size_t *argc,
    size_t *used)
{
	size_t off = 0, n = 0;
	char *nul;

	for (;;) {
		if ((nul = memchr(buf + off, '\0', len - off)) == NULL)
			return 0;	/* the rest is still to come */
		if (nul == buf + off)
			break;		/* the empty argument: the end */
		if (n + 1 >= max) {
			errno = E2BIG;
			return -1;
		}
		argv[n++] = buf + off;
		off = (size_t)(nul - buf) + 1;
	}
	argv[n] = NULL;
	*argc = n;
	*used = off + 1;
	return 1;
}
