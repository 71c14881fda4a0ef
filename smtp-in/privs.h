/* privs.h — what smtp-listen keeps of root's power, and what it hands
 * on.  The sessions it starts parse the network, so they get no
 * capability and no supplementary group at all: nothing of the secrets'
 * groups.  The residents it starts each get the group of the one secret
 * they need: the TLS zygote posthorn-tls (the TLS private keys), the
 * keeper posthorn-srs and posthorn-auth (srs.secret, the users files).
 * For that the listener keeps CAP_SETGID and nothing else: under systemd
 * the unit's AmbientCapabilities= gives it; started as root (-u) it
 * keeps it across its drop to the user.  A listener without it (started
 * by an ordinary user, in tests and by hand) hands on the groups it has,
 * as before. */
#ifndef POSTHORN_PRIVS_H
#define POSTHORN_PRIVS_H

#include <sys/types.h>

#include <stddef.h>

/* The secrets' groups, smtp-listen(8) and install.sh. */
#define PRIVS_GROUP_TLS		"posthorn-tls"
#define PRIVS_GROUP_SRS		"posthorn-srs"
#define PRIVS_GROUP_AUTH	"posthorn-auth"

enum {
	PRIVS_CAP_SETGID = 6,	/* linux/capability.h, which musl lacks */
	PRIVS_CAP_SETPCAP = 8,
	PRIVS_GROUPS_MAX = 2	/* the groups of one resident */
};

/* As root: become user (its uid, its primary gid, no supplementary
 * group) and keep CAP_SETGID alone, in the bounding set too.  0, or -1
 * with the reason in err. */
int	privs_drop(const char *user, char *err, size_t errlen);
/* Once, as the user: empty the ambient and inheritable sets (so that no
 * exec'd program gets a capability) and, with CAP_SETGID, the
 * supplementary groups (so that no session gets one).  1 when the
 * listener can give groups (CAP_SETGID), 0 when it cannot, -1 with err. */
int	privs_init(char *err, size_t errlen);
/* The gid of the group name, or -1 when there is none. */
gid_t	privs_gid(const char *name);
/* The supplementary groups from now on: the n of g, or none (n 0).
 * 0, or -1 with errno. */
int	privs_groups(const gid_t *g, size_t n);

#endif
