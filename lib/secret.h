/* secret.h — files that hold a secret (the TLS private key, the DKIM
 * private keys, the SRS secret) are used only when others cannot read
 * or write them.  posthorn.conf(5), SECRETS, lists them. */
#ifndef POSTHORN_SECRET_H
#define POSTHORN_SECRET_H

#include <stddef.h>

#include "conf.h"

/* A message of secret_check: the path twice and some words. */
enum { SECRET_WHY_MAX = 2 * CONF_PATH_MAX + 128 };

/* Whether the file open on fd (or, when fd is -1, the file that path
 * names, links followed) is private enough to use: 0, or -1 with errno
 * and a message "PATH: ..." in why.  errno EPERM: others may read or
 * write it, and why says so with the mode and the fix (chmod o-rwx);
 * else stat(2)'s errno.  Group access is the administrator's choice:
 * install.sh gives these files mode 0640 and the group posthorn, so
 * that the mail system reads them as a group and no one else does. */
int	secret_check(int fd, const char *path, char *why, size_t whysize);

#endif
