/* keeper.c — the questions to smtp-keeper (keeper.h): their text, each
 * carried with the asker's socket by fdpass.  The receiving side trusts
 * nothing: a datagram without exactly one stream socket is refused and
 * whatever it brought closed, and a text of another form than
 * keeper.h's is refused by keeper_parse. */

#include <errno.h>
#include <string.h>

#include "fdpass.h"
#include "keeper.h"
#include "str.h"

/* A byte of a question: no control byte, no DEL. */
static int
text_byte(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c >= 0x80;
}

/* The word of s up to its first space (or its end) into out[size]:
 * what follows it, or NULL when it is empty or too long. */
static const char *
word(const char *s, char *out, size_t size)
{
	size_t n = strcspn(s, " ");

	if (n == 0 || n >= size)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return s + n;
}

/* The rest of a line, non-empty, into out[size]: 0 or -1. */
static int
rest(const char *s, char *out, size_t size)
{
	if (*s == '\0')
		return -1;
	return str_copy(out, size, s);
}

int
keeper_parse(const char *buf, size_t len, struct keeper_req *r)
{
	char text[KEEPER_REQ_MAX + 1], op[8];
	const char *p;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (len == 0 || len > KEEPER_REQ_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (!text_byte((unsigned char)buf[i]))
			goto bad;
	memcpy(text, buf, len);
	text[len] = '\0';
	if ((p = word(text, op, sizeof(op))) == NULL || *p++ != ' ')
		goto bad;
	if (strcmp(op, "srs") == 0) {
		r->op = KEEPER_SRS;
		if ((p = word(p, r->peer, sizeof(r->peer))) == NULL ||
		    *p++ != ' ' || rest(p, r->arg, sizeof(r->arg)) == -1)
			goto bad;
	} else if (strcmp(op, "user") == 0) {
		r->op = KEEPER_USER;
		if ((p = word(p, r->arg, sizeof(r->arg))) == NULL ||
		    *p++ != ' ' || rest(p, r->name, sizeof(r->name)) == -1)
			goto bad;
	} else if (strcmp(op, "auth") == 0) {
		r->op = KEEPER_AUTH;
		if ((p = word(p, r->arg, KEEPER_PEER_MAX + 1)) == NULL ||
		    *p != '\0')
			goto bad;
	} else
		goto bad;
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	errno = EINVAL;
	return -1;
}

int
keeper_send(int sock, int fd, const char *text)
{
	size_t len = strlen(text);

	if (len == 0 || len > KEEPER_REQ_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* A keeper that does not keep up must not stall the session. */
	return fdpass_send(sock, text, len, &fd, 1);
}

enum keeper_recv
keeper_recv(int sock, int *fd, char *buf, size_t size, size_t *len,
    char *why, size_t whysize)
{
	int fds[FDPASS_MAX], trunc;
	size_t nfds;
	ssize_t n;

	*fd = -1;
	*len = 0;
	if (size < 2) {
		errno = EINVAL;
		return KEEPER_ERR;
	}
	if ((n = fdpass_recv(sock, buf, size - 1, fds, &nfds, &trunc)) == -1)
		return KEEPER_ERR;
	if (n == 0 && nfds == 0 && fdpass_hung_up(sock))
		return KEEPER_EOF;
	if (trunc || nfds != 1 || !fdpass_stream(fds[0])) {
		str_fmt_cut(why, whysize, "%zu descriptors, %zd bytes%s", nfds,
		    n, trunc ? ", truncated" : "");
		fdpass_close(fds, nfds);
		return KEEPER_BAD;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	*fd = fds[0];
	return KEEPER_GOT;
}
