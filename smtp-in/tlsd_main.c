/* tlsd_main.c — smtp-tlsd(8): the TLS helper of smtp-in.  Two ways to
 * start it:
 *
 *   smtp-tlsd [-C dir]	exec'd by smtp-in at STARTTLS and at the start of
 *			a port-465 session, with the network on fd 0 and 1
 *			and a socketpair to smtp-in on fd 3;
 *   smtp-tlsd [-C dir] -z	the zygote: started once by the listener with
 *			a SOCK_SEQPACKET socket on fd 0, it loads GnuTLS and
 *			initialises it once, then forks a child per request
 *			(tlsz.h) that runs the same one session as the
 *			exec'd helper, on the descriptors the request
 *			brought.  Loading and initialising GnuTLS is most of
 *			what an exec'd smtp-tlsd costs (7.5-9 ms of CPU on
 *			the machines of bench/tls.sh); a fork of the zygote
 *			is a fraction of it.
 *
 * The work is in tlsd.c; this file is arguments, the configuration, the
 * zygote's loop, the log lines and the exit codes. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "conf.h"
#include "confwatch.h"
#include "filecache.h"
#include "io.h"
#include "log.h"
#include "peer.h"
#include "self.h"
#include "str.h"
#include "tlsd.h"
#include "tlsz.h"

#define PROG	"smtp-tlsd"
#define CERTS	"certs"		/* DIR/certs/NAME/ for SNI */
#define USAGE	"usage: " PROG " [-C dir] [-z]"
#define BIND_NOW_ENV	"LD_BIND_NOW"	/* ld.so(8) */

enum {
	NET_RFD = 0,
	NET_WFD = 1,
	CTL_FD = 3,		/* the socketpair to smtp-in */
	ZYGOTE_FD = 0,		/* -z: the listener's SOCK_SEQPACKET end */
	EXIT_FAIL = 1,
	/* -z: a child of the zygote died of a signal that a bug or an
	 * attack raises; the zygote exits so that the next one, started
	 * afresh by the listener, has a new address-space layout. */
	EXIT_CHILD_CRASHED = 2,
	PEER_MAX = INET6_ADDRSTRLEN + 1,
	/* -z: TLS sessions at once.  The listener bounds its sessions
	 * itself; this is the backstop against a holder of the socket
	 * that sends requests faster than sessions end.  Over it, the
	 * request gets "fail" and the session ends, as on a failed
	 * handshake. */
	ZYGOTE_CHILDREN_MAX = 1024,
	/* -z: a malloc larger than any free chunk that the start-up leaves
	 * (its heap is some hundred KiB), below glibc's mmap threshold
	 * (128 KiB), so that it comes from the heap's top: see zygote(). */
	ZYGOTE_SORT_SIZE = 120 * 1024
};

/* The zygote cannot serve this request: say so on the session's ctl,
 * without waiting, since a session that filled its socket must not
 * hold up every other one. */
static void
refuse(int ctl, const char *peer, const char *reason)
{
	(void)fd_nonblock(ctl);
	(void)tlsd_status_fail(ctl, reason);
	log_event("tls-failed", "peer", peer, "reason", reason,
	    (char *)NULL);
}

/* The client's address for the log: the zygote's word for it, else as
 * the session's starter gave it. */
static const char *
who(const char *peer, char *buf, size_t size)
{
	if (peer != NULL)
		return peer;
	(void)peer_of_session(NET_RFD, buf, size);
	return buf;
}

/* What the zygote read once for all its children: the configuration
 * and the default certificate with its key, each read again when its
 * file changes.  A child of the zygote then starts its handshake at
 * once, where an exec'd smtp-tlsd parses posthorn.conf, the chain and
 * the key first (0.8-1 ms of CPU and some twenty page faults a session
 * here, measured with perf stat on the zygote's tree). */
struct zcache {
	struct confwatch	 w;
	int			 conf_ok;	/* w.conf is usable */
	struct tlsd_cred	*cred;		/* NULL: each child reads them */
	/* w.conf's tls_priority parsed; NULL: each child parses it (and
	 * logs why it is wrong).  prio_done: tried since the last load. */
	struct tlsd_prio	*prio;
	int			 prio_done;
	struct stat		 cert_st, key_st;
	int			 racy;		/* read again at the next use */
};

/* One TLS session, the network on fd 0/1 and smtp-in on fd 3: the
 * configuration (the zygote's, z, when it has one), tlsd_run, the log
 * line; the exit code.  peer is NULL when it is to be found from the
 * environment or the socket. */
