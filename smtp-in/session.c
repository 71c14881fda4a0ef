/* session.c — the SMTP server state machine (RFC 5321) of smtp-in, one
 * session per process.  Everything a session knows is in struct session;
 * commands go through one dispatch table (verb -> handler and the states
 * it is allowed in) and every reply through reply(), which also counts
 * errors and logs refusals.  Replies collect in a struct out and leave
 * only when no complete command is waiting (RFC 2920 PIPELINING), so
 * pipelined answers come back in order and in few packets.
 *
 * Nothing here reads a file before a command needs it: the users and
 * aliases files are read by resolve_rcpt at RCPT time, the queue is
 * touched at DATA. */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "data.h"
#include "date.h"
#include "dnsbl.h"
#include "domains.h"
#include "domconf.h"
#include "helpers.h"
#include "hook.h"
#include "log.h"
#include "policy.h"
#include "prefault.h"
#include "resolve.h"
#include "secret.h"
#include "session.h"
#include "srs.h"
#include "str.h"

enum {
	REPLY_MAX = 1024,	/* a reply line; RFC 5321 §4.5.3.1.5 is 512 */
	RCPTLOG_MAX = 4096,	/* the recipient list of "accepted" */
	RECEIVED_MAX = 2048,	/* our Received: field, folded */
	EHLO_LINES_MAX = 10
};

#define ANY_STATE	(SESSION_FRESH | SESSION_GREETED | SESSION_MAIL | \
			    SESSION_RCPT)

typedef void	handler(struct session *, const struct cmd *);

static handler	do_helo, do_ehlo, do_mail, do_rcpt, do_data, do_rset,
		do_quit, do_fixed, do_http, do_starttls, do_auth;

static const struct dispatch {
	handler		*fn;
	unsigned	 states;	/* enum session_state bits */
	const char	*text;		/* the reply of do_fixed */
} dispatch[CMD_NVERBS] = {
	[CMD_HELO] = { do_helo, ANY_STATE, NULL },
	[CMD_EHLO] = { do_ehlo, ANY_STATE, NULL },
	[CMD_MAIL] = { do_mail, SESSION_GREETED, NULL },
	[CMD_RCPT] = { do_rcpt, SESSION_MAIL | SESSION_RCPT, NULL },
	[CMD_DATA] = { do_data, SESSION_MAIL | SESSION_RCPT, NULL },
	[CMD_RSET] = { do_rset, ANY_STATE, NULL },
	[CMD_NOOP] = { do_fixed, ANY_STATE, "250 2.0.0 Ok" },
	[CMD_QUIT] = { do_quit, ANY_STATE, NULL },
	/* RFC 5321 §3.5.3: 252 says neither yes nor no. */
	[CMD_VRFY] = { do_fixed, ANY_STATE, "252 2.5.0 Cannot VRFY user, "
	    "but will accept message and attempt delivery" },
	[CMD_EXPN] = { do_fixed, ANY_STATE, "502 5.5.1 EXPN not available" },
	[CMD_HELP] = { do_fixed, ANY_STATE, "214 2.0.0 Commands: HELO EHLO "
	    "MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH" },
	/* Both outside a transaction (RFC 3207 §4, RFC 4954 §4). */
	[CMD_STARTTLS] = { do_starttls, SESSION_GREETED, NULL },
	[CMD_AUTH] = { do_auth, SESSION_GREETED, NULL },
	[CMD_HTTP] = { do_http, ANY_STATE, NULL },
};

static const char *const end_names[] = {
	[SESSION_RUNNING] = "running",
	[SESSION_QUIT] = "quit",
	[SESSION_EOF] = "eof",
	[SESSION_TIMEOUT] = "timeout",
	[SESSION_ERRORS] = "errors",
	[SESSION_SMUGGLING] = "smuggling",
	[SESSION_HTTP] = "http",
	[SESSION_AUTH_FAILED] = "auth-failures",
	[SESSION_SRS_FAILED] = "srs-failures",
	[SESSION_TLS_FAILED] = "tls",
	[SESSION_JUNK] = "junk",
	[SESSION_INTERNAL] = "internal",
};

const char *
session_end_name(enum session_end e)
{
	return (size_t)e < sizeof(end_names) / sizeof(end_names[0]) ?
	    end_names[e] : "?";
}

const char *
session_mode_name(enum session_mode m)
{
	return m == SESSION_SUBMISSIONS ? "submissions" :
	    m == SESSION_SUBMISSION ? "submission" : "mx";
}

static int64_t
deadline(const struct session *s)
{
	return clock_ms() + s->cmd_timeout;
}

/* The deadline of the next command: counted from the last one that
 * moved the session on, so that commands that move no mail do not keep
 * an idle session alive; shorter outside a transaction before AUTH. */
static int64_t
cmd_deadline(const struct session *s)
{
	int idle = (s->state & (SESSION_FRESH | SESSION_GREETED)) &&
	    s->login[0] == '\0';

	return s->since + (idle ? s->idle_timeout : s->cmd_timeout);
}

/* --- replies: the one place they are made ---------------------------- */

/* A write to the peer failed (errno): nothing more goes out, and the
 * session ends unless it was ending anyway. */
static void
write_failed(struct session *s)
{
	s->broken = 1;
	s->ioerr = errno;
	if (s->end == SESSION_RUNNING)
		s->end = errno == ETIMEDOUT ? SESSION_TIMEOUT : SESSION_EOF;
}

static void
send_bytes(struct session *s, const char *p, size_t n)
{
	if (s->broken)
		return;
	/* A reply that only joins the buffer needs no deadline, and
	 * sparing the clock read matters: the nine lines of EHLO. */
	if (out_put(&s->out, p, n, out_fits(&s->out, n) ? IO_NO_DEADLINE :
	    deadline(s)) == -1)
		write_failed(s);
}

static void
flush(struct session *s)
{
	if (s->broken || s->out.len == 0)
		return;
	if (out_flush(&s->out, deadline(s)) == -1)
		write_failed(s);
}

/* One line for the fate of a transaction that reached DATA: accepted,
 * refused after the data (with the reply) or aborted (EOF, timeout), with
 * its queue id, envelope and size. */
static void
log_transaction(struct session *s, const char *event, const char *why)
{
	char list[RCPTLOG_MAX], count[24], sz[24], from[ADDR_TEXT_MAX + 2];
	struct str l;
	size_t i;

	str_init(&l, list, sizeof(list));
	for (i = 0; i < s->nrcpts; i++)
		if (str_appendf(&l, "%s<%s>", i > 0 ? "," : "",
		    s->rcpts[i]) == -1) {
			(void)str_appends(&l, "...");
			break;
		}
	(void)str_fmt(count, sizeof(count), "%zu", s->nrcpts);
	(void)str_fmt(sz, sizeof(sz), "%llu", (unsigned long long)s->logsize);
	(void)str_fmt(from, sizeof(from), "<%s>", s->sender);
	/* The peer's values are cut shorter (LOG_PEER); the list of
	 * recipients, accepted ones, is bounded by LOG_VALUE_MAX. */
	log_event(event, "id", s->logid, LOG_PEER "from", from, "rcpts", list,
	    "count", count, "size", sz, "peer", s->peerlog,
	    LOG_PEER "helo", s->helo,
	    "spf", s->chk_spf[0] != '\0' ? s->chk_spf : NULL,
	    "dkim", s->chk_dkim[0] != '\0' ? s->chk_dkim : NULL,
	    "dmarc", s->chk_dmarc[0] != '\0' ? s->chk_dmarc : NULL,
	    LOG_PEER "reason", why, (char *)NULL);
}

/* A RCPT that adds no recipient: past SMTP_RCPT_OVERSHOOT_MAX of them in
 * a transaction, each is an error, so that a client asking for cheap
 * replies in a loop is closed like any other. */
static void
overshoot(struct session *s)
{
	if (++s->overshoot > SMTP_RCPT_OVERSHOOT_MAX)
		s->errors++;
}

/* A refusal: logged (the first SMTP_REFUSALS_LOGGED of a session, and
 * those after the data), and counted against SMTP_ERRORS_MAX unless it
 * is 452 (too many recipients, which a client is told to expect: RFC
 * 5321 §4.5.3.1.10) or the 421 that closes the session. */
static void
refused(struct session *s, int code, const char *text)
{
	char from[ADDR_TEXT_MAX + 2];

	if (code == 421)
		return;
	if (code != 452)
		s->errors++;
	if (s->logid != NULL) {
		log_transaction(s, "refused", text);
		return;
	}
	if (++s->refusals > SMTP_REFUSALS_LOGGED)
		return;		/* session_run's "refused-unlogged" */
	/* The sender of the open transaction, if any ("<>" included). */
	from[0] = '\0';
	if (s->state & (SESSION_MAIL | SESSION_RCPT))
		(void)str_fmt(from, sizeof(from), "<%s>", s->sender);
	log_event("refused", "peer", s->peerlog, "cmd", s->cmdname,
	    LOG_PEER "reply", text, LOG_PEER "arg", s->logarg,
	    LOG_PEER "from", from[0] != '\0' ? from : NULL,
	    LOG_PEER "to", s->logto[0] != '\0' ? s->logto : NULL,
	    (char *)NULL);
}

