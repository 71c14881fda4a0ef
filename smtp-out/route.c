/* route.c — read DIR/routes (routes(5)): for a destination domain, its
 * next hop (MX or a fixed host), its TLS requirement and its AUTH
 * credentials.  The file is small and read once per smtp-out run; any
 * line we do not understand fails the lookup, whichever domain it is
 * for, so that a typo can never quietly send mail without the TLS or the
 * smarthost the administrator asked for.  The password file is opened
 * only for the line chosen, and only when its mode keeps it private. */

#include <sys/types.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileline.h"
#include "idna.h"
#include "route.h"
#include "str.h"

#define ROUTE_FILE	"routes"	/* under the configuration dir */

enum {
	ROUTE_LINE_MAX = 1024,		/* bytes, LF excluded */
	ROUTE_LINES_MAX = 10000,	/* a damaged file stops here */
	ROUTE_FIELDS_MAX = 8,		/* dest, next hop, and the keys */
	AUTH_LINE_MAX = ROUTE_USER_MAX + 1 + ROUTE_PASS_MAX,
	AUTH_LINES_MAX = 2		/* the line, and an empty one */
};

/* One line of the file, parsed. */
struct line {
	char		dest[ROUTE_HOST_MAX + 1];	/* lowercase or "*" */
	struct route	r;
	char		auth[PATH_MAX];		/* "" or absolute */
	char		auth_name[PATH_MAX];	/* as written, for messages */
};

static void
route_default(struct route *r)
{
	memset(r, 0, sizeof(*r));
	r->mx = 1;
	r->port = ROUTE_PORT_DEFAULT;
	r->tls = ROUTE_TLS_MAY;
}

static int
dir_path(const struct conf *c, const char *name, char *buf, size_t size)
{
	if (name[0] == '/')
		return str_copy(buf, size, name);
	return str_fmt(buf, size, "%s/%s", c->dir, name);
}

/* NEXTHOP: "mx", "host", "host:port", "[address]", "[address]:port". */
static const char *
parse_nexthop(const char *s, struct route *r)
{
	unsigned char bytes[16];
	char host[ROUTE_HOST_MAX + 1];
	const char *colon, *end;
	size_t len;

	if (str_casecmp(s, "mx") == 0) {
		r->mx = 1;
		return NULL;
	}
	r->mx = 0;
	r->port = ROUTE_PORT_DEFAULT;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return "next hop: '[' without ']'";
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= sizeof(host))
			return "next hop: bad address in brackets";
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, bytes) != 1 &&
		    inet_pton(AF_INET, host, bytes) != 1)
			return "next hop: not an IPv6 or IPv4 address in "
			    "brackets";
		colon = end[1] == '\0' ? NULL : end + 1;
		if (colon != NULL && *colon != ':')
			return "next hop: junk after ']'";
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return "next hop: an IPv6 address goes in brackets, "
			    "[2001:db8::1]:25";
		len = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (len == 0 || len >= sizeof(host))
			return "next hop: bad host name";
		memcpy(host, s, len);
		host[len] = '\0';
		if (!conf_valid_hostname(host))
			return "next hop: not a host name, an address, or mx";
		str_lower(host);
	}
	if (colon != NULL && str_port(colon + 1, &r->port) == -1)
		return "next hop: port must be a number from 1 to 65535";
	(void)str_copy(r->host, sizeof(r->host), host);	/* fits */
	r->implicit_tls = r->port == ROUTE_PORT_SMTPS;
	return NULL;
}

static const char *
parse_tls(const char *v, enum route_tls *tls)
{
	static const struct {
		const char	*name;
		enum route_tls	 tls;
	} names[] = {
		{ "none", ROUTE_TLS_NONE },
		{ "may", ROUTE_TLS_MAY },
		{ "encrypt", ROUTE_TLS_ENCRYPT },
		{ "verify", ROUTE_TLS_VERIFY },
		{ "dane", ROUTE_TLS_DANE },
		{ "sts", ROUTE_TLS_STS },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0) {
			*tls = names[i].tls;
			return NULL;
		}
	return "tls= must be none, may, encrypt, verify, dane or sts";
}

