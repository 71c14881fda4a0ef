/* listen.c — smtp-listen's work: the sockets, the limits, one smtp-in
 * process per connection, the TLS zygote, and the drain on SIGTERM.
 *
 * The loop is one poll(2) over the listening sockets and a signalfd.
 * Sessions start with posix_spawn: a vfork-style clone that copies no
 * page tables, then smtp-in's exec, so every session has a fresh address
 * space and nothing of the listener or of another session.  Refusals are
 * written by the listener itself, one line, without a session. */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "io.h"
#include "confwatch.h"
#include "keeper.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "peer.h"
#include "privs.h"
#include "self.h"
#include "srctab.h"
#include "str.h"
#include "tzenv.h"

extern char **environ;

enum {
	BACKLOG = 1024,		/* when we bind: systemd's is SOMAXCONN */
	ACCEPT_BURST = 64,	/* connections per socket per poll round */
	/* accept(2) out of descriptors or memory: pause this long rather
	 * than spin on a socket that stays readable. */
	PAUSE_MS = 100,
	/* Refusals of one kind are logged once a second at most, with a
	 * count of those left out: a flood must not become a log flood. */
	LOGGED_EVERY_MS = 1000,
	/* A resident is restarted after it dies, waiting 1 s, then twice
	 * as long each time it dies young, up to a minute. */
	RESIDENT_BACKOFF_MIN_MS = 1000,
	RESIDENT_BACKOFF_MAX_MS = 60000,
	/* Where a session finds each resident (child.h). */
	ZYGOTE_SESSION_FD = 3,
	CHECKD_SESSION_FD = 5,
	ENV_EXTRA = 8,		/* the variables set per session */
	REPORT_SESSION_FD = 4,	/* where a session finds the report socket */
	/* A session's report: one short line (helpers.h), and how many
	 * are read a round. */
	REPORT_MAX = 256,
	REPORT_BURST = 64,
	ENV_VALUE_MAX = 64,
	TEXT_ADDR_MAX = 64	/* INET6_ADDRSTRLEN and brackets */
};

enum refusal {
	REFUSE_SESSIONS,
	REFUSE_SOURCE_SESSIONS,
	REFUSE_SOURCE_RATE,
	REFUSE_NOT_PROXY,
	REFUSE_SPAWN,
	REFUSE_KINDS
};

static const struct {
	const char	*reason;	/* for the log */
	const char	*code;		/* 421 and its enhanced code */
	const char	*text;
} refusal[REFUSE_KINDS] = {
	{ "sessions", "421 4.3.2", "too many sessions, try again later" },
	{ "source-sessions", "421 4.7.0",
	    "too many sessions from your address, try again later" },
	{ "source-rate", "421 4.7.0",
	    "too many connections from your address, slow down" },
	{ "not-a-proxy", "421 4.7.0",
	    "this port takes connections from its proxies only" },
	{ "spawn", "421 4.3.0", "cannot start a session, try again later" }
};

struct sock {
	int		 fd;
	const char	*mode;
};

struct session {
	pid_t		 pid;
	const char	*mode;		/* of its socket, for the counters */
	struct srckey	 key;
	int		 tracked;	/* counted in the srctab */
};

/* The listener's residents, each on a SOCK_SEQPACKET pair: its end on
 * the resident's fd 0, ours given to every session as session_fd. */
enum { RES_ZYGOTE, RES_KEEPER, RES_CHECKD, RESIDENTS };

struct resident {
	const char	*name;		/* in the log: NAME-exit, ... */
	char		 path[PATH_MAX];
	const char	*flag;		/* after -C DIR, or NULL */
	/* its supplementary groups (-1: none), set when it is spawned */
	gid_t		 groups[PRIVS_GROUPS_MAX];
	int		 session_fd;
	char		*env;		/* VAR=session_fd, for the sessions */
	int		 wanted;	/* else never started */
	int		 disabled;	/* not there: never tried again */
	pid_t		 pid;		/* 0: not running */
	int		 fd;		/* our end, given to sessions, or -1 */
	int64_t		 restart;	/* when to start it; 0: now-ish */
	int64_t		 started, backoff;
};

struct listener {
	const struct listen_opts *o;
	struct sock	 sock[LISTEN_SOCKETS_MAX];
	size_t		 nsock;
	int		 sigfd;
	/* the log relay (log.h), when stderr is the journal: our end,
	 * and the one sessions get as fd 2; -1 without */
	int		 logr, logw;
	/* the sessions' reports (helpers.h): our end, and theirs, fd 4 */
	int		 repr, repw;
	struct metrics	 met;
	char		 metname[64];	/* smtp-listen-MODE[-MODE...] */
	const char	*modes[LISTEN_SOCKETS_MAX];	/* each once */
	size_t		 nmodes;
	int		 metfailing;	/* the write's failure said */
	struct session	*sess;
	size_t		 nsess;
	struct srctab	 src;
	char		 smtp_in[PATH_MAX];
	char		 tlsd[PATH_MAX];
	/* the session's environment: the extras, then the inherited */
	char		**env;
	size_t		 nbase;
	char		 e_addr[ENV_VALUE_MAX], e_port[ENV_VALUE_MAX];
	/* TZ for the sessions (tzenv.h), "" for none; only when ours was
	 * unset: a TZ that we inherited is the administrator's and stays */
	char		 tz[TZENV_VAR_MAX];
	int		 tz_ours;
	int		 tz_said;	/* logged once */
	int64_t		 tz_next;	/* clock_ms() of the next check */
	/* the TLS zygote (smtp-tlsd -z, with -T only), the keeper of
	 * secrets (smtp-keeper), the checker (smtp-checkd, when a socket
	 * is in mode mx; -K: never) */
	struct resident	 res[RESIDENTS];
	/* CAP_SETGID kept (privs.h): each resident gets its secret's
	 * group, the sessions none */
	int		 can_groups;
	/* refusals logged at most once a second, by kind */
	int64_t		 logged[REFUSE_KINDS];
	unsigned long	 unlogged[REFUSE_KINDS];
	int64_t		 paused_until;
	int64_t		 drain_at;	/* 0: not draining */
	int		 killed;	/* SIGTERM sent to the sessions */
};

