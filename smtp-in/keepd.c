/* keepd.c — smtp-keeper's answers (keepd.h).  Each answer is one line
 * sent at once into the asker's fresh socket, whose buffer always takes
 * it: the keeper never waits for a session.  AUTH is the exception: it
 * is smtp-auth's, started on the asker's socket, since argon2id takes
 * 64 MiB and a tenth of a second and the keeper answers everyone else
 * meanwhile. */

#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "io.h"
#include "keepd.h"
#include "log.h"
#include "self.h"
#include "srs.h"
#include "str.h"
#include "users.h"

#define AUTH_PROG	"smtp-auth"

extern char **environ;

int
keepd_init(struct keepd *k, const char *dir, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (confwatch_load(&k->w, conf_dir(dir), err, errlen) == -1)
		return -1;
	uint64_t seed;
	ssize_t n;

	if (self_sibling(AUTH_PROG, k->auth, sizeof(k->auth)) == -1) {
		str_fmt_cut(err, errlen, "%s: %s", AUTH_PROG, strerror(errno));
		return -1;
	}
	while ((n = getrandom(&seed, sizeof(seed), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n != (ssize_t)sizeof(seed)) {
		str_fmt_cut(err, errlen, "getrandom: %s",
		    n == -1 ? strerror(errno) : "short read");
		return -1;
	}
	srsfail_init(&k->srsfail, seed);
	return 0;
}

/* "word text" into fd, without waiting, and fd closed. */
static void
answer(int fd, const char *word, const char *text)
{
	char line[KEEPER_ANSWER_MAX];
	size_t n;
	ssize_t w;

	/* One byte kept for the LF. */
	if (text != NULL)
		str_fmt_cut(line, sizeof(line) - 1, "%s %s", word, text);
	else
		str_fmt_cut(line, sizeof(line) - 1, "%s", word);
	/* A reason may quote the address: one line whatever it holds. */
	for (n = 0; line[n] != '\0'; n++)
		if (line[n] == '\n' || line[n] == '\r')
			line[n] = ' ';
	line[n++] = '\n';
	w = send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
	(void)close(fd);
}

/* peer: the client's address, whose failures are counted (srsfail.h);
 * over the limit it is answered "limit" without a check, so that a
 * guess costs it a wait rather than a chance. */
static void
srs(struct keepd *k, const char *peer, const char *address, int fd)
{
	char orig[ADDR_TEXT_MAX], why[SRS_WHY_MAX + ADDR_TEXT_MAX];
	time_t now = time(NULL);

	if (srsfail_over(&k->srsfail, peer, now)) {
		log_event("srs-refused", "peer", peer, LOG_PEER "address",
		    address, "reason", "too many failures", (char *)NULL);
		answer(fd, "limit", "too many invalid SRS addresses");
		return;
	}
	switch (srs_check(&k->w.conf, address, now, orig,
	    sizeof(orig), why, sizeof(why))) {
	case SRS_CHECK_OK:
		answer(fd, "ok", orig);
		break;
	case SRS_CHECK_BAD:
		srsfail_count(&k->srsfail, peer, now);
		answer(fd, "no", why);
		break;
	default:
		log_event("srs-unknown", LOG_PEER "address", address, "reason",
		    why, (char *)NULL);
		answer(fd, "temp", why);
		break;
	}
}

static void
user(struct keepd *k, const char *domain, const char *name, int fd)
{
	char path[PATH_MAX], why[PATH_MAX + 64];

	if (conf_domain_path(&k->w.conf, domain, USERS_FILE, path,
	    sizeof(path)) == -1) {
		/* Not a directory under domains/: no users there. */
		answer(fd, "no", NULL);
		return;
	}
	switch (users_lookup(path, name, NULL, 0)) {
	case USERS_FOUND:
		answer(fd, "yes", NULL);
		break;
	case USERS_NOTFOUND:
		answer(fd, "no", NULL);
		break;
	default:
		str_fmt_cut(why, sizeof(why), "%s: %s", path, strerror(errno));
		log_event("users-unreadable", "reason", why, (char *)NULL);
		answer(fd, "temp", why);
		break;
	}
}

static void
auth(struct keepd *k, const char *peer, int fd)
{
	/* "-": the session knew no address (smtp-auth's local source). */
	char *argv[] = { k->auth, (char *)"-C", k->w.conf.dir, (char *)"-p",
	    (char *)(strcmp(peer, "-") == 0 ? "" : peer), NULL };
	int fds[3];
	pid_t pid;
	int e;

	if (k->nauth >= KEEPD_AUTH_MAX) {
		answer(fd, "temp", "too many AUTH checks at once");
		return;
	}
	/* fd becomes smtp-auth's 0 and 1: it must not be one of them
	 * already (child.h). */
	if (fd_move_above(&fd, 3) == -1) {
		answer(fd, "temp", strerror(errno));
		return;
	}
	fds[0] = fds[1] = fd;
	fds[2] = -1;		/* ours: the listener's log */
	if ((e = child_start(&pid, k->auth, argv, environ, fds, 3, 0)) != 0) {
		log_event("error", "op", "posix_spawn", "path", k->auth,
		    "error", strerror(e), (char *)NULL);
		answer(fd, "temp", "cannot start smtp-auth");
		return;
	}
	k->nauth++;
	(void)close(fd);
}

void
keepd_serve(struct keepd *k, const struct keeper_req *r, int fd)
{
	enum confwatch_result c;

	/* An edit of posthorn.conf (srs_hash_length, the secret's path)
	 * counts from the next question on, as for every program. */
	if ((c = confwatch_check(&k->w, 0, NULL)) != CONFWATCH_SAME)
		confwatch_log(&k->w, c, "change");
	switch (r->op) {
	case KEEPER_SRS:
		srs(k, r->peer, r->arg, fd);
		break;
	case KEEPER_USER:
		user(k, r->arg, r->name, fd);
		break;
	case KEEPER_AUTH:
		auth(k, r->arg, fd);
		break;
	}
}

void
keepd_reaped(struct keepd *k)
{
	if (k->nauth > 0)
		k->nauth--;
}
