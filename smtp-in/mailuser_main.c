/* mailuser_main.c — mailuser(8): add, remove, list and check the users of
 * a domain, the one program that writes users(5).  The file logic lives in
 * lib/users.c (tested there); this file is arguments, the password prompt
 * and exit codes.  A password is read without echo (or from a file that a
 * script names with -p, never from the command line, which every user
 * can read in /proc), never printed or logged, and wiped from memory once
 * hashed or checked. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "conf.h"
#include "io.h"
#include "passwd.h"
#include "str.h"
#include "users.h"

#define PROG		"mailuser"
#define DOMAINS_DIR	"domains"

enum {
	EXIT_NO = 1,			/* check failed, no such user */
	DOMAIN_DIR_MODE = 0755,		/* smtp-in must see the domain */
	PW_BUF = PASSWD_MAX + 2		/* a CR may follow; and the NUL */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: " PROG " [-C dir] add [-r | -p file] user@domain\n"
	    "       " PROG " [-C dir] del user@domain\n"
	    "       " PROG " [-C dir] list [domain]\n"
	    "       " PROG " [-C dir] check [-p file] user@domain\n");
}

/* "mailuser: reason" on stderr; returns code for "return say(...)". */
static int
say(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
say(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	str_vfmt_cut(msg, sizeof(msg), fmt, ap);	/* a cut is harmless */
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", msg);
	return code;
}

/* The exit code for a failure of users_* or of the file system. */
static int
errno_code(int e)
{
	switch (e) {
	case EINVAL:
		return EX_CONFIG;	/* malformed users file */
	case EACCES: case EPERM: case EROFS: case ENOSPC: case EDQUOT:
	case EFBIG: case ENAMETOOLONG:
		return EX_CANTCREAT;
	default:
		return EX_IOERR;
	}
}

static int
file_error(const char *path, int e)
{
	if (e == EINVAL)
		return say(EX_CONFIG, "%s: malformed file (see users(5))",
		    path);
	return say(errno_code(e), "%s: %s", path, strerror(e));
}

/* A domain as a directory name: lowercase, no '/', no leading '.'. */
static int
domain_ok(char *d)
{
	str_lower(d);
	return d[0] != '\0' && d[0] != '.' && strchr(d, '/') == NULL &&
	    strlen(d) <= ADDR_DOMAIN_MAX;
}

/* USER@DOMAIN into name and domain, both lowercase; 0 or an exit code. */
static int
parse_user(const char *arg, char name[USERS_NAME_MAX + 1],
    char domain[ADDR_DOMAIN_MAX + 1])
{
	struct addr a;
	enum addr_err e;

	if ((e = addr_parse(arg, strlen(arg), ADDR_UTF8, &a)) != ADDR_OK)
		return say(EX_DATAERR, "%s: %s", arg, addr_strerror(e));
	if (a.null || a.literal || a.domain[0] == '\0')
		return say(EX_DATAERR, "%s: want user@domain", arg);
	str_lower(a.local);
	if (!users_name_valid(a.local))
		return say(EX_DATAERR, "%s: not a valid user name "
		    "(see users(5))", arg);
	if (str_copy(domain, ADDR_DOMAIN_MAX + 1, a.domain) == -1 ||
	    !domain_ok(domain))
		return say(EX_DATAERR, "%s: not a valid domain", arg);
	if (str_copy(name, USERS_NAME_MAX + 1, a.local) == -1)
		return say(EX_DATAERR, "%s: not a valid user name", arg);
	return 0;
}

/* Read a line from fd into pw: 0, -1 with errno (E2BIG: too long). */
static int
read_line(int fd, char *pw, size_t *len)
{
	ssize_t n;
	char c;

	*len = 0;
	for (;;) {
		n = read(fd, &c, 1);	/* leave what follows for others */
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (*len == PW_BUF - 1) {
			errno = E2BIG;
			return -1;
		}
		pw[(*len)++] = c;
	}
	if (*len > 0 && pw[*len - 1] == '\r')
		(*len)--;
	pw[*len] = '\0';
	if (*len > PASSWD_MAX) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

static int
fd_write(int fd, const char *s)
{
	return fd_write_all(fd, s, strlen(s));
}

/* Prompt on the terminal with echo off.  The signals that the keyboard
 * sends are held while echo is off, so that ^C or ^Z cannot leave the
 * terminal silent; an interrupt held that way cancels the entry and is
 * delivered once the terminal is restored and the buffer wiped. */
static int
prompt(int tty, const char *msg, char *pw, size_t *len)
{
	struct termios old, quiet;
	sigset_t block, saved, pending;
	int rc = -1, e = 0, restored;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &saved) == -1)
		return -1;
	if (tcgetattr(tty, &old) == -1) {
		e = errno;
		goto out;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	while (tcsetattr(tty, TCSAFLUSH, &quiet) == -1) {
		if (errno != EINTR) {
			e = errno;
			goto out;
		}
	}
	if (fd_write(tty, msg) == 0 && read_line(tty, pw, len) == 0)
		rc = 0;
	else
		e = errno;
	restored = 0;
	while (!restored)
		restored = tcsetattr(tty, TCSANOW, &old) == 0 || errno != EINTR;
	if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) ||
	    sigismember(&pending, SIGQUIT) || sigismember(&pending, SIGTERM) ||
	    sigismember(&pending, SIGHUP)) && rc == 0) {
		sodium_memzero(pw, PW_BUF);
		rc = -1;
		e = EINTR;
	}
