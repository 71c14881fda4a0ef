/* fuzzsession.c — smtp-in's session on a fuzzer's input (fuzzsession.h).
 * The session runs as smtp-in runs it, through session_init and
 * session_run, with its helpers replaced: the TLS and AUTH hooks by stubs
 * (smtp-tlsd and smtp-auth are other programs, with harnesses of their
 * own for what they parse), and the SRS check by __wrap_helper_srs_check
 * (the Makefile links with --wrap), since the real one forks aliases(8)
 * for every SRS recipient. */

#include <string.h>

#include "fuzzsession.h"
#include "fuzzutil.h"
#include "helpers.h"
#include "str.h"

#define LOGIN_USER	"YWxpY2VAZXhhbXBsZS5jb20="	/* alice@example.com */
#define LOGIN_PASS	"c2VjcmV0"			/* secret */

enum helper_srs	__wrap_helper_srs_check(const struct session *,
		    const char *, char *, size_t);

static int
stub_starttls(struct session *s, char *why, size_t size)
{
	(void)why;
	(void)size;
	(void)str_copy(s->tls_version, sizeof(s->tls_version), "TLSv1.3");
	(void)str_copy(s->tls_cipher, sizeof(s->tls_cipher),
	    "TLS_AES_128_GCM_SHA256");
	return 0;
}

static enum session_auth
stub_auth(struct session *s, const char *req, char *login, size_t size,
    char *why, size_t whysize)
{
	(void)s;
	if (strcmp(req, "PLAIN " FZS_PLAIN_OK) == 0 ||
	    strcmp(req, "LOGIN " LOGIN_USER " " LOGIN_PASS) == 0) {
		(void)str_copy(login, size, "alice@" FZ_DOMAIN);
		return SESSION_AUTH_OK;
	}
	if (strcmp(req, "PLAIN " FZS_PLAIN_BAD) == 0) {
		(void)str_copy(why, whysize, "no NUL in PLAIN response");
		return SESSION_AUTH_BAD;
	}
	(void)str_copy(why, whysize, "wrong password");
	return SESSION_AUTH_NO;
}

static const struct session_hooks hooks = { stub_starttls, stub_auth };

enum helper_srs
__wrap_helper_srs_check(const struct session *s, const char *addr,
    char *why, size_t whysize)
{
	(void)s;
	if (strstr(addr, "=GOOD=") != NULL)
		return HELPER_SRS_OK;
	if (strstr(addr, "=TEMP=") != NULL) {
		(void)str_copy(why, whysize, "aliases: stub says temporary");
		return HELPER_SRS_TEMP;
	}
	(void)str_copy(why, whysize, "bad hash");
	return HELPER_SRS_BAD;
}

void
fzs_run(const uint8_t *data, size_t size, enum session_mode mode)
{
	/* ~150 KB: static, as smtp-in's is in effect (one per process). */
	static struct session s;
	const struct fz_env *e = fz_env();
	struct fz_io f;

	fz_io_init(&f, data, size);
	session_init(&s, &e->conf, &hooks, mode, &f.io, "192.0.2.7");
	/* No waiting: the input never stalls, and AUTH failures are
	 * delayed only to slow a guesser down. */
	s.auth_delay_ms = 0;
	(void)session_run(&s);
	fz_empty_dir("spool/new");
	fz_empty_dir("spool/tmp");
}