static struct listener L;	/* one listener per process */

/* --- addresses ---------------------------------------------------------- */

static void
map_v4(const struct in_addr *a, unsigned char b[16])
{
	memset(b, 0, 10);
	b[10] = b[11] = 0xff;
	memcpy(b + 12, a, 4);
}

int
listen_net_parse(const char *s, struct listen_net *n)
{
	char buf[TEXT_ADDR_MAX], *slash, *end;
	struct in_addr a4;
	unsigned long p;
	unsigned max;

	if (str_copy(buf, sizeof(buf), s) == -1)
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		map_v4(&a4, n->b);
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->b) == 1)
		max = 128;
	else
		return -1;
	p = max;
	if (slash != NULL) {
		errno = 0;
		p = strtoul(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno != 0 || p > max)
			return -1;
	}
	n->prefix = (unsigned)p + (max == 32 ? 96 : 0);
	return 0;
}

static int
net_contains(const struct listen_net *n, const unsigned char b[16])
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;
	unsigned char mask;

	if (memcmp(n->b, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (n->b[full] & mask) == (b[full] & mask);
}

int
listen_net_match(const struct listen_net *n, size_t count,
    const struct sockaddr *sa)
{
	unsigned char b[16];
	size_t i;

	if (sa->sa_family == AF_INET)
		map_v4(&((const struct sockaddr_in *)sa)->sin_addr, b);
	else if (sa->sa_family == AF_INET6)
		memcpy(b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return 0;
	for (i = 0; i < count; i++)
		if (net_contains(&n[i], b))
			return 1;
	return 0;
}

int
listen_addr_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char host[TEXT_ADDR_MAX], *colon, *end;
	const char *h;
	unsigned long port;

	if (str_copy(host, sizeof(host), s) == -1 ||
	    (colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 ||
	    port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	h = host;
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return -1;
		host[n - 1] = '\0';
		h = host + 1;
		if (inet_pton(AF_INET6, h, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, h, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
	return 0;
}

int
listen_mode_valid(const char *s)
{
	return strcmp(s, "mx") == 0 || strcmp(s, "submission") == 0 ||
	    strcmp(s, "submissions") == 0;
}

/* The peer as smtp-in wants it (peer.h), and its port. */
static void
addr_text(const struct sockaddr *sa, char *host, size_t hlen,
    char *port, size_t plen)
{
	unsigned p = 0;

	(void)peer_sockaddr(sa, host, hlen);
	if (sa->sa_family == AF_INET)
		p = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		p = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	str_fmt_cut(port, plen, "%u", p);
}

/* --- sockets ------------------------------------------------------------ */

static int
add_sock(int fd, const char *mode, char *err, size_t errlen)
{
	if (L.nsock == LISTEN_SOCKETS_MAX) {
		str_fmt_cut(err, errlen, "more than %d sockets",
		    LISTEN_SOCKETS_MAX);
		return -1;
	}
	if (fd_nonblock(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		str_fmt_cut(err, errlen, "socket %d: %s", fd, strerror(errno));
		return -1;
	}
	L.sock[L.nsock].fd = fd;
	L.sock[L.nsock].mode = mode;
	L.nsock++;
	return 0;
}

/* LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES (sd_listen_fds(3)): the
 * sockets start at fd 3.  A socket whose name (FileDescriptorName=) is a
 * mode runs sessions in that mode; any other, in the default one.  The
 * variables are ours alone, and go. */
static int
from_systemd(char *err, size_t errlen)
{
	static char names[4096];
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *nm = getenv("LISTEN_FDNAMES");
	char *name[LISTEN_SOCKETS_MAX] = { NULL }, *p, *end;
	unsigned long n, i;
	int acc, rc = -1;
	socklen_t sl = sizeof(acc);

	if (pid == NULL || fds == NULL)
		return 0;
	errno = 0;
	if (strtol(pid, &end, 10) != getpid() || *end != '\0') {
		rc = 0;		/* meant for another process */
		goto out;
	}
	n = strtoul(fds, &end, 10);
	if (*fds == '\0' || *end != '\0' || errno != 0 ||
	    n > LISTEN_SOCKETS_MAX) {
		str_fmt_cut(err, errlen, "LISTEN_FDS=%s: not 0..%d", fds,
		    LISTEN_SOCKETS_MAX);
		goto out;
	}
	if (nm != NULL && str_copy(names, sizeof(names), nm) == 0)
		for (i = 0, p = names; i < n && p != NULL; i++) {
			name[i] = p;
			if ((p = strchr(p, ':')) != NULL)
				*p++ = '\0';
		}
	for (i = 0; i < n; i++) {
		int fd = 3 + (int)i;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) == -1 ||
		    !acc) {
			str_fmt_cut(err, errlen,
			    "fd %d from systemd: not a listening socket", fd);
			goto out;
		}
		if (add_sock(fd, name[i] != NULL && listen_mode_valid(name[i]) ?
		    name[i] : L.o->mode, err, errlen) == -1)
			goto out;
	}
	rc = 0;
out:
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return rc;
}

static int
bind_one(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = -1, one = 1, v6only;

	if (listen_addr_parse(spec, &ss, &sl) == -1) {
		str_fmt_cut(err, errlen, "%s: not ADDR:PORT or [ADDR]:PORT",
		    spec);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (ss.ss_family == AF_INET6) {
		/* [::] takes IPv4 too, whatever net.ipv6.bindv6only says;
		 * another IPv6 address is that address only. */
		v6only = !IN6_IS_ADDR_UNSPECIFIED(
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only)) == -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, BACKLOG) == -1)
		goto fail;
	return add_sock(fd, L.o->mode, err, errlen);
fail:
	str_fmt_cut(err, errlen, "%s: %s", spec, strerror(errno));
	fd_close(&fd);
	return -1;
}

static void
log_sockets(void)
{
	struct sockaddr_storage ss;
	char host[TEXT_ADDR_MAX], port[16], where[TEXT_ADDR_MAX + 24];
	socklen_t sl;
	size_t i;

	for (i = 0; i < L.nsock; i++) {
		sl = sizeof(ss);
		if (getsockname(L.sock[i].fd, (struct sockaddr *)&ss, &sl) ==
		    -1)
			continue;
		addr_text((struct sockaddr *)&ss, host, sizeof(host), port,
		    sizeof(port));
		str_fmt_cut(where, sizeof(where), strchr(host, ':') != NULL ?
		    "[%s]:%s" : "%s:%s", host, port);
		log_event("listening", "addr", where, "mode", L.sock[i].mode,
		    (char *)NULL);
	}
}

/* RLIMIT_NPROC is checked against the count of all the processes of a
 * user: the three listeners' sessions, their helpers and queue-run's
 * deliveries all run as one user, so it would be one pool that the
 * sessions of one port could use up, leaving the others unable to start
 * any (issue 15: 512 idle connections to port 25 closed 587 and 465).
 * What bounds a listener's processes is its own -c, per-source -s and
 * -r; so the limit goes, for the listener and everything it starts:
 * unlimited where it may (root with CAP_SYS_RESOURCE, who alone may
 * raise the hard limit), else the soft limit up to the hard one.  Under
 * systemd each service also has a TasksMax of its own. */
static int
nproc_unbounded(char *err, size_t errlen)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_NPROC, &rl) == 0)
		return 0;
	if (errno != EPERM || getrlimit(RLIMIT_NPROC, &rl) == -1)
		goto fail;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NPROC, &rl) == 0)
		return 0;
