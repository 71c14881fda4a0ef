/* confwatch.h — posthorn.conf kept current in a program that lives long
 * (queue-run, smtp-listen), where "read at start" would mean "stale until
 * a restart".  The program checks at each turn of its loop: one stat(2)
 * of the file, compared as filecache.h compares its files (device, inode,
 * size, modification and change times); a file read within the racy
 * window of its last change is read once more after the window, quietly
 * unless that finds a change.  A reload on a signal reads the file
 * whatever stat says.
 *
 * The change is atomic: the new configuration replaces the current one
 * only when the whole file parses; otherwise the current one stays and
 * the error is kept for the caller's log line.  Keys that the program
 * cannot change while it runs (queue-run's spool) keep their old values,
 * and the caller's log line names them. */
#ifndef POSTHORN_CONFWATCH_H
#define POSTHORN_CONFWATCH_H

#include <stddef.h>
#include <sys/stat.h>

#include "conf.h"

enum {
	/* Every key name of posthorn.conf, comma separated, fits. */
	CONFWATCH_KEYS_MAX = 512,
	CONFWATCH_ERR_MAX = 1024
};

enum confwatch_result {
	CONFWATCH_SAME,		/* nothing to do, nothing to say */
	CONFWATCH_RELOADED,	/* conf replaced (changed may be "") */
	CONFWATCH_FAILED	/* conf kept; err says why */
};

struct confwatch {
	struct conf	 conf;		/* the current configuration */
	struct stat	 st;		/* posthorn.conf as read; zero: none */
	int		 racy;		/* read once more after the window */
	/* What the last check that was not CONFWATCH_SAME did. */
	char		 changed[CONFWATCH_KEYS_MAX];	/* "hostname,..." */
	char		 kept[CONFWATCH_KEYS_MAX];	/* fixed keys kept */
	char		 err[CONFWATCH_ERR_MAX];
};

/* The first reading: conf_load of dir into w->conf, the file's stat taken
 * before it.  0, or -1 with the message in err, as conf_load gives it. */
int	confwatch_load(struct confwatch *w, const char *dir, char *err,
	    size_t errsize);
/* Read the file again if it changed (or whatever it says, force != 0).
 * fixed: NULL, or the key names (NULL-terminated) that keep their
 * current values, into w->kept when the file changed them. */
enum confwatch_result confwatch_check(struct confwatch *w, int force,
	    const char *const *fixed);
/* The log line of a check's result (none for CONFWATCH_SAME):
 * event=config-reloaded with the keys changed and kept, or
 * event=config-rejected with the reason; trigger says what asked. */
void	confwatch_log(const struct confwatch *w, enum confwatch_result,
	    const char *trigger);

#endif
