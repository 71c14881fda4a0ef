/* self.c — find a program that comes with this one.  Beside our own
 * executable first: a build directory holds every program in one place,
 * and so does an installation into one directory.  "make install" puts
 * the administrator's programs in PREFIX/sbin and the users' (dkimsign)
 * in PREFIX/bin, so a program not beside us is looked for in the other
 * of the two. */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "self.h"
#include "str.h"

static const char *const self_elsewhere[] = { "../bin", "../sbin" };

int
self_sibling(const char *name, char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;
	size_t i;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';
	if (str_fmt(buf, size, "%s/%s", self, name) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (access(buf, X_OK) == 0)
		return 0;
	for (i = 0; i < sizeof(self_elsewhere) / sizeof(self_elsewhere[0]);
	    i++)
		if (str_fmt(buf, size, "%s/%s/%s", self, self_elsewhere[i],
		    name) == 0 && access(buf, X_OK) == 0)
			return 0;
	/* None: the path beside us, so that the caller's error names it. */
	if (str_fmt(buf, size, "%s/%s", self, name) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
