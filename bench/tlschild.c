/* tlschild.c — where the CPU of a child of the TLS zygote goes, phase by
 * phase, for bench/tls.sh.  The process plays the zygote: GnuTLS
 * initialised, the chain and key loaded and the priority string parsed
 * once, one handshake done to warm what GnuTLS builds lazily, the heap
 * trimmed; then for each of RUNS handshakes it forks a child that does
 * what a child of smtp-tlsd -z does (gnutls_init, the parsed priorities,
 * the credentials, the handshake, one record each way, close_notify,
 * _exit), over a socketpair whose other end a GnuTLS client in this
 * process drives.
 *
 *	tlschild CERT KEY PRIORITY RUNS
 *
 * Prints one line each, milliseconds of CPU (page faults):
 *
 *	fork  FORK_MS START INIT PRIO HANDSHAKE IO EXIT TOTAL
 *	bare  FORK_MS START EXIT TOTAL
 *	warm  HANDSHAKE_MS
 *
 * fork: the parent's CPU in fork(2) (dup_mmap: its mappings and page
 * tables copied), then the child's own: from fork to its first line
 * (START: the kernel's and libc's side of fork in the child, the atfork
 * handlers), gnutls_init, the priorities set, the handshake, the records,
 * and its exit (what wait4's rusage counts after its last timestamp);
 * TOTAL the child's whole CPU time, and the page faults of each step.
 * bare: the same fork with a child that _exits at once: what one process
 * costs before it does anything.  warm: the same server handshake and
 * records in a process that has done them before, without a fork: what
 * the TLS itself costs (at most WARM_MAX runs).  The client's CPU is
 * never counted: it runs in a process of its own, forked once, which
 * gets its end of each socketpair by SCM_RIGHTS, so that the parent's
 * heap stays as the zygote's does between two forks. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

enum {
	MARKS = 6,	/* after the fork, then server()'s five */
	/* Warm handshakes at most: two descriptors each, all open at once,
	 * under the usual limit of 1024. */
	WARM_MAX = 200
};

static gnutls_certificate_credentials_t server_cred, client_cred;
static gnutls_priority_t server_prio;
static const char *client_prio =
    /* As OpenSSL 3's clients offer: TLS 1.3, an X25519 key share. */
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:"
    "+GROUP-SECP256R1";

static double
ms(clockid_t id)
{
	struct timespec t;

	if (clock_gettime(id, &t) == -1)
		return 0;
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long
faults(void)
{
	struct rusage r;

	return getrusage(RUSAGE_SELF, &r) == -1 ? 0 : r.ru_minflt;
}

static void
fail(const char *what, int r)
{
	fprintf(stderr, "tlschild: %s: %s\n", what, gnutls_strerror(r));
	_exit(1);
}

/* One server session on fd, as a child of the zygote runs it; the CPU
 * time and faults at each mark into t[] and f[] when they are not NULL. */
static void
server(int fd, double *t, long *f)
{
	gnutls_session_t s;
	char buf[512];
	int r, m = 0;

#define MARK() do { if (t != NULL) { t[m] = ms(CLOCK_PROCESS_CPUTIME_ID); \
	f[m++] = faults(); } } while (0)
	MARK();
	if ((r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS)) < 0)
		fail("gnutls_init", r);
	MARK();
	if ((r = gnutls_priority_set(s, server_prio)) < 0)
		fail("gnutls_priority_set", r);
	if ((r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    server_cred)) < 0)
		fail("gnutls_credentials_set", r);
	MARK();
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		fail("server handshake", r);
	MARK();
	if ((r = (int)gnutls_record_recv(s, buf, sizeof(buf))) < 0)
		fail("server recv", r);
	if ((r = (int)gnutls_record_send(s, "250 ok\r\n", 8)) < 0)
		fail("server send", r);
	(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	MARK();
#undef MARK
	gnutls_deinit(s);
}

static void
client(int fd)
{
	gnutls_session_t s;
	char buf[512];
	int r;

	if ((r = gnutls_init(&s, GNUTLS_CLIENT)) < 0 ||
	    (r = gnutls_priority_set_direct(s, client_prio, NULL)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    client_cred)) < 0)
		fail("client", r);
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		fail("client handshake", r);
	if ((r = (int)gnutls_record_send(s, "EHLO x\r\n", 8)) < 0 ||
	    (r = (int)gnutls_record_recv(s, buf, sizeof(buf))) < 0)
		fail("client records", r);
	gnutls_deinit(s);
}