static int
reply_code(const char *text)
{
	if (text[0] < '2' || text[0] > '5' || text[1] < '0' ||
	    text[1] > '9' || text[2] < '0' || text[2] > '9')
		return 0;
	return (text[0] - '0') * 100 + (text[1] - '0') * 10 + text[2] - '0';
}

/* "CODE text": one reply line.  Texts are ours; the only peer-supplied
 * parts are addresses, bounded by ADDR_TEXT_MAX, so a cut never happens
 * in practice and would only shorten the text. */
static void reply(struct session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
static void
reply(struct session *s, const char *fmt, ...)
{
	char buf[REPLY_MAX];
	va_list ap;
	int n, code;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0) {
		n = snprintf(buf, sizeof(buf) - 2, "451 4.3.0 internal error");
		if (n < 0)
			return;
	}
	if ((size_t)n >= sizeof(buf) - 2)
		n = (int)sizeof(buf) - 3;
	code = reply_code(buf);
	if (code >= 400)
		refused(s, code, buf);
	buf[n++] = '\r';
	buf[n++] = '\n';
	send_bytes(s, buf, (size_t)n);
}

/* A multi-line reply (RFC 5321 §4.2.1): "250-a", ..., "250 z". */
static void
reply_lines(struct session *s, int code, const char *const *lines,
    size_t n)
{
	char buf[REPLY_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		if (str_fmt(buf, sizeof(buf), "%03d%c%s\r\n", code,
		    i + 1 < n ? '-' : ' ', lines[i]) == -1)
			continue;
		send_bytes(s, buf, strlen(buf));
	}
}

static void
reply_cmd_err(struct session *s, enum cmd_err e, enum cmd_verb v,
    enum addr_err aerr)
{
	char buf[REPLY_MAX];

	if (cmd_reply(e, v, aerr, buf, sizeof(buf)) == -1)
		reply(s, "501 5.5.4 syntax error");
	else
		reply(s, "%s", buf);
}

static void
timed_out(struct session *s)
{
	reply(s, "421 4.4.2 %s timeout; closing", s->conf->hostname);
	s->end = SESSION_TIMEOUT;
}

/* Closing on our side with input perhaps unread: send what we have, say
 * we are done writing, and read (and drop) what the peer still sends,
 * for a while, so that the kernel does not answer unread data with a RST
 * that could destroy our last reply before the peer reads it. */
static void
close_gently(struct session *s)
{
	int64_t until = clock_ms() + s->drain_timeout;
	size_t total = 0;
	const char *p;
	ssize_t n;

	flush(s);
	if (shutdown(s->io->wfd, SHUT_WR) == -1 && errno != ENOTSOCK) {
		/* The peer is gone already: nothing to drain. */
		return;
	}
	while (total < SMTP_DRAIN_MAX) {
		if ((n = line_peek(&s->line, &p, until)) <= 0)
			break;
		line_consume(&s->line, (size_t)n);
		total += (size_t)n;
	}
}

/* --- the transaction ---------------------------------------------------- */

static void
reset_transaction(struct session *s)
{
	s->sender[0] = '\0';
	s->smtputf8 = 0;
	s->body = CMD_BODY_NONE;
	s->ret = DSN_RET_NONE;
	s->envid[0] = '\0';
	s->nrcpts = 0;
	s->overshoot = 0;
	s->checked = 0;
	checks_reset(&s->checks);
	s->chk_spf[0] = s->chk_dkim[0] = s->chk_dmarc[0] = '\0';
	if (s->state != SESSION_FRESH)
		s->state = SESSION_GREETED;
}

/* --- the checks (smtp-checkd) ------------------------------------------- */

/* SPF, DKIM and DMARC are for mail from the world: port 25, no login
 * (never a user's submission, which pays nothing for them). */
static int
checks_wanted(const struct session *s)
{
	return s->mode == SESSION_MX && s->login[0] == '\0' &&
	    s->conf->checks && s->checks.sock != -1;
}

static void
check_request(const struct session *s, enum ckp_kind k,
    struct ckp_request *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = k;
	(void)str_copy(r->authserv, sizeof(r->authserv), s->conf->hostname);
	if (k == CKP_MSG)
		(void)str_copy(r->id, sizeof(r->id), s->msg.id);
	(void)str_copy(r->ip, sizeof(r->ip), s->peer);
	(void)str_copy(r->helo, sizeof(r->helo), s->helo);
	(void)str_copy(r->sender, sizeof(r->sender), s->sender);
}

static int64_t
checks_deadline(const struct session *s)
{
	long t = s->conf->checks_timeout;

	if (t < 1 || t > CONF_CHECKS_TIMEOUT_MAX)
		t = CONF_CHECKS_TIMEOUT_DEFAULT;
	return clock_ms() + (int64_t)t * 1000;
}

/* At MAIL FROM: SPF asked now, so that its answer is there by the dot;
 * with spf_refuse, waited for, and a fail refused (RFC 7372 §3.2's
 * 5.7.23).  1 to go on, 0 when the reply is out. */
static int
spf_at_mail(struct session *s)
{
	struct ckp_request r;

	check_request(s, CKP_SPF, &r);
	if (checks_spf_ask(&s->checks, &r) == -1 || !s->conf->spf_refuse)
		return 1;
	if (!checks_spf_wait(&s->checks, checks_deadline(s)) ||
	    strcmp(s->checks.spf, "fail") != 0)
		return 1;
	(void)str_copy(s->chk_spf, sizeof(s->chk_spf), s->checks.spf);
	reply(s, "550 5.7.23 SPF validation failed: %s", s->checks.spf_exp[0]
	    != '\0' ? s->checks.spf_exp : "the sender's domain does not "
	    "designate your address as a permitted sender");
	return 0;
}

/* HELO/EHLO names go into Received: and the queue envelope, so one
 * token of printable ASCII, bounded: a space would let a client write
 * "EHLO gmail.com ([8.8.8.8]) by mx.google.com" into our Received: field.
 * RFC 5321 §4.1.4 forbids refusing a name that does not match the peer,
 * not one that is not a name at all (501 is its syntax error). */
static int
helo_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > SMTP_HELO_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

/* Can we offer TLS?  The certificate and key must be readable (only
 * there when the TLS zygote reads them), and the key by no other user (smtp-tlsd refuses it: secret.h); checked at
 * EHLO, not at start, so that a session that never asks costs no file
 * system call.  In mx mode a missing certificate only means no STARTTLS,
 * said once in the log. */
static int
tls_available(struct session *s)
{
	char why[SECRET_WHY_MAX];
	const char *missing = NULL;

	why[0] = '\0';
	if (access(s->conf->tls_cert, s->tls_key_elsewhere ? F_OK : R_OK) ==
	    -1)
		missing = s->conf->tls_cert;
	else if (access(s->conf->tls_key, s->tls_key_elsewhere ? F_OK :
	    R_OK) == -1)
		missing = s->conf->tls_key;
	else if (secret_check(-1, s->conf->tls_key, why, sizeof(why)) == -1)
		missing = s->conf->tls_key;
	if (missing == NULL)
		return 1;
	if (!s->tls_logged) {
		log_event("tls-unavailable", "peer", s->peerlog, "file",
		    missing, "reason", why[0] != '\0' ? why : strerror(errno),
		    (char *)NULL);
		s->tls_logged = 1;
	}
	return 0;
}

/* The EHLO keywords (RFC 5321 §4.1.1.1): STARTTLS before TLS where there
 * is a certificate, AUTH only under TLS and until it succeeded. */
static size_t
ehlo_lines(struct session *s, const char *size, const char **lines)
{
	size_t n = 0;

	lines[n++] = s->conf->hostname;
	lines[n++] = "PIPELINING";
	if (size[0] != '\0')
		lines[n++] = size;
	lines[n++] = "8BITMIME";
	lines[n++] = "ENHANCEDSTATUSCODES";
	lines[n++] = "SMTPUTF8";
	lines[n++] = "DSN";
	if (!s->tls && tls_available(s))
		lines[n++] = "STARTTLS";
	if (s->tls && s->login[0] == '\0')
		lines[n++] = "AUTH PLAIN LOGIN";
	lines[n++] = "HELP";
	return n;
}

static void
greet(struct session *s, const struct cmd *c, int esmtp)
{
	const char *lines[EHLO_LINES_MAX];
	char size[32];

	if (!helo_ok(c->arg, c->arglen)) {
		reply(s, "501 5.5.4 %s name must be printable ASCII, "
		    "at most %d octets", cmd_name(c->verb), SMTP_HELO_MAX);
		return;
	}
	memcpy(s->helo, c->arg, c->arglen);
	s->helo[c->arglen] = '\0';
	/* The first greeting (or the first under TLS) moves on; another
	 * one is the command() count's. */
	s->moved = s->state == SESSION_FRESH;
	s->state = SESSION_GREETED;
	reset_transaction(s);
	s->esmtp = esmtp;
	if (!esmtp) {
		reply(s, "250 %s", s->conf->hostname);
		return;
	}
	if (str_fmt(size, sizeof(size), "SIZE %llu",
	    (unsigned long long)s->conf->max_message_size) == -1)
		size[0] = '\0';
	reply_lines(s, 250, lines, ehlo_lines(s, size, lines));
}

static void
do_helo(struct session *s, const struct cmd *c)
{
	greet(s, c, 0);
}