fail:
	str_fmt_cut(err, errlen, "RLIMIT_NPROC: %s", strerror(errno));
	return -1;
}

/* --- the sessions' environment and spawning ----------------------------- */

static int
ours(const char *var)
{
	static const char *const drop[] = {
		"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
		"NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=",
		/* smtp-in would take tcpserver's before ours */
		"TCPREMOTEIP=", "TCPREMOTEPORT=", "TCPREMOTEHOST=",
		"TCPREMOTEINFO=", "TCPLOCALIP=", "TCPLOCALPORT=",
		"TCPLOCALHOST=", "REMOTE_ADDR=", "REMOTE_PORT=",
		"POSTHORN_PROXY=", "POSTHORN_TLSD_FD=", "POSTHORN_REPORT_FD=",
		KEEPER_FD_ENV "=",
		"POSTHORN_CHECKD_FD=",
		NULL
	};
	size_t i;

	for (i = 0; drop[i] != NULL; i++)
		if (strncmp(var, drop[i], strlen(drop[i])) == 0)
			return 1;
	return 0;
}

/* env = [ extras (ENV_EXTRA slots, filled from the end), inherited...,
 * NULL ]; a session's envp starts where its extras start. */
static int
env_init(void)
{
	size_t n = 0, i;

	L.tz_ours = getenv("TZ") == NULL;
	for (i = 0; environ[i] != NULL; i++)
		n++;
	if ((L.env = calloc(ENV_EXTRA + n + 1, sizeof(*L.env))) == NULL)
		return -1;
	for (i = 0; environ[i] != NULL; i++)
		if (!ours(environ[i]))
			L.env[ENV_EXTRA + L.nbase++] = environ[i];
	return 0;
}

static char **
env_for(const char *host, const char *port, int proxy)
{
	static char proxy_var[] = "POSTHORN_PROXY=1";
	static char report_var[] = "POSTHORN_REPORT_FD=4";
	size_t k = ENV_EXTRA, i;

	_Static_assert(REPORT_SESSION_FD == 4, "POSTHORN_REPORT_FD=4 here");
	_Static_assert(ENV_EXTRA == 5 + RESIDENTS, "the extras");
	str_fmt_cut(L.e_addr, sizeof(L.e_addr), "REMOTE_ADDR=%s", host);
	str_fmt_cut(L.e_port, sizeof(L.e_port), "REMOTE_PORT=%s", port);
	if (proxy)
		L.env[--k] = proxy_var;
	if (L.repw != -1)
		L.env[--k] = report_var;
	for (i = 0; i < RESIDENTS; i++)
		if (L.res[i].fd != -1)
			L.env[--k] = L.res[i].env;
	if (L.tz[0] != '\0')
		L.env[--k] = L.tz;
	L.env[--k] = L.e_port;
	L.env[--k] = L.e_addr;
	return &L.env[k];
}

/* The sessions' TZ from /etc/localtime, when the check is due: at the
 * start, on SIGHUP and each TZENV_RECHECK; what they get is logged at
 * the start and when it changes. */
