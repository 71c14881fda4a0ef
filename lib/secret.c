/* secret.c — refuse a secret that others can read.  A configuration
 * tree kept in git and restored by a clone comes back with mode 0644
 * everywhere: the TLS key, the DKIM keys and the SRS secret world
 * readable, and nothing would notice.  Each program that reads one of
 * them checks it here first and refuses it with the fix, so that the
 * first connection or the first signed message after such a restore
 * says what is wrong instead of using a key that has leaked. */

#include <sys/stat.h>

#include <errno.h>
#include <string.h>

#include "secret.h"
#include "str.h"

/* Read or write by others: write would let anyone swap the key. */
#define SECRET_OTHERS	(S_IROTH | S_IWOTH)

int
secret_check(int fd, const char *path, char *why, size_t whysize)
{
	struct stat st;

	if ((fd == -1 ? stat(path, &st) : fstat(fd, &st)) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & SECRET_OTHERS) != 0) {
		str_fmt_cut(why, whysize, "%s: refused, other users can %s "
		    "this secret (mode %04o); fix: chmod o-rwx %s", path,
		    (st.st_mode & S_IROTH) != 0 ? "read" : "write",
		    (unsigned)(st.st_mode & 07777), path);
		errno = EPERM;
		return -1;
	}
	return 0;
}
