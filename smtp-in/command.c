/* command.c — parse one SMTP command line: the verb (case-insensitive,
 * RFC 5321 §2.4), its argument, and for MAIL and RCPT the path and the
 * ESMTP parameters.  Every refusal is an enum whose reply text lives in
 * cmd_reply, so that the tests can pin the codes without a session. */

#include <string.h>

#include "command.h"
#include "str.h"

enum args {
	ARGS_NONE,	/* "QUIT x" is a syntax error (501) */
	ARGS_OPTIONAL,	/* NOOP [SP String], HELP [SP String] */
	ARGS_REQUIRED
};

static const struct verb {
	const char	*name;
	enum cmd_verb	 verb;
	enum args	 args;
} verbs[] = {
	{ "HELO", CMD_HELO, ARGS_REQUIRED },
	{ "EHLO", CMD_EHLO, ARGS_REQUIRED },
	{ "MAIL", CMD_MAIL, ARGS_REQUIRED },
	{ "RCPT", CMD_RCPT, ARGS_REQUIRED },
	{ "DATA", CMD_DATA, ARGS_NONE },
	{ "RSET", CMD_RSET, ARGS_NONE },
	{ "NOOP", CMD_NOOP, ARGS_OPTIONAL },
	{ "QUIT", CMD_QUIT, ARGS_NONE },
	{ "VRFY", CMD_VRFY, ARGS_REQUIRED },
	{ "EXPN", CMD_EXPN, ARGS_OPTIONAL },
	{ "HELP", CMD_HELP, ARGS_OPTIONAL },
	{ "STARTTLS", CMD_STARTTLS, ARGS_NONE },
	{ "AUTH", CMD_AUTH, ARGS_REQUIRED },
	/* An HTTP request sent to an SMTP port (cross-protocol attacks). */
	{ "GET", CMD_HTTP, ARGS_OPTIONAL },
	{ "POST", CMD_HTTP, ARGS_OPTIONAL },
	{ "HEAD", CMD_HTTP, ARGS_OPTIONAL },
	{ "PUT", CMD_HTTP, ARGS_OPTIONAL },
	{ "CONNECT", CMD_HTTP, ARGS_OPTIONAL },
};

static int
upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* s[0..n) equals the upper-case ASCII word w, ignoring case. */
static int
word_is(const char *s, size_t n, const char *w)
{
	size_t i;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (upper((unsigned char)s[i]) != w[i])
			return 0;
	return 1;
}

const char *
cmd_name(enum cmd_verb v)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "?";
}

enum cmd_err
cmd_parse(const char *line, size_t len, struct cmd *c)
{
	const struct verb *v = NULL;
	size_t i, vlen;
	const char *sp;

	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	c->verb = CMD_UNKNOWN;
	c->arg = sp != NULL ? sp + 1 : line + len;
	c->arglen = sp != NULL ? len - vlen - 1 : 0;
	while (c->arglen > 0 && (c->arg[c->arglen - 1] == ' ' ||
	    c->arg[c->arglen - 1] == '\t'))
		c->arglen--;

	/* The name for the logs: printable ASCII of the verb, upper case. */
	for (i = 0; i < vlen && i < CMD_VERB_MAX; i++) {
		unsigned char ch = (unsigned char)line[i];

		c->name[i] = ch > ' ' && ch < 0x7f ? (char)upper(ch) : '?';
	}
	c->name[i] = '\0';

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (word_is(line, vlen, verbs[i].name)) {
			v = &verbs[i];
			break;
		}
	if (v == NULL)
		return CMD_EUNKNOWN;
	c->verb = v->verb;
	if (v->args == ARGS_NONE && c->arglen > 0)
		return CMD_EARGS;
	if (v->args == ARGS_REQUIRED && c->arglen == 0)
		return CMD_EARGS;
	return CMD_OK;
}

/* Digits only, at most 20 of them (RFC 1870 §4), no overflow. */
static int
parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The next " KEY[=VALUE]" of s[n] from *i on (RFC 5321 §4.1.2
 * esmtp-param; blanks between them are lenient): 1 with its parts (val
 * NULL without "="), 0 at the end. */
static int
next_param(const char *s, size_t n, size_t *i, const char **key,
    size_t *klen, const char **val, size_t *vlen)
{
	const char *eq;
	size_t j;

	while (*i < n && s[*i] == ' ')
		(*i)++;
	if (*i == n)
		return 0;
	for (j = *i; j < n && s[j] != ' '; j++)
		;
	*key = s + *i;
	eq = memchr(*key, '=', j - *i);
	*klen = eq != NULL ? (size_t)(eq - *key) : j - *i;
	*val = eq != NULL ? eq + 1 : NULL;
	*vlen = eq != NULL ? (size_t)(s + j - *val) : 0;
	*i = j;
	return 1;
}

