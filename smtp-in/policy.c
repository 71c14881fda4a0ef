/* policy.c — the submission policy: which addresses a login owns, and the
 * From: fields of a message, caught as it streams into the queue. */

#include <errno.h>
#include <string.h>

#include "addr.h"
#include "alias.h"
#include "domconf.h"
#include "mailhdr.h"
#include "policy.h"
#include "str.h"

enum cap_state {
	CAP_LINE_START,		/* at the start of a header line */
	CAP_NAME,		/* reading a field name */
	CAP_IN_FROM,		/* inside a From: field */
	CAP_OTHER,		/* inside another field */
	CAP_BODY		/* past the header: nothing more to do */
};

struct owns_arg {
	const char	*login;
	int		 found;
};

static int
is_login(const struct alias_target *t, void *arg)
{
	struct owns_arg *o = arg;

	if (t->kind == ALIAS_MAILBOX && str_casecmp(t->addr, o->login) == 0)
		o->found = 1;
	return 0;
}

static enum policy_result
any_sender(const struct conf *conf, const char *login)
{
	const char *at = strrchr(login, '@');
	struct domconf dc;

	if (at == NULL)
		return POLICY_NOT_OWNED;
	if (domconf_load(conf, at + 1, &dc, NULL, 0) == -1)
		return POLICY_TEMPFAIL;
	return dc.any_sender ? POLICY_OK : POLICY_NOT_OWNED;
}

enum policy_result
policy_owns(const struct conf *conf, const char *login, const char *address)
{
	struct owns_arg o = { login, 0 };
	char why[ALIAS_WHY_MAX];

	if (address[0] == '\0' || str_casecmp(address, login) == 0)
		return POLICY_OK;
	/* An alias of the user's, a suffix or drop characters: resolution
	 * says whether it ends in the user's mailbox. */
	switch (alias_resolve(conf, address, is_login, &o, why,
	    sizeof(why))) {
	case ALIAS_OK:
		if (o.found)
			return POLICY_OK;
		break;
	case ALIAS_TEMPFAIL:
		return POLICY_TEMPFAIL;
	default:
		break;
	}
	return any_sender(conf, login);
}

struct from_arg {
	const struct conf	*conf;
	const char		*login;
	char			*bad;
	size_t			 badsize;
	enum policy_result	 rc;
};

static int
from_addr(void *arg, const char *addr, size_t len)
{
	struct from_arg *f = arg;
	char a[ADDR_TEXT_MAX];
	struct addr parsed;

	if (addr_parse(addr, len, ADDR_UTF8, &parsed) != ADDR_OK ||
	    addr_format(&parsed, a, sizeof(a)) == -1) {
		char *p;

		f->rc = POLICY_NOT_OWNED;
		str_fmt_cut(f->bad, f->badsize, "%.*s", (int)len, addr);
		/* It goes back in a reply: printable ASCII only. */
		for (p = f->bad; *p != '\0'; p++)
			if (*p < ' ' || *p > '~')
				*p = '?';
		return 1;
	}
	if ((f->rc = policy_owns(f->conf, f->login, a)) != POLICY_OK) {
		(void)str_copy(f->bad, f->badsize, a);
		return 1;
	}
	return 0;
}

enum policy_result
policy_from(const struct conf *conf, const char *login, const char *value,
    size_t len, char *bad, size_t badsize)
{
	struct from_arg f = { conf, login, bad, badsize, POLICY_OK };

	bad[0] = '\0';
	if (mailhdr_addresses(value, len, from_addr, &f) == -1)
		return POLICY_NOT_OWNED;
	return f.rc;
}

/* --- From: as the message streams ------------------------------------ */

void
policy_capture_init(struct policy_from_capture *c, char *buf, size_t size)
{
	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->size = size;
	c->state = CAP_LINE_START;
	if (size > 0)
		buf[0] = '\0';
}

static void
keep(struct policy_from_capture *c, char ch)
{
	if (c->len + 1 >= c->size) {
		c->overflow = 1;
		return;
	}
	c->buf[c->len++] = ch;
	c->buf[c->len] = '\0';
}

static void
feed1(struct policy_from_capture *c, char ch)
{
	if (c->state == CAP_LINE_START) {
		if (ch == '\n') {		/* the empty line */
			c->state = CAP_BODY;
			return;
		}
		if (ch == ' ' || ch == '\t') {	/* folded: the same field */
			c->state = c->from ? CAP_IN_FROM : CAP_OTHER;
			if (c->from)
				keep(c, ' ');
			return;
		}
		c->from = 0;
		c->namelen = 0;
		c->wsp = 0;
		c->notfrom = 0;
		c->state = CAP_NAME;
	}
	switch (c->state) {
	case CAP_NAME:
		if (ch == '\n') {		/* no colon: not a field */
			c->state = CAP_LINE_START;
			return;
		}
		if (ch != ':') {
			/* The name as the signer reads it (lib/mailhdr.c):
			 * blanks may follow it, nothing else may. */
			if (ch == ' ' || ch == '\t')
				c->wsp = 1;
			else if (c->wsp || c->namelen == sizeof(c->name) - 1)
				c->notfrom = 1;
			else
				c->name[c->namelen++] = ch;
			return;
		}
		c->name[c->namelen] = '\0';
		/* Several From: fields are joined with a comma, so that
		 * each one is checked; more than one is refused anyway. */
		c->from = !c->notfrom && str_casecmp(c->name, "from") == 0;
		if (c->from && c->nfrom++ > 0)
			keep(c, ',');
		c->state = c->from ? CAP_IN_FROM : CAP_OTHER;
		return;
	case CAP_IN_FROM:
	case CAP_OTHER:
		if (ch == '\n')
			c->state = CAP_LINE_START;
		else if (c->state == CAP_IN_FROM)
			keep(c, ch);
		return;
	default:
		return;
	}
}

void
policy_capture(struct policy_from_capture *c, const void *p, size_t n)
{
	const char *s = p;
	size_t i;

	for (i = 0; i < n && c->state != CAP_BODY; i++)
		feed1(c, s[i]);
}
