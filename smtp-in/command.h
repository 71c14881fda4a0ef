/* command.h — the SMTP command parser: which verb a line names, whether
 * its argument fits the verb, and the MAIL FROM / RCPT TO paths with their
 * ESMTP parameters (RFC 5321 §4.1.1, RFC 1870, RFC 6152, RFC 6531).  Pure
 * functions of the line: the session decides what the state allows, the
 * parser only what the syntax says. */
#ifndef POSTHORN_COMMAND_H
#define POSTHORN_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dsn.h"

enum cmd_verb {
	CMD_UNKNOWN = 0,
	CMD_HELO,
	CMD_EHLO,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_RSET,
	CMD_NOOP,
	CMD_QUIT,
	CMD_VRFY,
	CMD_EXPN,
	CMD_HELP,
	CMD_STARTTLS,	/* RFC 3207 */
	CMD_AUTH,	/* RFC 4954 */
	CMD_HTTP,	/* GET, POST, HEAD, PUT, CONNECT: not SMTP at all */
	CMD_NVERBS
};

enum cmd_err {
	CMD_OK = 0,
	CMD_EUNKNOWN,	/* 500 5.5.2 no such verb */
	CMD_EARGS,	/* 501 5.5.4 argument where none is taken, or none */
	CMD_ESYNTAX,	/* 501 5.5.4 not "FROM:" / "TO:" */
	CMD_EPATH,	/* 553 5.1.7 (MAIL), 5.1.3 (RCPT); 5.6.7 non-ASCII */
	CMD_ENOESMTP,	/* 555 5.5.4 parameters after HELO */
	CMD_EPARAM,	/* 555 5.5.4 a parameter we do not know */
	CMD_EPARAMVAL,	/* 501 5.5.4 bad or repeated parameter value */
	CMD_ESIZE	/* 552 5.3.4 SIZE= over the limit */
};

enum { CMD_VERB_MAX = 15 };	/* what is kept of an unknown verb for logs */

struct cmd {
	enum cmd_verb	 verb;
	const char	*arg;		/* after "VERB ", trailing blanks cut */
	size_t		 arglen;
	char		 name[CMD_VERB_MAX + 1];	/* for logs, upper case */
};

enum cmd_body {
	CMD_BODY_NONE = 0,
	CMD_BODY_7BIT,
	CMD_BODY_8BITMIME
};

/* MAIL FROM or RCPT TO, parsed. */
struct cmd_path {
	struct addr	addr;
	enum addr_err	aerr;		/* why, with CMD_EPATH */
	uint64_t	size;		/* SIZE=, 0 when not given */
	enum cmd_body	body;		/* BODY= */
	int		smtputf8;	/* SMTPUTF8 */
	/* RFC 3461 (DSN), decoded from xtext: RET and ENVID of MAIL,
	 * NOTIFY and ORCPT of RCPT; 0 or "" when not given. */
	enum dsn_ret	ret;
	char		envid[DSN_ENVID_MAX + 1];
	unsigned	notify;		/* enum dsn_notify */
	char		orcpt[DSN_ORCPT_MAX + 1];
};

/* Split line[0..len) (no CR LF) into verb and argument.  On CMD_EUNKNOWN
 * and CMD_EARGS c->verb and c->name are still set for the logs. */
enum cmd_err	cmd_parse(const char *line, size_t len, struct cmd *c);
/* The argument of MAIL: "FROM:<path> [params]", also "FROM: <path>".
 * esmtp: the client said EHLO, so parameters are allowed; max_size: the
 * SIZE= limit (0 for none). */
enum cmd_err	cmd_parse_mail(const char *arg, size_t len, int esmtp,
		    uint64_t max_size, struct cmd_path *);
/* The argument of RCPT: "TO:<path> [NOTIFY=...] [ORCPT=...]".  utf8:
 * the transaction said SMTPUTF8.  "<postmaster>" without a domain is
 * accepted (§4.5.1). */
enum cmd_err	cmd_parse_rcpt(const char *arg, size_t len, int esmtp,
		    int utf8, struct cmd_path *);
/* The reply line for an error, without CR LF, e.g. "553 5.1.3 ...".  aerr
 * matters with CMD_EPATH.  0, or -1 when buf is too small. */
int		cmd_reply(enum cmd_err, enum cmd_verb, enum addr_err,
		    char *buf, size_t len);
/* The verb's name, "HELO" ... ("?" for CMD_UNKNOWN). */
const char	*cmd_name(enum cmd_verb);

#endif
