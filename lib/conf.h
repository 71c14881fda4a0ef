/* conf.h — posthorn.conf: "key = value" lines, '#' comments, blank lines.
 * Every key has a default that works, so a missing file is fine; an
 * unknown key or a bad value is an error that names the file and line.
 * A program of one connection reads it once at start; the long-lived
 * ones (queue-run, smtp-listen) keep it current with confwatch.h. */
#ifndef POSTHORN_CONF_H
#define POSTHORN_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_DIR_DEFAULT	"/etc/posthorn"
#define CONF_FILE		"posthorn.conf"
#define CONF_SPOOL_DEFAULT	"/var/spool/posthorn"
#define CONF_MAILDIRS_DEFAULT	"/var/mail"
#define CONF_TLS_CERT_DEFAULT	"certs/fullchain.pem"	/* under the dir */
#define CONF_TLS_KEY_DEFAULT	"certs/privkey.pem"
/* A GnuTLS priority string: TLS 1.2 and 1.3 only (RFC 8996 retires 1.0
 * and 1.1), 128-bit security or more, our order of preference.  The
 * groups are SECURE128's with X25519 moved first: OpenSSL's clients (most
 * MTAs, Python's ssl) send a key share for X25519 alone, and GnuTLS, which
 * puts SECP256R1 first, answered them with a HelloRetryRequest, a round
 * trip and a second ClientHello more per handshake.  GnuTLS parses it in
 * smtp-tlsd(8); conf_load bounds it only, since smtp-in, which reads this
 * file too, does not link GnuTLS. */
#define CONF_TLS_PRIORITY_DEFAULT \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:" \
	"+GROUP-SECP521R1:+GROUP-X448:+GROUP-FFDHE2048:+GROUP-FFDHE3072:" \
	"+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192:%SERVER_PRECEDENCE"

