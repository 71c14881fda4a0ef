/* domains.c — which domains are ours: the directories under
 * DIR/domains/ and the hostname.  Below both alias.c (where an address
 * goes) and resolve.c (smtp-in's RCPT check), which ask it, so that the
 * three agree about a domain. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "domains.h"
#include "idna.h"
#include "str.h"

enum {
	DOMAINS_FIRST = 16	/* first allocation of the list */
};

/* Copy domain lowercased into out; 0 if it cannot name a directory of
 * ours (empty, too long, '/' in it, or a leading '.'). */
static int
domain_clean(const char *domain, char *out, size_t size)
{
	if (domain[0] == '\0' || domain[0] == '.' ||
	    strchr(domain, '/') != NULL ||
	    str_copy(out, size, domain) == -1)
		return 0;
	str_lower(out);
	return 1;
}

/* 1 if DIR/domains/d is a directory, 0 not, -1 error. */
static int
has_dir(const struct conf *conf, const char *d)
{
	char path[PATH_MAX];
	struct stat st;

	/* Not conf_domain_path, which would find the other spelling. */
	if (str_fmt(path, sizeof(path), "%s/domains/%s", conf->dir, d) == -1)
		return 0;	/* too long to be ours */
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode);
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

int
domains_name(const struct conf *conf, const char *domain, char *name,
    size_t size, int *hasdir)
{
	char d[ADDR_DOMAIN_MAX + 1], other[ADDR_DOMAIN_MAX + 1];
	int r;

	*hasdir = 0;
	if (size > 0)
		name[0] = '\0';
	if (!domain_clean(domain, d, sizeof(d)))
		return 0;
	if ((r = has_dir(conf, d)) == -1)
		return -1;
	if (r == 0 && str_casecmp(d, conf->hostname) != 0) {
		/* The other spelling of an international name (RFC 5890:
		 * bücher.example is xn--bcher-kva.example), which the
		 * configuration may use instead.  ASCII names pay one scan
		 * of their bytes, and only when they are not ours. */
		if (!idna_is_intl(d) ||
		    idna_other(d, other, sizeof(other)) != IDNA_OK)
			return 0;
		if ((r = has_dir(conf, other)) == -1)
			return -1;
		if (r == 0 && str_casecmp(other, conf->hostname) != 0)
			return 0;
		memcpy(d, other, sizeof(d));
	}
	*hasdir = r;
	if (str_copy(name, size, d) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

int
domains_local(const struct conf *conf, const char *domain, int *hasdir)
{
	char name[ADDR_DOMAIN_MAX + 1];

	return domains_name(conf, domain, name, sizeof(name), hasdir);
}

int
domains_is_local(const struct conf *conf, const char *domain)
{
	int hasdir;

	return domains_local(conf, domain, &hasdir);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
domains_list(const struct conf *conf, char ***names, size_t *n)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	char **v = NULL, **nv;
	size_t cap = 0, len = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = -1, e;

	*names = NULL;
	*n = 0;
	if (str_fmt(dir, sizeof(dir), "%s/domains", conf->dir) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				goto out;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (str_fmt(sub, sizeof(sub), "%s/%s", dir, de->d_name) == -1)
			goto out;
		if (stat(sub, &st) == -1) {
			if (errno == ENOENT)
				continue;	/* removed meanwhile */
			goto out;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if (len == cap) {
			cap = cap == 0 ? DOMAINS_FIRST : 2 * cap;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		if ((v[len] = strdup(de->d_name)) == NULL)
			goto out;
		len++;
	}
	if (len > 0)
		qsort(v, len, sizeof(v[0]), namecmp);
	*names = v;
	*n = len;
	v = NULL;
	rc = 0;
out:
	e = errno;
	closedir(d);
	if (v != NULL) {
		for (i = 0; i < len; i++)
			free(v[i]);
		free(v);
	}
	errno = e;
	return rc;
}
