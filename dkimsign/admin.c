/* admin.c — the two commands a person runs once per domain: -g makes the
 * keys and prints what to publish in DNS, -p prints it again later.  The
 * output is zone-file text on standard output, ready to paste; nothing
 * else goes there, so it can be redirected into a zone file. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "admin.h"
#include "atomic.h"
#include "conf.h"
#include "idnlook.h"
#include "io.h"
#include "keys.h"
#include "str.h"

enum {
	ADMIN_RECORD_MAX = 2048		/* one record of a 4096-bit key */
};

/* The domain, lowercased, into domain[CONF_HOSTNAME_MAX + 1], the
 * configuration loaded, DIR/domains/DOMAIN into ddir[PATH_MAX] and its
 * dkim/ into dkim[PATH_MAX]. */
static int
prepare(const char *confdir, const char *dom, char *domain,
    struct conf *conf, char *ddir, char *dkim, char *err, size_t errlen)
{
	if (str_copy(domain, CONF_HOSTNAME_MAX + 1, dom) == -1) {
		str_fmt_cut(err, errlen, "domain too long");
		return -1;
	}
	if (keys_init() == -1) {
		str_fmt_cut(err, errlen, "libsodium initialisation failed");
		return -1;
	}
	str_lower(domain);
	if (conf_load(conf, conf_dir(confdir), err, errlen) == -1)
		return -1;
	if (conf_domain_path(conf, domain, NULL, ddir, PATH_MAX) == -1 ||
	    conf_domain_path(conf, domain, "dkim", dkim, PATH_MAX) == -1) {
		str_fmt_cut(err, errlen, "%s: not a domain name", domain);
		return -1;
	}
	return 0;
}

static int
print_records(const struct keys_key *k, size_t n, const char *domain,
    int out, char *err, size_t errlen)
{
	char mem[ADMIN_RECORD_MAX], adom[CONF_HOSTNAME_MAX + 1];
	struct str s;
	size_t i;

	/* The record's name in A-labels, as DNS has it and d= says. */
	if (idnlook_to_ascii(domain, adom, sizeof(adom), err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		str_init(&s, mem, sizeof(mem));
		if (keys_record(&k[i], adom, &s) == -1) {
			str_fmt_cut(err, errlen, "%s: no record: %s",
			    k[i].selector, strerror(errno));
			return -1;
		}
		if (fd_write_all(out, s.s, s.len) == -1) {
			str_fmt_cut(err, errlen, "write: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The hostname's directory may be missing: it is a local domain without
 * one (posthorn.conf(5)), and bounces are signed with its keys. */
static int
domain_dir(const struct conf *conf, const char *domain, const char *ddir,
    char *err, size_t errlen)
{
	char domains[PATH_MAX];
	struct stat st;

	if (stat(ddir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (strcmp(domain, conf->hostname) != 0) {
		str_fmt_cut(err, errlen, "%s: not a local domain (no %s)",
		    domain, ddir);
		return -1;
	}
	if (str_fmt(domains, sizeof(domains), "%s/domains", conf->dir) ==
	    -1) {
		str_fmt_cut(err, errlen, "%s/domains: name too long",
		    conf->dir);
		return -1;
	}
	if ((mkdir(domains, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(ddir, 0755) == -1 && errno != EEXIST) ||
	    fsync_parent(ddir) == -1 || fsync_parent(domains) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", ddir, strerror(errno));
		return -1;
	}
	return 0;
}

int
admin_generate(const char *confdir, const char *dom, unsigned bits,
    long long t, int out, char *err, size_t errlen)
{
	static struct conf conf;
	struct keys_key k[2];
	char domain[CONF_HOSTNAME_MAX + 1], ddir[PATH_MAX], dkim[PATH_MAX];
	int rc = -1;

	if (prepare(confdir, dom, domain, &conf, ddir, dkim, err,
	    errlen) == -1 ||
	    domain_dir(&conf, domain, ddir, err, errlen) == -1)
		return -1;
	if (keys_generate(dkim, t >= 0 ? (time_t)t : time(NULL), bits, k,
	    err, errlen) == -1)
		return -1;
	rc = print_records(k, 2, domain, out, err, errlen);
	keys_free(&k[0]);
	keys_free(&k[1]);
	return rc;
}

int
admin_print(const char *confdir, const char *dom, int out, char *err,
    size_t errlen)
{
	static struct conf conf;
	struct keys_key k[KEYS_MAX];
	char domain[CONF_HOSTNAME_MAX + 1], ddir[PATH_MAX], dkim[PATH_MAX];
	size_t n = 0, i;
	int rc;

	if (prepare(confdir, dom, domain, &conf, ddir, dkim, err,
	    errlen) == -1 ||
	    keys_load_dir(dkim, k, KEYS_MAX, &n, err, errlen) == -1)
		return -1;
	if (n == 0) {
		str_fmt_cut(err, errlen, "no DKIM key for %s in %s", domain,
		    dkim);
		return -1;
	}
	rc = print_records(k, n, domain, out, err, errlen);
	for (i = 0; i < n; i++)
		keys_free(&k[i]);
	return rc;
}
