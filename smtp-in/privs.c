/* privs.c — smtp-listen's capability and groups (privs.h).  musl has no
 * capget/capset wrappers nor linux/capability.h: the two system calls
 * and their kernel structures (capability version 3, two 32-bit words
 * per set) are used directly. */

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "privs.h"
#include "str.h"

#define CAP_VERSION_3	0x20080522	/* _LINUX_CAPABILITY_VERSION_3 */

struct cap_header {
	uint32_t	version;
	int		pid;
};

struct cap_data {
	uint32_t	effective, permitted, inheritable;
};

enum { CAP_WORDS = 2, CAP_LAST_MAX = 63 };

static int
cap_get(struct cap_data d[CAP_WORDS])
{
	struct cap_header h = { CAP_VERSION_3, 0 };

	memset(d, 0, sizeof(*d) * CAP_WORDS);
	return (int)syscall(SYS_capget, &h, d);
}

/* Effective and permitted: CAP_SETGID when keep, else nothing;
 * inheritable: nothing. */
static int
cap_set(int keep)
{
	struct cap_header h = { CAP_VERSION_3, 0 };
	struct cap_data d[CAP_WORDS];

	memset(d, 0, sizeof(d));
	if (keep)
		d[0].effective = d[0].permitted = 1u << PRIVS_CAP_SETGID;
	return (int)syscall(SYS_capset, &h, d);
}

static int
has_setgid(void)
{
	struct cap_data d[CAP_WORDS];

	return cap_get(d) == 0 &&
	    (d[0].effective & (1u << PRIVS_CAP_SETGID)) != 0;
}

int
privs_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	int cap;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		str_fmt_cut(err, errlen, "user %s: %s", user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		str_fmt_cut(err, errlen, "user %s: is root", user);
		return -1;
	}
	/* The bounding set, while we may (CAP_SETPCAP): only CAP_SETGID
	 * could ever come back by an exec.  Where the listener was not
	 * given CAP_SETPCAP (a container's root), no_new_privs, set
	 * next, keeps an exec from gaining any capability anyway. */
	for (cap = 0; cap <= CAP_LAST_MAX; cap++) {
		if (cap == PRIVS_CAP_SETGID)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
			if (errno == EINVAL)
				break;		/* past the kernel's last */
			if (errno != EPERM)
				goto fail;
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 ||
	    setgroups(0, NULL) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1 || cap_set(1) == -1 ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1)
		goto fail;
	if (setuid(0) != -1 || getuid() == 0 || geteuid() == 0) {
		str_fmt_cut(err, errlen, "user %s: still root", user);
		return -1;
	}
	return 0;
fail:
	str_fmt_cut(err, errlen, "becoming %s: %s", user, strerror(errno));
	return -1;
}

int
privs_init(char *err, size_t errlen)
{
	int can = has_setgid();

	/* Ambient capabilities pass through every exec: systemd gave us
	 * CAP_SETGID that way, and no child may have it.  EINVAL: a
	 * kernel before 4.3, which has no ambient set. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		str_fmt_cut(err, errlen, "ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (cap_set(can) == -1) {
		str_fmt_cut(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	if (can && setgroups(0, NULL) == -1) {
		str_fmt_cut(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	return can;
}

gid_t
privs_gid(const char *name)
{
	struct group *g;

	if ((g = getgrnam(name)) == NULL)
		return (gid_t)-1;
	return g->gr_gid;
}

int
privs_groups(const gid_t *g, size_t n)
{
	return setgroups(n, n > 0 ? g : NULL);
}
