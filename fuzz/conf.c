/* conf.c — libFuzzer harness: the posthorn.conf reader (lib/conf.c) and
 * the domain.conf reader (lib/domconf.c), in its syntax.  The input is
 * both files; a configuration that loads must have every field
 * NUL-terminated and its size within the documented bounds. */

#include <sys/stat.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "domconf.h"
#include "fuzzutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	static int ready;
	struct domconf d;
	char dir[PATH_MAX], path[PATH_MAX], err[1024];

	fz_env();
	if (!ready) {
		fz_path(path, "conf");
		if (mkdir(path, 0755) == -1)
			abort();
		fz_path(path, "conf/domains");
		if (mkdir(path, 0755) == -1)
			abort();
		fz_path(path, "conf/domains/" FZ_DOMAIN);
		if (mkdir(path, 0755) == -1)
			abort();
		ready = 1;
	}
	fz_path(dir, "conf");
	fz_path(path, "conf/posthorn.conf");
	fz_write(path, data, size);
	if (conf_load(&c, dir, err, sizeof(err)) == 0) {
		if (!TERMINATED(c.dir) || !TERMINATED(c.hostname) ||
		    !TERMINATED(c.spool) || !TERMINATED(c.maildirs) ||
		    !TERMINATED(c.tls_cert) || !TERMINATED(c.tls_key) ||
		    !TERMINATED(c.tls_priority) ||
		    !TERMINATED(c.drop_characters) ||
		    !TERMINATED(c.suffix_separators) ||
		    !TERMINATED(c.bind4) || !TERMINATED(c.bind6) ||
		    !TERMINATED(c.srs_secret_file))
			abort();
		if (c.max_message_size < CONF_MAX_MESSAGE_SIZE_MIN ||
		    c.max_message_size > CONF_MAX_MESSAGE_SIZE_MAX)
			abort();
		fz_path(path, "conf/domains/" FZ_DOMAIN "/" DOMCONF_FILE);
		fz_write(path, data, size);
		(void)domconf_load(&c, FZ_DOMAIN, &d, err, sizeof(err));
	}
	return 0;
}