/* A line into l: 1, 0 for a blank or comment line, -1 with why. */
static int
parse_line(const struct conf *c, char *s, struct line *l, char *why,
    size_t whysize)
{
	char *field[ROUTE_FIELDS_MAX], *v, *p, a[ROUTE_HOST_MAX + 1];
	const char *bad;
	size_t nf = 0, i;
	int seen_tls = 0, seen_ca = 0;

	memset(l, 0, sizeof(*l));
	route_default(&l->r);
	for (p = s; *p != '\0'; p++)
		if (*p == '\r' && p[1] == '\0')
			*p = '\0';
		else if ((unsigned char)*p < ' ' && *p != '\t') {
			str_fmt_cut(why, whysize, "control character");
			return -1;
		}
	/* Fields split by blanks; '#' at the start of one is a comment. */
	for (p = s;;) {
		p += strspn(p, " \t");
		if (*p == '\0' || *p == '#')
			break;
		if (nf == ROUTE_FIELDS_MAX) {
			str_fmt_cut(why, whysize, "too many fields");
			return -1;
		}
		field[nf++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
	if (nf == 0)
		return 0;
	if (nf == 1) {
		str_fmt_cut(why, whysize,
		    "a destination without a next hop (mx or host[:port])");
		return -1;
	}
	if (strcmp(field[0], "*") == 0)
		(void)str_copy(l->dest, sizeof(l->dest), "*");
	else {
		/* A destination in U-labels is kept as its A-labels, the
		 * spelling smtp-out looks the domain up by (RFC 5891). */
		if (idna_is_intl(field[0]) && idna_to_ascii(field[0], a,
		    sizeof(a)) == IDNA_OK)
			field[0] = a;
		if (!conf_valid_hostname(field[0])) {
			str_fmt_cut(why, whysize,
			    "destination %s: not a domain name or '*'",
			    field[0]);
			return -1;
		}
		(void)str_copy(l->dest, sizeof(l->dest), field[0]);
		str_lower(l->dest);
	}
	if ((bad = parse_nexthop(field[1], &l->r)) != NULL) {
		str_fmt_cut(why, whysize, "%s", bad);
		return -1;
	}
	for (i = 2; i < nf; i++) {
		if ((v = strchr(field[i], '=')) == NULL || v[1] == '\0') {
			str_fmt_cut(why, whysize, "%s: expected key=value",
			    field[i]);
			return -1;
		}
		*v++ = '\0';
		bad = NULL;
		if (strcmp(field[i], "tls") == 0) {
			if (seen_tls++)
				bad = "tls= given twice";
			else
				bad = parse_tls(v, &l->r.tls);
		} else if (strcmp(field[i], "auth") == 0) {
			if (l->auth[0] != '\0')
				bad = "auth= given twice";
			else if (str_copy(l->auth_name, sizeof(l->auth_name),
			    v) == -1 || dir_path(c, v, l->auth,
			    sizeof(l->auth)) == -1)
				bad = "auth= path too long";
		} else if (strcmp(field[i], "ca") == 0) {
			if (seen_ca++)
				bad = "ca= given twice";
			else if (dir_path(c, v, l->r.ca, sizeof(l->r.ca)) == -1)
				bad = "ca= path too long";
		} else {
			str_fmt_cut(why, whysize,
			    "unknown key %s (tls, auth or ca)", field[i]);
			return -1;
		}
		if (bad != NULL) {
			str_fmt_cut(why, whysize, "%s", bad);
			return -1;
		}
	}
	if (l->r.implicit_tls && l->r.tls == ROUTE_TLS_NONE) {
		str_fmt_cut(why, whysize,
		    "port 465 is TLS from the first byte: tls=none cannot be");
		return -1;
	}
	if (l->auth[0] != '\0') {
		/* A password goes only to a host that proved its name: a
		 * self-signed certificate on the path would otherwise receive
		 * it.  auth= without tls= (or with tls=may, or sts, which
		 * proves nothing until a policy is enforced) is tls=verify;
		 * tls=encrypt written out is the opt-out, for a smarthost
		 * whose certificate cannot be verified; tls=dane proves the
		 * name by TLSA records. */
		if (l->r.tls == ROUTE_TLS_NONE) {
			str_fmt_cut(why, whysize,
			    "auth= with tls=none would send the password in "
			    "clear");
			return -1;
		}
		if (l->r.tls == ROUTE_TLS_MAY || l->r.tls == ROUTE_TLS_STS)
			l->r.tls = ROUTE_TLS_VERIFY;
	}
	return 1;
}

/* The credentials of l->auth into l->r: 0, or -1 with errno and why. */
static int
read_auth(struct line *l, char *why, size_t whysize)
{
	struct fileline fl;
	struct stat st;
	char buf[AUTH_LINE_MAX + 3], extra[8], *colon;
	ssize_t got, more;
	size_t len;
	int fd, rc = -1, saved;
	mode_t mode;

	if ((fd = fileline_open(l->auth)) == -1) {
		saved = errno;
		str_fmt_cut(why, whysize, "auth file %s: %s", l->auth_name,
		    strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		str_fmt_cut(why, whysize, "auth file %s: %s", l->auth_name,
		    strerror(saved));
		goto fail;
	}
	mode = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode)) {
		saved = EINVAL;
		str_fmt_cut(why, whysize, "auth file %s: not a regular file",
		    l->auth_name);
		goto fail;
	}
	if (mode != 0600 && mode != 0640) {
		saved = EPERM;
		str_fmt_cut(why, whysize,
		    "auth file %s: mode %04o, must be 0600 or 0640",
		    l->auth_name, (unsigned)mode);
		goto fail;
	}
	fileline_init(&fl, fd, AUTH_LINES_MAX);
	got = fileline_get(&fl, buf, sizeof(buf));
	saved = errno;
	if (got == -1) {
		str_fmt_cut(why, whysize, "auth file %s: %s", l->auth_name,
		    saved == EINVAL ? "line too long" : strerror(saved));
		goto fail;
	}
	len = (size_t)got;
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	more = fileline_get(&fl, extra, sizeof(extra));
	saved = EINVAL;
	if (more != 0 && !(more == 1 && extra[0] == '\n')) {
		str_fmt_cut(why, whysize,
		    "auth file %s: more than one line (user:password)",
		    l->auth_name);
		goto fail;
	}
	if (strlen(buf) != len || (colon = strchr(buf, ':')) == NULL ||
	    colon == buf || colon[1] == '\0') {
		str_fmt_cut(why, whysize,
		    "auth file %s: expected one line user:password",
		    l->auth_name);
		goto fail;
	}
	*colon = '\0';
	if (str_copy(l->r.auth_user, sizeof(l->r.auth_user), buf) == -1 ||
	    str_copy(l->r.auth_pass, sizeof(l->r.auth_pass), colon + 1) ==
	    -1) {
		str_fmt_cut(why, whysize, "auth file %s: user or password "
		    "too long", l->auth_name);
		goto fail;
	}
	rc = 0;
fail:
	/* The password does not outlive its use in this buffer. */
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	if (rc == -1) {
		explicit_bzero(l->r.auth_pass, sizeof(l->r.auth_pass));
		l->r.auth_user[0] = '\0';
		errno = saved;
	}
	return rc;
}

static int
check_ca(const struct line *l, char *why, size_t whysize)
{
	int fd, saved;

	if (l->r.ca[0] == '\0')
		return 0;
	if ((fd = fileline_open(l->r.ca)) == -1) {
		saved = errno;
		str_fmt_cut(why, whysize, "ca file %s: %s", l->r.ca,
		    strerror(saved));
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

/* The next line of the file into buf: 1, 0 at the end, -1 with errno
 * and why (the caller adds the file and line). */
static int
next_line(struct fileline *fl, char *buf, size_t size, char *why,
    size_t whysize)
{
	ssize_t got;
	size_t len;

	if ((got = fileline_get(fl, buf, size)) == -1) {
		if (errno == EINVAL && fl->lines >= fl->maxlines)
			str_fmt_cut(why, whysize, "more than %d lines",
			    ROUTE_LINES_MAX);
		else if (errno == EINVAL)
			str_fmt_cut(why, whysize, "line longer than %d bytes",
			    ROUTE_LINE_MAX);
		else
			str_fmt_cut(why, whysize, "%s", strerror(errno));
		return -1;
	}
	if (got == 0)
		return 0;
	len = (size_t)got;
	if (buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strlen(buf) != len) {
		str_fmt_cut(why, whysize, "NUL byte");
		errno = EINVAL;
		return -1;
	}
	return 1;
}

int
route_lookup(const struct conf *c, const char *domain, struct route *out,
    char *err, size_t errsize)
{
	struct fileline fl;
	struct line l, best, star;
	char path[PATH_MAX], dom[ROUTE_HOST_MAX + 1], buf[ROUTE_LINE_MAX + 2],
	    why[512];
	size_t lineno = 0, best_line = 0, star_line = 0, len;
	int fd = -1, rc = -1, r, saved = EINVAL;

	if (errsize > 0)
		err[0] = '\0';
	route_default(out);
	memset(&best, 0, sizeof(best));
	memset(&star, 0, sizeof(star));
	if (dir_path(c, ROUTE_FILE, path, sizeof(path)) == -1) {
		saved = ENAMETOOLONG;
		str_fmt_cut(err, errsize, "%s: path too long", c->dir);
		goto out;
	}
	/* A domain too long for the file cannot have a line of its own. */
	if (str_copy(dom, sizeof(dom), domain) == -1)
		dom[0] = '\0';
	str_lower(dom);
	if ((len = strlen(dom)) > 1 && dom[len - 1] == '.')
		dom[len - 1] = '\0';
	if ((fd = fileline_open(path)) == -1) {
		if (errno == ENOENT) {
			rc = 0;		/* no routes: MX for everyone */
			goto out;
		}
		saved = errno;
		str_fmt_cut(err, errsize, "%s: %s", path, strerror(saved));
		goto out;
	}
	fileline_init(&fl, fd, ROUTE_LINES_MAX);
	for (;;) {
		lineno++;
		if ((r = next_line(&fl, buf, sizeof(buf), why,
		    sizeof(why))) == 0)
			break;
		saved = errno;
		if (r == 1 && (r = parse_line(c, buf, &l, why,
		    sizeof(why))) == -1)
			saved = EINVAL;
		if (r == -1) {
			str_fmt_cut(err, errsize, "%s:%zu: %s", path, lineno,
			    why);
			goto out;
		}
		if (r == 0)
			continue;
		if (strcmp(l.dest, "*") == 0 ||
		    (dom[0] != '\0' && strcmp(l.dest, dom) == 0)) {
			size_t *at = l.dest[0] == '*' ? &star_line :
			    &best_line;

			if (*at != 0) {
				str_fmt_cut(err, errsize,
				    "%s:%zu: %s: a second line, the first is "
				    "line %zu", path, lineno, l.dest, *at);
				saved = EINVAL;
				goto out;
			}
			*at = lineno;
			if (l.dest[0] == '*')
				star = l;
			else
				best = l;
		}
	}
	if (best_line != 0 || star_line != 0) {
		struct line *use = best_line != 0 ? &best : &star;
		size_t at = best_line != 0 ? best_line : star_line;

		if ((use->auth[0] != '\0' && read_auth(use, why,
		    sizeof(why)) == -1) || check_ca(use, why, sizeof(why)) ==
		    -1) {
			saved = errno;
			str_fmt_cut(err, errsize, "%s:%zu: %s", path, at, why);
			goto out;
		}
		*out = use->r;
	}
	rc = 0;
out:
	explicit_bzero(&best, sizeof(best));
	explicit_bzero(&star, sizeof(star));
	if (fd != -1)
		close(fd);
	if (rc == -1)
		errno = saved;
	return rc;
}

/* FNV-1a: the duplicate check of route_check keeps hashes, not names. */
static uint64_t
hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

int
route_check(const struct conf *c,
    void (*report)(const char *, size_t, const char *, void *), void *arg)
{
	struct fileline fl;
	struct line l;
	struct seen {
		uint64_t	h;
		size_t		line;
	} *seen = NULL;
	char path[PATH_MAX], buf[ROUTE_LINE_MAX + 2], why[512], msg[600];
	size_t lineno = 0, nseen = 0, i;
	int fd = -1, problems = 0, r, rc = -1;

	if (dir_path(c, ROUTE_FILE, path, sizeof(path)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = fileline_open(path)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((seen = calloc(ROUTE_LINES_MAX, sizeof(*seen))) == NULL)
		goto out;
	fileline_init(&fl, fd, ROUTE_LINES_MAX);
	for (;;) {
		lineno++;
		if ((r = next_line(&fl, buf, sizeof(buf), why,
		    sizeof(why))) == 0)
			break;
		if (r == -1) {
			/* Where the next line starts is lost: stop. */
			report(path, lineno, why, arg);
			problems++;
			break;
		}
		if ((r = parse_line(c, buf, &l, why, sizeof(why))) == -1) {
			report(path, lineno, why, arg);
			problems++;
			continue;
		}
		if (r == 0)
			continue;
		for (i = 0; i < nseen; i++)
			if (seen[i].h == hash(l.dest))
				break;
		if (i < nseen) {
			str_fmt_cut(msg, sizeof(msg),
			    "%s: a second line, the first is line %zu",
			    l.dest, seen[i].line);
			report(path, lineno, msg, arg);
			problems++;
		} else {
			seen[nseen].h = hash(l.dest);
			seen[nseen++].line = lineno;
		}
		if (l.auth[0] != '\0' && read_auth(&l, why, sizeof(why)) ==
		    -1) {
			report(path, lineno, why, arg);
			problems++;
		}
		if (check_ca(&l, why, sizeof(why)) == -1) {
			report(path, lineno, why, arg);
			problems++;
		}
		explicit_bzero(&l, sizeof(l));
	}
	rc = problems;
out:
	free(seen);
	close(fd);
	return rc;
}