/* The clients' process: a client on every descriptor that comes on
 * sock, until sock ends. */
static void
clients(int sock)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov;
	struct msghdr m;
	char byte;
	int fd;

	for (;;) {
		memset(&m, 0, sizeof(m));
		iov.iov_base = &byte;
		iov.iov_len = 1;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cm.b;
		m.msg_controllen = sizeof(cm.b);
		if (recvmsg(sock, &m, 0) <= 0)
			_exit(0);
		if (CMSG_FIRSTHDR(&m) == NULL)
			_exit(1);
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(fd));
		client(fd);
		(void)close(fd);
	}
}

/* fd to the clients' process. */
static void
give(int sock, int fd)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov;
	struct msghdr m;
	struct cmsghdr *c;
	char byte = 0;

	memset(&cm, 0, sizeof(cm));
	memset(&m, 0, sizeof(m));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	if (sendmsg(sock, &m, 0) != 1) {
		perror("tlschild: sendmsg");
		exit(1);
	}
}

static double
rusage_ms(const struct rusage *r)
{
	return r->ru_utime.tv_sec * 1e3 + r->ru_utime.tv_usec / 1e3 +
	    r->ru_stime.tv_sec * 1e3 + r->ru_stime.tv_usec / 1e3;
}

/* RUNS forks; bare: the child exits at once.  Sums into sum[] (ms) and
 * fsum[] (faults): fork, start, init, prio, handshake, io, exit, total. */
static void
forks(int runs, int bare, double *sum, long *fsum)
{
	int i, j, sv[2], pp[2], cs[2];
	pid_t cpid;

	if (pipe(pp) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, cs) == -1 ||
	    (cpid = fork()) == -1) {
		perror("tlschild");
		exit(1);
	}
	if (cpid == 0) {
		(void)close(cs[0]);
		clients(cs[1]);
	}
	(void)close(cs[1]);
	for (i = 0; i < runs; i++) {
		struct { double t[MARKS]; long f[MARKS]; } mk;
		struct rusage ru;
		double t0, t1;
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
			perror("tlschild: socketpair");
			exit(1);
		}
		t0 = ms(CLOCK_THREAD_CPUTIME_ID);
		pid = fork();
		t1 = ms(CLOCK_THREAD_CPUTIME_ID);
		if (pid == -1) {
			perror("tlschild: fork");
			exit(1);
		}
		if (pid == 0) {
			mk.t[0] = ms(CLOCK_PROCESS_CPUTIME_ID);
			mk.f[0] = faults();
			if (bare)
				_exit(write(pp[1], &mk, sizeof(mk)) ==
				    sizeof(mk) ? 0 : 1);
			(void)close(sv[1]);
			server(sv[0], mk.t + 1, mk.f + 1);
			_exit(write(pp[1], &mk, sizeof(mk)) == sizeof(mk) ?
			    0 : 1);
		}
		sum[0] += t1 - t0;
		(void)close(sv[0]);
		if (!bare)
			give(cs[0], sv[1]);
		(void)close(sv[1]);
		if (wait4(pid, NULL, 0, &ru) == -1 ||
		    read(pp[0], &mk, sizeof(mk)) != sizeof(mk)) {
			fprintf(stderr, "tlschild: a child failed\n");
			exit(1);
		}
		/* Each step: from the previous mark; exit: after the
		 * last one. */
		if (bare) {
			sum[1] += mk.t[0];
			fsum[1] += mk.f[0];
			sum[6] += rusage_ms(&ru) - mk.t[0];
			fsum[6] += ru.ru_minflt - mk.f[0];
		} else {
			/* Mark 1 is server()'s first: from the fork to it
			 * is the start; then a step from each mark to the
			 * next, into sum[2..5]. */
			sum[1] += mk.t[1];
			fsum[1] += mk.f[1];
			for (j = 2; j < MARKS; j++) {
				sum[j] += mk.t[j] - mk.t[j - 1];
				fsum[j] += mk.f[j] - mk.f[j - 1];
			}
			sum[6] += rusage_ms(&ru) - mk.t[MARKS - 1];
			fsum[6] += ru.ru_minflt - mk.f[MARKS - 1];
		}
		sum[7] += rusage_ms(&ru);
		fsum[7] += ru.ru_minflt;
	}
	(void)close(pp[0]);
	(void)close(pp[1]);
	(void)close(cs[0]);
	(void)waitpid(cpid, NULL, 0);
}

