/* routes.c — libFuzzer harness: the routes(5) reader of smtp-out
 * (smtp-out/route.c).  The input is DIR/routes; a few destinations are
 * looked up in it, then route_check reports on the whole.  The auth files
 * that a line may name: DIR/smarthost.auth exists, mode 0600, and holds
 * "user:password". */

#include <sys/stat.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "route.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
report(const char *file, size_t line, const char *why, void *arg)
{
	(void)file;
	(void)line;
	(void)why;
	(*(size_t *)arg)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *dest[] = { "example.org", "gmail.com",
	    "EXAMPLE.ORG", "sub.example.org", "*", "" };
	static int ready;
	const struct fz_env *e = fz_env();
	struct route r;
	char path[PATH_MAX], err[512];
	size_t i, n = 0;

	if (!ready) {
		fz_path(path, "etc/smarthost.auth");
		fz_write(path, "relay-user:relay password\n", 26);
		if (chmod(path, 0600) == -1)
			abort();
		ready = 1;
	}
	fz_path(path, "etc/routes");
	fz_write(path, data, size);
	for (i = 0; i < sizeof(dest) / sizeof(dest[0]); i++) {
		memset(&r, 0, sizeof(r));
		if (route_lookup(&e->conf, dest[i], &r, err, sizeof(err)) ==
		    0 && !r.mx && (r.port == 0 || r.port > 65535 ||
		    memchr(r.host, '\0', sizeof(r.host)) == NULL))
			abort();
	}
	(void)route_check(&e->conf, report, &n);
	return 0;
}
