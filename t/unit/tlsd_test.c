/* tlsd_test.c — smtp-tlsd's module on real sockets: tlsd_run in a child
 * process with a socketpair as the network and another as smtp-in's end,
 * a GnuTLS client in the test.  The certificates are made here (ECDSA
 * P-256 and RSA 2048, self-signed), so the test needs no files and no
 * tools.  Pinned: the status line, byte-for-byte relay of 1 MB each way,
 * SNI (and that a name that is not a host name never becomes a path),
 * TLS 1.1 refused, the handshake deadline, and both half-closes. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "conf.h"
#include "io.h"
#include "str.h"
#include "testutil.h"
#include "tlsd.h"

enum {
	WATCHDOG = 60,			/* s: a hung test dies, not the suite */
	WAIT_MS = 20000,		/* for a status line or a byte */
	STUCK_MS = 2000,		/* no room for this long: stuck */
	STREAM = 1024 * 1024,		/* bytes relayed each way */
	CHUNK = 10000			/* not a multiple of a record */
};

/* PEM of the throw-away certificates, made once for all tests. */
struct pem {
	char	*cert;
	char	*key;
};
static struct pem ecdsa_default;	/* CN default.example */
static struct pem ecdsa_renewed;	/* CN renewed.example */
static struct pem rsa_mx;		/* CN mx.example.org */
static struct pem ecdsa_evil;		/* CN evil.example */
static gnutls_certificate_credentials_t client_cred;

struct fx {
	char	dir[PATH_MAX];
	char	cert[PATH_MAX];		/* DIR/certs/fullchain.pem */
	char	key[PATH_MAX];
	char	certdir[PATH_MAX];	/* DIR/certs */
	const char	*priority;
	int	handshake_ms;
	int	drain_ms;		/* 0: smtp-tlsd's own */
	/* one run */
	pid_t	pid;
	int	net;			/* the client's end */
	int	ctl;			/* smtp-in's end */
	gnutls_session_t	cs;	/* the client */
	char	status[TLSD_STATUS_MAX + 1];
};

static void
make_pem(gnutls_pk_algorithm_t pk, unsigned bits, const char *cn,
    struct pem *out)
{
	static unsigned char serial = 1;
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	time_t now = time(NULL);

	assert_int_equal(gnutls_x509_privkey_init(&key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(key, pk, bits, 0), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_set_version(crt, 3), 0);
	serial++;
	assert_int_equal(gnutls_x509_crt_set_serial(crt, &serial, 1), 0);
	assert_int_equal(gnutls_x509_crt_set_activation_time(crt, now - 3600),
	    0);
	assert_int_equal(gnutls_x509_crt_set_expiration_time(crt,
	    now + 86400), 0);
	assert_int_equal(gnutls_x509_crt_set_dn_by_oid(crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)), 0);
	assert_int_equal(gnutls_x509_crt_set_subject_alt_name(crt,
	    GNUTLS_SAN_DNSNAME, cn, strlen(cn), GNUTLS_FSAN_SET), 0);
	assert_int_equal(gnutls_x509_crt_set_key(crt, key), 0);
	assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256,
	    0), 0);
	assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d),
	    0);
	assert_non_null(out->cert = strndup((char *)d.data, d.size));
	gnutls_free(d.data);
	assert_int_equal(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM,
	    &d), 0);
	assert_non_null(out->key = strndup((char *)d.data, d.size));
	gnutls_free(d.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

static int
group_setup(void **state)
{
	const unsigned p256 = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);

	(void)state;
	make_pem(GNUTLS_PK_ECDSA, p256, "default.example", &ecdsa_default);
	make_pem(GNUTLS_PK_ECDSA, p256, "renewed.example", &ecdsa_renewed);
	make_pem(GNUTLS_PK_ECDSA, p256, "evil.example", &ecdsa_evil);
	make_pem(GNUTLS_PK_RSA, 2048, "mx.example.org", &rsa_mx);
	/* The client does not verify: these tests look at what is served. */
	if (gnutls_certificate_allocate_credentials(&client_cred) < 0)
		return -1;
	return 0;
}

