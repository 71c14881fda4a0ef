/* tlsc.c — GnuTLS under a struct io for smtp-out (tlsc.h).  The socket is
 * non-blocking; GnuTLS's EAGAIN comes back to io.c as errno EAGAIN, and
 * io.c polls and calls again with the same arguments, which is what
 * gnutls_record_send asks of its callers.  Records already decrypted are
 * reported through the pending op, since poll cannot see them.  The peer
 * certificate is verified after the handshake, not during it, so that an
 * opportunistic session (tls=may) goes on with an unverified certificate
 * and only says so. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "io.h"
#include "str.h"
#include "tls.h"
#include "tlsa.h"
#include "tlsc.h"

struct tlsc {
	gnutls_session_t			s;
	gnutls_certificate_credentials_t	cred;
	int					cred_cached;
	const struct io_ops			*plain;	/* to go back to */
	void					*plain_ctx;
};

/* The trust store, read once per process: reading the system's (some
 * 150 certificates) costs 7-25 ms of CPU, which a long-lived smtp-out
 * (-J) paid again for every connection it opened.  The store is part of
 * the process's frozen configuration: a process that lives on sees a new
 * CA bundle when its successor starts.  One entry, for the route's CA
 * file (or none); a session of another CA file while it is in use gets
 * credentials of its own. */
static struct {
	gnutls_certificate_credentials_t	cred;
	char					ca[TLSC_CA_PATH_MAX];
	unsigned				users;
} trust;

/* Credentials with the system trust store and the file ca (NULL or ""
 * for none) into t, or a negative GnuTLS code (0: the file held no
 * certificate). */
static int
trust_get(struct tlsc *t, const char *ca)
{
	gnutls_certificate_credentials_t c;
	int r;

	if (ca == NULL)
		ca = "";
	if (trust.cred != NULL && strcmp(trust.ca, ca) == 0) {
		trust.users++;
		t->cred = trust.cred;
		t->cred_cached = 1;
		return 1;
	}
	if ((r = gnutls_certificate_allocate_credentials(&c)) < 0)
		return r;
	/* No trust store at all leaves every certificate unverified, which
	 * the policy then judges; it does not stop the session. */
	(void)gnutls_certificate_set_x509_system_trust(c);
	if (ca[0] != '\0' && (r = gnutls_certificate_set_x509_trust_file(c,
	    ca, GNUTLS_X509_FMT_PEM)) <= 0) {
		gnutls_certificate_free_credentials(c);
		return r;
	}
	t->cred = c;
	if (trust.users > 0 || strlen(ca) >= sizeof(trust.ca))
		return 1;
	if (trust.cred != NULL)
		gnutls_certificate_free_credentials(trust.cred);
	trust.cred = c;
	memcpy(trust.ca, ca, strlen(ca) + 1);
	trust.users = 1;
	t->cred_cached = 1;
	return 1;
}

static ssize_t
tls_read(struct io *io, void *p, size_t n)
{
	struct tlsc *t = io->ctx;
	ssize_t r;

	r = gnutls_record_recv(t->s, p, n);
	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		errno = EAGAIN;
	else if (r == GNUTLS_E_PREMATURE_TERMINATION)
		errno = ECONNRESET;
	else
		errno = EIO;
	return -1;
}

static ssize_t
tls_write(struct io *io, const void *p, size_t n)
{
	struct tlsc *t = io->ctx;
	ssize_t r;

	r = gnutls_record_send(t->s, p, n);
	if (r >= 0)
		return r;
	errno = r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ? EAGAIN :
	    EPIPE;
	return -1;
}

static size_t
tls_pending(struct io *io)
{
	struct tlsc *t = io->ctx;

	return gnutls_record_check_pending(t->s);
}

static const struct io_ops tls_ops = {
	.read = tls_read,
	.write = tls_write,
	.pending = tls_pending,
};

static int
is_address(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

static void
tlsc_free(struct tlsc *t)
{
	if (t->s != NULL)
		gnutls_deinit(t->s);
	if (t->cred_cached)
		trust.users--;
	else if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* The verdict on the peer's certificate, as info->verified and reason. */
static void
verify(struct tlsc *t, const char *host, struct client_tls_info *info)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned status = 0;
	size_t len;
	int r;

	info->verified = 0;
	r = gnutls_certificate_verify_peers3(t->s, host, &status);
	if (r < 0) {
		str_fmt_cut(info->reason, sizeof(info->reason), "%s",
		    gnutls_strerror(r));
		return;
	}
	info->verify_status = status;
	if (status == 0) {
		info->verified = 1;
		info->reason[0] = '\0';
		return;
	}
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) < 0 || out.data == NULL) {
		str_fmt_cut(info->reason, sizeof(info->reason),
		    "verification status 0x%x", status);
		return;
	}
	str_fmt_cut(info->reason, sizeof(info->reason), "%s",
	    (const char *)out.data);
	gnutls_free(out.data);
	/* One line, without GnuTLS's closing period and blanks. */
	for (len = 0; info->reason[len] != '\0'; len++)
		if (info->reason[len] == '\n' || info->reason[len] == '\t')
			info->reason[len] = ' ';
	while (len > 0 && (info->reason[len - 1] == ' ' ||
	    info->reason[len - 1] == '.'))
		info->reason[--len] = '\0';
}

