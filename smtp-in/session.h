/* session.h — one SMTP session, the state machine of smtp-in.  It runs on a
 * struct io (fd 0/1 in production, a socketpair in the tests), reads
 * through a struct line and answers through a struct out, so that TLS can
 * later be slid under the io without the session noticing.  All of its
 * state is in struct session. */
#ifndef POSTHORN_SESSION_H
#define POSTHORN_SESSION_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "checks.h"
#include "command.h"
#include "conf.h"
#include "io.h"
#include "line.h"
#include "out.h"
#include "policy.h"
#include "queue.h"

/* What session_prefault makes present of each buffer it does not take
 * whole: 8 KiB, a message's first bytes (its head, for the message
 * buffer) or a burst of commands. */
enum {
	SESSION_PREFAULT_BUF = 8192
};

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
	/* RCPTs of a transaction that add no recipient (a 452 past
	 * SMTP_RCPT_MAX, or one already given) before each further one
	 * counts against SMTP_ERRORS_MAX: Postfix's
	 * smtpd_recipient_overshoot_limit.  A client is told to expect
	 * 452 and may resend what it got, but not a million times. */
	SMTP_RCPT_OVERSHOOT_MAX = 1000,
	/* 5xx replies and 4xx ones (but 452 too many recipients) before
	 * the session is closed: dictionary attacks, confused clients. */
	SMTP_ERRORS_MAX = 20,
	/* Seconds of waiting for a command: RFC 5321 §4.5.3.2.7. */
	SMTP_CMD_TIMEOUT = 300,
	/* The same, outside a transaction and before AUTH: there a client
	 * has nothing to work out before its next command (RFC 5321's five
	 * minutes are for a client between the commands of a transaction),
	 * and an idle slot is what a flood of idle connections holds.  A
	 * minute leaves room for a slow link and a person typing. */
	SMTP_IDLE_TIMEOUT = 60,
	/* Commands that move no mail (NOOP, RSET, VRFY, EXPN, HELP, HELO
	 * or EHLO again, and unknown, malformed or out-of-sequence ones)
	 * between two accepted messages; the next gets 421.  A client sends
	 * a RSET or two between messages; Postfix allows 100 in a session
	 * before it starts to slow them down. */
	SMTP_JUNK_MAX = 20,
	/* Refusals logged one line each in a session; the rest are
	 * counted in one line at its end, so that a client cannot turn
	 * its refused commands into a flood of the log (452s, which
	 * SMTP_ERRORS_MAX does not count, included).  A message refused
	 * after its data is always logged: it has a queue id. */
	SMTP_REFUSALS_LOGGED = 10,
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
	SMTP_PEER_MAX = 64,		/* an IPv6 address with room */
	/* AUTH: the third failure closes the session, and each failure
	 * waits this many seconds times the failures so far before its
	 * reply, so that guessing costs time. */
	SMTP_AUTH_FAILURES_MAX = 3,
	SMTP_AUTH_DELAY = 1,
	/* RCPT: the third SRS address of ours that fails its check (a
	 * forged hash, or expired) closes the session.  A real bounce has
	 * one recipient; a client guessing hashes must reconnect every
	 * three guesses, each of which runs aliases(8). */
	SMTP_SRS_FAILURES_MAX = 3,
	/* The From: field of a submitted message, kept to check that the
	 * user owns its addresses; a longer one is refused. */
	SMTP_FROM_MAX = 4096,
	SMTP_TLS_NAME_MAX = 64,		/* "TLSv1.3", a cipher suite name */
	/* The envelope's room for what the checks add after the dot
	 * (queue_env_fill): an Authentication-Results value with two or
	 * three DKIM signatures, and "localonly".  A longer one costs a
	 * rewrite of the queue file, once. */
	SMTP_CHECKS_RESERVE = 2048
};

enum session_mode {
	SESSION_MX,		/* port 25: STARTTLS offered, AUTH after it */
	SESSION_SUBMISSION,	/* port 587: STARTTLS, then AUTH, required */
	SESSION_SUBMISSIONS	/* port 465: TLS from the first byte */
};

enum session_auth {
	SESSION_AUTH_OK,
	SESSION_AUTH_NO,	/* 535: wrong password, no such user */
	SESSION_AUTH_BAD,	/* 501: not valid base64 or SASL */
	SESSION_AUTH_TEMP	/* 454: try again later */
};

struct session;

/* What a session asks of the world outside it: helper programs in
 * smtp-in (helpers.h), stubs in the tests. */
struct session_hooks {
	/* Start TLS under the session's io, after the 220 went out.  0 with
	 * tls_version, tls_cipher and tls_sni set; -1 with why: the session
	 * cannot go on. */
	int		(*starttls)(struct session *, char *why, size_t);
	/* "PLAIN b64" or "LOGIN b64 b64": the class, and the login. */
	enum session_auth (*auth)(struct session *, const char *request,
			    char *login, size_t, char *why, size_t);
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
	SESSION_AUTH_FAILED,	/* SMTP_AUTH_FAILURES_MAX reached */
	SESSION_SRS_FAILED,	/* SMTP_SRS_FAILURES_MAX reached */
	SESSION_TLS_FAILED,	/* the handshake failed or TLS is missing */
	SESSION_JUNK,		/* SMTP_JUNK_MAX reached */
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
	const struct session_hooks *hooks;
	enum session_mode	 mode;
	struct io		*io;
	char			 peer[SMTP_PEER_MAX];	 /* "192.0.2.7" */
	char			 peerlog[SMTP_PEER_MAX + 2]; /* "[192.0.2.7]" */
	char			 peerhdr[SMTP_PEER_MAX + 8]; /* Received: */
	char			 vialog[SMTP_PEER_MAX + 2]; /* the proxy's */
	/* Deadlines in ms; fields so that the tests can shorten them. */
	int64_t			 cmd_timeout;
	int64_t			 idle_timeout;	/* SMTP_IDLE_TIMEOUT */
	int64_t			 data_timeout;
	int64_t			 drain_timeout;
	int64_t			 auth_delay_ms;	/* per failure so far */

