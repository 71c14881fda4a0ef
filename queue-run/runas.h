/* runas.h — whom queue-runas(8) runs a pipe alias or an MDA as, and
 * whether the configuration that says so can be trusted.  queue-runas
 * is set-uid root and started by queue-run (the posthorn user); the
 * checks here are what stand between that user and any other one:
 * the configuration must be root's (no component of its path, nor the
 * files read, writable by anyone else), and the user it names is
 * never root, never the caller, never the owner of the spool, and
 * never in a group of the caller's (posthorn, posthorn-drop, mail, the
 * groups of the secrets). */
#ifndef POSTHORN_RUNAS_H
#define POSTHORN_RUNAS_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/* A refusal: a path and a sentence. */
enum { RUNAS_WHY_MAX = 2 * CONF_PATH_MAX + 256 };

struct runas_id {
	uid_t	uid;
	gid_t	gid;
	char	name[CONF_USER_MAX + 1];	/* as the configuration says */
};

/* dir made absolute with no link left (realpath(3)) into real; 0 when
 * it and every directory above it is root's and writable by no one
 * else (a sticky directory of root's, such as /tmp, may be writable by
 * all: no one else can replace what root put there), and its
 * posthorn.conf, if there, a file (no link) of root's alone: checked
 * before conf_load reads it.  -1 with why. */
int	runas_trusted_dir(const char *dir, char *real, size_t realsize,
	    char *why, size_t whysize);

/* The user that c (read from a trusted directory) names for domain: its
 * domain.conf's command_user, else posthorn.conf's.  domain.conf, and
 * the directories of the domain, must be root's and writable by no
 * one else.  0 with *id, or -1 with why.  caller_uid, caller_gid and
 * groups[0..ngroups) are the caller's, none of which id may have. */
int	runas_target(const struct conf *c, const char *domain,
	    uid_t caller_uid, gid_t caller_gid, const gid_t *groups,
	    size_t ngroups, struct runas_id *id, char *why, size_t whysize);

/* queue-runas -G: the supplementary groups a program is left with, out
 * of the caller's: list is decimal gids separated by commas ("" for
 * none), each of which must be one of have[0..nhave), so that the mode
 * only ever takes groups away.  0 with out[0..*nout) (at most outmax),
 * or -1 with why. */
int	runas_keep_groups(const char *list, const gid_t *have, size_t nhave,
	    gid_t *out, size_t outmax, size_t *nout, char *why,
	    size_t whysize);

#endif
