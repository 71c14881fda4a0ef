/* config_main.c — posthorn-config(8): print the configuration that the
 * programs use, posthorn.conf with the default of every key it does not
 * set, the way "postconf -n" and "chasquid-util print-config" do.  The
 * keys, their defaults and their formatting are lib/conf's (tested
 * there); this file is arguments, the listing and exit codes.  The output
 * is itself a valid posthorn.conf. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "idna.h"
#include "idnlook.h"
#include "str.h"

#define PROG	"posthorn-config"

enum {
	EXIT_NO_KEY = 1,		/* a key named that does not exist */
	VALUE_MAX = CONF_PATH_MAX	/* the longest value: a path */
};

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [-C dir] [-d | -n] [key ...]\n");
}

static int
is_domain_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* An international domain directory's name must be valid IDNA 2008
 * (libidn2 says; smtp-in, without its tables, would take a name that DNS
 * never will) and must not exist in both spellings (which directory
 * would get the mail?).  A warning on stderr; 1 if one was said. */
static int
warn_domain(const struct conf *c, const char *name)
{
	char a[CONF_HOSTNAME_MAX + 1], other[4 * CONF_HOSTNAME_MAX + 1],
	    why[IDNLOOK_WHY_MAX], path[PATH_MAX];
	struct stat st;

	if (!idna_is_intl(name))
		return 0;
	if (idnlook_to_ascii(name, a, sizeof(a), why, sizeof(why)) == -1) {
		fprintf(stderr, PROG ": warning: domains/%s\n", why);
		return 1;
	}
	if (idna_other(name, other, sizeof(other)) == IDNA_OK &&
	    strcmp(other, name) != 0 && str_fmt(path, sizeof(path),
	    "%s/domains/%s", c->dir, other) == 0 && stat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": warning: domains/%s and domains/%s "
		    "are one domain in two spellings: keep one\n", name,
		    other);
		return 1;
	}
	return 0;
}

/* "# local domains: a.example, b.example (domains/), and HOSTNAME": what
 * the configuration receives mail for, as a comment. */
static void
print_domains(const struct conf *c)
{
	char path[PATH_MAX];
	struct dirent **ents = NULL;
	struct stat st;
	int i, n, k = 0;

	printf("# local domains:");
	if (str_fmt(path, sizeof(path), "%s/domains", c->dir) == 0 &&
	    (n = scandir(path, &ents, is_domain_entry, alphasort)) != -1) {
		for (i = 0; i < n; i++) {
			if (conf_domain_path(c, ents[i]->d_name, NULL, path,
			    sizeof(path)) == 0 && stat(path, &st) == 0 &&
			    S_ISDIR(st.st_mode)) {
				printf("%s %s", k++ > 0 ? "," : "",
				    ents[i]->d_name);
				(void)warn_domain(c, ents[i]->d_name);
			}
			free(ents[i]);
		}
		free(ents);
	}
	printf("%s %s (hostname)\n", k > 0 ? ", and" : "", c->hostname);
}

/* "key = value" for key, "key =" when empty, "#key =" when unset (the
 * file cannot say it, and leaves it out); nothing when only (-n) and it
 * is the default. */
static int
print_key(const struct conf *c, const struct conf *defaults,
    const char *key, int only_set)
{
	char v[VALUE_MAX + 1], d[VALUE_MAX + 1];
	int unset;

	if ((unset = conf_format(c, key, v, sizeof(v))) == -1 ||
	    conf_format(defaults, key, d, sizeof(d)) == -1)
		return -1;
	if (only_set && strcmp(v, d) == 0)
		return 0;
	printf("%s%s =%s%s\n", unset ? "#" : "", key, v[0] != '\0' ? " " : "",
	    v);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf *c = NULL, *defaults = NULL;
	char err[1024];
	const char *opt = NULL;
	size_t i;
	int ch, only_set = 0, only_defaults = 0, code = 0;

	while ((ch = getopt(argc, argv, "C:dn")) != -1) {
		switch (ch) {
		case 'C':
			opt = optarg;
			break;
		case 'd':
			only_defaults = 1;
			break;
		case 'n':
			only_set = 1;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (only_set && only_defaults) {
		usage();
		return EX_USAGE;
	}
	/* Several PATH_MAX-sized buffers each: not on the stack. */
	if ((c = malloc(sizeof(*c))) == NULL ||
	    (defaults = malloc(sizeof(*defaults))) == NULL) {
		fprintf(stderr, PROG ": %s\n", strerror(errno));
		code = EX_OSERR;
		goto out;
	}
	if (conf_defaults(defaults, conf_dir(opt), err, sizeof(err)) == -1 ||
	    (only_defaults ? conf_defaults(c, conf_dir(opt), err,
	    sizeof(err)) : conf_load(c, conf_dir(opt), err,
	    sizeof(err))) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		code = EX_CONFIG;
		goto out;
	}
	if (argc > 0) {
		for (; argc > 0; argc--, argv++)
			if (print_key(c, defaults, *argv, only_set) == -1) {
				fprintf(stderr, PROG ": %s: no such key "
				    "(see posthorn.conf(5))\n", *argv);
				code = EXIT_NO_KEY;
			}
		goto flush;
	}
	printf("# %s/%s%s\n", c->dir, CONF_FILE, only_defaults ?
	    ": the defaults, whatever the file says" : only_set ?
	    ": the values that are not the default" :
	    ", with the default of every key it does not set");
	for (i = 0; conf_key_name(i) != NULL; i++)
		(void)print_key(c, defaults, conf_key_name(i), only_set);
	if (!only_defaults)
		print_domains(c);
flush:
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, PROG ": standard output: %s\n",
		    strerror(errno));
		code = EX_IOERR;
	}
out:
	free(c);
	free(defaults);
	return code;
}