static void
tz_refresh(int64_t now)
{
	char old[TZENV_VAR_MAX];

	if (!L.tz_ours || now < L.tz_next)
		return;
	L.tz_next = now + (int64_t)TZENV_RECHECK * 1000;
	memcpy(old, L.tz, sizeof(old));
	(void)tzenv_check(TZENV_LOCALTIME, time(NULL), L.tz, sizeof(L.tz));
	if (L.tz_said && strcmp(old, L.tz) == 0)
		return;
	L.tz_said = 1;
	log_event("timezone", "tz", L.tz[0] != '\0' ? L.tz + 3 : NULL,
	    "file", L.tz[0] != '\0' ? NULL : TZENV_LOCALTIME, (char *)NULL);
}

static int
spawn_init(char *err, size_t errlen)
{
	struct resident *z = &L.res[RES_ZYGOTE], *k = &L.res[RES_KEEPER],
	    *c = &L.res[RES_CHECKD];

	if (self_sibling("smtp-in", L.smtp_in, sizeof(L.smtp_in)) == -1 ||
	    self_sibling("smtp-tlsd", z->path, sizeof(z->path)) == -1 ||
	    self_sibling("smtp-keeper", k->path, sizeof(k->path)) == -1 ||
	    self_sibling("smtp-checkd", c->path, sizeof(c->path)) == -1) {
		str_fmt_cut(err, errlen, "finding smtp-in: %s",
		    strerror(errno));
		return -1;
	}
	if (env_init() == -1) {
		str_fmt_cut(err, errlen, "environment: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* argv, with fd 0 on `in` and 1 on `out`, fd 2 on the log relay if there
 * is one (else ours, the log), and, for a session, fd 4 on the report
 * socket and each resident's on its session_fd (3, 5, 6); the pid or -1
 * with errno. */
static pid_t
spawn(char *const argv[], char **envp, int in, int out, int session)
{
	int fds[CHILD_FDS_MAX] = { in, out, L.logw, -1, -1, -1, -1 };
	size_t n = 3, i;
	pid_t pid;
	int e;

	if (session && L.repw != -1) {
		fds[REPORT_SESSION_FD] = L.repw;
		n = REPORT_SESSION_FD + 1;
	}
	for (i = 0; session && i < RESIDENTS; i++)
		if (L.res[i].fd != -1) {
			fds[L.res[i].session_fd] = L.res[i].fd;
			if (n < (size_t)L.res[i].session_fd + 1)
				n = (size_t)L.res[i].session_fd + 1;
		}
	if ((e = child_start(&pid, argv[0], argv, envp, fds, n, 0)) != 0) {
		errno = e;
		return -1;
	}
	return pid;
}

/* The gid of a secret's group, said in the log when there is none:
 * the resident that needs it then reads nothing it could not before. */
static gid_t
group_of(const char *name)
{
	gid_t g = privs_gid(name);

	if (g == (gid_t)-1)
		log_event("no-group", "group", name, (char *)NULL);
	return g;
}

/* A resident, with the n groups of g (those that are not -1) as its
 * supplementary groups when the listener can give them: set around the
 * spawn, since posix_spawn runs nothing of ours between its fork and
 * its exec, and the exec drops CAP_SETGID.  The sessions spawned later
 * must find none again: a listener that cannot take them back stops. */
static pid_t
spawn_resident(char *const argv[], int in, int out, const gid_t *g,
    size_t n)
{
	gid_t have[PRIVS_GROUPS_MAX];
	size_t i, k = 0;
	pid_t pid;
	int e;

	for (i = 0; i < n && k < PRIVS_GROUPS_MAX; i++)
		if (g[i] != (gid_t)-1)
			have[k++] = g[i];
	if (L.can_groups && k > 0 && privs_groups(have, k) == -1)
		return -1;
	pid = spawn(argv, L.env + ENV_EXTRA, in, out, 0);
	e = errno;
	if (L.can_groups && k > 0 && privs_groups(NULL, 0) == -1) {
		log_event("error", "op", "setgroups", "error", strerror(errno),
		    (char *)NULL);
		exit(EXIT_FAILURE);
	}
	errno = e;
	return pid;
}

/* --- the residents: the TLS zygote, the keeper, the checker ---------- */

static void
resident_start(struct resident *r, int64_t now)
{
	char *argv[] = { r->path, (char *)"-C", (char *)L.o->confdir,
	    (char *)r->flag, NULL };
	int sv[2] = { -1, -1 }, null = -1, e;
	char op[32];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1) {
		e = errno;
		str_fmt_cut(op, sizeof(op), "%s-socketpair", r->name);
		log_event("error", "op", op, "error", strerror(e),
		    (char *)NULL);
		goto out;
	}
	/* Above every descriptor a session is given (child.h): where a
	 * dup2 could neither replace it nor leave it close-on-exec. */
	if (fd_move_above(&sv[0], CHILD_FDS_MAX) == -1)
		goto out;
	if ((r->pid = spawn_resident(argv, sv[1], null, r->groups,
	    PRIVS_GROUPS_MAX)) == -1) {
		e = errno;
		str_fmt_cut(op, sizeof(op), "%s-unavailable", r->name);
		log_event(op, "path", r->path, "error", strerror(e),
		    (char *)NULL);
		if (e == ENOENT || e == EACCES)
			r->disabled = 1;
		r->pid = 0;
		goto out;
	}
	r->fd = sv[0];
	sv[0] = -1;
	r->started = now;
out:
	fd_close(&sv[0]);
	fd_close(&sv[1]);
	fd_close(&null);
	if (r->pid == 0 && !r->disabled)
		r->restart = now + r->backoff;
}

static void
resident_died(struct resident *r, int status, int64_t now)
{
	char ev[32], st[32];

	if (WIFSIGNALED(status))
		str_fmt_cut(st, sizeof(st), "signal %d", WTERMSIG(status));
	else
		str_fmt_cut(st, sizeof(st), "exit %d", WEXITSTATUS(status));
	str_fmt_cut(ev, sizeof(ev), "%s-exit", r->name);
	log_event(ev, "status", st, (char *)NULL);
	/* Sessions started from now on go without it until it is back;
	 * those that hold our old end see their requests fail at once. */
	fd_close(&r->fd);
	r->pid = 0;
	/* One that lived a while died of something passing. */
	if (now - r->started > RESIDENT_BACKOFF_MAX_MS)
		r->backoff = RESIDENT_BACKOFF_MIN_MS;
	r->restart = now + r->backoff;
	r->backoff *= 2;
	if (r->backoff > RESIDENT_BACKOFF_MAX_MS)
		r->backoff = RESIDENT_BACKOFF_MAX_MS;
}

/* r is to be started, now or at r->restart. */
static int
resident_waiting(const struct resident *r)
{
	return r->wanted && r->pid == 0 && !r->disabled && L.drain_at == 0;
}

/* Every resident that is due, started. */
static void
residents_start(int64_t now)
{
	size_t i;

	for (i = 0; i < RESIDENTS; i++)
		if (resident_waiting(&L.res[i]) && now >= L.res[i].restart)
			resident_start(&L.res[i], now);
}

/* The resident whose pid this is, or NULL. */
static struct resident *
resident_of(pid_t pid)
{
	size_t i;

	for (i = 0; i < RESIDENTS; i++)
		if (L.res[i].pid == pid)
			return &L.res[i];
	return NULL;
}

static void
residents_init(const struct listen_opts *o)
{
	static char tlsd_var[] = "POSTHORN_TLSD_FD=3";
	static char keeper_var[] = KEEPER_FD_ENV "=6";
	static char checkd_var[] = "POSTHORN_CHECKD_FD=5";
	static const struct {
		const char	*name, *flag;
		int		 session_fd;
		char		*env;
	} def[RESIDENTS] = {
		[RES_ZYGOTE] = { "tlsd", "-z", ZYGOTE_SESSION_FD, tlsd_var },
		[RES_KEEPER] = { "keeper", NULL, KEEPER_SESSION_FD,
		    keeper_var },
		[RES_CHECKD] = { "checkd", NULL, CHECKD_SESSION_FD,
		    checkd_var },
	};
	size_t i, j;

	_Static_assert(ZYGOTE_SESSION_FD == 3, "POSTHORN_TLSD_FD=3 here");
	_Static_assert(KEEPER_SESSION_FD == 6, KEEPER_FD_ENV "=6 here");
	_Static_assert(CHECKD_SESSION_FD == 5, "POSTHORN_CHECKD_FD=5 here");
	for (i = 0; i < RESIDENTS; i++) {
		L.res[i].name = def[i].name;
		L.res[i].flag = def[i].flag;
		L.res[i].session_fd = def[i].session_fd;
		L.res[i].env = def[i].env;
		L.res[i].fd = -1;
		L.res[i].backoff = RESIDENT_BACKOFF_MIN_MS;
		for (j = 0; j < PRIVS_GROUPS_MAX; j++)
			L.res[i].groups[j] = (gid_t)-1;
	}
	L.res[RES_ZYGOTE].wanted = o->tlsd;
	L.res[RES_KEEPER].wanted = 1;
}

/* --- connections -------------------------------------------------------- */

/* posthorn.conf again if it changed (force: on SIGHUP, whatever its
 * stat says).  The listener itself uses only the hostname, of its
 * refusals: checked before each, and not per connection, whose path
 * stays an accept and a spawn.  The sessions read the file themselves. */
static void
reconfigure(int force)
{
	if (L.o->cw != NULL)
		confwatch_log(L.o->cw, confwatch_check(L.o->cw, force, NULL),
		    force ? "SIGHUP" : "change");
}

/* The 421 of why on fd, counted, and logged at most once a second for
 * each kind, with error (or NULL) in the line: a flood must not become
 * a flood of the log, whatever it causes. */
static void
refuse(int fd, const char *mode, enum refusal why, const char *peer,
    const char *error, int64_t now)
{
	char line[512], n[32], labels[96];
	ssize_t w;

	str_fmt_cut(labels, sizeof(labels), "mode=\"%s\",reason=\"%s\"",
	    mode, refusal[why].reason);
	metrics_add(&L.met, "posthorn_refused_total", labels, 1);
	reconfigure(0);
	str_fmt_cut(line, sizeof(line), "%s %s %s\r\n", refusal[why].code,
	    L.o->hostname, refusal[why].text);
	/* A fresh socket's buffer takes one line; never wait for it. */
	w = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
	(void)shutdown(fd, SHUT_WR);
	if (now - L.logged[why] < LOGGED_EVERY_MS) {
		L.unlogged[why]++;
		return;
	}
	str_fmt_cut(n, sizeof(n), "%lu", L.unlogged[why]);
	log_event("refused", "reason", refusal[why].reason, "peer", peer,
	    "error", error, "unlogged", L.unlogged[why] != 0 ? n : NULL,
	    (char *)NULL);
	L.logged[why] = now;
	L.unlogged[why] = 0;
}

static void
connection(int fd, const struct sock *s, const struct sockaddr *sa,
    int64_t now)
{
	char host[TEXT_ADDR_MAX], port[16], labels[64];
	char *argv[] = { L.smtp_in, (char *)"-C", (char *)L.o->confdir,
	    (char *)s->mode, NULL };
	struct session *ss;
	int proxied = 0;

	addr_text(sa, host, sizeof(host), port, sizeof(port));
	if (L.o->nproxy > 0) {
		if (!listen_net_match(L.o->proxy, L.o->nproxy, sa)) {
			refuse(fd, s->mode, REFUSE_NOT_PROXY, host, NULL, now);
			return;
		}
		proxied = 1;
	}
	if (L.nsess >= L.o->max_sessions) {
		refuse(fd, s->mode, REFUSE_SESSIONS, host, NULL, now);
		return;
	}
	ss = &L.sess[L.nsess];	/* the free slot: taken by L.nsess++ */
	ss->tracked = 0;
	/* Behind a proxy every client has the proxy's address: the proxy
	 * limits them (smtp-listen(8)). */
	if (!proxied && !listen_net_match(L.o->exempt, L.o->nexempt, sa) &&
	    srctab_key(sa, &ss->key) == 0) {
		switch (srctab_begin(&L.src, &ss->key, now)) {
		case SRCTAB_OK:
			ss->tracked = 1;
			break;
		case SRCTAB_TOO_MANY:
			refuse(fd, s->mode, REFUSE_SOURCE_SESSIONS, host,
			    NULL, now);
			return;
		case SRCTAB_TOO_FAST:
			refuse(fd, s->mode, REFUSE_SOURCE_RATE, host, NULL, now);
			return;
		case SRCTAB_UNTRACKED:
			break;
		}
	}
	ss->pid = spawn(argv, env_for(host, port, proxied), fd, fd, 1);
	if (ss->pid == -1) {
		int e = errno;

		if (ss->tracked)
			srctab_end(&L.src, &ss->key, now);
		refuse(fd, s->mode, REFUSE_SPAWN, host, strerror(e), now);
		return;
	}
	ss->mode = s->mode;
	str_fmt_cut(labels, sizeof(labels), "mode=\"%s\"", s->mode);
	metrics_add(&L.met, "posthorn_sessions_total", labels, 1);
	L.nsess++;
}

static void
accept_on(const struct sock *s, int64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, i;

	for (i = 0; i < ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(s->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_event("error", "op", "accept", "error",
				    strerror(errno), (char *)NULL);
				L.paused_until = now + PAUSE_MS;
			}
			return;
		}
		connection(fd, s, (struct sockaddr *)&ss, now);
		(void)close(fd);
	}
}

/* --- counters (metrics.h) ---------------------------------------------- */

/* A label value from a report: [a-z0-9-], 1 to 24 bytes; whatever holds
 * a session's socket must not put a quote in the file. */
static int
report_word(const char *w)
{
	size_t i;

	for (i = 0; w[i] != '\0'; i++)
		if (i == 24 || !((w[i] >= 'a' && w[i] <= 'z') ||
		    (w[i] >= '0' && w[i] <= '9') || w[i] == '-'))
			return 0;
	return i > 0;
}

/* f is "key=VALUE": VALUE, or NULL. */
static const char *
field(const char *f, const char *key)
{
	size_t n = strlen(key);

	return strncmp(f, key, n) == 0 && f[n] == '=' ? f + n + 1 : NULL;
}

/* A count from a report: at most a million, else -1. */
static long
report_count(const char *v)
{
	char *end;
	long n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno == 0 && *end == '\0' && n <= 1000000 ? n : -1;
}

static void
count(const char *family, const char *mode, const char *key,
    const char *value, long n)
{
	char labels[96];

	if (n <= 0)
		return;
	if (key != NULL)
		str_fmt_cut(labels, sizeof(labels), "mode=\"%s\",%s=\"%s\"",
		    mode, key, value);
	else
		str_fmt_cut(labels, sizeof(labels), "mode=\"%s\"", mode);
	metrics_add(&L.met, family, labels, (uint64_t)n);
}

int
listen_report_parse(char *line, struct listen_report *r)
{
	char *f[7];
	long n[4];

	if (str_split(line, ' ', f, 7) == -1)
		return -1;
	r->mode = field(f[0], "mode");
	r->end = field(f[1], "end");
	r->tls = field(f[3], "tls");
	n[0] = report_count(field(f[2], "messages"));
	n[1] = report_count(field(f[4], "auth_ok"));
	n[2] = report_count(field(f[5], "auth_failed"));
	n[3] = report_count(field(f[6], "auth_temp"));
	if (r->mode == NULL || !listen_mode_valid(r->mode) || r->end == NULL ||
	    !report_word(r->end) || r->tls == NULL || !report_word(r->tls) ||
	    n[0] < 0 || n[1] < 0 || n[2] < 0 || n[3] < 0)
		return -1;
	r->messages = n[0];
	r->auth_ok = n[1];
	r->auth_failed = n[2];
	r->auth_temp = n[3];
	return 0;
}

/* One session's report into the counters; a line that does not parse
 * is dropped. */
static void
report_take(char *line)
{
	struct listen_report r;

	if (listen_report_parse(line, &r) == -1)
		return;
	count("posthorn_session_ends_total", r.mode, "reason", r.end, 1);
	count("posthorn_messages_total", r.mode, NULL, NULL, r.messages);
	if (strcmp(r.tls, "none") != 0)
		count("posthorn_tls_total", r.mode, "result", r.tls, 1);
	count("posthorn_auth_total", r.mode, "result", "ok", r.auth_ok);
	count("posthorn_auth_total", r.mode, "result", "failed",
	    r.auth_failed);
	count("posthorn_auth_total", r.mode, "result", "temp", r.auth_temp);
}

static void
reports(void)
{
	char line[REPORT_MAX + 1];
	ssize_t r;
	int i;

	for (i = 0; i < REPORT_BURST; i++) {
		r = recv(L.repr, line, REPORT_MAX, MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		line[r] = '\0';
		report_take(line);
	}
}

/* The sessions running, per mode, then the file, at most every
 * METRICS_INTERVAL unless forced; a failure is said once until a write
 * works again. */
static void
counters_flush(int64_t now, int force)
{
	char labels[64];
	size_t i, j, n;

	if (L.o->cw == NULL || L.metname[0] == '\0' || (!force &&
	    (!L.met.dirty ||
	    now - L.met.written < (int64_t)METRICS_INTERVAL * 1000)))
		return;
	for (i = 0; i < L.nmodes; i++) {
		for (j = n = 0; j < L.nsess; j++)
			n += strcmp(L.sess[j].mode, L.modes[i]) == 0;
		str_fmt_cut(labels, sizeof(labels), "mode=\"%s\"",
		    L.modes[i]);
		metrics_set(&L.met, "posthorn_sessions_active", labels, n);
	}
	if (metrics_flush(&L.met, L.o->cw->conf.spool, L.metname, now, 1) ==
	    -1) {
		if (!L.metfailing)
			log_event("error", "op", "metrics", "error",
			    strerror(errno), (char *)NULL);
		L.metfailing = 1;
	} else
		L.metfailing = 0;
}

/* The file's name, from the modes of the sockets: smtp-listen-mx, or
 * smtp-listen-submission-submissions for a listener of two. */
static void
counters_init(void)
{
	size_t i, j;

	(void)str_copy(L.metname, sizeof(L.metname), "smtp-listen");
	for (i = 0; i < L.nsock; i++) {
		for (j = 0; j < L.nmodes && strcmp(L.modes[j],
		    L.sock[i].mode) != 0; j++)
			;
		if (j < L.nmodes)
			continue;
		L.modes[L.nmodes++] = L.sock[i].mode;
		if (strlen(L.metname) + 1 + strlen(L.sock[i].mode) <
		    sizeof(L.metname)) {
			(void)strcat(L.metname, "-");
			(void)strcat(L.metname, L.sock[i].mode);
		}
	}
}

/* --- signals and the end ------------------------------------------------ */

static void
session_died(pid_t pid, int status, int64_t now)
{
	char sig[16], p[16];
	size_t i;

	for (i = 0; i < L.nsess && L.sess[i].pid != pid; i++)
		;
	if (i == L.nsess)
		return;
	if (L.sess[i].tracked)
		srctab_end(&L.src, &L.sess[i].key, now);
	L.sess[i] = L.sess[--L.nsess];
	if (WIFSIGNALED(status) && !L.killed) {
		str_fmt_cut(sig, sizeof(sig), "%d", WTERMSIG(status));
		str_fmt_cut(p, sizeof(p), "%d", (int)pid);
		log_event("session-killed", "pid", p, "signal", sig,
		    (char *)NULL);
	}
}

static void
reap(int64_t now)
{
	struct resident *r;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((r = resident_of(pid)) != NULL)
			resident_died(r, status, now);
		else
			session_died(pid, status, now);
	}
}

static void
stop_listening(int64_t now)
{
	char n[16];
	size_t i;

	for (i = 0; i < L.nsock; i++)
		fd_close(&L.sock[i].fd);
	L.nsock = 0;
	L.drain_at = now + (int64_t)L.o->drain * 1000;
	str_fmt_cut(n, sizeof(n), "%zu", L.nsess);
	log_event("draining", "sessions", n, (char *)NULL);
}

static void
signals(int64_t now)
{
	struct signalfd_siginfo si;
	ssize_t r;

	while ((r = read(L.sigfd, &si, sizeof(si))) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(now);
			break;
		case SIGTERM:
		case SIGINT:
			if (L.drain_at == 0)
				stop_listening(now);
			else
				L.drain_at = now;	/* asked twice */
			break;
		case SIGHUP:
			reconfigure(1);
			L.tz_next = 0;
			break;
		default:
			break;
		}
	}
}