/* The peer's chain against the hop's TLSA records: info->dane and
 * dane_why (RFC 7672; tlsa.c decides). */
static void
dane_check(struct tlsc *t, const struct tlsa_set *set,
    struct client_tls_info *info)
{
	struct tlsa_cert certs[TLSA_CHAIN_MAX];
	const gnutls_datum_t *peers;
	unsigned n = 0, i;

	peers = gnutls_certificate_get_peers(t->s, &n);
	if (peers == NULL)
		n = 0;
	if (n > TLSA_CHAIN_MAX)
		n = TLSA_CHAIN_MAX;
	for (i = 0; i < n; i++) {
		certs[i].der = peers[i].data;
		certs[i].len = peers[i].size;
	}
	info->dane = tlsa_match(set, certs, n, info->dane_why,
	    sizeof(info->dane_why));
}

int
tlsc_start(struct io *io, const struct tlsc_params *p, int64_t deadline,
    struct client_tls_info *info, char *why, size_t whysz)
{
	struct tlsc *t;
	int r;

	memset(info, 0, sizeof(*info));
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		str_fmt_cut(why, whysz, "out of memory");
		return -1;
	}
	if (fd_nonblock(io->rfd) == -1 || fd_nonblock(io->wfd) == -1) {
		str_fmt_cut(why, whysz, "fcntl: %s", strerror(errno));
		goto fail;
	}
	if ((r = trust_get(t, p->ca)) <= 0) {
		if (p->ca == NULL || p->ca[0] == '\0')
			str_fmt_cut(why, whysz, "%s", gnutls_strerror(r));
		else
			str_fmt_cut(why, whysz, "CA file %s: %s", p->ca,
			    r == 0 ? "no certificate in it" :
			    gnutls_strerror(r));
		goto fail;
	}
	if ((r = gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0 ||
	    (r = gnutls_priority_set_direct(t->s, TLSC_PRIORITY, NULL)) < 0) {
		str_fmt_cut(why, whysz, "%s", gnutls_strerror(r));
		goto fail;
	}
	if ((r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
	    t->cred)) < 0) {
		str_fmt_cut(why, whysz, "%s", gnutls_strerror(r));
		goto fail;
	}
	/* RFC 6066 §3: SNI carries host names only, never an address. */
	if (!is_address(p->host) && (r = gnutls_server_name_set(t->s,
	    GNUTLS_NAME_DNS, p->host, strlen(p->host))) < 0) {
		str_fmt_cut(why, whysz, "SNI: %s", gnutls_strerror(r));
		goto fail;
	}
	gnutls_transport_set_int2(t->s, io->rfd, io->wfd);
	gnutls_handshake_set_timeout(t->s, GNUTLS_INDEFINITE_TIMEOUT);
	for (;;) {
		r = gnutls_handshake(t->s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED &&
		    gnutls_error_is_fatal(r)) {
			if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
				str_fmt_cut(why, whysz, "peer sent alert: %s",
				    gnutls_alert_get_name(
				    gnutls_alert_get(t->s)));
			else
				str_fmt_cut(why, whysz, "%s",
				    gnutls_strerror(r));
			goto fail;
		}
		if (tls_wait(t->s, io->rfd, io->wfd, deadline) == -1) {
			str_fmt_cut(why, whysz, "handshake: %s",
			    errno == ETIMEDOUT ? "timeout" : strerror(errno));
			goto fail;
		}
	}
	tls_version(t->s, info->version, sizeof(info->version));
	str_fmt_cut(info->cipher, sizeof(info->cipher), "%s",
	    tls_cipher(t->s));
	verify(t, p->host, info);
	if (p->tlsa != NULL)
		dane_check(t, p->tlsa, info);
	t->plain = io->ops;
	t->plain_ctx = io->ctx;
	io->ops = &tls_ops;
	io->ctx = t;
	return 0;
fail:
	tlsc_free(t);
	return -1;
}

void
tlsc_end(struct io *io)
{
	struct tlsc *t;
	int64_t deadline;
	int r;

	if (io->ops != &tls_ops)
		return;
	t = io->ctx;
	deadline = clock_ms() + TLSC_BYE_TIMEOUT_MS;
	for (;;) {
		r = gnutls_bye(t->s, GNUTLS_SHUT_WR);
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			break;
		if (tls_wait(t->s, io->rfd, io->wfd, deadline) == -1)
			break;
	}
	io->ops = t->plain;
	io->ctx = t->plain_ctx;
	tlsc_free(t);
}