static void
do_ehlo(struct session *s, const struct cmd *c)
{
	greet(s, c, 1);
}

/* The authenticated user may send as this address, or the reply says
 * why not. */
static int
sender_ok(struct session *s, const char *addr)
{
	switch (policy_owns(s->conf, s->login, addr)) {
	case POLICY_OK:
		return 1;
	case POLICY_NOT_OWNED:
		reply(s, "550 5.7.1 <%s>: not an address of user %s; send "
		    "as your own address or one of your aliases", addr,
		    s->login);
		return 0;
	default:
		log_event("error", "peer", s->peerlog, "op", "policy",
		    "error", strerror(errno), (char *)NULL);
		reply(s, "451 4.3.0 temporary failure, try again later");
		return 0;
	}
}

/* Is there room on the spool's file system for size more bytes above
 * queue_minfree?  Asked through fd (the message) when it is not -1, else
 * the spool's path.  1, or 0 with the 452 out.  When the file system
 * cannot be asked, the queue's own errors will speak: 1. */
static int
room_for(struct session *s, int fd, uint64_t size)
{
	int r = queue_room(fd, s->conf->spool, s->conf->queue_minfree, size);

	if (r == -1) {
		log_event("error", "peer", s->peerlog, "op", "statvfs",
		    "path", s->conf->spool, "error", strerror(errno),
		    (char *)NULL);
		return 1;
	}
	if (r == 0)
		reply(s, "452 4.3.1 insufficient system storage, try again "
		    "later");
	return r;
}

static void
do_mail(struct session *s, const struct cmd *c)
{
	struct cmd_path p;
	enum cmd_err e;

	/* Submission is for users (RFC 6409 §4.3). */
	if (s->mode != SESSION_MX && s->login[0] == '\0') {
		reply(s, "530 5.7.0 authentication required");
		return;
	}

	e = cmd_parse_mail(c->arg, c->arglen, s->esmtp,
	    s->conf->max_message_size, &p);
	if (e != CMD_OK) {
		reply_cmd_err(s, e, CMD_MAIL, p.aerr);
		return;
	}
	if (addr_format(&p.addr, s->sender, sizeof(s->sender)) == -1) {
		reply_cmd_err(s, CMD_EPATH, CMD_MAIL, ADDR_EPATH_LONG);
		return;
	}
	if (s->login[0] != '\0' && !sender_ok(s, s->sender))
		return;
	/* The declared size counts (RFC 1870 §6.1: 452 when it would not
	 * fit now); the commit looks again. */
	if (!room_for(s, -1, p.size))
		return;
	s->checked = checks_wanted(s);
	if (s->checked && !spf_at_mail(s)) {
		s->checked = 0;
		s->sender[0] = '\0';
		return;
	}
	s->smtputf8 = p.smtputf8;
	s->body = p.body;
	s->ret = p.ret;
	memcpy(s->envid, p.envid, sizeof(s->envid));
	s->nrcpts = 0;
	s->state = SESSION_MAIL;
	s->moved = 1;
	reply(s, "250 2.1.0 Ok");
}

static int
have_rcpt(const struct session *s, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t i;
	int local;

	/* Our local parts are case-insensitive (users(5)): ALICE@ and
	 * alice@ are one mailbox and must be delivered once.  Another
	 * domain's may not be (RFC 5321 §2.4): Bob@ and bob@ there are two
	 * recipients of an authenticated sender, only the domain folds. */
	local = at == NULL || s->login[0] == '\0' ||
	    domains_is_local(s->conf, at + 1) != 0;
	for (i = 0; i < s->nrcpts; i++) {
		if (local ? str_casecmp(s->rcpts[i], rcpt) == 0 :
		    strncmp(s->rcpts[i], rcpt, (size_t)(at - rcpt + 1)) == 0 &&
		    str_casecmp(s->rcpts[i] + (at - rcpt + 1), at + 1) == 0)
			return 1;
	}
	return 0;
}

/* An SRS address of ours (a bounce to mail we forwarded): the keeper
 * (or, without one, aliases -r) checks its hash and age, since smtp-in
 * links no HMAC and may not read the secret; queue-run sends it on to
 * the original sender. */
static void
rcpt_srs(struct session *s, const char *rcpt)
{
	char why[HELPER_LINE_MAX];
	enum helper_srs r;

	switch ((r = helper_srs_check(s, rcpt, why, sizeof(why)))) {
	case HELPER_SRS_OK:
		(void)str_copy(s->rcpts[s->nrcpts], sizeof(s->rcpts[0]), rcpt);
		s->nrcpts++;
		s->state = SESSION_RCPT;
		s->moved = 1;
		reply(s, "250 2.1.5 Ok");
		break;
	case HELPER_SRS_BAD:
	case HELPER_SRS_LIMIT:
		/* Guessing a hash costs a connection every few guesses. */
		if (++s->srs_failures >= SMTP_SRS_FAILURES_MAX) {
			log_event("refused", "peer", s->peerlog, "cmd", "RCPT",
			    "reply", "invalid or expired SRS address", "to",
			    s->logto, (char *)NULL);
			reply(s, "421 4.7.0 too many invalid SRS addresses; "
			    "closing");
			s->end = SESSION_SRS_FAILED;
			close_gently(s);
			break;
		}
		if (r == HELPER_SRS_BAD) {
			reply(s, "550 5.1.1 <%s>: invalid or expired SRS "
			    "address", rcpt);
			break;
		}
		/* Past the keeper's count for this client: unchecked, and
		 * temporary (RFC 5321's 450, "temporarily blocked for
		 * policy reasons"), so that a genuine bounce from a source
		 * that others abused is retried, not lost. */
		reply(s, "450 4.7.1 <%s>: too many invalid SRS addresses from "
		    "your address; try again later", rcpt);
		break;
	case HELPER_SRS_TEMP:
	default:
		log_event("error", "peer", s->peerlog, "op", "srs",
		    LOG_PEER "to", s->logto, "error", why, (char *)NULL);
		reply(s, "451 4.3.0 temporary failure, try again later");
		break;
	}
}

static void
do_rcpt(struct session *s, const struct cmd *c)
{
	char rcpt[ADDR_TEXT_MAX];
	struct cmd_path p;
	enum cmd_err e;

	e = cmd_parse_rcpt(c->arg, c->arglen, s->esmtp, s->smtputf8, &p);
	if (e != CMD_OK) {
		reply_cmd_err(s, e, CMD_RCPT, p.aerr);
		return;
	}
	if (p.addr.domain[0] == '\0') {
		/* "<postmaster>" (RFC 5321 §4.1.1.3) is ours: store it with
		 * our name so that the queue never holds a bare local part. */
		if (str_copy(p.addr.local, sizeof(p.addr.local),
		    "postmaster") == -1 ||
		    str_copy(p.addr.domain, sizeof(p.addr.domain),
		    s->conf->hostname) == -1) {
			reply(s, "451 4.3.0 temporary failure, try again later");
			return;
		}
	}
	if (addr_format(&p.addr, rcpt, sizeof(rcpt)) == -1) {
		reply_cmd_err(s, CMD_EPATH, CMD_RCPT, ADDR_EPATH_LONG);
		return;
	}
	(void)str_fmt(s->logto, sizeof(s->logto), "<%s>", rcpt);
	if (have_rcpt(s, rcpt)) {
		overshoot(s);
		reply(s, "250 2.1.5 Ok");	/* stored once */
		return;
	}
	if (s->nrcpts >= SMTP_RCPT_MAX) {
		overshoot(s);
		reply(s, "452 4.5.3 too many recipients");
		return;
	}
	/* Its DSN parameters, in the slot it takes if it is accepted. */
	s->notify[s->nrcpts] = p.notify;
	memcpy(s->orcpt[s->nrcpts], p.orcpt, strlen(p.orcpt) + 1);
	/* Before the aliases: a catch-all must not take a forged one. */
	if (srs_is_srs(p.addr.local) &&
	    domains_is_local(s->conf, p.addr.domain) != 0) {
		rcpt_srs(s, rcpt);
		return;
	}
	switch (resolve_rcpt(s->conf, &p.addr)) {
	case RESOLVE_LOCAL:
		/* Cannot fail: both are ADDR_TEXT_MAX. */
		(void)str_copy(s->rcpts[s->nrcpts], sizeof(s->rcpts[0]), rcpt);
		s->nrcpts++;
		s->state = SESSION_RCPT;
		s->moved = 1;
		reply(s, "250 2.1.5 Ok");
		break;
	case RESOLVE_NOUSER:
		reply(s, "550 5.1.1 <%s>: no such user here", rcpt);
		break;
	case RESOLVE_REMOTE:
		/* An authenticated user may send anywhere; for anyone else
		 * an MX relays nothing, whatever the peer. */
		if (s->login[0] != '\0') {
			(void)str_copy(s->rcpts[s->nrcpts],
			    sizeof(s->rcpts[0]), rcpt);
			s->nrcpts++;
			s->state = SESSION_RCPT;
			s->moved = 1;
			reply(s, "250 2.1.5 Ok");
			break;
		}
		reply(s, "554 5.7.1 <%s>: relay access denied", rcpt);
		break;
	case RESOLVE_TEMPFAIL:
	default:
		log_event("error", "peer", s->peerlog, "op", "resolve",
		    LOG_PEER "to", s->logto, "error", strerror(errno),
		    (char *)NULL);
		reply(s, "451 4.3.0 temporary failure, try again later");
		break;
	}
}