out:
	sigprocmask(SIG_SETMASK, &saved, NULL);	/* a held ^C ends us here */
	errno = e;
	return rc;
}

static int
entry_error(const char *what)
{
	if (errno == E2BIG)
		return say(EX_DATAERR, "password longer than %d bytes",
		    PASSWD_MAX);
	return say(EX_IOERR, "%s: %s", what, strerror(errno));
}

/* The first line of file (-p): a script's, so no prompt and no second
 * entry.  0 or -1 with errno, and the message for entry_error in what. */
static int
read_file_line(const char *file, char *pw, size_t *len)
{
	int fd, rc, e;

	do
		fd = open(file, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	rc = read_line(fd, pw, len);
	e = errno;
	(void)close(fd);
	errno = e;
	return rc;
}

/* The password: the first line of file when it is not NULL (-p), else a
 * line of standard input, or when that is a terminal a prompt (twice when
 * twice is set).  0 or an exit code, with pw wiped. */
static int
get_password(const char *who, const char *file, int twice, char *pw,
    size_t *len)
{
	char again[PW_BUF], msg[USERS_NAME_MAX + ADDR_DOMAIN_MAX + 32];
	size_t len2;
	int tty = -1, code = EX_IOERR;

	if (file != NULL) {
		if (read_file_line(file, pw, len) == -1) {
			code = entry_error(file);
			goto fail;
		}
	} else if (!isatty(STDIN_FILENO)) {
		if (read_line(STDIN_FILENO, pw, len) == -1) {
			code = entry_error("standard input");
			goto fail;
		}
	} else {
		do
			tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		while (tty == -1 && errno == EINTR);
		if (tty == -1) {
			code = say(EX_IOERR, "/dev/tty: %s", strerror(errno));
			goto fail;
		}
		if (str_fmt(msg, sizeof(msg), "Password for %s: ", who) ==
		    -1 || prompt(tty, msg, pw, len) == -1) {
			code = entry_error("password entry");
			goto fail;
		}
		if (twice && *len > 0) {
			if (prompt(tty, "Retype password: ", again,
			    &len2) == -1) {
				code = entry_error("password entry");
				goto fail;
			}
			if (len2 != *len || sodium_memcmp(again, pw,
			    *len) != 0) {
				code = say(EX_DATAERR, "passwords differ");
				goto fail;
			}
		}
		close(tty);
		tty = -1;
	}
	sodium_memzero(again, sizeof(again));
	if (*len == 0) {
		code = say(EX_DATAERR, "empty password refused");
		goto fail;
	}
	if (memchr(pw, '\0', *len) != NULL) {
		/* SASL PLAIN (RFC 4616) could never send it. */
		code = say(EX_DATAERR, "password contains a NUL byte");
		goto fail;
	}
	return 0;
fail:
	sodium_memzero(again, sizeof(again));
	sodium_memzero(pw, PW_BUF);
	*len = 0;
	if (tty != -1)
		close(tty);
	return code;
}

/* Make DIR/domains/DOMAIN if missing, saying so: it makes DOMAIN local. */
static int
make_domain_dir(const char *path, const char *domain)
{
	char parent[PATH_MAX];
	char *slash;
	struct stat st;

	if (str_copy(parent, sizeof(parent), path) == -1 ||
	    (slash = strrchr(parent, '/')) == NULL)
		return say(EX_CANTCREAT, "%s: bad path", path);
	*slash = '\0';
	if (mkdir(parent, DOMAIN_DIR_MODE) == -1 && errno != EEXIST)
		return say(EX_CANTCREAT, "%s: %s", parent, strerror(errno));
	if (mkdir(path, DOMAIN_DIR_MODE) == -1) {
		if (errno == EEXIST)
			return 0;
		return say(EX_CANTCREAT, "%s: %s", path, strerror(errno));
	}
	/* Whatever the umask, and with the group of domains/. */
	if (chmod(path, DOMAIN_DIR_MODE) == -1 || stat(parent, &st) == -1 ||
	    chown(path, (uid_t)-1, st.st_gid) == -1)
		return say(EX_CANTCREAT, "%s: %s", path, strerror(errno));
	say(0, "created %s: %s is now a local domain", path, domain);
	return 0;
}

/* The options of add and check (opts: "rp:" or "p:"), argv[0] being
 * the command: *ro and *file set, argc and argv left at the operand.
 * 0, or EX_USAGE. */
static int
cmd_options(int *argc, char ***argv, const char *opts, int *ro,
    const char **file)
{
	char optstring[8];
	int c;

	/* "+": the operand ends the options; ":" our own message. */
	if (str_fmt(optstring, sizeof(optstring), "+:%s", opts) == -1)
		return EX_USAGE;
	optind = 0;		/* glibc: start again, at argv[1] */
	while ((c = getopt(*argc, *argv, optstring)) != -1) {
		switch (c) {
		case 'r':
			*ro = 1;
			break;
		case 'p':
			*file = optarg;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (*ro && *file != NULL) {
		say(0, "-r takes no password, and -p gives one");
		usage();
		return EX_USAGE;
	}
	/* What follows the options is the operand, as argv[1]. */
	*argc -= optind - 1;
	*argv += optind - 1;
	return 0;
}

static int
cmd_add(const struct conf *conf, int argc, char **argv)
{
	char name[USERS_NAME_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	char dir[PATH_MAX], path[PATH_MAX], hash[PASSWD_HASH_MAX];
	char pw[PW_BUF], who[ADDR_TEXT_MAX];
	const char *file = NULL;
	size_t len = 0;
	int ro = 0, code;
	enum users_result had;

	if ((code = cmd_options(&argc, &argv, "rp:", &ro, &file)) != 0)
		return code;
	if (argc != 2) {
		usage();
		return EX_USAGE;
	}
	if ((code = parse_user(argv[1], name, domain)) != 0)
		return code;
	if (conf_domain_path(conf, domain, NULL, dir, sizeof(dir)) == -1 ||
	    conf_domain_path(conf, domain, USERS_FILE, path,
	    sizeof(path)) == -1)
		return say(EX_CANTCREAT, "%s: path too long", domain);
	if (str_fmt(who, sizeof(who), "%s@%s", name, domain) == -1)
		return say(EX_DATAERR, "%s: too long", argv[1]);
	if (ro)
		memcpy(hash, USERS_RECEIVE_ONLY, sizeof(USERS_RECEIVE_ONLY));
	else {
		if ((code = get_password(who, file, 1, pw, &len)) != 0)
			return code;
		code = passwd_hash(pw, len, hash) == -1 ? errno : 0;
		sodium_memzero(pw, sizeof(pw));
		if (code != 0)
			return say(EX_IOERR, "hashing: %s", strerror(code));
	}
	if ((code = make_domain_dir(dir, domain)) != 0)
		return code;
	/* Only for the message: the change itself is made under the lock. */
	if ((had = users_lookup(path, name, NULL, 0)) == USERS_ERROR)
		return file_error(path, errno);
	if (users_set(path, name, hash) == -1)
		return file_error(path, errno);
	if (had == USERS_FOUND)
		say(0, "%s@%s: %s", name, domain,
		    ro ? "now receive-only" : "password changed");
	else
		say(0, "added %s@%s%s", name, domain,
		    ro ? ", receive-only" : "");
	return 0;
}

/* The one argument of del and check, user@domain: the name, the domain
 * and the path of the domain's users file.  0, or the exit code. */
static int
user_arg(const struct conf *conf, int argc, char **argv,
    char name[USERS_NAME_MAX + 1], char domain[ADDR_DOMAIN_MAX + 1],
    char path[PATH_MAX])
{
	int code;

	if (argc != 2) {
		usage();
		return EX_USAGE;
	}
	if ((code = parse_user(argv[1], name, domain)) != 0)
		return code;
	if (conf_domain_path(conf, domain, USERS_FILE, path, PATH_MAX) == -1)
		return say(EX_DATAERR, "%s: path too long", domain);
	return 0;
}

static int
is_domain_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
count_user(void *arg, const char *name, int receive_only)
{
	(void)name;
	(void)receive_only;
	(*(size_t *)arg)++;
	return 0;
}

/* What the domain directory dir still holds, as "aliases, dkim/, users"
 * into buf: its number of entries. */
static size_t
dir_contents(const char *dir, char *buf, size_t size)
{
	struct dirent **ents = NULL;
	struct stat st;
	char path[PATH_MAX];
	size_t len = 0, k = 0;
	int i, n;

	buf[0] = '\0';
	if ((n = scandir(dir, &ents, is_domain_entry, alphasort)) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		int dirent_is_dir = str_fmt(path, sizeof(path), "%s/%s", dir,
		    ents[i]->d_name) == 0 && stat(path, &st) == 0 &&
		    S_ISDIR(st.st_mode);

		if (len < size)
			str_fmt_cut(buf + len, size - len, "%s%s%s",
			    k > 0 ? ", " : "", ents[i]->d_name,
			    dirent_is_dir ? "/" : "");
		len = strlen(buf);
		k++;
		free(ents[i]);
	}
	free(ents);
	return k;
}

/* After del: what is left of the user and of the domain, said, since
 * neither goes with the line of the users file. */
static void
left_behind(const struct conf *conf, const char *name, const char *domain,
    const char *path)
{
	char maildir[PATH_MAX], dir[PATH_MAX], what[1024];
	struct stat st;
	size_t users = 0;

	if (str_fmt(maildir, sizeof(maildir), "%s/%s/%s", conf->maildirs,
	    domain, name) == 0 && stat(maildir, &st) == 0)
		say(0, "%s@%s: the mail already delivered stays in %s/ "
		    "(remove it yourself when it is not wanted)", name, domain,
		    maildir);
	if (users_list(path, count_user, &users) == -1 || users > 0 ||
	    conf_domain_path(conf, domain, NULL, dir, sizeof(dir)) == -1)
		return;
	(void)dir_contents(dir, what, sizeof(what));
	say(0, "%s has no users left but is still a local domain: %s holds "
	    "%s, and mail for its postmaster and its aliases is still "
	    "accepted.  To stop receiving mail for %s: rm -r %s", domain,
	    dir, what[0] != '\0' ? what : "nothing", domain, dir);
}

static int
cmd_del(const struct conf *conf, int argc, char **argv)
{
	char name[USERS_NAME_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	char path[PATH_MAX];
	int code;

	if ((code = user_arg(conf, argc, argv, name, domain, path)) != 0)
		return code;
	switch (users_del(path, name)) {
	case USERS_FOUND:
		say(0, "removed %s@%s from %s", name, domain, path);
		left_behind(conf, name, domain, path);
		return 0;
	case USERS_NOTFOUND:
		return say(EXIT_NO, "%s@%s: no such user", name, domain);
	default:
		return file_error(path, errno);
	}
}

static int
print_user(void *arg, const char *name, int receive_only)
{
	printf("%s@%s%s\n", name, (const char *)arg,
	    receive_only ? "\treceive-only" : "");
	return 0;
}

static int
list_domain(const struct conf *conf, const char *domain)
{
	char path[PATH_MAX];

	if (conf_domain_path(conf, domain, USERS_FILE, path,
	    sizeof(path)) == -1)
		return say(EX_DATAERR, "%s: path too long", domain);
	if (users_list(path, print_user, (void *)domain) == -1)
		return file_error(path, errno);
	return 0;
}

static int
cmd_list(const struct conf *conf, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1], path[PATH_MAX];
	struct dirent **ents = NULL;
	struct stat st;
	int i, n, code = 0, c;

	if (argc > 2) {
		usage();
		return EX_USAGE;
	}
	if (argc == 2) {
		if (str_copy(domain, sizeof(domain), argv[1]) == -1 ||
		    !domain_ok(domain))
			return say(EX_DATAERR, "%s: not a valid domain",
			    argv[1]);
		if (conf_domain_path(conf, domain, NULL, path,
		    sizeof(path)) == -1)
			return say(EX_DATAERR, "%s: path too long", domain);
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			return say(EXIT_NO, "%s: not a local domain (no %s)",
			    domain, path);
		code = list_domain(conf, domain);
		goto out;
	}
	if (str_fmt(path, sizeof(path), "%s/" DOMAINS_DIR, conf->dir) == -1)
		return say(EX_DATAERR, "%s: path too long", conf->dir);
	if ((n = scandir(path, &ents, is_domain_entry, alphasort)) == -1) {
		if (errno == ENOENT)
			goto out;	/* no domain yet */
		return say(EX_IOERR, "%s: %s", path, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (str_copy(domain, sizeof(domain), ents[i]->d_name) == 0 &&
		    conf_domain_path(conf, domain, NULL, path,
		    sizeof(path)) == 0 && stat(path, &st) == 0 &&
		    S_ISDIR(st.st_mode) &&
		    (c = list_domain(conf, domain)) != 0)
			code = c;	/* the others are still listed */
		free(ents[i]);
	}
	free(ents);
out:
	if (fflush(stdout) == EOF || ferror(stdout))
		return say(EX_IOERR, "standard output: %s", strerror(errno));
	return code;
}

static int
cmd_check(const struct conf *conf, int argc, char **argv)
{
	char name[USERS_NAME_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	char path[PATH_MAX], hash[USERS_HASH_MAX], pw[PW_BUF];
	char who[ADDR_TEXT_MAX];
	const char *file = NULL;
	size_t len = 0;
	int ro = 0, code;

	if ((code = cmd_options(&argc, &argv, "p:", &ro, &file)) != 0)
		return code;
	if ((code = user_arg(conf, argc, argv, name, domain, path)) != 0)
		return code;
	if (str_fmt(who, sizeof(who), "%s@%s", name, domain) == -1)
		return say(EX_DATAERR, "%s: too long", argv[1]);
	/* Read first, so that standard input is consumed the same way
	 * whoever the user is. */
	if ((code = get_password(who, file, 0, pw, &len)) != 0)
		return code;
	switch (users_lookup(path, name, hash, sizeof(hash))) {
	case USERS_FOUND:
		break;
	case USERS_NOTFOUND:
		code = say(EXIT_NO, "%s: no such user in %s", who, path);
		goto out;
	default:
		code = file_error(path, errno);
		goto out;
	}
	if (strcmp(hash, USERS_RECEIVE_ONLY) == 0)
		code = say(EXIT_NO, "%s: receive-only, cannot log in", who);
	else if (passwd_verify(hash, pw, len) == -1)
		code = say(EXIT_NO, "%s: wrong password (checked against %s)",
		    who, path);
	else {
		/* The verdict, where a script's output goes; the failures
		 * above are errors, on standard error. */
		printf("%s: password right (checked against %s)\n", who,
		    path);
		if (fflush(stdout) == EOF || ferror(stdout))
			code = say(EX_IOERR, "standard output: %s",
			    strerror(errno));
	}
out:
	sodium_memzero(pw, sizeof(pw));
	return code;
}

int
main(int argc, char **argv)
{
	struct conf conf;
	char err[1024];
	const char *opt = NULL, *dir;
	int c;

	while ((c = getopt(argc, argv, "+C:")) != -1) {
		switch (c) {
		case 'C':
			opt = optarg;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return EX_USAGE;
	}
	dir = conf_dir(opt);
	if (conf_load(&conf, dir, err, sizeof(err)) == -1)
		return say(EX_CONFIG, "%s", err);
	if (strcmp(argv[0], "add") == 0)
		return cmd_add(&conf, argc, argv);
	if (strcmp(argv[0], "del") == 0)
		return cmd_del(&conf, argc, argv);
	if (strcmp(argv[0], "list") == 0)
		return cmd_list(&conf, argc, argv);
	if (strcmp(argv[0], "check") == 0)
		return cmd_check(&conf, argc, argv);
	usage();
	return EX_USAGE;
}