enum {
	CONF_HOSTNAME_MAX = 253,		/* RFC 1035 name length */
	CONF_LINE_MAX = 4096,
	/* Gmail accepts 50 MB incoming; a message is counted as sent. */
	CONF_MAX_MESSAGE_SIZE_DEFAULT = 50 * 1024 * 1024,
	/* Room for the headers of a message at least. */
	CONF_MAX_MESSAGE_SIZE_MIN = 1024,
	/* Free space that the spool's file system keeps: below it smtp-in
	 * refuses mail (452 4.3.1), so that a client cannot fill the disk
	 * that holds the queue, its state files and (without systemd) the
	 * logs.  Two of the largest messages by default, as Postfix's
	 * queue_minfree asks for 1.5 times its message_size_limit. */
	CONF_QUEUE_MINFREE_DEFAULT = 2 * CONF_MAX_MESSAGE_SIZE_DEFAULT,
	CONF_CHARS_MAX = 16,			/* drop_characters, ... */
	CONF_ADDR_MAX = 45,			/* INET6_ADDRSTRLEN - 1 */
	/* tls_priority: GnuTLS's longest useful strings are ~200 bytes. */
	CONF_TLS_PRIORITY_MAX = 512,
	/* How long a message may stay queued before it bounces: 5 days,
	 * Postfix's maximal_queue_lifetime.  0 tries once. */
	CONF_QUEUE_LIFETIME_DEFAULT = 5 * 24 * 3600,
	/* A message still queued this long gets its sender a "delayed"
	 * DSN, once (RFC 3464 Action: delayed): Postfix's
	 * delay_warning_time when one turns it on.  0: none. */
	CONF_DELAY_WARNING_DEFAULT = 4 * 3600,
	/* Deliveries running at once, all destinations together, and to
	 * one destination (a mailbox, a command, a remote domain):
	 * Postfix's 100 processes and 20 per destination, the first halved
	 * for a small server. */
	CONF_MAX_DELIVERIES_DEFAULT = 50,
	CONF_MAX_PER_DESTINATION_DEFAULT = 20,
	CONF_CONCURRENCY_MAX = 1000,
	/* Failed AUTHs on record (one forgotten a minute) before a source,
	 * or a source that failed for a login that failed this often, is
	 * refused unchecked (smtp-auth(8)): three sessions' worth of three
	 * ten times over for a user who forgot a password. */
	CONF_AUTH_FAILURES_DEFAULT = 30,
	/* A pipe alias or an MDA that runs longer is killed: temporary.
	 * Postfix's command_time_limit is 1000 s. */
	CONF_COMMAND_TIMEOUT_DEFAULT = 600,
	CONF_DURATION_MAX = 365 * 24 * 3600,	/* a year, in seconds */
	/* smtp-out's connections, kept for the next message to the same
	 * next hop: at most this many messages each, and closed after this
	 * long without one (Postfix's smtp_connection_reuse_count_limit
	 * and smtp_connection_cache_time_limit are 100 and 2 s). */
	CONF_SMTP_REUSE_LIMIT_DEFAULT = 100,
	CONF_SMTP_REUSE_IDLE_DEFAULT = 2,	/* seconds */
	/* A path of the file or the configuration directory, its NUL
	 * included.  Well under PATH_MAX, so that what programs add to one
	 * (domains/DOMAIN/aliases, tmp/ID) always fits a PATH_MAX buffer;
	 * and smtp-in, which loads this struct per connection, touches
	 * (and faults in) two pages of it rather than seven. */
	CONF_PATH_MAX = 1024,
	/* command_user: "USER" or "USER:GROUP", each a name of at most
	 * 32 bytes (useradd's limit, and utmp's). */
	CONF_NAME_MAX = 32,
	CONF_USER_MAX = 2 * CONF_NAME_MAX + 1,
	/* filter: a program and its arguments (smtp-in(8)). */
	CONF_FILTER_MAX = 1024,
	/* A content filter that has not answered in this long is killed
	 * and the client told to try later: chasquid's post-data hook gets
	 * a minute as well, a spamd or clamd that takes longer is down,
	 * and a client waits ten minutes for the reply to the data (RFC
	 * 5321 §4.5.3.2.6). */
	CONF_FILTER_TIMEOUT_DEFAULT = 60,
	/* dnsbl: the zones, separated by blanks; a few zones of ~30 bytes
	 * are what anyone uses. */
	CONF_DNSBL_MAX = 512,
	/* checks_timeout: how long a session waits for the checker's
	 * verdict after the dot (and for SPF at MAIL FROM with
	 * spf_refuse) before it takes temperror.  SPF's own limit is 20 s
	 * (RFC 7208 §4.6.4) but a DNS lookup that has not answered in a
	 * few seconds rarely will; the client waits up to ten minutes
	 * for the reply to its data (RFC 5321 §4.5.3.2.6). */
	CONF_CHECKS_TIMEOUT_DEFAULT = 10,
	CONF_CHECKS_TIMEOUT_MAX = 60
};
/* Whom pipe aliases and MDAs run as (queue-runas(8)): nobody, with its
 * own group, unless the configuration says otherwise. */
#define CONF_COMMAND_USER_DEFAULT	"nobody"
/* Debian's dns-root-data: the root zone's key (RFC 7958), in the zone
 * file format that libunbound reads. */
#define CONF_DNSSEC_TRUST_ANCHOR_DEFAULT	"/usr/share/dns/root.key"
#define CONF_DNSSEC_DEFAULT		"validate"
enum { CONF_DNSSEC_WORD_MAX = 15 };	/* "validate" and a margin */
/* filter_spam: what becomes of a message that the filter judged spam
 * and that a recipient's aliases forward to another domain. */
#define CONF_FILTER_SPAM_REFUSE	"refuse"	/* 550 at DATA: the default */
#define CONF_FILTER_SPAM_LOCAL	"local"		/* local targets only */
/* dmarc_reject, dmarc_quarantine: what becomes of a message that fails
 * DMARC under that disposition. */