/* --- DATA ----------------------------------------------------------------- */

static int
sink_queue(void *arg, const void *p, size_t n)
{
	struct session *s = arg;

	if (s->login[0] != '\0')
		policy_capture(&s->capture, p, n);
	return queue_put(&s->msg, p, n);
}

/* An authenticated user's message: every address of From:, Sender:,
 * Resent-From: and Resent-Sender: must be theirs.  1 to commit, 0 when
 * refused (the reply is out). */
static int
from_ok(struct session *s)
{
	char bad[ADDR_TEXT_MAX], why[128];
	const char *field;

	if (s->login[0] == '\0')
		return 1;
	if (s->capture.nfrom > 1 || s->capture.nsender > 1) {
		/* RFC 5322 §3.6: one From: field; with two, a reader and a
		 * DKIM verifier may each take a different one. */
		reply(s, "550 5.7.1 more than one %s field",
		    s->capture.nfrom > 1 ? "From:" : "Sender:");
		return 0;
	}
	if (s->capture.overflow) {
		reply(s, "550 5.7.1 From:, Sender: and Resent- fields longer "
		    "than %d octets, or more than %d of them", SMTP_FROM_MAX,
		    POLICY_FIELDS_MAX);
		return 0;
	}
	switch (policy_fields(s->conf, s->login, &s->capture, &field, bad,
	    sizeof(bad), why, sizeof(why))) {
	case POLICY_OK:
		return 1;
	case POLICY_NOT_OWNED:
		if (bad[0] == '\0')
			reply(s, "550 5.7.1 %s: field %s", field, why);
		else if (why[0] != '\0')
			reply(s, "550 5.7.1 %s: field %s: <%s>", field, why,
			    bad);
		else
			reply(s, "550 5.7.1 %s: <%s> is not an address "
			    "of user %s", field, bad, s->login);
		return 0;
	default:
		log_event("error", "peer", s->peerlog, "op", "policy",
		    "error", strerror(errno), (char *)NULL);
		reply(s, "451 4.3.0 temporary failure, try again later");
		return 0;
	}
}

/* --- Delivered-To: loops ------------------------------------------------ */

struct dt_loop {
	const char	*values;	/* struct data's dt: LF-separated */
	char		*hit;		/* the address found */
	size_t		 hitsize;
};

/* The next Delivered-To: value of *p, blanks and one pair of angle
 * brackets removed, as queue-run's loop check reads it (local.c):
 * into buf, and 1; 0 at the end. */
static int
dt_next(const char **p, char *buf, size_t size)
{
	const char *v, *e, *nl;

	while (**p != '\0') {
		v = *p;
		nl = strchr(v, '\n');
		e = nl != NULL ? nl : v + strlen(v);
		*p = nl != NULL ? nl + 1 : e;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e - v >= 2 && *v == '<' && e[-1] == '>') {
			v++;
			e--;
		}
		if (e == v || (size_t)(e - v) >= size)
			continue;	/* too long for an address: no match */
		memcpy(buf, v, (size_t)(e - v));
		buf[e - v] = '\0';
		return 1;
	}
	return 0;
}

/* alias_emit: stop (with the address) at a local target that one of the
 * message's Delivered-To: fields names. */
static int
dt_emit(const struct alias_target *t, void *arg)
{
	struct dt_loop *l = arg;
	const char *p = l->values;
	char v[ADDR_TEXT_MAX + 1];

	if (t->kind == ALIAS_REMOTE)
		return 0;
	while (dt_next(&p, v, sizeof(v)))
		if (str_casecmp(v, t->addr) == 0) {
			(void)str_copy(l->hit, l->hitsize, t->addr);
			return 1;
		}
	return 0;
}

/* Has the message been delivered here already?  queue-run prepends
 * Delivered-To: with each local delivery, and refuses to deliver again
 * to an address a Delivered-To: names (a loop, 5.4.6); found here, the
 * message is refused before the 250 rather than bounced, with the
 * client's headers, to a sender the client chose.  Only when a value
 * names a local domain are the recipients resolved.  1 with the address
 * in hit, else 0 (a file that cannot be read leaves it to queue-run). */
static int
dt_loop(struct session *s, const struct data *d, char *hit, size_t hitsize)
{
	struct dt_loop l = { d->dt, hit, hitsize };
	char v[ADDR_TEXT_MAX + 1], why[ALIAS_WHY_MAX];
	const char *p = d->dt, *at;
	int local = 0;
	size_t i;

	while (!local && dt_next(&p, v, sizeof(v)))
		if ((at = strrchr(v, '@')) != NULL &&
		    domains_is_local(s->conf, at + 1) == 1)
			local = 1;
	if (!local)
		return 0;
	for (i = 0; i < s->nrcpts; i++) {
		const char *r = s->rcpts[i];

		/* A bounce to an SRS address goes on to its sender, with
		 * no loop check of queue-run's. */
		if (srs_is_srs(r))
			continue;
		hit[0] = '\0';
		(void)alias_resolve(s->conf, r, dt_emit, &l, why,
		    sizeof(why));
		if (hit[0] != '\0')
			return 1;
	}
	return 0;
}

/* RFC 5321 §4.4, RFC 6531 §3.7.3 for UTF8SMTP. */
static int
put_received(struct session *s)
{
	char buf[RECEIVED_MAX], date[DATE_MAX];
	struct timespec now;
	struct str r;
	int rc;

	str_init(&r, buf, sizeof(buf));
	/* Not time(3): clock_now keeps smtp-in off the vDSO (io.h). */
	if (clock_now(CLOCK_REALTIME, &now) == -1 ||
	    date_rfc5322(date, sizeof(date), now.tv_sec) == -1)
		return -1;
	/* RFC 3848 and RFC 6531 §3.7.3: S for TLS, A for AUTH.  The login
	 * is not written: the header goes out with the message. */
	rc = str_appendf(&r, "Received: from %s (%s)\n\tby %s (posthorn) "
	    "with %s%s%s id %s", s->helo, s->peerhdr, s->conf->hostname,
	    s->smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP",
	    s->tls ? "S" : "", s->login[0] != '\0' ? "A" : "", s->msg.id);
	if (rc == 0 && s->tls)
		rc = str_appendf(&r, "\n\t(using %s with cipher %s)",
		    s->tls_version, s->tls_cipher);
	if (rc == 0 && s->nrcpts == 1)
		rc = str_appendf(&r, "\n\tfor <%s>", s->rcpts[0]);
	if (rc == 0)
		rc = str_appendf(&r, ";\n\t%s\n", date);
	if (rc == -1)
		return -1;
	return queue_put(&s->msg, r.s, r.len);
}

/* The queue file with its envelope and our Received: field, before 354. */
static int
open_message(struct session *s)
{
	const char *rcpts[SMTP_RCPT_MAX], *orcpt[SMTP_RCPT_MAX];
	struct queue_env env;
	size_t i;
	int any_orcpt = 0;

	if (queue_create(&s->msg, s->conf->spool) == -1)
		return -1;
	for (i = 0; i < s->nrcpts; i++) {
		rcpts[i] = s->rcpts[i];
		orcpt[i] = s->orcpt[i][0] != '\0' ? s->orcpt[i] : NULL;
		any_orcpt |= orcpt[i] != NULL;
	}
	memset(&env, 0, sizeof(env));
	env.sender = s->sender;
	env.rcpts = rcpts;
	env.nrcpts = s->nrcpts;
	env.flags = (s->smtputf8 ? QUEUE_SMTPUTF8 : 0) |
	    (s->body == CMD_BODY_8BITMIME ? QUEUE_8BITMIME : 0);
	env.via = session_mode_name(s->mode);
	env.peer = strcmp(s->peer, "unknown") != 0 ? s->peer : NULL;
	env.helo = s->helo;
	env.uid = -1;
	/* Who sent it, for signing on the way out; not the password. */
	env.auth = s->login[0] != '\0' ? s->login : NULL;
	env.ret = s->ret;
	env.envid = s->envid[0] != '\0' ? s->envid : NULL;
	env.notify = s->notify;
	env.orcpt = any_orcpt ? orcpt : NULL;
	env.reserve = s->checked ? SMTP_CHECKS_RESERVE : 0;
	if (queue_put_env(&s->msg, &env) == -1 || put_received(s) == -1) {
		int saved = errno;

		queue_abort(&s->msg);
		errno = saved;
		return -1;
	}
	return 0;
}

/* --- the content filter -------------------------------------------- */

static void	log_queue_error(struct session *, const char *, int);

/* Is the mail of this session filtered?  Port 25 mail always when there
 * is a filter; a user's (submission, or AUTH on port 25) only with
 * filter_submission. */
static int
filter_wanted(const struct session *s)
{
	return s->conf->filter[0] != '\0' &&
	    (s->login[0] == '\0' || s->conf->filter_submission);
}

/* Where a message goes, for spam: some target is a local mailbox or a
 * pipe, some is another domain. */
struct reach {
	int	local;
	int	remote;
};

static int
reach_emit(const struct alias_target *t, void *arg)
{
	struct reach *r = arg;

	if (t->kind == ALIAS_REMOTE)
		r->remote = 1;
	else
		r->local = 1;
	return 0;
}

