/* session.h — one SMTP session, the state machine of smtp-in.  It runs on a
 * struct io (fd 0/1 in production, a socketpair in the tests), reads
 * through a struct line and answers through a struct out, so that TLS can
 * later be slid under the io without the session noticing.  All of its
 * state is in struct session. */
#ifndef POSTHORN_SESSION_H
#define POSTHORN_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "command.h"
#include "conf.h"
#include "io.h"
#include "line.h"
#include "out.h"
#include "queue.h"

/* Limits: every one is in smtp-in(8). */
enum {
	/* RFC 5321 §4.5.3.1.4 says 512; AUTH lines (RFC 4954 §4) of the
	 * next issue need more, and the cost of a bigger bound is nil. */
	SMTP_CMD_LINE_MAX = 4096,
	/* A line of the message.  RFC 5321 §4.5.3.1.6 says 1000 with CR LF,
	 * but real senders exceed it; bounded all the same. */
	SMTP_TEXT_LINE_MAX = 65536,
	/* Recipients per message: RFC 5321 §4.5.3.1.8 asks for at least 100. */
	SMTP_RCPT_MAX = 100,
	/* 5xx replies and 4xx ones (but 452 too many recipients) before
	 * the session is closed: dictionary attacks, confused clients. */
	SMTP_ERRORS_MAX = 20,
	/* Seconds of waiting for a command: RFC 5321 §4.5.3.2.7. */
	SMTP_CMD_TIMEOUT = 300,
	/* Seconds per read in DATA: RFC 5321 §4.5.3.2.6 (data block). */
	SMTP_DATA_TIMEOUT = 180,
	/* Seconds for the whole session, by alarm(2): a backstop against a
	 * client that trickles a byte before each deadline. */
	SMTP_SESSION_MAX = 3600,
	/* Received: fields beyond which a message is taken to loop
	 * (RFC 5321 §6.3 asks for a limit of at least 100 hops ... or a
	 * reasonable one; Postfix uses 50). */
	SMTP_RECEIVED_MAX = 50,
	/* After smuggling, input read and thrown away before closing, so
	 * that the reply is not lost to a TCP RST for unread data. */
	SMTP_DRAIN_MAX = 1024 * 1024,
	SMTP_DRAIN_TIMEOUT = 5,		/* seconds */
	/* A HELO/EHLO name as kept for Received: (a domain is at most 255,
	 * RFC 5321 §4.5.3.1.2). */
	SMTP_HELO_MAX = 255,
	SMTP_PEER_MAX = 64		/* an IPv6 address with room */
};

enum session_mode {
	SESSION_MX,
	SESSION_SUBMISSION,	/* not yet: the TLS/AUTH issue */
	SESSION_SUBMISSIONS
};

/* Why a session ended; "disconnect" logs it as reason=. */
enum session_end {
	SESSION_RUNNING = 0,
	SESSION_QUIT,
	SESSION_EOF,		/* the peer closed, or the connection broke */
	SESSION_TIMEOUT,
	SESSION_ERRORS,		/* SMTP_ERRORS_MAX reached */
	SESSION_SMUGGLING,
	SESSION_HTTP,
	SESSION_INTERNAL	/* a bug or a resource failure: exit 1 */
};

enum session_state {
	SESSION_FRESH = 1 << 0,		/* no HELO/EHLO yet */
	SESSION_GREETED = 1 << 1,	/* no transaction */
	SESSION_MAIL = 1 << 2,		/* MAIL accepted, no recipient */
	SESSION_RCPT = 1 << 3		/* at least one recipient */
};

struct session {
	const struct conf	*conf;
	enum session_mode	 mode;
	struct io		*io;
	struct line		 line;
	struct out		 out;
	char			 peer[SMTP_PEER_MAX];	 /* "192.0.2.7" */
	char			 peerlog[SMTP_PEER_MAX + 2]; /* "[192.0.2.7]" */
	char			 peerhdr[SMTP_PEER_MAX + 8]; /* Received: */
	/* Deadlines in ms; fields so that the tests can shorten them. */
	int64_t			 cmd_timeout;
	int64_t			 data_timeout;
	int64_t			 drain_timeout;

	enum session_state	 state;
	enum session_end	 end;
	int			 esmtp;		/* EHLO, not HELO */
	char			 helo[SMTP_HELO_MAX + 1];
	unsigned		 errors;
	unsigned		 messages;

	/* The transaction. */
	char			 sender[ADDR_TEXT_MAX];
	int			 smtputf8;
	enum cmd_body		 body;
	size_t			 nrcpts;
	char			 rcpts[SMTP_RCPT_MAX][ADDR_TEXT_MAX];

	/* The command being answered, for the "refused" log line. */
	char			 cmdname[CMD_VERB_MAX + 1];
	const char		*logid;		/* queue id while in DATA */
	uint64_t		 logsize;	/* message octets, in DATA */
	const char		*logarg;	/* MAIL/RCPT argument */
	char			 logto[ADDR_TEXT_MAX + 2];

	int			 broken;	/* a write failed: stop writing */
	int			 ioerr;		/* errno of the failure */

	struct queue_msg	 msg;
	char			 cmdbuf[SMTP_CMD_LINE_MAX + 1];
};

/* peer: the client's address as text (normalized by peer_normalize), or
 * "unknown". */
void	session_init(struct session *, const struct conf *,
	    enum session_mode, struct io *, const char *peer);
/* Greeting to goodbye.  Replies are flushed and every log line written
 * before it returns. */
enum session_end session_run(struct session *);
const char	*session_end_name(enum session_end);

/* Client addresses as text: an IPv4-mapped IPv6 address ::ffff:a.b.c.d
 * becomes a.b.c.d, anything that is not an address "unknown".  0, or -1
 * (out holds "unknown"). */
int	peer_normalize(const char *text, char *out, size_t);
int	peer_from_fd(int fd, char *out, size_t);

#endif
