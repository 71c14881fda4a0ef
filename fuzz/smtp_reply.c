/* smtp_reply.c — libFuzzer harness: smtp-out's SMTP client
 * (smtp-out/client.c) against a server whose every byte is the input:
 * the greeting, EHLO's reply and its capabilities, STARTTLS, AUTH's 334
 * challenges, and the replies to MAIL, RCPT (pipelined or not), DATA and
 * the dot, multi-line or not, as broken as they come.  data[0] picks the
 * session's parameters (bit 0: STARTTLS required, bit 1: AUTH, bit 2:
 * SMTPUTF8 needed, bit 3: 8BITMIME, bit 4: the TLS hook fails); data[1]
 * the read sizes and data[2..] is the server (fuzzutil.h). */

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fuzzutil.h"
#include "str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char message[] =
    "From: Alice <alice@example.com>\n"
    "To: bob@remote.example\n"
    "Subject: fuzz\n"
    "\n"
    "Hello,\n"
    ".a line that is dot-stuffed\n"
    "bye\n";

static int
starttls_ok(void *arg, struct io *io, int64_t deadline,
    struct client_tls_info *info, char *why, size_t size)
{
	(void)io;
	(void)deadline;
	if (*(int *)arg) {
		(void)str_fmt(why, size, "handshake failed (stub)");
		return -1;
	}
	(void)str_copy(info->version, sizeof(info->version), "TLSv1.3");
	(void)str_copy(info->cipher, sizeof(info->cipher),
	    "TLS_AES_128_GCM_SHA256");
	info->verified = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct client_msg m;
	static int ready;
	static struct client_rcpt r[3];
	static const char *addrs[3] = { "bob@remote.example",
	    "carol@remote.example", "dave@remote.example" };
	struct client_outcome oc;
	struct client_params p;
	struct fz_io f;
	char why[256], desc[CLIENT_TLSDESC_MAX];
	int tlsfail, i;
	unsigned flags;

	if (!ready) {
		char path[PATH_MAX];
		int fd;

		fz_env();
		fz_path(path, "message");
		fz_write(path, message, sizeof(message) - 1);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    client_msg_open(fd, &m, why, sizeof(why)) == -1)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	flags = data[0];
	fz_io_init(&f, data + 1, size - 1);

	memset(&p, 0, sizeof(p));
	p.helo = FZ_HOST;
	p.sender = "alice@example.com";
	p.tls = flags & 1 ? CLIENT_TLS_VERIFY : CLIENT_TLS_MAY;
	if (flags & 2) {
		p.auth_user = "alice@example.com";
		p.auth_pass = "secret";
	}
	p.smtputf8 = (flags & 4) != 0;
	p.eightbit = (flags & 8) != 0;
	tlsfail = (flags & 16) != 0;
	p.starttls = starttls_ok;
	p.starttls_arg = &tlsfail;
	client_timeouts_default(&p.to);

	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++)
		r[i].addr = addrs[i];
	(void)client_session(&f.io, &p, &m, r, 3, &oc);
	for (i = 0; i < 3; i++)
		if (memchr(r[i].text, '\0', sizeof(r[i].text)) == NULL ||
		    memchr(r[i].dsn, '\0', sizeof(r[i].dsn)) == NULL)
			abort();
	client_tls_describe(&oc, desc, sizeof(desc));
	return 0;
}