/* Where the recipients lead: 0, or -1 when an aliases file cannot be
 * read now (the reply is out).  A bounce to one of our SRS addresses
 * goes on to another domain. */
static int
reach(struct session *s, struct reach *all)
{
	char why[ALIAS_WHY_MAX];
	struct reach one;
	size_t i;

	all->local = all->remote = 0;
	for (i = 0; i < s->nrcpts; i++) {
		const char *r = s->rcpts[i];

		one.local = one.remote = 0;
		if (srs_is_srs(r))
			one.remote = 1;
		else if (alias_resolve(s->conf, r, reach_emit, &one, why,
		    sizeof(why)) != ALIAS_OK) {
			log_event("error", "peer", s->peerlog, "op", "resolve",
			    "id", s->msg.id, LOG_PEER "to", r, "error", why,
			    (char *)NULL);
			reply(s, "451 4.3.0 temporary failure, try again later");
			return -1;
		}
		all->local |= one.local;
		all->remote |= one.remote;
	}
	return 0;
}

/* The filter judged the message spam: it is never forwarded to another
 * domain (a forwarder that passes spam on to Gmail teaches Gmail to
 * distrust the domain, and a bounce later would be backscatter).  With
 * filter_spam = refuse, a message that would be forwarded is refused
 * now; with local, it is queued marked local-only (queue-run delivers
 * its local targets and forwards nothing), unless it has no local
 * target at all, and then it is refused too.  1 to go on (*localonly
 * set), 0 when the reply is out. */
static int
spam_policy(struct session *s, int *localonly)
{
	struct reach r;

	*localonly = 0;
	if (reach(s, &r) == -1)
		return 0;
	if (!r.remote)
		return 1;
	if (strcmp(s->conf->filter_spam, CONF_FILTER_SPAM_LOCAL) == 0 &&
	    r.local) {
		*localonly = 1;
		return 1;
	}
	reply(s, "550 5.7.1 message judged spam; it is not forwarded");
	return 0;
}

/* Run the filter on the written message: 1 to commit it (with the
 * fields it added, and marked local-only if it must be), 0 when the
 * reply is out. */
static int
run_filter(struct session *s)
{
	static struct hook_result res;
	static const char *const verdicts[] = {
		[HOOK_ACCEPT] = "accept", [HOOK_SPAM] = "spam",
		[HOOK_REFUSE] = "refuse", [HOOK_TEMPFAIL] = "tempfail",
		[HOOK_FAILED] = "failed",
	};
	const char *rcpts[SMTP_RCPT_MAX];
	struct hook_env env;
	char nfields[16];
	int fd, localonly = 0;
	size_t i;

	if ((fd = queue_reader(&s->msg)) == -1) {
		log_queue_error(s, "filter-open", errno);
		reply(s, "451 4.3.0 temporary failure, try again later");
		return 0;
	}
	for (i = 0; i < s->nrcpts; i++)
		rcpts[i] = s->rcpts[i];
	memset(&env, 0, sizeof(env));
	env.sender = s->sender;
	env.rcpts = rcpts;
	env.nrcpts = s->nrcpts;
	env.peer = s->peer;
	env.helo = s->helo;
	env.tls_version = s->tls ? s->tls_version : "";
	env.tls_cipher = s->tls ? s->tls_cipher : "";
	env.login = s->login;
	env.id = s->msg.id;
	env.mode = session_mode_name(s->mode);
	env.hostname = s->conf->hostname;
	env.confdir = s->conf->dir;
	hook_run(s->conf->filter, fd, &env, (int64_t)(s->conf->filter_timeout >
	    0 ? s->conf->filter_timeout : 1) * 1000, &res);
	(void)close(fd);
	(void)str_fmt(nfields, sizeof(nfields), "%u", res.nfields);
	log_event("filter", "id", s->msg.id, "peer", s->peerlog,
	    "verdict", verdicts[res.verdict],
	    "fields", res.verdict <= HOOK_SPAM ? nfields : NULL,
	    LOG_PEER "reply", res.reply[0] != '\0' ? res.reply : NULL,
	    "reason", res.why[0] != '\0' ? res.why : NULL, (char *)NULL);
	switch (res.verdict) {
	case HOOK_SPAM:
		if (!spam_policy(s, &localonly))
			return 0;
		/* FALLTHROUGH */
	case HOOK_ACCEPT:
		if ((res.fieldslen > 0 || localonly) &&
		    queue_rewrite(&s->msg, localonly ? QUEUE_ENV_LOCAL_ONLY :
		    NULL, res.fields, res.fieldslen) == -1) {
			log_queue_error(s, "filter-fields", errno);
			reply(s, "451 4.3.0 temporary failure writing the "
			    "queue, try again later");
			return 0;
		}
		return 1;
	default:
		reply(s, "%s", res.reply);
		return 0;
	}
}

/* DMARC fail under p=reject or p=quarantine (its disposition), with
 * action (dmarc_reject, dmarc_quarantine): refused now, or kept from
 * every outside address (the filter's spam rule, spam_policy: a
 * forwarder that passes it on to Gmail teaches Gmail to distrust the
 * domain).  1 to go on (*localonly set), 0 when the reply is out. */
static int
dmarc_policy(struct session *s, const char *action, const char *p,
    int *localonly)
{
	struct reach r;

	*localonly = 0;
	if (strcmp(action, CONF_DMARC_LOCAL) == 0) {
		if (reach(s, &r) == -1)
			return 0;
		if (!r.remote)
			return 1;
		if (r.local) {
			*localonly = 1;
			return 1;
		}
		reply(s, "550 5.7.1 message fails DMARC (p=%s); it is not "
		    "forwarded", p);
		return 0;
	}
	reply(s, "550 5.7.1 message refused: it fails the DMARC policy of "
	    "its From: domain (p=%s)", p);
	return 0;
}

/* What DMARC fail under p=reject (reject 1) or p=quarantine becomes:
 * posthorn.conf's dmarc_reject or dmarc_quarantine, unless the
 * domain.conf of a recipient's domain says otherwise.  One message has
 * one answer: when the recipients' domains differ, refuse wins.  A
 * domain.conf that cannot be read counts as posthorn.conf's, and is
 * logged. */
static const char *
dmarc_action(struct session *s, int reject)
{
	const char *global = reject ? s->conf->dmarc_reject :
	    s->conf->dmarc_quarantine, *v, *at, *last = NULL;
	struct domconf dc;
	char err[256];
	size_t i;
	int refuse = strcmp(global, CONF_DMARC_REFUSE) == 0, any = 0;

	for (i = 0; i < s->nrcpts; i++) {
		if ((at = strrchr(s->rcpts[i], '@')) == NULL ||
		    (last != NULL && str_casecmp(last, at + 1) == 0))
			continue;
		last = at + 1;
		if (domconf_load(s->conf, last, &dc, err, sizeof(err)) == -1) {
			log_event("error", "peer", s->peerlog, "op",
			    "domain.conf", "id", s->msg.id, "error",
			    err[0] != '\0' ? err : strerror(errno),
			    (char *)NULL);
			v = global;
		} else {
			v = reject ? dc.dmarc_reject : dc.dmarc_quarantine;
			if (v[0] == '\0')
				v = global;
		}
		if (!any)
			refuse = 0;
		any = 1;
		refuse |= strcmp(v, CONF_DMARC_REFUSE) == 0;
	}
	return refuse ? CONF_DMARC_REFUSE : CONF_DMARC_LOCAL;
}

/* The answer into the envelope's reserved line: authres, and localonly
 * when it must be.  A value longer than the room costs a rewrite.  1, or
 * 0 when the reply (451) is out. */
static int
checks_mark(struct session *s, const struct ckp_answer *a, int localonly)
{
	char buf[SMTP_CHECKS_RESERVE];
	char line[sizeof(QUEUE_ENV_AUTHRES) + CKP_AR_MAX + 1];
	struct str l;
	int rc = 0, header = s->conf->checks_header && a->authres[0] != '\0';

	str_init(&l, buf, sizeof(buf));
	if ((localonly ? str_appends(&l, QUEUE_ENV_LOCAL_ONLY "\n") : 0) == 0 &&
	    (header ? str_appendf(&l, "%s %s\n", QUEUE_ENV_AUTHRES,
	    a->authres) : 0) == 0) {
		if (l.len == 0)
			return 1;
		rc = queue_env_fill(&s->msg, l.s, l.len);
	} else {
		rc = -1;
		errno = E2BIG;
	}
	if (rc == -1 && errno == E2BIG) {
		(void)str_fmt(line, sizeof(line), "%s %s", QUEUE_ENV_AUTHRES,
		    a->authres);
		rc = (localonly && queue_rewrite(&s->msg, QUEUE_ENV_LOCAL_ONLY,
		    NULL, 0) == -1) || (header && queue_rewrite(&s->msg, line,
		    NULL, 0) == -1) ? -1 : 0;
	}
	if (rc == -1) {
		log_queue_error(s, "checks-envelope", errno);
		reply(s, "451 4.3.0 temporary failure writing the queue, try "
		    "again later");
		return 0;
	}
	return 1;
}

/* After the dot: the checker's verdict on the written message (or
 * temperror, when it does not answer by checks_timeout), the DMARC
 * policy, the envelope marked.  1 to commit, 0 when the reply is out. */
