/* runas.c — the checks of queue-runas(8); see runas.h.  Whom a command
 * runs as is the configuration's choice alone: queue-run says which
 * domain the command is for, and this module reads what root wrote for
 * it, so that nothing the posthorn user can write ever picks a uid. */

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domconf.h"
#include "runas.h"
#include "str.h"

/* Written by no one but root (the group and others may not). */
#define RUNAS_WRITERS	(S_IWGRP | S_IWOTH)

/* May a non-root user change what path (a directory) holds? */
static int
dir_ok(const char *path, int sticky_ok, char *why, size_t whysize)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		str_fmt_cut(why, whysize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		str_fmt_cut(why, whysize, "%s: not a directory", path);
		return -1;
	}
	if (st.st_uid != 0 || ((st.st_mode & RUNAS_WRITERS) != 0 &&
	    !(sticky_ok && (st.st_mode & S_ISVTX) != 0))) {
		str_fmt_cut(why, whysize, "%s: not root's alone (owner %lu, "
		    "mode %04o): the user a command runs as is chosen only "
		    "by a configuration of root's", path,
		    (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* A file of the configuration: absent, or root's and written by no one
 * else.  0, 1 when absent, -1 with why. */
static int
file_ok(const char *path, char *why, size_t whysize)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 1;
		str_fmt_cut(why, whysize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & RUNAS_WRITERS) != 0) {
		str_fmt_cut(why, whysize, "%s: not a file of root's alone "
		    "(owner %lu, mode %04o): fix: chown root %s; chmod go-w %s",
		    path, (unsigned long)st.st_uid,
		    (unsigned)(st.st_mode & 07777), path, path);
		return -1;
	}
	return 0;
}

int
runas_trusted_dir(const char *dir, char *real, size_t realsize,
    char *why, size_t whysize)
{
	char buf[PATH_MAX], part[PATH_MAX];
	const char *p;
	size_t n;

	if (realpath(dir, buf) == NULL) {
		str_fmt_cut(why, whysize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (str_copy(real, realsize, buf) == -1) {
		str_fmt_cut(why, whysize, "%s: path too long", dir);
		return -1;
	}
	/* "/", then each prefix: /etc, /etc/posthorn.  realpath left no
	 * link, and a directory root keeps to itself cannot gain one. */
	if (dir_ok("/", 1, why, whysize) == -1)
		return -1;
	for (p = buf + 1; *p != '\0'; p++) {
		if (p[1] != '/' && p[1] != '\0')
			continue;
		n = (size_t)(p + 1 - buf);
		memcpy(part, buf, n);
		part[n] = '\0';
		/* The directory itself is never sticky-writable. */
		if (dir_ok(part, p[1] != '\0', why, whysize) == -1)
			return -1;
	}
	/* posthorn.conf too, before conf_load reads it as root: what a
	 * link or a file of another's holds must not reach even the
	 * caller's error message. */
	if (str_fmt(part, sizeof(part), "%s/%s", buf, CONF_FILE) == -1) {
		str_fmt_cut(why, whysize, "%s: path too long", dir);
		return -1;
	}
	return file_ok(part, why, whysize) == -1 ? -1 : 0;
}

/* Is g one of the caller's groups? */
static int
in_groups(gid_t g, gid_t caller_gid, const gid_t *groups, size_t n)
{
	size_t i;

	if (g == caller_gid)
		return 1;
	for (i = 0; i < n; i++)
		if (groups[i] == g)
			return 1;
	return 0;
}

/* "USER[:GROUP]" into *id; 0, or -1 with why. */
static int
lookup(const char *spec, struct runas_id *id, char *why, size_t whysize)
{
	char user[CONF_NAME_MAX + 1];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;
	struct group *gr;
	size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);

	if (n >= sizeof(user) ||
	    str_copy(id->name, sizeof(id->name), spec) == -1) {
		str_fmt_cut(why, whysize, "command_user %s: too long", spec);
		return -1;
	}
	memcpy(user, spec, n);
	user[n] = '\0';
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		str_fmt_cut(why, whysize, "command_user %s: no such user%s%s",
		    spec, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
		return -1;
	}
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	if (colon != NULL) {
		errno = 0;
		if ((gr = getgrnam(colon + 1)) == NULL) {
			str_fmt_cut(why, whysize, "command_user %s: no such "
			    "group%s%s", spec, errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
			return -1;
		}
		id->gid = gr->gr_gid;
	}
	return 0;
}

int
runas_target(const struct conf *c, const char *domain, uid_t caller_uid,
    gid_t caller_gid, const gid_t *groups, size_t ngroups,
    struct runas_id *id, char *why, size_t whysize)
{
	char path[PATH_MAX], err[RUNAS_WHY_MAX];
	struct domconf dc;
	struct stat st;
	const char *spec = c->command_user;
	int r;

	/* DIR/domains, DIR/domains/DOMAIN and its domain.conf, if there. */
	if (conf_domain_path(c, domain, NULL, path, sizeof(path)) == -1) {
		str_fmt_cut(why, whysize, "domain %s: %s", domain,
		    strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (str_fmt(err, sizeof(err), "%s/domains", c->dir) == -1 ||
		    dir_ok(err, 0, why, whysize) == -1 ||
		    dir_ok(path, 0, why, whysize) == -1)
			return -1;
		if (conf_domain_path(c, domain, DOMCONF_FILE, path,
		    sizeof(path)) == -1 ||
		    (r = file_ok(path, why, whysize)) == -1)
			return -1;
		if (r == 0) {
			if (domconf_load(c, domain, &dc, err,
			    sizeof(err)) == -1) {
				str_fmt_cut(why, whysize, "%s", err[0] != '\0' ?
				    err : strerror(errno));
				return -1;
			}
			if (dc.command_user[0] != '\0')
				spec = dc.command_user;
		}
	} else if (errno != ENOENT) {
		str_fmt_cut(why, whysize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (lookup(spec, id, why, whysize) == -1)
		return -1;
	if (id->uid == 0 || id->gid == 0) {
		str_fmt_cut(why, whysize, "command_user %s: refused, root's "
		    "%s", spec, id->uid == 0 ? "uid" : "group");
		return -1;
	}
	if (id->uid == caller_uid ||
	    (stat(c->spool, &st) == 0 && st.st_uid == id->uid)) {
		str_fmt_cut(why, whysize, "command_user %s: refused, the "
		    "mail system's own user (it owns the spool)", spec);
		return -1;
	}
	if (in_groups(id->gid, caller_gid, groups, ngroups)) {
		str_fmt_cut(why, whysize, "command_user %s: refused, a group "
		    "of the mail system's (gid %lu)", spec,
		    (unsigned long)id->gid);
		return -1;
	}
	return 0;
}

int
runas_keep_groups(const char *list, const gid_t *have, size_t nhave,
    gid_t *out, size_t outmax, size_t *nout, char *why, size_t whysize)
{
	const char *p = list;
	unsigned long v;
	char *end;
	size_t i;

	*nout = 0;
	while (*p != '\0') {
		if (*p < '0' || *p > '9') {
			str_fmt_cut(why, whysize, "-G %s: not a list of group "
			    "numbers", list);
			return -1;
		}
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || v > (unsigned long)(gid_t)-1 - 1 ||
		    (*end != ',' && *end != '\0') ||
		    (*end == ',' && end[1] == '\0')) {
			str_fmt_cut(why, whysize, "-G %s: not a list of group "
			    "numbers", list);
			return -1;
		}
		for (i = 0; i < nhave && have[i] != (gid_t)v; i++)
			;
		if (i == nhave) {
			str_fmt_cut(why, whysize, "-G: group %lu is not the "
			    "caller's: only groups it has may be kept", v);
			return -1;
		}
		if (*nout >= outmax) {
			str_fmt_cut(why, whysize, "-G %s: too many groups",
			    list);
			return -1;
		}
		out[(*nout)++] = (gid_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}
