/* io_test.c — lib/io.c's descriptor helpers that are not the byte
 * channel itself: fd_connect_unix, which smtp-out uses for an LMTP
 * server's socket. */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "testutil.h"

static void
test_connect_unix_to_a_listener_is_nonblocking_and_cloexec(void **state)
{
	struct sockaddr_un sun;
	char dir[PATH_MAX];
	int l, fd, a;

	(void)state;
	assert_int_equal(tu_tmpdir(dir, sizeof(dir), "io_test"), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/s", dir) < sizeof(sun.sun_path));
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(l, 1), 0);

	fd = fd_connect_unix(sun.sun_path);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(a, "220\r\n", 5), 5);
	{
		char buf[8];

		assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	}
	close(a);
	close(fd);
	close(l);
	assert_int_equal(tu_rmtree(dir), 0);
}

static void
test_connect_unix_says_why_not(void **state)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	int before = tu_open_fds();

	(void)state;
	errno = 0;
	assert_int_equal(fd_connect_unix("/nonexistent/lmtp"), -1);
	assert_int_equal(errno, ENOENT);
	/* 108 bytes and no room for the NUL: refused before a socket. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(fd_connect_unix(path), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	/* 107 bytes fit: a path that is not there, not one too long. */
	path[sizeof(path) - 2] = '\0';
	assert_int_equal(fd_connect_unix(path), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tu_open_fds(), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_connect_unix_to_a_listener_is_nonblocking_and_cloexec),
		cmocka_unit_test(test_connect_unix_says_why_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