/* The parameters of MAIL after the path (RFC 5321 §4.1.2
 * Mail-parameters). */
static enum cmd_err
mail_params(const char *s, size_t n, uint64_t max_size, struct cmd_path *p)
{
	int seen_size = 0, seen_auth = 0;
	const char *key, *val;
	size_t i = 0, klen, vlen;

	while (next_param(s, n, &i, &key, &klen, &val, &vlen)) {
		if (word_is(key, klen, "SIZE")) {
			if (seen_size || val == NULL ||
			    parse_size(val, vlen, &p->size) == -1)
				return CMD_EPARAMVAL;
			seen_size = 1;
			if (max_size != 0 && p->size > max_size)
				return CMD_ESIZE;
		} else if (word_is(key, klen, "BODY")) {
			if (p->body != CMD_BODY_NONE || val == NULL)
				return CMD_EPARAMVAL;
			if (word_is(val, vlen, "7BIT"))
				p->body = CMD_BODY_7BIT;
			else if (word_is(val, vlen, "8BITMIME"))
				p->body = CMD_BODY_8BITMIME;
			else
				return CMD_EPARAMVAL;
		} else if (word_is(key, klen, "SMTPUTF8")) {
			if (p->smtputf8 || val != NULL)
				return CMD_EPARAMVAL;
			p->smtputf8 = 1;
		} else if (word_is(key, klen, "RET")) {
			/* RFC 3461 §4.3, once */
			if (p->ret != DSN_RET_NONE || val == NULL ||
			    dsn_ret_parse(val, vlen, &p->ret) == -1)
				return CMD_EPARAMVAL;
		} else if (word_is(key, klen, "ENVID")) {
			/* RFC 3461 §4.4: xtext, at most 100 characters */
			if (p->envid[0] != '\0' || val == NULL ||
			    dsn_envid_parse(val, vlen, p->envid,
			    sizeof(p->envid)) == -1)
				return CMD_EPARAMVAL;
		} else if (word_is(key, klen, "AUTH")) {
			/* RFC 4954 §5: accepted and ignored until AUTH is
			 * offered; the value is xtext or "<>". */
			if (seen_auth || val == NULL || vlen == 0)
				return CMD_EPARAMVAL;
			seen_auth = 1;
		} else
			return CMD_EPARAM;
	}
	return CMD_OK;
}

/* The parameters of RCPT: RFC 3461's NOTIFY (§4.1) and ORCPT (§4.2),
 * each once. */
static enum cmd_err
rcpt_params(const char *s, size_t n, struct cmd_path *p)
{
	const char *key, *val;
	size_t i = 0, klen, vlen;

	while (next_param(s, n, &i, &key, &klen, &val, &vlen)) {
		if (word_is(key, klen, "NOTIFY")) {
			if (p->notify != 0 || val == NULL ||
			    dsn_notify_parse(val, vlen, &p->notify) == -1)
				return CMD_EPARAMVAL;
		} else if (word_is(key, klen, "ORCPT")) {
			if (p->orcpt[0] != '\0' || val == NULL ||
			    dsn_orcpt_parse(val, vlen, p->orcpt,
			    sizeof(p->orcpt)) == -1)
				return CMD_EPARAMVAL;
		} else
			return CMD_EPARAM;
	}
	return CMD_OK;
}

/* "FROM:" / "TO:", then the path into p (reset first); *paramoff is
 * where the parameters start (their leading space included), len when
 * there are none.  CMD_EPATH with p->aerr set when the path is bad or
 * something other than a space follows it. */
static enum cmd_err
path_arg(const char *arg, size_t len, const char *word, unsigned flags,
    struct cmd_path *p, size_t *paramoff)
{
	size_t wl = strlen(word), end;

	memset(p, 0, sizeof(*p));
	if (len < wl || !word_is(arg, wl, word))
		return CMD_ESYNTAX;
	/* "MAIL FROM: <a@b>", as Postfix accepts. */
	if (len > wl && arg[wl] == ' ')
		wl++;
	p->aerr = addr_parse_path(arg + wl, len - wl, flags, &p->addr, &end);
	if (p->aerr != ADDR_OK)
		return CMD_EPATH;
	*paramoff = wl + end;
	if (*paramoff < len && arg[*paramoff] != ' ') {
		p->aerr = ADDR_ESYNTAX;
		return CMD_EPATH;
	}
	return CMD_OK;
}