static int
run_checks(struct session *s)
{
	static struct ckp_answer a;	/* one session a process */
	struct ckp_request r;
	const char *action = NULL;
	int fd, localonly = 0;

	check_request(s, CKP_MSG, &r);
	if ((fd = queue_reader(&s->msg)) == -1) {
		log_queue_error(s, "checks-open", errno);
		reply(s, "451 4.3.0 temporary failure, try again later");
		return 0;
	}
	(void)checks_message(&s->checks, &r, fd, checks_deadline(s), &a);
	(void)close(fd);
	(void)str_copy(s->chk_spf, sizeof(s->chk_spf), a.spf);
	(void)str_copy(s->chk_dkim, sizeof(s->chk_dkim), a.dkim);
	(void)str_copy(s->chk_dmarc, sizeof(s->chk_dmarc), a.dmarc);
	if (strcmp(a.dmarc, "fail") == 0) {
		if (strcmp(a.disposition, "reject") == 0)
			action = dmarc_action(s, 1);
		else if (strcmp(a.disposition, "quarantine") == 0)
			action = dmarc_action(s, 0);
	}
	if (action != NULL && !dmarc_policy(s, action, a.disposition,
	    &localonly))
		return 0;
	return checks_mark(s, &a, localonly);
}

static void
log_queue_error(struct session *s, const char *op, int err)
{
	log_event("error", "peer", s->peerlog, "op", op,
	    "id", s->msg.id[0] != '\0' ? s->msg.id : NULL,
	    "error", strerror(err), (char *)NULL);
}

/* After the end of the data, the one answer to it (RFC 5321 §4.1.1.4). */
static void
finish_data(struct session *s, const struct data *d)
{
	char loop[ADDR_TEXT_MAX + 1];

	if (d->err != DATA_OK)
		queue_abort(&s->msg);
	switch (d->err) {
	case DATA_OK:
		if (!from_ok(s)) {
			queue_abort(&s->msg);
			break;
		}
		if (d->dt[0] != '\0' && dt_loop(s, d, loop, sizeof(loop))) {
			queue_abort(&s->msg);
			reply(s, "554 5.4.6 mail loop: already delivered to "
			    "<%s>", loop);
			break;
		}
		/* The message is written: it must not have taken the file
		 * system below the floor, whatever SIZE said. */
		if (!room_for(s, s->msg.fd, 0)) {
			queue_abort(&s->msg);
			break;
		}
		if (s->checked && !run_checks(s)) {
			queue_abort(&s->msg);
			break;
		}
		if (filter_wanted(s) && !run_filter(s)) {
			queue_abort(&s->msg);
			break;
		}
		if (queue_commit(&s->msg) == -1) {
			log_queue_error(s, "commit", errno);
			reply(s, "451 4.3.0 temporary failure writing the "
			    "queue, try again later");
			break;
		}
		/* Committed: fsynced and renamed into new/.  Only now 250. */
		s->messages++;
		s->junk = 0;
		log_transaction(s, "accepted", NULL);
		reply(s, "250 2.0.0 Ok: queued as %s", s->msg.id);
		break;
	case DATA_SMUGGLE:
		reply(s, "554 5.5.2 bare CR or LF or NUL in DATA "
		    "(SMTP smuggling); closing");
		s->end = SESSION_SMUGGLING;
		close_gently(s);
		break;
	case DATA_TOO_BIG:
		reply(s, "552 5.3.4 message size exceeds fixed maximum "
		    "message size");
		break;
	case DATA_LINE_TOO_LONG:
		reply(s, "554 5.6.0 message refused: a line is longer than "
		    "%d octets", SMTP_TEXT_LINE_MAX);
		break;
	case DATA_LOOP:
		reply(s, "554 5.4.6 too many Received: headers (mail loop?)");
		break;
	case DATA_HEADER_TOO_BIG:
		reply(s, "552 5.3.4 message refused: its header is too "
		    "large to be checked");
		break;
	case DATA_EWRITE:
		log_queue_error(s, "write", d->werrno);
		reply(s, "451 4.3.0 temporary failure writing the queue, "
		    "try again later");
		break;
	}
}

static void
do_data(struct session *s, const struct cmd *c)
{
	struct data d;
	const char *p;
	ssize_t n;

	(void)c;
	if (s->nrcpts == 0) {
		reply(s, "554 5.5.1 no valid recipients");
		return;
	}
	if (open_message(s) == -1) {
		log_queue_error(s, "create", errno);
		reply(s, "451 4.3.0 temporary failure, try again later");
		return;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	flush(s);
	if (s->end != SESSION_RUNNING) {
		queue_abort(&s->msg);
		return;
	}
	/* Only a user's From: is checked (sink_queue, from_ok); for anyone
	 * else its buffer stays untouched, a page not faulted in. */
	if (s->login[0] != '\0')
		policy_capture_init(&s->capture, s->from, sizeof(s->from));
	data_init(&d, s->conf->max_message_size, SMTP_TEXT_LINE_MAX,
	    SMTP_RECEIVED_MAX, sink_queue, s);
	/* A field that claims our checks' verdict is renamed (RFC 8601
	 * §5), whether ours is added or not: a reader trusts our
	 * authserv-id.  A logged-in user is no more trusted with it than
	 * the world, since what they send may reach another local
	 * mailbox unchecked. */
	data_authserv(&d, s->conf->hostname);
	/* A header the checker cannot read whole would pass as temperror,
	 * whatever the From: domain's DMARC policy says.  It reads ours
	 * with our Received: field on top and "X-Original-" before each
	 * renamed field (at most one a field). */
	if (s->checked)
		data_header_max(&d, CKP_HEADER_MAX - RECEIVED_MAX -
		    CKP_FIELDS_MAX * (sizeof(ARNAME_PREFIX) - 1),
		    CKP_FIELDS_MAX - 1);
	s->logid = s->msg.id;
	while (!d.done) {
		n = line_peek(&s->line, &p, clock_ms() + s->data_timeout);
		if (n <= 0) {
			int err = n == 0 ? 0 : errno;

			queue_abort(&s->msg);
			s->logsize = d.size;
			log_transaction(s, "aborted", err == ETIMEDOUT ?
			    "timeout" : err == 0 ? "eof" : strerror(err));
			s->logid = NULL;
			if (err == ETIMEDOUT)
				timed_out(s);
			else {
				s->ioerr = err;
				s->end = SESSION_EOF;
			}
			return;
		}
		/* Bytes after the end stay buffered: pipelined commands. */
		line_consume(&s->line, data_feed(&d, p, (size_t)n));
	}
	s->logsize = d.size;
	finish_data(s, &d);
	s->logid = NULL;
	reset_transaction(s);
	/* The data took its own time, whatever the answer to it. */
	s->moved = 1;
}

/* --- the other commands -------------------------------------------------- */

static void
do_rset(struct session *s, const struct cmd *c)
{
	(void)c;
	reset_transaction(s);
	reply(s, "250 2.0.0 Ok");
}

static void
do_quit(struct session *s, const struct cmd *c)
{
	(void)c;
	reply(s, "221 2.0.0 %s closing connection", s->conf->hostname);
	s->end = SESSION_QUIT;
}

/* A command whose whole work is its reply, dispatch[].text. */
static void
do_fixed(struct session *s, const struct cmd *c)
{
	reply(s, "%s", dispatch[c->verb].text);
}

static void
do_http(struct session *s, const struct cmd *c)
{
	(void)c;
	reply(s, "502 5.5.1 not an HTTP server; closing");
	s->end = SESSION_HTTP;
	close_gently(s);
}

/* --- STARTTLS and AUTH ------------------------------------------------- */

/* TLS is up: RFC 3207 §4.2, everything learnt before it is forgotten, the
 * client starts again with EHLO. */
static void
tls_up(struct session *s)
{
	s->tls = 1;
	s->moved = 1;
	s->state = SESSION_FRESH;
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->login[0] = '\0';
	reset_transaction(s);
	log_event("tls", "peer", s->peerlog, "version", s->tls_version,
	    "cipher", s->tls_cipher,
	    LOG_PEER "sni", s->tls_sni[0] != '\0' ? s->tls_sni : NULL,
	    (char *)NULL);
}

static int
start_tls(struct session *s)
{
	char why[512];

	why[0] = '\0';
	if (s->hooks == NULL || s->hooks->starttls(s, why, sizeof(why)) ==
	    -1) {
		log_event("tls-failed", "peer", s->peerlog, LOG_PEER "reason",
		    why, (char *)NULL);
		s->end = SESSION_TLS_FAILED;
		return -1;
	}
	tls_up(s);
	return 0;
}

static void
do_starttls(struct session *s, const struct cmd *c)
{
	(void)c;
	if (s->tls) {
		reply(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!tls_available(s)) {
		reply(s, "454 4.7.0 TLS not available");
		return;
	}
	/* Bytes behind STARTTLS came in plaintext: read after the handshake
	 * they would pass for commands sent over TLS (CVE-2011-0411).  They
	 * are answered as the plaintext they are, and TLS is refused. */
	if (line_buffered(&s->line) > 0) {
		reply(s, "503 5.5.1 STARTTLS must be the last command of a "
		    "pipelined group");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	flush(s);
	if (s->end == SESSION_RUNNING)
		(void)start_tls(s);
}

/* Wait before answering a failed AUTH: guessing costs time. */
static void
auth_delay(const struct session *s)
{
	int64_t until = clock_ms() + (int64_t)s->auth_delay_ms *
	    s->auth_failures;
	int64_t left;

	while ((left = until - clock_ms()) > 0)
		(void)poll(NULL, 0, left > 1000 ? 1000 : (int)left);
}

/* A line of the AUTH exchange after a 334: 0, or -1 (the session ends or
 * the reply is out). */
static int
auth_read(struct session *s, struct str *line)
{
	unsigned flags;

	flush(s);
	if (s->end != SESSION_RUNNING)
		return -1;
	switch (line_get(&s->line, line, SMTP_CMD_LINE_MAX, deadline(s),
	    &flags)) {
	case LINE_OK:
		break;
	case LINE_TIMEOUT:
		timed_out(s);
		return -1;
	case LINE_TOOLONG:
		reply(s, "500 5.5.6 authentication exchange line too long");
		return -1;
	default:
		s->end = SESSION_EOF;
		return -1;
	}
	if (!(flags & LINE_CRLF) || (flags & (LINE_NUL | LINE_BARE_CR))) {
		reply(s, "500 5.5.2 line must end with CRLF");
		return -1;
	}
	if (line->len == 1 && line->s[0] == '*') {
		reply(s, "501 5.0.0 authentication cancelled");
		return -1;
	}
	return 0;
}

/* Base64 only (RFC 4648 §4): anything else is 501 before any helper
 * runs, and a space can never split the request line. */
static int
b64_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '+' || p[i] == '/' || p[i] == '='))
			return 0;
	return 1;
}

