/* ckproto.h — what a session asks the resident checker (smtp-checkd(8))
 * and what it answers.
 *
 * A request is one SOCK_SEQPACKET datagram on the socket the listener
 * shares among its sessions (POSTHORN_CHECKD_FD), carrying by SCM_RIGHTS
 * the session's end of a socketpair made for this one request (the
 * answer comes back on it, so that answers never cross between sessions,
 * and a checker that dies shows as the end of that socket at once) and,
 * for a message, a read-only descriptor on the queue file at its first
 * message byte: the message is never copied through the socket.
 *
 * Both the request and the answer are text: lines separated by LF, a
 * fixed number of them in a fixed order, the first naming the version
 * and the kind; a value may be empty but holds no LF, CR or NUL.
 *
 *	request				answer
 *	posthorn-check 1 spf|msg	posthorn-check 1 spf|msg
 *	authserv-id (our hostname)	spf result word
 *	queue id ("" for spf)		spf explanation (of a fail) or ""
 *	client IP address		dkim summary word ("" for spf)
 *	HELO name			dmarc result word ("")
 *	MAIL FROM ("" for <>)		dmarc policy: none|quarantine|reject
 *	spf result known ("" if not)	dmarc disposition, the same words
 *					the Authentication-Results value
 *
 * Both sides are plain libc: smtp-in is static musl, the checker glibc. */
#ifndef POSTHORN_CKPROTO_H
#define POSTHORN_CKPROTO_H

#include <stddef.h>
#include <sys/types.h>

#define CKP_MAGIC	"posthorn-check"

enum {
	CKP_VERSION = 1,
	CKP_NAME_MAX = 255,	/* a DNS name: authserv-id, HELO */
	CKP_ID_MAX = 32,	/* a queue id (16) with room */
	CKP_IP_MAX = 64,	/* an IPv6 address's text with room */
	/* MAIL FROM: RFC 5321 §4.5.3.1.3's path is 256 octets; an SMTPUTF8
	 * address may take more bytes, smtp-in's ADDR_TEXT_MAX bounds it. */
	CKP_SENDER_MAX = 1024,
	CKP_WORD_MAX = 16,	/* "temperror", "quarantine" */
	CKP_EXP_MAX = 512,	/* an SPF explanation, cut */
	/* The Authentication-Results value: the checker's CHECK_AR_MAX. */
	CKP_AR_MAX = 8192,
	/* The most of a message's header the checker reads: its bytes (the
	 * empty line after it included) and its fields.  A header past
	 * either cannot be checked, and would escape DMARC as temperror:
	 * smtp-in refuses it (data_header_max), with room for what it
	 * adds. */
	CKP_HEADER_MAX = 256 * 1024,
	CKP_FIELDS_MAX = 1000,
	/* A datagram: the longest answer with its line ends and more. */
	CKP_DGRAM_MAX = 12 * 1024,
	/* Descriptors with a request: the reply socket, the message. */
	CKP_NFDS_MAX = 2
};

enum ckp_kind {
	CKP_SPF = 0,	/* the SPF result of the envelope, at MAIL FROM */
	CKP_MSG		/* SPF, DKIM, DMARC of the message, after the dot */
};

struct ckp_request {
	enum ckp_kind	kind;
	char		authserv[CKP_NAME_MAX + 1];
	char		id[CKP_ID_MAX + 1];
	char		ip[CKP_IP_MAX + 1];
	char		helo[CKP_NAME_MAX + 1];
	char		sender[CKP_SENDER_MAX + 1];
	char		spf[CKP_WORD_MAX + 1];
};

struct ckp_answer {
	enum ckp_kind	kind;
	char		spf[CKP_WORD_MAX + 1];
	char		spf_exp[CKP_EXP_MAX + 1];
	char		dkim[CKP_WORD_MAX + 1];
	char		dmarc[CKP_WORD_MAX + 1];
	char		policy[CKP_WORD_MAX + 1];
	char		disposition[CKP_WORD_MAX + 1];
	char		authres[CKP_AR_MAX + 1];
};

/* Into buf[size]: 0 and *len, or -1 (EINVAL: a value too long or
 * holding LF, CR or NUL; ENOBUFS: buf too small). */
int	ckp_request_encode(const struct ckp_request *, char *buf, size_t size,
	    size_t *len);
int	ckp_answer_encode(const struct ckp_answer *, char *buf, size_t size,
	    size_t *len);
/* From buf[0..len): 0, or -1 (EINVAL) when it is not exactly the form
 * above. */
int	ckp_request_decode(const char *buf, size_t len, struct ckp_request *);
int	ckp_answer_decode(const char *buf, size_t len, struct ckp_answer *);

/* The answer when no check could be made (the checker busy, down or
 * late, the message unreadable): spf the word known ("" for
 * temperror), DKIM and DMARC temperror, reason (plain words, no
 * parentheses) as the field's comment.  smtp-in writes it when the
 * checker does not answer in time, the checker when it cannot judge. */
void	ckp_temperror(const struct ckp_request *, const char *spf,
	    const char *reason, struct ckp_answer *);

/* One datagram and nfds descriptors on sock, never blocking (a checker
 * that does not keep up must not stall a session).  0, or -1 with
 * sendmsg(2)'s errno (EAGAIN, ECONNREFUSED, EPIPE, ...). */
int	ckp_send(int sock, const void *buf, size_t len, const int *fds,
	    size_t nfds);
/* One datagram from sock, blocking, into buf[size]; the descriptors that
 * came with it (close-on-exec) into fds[CKP_NFDS_MAX], *nfds of them.
 * Its length; 0 at the end (every holder of the other end closed it);
 * -1 with errno (EINTR included; EMSGSIZE: a datagram or its
 * descriptors cut short, and then all of them closed). */
ssize_t	ckp_recv(int sock, void *buf, size_t size, int *fds, size_t *nfds);

#endif
