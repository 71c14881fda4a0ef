/* policy.c — the submission policy: which addresses a login owns
 * (lib/sendas.c decides), and the sender fields of a message, caught as
 * it streams into the queue. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "domconf.h"
#include "mailhdr.h"
#include "policy.h"
#include "sendas.h"
#include "str.h"

enum cap_state {
	CAP_LINE_START,		/* at the start of a header line */
	CAP_NAME,		/* reading a field name */
	CAP_IN_FIELD,		/* inside a field that is kept */
	CAP_OTHER,		/* inside another field */
	CAP_BODY		/* past the header: nothing more to do */
};

/* The fields that name a sender (RFC 5322 §3.6.2, §3.6.6). */
static const char *const fields[] = {
	"From", "Sender", "Resent-From", "Resent-Sender"
};
enum { F_NONE = -1, F_FROM, F_SENDER };

enum policy_result
policy_owns(const struct conf *conf, const char *login, const char *address)
{
	switch (sendas_login(conf, login, address, NULL, 0)) {
	case SENDAS_YES:
	case SENDAS_ANY:
		return POLICY_OK;
	case SENDAS_TEMPFAIL:
		return POLICY_TEMPFAIL;
	default:
		return POLICY_NOT_OWNED;
	}
}

/* --- one field ----------------------------------------------------------- */

struct field_arg {
	const struct conf	*conf;
	const char		*login;
	char			*bad;
	size_t			 badsize;
	enum policy_result	 rc;
	/* For the display-name check: the addresses of the field. */
	char			 addrs[POLICY_FIELD_ADDRS_MAX][ADDR_TEXT_MAX];
	size_t			 naddrs;
	int			 toomany;
};

/* Made printable ASCII: it goes back in a reply. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s > '~')
			*s = '?';
}

static int
field_addr(void *arg, const char *addr, size_t len)
{
	struct field_arg *f = arg;
	char a[ADDR_TEXT_MAX];
	struct addr parsed;

	if (f->naddrs < POLICY_FIELD_ADDRS_MAX && len < ADDR_TEXT_MAX) {
		memcpy(f->addrs[f->naddrs], addr, len);
		f->addrs[f->naddrs++][len] = '\0';
	} else
		f->toomany = 1;
	if (addr_parse(addr, len, ADDR_UTF8, &parsed) != ADDR_OK ||
	    addr_format(&parsed, a, sizeof(a)) == -1) {
		f->rc = POLICY_NOT_OWNED;
		str_fmt_cut(f->bad, f->badsize, "%.*s", (int)len, addr);
		printable(f->bad);
		return 1;
	}
	if ((f->rc = policy_owns(f->conf, f->login, a)) != POLICY_OK) {
		(void)str_copy(f->bad, f->badsize, a);
		return 1;
	}
	return 0;
}

static int
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL) || c >= 0x80;
}

static int
is_dtext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c >= 0x80;
}

/* Anything in value that reads as an address (some atext, '@', a
 * domain) must be one of the field's own: otherwise the display name
 * or a comment shows another address than the one that sends.  An
 * encoded word (RFC 2047) is not decoded: a limit of this check. */
static int
names_own(struct field_arg *f, const char *value, size_t len, char *bad,
    size_t badsize)
{
	const unsigned char *v = (const unsigned char *)value;
	char tok[ADDR_TEXT_MAX];
	size_t i, s, e, k;
	int known;

	for (i = 0; i < len; i++) {
		if (v[i] != '@')
			continue;
		for (s = i; s > 0 && is_atext(v[s - 1]); s--)
			;
		for (e = i + 1; e < len && is_dtext(v[e]); e++)
			;
		while (e > i + 1 && (v[e - 1] == '.' || v[e - 1] == '-'))
			e--;
		if (s == i || e == i + 1)
			continue;
		if (e - s >= sizeof(tok)) {
			str_fmt_cut(bad, badsize, "%.*s", 64, value + s);
			printable(bad);
			return 0;
		}
		memcpy(tok, value + s, e - s);
		tok[e - s] = '\0';
		known = 0;
		for (k = 0; k < f->naddrs && !known; k++)
			known = str_casecmp(tok, f->addrs[k]) == 0;
		if (!known) {
			(void)str_copy(bad, badsize, tok);
			printable(bad);
			return 0;
		}
	}
	return 1;
}

