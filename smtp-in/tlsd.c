/* tlsd.c — the TLS end of one SMTP session (tlsd.h, smtp-tlsd(8)).  It
 * exists so that smtp-in, started for every connection, stays a small
 * static binary: GnuTLS is loaded only by the sessions that start TLS.
 * The certificate is read here, at each start, so a renewed file is
 * served from the next connection on; a child of the zygote is given the
 * zygote's copy, which the zygote reads again when the files change.  Everything is non-blocking and
 * driven by poll(2) with one fixed buffer per direction. */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "conf.h"
#include "io.h"
#include "secret.h"
#include "str.h"
#include "tls.h"
#include "tlsd.h"

enum {
	SNI_RAW_MAX = 256,	/* RFC 6066 §3: HostName up to 2^16, but a
				   DNS name is at most 253 bytes */
	KEY_ID_MAX = 64		/* a key ID: SHA-256, 32 bytes */
};

/* Plaintext on its way from one side to the other. */
struct pipebuf {
	char	b[TLSD_BUF_SIZE];
	size_t	off, len;	/* b[off..len) still to be written */
};

struct tlsd {
	const struct tlsd_params		*p;
	gnutls_session_t			 s;
	gnutls_certificate_credentials_t	 cred;	/* our own, or NULL */
	int	cred_set;	/* a certificate was given to the session */
	char	sni[CONF_HOSTNAME_MAX + 1];	/* "" when none or invalid */
	char	why[TLSD_REASON_MAX + 1];	/* from the hello callback */
	struct pipebuf	up;	/* client -> smtp-in */
	struct pipebuf	down;	/* smtp-in -> client */
};

int
tlsd_sni_name(const char *name, size_t len, char *out, size_t size)
{
	if (len == 0 || len >= size || memchr(name, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	memcpy(out, name, len);
	out[len] = '\0';
	if (!conf_valid_hostname(out)) {
		out[0] = '\0';
		errno = EINVAL;
		return -1;
	}
	str_lower(out);
	return 0;
}

/* REASON as it goes on the status line: printable ASCII, one line. */
static void
clean_reason(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = src[i] >= ' ' && src[i] <= '~' ? src[i] : '?';
	if (size > 0)
		dst[i] = '\0';
}

int
tlsd_status_fail(int ctl, const char *reason)
{
	char line[TLSD_STATUS_MAX], clean[TLSD_REASON_MAX + 1];

	clean_reason(clean, sizeof(clean), reason[0] != '\0' ? reason :
	    "unknown error");
	if (str_fmt(line, sizeof(line), "fail %s\n", clean) == -1)
		return -1;
	return fd_write_all(ctl, line, strlen(line));
}

/* The key of the pair just loaded into cred is the private half of the
 * leaf certificate's public key: the same key ID (a hash of the public
 * key) on both.  0, or a GnuTLS error. */
static int
key_matches(gnutls_certificate_credentials_t cred)
{
	unsigned char a[KEY_ID_MAX], b[KEY_ID_MAX];
	size_t alen = sizeof(a), blen = sizeof(b);
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der;
	int r;

	if ((r = gnutls_certificate_get_crt_raw(cred, 0, 0, &der)) < 0 ||
	    (r = gnutls_certificate_get_x509_key(cred, 0, &key)) < 0 ||
	    (r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER)) < 0 ||
	    (r = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a,
	    &alen)) < 0 ||
	    (r = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256,
	    b, &blen)) < 0)
		goto out;
	r = alen == blen && memcmp(a, b, alen) == 0 ? 0 :
	    GNUTLS_E_CERTIFICATE_KEY_MISMATCH;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return r;
}

/* A certificate chain and its key, read and checked: the zygote's,
 * loaded once for all its children, or a session's own. */
struct tlsd_cred {
	gnutls_certificate_credentials_t	 c;
};