#define CONF_DMARC_REFUSE	"refuse"	/* 550 5.7.1 at DATA */
#define CONF_DMARC_LOCAL	"local"		/* local targets only */
#define CONF_SRS_SECRET_DEFAULT	"srs.secret"	/* under the dir */
enum {
	/* SRS hash characters written: postsrsd's (libsrs2's) and
	 * Mail::SRS's default, so that one secret makes the same addresses
	 * with all of them; 24 bits, each a base64 character. */
	CONF_SRS_HASH_LENGTH_DEFAULT = 4,
	CONF_SRS_HASH_LENGTH_MIN = 4,
	CONF_SRS_HASH_LENGTH_MAX = 27	/* base64 of HMAC-SHA1's 160 bits */
};
#define CONF_DROP_CHARACTERS_DEFAULT	"."	/* chasquid's defaults */
#define CONF_SUFFIX_SEPARATORS_DEFAULT	"+"
/* 4 GiB: far above what any receiver takes (Gmail: 50 MB), and a size
 * that a 32-bit SIZE parameter (RFC 1870) still states. */
#define CONF_MAX_MESSAGE_SIZE_MAX	(UINT64_C(4) << 30)
/* queue_minfree: 0 (off) up to 1 TiB, a bound that catches a typo. */
#define CONF_QUEUE_MINFREE_MAX		(UINT64_C(1) << 40)

struct conf {
	char		dir[CONF_PATH_MAX];	/* the configuration directory */
	char		hostname[CONF_HOSTNAME_MAX + 1];	/* lowercase */
	char		spool[CONF_PATH_MAX];
	char		maildirs[CONF_PATH_MAX];
	char		tls_cert[CONF_PATH_MAX];
	char		tls_key[CONF_PATH_MAX];
	char		tls_priority[CONF_TLS_PRIORITY_MAX + 1];
	uint64_t	max_message_size;	/* bytes, MIN..MAX above */
	uint64_t	queue_minfree;		/* bytes, 0: no floor */
	/* Local parts: these characters are ignored, and what follows the
	 * first suffix separator too (aliases(5)).  "" turns either off. */
	char		drop_characters[CONF_CHARS_MAX + 1];
	char		suffix_separators[CONF_CHARS_MAX + 1];
	long		queue_lifetime;		/* seconds */
	long		delay_warning_time;	/* seconds, 0: off */
	long		command_timeout;	/* seconds */
	unsigned	max_deliveries;
	unsigned	max_per_destination;
	unsigned	smtp_reuse_limit;	/* messages a connection */
	long		smtp_reuse_idle;	/* seconds */
	/* smtp-out's longest wait for a reply, in seconds, below RFC 5321
	 * §4.5.3.2's when not 0. */
	long		smtp_reply_timeout;
	unsigned	auth_source_failures;	/* 1..CONF_CONCURRENCY_MAX */
	unsigned	auth_login_failures;
	/* Dovecot's auth-client socket that checks AUTH's passwords
	 * instead of the users files (smtp-auth(8)), "" for the users
	 * files. */
	char		auth_dovecot[CONF_PATH_MAX];
	/* smtp-out's source addresses, "" for the kernel's choice: the PTR
	 * of the address mail leaves from must give the hostname. */
	char		bind4[CONF_ADDR_MAX + 1];
	char		bind6[CONF_ADDR_MAX + 1];
	char		srs_secret_file[CONF_PATH_MAX];	/* aliases(5), SRS */
	/* SRS hash characters written, and the fewest a bounce's hash may
	 * have (0 in the file: the same as srs_hash_length); and 1 to
	 * compare it without regard to case, as postsrsd does. */
	unsigned	srs_hash_length;
	unsigned	srs_hash_min;
	int		srs_postsrsd_compat;
	/* More trust anchors (PEM) for MTA-STS policy servers, beside the
	 * system's: "" for none (smtp-out(8)). */
	char		mta_sts_ca[CONF_PATH_MAX];
	/* "USER" or "USER:GROUP" that queue-runas(8) runs pipe aliases
	 * and MDAs as; never root, never the owner of the spool. */
	char		command_user[CONF_USER_MAX + 1];
	/* smtp-out's DNSSEC (DANE, RFC 7672): "validate" with libunbound
	 * and the trust anchors of dnssec_trust_anchor, or "off". */
	char		dnssec[CONF_DNSSEC_WORD_MAX + 1];
	char		dnssec_trust_anchor[CONF_PATH_MAX];
	/* The content filter of smtp-in: "" for none; mail of
	 * authenticated users too when filter_submission; its time limit
	 * in seconds; CONF_FILTER_SPAM_*. */
	char		filter[CONF_FILTER_MAX];
	int		filter_submission;
	/* queue-run adds an ARC set (RFC 8617) to mail from outside that
	 * an alias forwards to another domain, with a DKIM key of the
	 * forwarding domain when it has one. */
	int		arc_seal;
	long		filter_timeout;
	char		filter_spam[8];
	/* DNS blocklist zones asked at connect on port 25, blank
	 * separated; "" for none. */
	char		dnsbl[CONF_DNSBL_MAX];
	/* SPF, DKIM and DMARC of port 25 mail by smtp-checkd (smtp-in(8)):
	 * on; the Authentication-Results field added; the wait bound in
	 * seconds; SPF fail refused at MAIL FROM; what DMARC fail under
	 * p=reject and p=quarantine becomes (CONF_DMARC_*). */
	int		checks;
	int		checks_header;
	long		checks_timeout;
	int		spf_refuse;
	char		dmarc_reject[8];
	char		dmarc_quarantine[8];
};