static int
serve(const char *dir, const char *peer, const struct zcache *z)
{
	struct tlsd_params p;
	struct conf *c = NULL;
	const struct conf *cf;
	char err[1024], why[TLSD_REASON_MAX + 1], certdir[PATH_MAX];
	char buf[PEER_MAX];
	int rc = EXIT_FAIL;

	if (z != NULL && z->conf_ok)
		cf = &z->w.conf;
	/* struct conf holds several PATH_MAX buffers: not on the stack. */
	else if ((c = malloc(sizeof(*c))) == NULL ||
	    conf_load(c, conf_dir(dir), err, sizeof(err)) == -1) {
		if (c == NULL)
			str_fmt_cut(err, sizeof(err), "%s", strerror(errno));
		(void)tlsd_status_fail(CTL_FD, err);
		log_event("tls-failed", "reason", err, (char *)NULL);
		free(c);
		return EXIT_FAIL;
	} else
		cf = c;
	memset(&p, 0, sizeof(p));
	p.cert = cf->tls_cert;
	p.key = cf->tls_key;
	p.cred = z != NULL && z->conf_ok ? z->cred : NULL;
	p.prio = z != NULL && z->conf_ok ? z->prio : NULL;
	p.certdir = str_fmt(certdir, sizeof(certdir), "%s/" CERTS, cf->dir) ==
	    0 ? certdir : NULL;
	p.priority = cf->tls_priority;
	p.handshake_ms = TLSD_HANDSHAKE_TIMEOUT * 1000;
	switch (tlsd_run(&p, NET_RFD, NET_WFD, CTL_FD, why, sizeof(why))) {
	case TLSD_DONE:
		/* smtp-in logs the session. */
		rc = 0;
		break;
	case TLSD_HANDSHAKE_FAILED:
		log_event("tls-failed", "peer", who(peer, buf, sizeof(buf)),
		    "reason", why,
		    (char *)NULL);
		break;
	case TLSD_RELAY_FAILED:
		log_event("tls-error", "peer", who(peer, buf, sizeof(buf)),
		    "reason", why,
		    (char *)NULL);
		break;
	}
	free(c);
	return rc;
}

/* --- the zygote --------------------------------------------------------- */

static void
on_sigchld(int sig)
{
	(void)sig;	/* only to interrupt ppoll(2): the loop reaps */
}

/* A signal that a memory error, a failed assertion or a probe of the
 * layout raises, rather than one somebody sent (TERM, KILL). */
static int
crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	    sig == SIGFPE || sig == SIGABRT || sig == SIGTRAP ||
	    sig == SIGSYS;
}

/* Reap every child that has ended; -1 when one of them crashed. */
static int
reap(unsigned *children)
{
	char pidbuf[16], sigbuf[16];
	int status, crashed = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (*children > 0)
			(*children)--;
		if (WIFSIGNALED(status) && crash_signal(WTERMSIG(status))) {
			(void)str_fmt(pidbuf, sizeof(pidbuf), "%ld", (long)pid);
			(void)str_fmt(sigbuf, sizeof(sigbuf), "%d",
			    WTERMSIG(status));
			log_event("tls-crashed", "pid", pidbuf, "signal",
			    sigbuf, (char *)NULL);
			crashed = 1;
		}
	}
	return crashed ? -1 : 0;
}

/* In the child: the request's descriptors where an exec'd smtp-tlsd has
 * them (0 and 1 the network, 3 smtp-in), the zygote's socket gone with
 * fd 0, and the signals as a fresh process has them; then the session. */
static void
child(const char *dir, int net, int ctl, const char *peer,
    const sigset_t *mask, const struct zcache *z)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigprocmask(SIG_SETMASK, mask, NULL) == -1 ||
	    dup2(net, NET_RFD) == -1 || dup2(net, NET_WFD) == -1 ||
	    (ctl != CTL_FD && dup2(ctl, CTL_FD) == -1)) {
		log_event("tls-failed", "peer", peer, "reason", strerror(errno),
		    (char *)NULL);
		_exit(EXIT_FAIL);
	}
	if (net > CTL_FD)
		(void)close(net);
	if (ctl > CTL_FD)
		(void)close(ctl);
	/* _exit: the libraries' destructors (GnuTLS's deinit frees all it
	 * built at init) would write to pages shared with the zygote, each
	 * a copy-on-write fault, for nothing: there is no buffered output,
	 * and the process is gone a moment later. */
	_exit(serve(dir, peer[0] != '\0' ? peer : NULL, z));
}