/* RUNS handshakes in this process, the clients in one forked process,
 * every socketpair made before it, so that nothing here is shared
 * copy-on-write while the server runs. */
static double
warm(int runs)
{
	int (*sv)[2], i;
	double t0, t;
	pid_t pid;

	if ((sv = calloc((size_t)runs, sizeof(*sv))) == NULL) {
		perror("tlschild");
		exit(1);
	}
	for (i = 0; i < runs; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) == -1) {
			perror("tlschild: socketpair (raise ulimit -n?)");
			exit(1);
		}
	if ((pid = fork()) == -1) {
		perror("tlschild: fork");
		exit(1);
	}
	if (pid == 0) {
		for (i = 0; i < runs; i++) {
			(void)close(sv[i][0]);
			client(sv[i][1]);
			(void)close(sv[i][1]);
		}
		_exit(0);
	}
	for (i = 0; i < runs; i++)
		(void)close(sv[i][1]);
	/* The first write to each page since the fork is a fault: have
	 * them before the clock starts. */
	server(sv[0][0], NULL, NULL);
	(void)close(sv[0][0]);
	t0 = ms(CLOCK_THREAD_CPUTIME_ID);
	for (i = 1; i < runs; i++) {
		server(sv[i][0], NULL, NULL);
		(void)close(sv[i][0]);
	}
	t = ms(CLOCK_THREAD_CPUTIME_ID) - t0;
	(void)waitpid(pid, NULL, 0);
	free(sv);
	return t / (runs - 1);
}

int
main(int argc, char *argv[])
{
	double f[8] = { 0 }, b[8] = { 0 };
	long ff[8] = { 0 }, bf[8] = { 0 };
	int runs, r, sv[2];
	pid_t pid;

	if (argc != 5 || (runs = atoi(argv[4])) < 2) {
		fprintf(stderr, "usage: tlschild CERT KEY PRIORITY RUNS\n");
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if ((r = gnutls_global_init()) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&server_cred)) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&client_cred)) < 0)
		fail("init", r);
	gnutls_certificate_set_flags(server_cred,
	    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if ((r = gnutls_certificate_set_x509_key_file2(server_cred, argv[1],
	    argv[2], GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		fail(argv[1], r);
	if ((r = gnutls_priority_init(&server_prio, argv[3], NULL)) < 0)
		fail("priority", r);
	/* One handshake first, as the zygote's warm-up builds the lazy
	 * tables before its first child. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    (pid = fork()) == -1) {
		perror("tlschild");
		return 1;
	}
	if (pid == 0) {
		(void)close(sv[0]);
		client(sv[1]);
		_exit(0);
	}
	(void)close(sv[1]);
	server(sv[0], NULL, NULL);
	(void)close(sv[0]);
	(void)waitpid(pid, NULL, 0);
	(void)malloc_trim(0);

	forks(runs, 1, b, bf);
	forks(runs, 0, f, ff);
	printf("fork %.3f %.3f (%.0f) %.3f (%.0f) %.3f (%.0f) %.3f (%.0f) "
	    "%.3f (%.0f) %.3f (%.0f) %.3f (%.0f)\n", f[0] / runs,
	    f[1] / runs, (double)ff[1] / runs, f[2] / runs,
	    (double)ff[2] / runs, f[3] / runs, (double)ff[3] / runs,
	    f[4] / runs, (double)ff[4] / runs, f[5] / runs,
	    (double)ff[5] / runs, f[6] / runs, (double)ff[6] / runs,
	    f[7] / runs, (double)ff[7] / runs);
	printf("bare %.3f %.3f (%.0f) %.3f (%.0f) %.3f (%.0f)\n", b[0] / runs,
	    b[1] / runs, (double)bf[1] / runs, b[6] / runs,
	    (double)bf[6] / runs, b[7] / runs, (double)bf[7] / runs);
	printf("warm %.3f\n", warm(runs < WARM_MAX ? runs : WARM_MAX));
	return 0;
}