/* The request for smtp-auth: "PLAIN b64" or "LOGIN b64 b64", from the
 * initial response (ir, may be NULL) and 334 exchanges. */
static int
auth_request(struct session *s, int plain, const char *ir, size_t irlen,
    struct str *req)
{
	struct str line;

	/* The command line is done with: its buffer takes the next. */
	str_init(&line, s->cmdbuf, sizeof(s->cmdbuf));
	(void)str_appends(req, plain ? "PLAIN " : "LOGIN ");
	if (ir == NULL) {
		/* RFC 4954 §4: "334 " and an empty challenge for PLAIN;
		 * LOGIN asks "Username:" in base64. */
		reply(s, plain ? "334 " : "334 VXNlcm5hbWU6");
		if (auth_read(s, &line) == -1)
			return -1;
		ir = line.s;
		irlen = line.len;
	}
	/* "=" is an empty initial response (RFC 4954 §4). */
	if (irlen == 1 && ir[0] == '=')
		irlen = 0;
	if (!b64_ok(ir, irlen) || str_append(req, ir, irlen) == -1)
		goto bad;
	if (plain)
		return 0;
	reply(s, "334 UGFzc3dvcmQ6");
	if (auth_read(s, &line) == -1)
		return -1;
	if (!b64_ok(line.s, line.len) || str_appendc(req, ' ') == -1 ||
	    str_append(req, line.s, line.len) == -1)
		goto bad;
	return 0;
bad:
	reply(s, "501 5.5.2 cannot decode the response (base64)");
	return -1;
}

static void
auth_failed(struct session *s, const char *why)
{
	s->auth_failures++;
	log_event("auth-failed", "peer", s->peerlog, LOG_PEER "reason", why,
	    (char *)NULL);
	auth_delay(s);
	if (s->auth_failures >= SMTP_AUTH_FAILURES_MAX) {
		reply(s, "421 4.7.0 too many failed authentications; "
		    "closing");
		s->end = SESSION_AUTH_FAILED;
		close_gently(s);
		return;
	}
	reply(s, "535 5.7.8 authentication credentials invalid");
}

static void
do_auth(struct session *s, const struct cmd *c)
{
	char reqbuf[SMTP_CMD_LINE_MAX * 2 + 16], why[512];
	const char *mech = c->arg, *sp, *ir = NULL;
	size_t mlen = c->arglen, irlen = 0;
	struct str req;
	int plain;

	if (!s->tls) {
		reply(s, "538 5.7.11 encryption required for requested "
		    "authentication mechanism");
		return;
	}
	if (s->login[0] != '\0') {
		reply(s, "503 5.5.1 already authenticated");
		return;
	}
	if ((sp = memchr(mech, ' ', mlen)) != NULL) {
		ir = sp + 1;
		irlen = mlen - (size_t)(ir - mech);
		mlen = (size_t)(sp - mech);
	}
	if (mlen == 5 && strncasecmp(mech, "PLAIN", 5) == 0)
		plain = 1;
	else if (mlen == 5 && strncasecmp(mech, "LOGIN", 5) == 0)
		plain = 0;
	else {
		reply(s, "504 5.5.4 unrecognized authentication type");
		return;
	}
	str_init(&req, reqbuf, sizeof(reqbuf));
	if (auth_request(s, plain, ir, irlen, &req) == -1)
		return;
	why[0] = '\0';
	switch (s->hooks->auth(s, req.s, s->login, sizeof(s->login), why,
	    sizeof(why))) {
	case SESSION_AUTH_OK:
		log_event("auth", "peer", s->peerlog, "login", s->login,
		    "mechanism", plain ? "PLAIN" : "LOGIN", (char *)NULL);
		reply(s, "235 2.7.0 authentication successful");
		break;
	case SESSION_AUTH_NO:
		s->login[0] = '\0';
		auth_failed(s, why);
		break;
	case SESSION_AUTH_BAD:
		s->login[0] = '\0';
		reply(s, "501 5.5.2 %s", why[0] != '\0' ? why :
		    "cannot decode the response");
		break;
	default:
		s->login[0] = '\0';
		s->auth_temps++;
		log_event("error", "peer", s->peerlog, "op", "auth",
		    "error", why, (char *)NULL);
		reply(s, "454 4.7.0 temporary authentication failure");
		break;
	}
	explicit_bzero(reqbuf, sizeof(reqbuf));
	explicit_bzero(s->cmdbuf, sizeof(s->cmdbuf));
	/* The exchange had deadlines of its own, and a failure our delay;
	 * failures are bounded (SMTP_AUTH_FAILURES_MAX, errors). */
	s->moved = 1;
}

/* The command came in a state that does not allow it (RFC 5321 §4.1.4). */
static void
bad_sequence(struct session *s, enum cmd_verb v)
{
	int greet = v == CMD_MAIL || v == CMD_STARTTLS || v == CMD_AUTH;

	if (s->state == SESSION_FRESH && greet)
		reply(s, "503 5.5.1 send HELO or EHLO first");
	else if (v == CMD_MAIL)
		reply(s, "503 5.5.1 nested MAIL command");
	else if (v == CMD_STARTTLS || v == CMD_AUTH)
		/* RFC 4954 §4: AUTH during a transaction is a 503; the
		 * same for STARTTLS (RFC 3207 §4 resets the session). */
		reply(s, "503 5.5.1 %s not allowed during a mail transaction",
		    v == CMD_AUTH ? "AUTH" : "STARTTLS");
	else
		reply(s, "503 5.5.1 need MAIL command first");
}

/* Does the command move no mail (SMTP_JUNK_MAX)?  Those whose whole
 * work is their reply, a greeting again (the first under TLS is not),
 * and those refused before they ran: unknown, malformed, out of
 * sequence. */
static int
is_junk(const struct session *s, const struct cmd *c, enum cmd_err e,
    unsigned flags)
{
	const struct dispatch *d = &dispatch[c->verb];

	if (e != CMD_OK || (flags & (LINE_NUL | LINE_BARE_CR)) ||
	    !(flags & LINE_CRLF) || d->fn == NULL || !(s->state & d->states))
		return 1;
	switch (c->verb) {
	case CMD_NOOP:
	case CMD_RSET:
	case CMD_VRFY:
	case CMD_EXPN:
	case CMD_HELP:
		return 1;
	case CMD_HELO:
	case CMD_EHLO:
		return s->state != SESSION_FRESH;
	default:
		return 0;
	}
}

/* One more command that moves no mail: 0, or -1 when it is one too
 * many and the session is closed. */
static int
count_junk(struct session *s)
{
	if (++s->junk <= SMTP_JUNK_MAX)
		return 0;
	reply(s, "421 4.7.0 too many commands that move no mail; closing");
	s->end = SESSION_JUNK;
	close_gently(s);
	return -1;
}

/* Is the client listed by a zone of posthorn.conf's dnsbl?  Asked on
 * port 25 only (a user of submission may well connect from an address
 * that a list of dynamic addresses holds), of one zone after another
 * until one lists it.  A failure is logged and is not a listing.  1
 * with the reply in reply_text, else 0. */
