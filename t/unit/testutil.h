/* testutil.h — fixture helpers shared by the unit tests: a scratch
 * directory under /tmp and whole files written into it.  The ones used
 * inside a test fail it through cmocka; the ones a setup or teardown
 * needs return 0 or -1, since those must not fail a test themselves. */
#ifndef POSTHORN_TESTUTIL_H
#define POSTHORN_TESTUTIL_H

#include <stddef.h>

/* mkdtemp /tmp/NAME.XXXXXX into dir[size]: 0 or -1. */
int	tu_tmpdir(char *dir, size_t size, const char *name);
/* The queue's directories under dir (tmp/, new/, state/), as
 * install-queue.sh makes them: 0 or -1. */
int	tu_spool(const char *dir);
/* Remove path and, if it is a directory, everything below it: 0 or -1. */
int	tu_rmtree(const char *path);
/* The whole of a teardown: remove dir, then free the fixture (which may
 * hold dir); 0 or -1 when something was left behind. */
int	tu_teardown(void *fixture, const char *dir);
/* Create or truncate path (mode 0666 less the umask, as fopen "w") and
 * write n bytes to it; fails the test on error. */
void	tu_write_file(const char *path, const void *p, size_t n);
void	tu_write_str(const char *path, const char *s);
/* The same, mode 0640 whatever the umask: a private key or the SRS
 * secret, which the programs refuse when others can read it. */
void	tu_write_secret(const char *path, const char *s);
/* A copy of the file src (a key that a Debian package installs mode
 * 0644) at dst, mode 0640, as tu_write_secret writes it. */
void	tu_copy_secret(const char *src, const char *dst);
/* DIR/domains/DOMAIN of a configuration directory, made with its parent
 * if they are not there yet; fails the test on error. */
void	tu_mkdomain(const char *confdir, const char *domain);
/* Write s to DIR/domains/DOMAIN/FILE; fails the test on error. */
void	tu_put_domain(const char *confdir, const char *domain,
	    const char *file, const char *s);
/* Names in dir other than the dot files; fails the test on error. */
int	tu_entries(const char *dir);
/* The descriptors open in this process (below 1024), opening none. */
int	tu_open_fds(void);

#endif
