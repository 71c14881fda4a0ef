/* keeper.h — the questions a session asks smtp-keeper(8), the resident
 * that holds what smtp-in may not read: srs.secret and the users files.
 * smtp-listen shares one SOCK_SEQPACKET socket among its sessions
 * (POSTHORN_KEEPER_FD, fd 6).  A question is one datagram of text that
 * carries by SCM_RIGHTS exactly one descriptor, a connected SOCK_STREAM
 * socket of the asker's, where the answer goes (the shared socket is
 * everyone's, the answer is the asker's alone):
 *
 *	srs PEER ADDRESS	is ADDRESS a good SRS address of ours?
 *				"ok ORIGINAL", "no REASON", "temp REASON",
 *				or "limit REASON" unchecked when PEER (the
 *				client's address, "-" unknown) has failed
 *				too often (keepd.h)
 *	user DOMAIN NAME	is NAME a user of DOMAIN (users(5))?
 *				"yes", "no", "temp REASON"
 *	auth PEER		the socket becomes smtp-auth's standard
 *				input and output (smtp-auth(8)), PEER its -p
 *
 * each answer one line ending in LF.  Text is bytes 0x20-0x7e and
 * 0x80-0xff (UTF-8 addresses), at most KEEPER_REQ_MAX; the words are
 * separated by one space; ADDRESS and NAME take the rest of the line,
 * PEER and DOMAIN are one word.  Both sides are plain libc, so that
 * smtp-in (static, no crypto) and smtp-keeper share this one
 * definition; the keeper trusts nothing that comes in. */
#ifndef POSTHORN_KEEPER_H
#define POSTHORN_KEEPER_H

#include <stddef.h>

#include "addr.h"

#define KEEPER_FD_ENV	"POSTHORN_KEEPER_FD"

enum {
	KEEPER_SESSION_FD = 6,	/* FDS.md: where a session finds it */
	KEEPER_PEER_MAX = 64,	/* as the TLS zygote's (tlsz.h) */
	/* "srs " PEER " " ADDRESS is the longest. */
	KEEPER_REQ_MAX = 8 + KEEPER_PEER_MAX + ADDR_TEXT_MAX,
	KEEPER_ARG_MAX = ADDR_TEXT_MAX,
	KEEPER_ANSWER_MAX = 1024	/* a line of an answer */
};

enum keeper_op {
	KEEPER_SRS,
	KEEPER_USER,
	KEEPER_AUTH
};

struct keeper_req {
	enum keeper_op	op;
	char		arg[KEEPER_ARG_MAX];	/* ADDRESS, DOMAIN or PEER */
	char		name[KEEPER_ARG_MAX];	/* NAME of user, else "" */
	char		peer[KEEPER_PEER_MAX + 1];	/* of srs, else "" */
};

/* What keeper_recv got. */
enum keeper_recv {
	KEEPER_GOT,	/* a datagram with one stream socket: *fd, buf */
	KEEPER_EOF,	/* every holder of the other end has closed it */
	KEEPER_BAD,	/* not one stream socket, or too long: all closed */
	KEEPER_ERR	/* recvmsg failed: errno (EINTR included) */
};

/* A question of len bytes into r: 0, or -1 (EINVAL) when it is not
 * exactly one of the forms above. */
int	keeper_parse(const char *buf, size_t len, struct keeper_req *r);
/* The question text (one of the forms above) with fd, on sock, without
 * blocking: 0, or -1 with sendmsg(2)'s errno, or EINVAL when the text
 * is too long. */
int	keeper_send(int sock, int fd, const char *text);
/* One datagram from sock, blocking; its text into buf[size] (NUL
 * ended, *len without it), its descriptor close-on-exec into *fd. */
enum keeper_recv keeper_recv(int sock, int *fd, char *buf, size_t size,
	    size_t *len, char *why, size_t whysize);

#endif
