/* sjob.c — smtp-out's job stream (sjob.h): a count, then the arguments,
 * each NUL-terminated.  The writer is queue-run, the reader smtp-out -J;
 * both bound what they hold. */

#include <errno.h>
#include <string.h>

#include "sjob.h"
#include "str.h"

int
sjob_encode(char *buf, size_t cap, size_t *len, char *const argv[],
    size_t argc)
{
	char count[SJOB_COUNT_MAX + 1];
	size_t need, i, n, off;

	if (argc > SJOB_ARGS_MAX || *len > cap ||
	    str_fmt(count, sizeof(count), "%zu", argc) == -1) {
		errno = E2BIG;
		return -1;
	}
	need = strlen(count) + 1;
	for (i = 0; i < argc; i++)
		need += strlen(argv[i]) + 1;
	if (need > cap - *len) {
		errno = E2BIG;
		return -1;
	}
	off = *len;
	n = strlen(count) + 1;
	memcpy(buf + off, count, n);
	off += n;
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(buf + off, argv[i], n);
		off += n;
	}
	*len = off;
	return 0;
}

int
sjob_parse(char *buf, size_t len, char **argv, size_t max, size_t *argc,
    size_t *used)
{
	size_t off, n = 0, want = 0, i;
	char *nul;

	if ((nul = memchr(buf, '\0', len < SJOB_COUNT_MAX + 1 ? len :
	    SJOB_COUNT_MAX + 1)) == NULL) {
		if (len < SJOB_COUNT_MAX + 1)
			return 0;
		errno = EINVAL;		/* no count is this long */
		return -1;
	}
	if (nul == buf) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; buf + i < nul; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			errno = EINVAL;
			return -1;
		}
		want = want * 10 + (size_t)(buf[i] - '0');
	}
	if (want + 1 > max || want > SJOB_ARGS_MAX) {
		errno = E2BIG;
		return -1;
	}
	off = (size_t)(nul - buf) + 1;
	for (n = 0; n < want; n++) {
		if ((nul = memchr(buf + off, '\0', len - off)) == NULL)
			return 0;	/* the rest is still to come */
		argv[n] = buf + off;
		off = (size_t)(nul - buf) + 1;
	}
	argv[n] = NULL;
	*argc = n;
	*used = off;
	return 1;
}
