/* conf.c — read posthorn.conf.  Every key has a default that
 * works, so a missing file is a working configuration; anything the file
 * says that we do not understand is an error naming the file and line, so
 * a typo never silently falls back to a default.  Keys live in one table
 * (name, parser, field): a new key is one line there. */

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "fileline.h"
#include "idna.h"
#include "str.h"

enum {
	LABEL_MAX = 63,			/* RFC 1035 §2.3.4 */
	/* a name in U-labels: up to 4 octets of UTF-8 for one of an
	 * A-label */
	DOMAIN_OTHER_MAX = 4 * CONF_HOSTNAME_MAX,
	/* A line, its LF and the NUL: fileline_get's buffer. */
	CONF_LINE_BUF = CONF_LINE_MAX + 2
};

/* A parser checks value and stores it in field[size]: NULL, or why not. */
typedef const char *conf_parser(const struct conf *, const char *value,
    void *field, size_t size);

static conf_parser parse_hostname, parse_path, parse_size, parse_minfree,
    parse_chars, parse_duration, parse_count, parse_string, parse_addr4,
    parse_addr6, parse_bool, parse_srs_hash, parse_user, parse_dnssec,
    parse_command, parse_spam, parse_zones, parse_dmarc_action,
    parse_checks_timeout, parse_socket;

struct conf_key {
	const char	*name;
	conf_parser	*parse;
	size_t		 off, size;
	int		 empty_ok;	/* "key =" is a value */
};

#define FIELD(f)	offsetof(struct conf, f), sizeof(((struct conf *)0)->f)

static const struct conf_key conf_keys[] = {
	{ "hostname",		parse_hostname,	FIELD(hostname), 0 },
	{ "spool",		parse_path,	FIELD(spool), 0 },
	{ "maildirs",		parse_path,	FIELD(maildirs), 0 },
	{ "tls_cert",		parse_path,	FIELD(tls_cert), 0 },
	{ "tls_key",		parse_path,	FIELD(tls_key), 0 },
	{ "tls_priority",	parse_string,	FIELD(tls_priority), 0 },
	{ "max_message_size",	parse_size,	FIELD(max_message_size), 0 },
	{ "queue_minfree",	parse_minfree,	FIELD(queue_minfree), 0 },
	{ "drop_characters",	parse_chars,	FIELD(drop_characters), 1 },
	{ "suffix_separators",	parse_chars,	FIELD(suffix_separators), 1 },
	{ "queue_lifetime",	parse_duration,	FIELD(queue_lifetime), 0 },
	{ "delay_warning_time",	parse_duration,	FIELD(delay_warning_time), 0 },
	{ "command_timeout",	parse_duration,	FIELD(command_timeout), 0 },
	{ "max_deliveries",	parse_count,	FIELD(max_deliveries), 0 },
	{ "max_per_destination", parse_count,	FIELD(max_per_destination), 0 },
	{ "smtp_reuse_limit",	parse_count,	FIELD(smtp_reuse_limit), 0 },
	{ "smtp_reuse_idle",	parse_duration,	FIELD(smtp_reuse_idle), 0 },
	{ "smtp_reply_timeout",	parse_duration,	FIELD(smtp_reply_timeout), 0 },
	{ "auth_source_failures", parse_count,	FIELD(auth_source_failures), 0 },
	{ "auth_login_failures", parse_count,	FIELD(auth_login_failures), 0 },
	{ "auth_dovecot",	parse_socket,	FIELD(auth_dovecot), 1 },
	{ "bind4",		parse_addr4,	FIELD(bind4), 0 },
	{ "bind6",		parse_addr6,	FIELD(bind6), 0 },
	{ "srs_secret_file",	parse_path,	FIELD(srs_secret_file), 0 },
	{ "srs_hash_length",	parse_srs_hash,	FIELD(srs_hash_length), 0 },
	{ "srs_hash_min",	parse_srs_hash,	FIELD(srs_hash_min), 0 },
	{ "srs_postsrsd_compat", parse_bool,	FIELD(srs_postsrsd_compat), 0 },
	{ "mta_sts_ca",		parse_path,	FIELD(mta_sts_ca), 0 },
	{ "command_user",	parse_user,	FIELD(command_user), 0 },
	{ "dnssec",		parse_dnssec,	FIELD(dnssec), 0 },
	{ "dnssec_trust_anchor", parse_path,	FIELD(dnssec_trust_anchor), 0 },
	{ "filter",		parse_command,	FIELD(filter), 1 },
	{ "filter_submission",	parse_bool,	FIELD(filter_submission), 0 },
	{ "filter_timeout",	parse_duration,	FIELD(filter_timeout), 0 },
	{ "filter_spam",	parse_spam,	FIELD(filter_spam), 0 },
	{ "dnsbl",		parse_zones,	FIELD(dnsbl), 1 },
	{ "arc_seal",		parse_bool,	FIELD(arc_seal), 0 },
	{ "checks",		parse_bool,	FIELD(checks), 0 },
	{ "checks_header",	parse_bool,	FIELD(checks_header), 0 },
	{ "checks_timeout",	parse_checks_timeout, FIELD(checks_timeout), 0 },
	{ "spf_refuse",		parse_bool,	FIELD(spf_refuse), 0 },
	{ "dmarc_reject",	parse_dmarc_action, FIELD(dmarc_reject), 0 },
	{ "dmarc_quarantine",	parse_dmarc_action, FIELD(dmarc_quarantine), 0 },
};

