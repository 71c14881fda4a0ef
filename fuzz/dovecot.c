/* dovecot.c — libFuzzer harness: what Dovecot's authentication server
 * sends smtp-auth (smtp-in/dovecot.c), taken as lines by dovecot_line,
 * and as a whole stream by dovecot_talk on a socketpair that ends after
 * it.  Whatever the bytes, the user and the reason must be printable
 * and fit, and the exchange must end at the input's end, not wait. */

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dovecot.h"
#include "io.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum {
	/* What a socketpair's buffer takes without a reader, and more than
	 * one line of DOVECOT_LINE_MAX. */
	STREAM_MAX = 64 * 1024,
	/* A deadline that is never reached: the input ends in EOF. */
	TALK_WAIT_MS = 10 * 1000
};

static void
printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			abort();
}

static void
check(const struct dovecot *d, enum dovecot_step r)
{
	(void)r;
	printable(d->user, sizeof(d->user));
	printable(d->reason, sizeof(d->reason));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[STREAM_MAX + 1];
	struct dovecot d;
	enum dovecot_step r = DOVECOT_MORE;
	size_t n = size < STREAM_MAX ? size : STREAM_MAX, start, i;
	int sp[2];

	memcpy(buf, data, n);
	buf[n] = '\0';
	dovecot_init(&d);
	for (start = 0, i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		r = dovecot_line(&d, buf + start, i - start);
		check(&d, r);
		if (r != DOVECOT_MORE && r != DOVECOT_READY)
			break;
		start = i + 1;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		abort();
	if (fd_write_all(sp[1], data, n) == -1 || shutdown(sp[1], SHUT_WR))
		abort();
	r = dovecot_talk(sp[0], &d, "AGEAYg==", "192.0.2.7",
	    clock_ms() + TALK_WAIT_MS);
	if (r == DOVECOT_MORE || r == DOVECOT_READY)
		abort();
	check(&d, r);
	close(sp[0]);
	close(sp[1]);
	return 0;
}
