/* tlsstart.c — where the start of a GnuTLS server process goes, step by
 * step, for bench/tls.sh: the CPU time (user and system, page faults
 * included) and the minor page faults of each step of what an exec'd
 * smtp-tlsd does before its handshake, in one fresh process.
 *
 *	tlsstart CERT KEY PRIORITY check|keyid
 *
 * Run with GNUTLS_NO_IMPLICIT_INIT=1, so that loading the library and
 * initialising it are two steps: GnuTLS is dlopen'ed (as its DT_NEEDED
 * entry would load it, with its nine libraries) and initialised by hand.
 * Prints one line of milliseconds, then one of page faults:
 *
 *	LOAD INIT SESSION PRIORITY CERT
 *
 * LOAD: dlopen of libgnutls and its dependencies, relocation included;
 * INIT: gnutls_global_init; SESSION: gnutls_init of a server session;
 * PRIORITY: gnutls_priority_set_direct(PRIORITY); CERT: the credentials
 * from CERT and KEY, with "check" as GnuTLS checks the pair by default
 * (a signature and its verification), with "keyid" without that check
 * (GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH), as smtp-tlsd loads them
 * before it compares the key IDs (a hash each, not counted). */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <gnutls/gnutls.h>

enum { STEPS = 5 };

static double
cpu_ms(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == -1)
		return 0;
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long
faults(void)
{
	struct rusage r;

	if (getrusage(RUSAGE_SELF, &r) == -1)
		return 0;
	return r.ru_minflt;
}

#define SYM(h, n) __typeof__(&n) p_##n = (__typeof__(&n))dlsym(h, #n)

int
main(int argc, char *argv[])
{
	double t[STEPS + 1];
	long f[STEPS + 1];
	gnutls_certificate_credentials_t c;
	gnutls_session_t s;
	void *h;
	int i = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: tlsstart CERT KEY PRIORITY "
		    "check|keyid\n");
		return 2;
	}
	t[i] = cpu_ms();
	f[i++] = faults();
	if ((h = dlopen("libgnutls.so.30", RTLD_LAZY)) == NULL) {
		fprintf(stderr, "tlsstart: %s\n", dlerror());
		return 1;
	}
	t[i] = cpu_ms();
	f[i++] = faults();
	SYM(h, gnutls_global_init);
	SYM(h, gnutls_init);
	SYM(h, gnutls_priority_set_direct);
	SYM(h, gnutls_certificate_allocate_credentials);
	SYM(h, gnutls_certificate_set_flags);
	SYM(h, gnutls_certificate_set_x509_key_file2);
	if (p_gnutls_global_init == NULL || p_gnutls_init == NULL ||
	    p_gnutls_priority_set_direct == NULL ||
	    p_gnutls_certificate_allocate_credentials == NULL ||
	    p_gnutls_certificate_set_flags == NULL ||
	    p_gnutls_certificate_set_x509_key_file2 == NULL) {
		fprintf(stderr, "tlsstart: %s\n", dlerror());
		return 1;
	}
	if (p_gnutls_global_init() < 0)
		return 1;
	t[i] = cpu_ms();
	f[i++] = faults();
	if (p_gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS) < 0)
		return 1;
	t[i] = cpu_ms();
	f[i++] = faults();
	if (p_gnutls_priority_set_direct(s, argv[3], NULL) < 0)
		return 1;
	t[i] = cpu_ms();
	f[i++] = faults();
	if (p_gnutls_certificate_allocate_credentials(&c) < 0)
		return 1;
	if (argv[4][0] == 'k')
		p_gnutls_certificate_set_flags(c,
		    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if (p_gnutls_certificate_set_x509_key_file2(c, argv[1], argv[2],
	    GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
		return 1;
	t[i] = cpu_ms();
	f[i++] = faults();
	for (i = 1; i <= STEPS; i++)
		printf("%.3f%c", t[i] - t[i - 1], i < STEPS ? ' ' : '\n');
	for (i = 1; i <= STEPS; i++)
		printf("%ld%c", f[i] - f[i - 1], i < STEPS ? ' ' : '\n');
	return 0;
}