/* Build once, in the zygote, what GnuTLS builds lazily at the first
 * session (the parsed priorities and the tables behind them), so that
 * no child does: 1.2 ms and 26 page faults less per child, measured. */
static void
warm(const struct zcache *z)
{
	gnutls_session_t s;

	if (!z->conf_ok)
		return;		/* each session will say why */
	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS) == 0) {
		(void)gnutls_priority_set_direct(s, z->w.conf.tls_priority,
		    NULL);
		gnutls_deinit(s);
	}
}

/* 1 when path still is the file st was taken of, and not so young that
 * a rewrite of the same size could hide from stat (filecache.h).  *now:
 * what stat says now, all zeros when it cannot say (so that the file
 * counts as changed at the next use too). */
static int
file_same(const char *path, const struct stat *st, struct stat *now)
{
	if (stat(path, now) == -1) {
		memset(now, 0, sizeof(*now));
		return 0;
	}
	return filecache_unchanged(st, now) && !filecache_racy(now);
}

/* Before each child: the configuration and the default pair as they are
 * on disk now.  What cannot be read is left to the children, which read
 * it for themselves and log why it failed, as an exec'd smtp-tlsd does. */
static void
zcache_refresh(struct zcache *z, const char *dir)
{
	struct stat cst, kst;
	char why[TLSD_REASON_MAX + 1];
	int same;

	if (!z->conf_ok) {
		z->conf_ok = confwatch_load(&z->w, conf_dir(dir), why,
		    sizeof(why)) == 0;
		if (!z->conf_ok)
			return;
		z->prio_done = 0;
	} else if (confwatch_check(&z->w, 0, NULL) == CONFWATCH_RELOADED) {
		z->racy = 1;	/* the paths may have changed */
		z->prio_done = 0;	/* and the priority string */
	}
	if (!z->prio_done) {
		tlsd_prio_free(z->prio);
		if (tlsd_prio_load(z->w.conf.tls_priority, &z->prio, why,
		    sizeof(why)) == -1)
			z->prio = NULL;
		z->prio_done = 1;
	}
	same = file_same(z->w.conf.tls_cert, &z->cert_st, &cst);
	same = file_same(z->w.conf.tls_key, &z->key_st, &kst) && same;
	if (same && !z->racy && z->cred != NULL)
		return;
	tlsd_cred_free(z->cred);
	z->cred = NULL;
	/* Taken before the reading, so that a change during it is seen
	 * at the next use. */
	z->cert_st = cst;
	z->key_st = kst;
	z->racy = !same;
	if (tlsd_cred_load(z->w.conf.tls_cert, z->w.conf.tls_key, &z->cred,
	    why, sizeof(why)) == -1)
		z->cred = NULL;
}

