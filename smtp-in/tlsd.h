/* tlsd.h — the TLS end of one SMTP session, for smtp-tlsd(8).  smtp-in is
 * a static binary that cannot load GnuTLS, so at STARTTLS (or at the start
 * of a port-465 session) it hands the network to smtp-tlsd and talks
 * plaintext to it over a socketpair:
 *
 *	client ==TLS== [rfd/wfd] smtp-tlsd [ctl] ==plaintext== smtp-in
 *
 * After the handshake exactly one status line goes to ctl, then bytes are
 * relayed both ways until either side is done:
 *
 *	"ok VERSION CIPHER SNI\n"	"ok TLSv1.3 TLS_AES_256_GCM_SHA384 -"
 *	"fail REASON\n"			then nothing more
 *
 * VERSION is "TLSv1.2" or "TLSv1.3", CIPHER the IANA name of the suite,
 * SNI the server name the client asked for, lowercased, or "-" when it
 * named none or a name that is not a host name.  No field holds a blank;
 * REASON is printable ASCII, at most TLSD_REASON_MAX bytes. */
#ifndef POSTHORN_TLSD_H
#define POSTHORN_TLSD_H

#include <stddef.h>

enum {
	/* A client that has not finished the handshake by then is gone or
	 * hostile; smtp-in waits for the status line SMTP_CMD_TIMEOUT
	 * (300 s, RFC 5321 §4.5.3.2.7), so ours must be shorter. */
	TLSD_HANDSHAKE_TIMEOUT = 60,			/* seconds */
	/* close_notify on the way out: best effort, never a hang. */
	TLSD_BYE_TIMEOUT_MS = 5000,
	/* Once smtp-in is gone, what it last said gets this long to reach
	 * a client that does not read, then smtp-tlsd exits all the same;
	 * and after the close alert, input is read and dropped this long,
	 * so that unread data does not turn the close into a reset that
	 * destroys the last reply. */
	TLSD_DRAIN_TIMEOUT_MS = 30000,
	TLSD_LINGER_MS = 2000,
	/* One TLS record of plaintext (RFC 8446 §5.1: 2^14): each direction
	 * holds at most one record's worth, so memory is fixed. */
	TLSD_BUF_SIZE = 16384,
	TLSD_REASON_MAX = 200,				/* "fail REASON" */
	TLSD_STATUS_MAX = TLSD_REASON_MAX + 64	/* the whole line, '\n' too */
};

/* Certificate files under certdir for the SNI name NAME. */
#define TLSD_SNI_CHAIN	"fullchain.pem"
#define TLSD_SNI_KEY	"privkey.pem"

/* A chain and its key, loaded and checked (tlsd_cred_load). */
struct tlsd_cred;
/* A priority string, parsed (tlsd_prio_load). */
struct tlsd_prio;

struct tlsd_params {
	const char	*cert;		/* default chain, PEM, leaf first */
	const char	*key;		/* its private key, PEM (RSA, ECDSA) */
	/* cert and key already loaded (the zygote's), or NULL: then the
	 * session reads them. */
	const struct tlsd_cred	*cred;
	/* certdir/NAME/{fullchain,privkey}.pem are served instead when the
	 * client asks for NAME and fullchain.pem exists; NULL: no SNI. */
	const char	*certdir;
	const char	*priority;	/* GnuTLS priority string */
	/* priority already parsed (the zygote's), or NULL: then the
	 * session parses it. */
	const struct tlsd_prio	*prio;
	int		 handshake_ms;	/* deadline of the handshake */
	/* What smtp-in last said gets this long to reach the client once
	 * smtp-in is gone; 0: TLSD_DRAIN_TIMEOUT_MS (a test's is short). */
	int		 drain_ms;
};

enum tlsd_result {
	TLSD_DONE = 0,		/* relayed to the end: exit 0 */
	TLSD_HANDSHAKE_FAILED,	/* "fail REASON" was written */
	TLSD_RELAY_FAILED	/* an error on either side after "ok" */
};

/* The whole session: handshake on rfd/wfd (the network, usually 0 and 1)
 * within p->handshake_ms, the status line on ctl, then the relay.  The
 * three descriptors are made non-blocking.  On failure why[] says what
 * went wrong (for the log; never a peer's raw bytes).  SIGPIPE must be
 * ignored by the caller: both peers may vanish at any time. */
enum tlsd_result tlsd_run(const struct tlsd_params *, int rfd, int wfd,
		    int ctl, char *why, size_t whysz);
/* cert and key read, and checked as a session checks them (readable,
 * not readable by others, the key the certificate's), into *out: 0, or
 * -1 with why.  tlsd_cred_free gives it back. */
int		 tlsd_cred_load(const char *cert, const char *key,
		    struct tlsd_cred **out, char *why, size_t whysz);
void		 tlsd_cred_free(struct tlsd_cred *);
/* The priority string parsed into *out, as a session would parse it: 0,
 * or -1 with why.  tlsd_prio_free gives it back. */
int		 tlsd_prio_load(const char *priority, struct tlsd_prio **out,
		    char *why, size_t whysz);
void		 tlsd_prio_free(struct tlsd_prio *);
/* "fail REASON\n" on ctl, for a failure before tlsd_run (configuration):
 * REASON is cut to TLSD_REASON_MAX and anything but printable ASCII is
 * written as '?'.  0, or -1 with errno. */
int		 tlsd_status_fail(int ctl, const char *reason);
/* The SNI name from the client (len bytes, not NUL-terminated) as it may
 * go into a path and the status line: lowercased into out[size], 0; or -1
 * (EINVAL) when it is not a host name (conf_valid_hostname), which also
 * rules out "..", "/" and a trailing dot. */
int		 tlsd_sni_name(const char *name, size_t len, char *out,
		    size_t size);

#endif
