/*
 * bench/ehlo.c — the connection client of bench/systemd.sh: one session
 * after another (concurrency 1), each a new TCP connection to
 * 127.0.0.1:PORT that reads the greeting, sends EHLO, reads its reply,
 * sends QUIT, reads 221 and closes, until SECONDS have passed or MAX
 * sessions are done.  It prints one line,
 *
 *	SESSIONS WALL_S USER_MS SYS_MS
 *
 * its own CPU (getrusage) beside the count, so that the harness can say
 * what the client took of the machine it shares with the server.  A
 * small C program rather than Python: at Postfix's 1,000+ sessions a
 * second an interpreter would eat the CPU being measured.
 *
 *	ehlo PORT SECONDS MAX
 *
 * Exit 0; 1 (with a message) at the first reply that is not the expected
 * one or a socket error: a benchmark of failures measures nothing.
 * Every read has a timeout (WAIT_S), so it never hangs.  Loopback only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_S 10		/* seconds: the bound of one reply */
#define REPLY_MAX 4096		/* bytes: a whole EHLO reply fits */
#define SHOWN_MAX 200		/* bytes of a bad reply shown in the message */

static char last[SHOWN_MAX + 1];	/* the last line of the last reply */

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read one whole reply (its last line has a space after the code);
 * return its code, or -1. */
static int
reply(int fd)
{
	char buf[REPLY_MAX + 1];
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, WAIT_S * 1000);
		ssize_t n;
		char *line, *nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n = read(fd, buf + len, REPLY_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		/* The last complete line decides. */
		line = buf;
		while ((nl = strchr(line, '\n')) != NULL) {
			if (nl - line >= 4 && line[3] == ' ') {
				size_t n = (size_t)(nl - line);

				n = n < SHOWN_MAX ? n : SHOWN_MAX;
				memcpy(last, line, n);
				last[n] = '\0';
				last[strcspn(last, "\r")] = '\0';
				return atoi(line);
			}
			line = nl + 1;
		}
		if (len == REPLY_MAX)
			return -1;
	}
}

static int
say(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct rusage ru;
	double t0, end, t1;
	long max, done = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: ehlo PORT SECONDS MAX\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	max = atol(argv[3]);
	t0 = mono();
	end = t0 + atof(argv[2]);
	while (done < max && mono() < end) {
		const char *step = "connect";
		int fd;

		errno = 0;	/* a bad reply leaves it 0: said so below */
		last[0] = '\0';
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			perror("ehlo: socket");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
			goto fail;
		step = "greeting";
		if (reply(fd) != 220)
			goto fail;
		step = "EHLO";
		if (say(fd, "EHLO bench.example\r\n") < 0 || reply(fd) != 250)
			goto fail;
		step = "QUIT";
		if (say(fd, "QUIT\r\n") < 0 || reply(fd) != 221)
			goto fail;
		close(fd);
		done++;
		continue;
fail:
		fprintf(stderr, "ehlo: session %ld failed at %s: %s%s\n",
		    done + 1, step, errno ? strerror(errno) : "reply ",
		    errno ? "" : (last[0] ? last : "cut short"));
		close(fd);
		return 1;
	}
	t1 = mono();
	if (getrusage(RUSAGE_SELF, &ru) < 0) {
		perror("ehlo: getrusage");
		return 1;
	}
	printf("%ld %.3f %.1f %.1f\n", done, t1 - t0,
	    ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
	    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	return 0;
}