enum { NKEYS = sizeof(conf_keys) / sizeof(conf_keys[0]) };

const char *
conf_dir(const char *opt)
{
	const char *e;

	/* A set-id program must not read a configuration its caller chose. */
	if (getauxval(AT_SECURE) != 0)
		return CONF_DIR_DEFAULT;
	if (opt != NULL && *opt != '\0')
		return opt;
	if ((e = getenv("POSTHORN_CONF")) != NULL && *e != '\0')
		return e;
	return CONF_DIR_DEFAULT;
}

int
conf_valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0, i;
	unsigned char c;

	if (len == 0 || len > CONF_HOSTNAME_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		c = (unsigned char)s[i];
		if (c == '.' || c == '\0') {
			/* LDH: no empty label, no hyphen at either end. */
			if (label == 0 || label > LABEL_MAX ||
			    s[i - 1] == '-' || s[i - label] == '-')
				return 0;
			label = 0;
		} else if (isascii(c) && (isalnum(c) || c == '-'))
			label++;
		else
			return 0;
	}
	return 1;
}

static const char *
parse_hostname(const struct conf *c, const char *v, void *field, size_t size)
{
	char a[CONF_HOSTNAME_MAX + 1];

	(void)c;
	/* A name in U-labels is kept as its A-labels: what EHLO, the
	 * greeting and the PTR record carry (RFC 5890 §2.3.2.1). */
	if (idna_is_intl(v)) {
		if (idna_to_ascii(v, a, sizeof(a)) != IDNA_OK)
			return "not a valid international host name "
			    "(RFC 5891)";
		v = a;
	}
	if (!conf_valid_hostname(v))
		return "not a valid host name (letters, digits, '-' and dots)";
	if (str_copy(field, size, v) == -1)
		return "host name too long";
	str_lower(field);
	return NULL;
}

static const char *
parse_path(const struct conf *c, const char *v, void *field, size_t size)
{
	int r;

	if (v[0] == '/')
		r = str_copy(field, size, v);
	else
		r = str_fmt(field, size, "%s/%s", c->dir, v);
	return r == -1 ? "path too long" : NULL;
}

/* A UNIX socket's path (relative to the configuration directory, as
 * every path), "" for none; it must fit sockaddr_un's sun_path. */