enum cmd_err
cmd_parse_mail(const char *arg, size_t len, int esmtp, uint64_t max_size,
    struct cmd_path *p)
{
	size_t off;
	enum cmd_err e;

	/* The parameters decide whether non-ASCII is allowed, and they come
	 * after the path: find the end of the path allowing UTF-8, then
	 * judge the address by what the parameters said. */
	if ((e = path_arg(arg, len, "FROM:", ADDR_NULL_OK | ADDR_UTF8, p,
	    &off)) != CMD_OK)
		return e;
	if (off < len) {
		if (!esmtp)
			return CMD_ENOESMTP;
		if ((e = mail_params(arg + off, len - off, max_size, p)) !=
		    CMD_OK)
			return e;
	}
	if (p->addr.utf8 && !p->smtputf8) {
		p->aerr = ADDR_E8BIT;
		return CMD_EPATH;
	}
	return CMD_OK;
}

enum cmd_err
cmd_parse_rcpt(const char *arg, size_t len, int esmtp, int utf8,
    struct cmd_path *p)
{
	size_t off;
	enum cmd_err e;

	if ((e = path_arg(arg, len, "TO:", ADDR_NODOMAIN_OK |
	    (utf8 ? ADDR_UTF8 : 0), p, &off)) != CMD_OK)
		return e;
	/* Trailing blanks were cut by cmd_parse, so something follows. */
	if (off < len) {
		if (!esmtp)
			return CMD_ENOESMTP;
		return rcpt_params(arg + off, len - off, p);
	}
	return CMD_OK;
}

int
cmd_reply(enum cmd_err e, enum cmd_verb v, enum addr_err aerr, char *buf,
    size_t len)
{
	const char *name = cmd_name(v);
	int rc = -1;

	switch (e) {
	case CMD_OK:
		rc = str_copy(buf, len, "250 2.0.0 Ok");
		break;
	case CMD_EUNKNOWN:
		rc = str_copy(buf, len, "500 5.5.2 command not recognized");
		break;
	case CMD_EARGS:
		if (v == CMD_HELO || v == CMD_EHLO)
			rc = str_fmt(buf, len,
			    "501 5.5.4 %s requires a domain name", name);
		else if (v == CMD_MAIL)
			rc = str_copy(buf, len,
			    "501 5.5.4 syntax: MAIL FROM:<address>");
		else if (v == CMD_RCPT)
			rc = str_copy(buf, len,
			    "501 5.5.4 syntax: RCPT TO:<address>");
		else if (v == CMD_VRFY)
			rc = str_copy(buf, len,
			    "501 5.5.4 syntax: VRFY address");
		else
			rc = str_fmt(buf, len,
			    "501 5.5.4 %s takes no arguments", name);
		break;
	case CMD_ESYNTAX:
		rc = str_copy(buf, len, v == CMD_RCPT ?
		    "501 5.5.4 syntax: RCPT TO:<address>" :
		    "501 5.5.4 syntax: MAIL FROM:<address>");
		break;
	case CMD_EPATH:
		if (aerr == ADDR_E8BIT || aerr == ADDR_EUTF8)
			/* RFC 6531 §3.5: non-ASCII address, no SMTPUTF8. */
			rc = str_fmt(buf, len, "553 5.6.7 %s%s",
			    addr_strerror(aerr), aerr == ADDR_E8BIT ?
			    " (non-ASCII address needs SMTPUTF8)" : "");
		else
			rc = str_fmt(buf, len, "553 %s %s %s",
			    v == CMD_RCPT ? "5.1.3" : "5.1.7",
			    v == CMD_RCPT ? "bad recipient address:" :
			    "bad sender address:", addr_strerror(aerr));
		break;
	case CMD_ENOESMTP:
		rc = str_copy(buf, len,
		    "555 5.5.4 parameters need EHLO, not HELO");
		break;
	case CMD_EPARAM:
		rc = str_fmt(buf, len, "555 5.5.4 unsupported %s parameter",
		    name);
		break;
	case CMD_EPARAMVAL:
		rc = str_fmt(buf, len, "501 5.5.4 bad %s parameter value",
		    name);
		break;
	case CMD_ESIZE:
		/* RFC 1870 §6.1 */
		rc = str_copy(buf, len, "552 5.3.4 message size exceeds "
		    "fixed maximum message size");
		break;
	}
	return rc;
}