static void
free_pem(struct pem *p)
{
	free(p->cert);
	free(p->key);
}

static int
group_teardown(void **state)
{
	(void)state;
	free_pem(&ecdsa_default);
	free_pem(&ecdsa_renewed);
	free_pem(&ecdsa_evil);
	free_pem(&rsa_mx);
	gnutls_certificate_free_credentials(client_cred);
	return 0;
}

/* chain and key into DIR/sub/{fullchain,privkey}.pem ("" sub: DIR). */
static void
install_pem(struct fx *fx, const char *sub, const struct pem *p)
{
	char path[PATH_MAX];

	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s", fx->dir, sub),
	    0);
	if (mkdir(path, 0755) == -1)
		assert_int_equal(errno, EEXIST);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s/fullchain.pem",
	    fx->dir, sub), 0);
	tu_write_str(path, p->cert);
	assert_int_equal(str_fmt(path, sizeof(path), "%s/%s/privkey.pem",
	    fx->dir, sub), 0);
	tu_write_secret(path, p->key);
}

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if (tu_tmpdir(fx->dir, sizeof(fx->dir), "tlsd_test") == -1 ||
	    str_fmt(fx->certdir, sizeof(fx->certdir), "%s/certs", fx->dir) ==
	    -1 ||
	    str_fmt(fx->cert, sizeof(fx->cert), "%s/fullchain.pem",
	    fx->certdir) == -1 ||
	    str_fmt(fx->key, sizeof(fx->key), "%s/privkey.pem", fx->certdir) ==
	    -1 || mkdir(fx->certdir, 0755) == -1) {
		free(fx);
		return -1;
	}
	fx->priority = CONF_TLS_PRIORITY_DEFAULT;
	fx->handshake_ms = WAIT_MS;
	fx->pid = -1;
	fx->net = fx->ctl = -1;
	*state = fx;
	alarm(WATCHDOG);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	alarm(0);
	if (fx->cs != NULL)
		gnutls_deinit(fx->cs);
	fd_close(&fx->net);
	fd_close(&fx->ctl);
	if (fx->pid > 0) {
		kill(fx->pid, SIGKILL);
		waitpid(fx->pid, NULL, 0);
	}
	return tu_teardown(fx, fx->dir);
}

/* tlsd_run in a child, as smtp-tlsd runs it: network on one socket (read
 * and write), smtp-in's end on another.  Its exit code is its result. */
static void
start_tlsd(struct fx *fx)
{
	struct tlsd_params p;
	char why[TLSD_REASON_MAX + 1];
	int net[2], ctl[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    net), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    ctl), 0);
	assert_true((fx->pid = fork()) != -1);
	if (fx->pid == 0) {
		close(net[0]);
		close(ctl[0]);
		signal(SIGPIPE, SIG_IGN);
		memset(&p, 0, sizeof(p));
		p.cert = fx->cert;
		p.key = fx->key;
		p.certdir = fx->certdir;
		p.priority = fx->priority;
		p.handshake_ms = fx->handshake_ms;
		p.drain_ms = fx->drain_ms;
		_exit((int)tlsd_run(&p, net[1], net[1], ctl[1], why,
		    sizeof(why)));
	}
	close(net[1]);
	close(ctl[1]);
	fx->net = net[0];
	fx->ctl = ctl[0];
}

/* The client's handshake: its result (0 or a GnuTLS error). */
static int
client_handshake(struct fx *fx, const char *sni, const char *priority)
{
	int r;

	assert_int_equal(gnutls_init(&fx->cs, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_priority_set_direct(fx->cs,
	    priority != NULL ? priority : "NORMAL", NULL), 0);
	assert_int_equal(gnutls_credentials_set(fx->cs, GNUTLS_CRD_CERTIFICATE,
	    client_cred), 0);
	if (sni != NULL)
		assert_int_equal(gnutls_server_name_set(fx->cs,
		    GNUTLS_NAME_DNS, sni, strlen(sni)), 0);
	gnutls_transport_set_int(fx->cs, fx->net);
	gnutls_handshake_set_timeout(fx->cs, WAIT_MS);
	do
		r = gnutls_handshake(fx->cs);
	while (r < 0 && !gnutls_error_is_fatal(r));
	return r;
}

/* Wait for fd to be readable: fails the test after WAIT_MS. */
static void
wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
}

