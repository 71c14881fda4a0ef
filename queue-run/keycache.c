/* keycache.c — DKIM keys kept in queue-run's memory (keycache.h). */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "filecache.h"
#include "keycache.h"
#include "str.h"

#define KEY_DIR		"dkim"		/* DIR/domains/DOMAIN/dkim/ */

struct entry {
	char		 domain[CONF_HOSTNAME_MAX + 1];	/* "" when free */
	char		 dir[PATH_MAX];
	struct stat	 dst;		/* the directory as read; zero: none */
	struct stat	 kst[KEYS_MAX];	/* each key file as read */
	struct keys_key	 keys[KEYS_MAX];
	size_t		 n;
	int		 racy;		/* read again at the next use */
	unsigned long	 used;		/* for the least recently used */
};

static struct entry cache[KEYCACHE_DOMAINS_MAX];
static unsigned long tick;
static struct keycache_stats stats;

static void
drop(struct entry *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		keys_free(&e->keys[i]);
	memset(e, 0, sizeof(*e));
}

/* DIR/SELECTOR.rsa or .ed25519: the file keys_load_dir read k from. */
static int
key_path(const struct entry *e, const struct keys_key *k, char *path,
    size_t size)
{
	return str_fmt(path, size, "%s/%s%s", e->dir, k->selector,
	    k->type == KEYS_RSA ? ".rsa" : ".ed25519");
}

/* stat(2) of path; a missing one is all zeroes, so that it compares
 * unequal to any file that exists.  0, or -1 with errno. */
static int
stat_or_none(const char *path, struct stat *st)
{
	if (stat(path, st) == 0)
		return 0;
	memset(st, 0, sizeof(*st));
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

/* 1 when e's keys are those on disk now, 0 when they must be read. */
static int
current(const struct entry *e)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	if (e->racy || stat_or_none(e->dir, &st) == -1 ||
	    !filecache_unchanged(&st, &e->dst))
		return 0;
	for (i = 0; i < e->n; i++)
		if (key_path(e, &e->keys[i], path, sizeof(path)) == -1 ||
		    stat(path, &st) == -1 ||
		    !filecache_unchanged(&st, &e->kst[i]))
			return 0;
	return 1;
}

/* Read e->dir's keys; the stats are taken before the files are read, so
 * that a change while reading shows at the next use. */
static int
load(struct entry *e, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat dst;
	size_t i;

	if (stat_or_none(e->dir, &dst) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", e->dir, strerror(errno));
		return -1;
	}
	if (keys_load_dir(e->dir, e->keys, KEYS_MAX, &e->n, err, errlen) ==
	    -1)
		return -1;
	e->dst = dst;
	e->racy = dst.st_ino != 0 && filecache_racy(&dst);
	for (i = 0; i < e->n; i++) {
		/* A key replaced between the read and this stat(2) is
		 * racy too: it gets read again. */
		if (key_path(e, &e->keys[i], path, sizeof(path)) == -1 ||
		    stat(path, &e->kst[i]) == -1) {
			memset(&e->kst[i], 0, sizeof(e->kst[i]));
			e->racy = 1;
		} else if (filecache_racy(&e->kst[i]))
			e->racy = 1;
	}
	stats.loads++;
	return 0;
}

int
keycache_get(const struct conf *c, const char *domain,
    const struct keys_key **keys, size_t *n, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct entry *e = NULL, *lru = &cache[0];
	size_t i;

	*keys = NULL;
	*n = 0;
	if (keys_init() == -1) {
		str_fmt_cut(err, errlen, "libsodium initialisation failed");
		return -1;
	}
	if (strlen(domain) >= sizeof(cache[0].domain) ||
	    conf_domain_path(c, domain, KEY_DIR, dir, sizeof(dir)) == -1) {
		str_fmt_cut(err, errlen, "%s: not a domain name", domain);
		return -1;
	}
	for (i = 0; i < KEYCACHE_DOMAINS_MAX; i++) {
		if (cache[i].domain[0] != '\0' &&
		    strcmp(cache[i].domain, domain) == 0 &&
		    strcmp(cache[i].dir, dir) == 0) {
			e = &cache[i];
			break;
		}
		if (cache[i].used < lru->used)
			lru = &cache[i];
	}
	if (e != NULL && current(e)) {
		stats.hits++;
	} else {
		if (e == NULL)
			e = lru;
		drop(e);
		if (str_copy(e->domain, sizeof(e->domain), domain) == -1 ||
		    str_copy(e->dir, sizeof(e->dir), dir) == -1) {
			drop(e);
			str_fmt_cut(err, errlen, "%s: name too long", dir);
			return -1;
		}
		if (load(e, err, errlen) == -1) {
			drop(e);
			return -1;
		}
	}
	e->used = ++tick;
	*keys = e->keys;
	*n = e->n;
	return 0;
}

void
keycache_clear(void)
{
	size_t i;

	for (i = 0; i < KEYCACHE_DOMAINS_MAX; i++)
		drop(&cache[i]);
}

void
keycache_stats(struct keycache_stats *s)
{
	*s = stats;
}