/* The configuration directory: opt (from -C) if not NULL, else
 * $POSTHORN_CONF, else CONF_DIR_DEFAULT.  In a set-id process (AT_SECURE)
 * both opt and the environment are ignored. */
const char	*conf_dir(const char *opt);
/* Defaults, then DIR/posthorn.conf if it exists.  On error -1 and a
 * message "FILE:LINE: reason" (or "FILE: reason") in err.  dir is made
 * absolute, and so are relative paths in the file (relative to dir). */
int		 conf_load(struct conf *, const char *dir, char *err, size_t);
/* 1 if s is a DNS host name: LDH labels of 1..63 bytes separated by
 * single dots, 253 bytes at most, no trailing dot (case is not checked). */
int		 conf_valid_hostname(const char *);
/* 1 if s is "USER" or "USER:GROUP", each a portable name (letters,
 * digits, '.', '_', '-', not starting with '-', CONF_NAME_MAX bytes at
 * most): what command_user takes, in posthorn.conf and domain.conf. */
int		 conf_valid_user(const char *);
/* DIR/domains/DOMAIN (+ "/" FILE when file is not NULL) into buf: 0, or
 * -1 with EINVAL (domain empty, with a '/' or starting with '.') or
 * ENAMETOOLONG. */
/* The names of the keys whose values differ between a and b, comma
 * separated, into buf (cut at size, "" when none): their number. */
int		 conf_diff(const struct conf *a, const struct conf *b,
		    char *buf, size_t size);
/* The value of key from src into dst: 0, or -1 (no such key). */
int		 conf_copy_key(struct conf *dst, const struct conf *src,
		    const char *key);
int		 conf_domain_path(const struct conf *, const char *domain,
		    const char *file, char *buf, size_t);
/* What posthorn-config(8) prints.  conf_defaults: the configuration of
 * dir without its file, as conf_load would make it (the hostname is the
 * system's); 0 or -1 with a message in err. */
int		 conf_defaults(struct conf *, const char *dir, char *err,
		    size_t);
/* The name of the i-th key (0, 1, ...), in posthorn.conf(5)'s order;
 * NULL after the last. */
const char	*conf_key_name(size_t i);
/* The value of key in c as the file would give it ("50M", "5d", a path,
 * "" for an empty one) into buf: 0; 1 when it is "" and the file cannot
 * say so (bind4: unset, which the file says by leaving the key out); or
 * -1 (EINVAL: no such key; ENAMETOOLONG: buf is too small). */
int		 conf_format(const struct conf *c, const char *key, char *buf,
		    size_t size);

#endif
