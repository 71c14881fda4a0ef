/* client.h — one SMTP client session (RFC 5321) on a connected struct io:
 * greeting, EHLO (HELO as a fallback), STARTTLS through a hook, AUTH,
 * one transaction for every recipient (pipelined when offered, RFC 2920),
 * the message in wire form, QUIT.  Or the same in LMTP (RFC 2033), for a
 * local domain's mail store: LHLO, and a reply per recipient after the
 * message.  It knows nothing of sockets, DNS or
 * TLS, so the tests drive it against a scripted peer on a socketpair.
 *
 * The message is prepared once (client_msg_open) and may be sent to
 * several hosts: it is read again from its descriptor for each session,
 * and turned into wire form on the way (CRLF line ends, a lone CR or LF
 * becoming CRLF, dot-stuffing), so that nothing in it can end the DATA
 * early or smuggle a second message past the receiver. */
#ifndef POSTHORN_CLIENT_H
#define POSTHORN_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dsn.h"
#include "io.h"

/* RFC 5321 §4.5.3.2: how long we wait for each reply, in seconds. */
enum {
	CLIENT_TIMEOUT_GREETING = 5 * 60,	/* §4.5.3.2.1 initial 220 */
	CLIENT_TIMEOUT_MAIL = 5 * 60,		/* §4.5.3.2.2 MAIL */
	CLIENT_TIMEOUT_RCPT = 5 * 60,		/* §4.5.3.2.3 RCPT */
	CLIENT_TIMEOUT_DATA = 2 * 60,		/* §4.5.3.2.4 DATA's 354 */
	CLIENT_TIMEOUT_BLOCK = 3 * 60,		/* §4.5.3.2.5 each data block */
	CLIENT_TIMEOUT_DOT = 10 * 60,		/* §4.5.3.2.6 after the dot */
	/* EHLO, STARTTLS, AUTH, RSET and QUIT have no timeout of their own
	 * in §4.5.3.2; 5 minutes like MAIL.  QUIT is a courtesy: short. */
	CLIENT_TIMEOUT_CMD = 5 * 60,
	CLIENT_TIMEOUT_QUIT = 10
};

enum {
	CLIENT_LINE_MAX = 998,		/* RFC 5321 §4.5.3.1.6, CRLF excluded */
	/* A reply line is 512 octets (§4.5.3.1.5); be lenient, but bounded. */
	CLIENT_REPLY_LINE_MAX = 2048,
	CLIENT_REPLY_LINES_MAX = 100,	/* more: the peer is broken */
	CLIENT_TEXT_MAX = 1024,		/* a reply as kept for the report */
	CLIENT_DSN_MAX = 16,		/* "5.1.10" and a margin */
	CLIENT_HOST_MAX = 320,		/* "name[address]" */
	CLIENT_TLSDESC_MAX = 128	/* "TLSv1.3/CIPHER/verified" */
};

enum client_status {
	CLIENT_PENDING = 0,	/* no result yet */
	CLIENT_SENT,
	CLIENT_DEFERRED,
	CLIENT_FAILED
};

/* One recipient and its result.  host and tls say where the result came
 * from; the client fills status, dsn and text, the caller the rest. */
struct client_rcpt {
	const char		*addr;		/* as given, for the report */
	const char		*path;		/* as sent in RCPT TO, without
						   brackets; NULL: addr */
	enum client_status	 status;
	char			 dsn[CLIENT_DSN_MAX];
	char			 text[CLIENT_TEXT_MAX];
	char			 host[CLIENT_HOST_MAX];
	char			 tls[CLIENT_TLSDESC_MAX];
	/* RFC 3461, passed on when the host offers DSN: NOTIFY
	 * (enum dsn_notify, 0: none) and ORCPT ("type;address",
	 * decoded, or NULL). */
	unsigned		 notify;
	const char		*orcpt;
	int			 accepted;	/* internal: 250 to RCPT */
	int			 again;		/* internal: 452, later */
};

enum client_msg_verdict {
	CLIENT_MSG_OK = 0,
	CLIENT_MSG_NUL,		/* a NUL byte: failed 5.6.0 */
	CLIENT_MSG_LONGLINE	/* a line over CLIENT_LINE_MAX: 5.6.0 */
};

/* The message as every session reads it: prefix (header fields the
 * caller keeps, smtp-out -H), then fd from offset start on. */
struct client_msg {
	const char		*prefix;
	size_t			 prefixlen;
	int			 fd;
	off_t			 start;
	uint64_t		 size;	/* in wire form, for SIZE= (RFC 1870) */
	enum client_msg_verdict	 verdict;
	int			 owned;	/* fd is our temporary copy */
	/* UTF-8 (any byte above 0x7f) in the header: SMTPUTF8 is needed
	 * for it (RFC 6532), where 8BITMIME is enough for the body. */
	int			 hdr8;
};

/* Prepare the message on fd (standard input): a regular file is read in
 * place from its current offset, anything else (a pipe) is copied to an
 * unlinked temporary file under $TMPDIR or /tmp.  The whole message is
 * scanned once for its wire size and verdict.  0, or -1 with errno and a
 * reason in why. */
int	client_msg_open(int fd, struct client_msg *, char *why, size_t);
/* The same with header fields to send before the message (queue-run's
 * DKIM-Signature fields, smtp-out -H), which the caller keeps for as long
 * as the message is open. */
int	client_msg_open_prefixed(int fd, const char *prefix, size_t prefixlen,
	    struct client_msg *, char *why, size_t);
void	client_msg_close(struct client_msg *);
/* Why the message cannot be sent (failed 5.6.0), or NULL. */
const char *client_msg_problem(const struct client_msg *);