/* The pair cert and key into *out: 0, or a GnuTLS error with why. */
static int
cred_load(const char *cert, const char *key,
    gnutls_certificate_credentials_t *out, char *why, size_t whysz)
{
	gnutls_certificate_credentials_t c = NULL;
	int r;

	*out = NULL;
	/* access(2) first: GnuTLS says only "Error while reading file". */
	if (access(cert, R_OK) == -1 || access(key, R_OK) == -1) {
		str_fmt_cut(why, whysz, "cannot read %s: %s",
		    access(cert, R_OK) == -1 ? cert : key, strerror(errno));
		return GNUTLS_E_FILE_ERROR;
	}
	/* A key others can read has leaked: no session uses it, and the
	 * log line says how to fix it. */
	if (secret_check(-1, key, why, whysz) == -1)
		return GNUTLS_E_FILE_ERROR;
	if ((r = gnutls_certificate_allocate_credentials(&c)) < 0) {
		str_fmt_cut(why, whysz, "credentials: %s", gnutls_strerror(r));
		return r;
	}
	/* GnuTLS would prove the pair by a signature and its check: 0.6 ms
	 * of CPU for a P-256 key, 1.7 for RSA-2048, at every load.  The
	 * same public key on both sides is what matters (a wrong pair gets
	 * a clear log line, not a handshake that fails at the client);
	 * key_matches compares the hashes of the two. */
	gnutls_certificate_set_flags(c, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if ((r = gnutls_certificate_set_x509_key_file2(c, cert, key,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0 || (r = key_matches(c)) < 0) {
		str_fmt_cut(why, whysz, "%s and %s: %s", cert, key,
		    gnutls_strerror(r));
		gnutls_certificate_free_credentials(c);
		return r;
	}
	*out = c;
	return 0;
}

int
tlsd_cred_load(const char *cert, const char *key, struct tlsd_cred **out,
    char *why, size_t whysz)
{
	struct tlsd_cred *tc;

	*out = NULL;
	if ((tc = malloc(sizeof(*tc))) == NULL) {
		str_fmt_cut(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (cred_load(cert, key, &tc->c, why, whysz) < 0) {
		free(tc);
		return -1;
	}
	*out = tc;
	return 0;
}

void
tlsd_cred_free(struct tlsd_cred *tc)
{
	if (tc == NULL)
		return;
	gnutls_certificate_free_credentials(tc->c);
	free(tc);
}

/* A priority string parsed once, for every child of the zygote: a child
 * that parses it again builds the same tables in pages of its own. */
struct tlsd_prio {
	gnutls_priority_t	 c;
};

int
tlsd_prio_load(const char *priority, struct tlsd_prio **out, char *why,
    size_t whysz)
{
	struct tlsd_prio *tp;
	const char *errpos = NULL;
	int r;

	*out = NULL;
	if ((tp = malloc(sizeof(*tp))) == NULL) {
		str_fmt_cut(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if ((r = gnutls_priority_init(&tp->c, priority, &errpos)) < 0) {
		str_fmt_cut(why, whysz, "tls_priority: %s at \"%.40s\"",
		    gnutls_strerror(r), errpos != NULL ? errpos : "");
		free(tp);
		return -1;
	}
	*out = tp;
	return 0;
}

void
tlsd_prio_free(struct tlsd_prio *tp)
{
	if (tp == NULL)
		return;
	gnutls_priority_deinit(tp->c);
	free(tp);
}

/* The session's certificate: the pair already loaded (p->cred) when the
 * default one is wanted and there is one, else cert and key read now. */
static int
load_credentials(struct tlsd *t, const char *cert, const char *key)
{
	gnutls_certificate_credentials_t c;
	int r;

	if (cert == t->p->cert && t->p->cred != NULL)
		c = t->p->cred->c;
	else if ((r = cred_load(cert, key, &t->cred, t->why,
	    sizeof(t->why))) < 0)
		return r;
	else
		c = t->cred;
	if ((r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, c)) <
	    0) {
		str_fmt_cut(t->why, sizeof(t->why), "credentials: %s",
		    gnutls_strerror(r));
		return r;
	}
	t->cred_set = 1;
	return 0;
}

/* After the ClientHello, before the suite is chosen: the certificate for
 * the name the client asked for, or the default one.  Only one pair is
 * read per connection.  The name is checked as a host name before it is
 * part of a path, so "..", "/" and the like never reach the file system. */
static int
post_client_hello(gnutls_session_t s)
{
	struct tlsd *t = gnutls_session_get_ptr(s);
	char raw[SNI_RAW_MAX + 1], cert[PATH_MAX], key[PATH_MAX];
	const char *c = t->p->cert, *k = t->p->key;
	size_t len = sizeof(raw);
	unsigned type;

	/* A HelloRetryRequest brings a second ClientHello, same name. */
	if (t->cred_set)
		return 0;
	t->sni[0] = '\0';
	if (gnutls_server_name_get(s, raw, &len, &type, 0) == 0 &&
	    type == GNUTLS_NAME_DNS &&
	    tlsd_sni_name(raw, len, t->sni, sizeof(t->sni)) == 0 &&
	    t->p->certdir != NULL &&
	    str_fmt(cert, sizeof(cert), "%s/%s/%s", t->p->certdir, t->sni,
	    TLSD_SNI_CHAIN) == 0 &&
	    str_fmt(key, sizeof(key), "%s/%s/%s", t->p->certdir, t->sni,
	    TLSD_SNI_KEY) == 0 &&
	    access(cert, F_OK) == 0) {
		c = cert;
		k = key;
	}
	return load_credentials(t, c, k);
}

static void
handshake_reason(struct tlsd *t, int r, char *why, size_t whysz)
{
	if (t->why[0] != '\0')
		str_fmt_cut(why, whysz, "%s", t->why);
	else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		str_fmt_cut(why, whysz, "client sent alert: %s",
		    gnutls_alert_get_name(gnutls_alert_get(t->s)));
	else if (r == GNUTLS_E_PREMATURE_TERMINATION)
		str_fmt_cut(why, whysz, "client closed the connection");
	else
		str_fmt_cut(why, whysz, "%s", gnutls_strerror(r));
}

static int
handshake(struct tlsd *t, int rfd, int wfd, char *why, size_t whysz)
{
	int64_t deadline;
	int r;

	deadline = clock_ms() + t->p->handshake_ms;
	for (;;) {
		r = gnutls_handshake(t->s);
		if (r == 0)
			return 0;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (tls_wait(t->s, rfd, wfd, deadline) == -1) {
				if (errno == ETIMEDOUT)
					str_fmt_cut(why, whysz, "no handshake "
					    "within %d s",
					    (t->p->handshake_ms + 999) / 1000);
				else
					str_fmt_cut(why, whysz, "poll: %s",
					    strerror(errno));
				return -1;
			}
			continue;
		}
		if (gnutls_error_is_fatal(r) || clock_ms() >= deadline) {
			handshake_reason(t, r, why, whysz);
			return -1;
		}
	}
}

/* "ok TLSv1.3 TLS_AES_256_GCM_SHA384 mx.example.org\n".  GnuTLS says
 * "TLS1.3"; the line says "TLSv1.3", as OpenSSL, Postfix and the
 * Received: headers of most servers do. */
static int
status_ok(struct tlsd *t, int ctl)
{
	char line[TLSD_STATUS_MAX], v[32];

	tls_version(t->s, v, sizeof(v));
	if (str_fmt(line, sizeof(line), "ok %s %s %s\n", v, tls_cipher(t->s),
	    t->sni[0] != '\0' ? t->sni : "-") == -1)
		return -1;
	return fd_write_all(ctl, line, strlen(line));
}

/* close_notify to the client, then FIN: best effort, within its own
 * deadline, since the client may be gone already. */
static void
bye(struct tlsd *t, int rfd, int wfd)
{
	int64_t deadline;
	int r;

	deadline = clock_ms() + TLSD_BYE_TIMEOUT_MS;
	while ((r = gnutls_bye(t->s, GNUTLS_SHUT_WR)) == GNUTLS_E_AGAIN ||
	    r == GNUTLS_E_INTERRUPTED)
		if (tls_wait(t->s, rfd, wfd, deadline) == -1)
			break;
	(void)shutdown(wfd, SHUT_WR);	/* not a socket: close does it */
	/* Linger: the client's last bytes read and dropped, briefly. */
	deadline = clock_ms() + TLSD_LINGER_MS;
	for (;;) {
		char junk[4096];

		r = (int)gnutls_record_recv(t->s, junk, sizeof(junk));
		if (r > 0 || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r != GNUTLS_E_AGAIN ||
		    tls_wait(t->s, rfd, wfd, deadline) == -1)
			break;
	}
}

/* What a GnuTLS call that did not complete is waiting for. */
static void
want(struct tlsd *t, short *rev, short *wev)
{
	if (gnutls_record_get_direction(t->s) == 1)
		*wev |= POLLOUT;
	else
		*rev |= POLLIN;
}

/* Each step below moves what it can without blocking and says whether
 * anything changed; the loop polls only when nothing did.  gnutls_record_
 * recv is called whenever the up buffer is empty, not only after poll
 * says the socket is readable, so records GnuTLS has already decoded
 * (gnutls_record_check_pending) are never left waiting.  A send that
 * returned GNUTLS_E_AGAIN is repeated with the same buffer and length,
 * as GnuTLS requires: the down buffer is refilled only once empty. */
static enum tlsd_result
relay(struct tlsd *t, int rfd, int wfd, int ctl, char *why, size_t whysz)
{
	struct pipebuf *up = &t->up, *down = &t->down;
	struct pollfd pfd[3];
	int net_eof = 0, ctl_eof = 0, ctl_shut = 0, ctl_hup = 0, moved, wait;
	int64_t drain_until = 0, left;
	int64_t drain_ms = t->p->drain_ms > 0 ? t->p->drain_ms :
	    TLSD_DRAIN_TIMEOUT_MS;
	short rev, wev, cev;
	ssize_t r;

	for (;;) {
		moved = 0;
		rev = wev = cev = 0;

		/* Client to smtp-in. */
		if (up->len == 0 && !net_eof) {
			r = gnutls_record_recv(t->s, up->b, sizeof(up->b));
			if (r > 0) {
				up->off = 0;
				up->len = (size_t)r;
				moved = 1;
			} else if (r == 0 ||
			    r == GNUTLS_E_PREMATURE_TERMINATION) {
				/* close_notify, or a bare TCP close: most
				 * clients drop the line after QUIT's reply. */
				net_eof = moved = 1;
			} else if (r == GNUTLS_E_AGAIN ||
			    r == GNUTLS_E_INTERRUPTED)
				want(t, &rev, &wev);
			else if (!gnutls_error_is_fatal((int)r))
				moved = 1;	/* a warning alert, a refused
						   renegotiation: go on */
			else {
				str_fmt_cut(why, whysz, "TLS receive: %s",
				    gnutls_strerror((int)r));
				return TLSD_RELAY_FAILED;
			}
		}
		if (up->off < up->len) {
			r = write(ctl, up->b + up->off, up->len - up->off);
			if (r > 0) {
				up->off += (size_t)r;
				if (up->off == up->len)
					up->off = up->len = 0;
				moved = 1;
			} else if (r == -1 && errno == EAGAIN)
				cev |= POLLOUT;
			else if (r == -1 && errno == EINTR)
				moved = 1;
			else if (r == -1 && (errno == EPIPE ||
			    errno == ECONNRESET)) {
				/* smtp-in is gone: what the client still
				 * sends has no reader. */
				up->off = up->len = 0;
				ctl_eof = moved = 1;
			} else {
				str_fmt_cut(why, whysz, "write to smtp-in: %s",
				    strerror(errno));
				return TLSD_RELAY_FAILED;
			}
		}
		if (net_eof && up->len == 0 && !ctl_shut) {
			/* smtp-in reads EOF and may still answer. */
			if (shutdown(ctl, SHUT_WR) == -1 && errno != ENOTCONN) {
				str_fmt_cut(why, whysz, "shutdown: %s",
				    strerror(errno));
				return TLSD_RELAY_FAILED;
			}
			ctl_shut = moved = 1;
		}

		/* smtp-in to client. */
		if (down->len == 0 && !ctl_eof) {
			r = read(ctl, down->b, sizeof(down->b));
			if (r > 0) {
				down->off = 0;
				down->len = (size_t)r;
				moved = 1;
			} else if (r == 0 || (r == -1 && errno == ECONNRESET))
				ctl_eof = moved = 1;
			else if (errno == EAGAIN)
				cev |= POLLIN;
			else if (errno == EINTR)
				moved = 1;
			else {
				str_fmt_cut(why, whysz, "read from smtp-in: %s",
				    strerror(errno));
				return TLSD_RELAY_FAILED;
			}
		}
		if (down->off < down->len) {
			r = gnutls_record_send(t->s, down->b + down->off,
			    down->len - down->off);
			if (r > 0) {
				down->off += (size_t)r;
				if (down->off == down->len)
					down->off = down->len = 0;
				moved = 1;
			} else if (r == GNUTLS_E_AGAIN ||
			    r == GNUTLS_E_INTERRUPTED)
				want(t, &rev, &wev);
			else if (net_eof) {
				/* The client closed first and is gone: what
				 * smtp-in still says has no reader. */
				return TLSD_DONE;
			} else {
				str_fmt_cut(why, whysz, "TLS send: %s",
				    gnutls_strerror((int)r));
				return TLSD_RELAY_FAILED;
			}
		}
		if (ctl_eof && down->len == 0) {
			bye(t, rfd, wfd);
			return TLSD_DONE;
		}
		/* smtp-in is gone: its last words get a bounded time, from
		 * when it hung up, even if they wait unread behind a full
		 * down buffer that a client who reads nothing never
		 * empties. */
		if ((ctl_eof || ctl_hup) && drain_until == 0)
			drain_until = clock_ms() + drain_ms;
		if (moved || (up->len == 0 && !net_eof &&
		    gnutls_record_check_pending(t->s) > 0))
			continue;

		/* rfd and wfd may be one descriptor (inetd): two entries
		 * are fine for poll. */
		pfd[0].fd = rev != 0 ? rfd : -1;
		pfd[0].events = rev;
		pfd[1].fd = wev != 0 ? wfd : -1;
		pfd[1].events = wev;
		/* smtp-in's hang-up is watched for while it is there, and
		 * only then (poll reports it for as long as it lasts). */
		pfd[2].fd = cev != 0 || (!ctl_eof && !ctl_hup) ? ctl : -1;
		pfd[2].events = cev | (!ctl_eof && !ctl_hup ? POLLRDHUP : 0);
		pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
		wait = -1;
		if (drain_until != 0) {
			if ((left = drain_until - clock_ms()) <= 0) {
				str_fmt_cut(why, whysz, "the client reads "
				    "nothing: %zu bytes dropped",
				    down->len - down->off);
				return TLSD_RELAY_FAILED;
			}
			wait = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		if (poll(pfd, 3, wait) == -1 && errno != EINTR) {
			str_fmt_cut(why, whysz, "poll: %s", strerror(errno));
			return TLSD_RELAY_FAILED;
		}
		if (pfd[2].revents & (POLLRDHUP | POLLHUP | POLLERR))
			ctl_hup = 1;
	}
}

/* GnuTLS writes a flight of the handshake, and a record, in more than
 * one send(2): with Nagle's algorithm the second waits for the client's
 * ACK of the first, which the client delays (40 ms on Linux) until the
 * flight is whole.  Measured through smtp-listen: 47 ms for a STARTTLS
 * handshake and 43 ms for the first command after it, where the CPU was
 * a few ms.  Each write here is a whole record or flight: send it now.
 * Not a TCP socket (a test's socketpair): nothing to do. */
static void
no_delay(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* The client's Finished ends the handshake, and we have nothing to send
 * after it (no session tickets): its ACK would wait the delayed-ACK
 * time, and with it the client's first command, which Nagle holds
 * behind the unacknowledged Finished (43 ms measured).  TCP_QUICKACK
 * sends the pending ACK now. */
static void
ack_now(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

enum tlsd_result
tlsd_run(const struct tlsd_params *p, int rfd, int wfd, int ctl, char *why,
    size_t whysz)
{
	static struct tlsd t;	/* 32 KB of buffers: not on the stack */
	enum tlsd_result res = TLSD_HANDSHAKE_FAILED;
	const char *errpos = NULL;
	int r;

	/* Everything but the two buffers, each written before it is read:
	 * clearing 32 KB would touch eight pages, each a page fault in a
	 * fresh process (and a copied page in a child of the zygote). */
	t.p = p;
	t.s = NULL;
	t.cred = NULL;
	t.cred_set = 0;
	t.sni[0] = t.why[0] = '\0';
	t.up.off = t.up.len = t.down.off = t.down.len = 0;
	if (whysz > 0)
		why[0] = '\0';
	if (fd_nonblock(rfd) == -1 || fd_nonblock(wfd) == -1) {
		str_fmt_cut(why, whysz, "network: %s", strerror(errno));
		goto fail;
	}
	/* No session tickets: each connection is a process with its own
	 * ticket key, so a ticket could never be used. */
	if ((r = gnutls_init(&t.s, GNUTLS_SERVER | GNUTLS_NO_TICKETS)) < 0) {
		str_fmt_cut(why, whysz, "gnutls_init: %s", gnutls_strerror(r));
		goto fail;
	}
	if (p->prio != NULL) {
		if ((r = gnutls_priority_set(t.s, p->prio->c)) < 0) {
			str_fmt_cut(why, whysz, "tls_priority: %s",
			    gnutls_strerror(r));
			goto fail;
		}
	} else if ((r = gnutls_priority_set_direct(t.s, p->priority,
	    &errpos)) < 0) {
		str_fmt_cut(why, whysz, "tls_priority: %s at \"%.40s\"",
		    gnutls_strerror(r), errpos != NULL ? errpos : "");
		goto fail;
	}
	gnutls_session_set_ptr(t.s, &t);
	gnutls_handshake_set_post_client_hello_function(t.s,
	    post_client_hello);
	/* Our deadline, not GnuTLS's default of 40 s. */
	gnutls_handshake_set_timeout(t.s, 0);
	gnutls_transport_set_int2(t.s, rfd, wfd);
	no_delay(wfd);
	if (handshake(&t, rfd, wfd, why, whysz) == -1)
		goto fail;
	ack_now(rfd);
	if (status_ok(&t, ctl) == -1) {
		str_fmt_cut(why, whysz, "status to smtp-in: %s",
		    strerror(errno));
		res = TLSD_RELAY_FAILED;
		goto out;
	}
	if (fd_nonblock(ctl) == -1) {
		str_fmt_cut(why, whysz, "smtp-in: %s", strerror(errno));
		res = TLSD_RELAY_FAILED;
		goto out;
	}
	res = relay(&t, rfd, wfd, ctl, why, whysz);
	goto out;
fail:
	(void)tlsd_status_fail(ctl, why);
out:
	if (t.s != NULL)
		gnutls_deinit(t.s);
	if (t.cred != NULL)
		gnutls_certificate_free_credentials(t.cred);
	return res;
}