static void
kill_sessions(int sig)
{
	size_t i;

	for (i = 0; i < L.nsess; i++)
		(void)kill(L.sess[i].pid, sig);
}

/* Draining: 1 when the listener may exit. */
static int
drained(int64_t now)
{
	char n[16];

	if (L.nsess == 0)
		return 1;
	if (now < L.drain_at)
		return 0;
	if (!L.killed) {
		str_fmt_cut(n, sizeof(n), "%zu", L.nsess);
		log_event("drain-timeout", "sessions", n, (char *)NULL);
		kill_sessions(SIGTERM);
		L.killed = 1;
		L.drain_at = now + LISTEN_KILL_GRACE * 1000;
		return 0;
	}
	kill_sessions(SIGKILL);
	return 1;
}

static int
wait_ms(int64_t now)
{
	int64_t t = -1;
	size_t i;

	if (L.drain_at != 0)
		t = L.drain_at - now;
	if (L.paused_until > now && (t == -1 || L.paused_until - now < t))
		t = L.paused_until - now;
	for (i = 0; i < RESIDENTS; i++)
		if (resident_waiting(&L.res[i]) &&
		    (t == -1 || L.res[i].restart - now < t))
			t = L.res[i].restart - now;
	/* The sessions' TZ to check again (tz_refresh). */
	if (L.tz_ours && (t == -1 || L.tz_next - now < t))
		t = L.tz_next - now;
	/* Counters to write: when the interval is over. */
	if (L.met.dirty && L.metname[0] != '\0' && (t == -1 ||
	    L.met.written + (int64_t)METRICS_INTERVAL * 1000 - now < t))
		t = L.met.written + (int64_t)METRICS_INTERVAL * 1000 - now;
	if (t < 0 && t != -1)
		t = 0;
	return t > INT_MAX ? INT_MAX : (int)t;
}

