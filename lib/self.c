/* self.c — find a program beside our own executable. */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "self.h"
#include "str.h"

int
self_sibling(const char *name, char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

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
	return 0;
}