enum policy_result
policy_fields(const struct conf *conf, const char *login,
    const struct policy_from_capture *c, const char **field, char *bad,
    size_t badsize, char *why, size_t whysize)
{
	struct field_arg *f = NULL;
	struct domconf dc;
	const char *at = strrchr(login, '@');
	enum policy_result rc = POLICY_OK;
	size_t i, end;

	bad[0] = '\0';
	str_fmt_cut(why, whysize, "%s", "");
	*field = c->nfield > 0 ? fields[c->field[0].kind] : fields[F_FROM];
	memset(&dc, 0, sizeof(dc));
	if (at != NULL && c->nfield > 0 &&
	    domconf_load(conf, at + 1, &dc, NULL, 0) == -1)
		return POLICY_TEMPFAIL;
	/* Some KB: not on smtp-in's small stack. */
	if (c->nfield > 0 && (f = calloc(1, sizeof(*f))) == NULL)
		return POLICY_TEMPFAIL;
	for (i = 0; i < c->nfield && rc == POLICY_OK; i++) {
		end = i + 1 < c->nfield ? c->field[i + 1].off : c->len;
		*field = fields[c->field[i].kind];
		memset(f, 0, sizeof(*f));
		f->conf = conf;
		f->login = login;
		f->bad = bad;
		f->badsize = badsize;
		f->rc = POLICY_OK;
		if (mailhdr_addresses(c->buf + c->field[i].off,
		    end - c->field[i].off, field_addr, f) == -1) {
			bad[0] = '\0';
			str_fmt_cut(why, whysize, "does not parse");
			rc = POLICY_NOT_OWNED;
			break;
		}
		if ((rc = f->rc) != POLICY_OK) {
			if (bad[0] == '\0')
				str_fmt_cut(why, whysize, "does not parse");
			break;
		}
		if (dc.refuse_address_in_name && (f->toomany ||
		    !names_own(f, c->buf + c->field[i].off,
		    end - c->field[i].off, bad, badsize))) {
			str_fmt_cut(why, whysize, "names another address "
			    "than its own");
			rc = POLICY_NOT_OWNED;
		}
	}
	free(f);
	return rc;
}

/* --- the fields as the message streams ----------------------------------- */

void
policy_capture_init(struct policy_from_capture *c, char *buf, size_t size)
{
	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->size = size;
	c->state = CAP_LINE_START;
	c->cur = F_NONE;
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

/* The field whose name ends here: its kind, or F_NONE. */
static int
kind_of(struct policy_from_capture *c)
{
	size_t i;

	if (c->notours)
		return F_NONE;
	c->name[c->namelen] = '\0';
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (str_casecmp(c->name, fields[i]) == 0)
			return (int)i;
	return F_NONE;
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
			c->state = c->cur != F_NONE ? CAP_IN_FIELD :
			    CAP_OTHER;
			if (c->cur != F_NONE)
				keep(c, ' ');
			return;
		}
		c->cur = F_NONE;
		c->namelen = 0;
		c->wsp = 0;
		c->notours = 0;
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
				c->notours = 1;
			else
				c->name[c->namelen++] = ch;
			return;
		}
		c->cur = kind_of(c);
		if (c->cur == F_FROM)
			c->nfrom++;
		else if (c->cur == F_SENDER)
			c->nsender++;
		if (c->cur != F_NONE) {
			if (c->nfield == POLICY_FIELDS_MAX) {
				c->overflow = 1;
				c->cur = F_NONE;
			} else {
				c->field[c->nfield].off = c->len;
				c->field[c->nfield++].kind = c->cur;
			}
		}
		c->state = c->cur != F_NONE ? CAP_IN_FIELD : CAP_OTHER;
		return;
	case CAP_IN_FIELD:
	case CAP_OTHER:
		if (ch == '\n')
			c->state = CAP_LINE_START;
		else if (c->state == CAP_IN_FIELD)
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