	enum session_state	 state;
	enum session_end	 end;
	int			 esmtp;		/* EHLO, not HELO */
	char			 helo[SMTP_HELO_MAX + 1];
	unsigned		 errors;
	unsigned		 messages;
	/* The clock of the next command starts at the last command that
	 * moved the session on (since, in ms), not at the last command:
	 * a NOOP every 299 s held a slot for the hour of the session. */
	int64_t			 since;
	int			 moved;		/* this command did */
	unsigned		 junk;		/* SMTP_JUNK_MAX */
	unsigned		 refusals;	/* SMTP_REFUSALS_LOGGED */
	unsigned		 overshoot;	/* SMTP_RCPT_OVERSHOOT_MAX */

	/* TLS, once smtp-tlsd said so; AUTH, once smtp-auth said so. */
	int			 tls;
	pid_t			 tls_pid;	/* smtp-tlsd, 0 if none */
	int			 tls_logged;	/* tls-unavailable said */
	/* The certificate and key are read by smtp-listen's TLS zygote,
	 * which has a group that we have not (smtp-listen(8), Privileges):
	 * see that they are there, not that we may read them. */
	int			 tls_key_elsewhere;
	char			 tls_version[SMTP_TLS_NAME_MAX];
	char			 tls_cipher[SMTP_TLS_NAME_MAX * 2];
	char			 tls_sni[SMTP_HELO_MAX + 1];
	char			 login[ADDR_TEXT_MAX];	/* "" until AUTH */
	unsigned		 auth_failures;
	unsigned		 auth_temps;	/* 454s: the report's */
	unsigned		 srs_failures;	/* bad SRS recipients */

	/* The transaction. */
	char			 sender[ADDR_TEXT_MAX];
	int			 smtputf8;
	enum cmd_body		 body;
	enum dsn_ret		 ret;		/* RET= of MAIL */
	char			 envid[DSN_ENVID_MAX + 1];	/* ENVID= */
	size_t			 nrcpts;
	struct policy_from_capture capture;

	/* SPF, DKIM and DMARC of port 25 mail (smtp-checkd(8)): the
	 * transaction is checked, the checker's socket and SPF question,
	 * and the words for the log line. */
	int			 checked;
	struct checks		 checks;
	char			 chk_spf[CKP_WORD_MAX + 1];
	char			 chk_dkim[CKP_WORD_MAX + 1];
	char			 chk_dmarc[CKP_WORD_MAX + 1];

	/* The command being answered, for the "refused" log line. */
	char			 cmdname[CMD_VERB_MAX + 1];
	const char		*logid;		/* queue id while in DATA */
	uint64_t		 logsize;	/* message octets, in DATA */
	const char		*logarg;	/* MAIL/RCPT argument */
	char			 logto[ADDR_TEXT_MAX + 2];

	/* A DNS blocklist lists the client: 554 at the greeting, and
	 * nothing but QUIT after it (RFC 5321 §3.1). */
	int			 blocked;
	int			 broken;	/* a write failed: stop writing */
	int			 ioerr;		/* errno of the failure */

	/* The buffers, ~150 KB: session_init sets what says how much of
	 * each is in use and leaves their bytes alone, since each is
	 * written before it is read, and clearing them would touch (and
	 * fault in) some 37 pages on every connection for nothing.  They
	 * stay last, after everything session_init clears.  The order
	 * saves pages too: a command line shares the state's page, and the
	 * queue message (set up whole by queue_create at DATA) stays out of
	 * the way of the reply and read buffers, which every session uses. */
	char			 cmdbuf[SMTP_CMD_LINE_MAX + 1];
	struct queue_msg	 msg;
	struct out		 out;
	struct line		 line;
	char			 rcpts[SMTP_RCPT_MAX][ADDR_TEXT_MAX];
	/* Each recipient's NOTIFY= and ORCPT= (RFC 3461), decoded; an
	 * entry is written when its recipient is, and read only then. */
	unsigned		 notify[SMTP_RCPT_MAX];
	char			 orcpt[SMTP_RCPT_MAX][DSN_ORCPT_MAX + 1];
	/* The From: field(s) of the message, for the submission check. */
	char			 from[SMTP_FROM_MAX + 1];
};

/* The parts of s that every session writes made present at once
 * (prefault.h): its state and command line, the first
 * SESSION_PREFAULT_BUF bytes of the message buffer, of the replies' and
 * of the input's, and the first recipient's slots.  Before session_init,
 * in a fresh process. */
void	session_prefault(struct session *);
/* peer: the client's address as text (normalized by peer_normalize), or
 * "unknown". */
void	session_init(struct session *, const struct conf *,
	    const struct session_hooks *, enum session_mode, struct io *,
	    const char *peer);

/* The resident checker's socket (POSTHORN_CHECKD_FD), or -1: port 25
 * mail is then not checked.  After session_init. */
void	session_checker(struct session *, int sock);

/* The connection came through a proxy at this address (the PROXY header
 * named the peer): the "connect" log line says proxy=[ADDRESS].  "" or
 * NULL: none.  After session_init. */
void	session_via(struct session *, const char *proxy);

/* Greeting to goodbye.  Replies are flushed and every log line written
 * before it returns. */
enum session_end session_run(struct session *);
const char	*session_end_name(enum session_end);
/* "mx", "submission" or "submissions". */
const char	*session_mode_name(enum session_mode);


#endif
