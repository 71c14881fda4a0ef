/* fuzzutil.h — what the libFuzzer harnesses of fuzz/ share: a scratch
 * configuration directory on a tmpfs where there is one, whole files
 * written into it, and a struct io that hands a harness's input to a
 * module in reads of deterministic, input-chosen sizes (split reads),
 * with no descriptor to wait on and nothing of the network.  A harness
 * must not depend on anything that differs between two runs of the same
 * input, or a crash found once cannot be replayed. */
#ifndef POSTHORN_FUZZUTIL_H
#define POSTHORN_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "io.h"

/* The hostname and the local domains of fz_conf_setup's configuration. */
#define FZ_HOST		"mx.example.net"
#define FZ_DOMAIN	"example.com"

/* Where fz_env makes its directory, when set; else /dev/shm, $TMPDIR or
 * /tmp. */
#define FZ_SCRATCH_ENV	"FUZZ_SCRATCH"

/* A configuration directory and spool, made once per process (removed
 * at exit):
 *   ROOT/etc/posthorn.conf           hostname, spool, maildirs, 64K
 *   ROOT/etc/domains/example.com/    users alice, bob; aliases info, list
 *   ROOT/etc/domains/catchall.example/ a catch-all to alice
 *   ROOT/etc/srs.secret              for SRS
 *   ROOT/etc/certs/                  stand-ins: STARTTLS is offered
 *   ROOT/spool/{tmp,new,state}, ROOT/mail
 * and conf loaded from it.  Aborts on any failure: a harness that cannot
 * set itself up finds nothing. */
struct fz_env {
	char		root[128];
	char		etc[160];
	char		spool[160];
	struct conf	conf;
};
const struct fz_env *fz_env(void);

/* Write n bytes to path (created or truncated); aborts on failure. */
void	fz_write(const char *path, const void *, size_t n);
/* path made of the environment's ROOT and rel, into buf[PATH_MAX]. */
void	fz_path(char *buf, const char *rel);
/* Remove every entry of the directory ROOT/rel (not the directory). */
void	fz_empty_dir(const char *rel);

/* The io of a session whose peer sends data[1..n): data[0] chooses the
 * read sizes.  0 gives each read all it asks for; k > 0 gives reads of 1
 * to k bytes, their sizes from a generator seeded by k, so that every
 * cut (in a CR LF, in a command, between pipelined commands, in a DATA
 * terminator) can be reached.  After the input, reads see the end of
 * file.  Writes are counted and thrown away.  No descriptor of it is
 * ever waited on for long: rfd and wfd are /dev/null, always ready. */
struct fz_io {
	struct io	 io;
	const uint8_t	*p;
	size_t		 n, off;
	unsigned	 maxchunk;
	uint32_t	 rng;
	size_t		 chunk;		/* left in the current read */
	size_t		 written;
};
void	fz_io_init(struct fz_io *, const uint8_t *data, size_t n);

/* The size of the next piece of a split feed of max bytes at most, with
 * the same rule as fz_io: used to cut a buffer for a streaming API. */
size_t	fz_io_next(struct fz_io *, size_t max);

#endif
