/* queue_env.c — libFuzzer harness: the reader of a queue file's envelope
 * (lib/queue.c, posthorn-queue(5)), which queue-run and mailq run on
 * every message in SPOOL/new.  The input is the file; an envelope that
 * parses must say where its body starts within the file and hold
 * NUL-terminated strings. */

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "queue.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope env;
	char path[PATH_MAX];
	size_t i;
	int fd;

	fz_env();
	fz_path(path, "queuefile");
	fz_write(path, data, size);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	memset(&env, 0, sizeof(env));
	if (queue_env_read(fd, &env) == 0) {
		if (env.body < 0 || (size_t)env.body > size ||
		    env.sender == NULL || env.via == NULL ||
		    env.peer == NULL || env.helo == NULL || env.auth == NULL)
			abort();
		for (i = 0; i < env.nrcpts; i++)
			(void)strlen(env.rcpts[i]);
		queue_env_free(&env);
	}
	close(fd);
	return 0;
}