static const char *
parse_socket(const struct conf *c, const char *v, void *field, size_t size)
{
	char *f = field;

	if (*v == '\0') {
		f[0] = '\0';
		return NULL;
	}
	if (parse_path(c, v, field, size) != NULL ||
	    strlen(f) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return "path too long for a UNIX socket";
	return NULL;
}

/* "123", "64K", "50M", "1G": bytes into *out; NULL, or why not. */
static const char *
parse_bytes(const char *v, uint64_t *out)
{
	uint64_t n = 0, d;
	unsigned shift = 0;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return "not a number";
	for (; isdigit((unsigned char)*p); p++) {
		d = (uint64_t)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return "number too large";
		n = n * 10 + d;
	}
	switch (*p) {
	case '\0':
		break;
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	default:
		return "not a number with an optional K, M or G suffix";
	}
	if (shift != 0 && *++p != '\0')
		return "not a number with an optional K, M or G suffix";
	if (n > (UINT64_MAX >> shift))
		return "number too large";
	*out = n << shift;
	return NULL;
}

/* A size within [min, max] into the uint64_t field, or why not. */
static const char *
parse_bytes_within(const char *v, void *field, uint64_t min, uint64_t max,
    const char *range)
{
	const char *why;
	uint64_t n;

	if ((why = parse_bytes(v, &n)) != NULL)
		return why;
	if (n < min || n > max)
		return range;
	*(uint64_t *)field = n;
	return NULL;
}

static const char *
parse_size(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	(void)size;
	return parse_bytes_within(v, field, CONF_MAX_MESSAGE_SIZE_MIN,
	    CONF_MAX_MESSAGE_SIZE_MAX, "must be between 1K and 4G");
}

static const char *
parse_minfree(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	(void)size;
	return parse_bytes_within(v, field, 0, CONF_QUEUE_MINFREE_MAX,
	    "must be at most 1024G");
}

/* An address of one family, as inet_pton reads it. */
static const char *
parse_addr(int af, const char *v, void *field, size_t size)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(af, v, buf) != 1)
		return af == AF_INET ? "not an IPv4 address" :
		    "not an IPv6 address";
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

static const char *
parse_addr4(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	return parse_addr(AF_INET, v, field, size);
}

static const char *
parse_addr6(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	return parse_addr(AF_INET6, v, field, size);
}

/* One name of conf_valid_user, n bytes of s. */
static int
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > CONF_NAME_MAX || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
conf_valid_user(const char *s)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL)
		return valid_name(s, strlen(s));
	return valid_name(s, (size_t)(colon - s)) &&
	    valid_name(colon + 1, strlen(colon + 1));
}

