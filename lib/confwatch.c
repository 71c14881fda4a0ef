/* confwatch.c — re-read posthorn.conf when it changes (confwatch.h).  The
 * stat is taken before the file is read: a change between the two makes
 * the next check read it again, never miss it. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "confwatch.h"
#include "filecache.h"
#include "log.h"
#include "str.h"

/* DIR/posthorn.conf's stat into st; zero when it cannot be had (no file:
 * the defaults, which a file that appears then replaces). */
static void
stat_file(const char *dir, struct stat *st)
{
	char path[CONF_PATH_MAX + sizeof(CONF_FILE) + 1];

	memset(st, 0, sizeof(*st));
	if (str_fmt(path, sizeof(path), "%s/%s", dir, CONF_FILE) == -1 ||
	    stat(path, st) == -1)
		memset(st, 0, sizeof(*st));
}

static int
racy(const struct stat *st)
{
	return st->st_ino != 0 && filecache_racy(st);
}

int
confwatch_load(struct confwatch *w, const char *dir, char *err,
    size_t errsize)
{
	memset(w, 0, sizeof(*w));
	stat_file(dir, &w->st);
	if (conf_load(&w->conf, dir, err, errsize) == -1)
		return -1;
	w->racy = racy(&w->st);
	return 0;
}

/* Append name to list (comma separated), cut at size. */
static void
list_add(char *list, size_t size, const char *name)
{
	size_t len = strlen(list);

	(void)str_fmt(list + len, size - len, "%s%s", len > 0 ? "," : "",
	    name);
}

enum confwatch_result
confwatch_check(struct confwatch *w, int force, const char *const *fixed)
{
	struct conf *next = NULL, *probe;
	struct stat st;
	char err[CONFWATCH_ERR_MAX];
	enum confwatch_result rc = CONFWATCH_SAME;
	int changed, quiet;
	size_t i;

	stat_file(w->conf.dir, &st);
	changed = force || !filecache_unchanged(&st, &w->st);
	/* Unchanged to stat: read once more only when the last reading
	 * was within the racy window, and only once it has passed. */
	if (!changed && (!w->racy || racy(&st)))
		return CONFWATCH_SAME;
	quiet = !changed;
	w->st = st;
	w->racy = racy(&st);
	/* Two of them: not on the stack of a program that may be small. */
	if ((next = malloc(2 * sizeof(*next))) == NULL) {
		str_fmt_cut(w->err, sizeof(w->err), "%s", strerror(errno));
		/* Out of memory: the next check tries again. */
		memset(&w->st, 0, sizeof(w->st));
		w->st.st_size = -1;
		rc = CONFWATCH_FAILED;
		goto out;
	}
	if (conf_load(next, w->conf.dir, err, sizeof(err)) == -1) {
		/* The same error again after the racy window: said. */
		if (quiet && strcmp(err, w->err) == 0)
			goto out;
		(void)str_copy(w->err, sizeof(w->err), err);
		rc = CONFWATCH_FAILED;
		goto out;
	}
	w->err[0] = '\0';
	w->kept[0] = '\0';
	probe = next + 1;
	for (i = 0; fixed != NULL && fixed[i] != NULL; i++) {
		/* The current configuration with this key as the file says:
		 * if that differs, the file changed it. */
		*probe = w->conf;
		if (conf_copy_key(probe, next, fixed[i]) == -1)
			continue;
		if (conf_diff(probe, &w->conf, NULL, 0) > 0)
			list_add(w->kept, sizeof(w->kept), fixed[i]);
		(void)conf_copy_key(next, &w->conf, fixed[i]);
	}
	if (conf_diff(next, &w->conf, w->changed, sizeof(w->changed)) == 0 &&
	    quiet && w->kept[0] == '\0')
		goto out;	/* the quiet reading found nothing new */
	w->conf = *next;
	rc = CONFWATCH_RELOADED;
out:
	free(next);
	return rc;
}

void
confwatch_log(const struct confwatch *w, enum confwatch_result r,
    const char *trigger)
{
	char file[CONF_PATH_MAX + sizeof(CONF_FILE) + 1];

	str_fmt_cut(file, sizeof(file), "%s/%s", w->conf.dir, CONF_FILE);
	if (r == CONFWATCH_RELOADED)
		log_event("config-reloaded", "file", file, "trigger", trigger,
		    "changed", w->changed[0] != '\0' ? w->changed : "none",
		    "kept", w->kept[0] != '\0' ? w->kept : NULL,
		    "reason", w->kept[0] != '\0' ?
		    "kept keys take effect at the next start" : NULL,
		    (char *)NULL);
	else if (r == CONFWATCH_FAILED)
		log_event("config-rejected", "file", file, "trigger", trigger,
		    "reason", w->err, "using", "the previous configuration",
		    (char *)NULL);
}
