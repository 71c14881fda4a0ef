/* fileread.h — the whole of a small regular file in memory, with a bound:
 * a key file, a message's state and its DKIM fields, smtp-out's -H file.
 * Not for the files read at each RCPT (fileline.h reads those a line at
 * a time). */
#ifndef POSTHORN_FILEREAD_H
#define POSTHORN_FILEREAD_H

#include <stddef.h>

/* path into buf[size], NUL-terminated, *len its length: 0, or -1 with
 * errno (EFBIG: longer than size - 1 bytes; EINVAL: not a regular file;
 * else open(2)'s or read(2)'s).  buf is the caller's, so that a secret
 * can be read into memory of its own (sodium_malloc). */
int	fileread_into(const char *path, char *buf, size_t size, size_t *len);
/* path into *buf, from malloc(3) and NUL-terminated, *len its length: 0,
 * or -1 with errno as fileread_into's (EFBIG: longer than max bytes) or
 * ENOMEM.  The caller frees *buf. */
int	fileread_all(const char *path, size_t max, char **buf, size_t *len);

#endif