static int
dnsbl_listed(struct session *s, char *reply_text, size_t size)
{
	char zone[CONF_HOSTNAME_MAX + 1], reason[DNSBL_REASON_MAX + 1];
	char why[256];
	const char *p = s->conf->dnsbl, *w;
	size_t n;

	if (strcmp(s->peer, "unknown") == 0)
		return 0;
	/* Each a host name no longer than zone: conf.c's parse_zones. */
	while ((w = str_word(&p, &n)) != NULL) {
		(void)str_fmt(zone, sizeof(zone), "%.*s", (int)n, w);
		switch (dnsbl_check(s->peer, zone, reason, sizeof(reason), why,
		    sizeof(why))) {
		case DNSBL_LISTED:
			log_event("dnsbl", "peer", s->peerlog, "zone", zone,
			    LOG_PEER "reason", reason, (char *)NULL);
			str_fmt_cut(reply_text, size, "554 5.7.1 %s", reason);
			return 1;
		case DNSBL_ERROR:
			log_event("dnsbl-error", "peer", s->peerlog, "zone",
			    zone, "error", why, (char *)NULL);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* One command line, its CR LF removed. */
static void
command(struct session *s, char *line, size_t len, unsigned flags)
{
	const struct dispatch *d;
	struct cmd c;
	enum cmd_err e;

	s->logto[0] = '\0';
	s->logarg = NULL;
	e = cmd_parse(line, len, &c);
	(void)str_copy(s->cmdname, sizeof(s->cmdname), c.name);
	/* The argument as a C string for the logs; line has room. */
	line[(c.arg - line) + c.arglen] = '\0';
	if (c.verb == CMD_MAIL || c.verb == CMD_RCPT)
		s->logarg = c.arg;
	if (c.verb == CMD_HTTP && !(flags & LINE_NUL)) {
		do_http(s, &c);
		return;
	}
	if (is_junk(s, &c, e, flags) && count_junk(s) == -1)
		return;
	/* Only CR LF ends a command: a server that takes a bare LF (or CR)
	 * for a line end reads differently from its neighbours, which is
	 * what SMTP smuggling feeds on. */
	if (flags & LINE_NUL) {
		reply(s, "500 5.5.2 NUL in command");
		return;
	}
	if (!(flags & LINE_CRLF)) {
		reply(s, "500 5.5.2 line must end with CRLF");
		return;
	}
	if (flags & LINE_BARE_CR) {
		reply(s, "500 5.5.2 bare CR in command");
		return;
	}
	if (e != CMD_OK) {
		reply_cmd_err(s, e, c.verb, ADDR_OK);
		return;
	}
	/* Listed: nothing but QUIT (RFC 5321 §3.1). */
	if (s->blocked && c.verb != CMD_QUIT) {
		reply(s, "503 5.7.1 no service for a listed address; only "
		    "QUIT");
		return;
	}
	d = &dispatch[c.verb];
	if (d->fn == NULL) {
		reply_cmd_err(s, CMD_EUNKNOWN, c.verb, ADDR_OK);
		return;
	}
	if (!(s->state & d->states)) {
		bad_sequence(s, c.verb);
		return;
	}
	d->fn(s, &c);
}

/* Is a whole command line waiting?  Then its reply can wait too. */
static int
command_buffered(struct session *s)
{
	const char *p;
	ssize_t n;

	if (line_buffered(&s->line) == 0)
		return 0;
	/* Buffered bytes are returned without reading, so the deadline
	 * is never used: one in the past, which could not wait anyway. */
	n = line_peek(&s->line, &p, 0);
	return n > 0 && memchr(p, '\n', (size_t)n) != NULL;
}

enum session_end
session_run(struct session *s)
{
	char errors[24], messages[24], blocked[DNSBL_REASON_MAX + 16];
	enum line_status st;
	unsigned flags;
	struct str line;

	str_init(&line, s->cmdbuf, sizeof(s->cmdbuf));
	log_event("connect", "peer", s->peerlog,
	    "proxy", s->vialog[0] != '\0' ? s->vialog : NULL, (char *)NULL);
	(void)str_copy(s->cmdname, sizeof(s->cmdname), "greeting");
	/* Port 465 (RFC 8314): TLS from the first byte, then the greeting. */
	if (s->mode == SESSION_SUBMISSIONS && start_tls(s) == -1)
		;
	else if (s->mode == SESSION_SUBMISSION && !tls_available(s)) {
		/* Without TLS there is no AUTH, and without AUTH nothing to
		 * do on this port: say so rather than fail later. */
		reply(s, "421 4.3.0 %s TLS is not configured on this server",
		    s->conf->hostname);
		s->end = SESSION_TLS_FAILED;
	} else if (s->mode == SESSION_MX && s->conf->dnsbl[0] != '\0' &&
	    dnsbl_listed(s, blocked, sizeof(blocked))) {
		s->blocked = 1;
		reply(s, "%s", blocked);
	} else
		reply(s, "220 %s ESMTP posthorn", s->conf->hostname);
	s->since = clock_ms();
	while (s->end == SESSION_RUNNING) {
		if (!command_buffered(s)) {
			flush(s);
			if (s->end != SESSION_RUNNING)
				break;
		}
		st = line_get(&s->line, &line, SMTP_CMD_LINE_MAX,
		    cmd_deadline(s), &flags);
		s->moved = 0;
		switch (st) {
		case LINE_OK:
			command(s, line.s, line.len, flags);
			break;
		case LINE_TOOLONG:
			(void)str_copy(s->cmdname, sizeof(s->cmdname), "?");
			s->logarg = NULL;
			s->logto[0] = '\0';
			if (count_junk(s) == 0)
				reply(s, "500 5.5.2 line too long");
			break;
		case LINE_TIMEOUT:
			timed_out(s);
			break;
		case LINE_EOF:
			s->end = SESSION_EOF;
			break;
		case LINE_ERROR:
		default:
			s->ioerr = errno;
			s->end = SESSION_EOF;
			break;
		}
		if (s->moved)
			s->since = clock_ms();
		if (s->end == SESSION_RUNNING && s->errors >= SMTP_ERRORS_MAX) {
			reply(s, "421 4.7.0 too many errors; closing");
			s->end = SESSION_ERRORS;
			close_gently(s);
		}
	}
	flush(s);
	if (s->refusals > SMTP_REFUSALS_LOGGED) {
		(void)str_fmt(errors, sizeof(errors), "%u",
		    s->refusals - SMTP_REFUSALS_LOGGED);
		log_event("refused-unlogged", "peer", s->peerlog, "count",
		    errors, (char *)NULL);
	}
	(void)str_fmt(errors, sizeof(errors), "%u", s->errors);
	(void)str_fmt(messages, sizeof(messages), "%u", s->messages);
	log_event("disconnect", "peer", s->peerlog,
	    "reason", session_end_name(s->end), "messages", messages,
	    "errors", errors,
	    "error", s->ioerr != 0 ? strerror(s->ioerr) : NULL, (char *)NULL);
	return s->end;
}

void
session_prefault(struct session *s)
{
	prefault(s, offsetof(struct session, msg.buf) + SESSION_PREFAULT_BUF);
	prefault(&s->out, SESSION_PREFAULT_BUF);
	prefault(&s->line, SESSION_PREFAULT_BUF);
	prefault(s->rcpts[0], sizeof(s->rcpts[0]));
	/* notify[] and the first orcpt, neighbours: one call */
	_Static_assert(offsetof(struct session, orcpt) ==
	    offsetof(struct session, notify) +
	    sizeof(((struct session *)0)->notify), "orcpt follows notify");
	prefault(s->notify, sizeof(s->notify) + sizeof(s->orcpt[0]));
}

void
session_init(struct session *s, const struct conf *conf,
    const struct session_hooks *hooks, enum session_mode mode,
    struct io *io, const char *peer)
{
	/* The state, not the buffers behind it (session.h). */
	memset(s, 0, offsetof(struct session, cmdbuf));
	s->conf = conf;
	s->hooks = hooks;
	s->mode = mode;
	s->auth_delay_ms = (int64_t)SMTP_AUTH_DELAY * 1000;
	s->io = io;
	line_init(&s->line, io);
	out_init(&s->out, io);
	s->cmd_timeout = (int64_t)SMTP_CMD_TIMEOUT * 1000;
	s->idle_timeout = (int64_t)SMTP_IDLE_TIMEOUT * 1000;
	s->data_timeout = (int64_t)SMTP_DATA_TIMEOUT * 1000;
	s->drain_timeout = (int64_t)SMTP_DRAIN_TIMEOUT * 1000;
	s->state = SESSION_FRESH;
	s->end = SESSION_RUNNING;
	checks_init(&s->checks, -1);
	if (peer == NULL || str_copy(s->peer, sizeof(s->peer), peer) == -1)
		(void)str_copy(s->peer, sizeof(s->peer), "unknown");
	if (strcmp(s->peer, "unknown") == 0) {
		(void)str_copy(s->peerlog, sizeof(s->peerlog), "unknown");
		(void)str_copy(s->peerhdr, sizeof(s->peerhdr), "unknown");
	} else {
		(void)str_fmt(s->peerlog, sizeof(s->peerlog), "[%s]", s->peer);
		/* RFC 5321 §4.1.3 address literals. */
		(void)str_fmt(s->peerhdr, sizeof(s->peerhdr), "[%s%s]",
		    strchr(s->peer, ':') != NULL ? "IPv6:" : "", s->peer);
	}
}

void
session_checker(struct session *s, int sock)
{
	checks_init(&s->checks, sock);
}

void
session_via(struct session *s, const char *proxy)
{
	s->vialog[0] = '\0';
	if (proxy != NULL && proxy[0] != '\0')
		(void)str_fmt(s->vialog, sizeof(s->vialog), "[%s]", proxy);
}