static const char *
parse_user(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	if (!conf_valid_user(v))
		return "not USER or USER:GROUP (letters, digits, '.', '_', "
		    "'-')";
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

/* Text that another program interprets (tls_priority: GnuTLS). */
static const char *
parse_string(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

/* Characters that may be dropped from, or end, a local part: printable
 * ASCII that is not '@', a quote or a backslash, once each. */
static const char *
parse_chars(const struct conf *c, const char *v, void *field, size_t size)
{
	const char *p;

	(void)c;
	for (p = v; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~' || strchr("@\"\\", *p) != NULL)
			return "only printable ASCII other than '@', '\"' "
			    "and '\\'";
		if (strchr(p + 1, *p) != NULL)
			return "a character given twice";
	}
	return str_copy(field, size, v) == -1 ? "too many characters" : NULL;
}

/* A decimal number up to max into *n; the rest of the string in *end. */
static const char *
parse_number(const char *v, long max, long *n, const char **end)
{
	long d;

	*n = 0;
	if (!isdigit((unsigned char)*v))
		return "not a number";
	for (; isdigit((unsigned char)*v); v++) {
		d = *v - '0';
		if (*n > (max - d) / 10)
			return "number too large";
		*n = *n * 10 + d;
	}
	*end = v;
	return NULL;
}

/* "90", "90s", "15m", "2h", "5d": seconds, at most a year. */
static const char *
parse_duration(const struct conf *c, const char *v, void *field, size_t size)
{
	const char *why, *end;
	long n, unit;

	(void)c;
	(void)size;
	if ((why = parse_number(v, CONF_DURATION_MAX, &n, &end)) != NULL)
		return why;
	switch (*end) {
	case '\0': case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 24 * 3600;
		break;
	default:
		return "not a duration (a number, then s, m, h or d)";
	}
	if (*end != '\0' && end[1] != '\0')
		return "not a duration (a number, then s, m, h or d)";
	if (n > CONF_DURATION_MAX / unit)
		return "longer than a year";
	*(long *)field = n * unit;
	return NULL;
}

static const char *
parse_count(const struct conf *c, const char *v, void *field, size_t size)
{
	const char *why, *end;
	long n;

	(void)c;
	(void)size;
	if ((why = parse_number(v, CONF_CONCURRENCY_MAX, &n, &end)) != NULL)
		return why;
	if (*end != '\0')
		return "not a number";
	if (n < 1)
		return "must be at least 1";
	*(unsigned *)field = (unsigned)n;
	return NULL;
}

/* "yes" or "no": 1 or 0 in an int. */
static const char *
parse_bool(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	(void)size;
	if (strcmp(v, "yes") == 0)
		*(int *)field = 1;
	else if (strcmp(v, "no") == 0)
		*(int *)field = 0;
	else
		return "must be yes or no";
	return NULL;
}

/* "validate" or "off".  No "trust the AD bit" word: the resolver of
 * /etc/resolv.conf is often another machine's, and its AD bit crosses
 * the network unauthenticated (posthorn.conf(5)). */
static const char *
parse_dnssec(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	if (strcmp(v, "validate") != 0 && strcmp(v, "off") != 0)
		return "must be validate or off";
	if (str_copy(field, size, v) == -1)
		return "too long";
	return NULL;
}

/* A program and its arguments, separated by blanks, no shell: an
 * absolute path first, printable ASCII throughout. */
static const char *
parse_command(const struct conf *c, const char *v, void *field, size_t size)
{
	const char *p;

	(void)c;
	if (*v == '\0') {
		*(char *)field = '\0';
		return NULL;
	}
	if (*v != '/')
		return "the program must be an absolute path";
	for (p = v; *p != '\0'; p++)
		if ((*p < ' ' || *p > '~') && *p != '\t')
			return "only printable ASCII";
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

static const char *
parse_spam(const struct conf *c, const char *v, void *field, size_t size)
{
	(void)c;
	if (strcmp(v, CONF_FILTER_SPAM_REFUSE) != 0 &&
	    strcmp(v, CONF_FILTER_SPAM_LOCAL) != 0)
		return "must be " CONF_FILTER_SPAM_REFUSE " or "
		    CONF_FILTER_SPAM_LOCAL;
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

/* What becomes of a message failing DMARC: refuse or local. */
static const char *
parse_dmarc_action(const struct conf *c, const char *v, void *field,
    size_t size)
{
	(void)c;
	if (strcmp(v, CONF_DMARC_REFUSE) != 0 &&
	    strcmp(v, CONF_DMARC_LOCAL) != 0)
		return "must be " CONF_DMARC_REFUSE " or " CONF_DMARC_LOCAL;
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

/* A duration of 1 to CONF_CHECKS_TIMEOUT_MAX seconds. */
static const char *
parse_checks_timeout(const struct conf *c, const char *v, void *field,
    size_t size)
{
	const char *e;

	if ((e = parse_duration(c, v, field, size)) != NULL)
		return e;
	if (*(long *)field < 1 || *(long *)field > CONF_CHECKS_TIMEOUT_MAX)
		return "must be 1 to 60 seconds";
	return NULL;
}

/* DNS zones separated by blanks, each a host name. */
static const char *
parse_zones(const struct conf *c, const char *v, void *field, size_t size)
{
	char zone[CONF_HOSTNAME_MAX + 1];
	const char *p = v, *w;
	size_t n;

	(void)c;
	while ((w = str_word(&p, &n)) != NULL) {
		if (n >= sizeof(zone))
			return "a zone name longer than 253 bytes";
		memcpy(zone, w, n);
		zone[n] = '\0';
		if (!conf_valid_hostname(zone))
			return "not a list of DNS zones";
	}
	return str_copy(field, size, v) == -1 ? "too long" : NULL;
}

/* A number of SRS hash characters, CONF_SRS_HASH_LENGTH_MIN..MAX. */
static const char *
parse_srs_hash(const struct conf *c, const char *v, void *field, size_t size)
{
	const char *why, *end;
	long n;

	(void)c;
	(void)size;
	if ((why = parse_number(v, CONF_SRS_HASH_LENGTH_MAX, &n, &end)) !=
	    NULL)
		return why;
	if (*end != '\0')
		return "not a number";
	if (n < CONF_SRS_HASH_LENGTH_MIN)
		return "must be at least 4 (24 bits)";
	*(unsigned *)field = (unsigned)n;
	return NULL;
}

/* c->dir: absolute (programs may chdir), without trailing slashes. */
static int
set_dir(struct conf *c, const char *dir)
{
	char cwd[PATH_MAX];
	size_t n;
	int r;

	if (dir[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (dir[0] == '/')
		r = str_copy(c->dir, sizeof(c->dir), dir);
	else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -1;
		r = str_fmt(c->dir, sizeof(c->dir), "%s/%s",
		    strcmp(cwd, "/") == 0 ? "" : cwd, dir);
	}
	if (r == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = strlen(c->dir);
	while (n > 1 && c->dir[n - 1] == '/')
		c->dir[--n] = '\0';
	return 0;
}

/* The hostname default: the system's name, asked for only when the file
 * names none (a system call that smtp-in would pay per connection). */
static int
default_hostname(struct conf *c, char *err, size_t errsz)
{
	if (c->hostname[0] != '\0')
		return 0;
	if (gethostname(c->hostname, sizeof(c->hostname)) == -1) {
		str_fmt_cut(err, errsz, "gethostname: %s", strerror(errno));
		return -1;
	}
	/* POSIX leaves a truncated name unterminated. */
	c->hostname[sizeof(c->hostname) - 1] = '\0';
	str_lower(c->hostname);
	if (c->hostname[0] == '\0' && str_copy(c->hostname,
	    sizeof(c->hostname), "localhost") == -1)
		return -1;
	return 0;
}

/* What the whole file decides, after its last line: 0, or -1 and why. */
static int
finish(struct conf *c, char *err, size_t errsz)
{
	if (c->srs_hash_min == 0)
		c->srs_hash_min = c->srs_hash_length;
	if (c->srs_hash_min > c->srs_hash_length) {
		/* Our own bounces would come back refused. */
		str_fmt_cut(err, errsz, "%s/%s: srs_hash_min is more than "
		    "srs_hash_length", c->dir, CONF_FILE);
		return -1;
	}
	return default_hostname(c, err, errsz);
}

static int
set_defaults(struct conf *c, char *err, size_t errsz)
{
	if (str_copy(c->spool, sizeof(c->spool), CONF_SPOOL_DEFAULT) == -1 ||
	    str_copy(c->maildirs, sizeof(c->maildirs),
	    CONF_MAILDIRS_DEFAULT) == -1 ||
	    str_fmt(c->tls_cert, sizeof(c->tls_cert), "%s/%s", c->dir,
	    CONF_TLS_CERT_DEFAULT) == -1 ||
	    str_fmt(c->tls_key, sizeof(c->tls_key), "%s/%s", c->dir,
	    CONF_TLS_KEY_DEFAULT) == -1 ||
	    str_copy(c->tls_priority, sizeof(c->tls_priority),
	    CONF_TLS_PRIORITY_DEFAULT) == -1 ||
	    str_fmt(c->srs_secret_file, sizeof(c->srs_secret_file), "%s/%s",
	    c->dir, CONF_SRS_SECRET_DEFAULT) == -1 ||
	    str_copy(c->dnssec, sizeof(c->dnssec), CONF_DNSSEC_DEFAULT) == -1 ||
	    str_copy(c->dnssec_trust_anchor, sizeof(c->dnssec_trust_anchor),
	    CONF_DNSSEC_TRUST_ANCHOR_DEFAULT) == -1) {
		str_fmt_cut(err, errsz, "%s: path too long", c->dir);
		return -1;
	}
	c->max_message_size = CONF_MAX_MESSAGE_SIZE_DEFAULT;
	c->queue_minfree = CONF_QUEUE_MINFREE_DEFAULT;
	(void)str_copy(c->drop_characters, sizeof(c->drop_characters),
	    CONF_DROP_CHARACTERS_DEFAULT);
	(void)str_copy(c->suffix_separators, sizeof(c->suffix_separators),
	    CONF_SUFFIX_SEPARATORS_DEFAULT);
	c->queue_lifetime = CONF_QUEUE_LIFETIME_DEFAULT;
	c->delay_warning_time = CONF_DELAY_WARNING_DEFAULT;
	c->command_timeout = CONF_COMMAND_TIMEOUT_DEFAULT;
	c->max_deliveries = CONF_MAX_DELIVERIES_DEFAULT;
	c->max_per_destination = CONF_MAX_PER_DESTINATION_DEFAULT;
	c->smtp_reuse_limit = CONF_SMTP_REUSE_LIMIT_DEFAULT;
	c->smtp_reuse_idle = CONF_SMTP_REUSE_IDLE_DEFAULT;
	c->smtp_reply_timeout = 0;
	c->auth_source_failures = CONF_AUTH_FAILURES_DEFAULT;
	c->auth_login_failures = CONF_AUTH_FAILURES_DEFAULT;
	c->srs_hash_length = CONF_SRS_HASH_LENGTH_DEFAULT;
	c->srs_hash_min = 0;		/* srs_hash_length, once it is read */
	c->srs_postsrsd_compat = 0;
	(void)str_copy(c->command_user, sizeof(c->command_user),
	    CONF_COMMAND_USER_DEFAULT);
	c->filter[0] = '\0';
	c->filter_submission = 0;
	c->arc_seal = 1;
	c->filter_timeout = CONF_FILTER_TIMEOUT_DEFAULT;
	(void)str_copy(c->filter_spam, sizeof(c->filter_spam),
	    CONF_FILTER_SPAM_REFUSE);
	c->dnsbl[0] = '\0';
	c->checks = 1;
	c->checks_header = 1;
	c->checks_timeout = CONF_CHECKS_TIMEOUT_DEFAULT;
	c->spf_refuse = 0;
	(void)str_copy(c->dmarc_reject, sizeof(c->dmarc_reject),
	    CONF_DMARC_REFUSE);
	(void)str_copy(c->dmarc_quarantine, sizeof(c->dmarc_quarantine),
	    CONF_DMARC_LOCAL);
	return 0;
}

static int
blank(int ch)
{
	/* '\r': a file saved with CR LF line ends reads the same. */
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static char *
trim(char *s, char *end)
{
	while (s < end && blank((unsigned char)*s))
		s++;
	while (end > s && blank((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* One line of the file: 0, or -1 with the reason in why[]. */
static int
parse_line(struct conf *c, char *line, unsigned lineno, unsigned *seen,
    char *why, size_t whysz)
{
	const struct conf_key *k;
	const char *reason;
	char *s, *eq, *key, *value;
	size_t i;

	for (s = line; blank((unsigned char)*s); s++)
		continue;
	if (*s == '\0' || *s == '#')
		return 0;
	if ((eq = strchr(s, '=')) == NULL) {
		str_fmt_cut(why, whysz, "missing '='");
		return -1;
	}
	key = trim(s, eq);
	value = trim(eq + 1, eq + 1 + strlen(eq + 1));
	if (*key == '\0') {
		str_fmt_cut(why, whysz, "missing key before '='");
		return -1;
	}
	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, key) == 0)
			break;
	if (i == NKEYS) {
		str_fmt_cut(why, whysz, "unknown key '%s'", key);
		return -1;
	}
	k = &conf_keys[i];
	if (seen[i] != 0) {
		str_fmt_cut(why, whysz,
		    "key '%s' given twice (first on line %u)", key, seen[i]);
		return -1;
	}
	seen[i] = lineno;
	if (*value == '\0' && !k->empty_ok) {
		str_fmt_cut(why, whysz, "empty value for '%s'", key);
		return -1;
	}
	if ((reason = k->parse(c, value, (char *)c + k->off, k->size)) !=
	    NULL) {
		str_fmt_cut(why, whysz, "bad value for '%s': %s", key, reason);
		return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *dir, char *err, size_t errsz)
{
	char line[CONF_LINE_BUF], why[512];
	unsigned seen[NKEYS], lineno = 0;
	struct fileline r;
	ssize_t n;
	int fd = -1, rc = -1;

	memset(c, 0, sizeof(*c));
	memset(seen, 0, sizeof(seen));
	if (errsz > 0)
		err[0] = '\0';
	if (set_dir(c, dir) == -1) {
		str_fmt_cut(err, errsz, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (set_defaults(c, err, errsz) == -1)
		goto out;
	/* The path goes in line[], which is free until the first read and
	 * longer than any (a page less of stack), and the messages say it
	 * as DIR/FILE.  A descriptor and a block buffer, not stdio: no
	 * malloc and no heap set up for one small file per connection. */
	if (str_fmt(line, sizeof(line), "%s/%s", c->dir, CONF_FILE) == -1) {
		str_fmt_cut(err, errsz, "%s: path too long", c->dir);
		goto out;
	}
	if ((fd = fileline_open(line)) == -1) {
		struct stat st;

		/* No file: the defaults are a configuration.  No directory: a
		 * mistyped -C or POSTHORN_CONF, which must not quietly become
		 * the defaults (and the system's spool). */
		if (errno != ENOENT)
			str_fmt_cut(err, errsz, "%s/%s: %s", c->dir,
			    CONF_FILE, strerror(errno));
		else if (stat(c->dir, &st) == -1)
			str_fmt_cut(err, errsz,
			    "configuration directory %s: %s", c->dir,
			    strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			str_fmt_cut(err, errsz,
			    "configuration directory %s: %s", c->dir,
			    strerror(ENOTDIR));
		else
			rc = finish(c, err, errsz);
		goto out;
	}
	fileline_init(&r, fd, SIZE_MAX);
	for (;;) {
		lineno++;
		/* EINVAL: longer than the buffer (maxlines is no bound). */
		if ((n = fileline_get(&r, line, sizeof(line))) == -1 &&
		    errno != EINVAL) {
			str_fmt_cut(err, errsz, "%s/%s: %s", c->dir,
			    CONF_FILE, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		/* A NUL is named before a length: a -1 filled the buffer. */
		if (memchr(line, '\0', n == -1 ? sizeof(line) - 1 :
		    (size_t)n) != NULL) {
			str_fmt_cut(err, errsz, "%s/%s:%u: NUL byte", c->dir,
			    CONF_FILE, lineno);
			goto out;
		}
		if (n == -1 || n > CONF_LINE_MAX) {
			str_fmt_cut(err, errsz,
			    "%s/%s:%u: line longer than %d bytes", c->dir,
			    CONF_FILE, lineno, CONF_LINE_MAX);
			goto out;
		}
		if (parse_line(c, line, lineno, seen, why, sizeof(why)) ==
		    -1) {
			str_fmt_cut(err, errsz, "%s/%s:%u: %s", c->dir,
			    CONF_FILE, lineno, why);
			goto out;
		}
	}
	rc = finish(c, err, errsz);
out:
	if (fd != -1)
		(void)close(fd);
	return rc;
}

/* A field holds a NUL-terminated string unless its parser stores a
 * number; bytes after a string's NUL are whatever an earlier value
 * left, and do not count. */
static int
key_is_string(const struct conf_key *k)
{
	return k->parse != parse_size && k->parse != parse_duration &&
	    k->parse != parse_count && k->parse != parse_bool &&
	    k->parse != parse_srs_hash && k->parse != parse_minfree;
}

static int
key_differs(const struct conf_key *k, const struct conf *a,
    const struct conf *b)
{
	const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;

	if (key_is_string(k))
		return strncmp(x, y, k->size) != 0;
	return memcmp(x, y, k->size) != 0;
}

int
conf_diff(const struct conf *a, const struct conf *b, char *buf,
    size_t size)
{
	size_t i, len = 0, n;
	int count = 0;

	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < NKEYS; i++) {
		if (!key_differs(&conf_keys[i], a, b))
			continue;
		count++;
		n = strlen(conf_keys[i].name);
		/* ",name" and the NUL: what does not fit is left out. */
		if (len + (len > 0) + n + 1 > size)
			continue;
		if (len > 0)
			buf[len++] = ',';
		memcpy(buf + len, conf_keys[i].name, n + 1);
		len += n;
	}
	return count;
}

int
conf_copy_key(struct conf *dst, const struct conf *src, const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, key) == 0) {
			memcpy((char *)dst + conf_keys[i].off,
			    (const char *)src + conf_keys[i].off,
			    conf_keys[i].size);
			return 0;
		}
	return -1;
}

int
conf_domain_path(const struct conf *c, const char *domain, const char *file,
    char *buf, size_t size)
{
	char other[DOMAIN_OTHER_MAX + 1];
	struct stat st;
	int r;

	/* The domain comes from a peer's address: it must name a directory
	 * under domains/ and nothing else. */
	if (domain[0] == '\0' || domain[0] == '.' ||
	    strchr(domain, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	/* An international domain's directory may have the other
	 * spelling (idna.h): bücher.example for xn--bcher-kva.example or
	 * the reverse.  ASCII names pay one scan and no system call. */
	if (idna_is_intl(domain) &&
	    idna_other(domain, other, sizeof(other)) == IDNA_OK &&
	    str_fmt(buf, size, "%s/domains/%s", c->dir, domain) == 0 &&
	    stat(buf, &st) == -1 && errno == ENOENT &&
	    str_fmt(buf, size, "%s/domains/%s", c->dir, other) == 0 &&
	    stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		domain = other;
	if (file != NULL)
		r = str_fmt(buf, size, "%s/domains/%s/%s", c->dir, domain,
		    file);
	else
		r = str_fmt(buf, size, "%s/domains/%s", c->dir, domain);
	if (r == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* --- printing the configuration (posthorn-config) ------------------------ */

int
conf_defaults(struct conf *c, const char *dir, char *err, size_t errsz)
{
	memset(c, 0, sizeof(*c));
	if (errsz > 0)
		err[0] = '\0';
	if (set_dir(c, dir) == -1) {
		str_fmt_cut(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (set_defaults(c, err, errsz) == -1 ||
	    default_hostname(c, err, errsz) == -1)
		return -1;
	/* What an empty file gives: the keys that follow others too. */
	return finish(c, err, errsz);
}

const char *
conf_key_name(size_t i)
{
	return i < NKEYS ? conf_keys[i].name : NULL;
}

/* n with the largest unit of units[] that divides it ("50M", "5d"), the
 * way a person writes it in the file; 0 and other numbers as they are. */
static int
format_unit(char *buf, size_t size, uint64_t n, const char *names,
    const uint64_t *units, size_t nunits)
{
	size_t i;

	for (i = 0; i < nunits && n != 0; i++)
		if (n % units[i] == 0)
			return str_fmt(buf, size, "%llu%c",
			    (unsigned long long)(n / units[i]), names[i]);
	return str_fmt(buf, size, "%llu", (unsigned long long)n);
}

int
conf_format(const struct conf *c, const char *key, char *buf, size_t size)
{
	static const uint64_t sizes[] = { 1u << 30, 1u << 20, 1u << 10 };
	static const uint64_t times[] = { 24 * 3600, 3600, 60 };
	const struct conf_key *k = NULL;
	const char *field;
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, key) == 0)
			k = &conf_keys[i];
	if (k == NULL) {
		errno = EINVAL;
		return -1;
	}
	field = (const char *)c + k->off;
	if (k->parse == parse_size || k->parse == parse_minfree)
		r = format_unit(buf, size, *(const uint64_t *)field, "GMK",
		    sizes, 3);
	else if (k->parse == parse_bool)
		r = str_fmt(buf, size, "%s", *(const int *)field ? "yes" : "no");
	else if (k->parse == parse_srs_hash)
		r = str_fmt(buf, size, "%u", *(const unsigned *)field);
	else if (k->parse == parse_duration ||
	    k->parse == parse_checks_timeout)
		r = format_unit(buf, size, (uint64_t)*(const long *)field,
		    "dhm", times, 3);
	else if (k->parse == parse_count)
		r = str_fmt(buf, size, "%u", *(const unsigned *)field);
	else
		r = str_fmt(buf, size, "%.*s", (int)strnlen(field, k->size),
		    field);
	if (r == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return buf[0] == '\0' && !k->empty_ok;
}