enum client_tls_policy {
	CLIENT_TLS_NONE,	/* never STARTTLS */
	CLIENT_TLS_MAY,		/* STARTTLS when offered */
	CLIENT_TLS_ENCRYPT,	/* TLS or nothing, any certificate */
	CLIENT_TLS_VERIFY,	/* TLS with a verified certificate or nothing */
	CLIENT_TLS_DANE		/* TLS matching the hop's TLSA records (the
				   TLS layer says so in tls_info.dane) or
				   nothing, RFC 7672 */
};

/* What a TLS layer reports after its handshake. */
struct client_tls_info {
	char	version[16];	/* "TLSv1.3" */
	char	cipher[64];	/* IANA name, "TLS_AES_256_GCM_SHA384" */
	int	verified;	/* chain and host name checked */
	char	reason[128];	/* why not verified, "" when it is */
	unsigned verify_status;	/* GnuTLS's status bits: the TLS
				   report's result type (sts_send.c) */
	/* DANE (RFC 7672): the chain matched the hop's TLSA records; dane_why
	 * names the record that matched, or why none did. */
	int	dane;
	char	dane_why[160];
	/* MTA-STS (RFC 8461): set by the MTA-STS layer when the session
	 * met an enforced policy of the destination. */
	int	sts;
};

/* Slides TLS under io (the client's reads and writes go through it from
 * then on) before deadline: 0 with *info filled, or -1 with why. */
typedef int (*client_starttls_fn)(void *arg, struct io *io,
    int64_t deadline, struct client_tls_info *info, char *why, size_t);

/* Timeouts in milliseconds; client_timeouts_default() gives §4.5.3.2. */
struct client_timeouts {
	int64_t	greeting, cmd, mail, rcpt, data, block, dot, quit;
};

struct client_params {
	/* LMTP (RFC 2033): LHLO, never HELO; after the message's dot one
	 * reply for each recipient that RCPT accepted, in their order,
	 * each that recipient's result; a greeting or LHLO refused is a
	 * temporary failure (the store's configuration, not the
	 * recipients'). */
	int			 lmtp;
	const char		*helo;		/* our host name */
	const char		*sender;	/* "" for the null sender */
	int			 eightbit;	/* BODY=8BITMIME */
	int			 smtputf8;	/* the message needs SMTPUTF8 */
	/* RFC 3461's RET and ENVID (decoded; NULL: none), passed on when
	 * the host offers DSN. */
	enum dsn_ret		 ret;
	const char		*envid;
	enum client_tls_policy	 tls;
	/* The session is already under TLS (port 465): tls_info holds
	 * what its handshake reported. */
	int			 implicit_tls;
	struct client_tls_info	 tls_info;
	const char		*auth_user;	/* NULL or "": no AUTH */
	const char		*auth_pass;
	client_starttls_fn	 starttls;	/* NULL: STARTTLS impossible */
	void			*starttls_arg;
	struct client_timeouts	 to;
};

enum client_result {
	/* Every recipient that was pending has its result from this host. */
	CLIENT_DONE,
	/* This host failed as a whole (greeting, EHLO, 421, a lost
	 * connection before the transaction ended, TLS policy): recipients
	 * still pending go to the next host; fail holds the reason. */
	CLIENT_NEXT,
	/* The TLS handshake failed under CLIENT_TLS_MAY: connect to the
	 * same host again and call with tls = CLIENT_TLS_NONE. */
	CLIENT_RETRY_PLAIN
};

/* How a session went, for the log and the report. */
struct client_outcome {
	int			tls;		/* TLS was used */
	struct client_tls_info	tls_info;
	/* CLIENT_NEXT / RETRY_PLAIN: what to report if no host does better. */
	enum client_status	fail_status;
	char			fail_dsn[CLIENT_DSN_MAX];
	char			fail_text[CLIENT_TEXT_MAX];
};

void	client_timeouts_default(struct client_timeouts *);

/* A connection kept for several messages (smtp-out -J): client_open
 * reads the greeting and says EHLO, STARTTLS and AUTH as p asks;
 * client_send then delivers one message (RSET first when the connection
 * has carried one already, and a further transaction for recipients that
 * a 452 held back), without QUIT; client_reusable says whether another
 * may follow; client_close sends QUIT when polite, and frees. */
struct client;
enum client_result client_open(struct io *io,
		    const struct client_params *, struct client_outcome *,
		    struct client **);
enum client_result client_send(struct client *,
		    const struct client_params *, const struct client_msg *,
		    struct client_rcpt *r, size_t n, struct client_outcome *);
int		client_reusable(const struct client *);
void		client_close(struct client *, int polite);
/* One session on io for the recipients of r[0..n) that are still
 * CLIENT_PENDING; msg is read from its start.  io stays the caller's
 * (so does any TLS layer the hook put under it). */
enum client_result client_session(struct io *io,
		    const struct client_params *, const struct client_msg *,
		    struct client_rcpt *r, size_t n, struct client_outcome *);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384/OUTCOME", or "none" without TLS;
 * OUTCOME is client_tls_outcome's word. */
void	client_tls_describe(const struct client_outcome *, char *, size_t);
/* How a session's TLS was authenticated, the word of the delivery log's
 * tls= (smtp-out(8)): "dane" (TLSA records matched), "sts" (an enforced
 * MTA-STS policy met), "verified" (the certificate verified against the
 * trust store and the host name), "opportunistic" (encrypted, not
 * authenticated), or "none" (plaintext). */
const char *client_tls_outcome(const struct client_outcome *);

#endif