/* smtp-tlsd -z: until every holder of the other end has closed it. */
static int
zygote(char *argv[], const char *dir)
{
	/* The process's one cache, some KiB of paths: not on the stack. */
	static struct zcache z;
	char peer[TLSZ_PEER_MAX], why[128], self[PATH_MAX];
	struct sigaction sa;
	sigset_t chld, orig;
	struct pollfd pfd;
	unsigned children = 0;
	int net, ctl, r;
	pid_t pid;

	/* Every symbol of every library bound once, here, rather than at
	 * its first call in every child (the dynamic linker's lazy binding
	 * writes the GOT: a lookup and a copied page per child).  The
	 * variable takes effect at exec, so the zygote execs itself once;
	 * its children never exec. */
	if (getenv(BIND_NOW_ENV) == NULL) {
		/* By its own name, not /proc/self/exe, which ps(1) would
		 * show as "exe". */
		if (self_sibling(PROG, self, sizeof(self)) == -1 ||
		    setenv(BIND_NOW_ENV, "1", 1) == -1)
			log_event("tls-zygote", "op", "re-exec", "reason",
			    strerror(errno), (char *)NULL);
		else {
			(void)execv(self, argv);
			log_event("tls-zygote", "op", "re-exec", "path", self,
			    "reason", strerror(errno), (char *)NULL);
		}
		/* Lazy binding is slower, not wrong: go on. */
	}
	/* Loaded and initialised once, here, for every child: this is the
	 * cost the zygote exists to pay once.  It holds the configuration
	 * and the default certificate and key, which every child would
	 * read anyway, and nothing of any session. */
	if ((r = gnutls_global_init()) < 0) {
		log_event("tls-zygote-failed", "reason", gnutls_strerror(r),
		    (char *)NULL);
		return EXIT_FAIL;
	}
	zcache_refresh(&z, dir);
	warm(&z);
	/* The free chunks of the start-up merged, once, here: otherwise the
	 * first large malloc of every child merges them (malloc_consolidate)
	 * and copies each page it writes. */
	(void)malloc_trim(0);
	/* ...and sorted, once, here: malloc_trim leaves them on the unsorted
	 * list, which the next malloc that no exact fit serves walks,
	 * writing into each free chunk it files in its bin, a copy-on-write
	 * fault in every child for each page of them.  A request larger
	 * than any free chunk walks the whole list (heap faults of a child
	 * 25 -> 22, measured with perf record -e page-faults -d). */
	free(malloc(ZYGOTE_SORT_SIZE));
	/* SIGCHLD is let through only while ppoll waits, so that no child's
	 * end is missed between the reaping and the wait. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	if (sigprocmask(SIG_BLOCK, &chld, &orig) == -1 ||
	    sigaction(SIGCHLD, &sa, NULL) == -1) {
		log_event("tls-zygote-failed", "reason", strerror(errno),
		    (char *)NULL);
		return EXIT_FAIL;
	}
	for (;;) {
		sigset_t wait;

		if (reap(&children) == -1) {
			log_event("tls-zygote-exit", "reason", "a child crashed: "
			    "the next zygote gets a fresh layout", (char *)NULL);
			return EXIT_CHILD_CRASHED;
		}
		pfd.fd = ZYGOTE_FD;
		pfd.events = POLLIN;
		wait = orig;
		sigdelset(&wait, SIGCHLD);
		if (ppoll(&pfd, 1, NULL, &wait) == -1) {
			if (errno == EINTR)
				continue;
			log_event("tls-zygote-failed", "op", "ppoll", "reason",
			    strerror(errno), (char *)NULL);
			return EXIT_FAIL;
		}
		switch (tlsz_recv(ZYGOTE_FD, &net, &ctl, peer, sizeof(peer),
		    why, sizeof(why))) {
		case TLSZ_EOF:
			/* The listener is gone or stopping: the sessions in
			 * flight end by their own deadlines, and are reaped
			 * here, so that the zygote is seen alive (and their
			 * CPU time counted under it) until they have. */
			while (waitpid(-1, NULL, 0) != -1 || errno == EINTR)
				;
			return 0;
		case TLSZ_ERR:
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_event("tls-zygote-failed", "op", "recvmsg",
			    "reason", strerror(errno), (char *)NULL);
			return EXIT_FAIL;
		case TLSZ_BAD:
			log_event("tls-request-refused", "reason", why,
			    (char *)NULL);
			continue;
		case TLSZ_GOT:
			break;
		}
		if (children < ZYGOTE_CHILDREN_MAX)
			zcache_refresh(&z, dir);
		if (children >= ZYGOTE_CHILDREN_MAX)
			refuse(ctl, peer, "too many TLS sessions");
		else if ((pid = fork()) == -1)
			refuse(ctl, peer, strerror(errno));
		else if (pid == 0)
			child(dir, net, ctl, peer, &orig, &z);
		else
			children++;
		(void)close(net);
		(void)close(ctl);
	}
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL;
	int ch, zflag = 0;

	log_init(PROG);
	/* Either peer may vanish; a write must fail, not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_event("tls-failed", "reason", strerror(errno),
		    (char *)NULL);
		return EXIT_FAIL;
	}
	while ((ch = getopt(argc, argv, "C:z")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		case 'z':
			zflag = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (zflag)
		return zygote(argv, dir);
	if (fcntl(CTL_FD, F_GETFD) == -1) {
		log_event("tls-failed", "reason",
		    "fd 3 is not open: smtp-tlsd is started by smtp-in",
		    (char *)NULL);
		return EXIT_FAIL;
	}
	return serve(dir, NULL, NULL);
usage:
	/* fd 3 is smtp-in's only when it started us. */
	if (!zflag && fcntl(CTL_FD, F_GETFD) != -1)
		(void)tlsd_status_fail(CTL_FD, USAGE);
	log_event("tls-failed", "reason", USAGE, (char *)NULL);
	return EXIT_FAIL;
}