/* The status line from smtp-tlsd's fd 3, without its '\n'. */
static const char *
read_status(struct fx *fx)
{
	size_t len = 0;
	ssize_t n;
	char ch;

	for (;;) {
		wait_readable(fx->ctl);
		n = read(fx->ctl, &ch, 1);
		assert_int_equal(n, 1);
		if (ch == '\n')
			break;
		assert_true(len < TLSD_STATUS_MAX);
		fx->status[len++] = ch;
	}
	fx->status[len] = '\0';
	return fx->status;
}

/* tlsd_run's result, from the child's exit code. */
static int
tlsd_result(struct fx *fx)
{
	int st;

	assert_int_equal(waitpid(fx->pid, &st, 0), fx->pid);
	fx->pid = -1;
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
assert_peer_cn(struct fx *fx, const char *cn, gnutls_pk_algorithm_t pk)
{
	const gnutls_datum_t *der;
	gnutls_x509_crt_t crt;
	unsigned n = 0;
	char buf[256];
	size_t len = sizeof(buf);

	assert_non_null(der = gnutls_certificate_get_peers(fx->cs, &n));
	assert_true(n >= 1);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &der[0],
	    GNUTLS_X509_FMT_DER), 0);
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len), 0);
	assert_string_equal(buf, cn);
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, NULL), pk);
	gnutls_x509_crt_deinit(crt);
}

/* The client reads the end of the session: close_notify. */
static void
assert_client_sees_close_notify(struct fx *fx)
{
	char buf[64];
	ssize_t n;

	do
		n = gnutls_record_recv(fx->cs, buf, sizeof(buf));
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	assert_int_equal(n, 0);
}

/* A connected session with the default ECDSA certificate. */
static void
connect_default(struct fx *fx, const char *sni)
{
	install_pem(fx, "certs", &ecdsa_default);
	start_tlsd(fx);
	assert_int_equal(client_handshake(fx, sni, NULL), 0);
	assert_true(strncmp(read_status(fx), "ok ", 3) == 0);
}

