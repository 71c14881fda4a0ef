/* aliases.c — libFuzzer harness: the aliases(5) reader and resolver
 * (lib/alias.c).  The input up to its first NUL is the aliases file of
 * example.com (users alice and bob); what follows the NUL, if anything, is
 * one more local part to resolve.  Each time: a handful of addresses of
 * the domain resolved as queue-run and smtp-in do, then aliases
 * --check's alias_check over the file. */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "fuzzutil.h"
#include "str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
emit(const struct alias_target *t, void *arg)
{
	size_t *n = arg;

	if (memchr(t->addr, '\0', sizeof(t->addr)) == NULL ||
	    memchr(t->cmd, '\0', sizeof(t->cmd)) == NULL)
		abort();
	(*n)++;
	return 0;
}

static void
report(const char *file, size_t line, const char *why, void *arg)
{
	(void)file;
	(void)line;
	(void)why;
	(*(size_t *)arg)++;
}

static void
resolve(const struct conf *c, const char *address)
{
	char why[ALIAS_WHY_MAX];
	size_t n = 0;

	(void)alias_resolve(c, address, emit, &n, why, sizeof(why));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *fixed[] = { "info@" FZ_DOMAIN, "alice@" FZ_DOMAIN,
	    "a.l.i.c.e+tag@" FZ_DOMAIN, "nobody@" FZ_DOMAIN,
	    "postmaster@" FZ_DOMAIN, "list@" FZ_DOMAIN, "postmaster",
	    "someone@catchall.example" };
	const struct fz_env *e = fz_env();
	const uint8_t *nul = memchr(data, '\0', size);
	char path[PATH_MAX], address[ADDR_TEXT_MAX];
	size_t filelen = nul != NULL ? (size_t)(nul - data) : size, i, n = 0;

	fz_path(path, "etc/domains/" FZ_DOMAIN "/aliases");
	fz_write(path, data, filelen);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		resolve(&e->conf, fixed[i]);
	if (nul != NULL && size - filelen - 1 < ADDR_LOCAL_MAX * 2) {
		(void)str_fmt(address, sizeof(address), "%.*s@" FZ_DOMAIN,
		    (int)(size - filelen - 1), (const char *)nul + 1);
		resolve(&e->conf, address);
	}
	(void)alias_check(&e->conf, FZ_DOMAIN, report, &n);
	return 0;
}
