/* inject_test.c — queue-inject's renaming of Authentication-Results
 * fields in our name, with the boundary of its reads (INJECT_READSZ)
 * at every byte of such a field: what is queued is the same wherever
 * the message was cut. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../queue-run/inject.h"
#include "arname.h"
#include "testutil.h"

#define OURS	"mx.example.net"

struct fix {
	char	dir[64];
	char	*msg;		/* the message given */
	char	*got;		/* the queue file read back */
};

static int
setup(void **state)
{
	struct fix *f;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->msg = malloc(2 * INJECT_READSZ)) == NULL ||
	    (f->got = malloc(4 * INJECT_READSZ)) == NULL ||
	    tu_tmpdir(f->dir, sizeof(f->dir), "inject_test") == -1 ||
	    tu_spool(f->dir) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	free(f->msg);
	free(f->got);
	return tu_teardown(f, f->dir);
}

/* Queue msg[0..n) as read from a memfd (reads of INJECT_READSZ, cut
 * where they fall), then read the one queue file back into f->got and
 * remove it; the file's length. */
static size_t
inject_one(struct fix *f, const char *msg, size_t n)
{
	const char *rcpts[] = { "bob@example.com" };
	char path[sizeof(((struct fix *)0)->dir) + 8 + sizeof(((struct dirent *)0)->d_name)];
	struct inject in;
	struct dirent *de;
	DIR *d;
	FILE *fp;
	size_t len;
	int fd;

	assert_true((fd = memfd_create("msg", 0)) != -1);
	assert_int_equal(write(fd, msg, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	memset(&in, 0, sizeof(in));
	in.spool = f->dir;
	in.authserv = OURS;
	in.sender = "";
	in.rcpts = rcpts;
	in.nrcpts = 1;
	assert_int_equal(inject_run(&in, fd), INJECT_OK);
	(void)close(fd);
	(void)snprintf(path, sizeof(path), "%s/new", f->dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
		;
	assert_non_null(de);
	(void)snprintf(path, sizeof(path), "%s/new/%s", f->dir, de->d_name);
	(void)closedir(d);
	assert_non_null(fp = fopen(path, "r"));
	len = fread(f->got, 1, 4 * INJECT_READSZ - 1, fp);
	assert_true(feof(fp));
	(void)fclose(fp);
	f->got[len] = '\0';
	assert_int_equal(unlink(path), 0);
	return len;
}

/* A filler field of n bytes (n >= 16) with its LF at p. */
static size_t
filler(char *p, size_t n)
{
	memcpy(p, "X-Filler: ", 10);
	memset(p + 10, 'y', n - 11);
	p[n - 1] = '\n';
	return n;
}

static void
test_a_read_boundary_anywhere_in_the_field(void **state)
{
	static const char forged[] = "Authentication-Results: "
	    OURS "; dkim=pass\n";
	static const char tail[] = "Authentication-Results: other.example;"
	    " spf=pass\nX-Hide: x\rAuthentication-Results: " OURS
	    "; spf=pass\n\nAuthentication-Results: " OURS "; body\n";
	struct fix *f = *state;
	size_t k, n, before, flen = sizeof(forged) - 1;
	char *field;

	for (k = 0; k <= flen; k++) {
		/* The read's end falls k bytes into the forged field. */
		before = INJECT_READSZ - k;
		n = 0;
		while (before - n > 200)
			n += filler(f->msg + n, 100);
		n += filler(f->msg + n, before - n);
		memcpy(f->msg + n, forged, flen);
		n += flen;
		memcpy(f->msg + n, tail, sizeof(tail) - 1);
		n += sizeof(tail) - 1;
		(void)inject_one(f, f->msg, n);
		assert_non_null(field = strstr(f->got, "\n" ARNAME_PREFIX
		    "Authentication-Results: " OURS "; dkim=pass\n"));
		assert_non_null(strstr(field, "\nAuthentication-Results: "
		    "other.example; spf=pass\nX-Hide: x\r" ARNAME_PREFIX
		    "Authentication-Results: " OURS "; spf=pass\n\n"
		    "Authentication-Results: " OURS "; body\n"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_read_boundary_anywhere_in_the_field, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