static int
setup(char *err, size_t errlen)
{
	sigset_t set;
	size_t i;

	for (i = 0; i < L.o->naddrs; i++)
		if (bind_one(L.o->addrs[i], err, errlen) == -1)
			return -1;
	if (L.nsock == 0) {
		str_fmt_cut(err, errlen,
		    "no socket: none from systemd and no ADDR:PORT");
		return -1;
	}
	if (nproc_unbounded(err, errlen) == -1)
		return -1;
	if (L.o->user != NULL && privs_drop(L.o->user, err, errlen) == -1)
		return -1;
	if (getuid() == 0 || geteuid() == 0) {
		str_fmt_cut(err, errlen,
		    "sessions must not run as root: give -u USER");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		str_fmt_cut(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if ((L.can_groups = privs_init(err, errlen)) == -1)
		return -1;
	if (L.can_groups) {
		_Static_assert(PRIVS_GROUPS_MAX == 2, "the keeper's two groups");
		L.res[RES_ZYGOTE].groups[0] = group_of(PRIVS_GROUP_TLS);
		L.res[RES_KEEPER].groups[0] = group_of(PRIVS_GROUP_SRS);
		L.res[RES_KEEPER].groups[1] = group_of(PRIVS_GROUP_AUTH);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (L.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		str_fmt_cut(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	if ((L.sess = calloc(L.o->max_sessions, sizeof(*L.sess))) == NULL) {
		str_fmt_cut(err, errlen, "%s", strerror(errno));
		return -1;
	}
	return spawn_init(err, errlen);
}

static uint64_t
seed(void)
{
	uint64_t s = (uint64_t)clock_ms() ^ ((uint64_t)getpid() << 32);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd != -1) {
		if (read(fd, &s, sizeof(s)) != sizeof(s))
			s ^= (uint64_t)(uintptr_t)&s;
		(void)close(fd);
	}
	return s;
}

int
listen_run(const struct listen_opts *o)
{
	struct pollfd pfd[3 + LISTEN_SOCKETS_MAX];
	char err[512];
	int64_t now;
	size_t i, n, base;
	int sv[2];

	L.o = o;
	residents_init(o);
	L.logw = -1;
	L.repr = L.repw = -1;
	srctab_init(&L.src, o->per_source, o->rate, seed());
	if (from_systemd(err, sizeof(err)) == -1 || setup(err, sizeof(err)) ==
	    -1) {
		log_event("error", "error", err, (char *)NULL);
		return EXIT_FAILURE;
	}
	log_sockets();
	/* Children get the relay's end as fd 2, and the report socket as
	 * fd 4: both must be above every descriptor a child is given
	 * (child.h), not only above their own. */
	if ((L.logr = log_relay_open(&L.logw)) != -1 &&
	    fd_move_above(&L.logw, CHILD_FDS_MAX) == -1) {
		fd_close(&L.logr);
		fd_close(&L.logw);
	}
	/* The sessions' reports; without them, no counts but the
	 * listener's own. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0) {
		L.repr = sv[0];
		L.repw = sv[1];
		if (fd_nonblock(L.repr) == -1 ||
		    fd_move_above(&L.repw, CHILD_FDS_MAX) == -1) {
			fd_close(&L.repr);
			fd_close(&L.repw);
		}
	}
	counters_init();
	/* The checks are of port 25 mail only (smtp-in(8)). */
	for (i = 0; i < L.nsock; i++)
		if (o->checkd && strcmp(L.sock[i].mode, "mx") == 0)
			L.res[RES_CHECKD].wanted = 1;
	residents_start(clock_ms());
	for (;;) {
		now = clock_ms();
		counters_flush(now, 0);
		if (L.drain_at != 0 && drained(now))
			break;
		residents_start(now);
		pfd[0].fd = L.sigfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = L.logr;	/* poll(2) skips it when -1 */
		pfd[1].events = POLLIN;
		pfd[2].fd = L.repr;
		pfd[2].events = POLLIN;
		n = base = 3;
		if (now >= L.paused_until)
			for (i = 0; i < L.nsock; i++, n++) {
				pfd[n].fd = L.sock[i].fd;
				pfd[n].events = POLLIN;
			}
		if (poll(pfd, n, wait_ms(now)) == -1 && errno != EINTR) {
			log_event("error", "op", "poll", "error",
			    strerror(errno), (char *)NULL);
			return EXIT_FAILURE;
		}
		now = clock_ms();
		if (pfd[0].revents != 0)
			signals(now);
		if (pfd[1].revents != 0)
			log_relay_pump(L.logr);
		if (pfd[2].revents != 0)
			reports();
		/* Before the accepts: a SIGHUP's check reaches the very
		 * next session. */
		tz_refresh(now);
		for (i = base; i < n && L.drain_at == 0; i++)
			if (pfd[i].revents != 0)
				accept_on(&L.sock[i - base], now);
	}
	/* What the last sessions wrote before they exited. */
	if (L.logr != -1)
		log_relay_pump(L.logr);
	if (L.repr != -1)
		reports();
	counters_flush(clock_ms(), 1);
	log_event("stopped", (char *)NULL);
	return EXIT_SUCCESS;
}