static void
test_ok_line_names_tls13_its_cipher_and_no_sni(void **state)
{
	struct fx *fx = *state;
	char want[TLSD_STATUS_MAX];

	install_pem(fx, "certs", &ecdsa_default);
	start_tlsd(fx);
	assert_int_equal(client_handshake(fx, NULL, NULL), 0);
	assert_int_equal(gnutls_protocol_get_version(fx->cs), GNUTLS_TLS1_3);
	assert_int_equal(str_fmt(want, sizeof(want), "ok TLSv1.3 %s -",
	    gnutls_ciphersuite_get(fx->cs)), 0);
	assert_string_equal(read_status(fx), want);
	assert_true(strncmp(gnutls_ciphersuite_get(fx->cs), "TLS_AES_", 8) ==
	    0 || strncmp(gnutls_ciphersuite_get(fx->cs), "TLS_CHACHA20_", 13)
	    == 0);
	assert_peer_cn(fx, "default.example", GNUTLS_PK_ECDSA);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

static void
test_tls12_client_gets_tls12_and_its_iana_suite_name(void **state)
{
	struct fx *fx = *state;
	char want[TLSD_STATUS_MAX];

	install_pem(fx, "certs", &ecdsa_default);
	start_tlsd(fx);
	assert_int_equal(client_handshake(fx, NULL,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.2"), 0);
	assert_int_equal(str_fmt(want, sizeof(want), "ok TLSv1.2 %s -",
	    gnutls_ciphersuite_get(fx->cs)), 0);
	assert_string_equal(read_status(fx), want);
	assert_true(strncmp(fx->status, "ok TLSv1.2 TLS_ECDHE_ECDSA_WITH_",
	    32) == 0);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

static void
fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	/* Not periodic in any record or buffer size. */
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * seed) ^ (i >> 11) ^ (i >> 17));
}

static void
set_blocking(int fd, int on)
{
	int fl;

	assert_true((fl = fcntl(fd, F_GETFL)) != -1);
	fl = on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK;
	assert_int_equal(fcntl(fd, F_SETFL, fl), 0);
}

/* Both ends write and read at once, without threads: the client's
 * socket and smtp-in's are non-blocking and one loop polls them. */
static void
test_a_megabyte_each_way_relays_byte_for_byte(void **state)
{
	struct fx *fx = *state;
	unsigned char *up, *down, buf[20000];
	size_t sent_up = 0, sent_down = 0, got_up = 0, got_down = 0;
	size_t again = 0, n;
	struct pollfd pfd[2];
	short nev, cev;
	int moved;
	ssize_t r;

	assert_non_null(up = malloc(STREAM));
	assert_non_null(down = malloc(STREAM));
	fill_pattern(up, STREAM, 7);
	fill_pattern(down, STREAM, 13);
	connect_default(fx, NULL);
	set_blocking(fx->net, 0);
	set_blocking(fx->ctl, 0);
	while (got_up < STREAM || got_down < STREAM) {
		moved = 0;
		nev = cev = 0;
		if (sent_up < STREAM) {
			/* After GNUTLS_E_AGAIN, the same length again. */
			n = again != 0 ? again : STREAM - sent_up < CHUNK ?
			    STREAM - sent_up : CHUNK;
			r = gnutls_record_send(fx->cs, up + sent_up, n);
			if (r == GNUTLS_E_AGAIN) {
				again = n;
				nev |= POLLOUT;
			} else {
				assert_true(r > 0);
				again = 0;
				sent_up += (size_t)r;
				moved = 1;
			}
		}
		if (sent_down < STREAM) {
			n = STREAM - sent_down < CHUNK ? STREAM - sent_down :
			    CHUNK;
			r = write(fx->ctl, down + sent_down, n);
			if (r == -1 && errno == EAGAIN)
				cev |= POLLOUT;
			else {
				assert_true(r > 0);
				sent_down += (size_t)r;
				moved = 1;
			}
		}
		if (got_down < STREAM) {
			r = gnutls_record_recv(fx->cs, buf, sizeof(buf));
			if (r == GNUTLS_E_AGAIN)
				nev |= POLLIN;
			else {
				assert_true(r > 0);
				assert_true(got_down + (size_t)r <= STREAM);
				assert_memory_equal(buf, down + got_down,
				    (size_t)r);
				got_down += (size_t)r;
				moved = 1;
			}
		}
		if (got_up < STREAM) {
			r = read(fx->ctl, buf, sizeof(buf));
			if (r == -1 && errno == EAGAIN)
				cev |= POLLIN;
			else {
				assert_true(r > 0);
				assert_true(got_up + (size_t)r <= STREAM);
				assert_memory_equal(buf, up + got_up,
				    (size_t)r);
				got_up += (size_t)r;
				moved = 1;
			}
		}
		if (moved)
			continue;
		pfd[0] = (struct pollfd){ .fd = fx->net, .events = nev };
		pfd[1] = (struct pollfd){ .fd = fx->ctl, .events = cev };
		assert_true(poll(pfd, 2, WAIT_MS) > 0);
	}
	assert_int_equal(sent_up, STREAM);
	assert_int_equal(sent_down, STREAM);
	free(up);
	free(down);
	set_blocking(fx->net, 1);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

static void
test_sni_serves_the_certificate_of_that_name(void **state)
{
	struct fx *fx = *state;

	install_pem(fx, "certs", &ecdsa_default);
	install_pem(fx, "certs/mx.example.org", &rsa_mx);
	start_tlsd(fx);
	assert_int_equal(client_handshake(fx, "MX.Example.ORG", NULL), 0);
	assert_peer_cn(fx, "mx.example.org", GNUTLS_PK_RSA);
	assert_true(strncmp(read_status(fx), "ok TLSv1.3 ", 11) == 0);
	assert_non_null(strstr(fx->status, " mx.example.org"));
	assert_int_equal(strcmp(strrchr(fx->status, ' '), " mx.example.org"),
	    0);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

static void
test_unknown_sni_gets_the_default_certificate(void **state)
{
	struct fx *fx = *state;

	install_pem(fx, "certs/mx.example.org", &rsa_mx);
	connect_default(fx, "other.example.net");
	assert_peer_cn(fx, "default.example", GNUTLS_PK_ECDSA);
	assert_string_equal(strrchr(fx->status, ' '), " other.example.net");
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

/* certs/../fullchain.pem is DIR/fullchain.pem: a name that is not a host
 * name must never become part of a path. */
static void
test_sni_that_is_not_a_host_name_is_never_a_path(void **state)
{
	struct fx *fx = *state;

	install_pem(fx, "", &ecdsa_evil);
	connect_default(fx, "..");
	assert_peer_cn(fx, "default.example", GNUTLS_PK_ECDSA);
	assert_string_equal(strrchr(fx->status, ' '), " -");
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

static void
test_sni_names_are_lowercased_and_checked(void **state)
{
	static const char *bad[] = {
		"..", ".", "a/b", "../certs", "a..b", "mx.example.org.",
		"-a.example", "a b", "a_b.example", "",
	};
	char out[CONF_HOSTNAME_MAX + 1], big[300];
	size_t i;

	(void)state;
	assert_int_equal(tlsd_sni_name("MX.Example.ORG", 14, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "mx.example.org");
	assert_int_equal(tlsd_sni_name("mx", 2, out, sizeof(out)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tlsd_sni_name(bad[i], strlen(bad[i]), out,
		    sizeof(out)), -1);
		assert_int_equal(errno, EINVAL);
	}
	/* A NUL inside the name: "a\0/b" is not "a". */
	assert_int_equal(tlsd_sni_name("a\0/b", 4, out, sizeof(out)), -1);
	/* Longer than a DNS name. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(tlsd_sni_name(big, sizeof(big), out, sizeof(out)),
	    -1);
}

static void
test_tls11_only_client_gets_fail_line_and_exit_1(void **state)
{
	struct fx *fx = *state;

	install_pem(fx, "certs", &ecdsa_default);
	start_tlsd(fx);
	assert_true(client_handshake(fx, NULL,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.1") < 0);
	assert_true(strncmp(read_status(fx), "fail ", 5) == 0);
	assert_true(strlen(fx->status) > 5);
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
}

static void
test_missing_certificate_fails_naming_the_file(void **state)
{
	struct fx *fx = *state;
	char want[TLSD_STATUS_MAX];

	start_tlsd(fx);
	assert_true(client_handshake(fx, NULL, NULL) < 0);
	assert_int_equal(str_fmt(want, sizeof(want), "fail cannot read %s: %s",
	    fx->cert, strerror(ENOENT)), 0);
	assert_string_equal(read_status(fx), want);
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
}

/* A key others can read (a restore by "git clone": 0644) serves no
 * session, and the line says what to run. */
static void
test_key_others_can_read_is_refused_with_the_fix(void **state)
{
	struct fx *fx = *state;
	char want[TLSD_STATUS_MAX];

	install_pem(fx, "certs", &ecdsa_default);
	assert_int_equal(chmod(fx->key, 0644), 0);
	start_tlsd(fx);
	assert_true(client_handshake(fx, NULL, NULL) < 0);
	assert_int_equal(str_fmt(want, sizeof(want), "fix: chmod o-rwx %s",
	    fx->key), 0);
	assert_true(strncmp(read_status(fx), "fail ", 5) == 0);
	assert_non_null(strstr(fx->status, want));
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
}

/* The key-ID comparison that stands in for GnuTLS's signature check:
 * another certificate's key, of the same type and of another, is refused
 * with a line that says so, and the right one still works (the unit
 * tests above). */
static void
test_key_of_another_certificate_fails_saying_so(void **state)
{
	struct fx *fx = *state;
	struct pem mixed = { ecdsa_default.cert, ecdsa_evil.key };

	install_pem(fx, "certs", &mixed);
	start_tlsd(fx);
	assert_true(client_handshake(fx, NULL, NULL) < 0);
	assert_true(strncmp(read_status(fx), "fail ", 5) == 0);
	assert_non_null(strstr(fx->status, "do not match"));
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
	gnutls_deinit(fx->cs);
	fx->cs = NULL;
	fd_close(&fx->net);
	fd_close(&fx->ctl);

	mixed.key = rsa_mx.key;
	install_pem(fx, "certs", &mixed);
	start_tlsd(fx);
	assert_true(client_handshake(fx, NULL, NULL) < 0);
	assert_non_null(strstr(read_status(fx), "do not match"));
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
}

static void
test_bad_priority_string_fails_before_the_handshake(void **state)
{
	struct fx *fx = *state;

	fx->priority = "NORMAL:+NO-SUCH-THING";
	install_pem(fx, "certs", &ecdsa_default);
	start_tlsd(fx);
	assert_true(strncmp(read_status(fx), "fail tls_priority: ", 19) == 0);
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
}

static void
test_silent_client_fails_at_the_handshake_deadline(void **state)
{
	struct fx *fx = *state;

	fx->handshake_ms = 200;
	install_pem(fx, "certs", &ecdsa_default);
	start_tlsd(fx);
	assert_string_equal(read_status(fx), "fail no handshake within 1 s");
	assert_int_equal(tlsd_result(fx), TLSD_HANDSHAKE_FAILED);
}

/* The certificate is read at each start: a renewal needs no restart. */
static void
test_renewed_certificate_is_served_from_the_next_start(void **state)
{
	struct fx *fx = *state;

	connect_default(fx, NULL);
	assert_peer_cn(fx, "default.example", GNUTLS_PK_ECDSA);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);

	assert_int_equal(tlsd_result(fx), TLSD_DONE);
	gnutls_deinit(fx->cs);
	fx->cs = NULL;
	fd_close(&fx->net);

	install_pem(fx, "certs", &ecdsa_renewed);
	start_tlsd(fx);
	assert_int_equal(client_handshake(fx, NULL, NULL), 0);
	assert_true(strncmp(read_status(fx), "ok ", 3) == 0);
	assert_peer_cn(fx, "renewed.example", GNUTLS_PK_ECDSA);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

/* QUIT's reply goes out after the client's close_notify: smtp-in reads
 * EOF, may still write, and the session ends when it closes. */
static void
test_client_close_notify_gives_eof_and_replies_still_flow(void **state)
{
	struct fx *fx = *state;
	char buf[64];
	ssize_t n;

	connect_default(fx, NULL);
	assert_int_equal(gnutls_record_send(fx->cs, "QUIT\r\n", 6), 6);
	assert_int_equal(gnutls_bye(fx->cs, GNUTLS_SHUT_WR), 0);
	wait_readable(fx->ctl);
	assert_int_equal(read(fx->ctl, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "QUIT\r\n", 6);
	wait_readable(fx->ctl);
	assert_int_equal(read(fx->ctl, buf, sizeof(buf)), 0);
	assert_int_equal(fd_write_all(fx->ctl, "221 2.0.0 Bye\r\n", 15), 0);
	do
		n = gnutls_record_recv(fx->cs, buf, sizeof(buf));
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	assert_int_equal(n, 15);
	assert_memory_equal(buf, "221 2.0.0 Bye\r\n", 15);
	fd_close(&fx->ctl);
	assert_client_sees_close_notify(fx);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

/* Most clients close TCP after QUIT without close_notify: an EOF for
 * smtp-in, not an error. */
static void
test_client_tcp_close_without_close_notify_is_eof(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	connect_default(fx, NULL);
	gnutls_deinit(fx->cs);
	fx->cs = NULL;
	fd_close(&fx->net);
	wait_readable(fx->ctl);
	assert_int_equal(read(fx->ctl, buf, sizeof(buf)), 0);
	fd_close(&fx->ctl);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

/* A client that sends QUIT and drops the line without waiting for the
 * reply: the reply has no reader, which is the end, not an error. */
static void
test_reply_to_a_client_that_has_gone_is_not_an_error(void **state)
{
	struct fx *fx = *state;
	char buf[64];

	connect_default(fx, NULL);
	assert_int_equal(gnutls_record_send(fx->cs, "QUIT\r\n", 6), 6);
	gnutls_deinit(fx->cs);
	fx->cs = NULL;
	fd_close(&fx->net);
	wait_readable(fx->ctl);
	assert_int_equal(read(fx->ctl, buf, sizeof(buf)), 6);
	wait_readable(fx->ctl);
	assert_int_equal(read(fx->ctl, buf, sizeof(buf)), 0);
	assert_int_equal(fd_write_all(fx->ctl, "221 2.0.0 Bye\r\n", 15), 0);
	assert_int_equal(tlsd_result(fx), TLSD_DONE);
}

/* A client that reads nothing, and smtp-in gone with more to say than
 * the buffers between them hold: smtp-tlsd gives up once the drain time
 * has passed, rather than wait for the client for ever, unseen by the
 * listener's limits (its session is over). */
static void
test_smtp_in_gone_behind_a_client_that_reads_nothing(void **state)
{
	struct fx *fx = *state;
	static char junk[65536];
	struct pollfd p = { .events = POLLOUT };
	int64_t t0;
	ssize_t n;
	int i;

	fx->drain_ms = 300;
	connect_default(fx, NULL);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(fd_nonblock(fx->ctl), 0);
	/* Until smtp-tlsd takes no more: the client's socket, smtp-tlsd's
	 * buffer and smtp-in's socket all full.  No room for STUCK_MS is
	 * the sign: smtp-tlsd moves a record in microseconds, and were it
	 * not stuck yet, it would then finish (TLSD_DONE), which fails the
	 * test rather than pass it. */
	for (i = 0; i < 1000; i++) {
		if ((n = write(fx->ctl, junk, sizeof(junk))) > 0)
			continue;
		assert_true(n == -1 && errno == EAGAIN);
		p.fd = fx->ctl;
		if (poll(&p, 1, STUCK_MS) == 0)
			break;
	}
	assert_true(i < 1000);
	t0 = clock_ms();
	fd_close(&fx->ctl);
	assert_int_equal(tlsd_result(fx), TLSD_RELAY_FAILED);
	assert_true(clock_ms() - t0 < fx->drain_ms + WAIT_MS);
}

static void
test_fail_line_is_one_line_of_printable_ascii(void **state)
{
	char buf[TLSD_STATUS_MAX + 16], reason[TLSD_REASON_MAX * 2];
	int sv[2];
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(tlsd_status_fail(sv[0], "bad\r\nline\x01\xc3\xa4"),
	    0);
	n = read(sv[1], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "fail bad??line???\n");
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(tlsd_status_fail(sv[0], reason), 0);
	n = read(sv[1], buf, sizeof(buf) - 1);
	assert_int_equal(n, 5 + TLSD_REASON_MAX + 1);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ok_line_names_tls13_its_cipher_and_no_sni),
		T(test_tls12_client_gets_tls12_and_its_iana_suite_name),
		T(test_a_megabyte_each_way_relays_byte_for_byte),
		T(test_sni_serves_the_certificate_of_that_name),
		T(test_unknown_sni_gets_the_default_certificate),
		T(test_sni_that_is_not_a_host_name_is_never_a_path),
		cmocka_unit_test(test_sni_names_are_lowercased_and_checked),
		T(test_tls11_only_client_gets_fail_line_and_exit_1),
		T(test_missing_certificate_fails_naming_the_file),
		T(test_key_others_can_read_is_refused_with_the_fix),
		T(test_key_of_another_certificate_fails_saying_so),
		T(test_bad_priority_string_fails_before_the_handshake),
		T(test_silent_client_fails_at_the_handshake_deadline),
		T(test_renewed_certificate_is_served_from_the_next_start),
		T(test_client_close_notify_gives_eof_and_replies_still_flow),
		T(test_client_tcp_close_without_close_notify_is_eof),
		T(test_reply_to_a_client_that_has_gone_is_not_an_error),
		T(test_smtp_in_gone_behind_a_client_that_reads_nothing),
		cmocka_unit_test(test_fail_line_is_one_line_of_printable_ascii),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
