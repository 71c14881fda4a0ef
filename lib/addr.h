/* addr.h — RFC 5321 paths and mailboxes: Dot-string and Quoted-string
 * local parts, domains and address literals (IPv4, IPv6), UTF-8 under
 * SMTPUTF8 (RFC 6531), source routes accepted and dropped (RFC 5321
 * §4.1.2), and the length limits of §4.5.3.1. */
#ifndef POSTHORN_ADDR_H
#define POSTHORN_ADDR_H

#include <stddef.h>

enum {
	ADDR_LOCAL_MAX = 64,	/* RFC 5321 §4.5.3.1.1 */
	ADDR_DOMAIN_MAX = 255,	/* §4.5.3.1.2 */
	ADDR_PATH_MAX = 256,	/* §4.5.3.1.3, the brackets included */
	/* local part as stored: quotes and escapes resolved, at most 64 */
	ADDR_TEXT_MAX = ADDR_PATH_MAX + 2 * ADDR_LOCAL_MAX + 8	/* formatted */
};

enum addr_flags {
	ADDR_NULL_OK	= 1 << 0,	/* "<>" is valid (MAIL FROM) */
	ADDR_UTF8	= 1 << 1,	/* non-ASCII allowed (SMTPUTF8) */
	ADDR_NODOMAIN_OK = 1 << 2	/* "<postmaster>" (RCPT TO, §4.5.1) */
};

enum addr_err {
	ADDR_OK = 0,
	ADDR_ESYNTAX,		/* not a path or mailbox */
	ADDR_ELOCAL_LONG,	/* local part over ADDR_LOCAL_MAX */
	ADDR_EDOMAIN_LONG,	/* domain over ADDR_DOMAIN_MAX */
	ADDR_EPATH_LONG,	/* path over ADDR_PATH_MAX */
	ADDR_E8BIT,		/* non-ASCII without ADDR_UTF8 */
	ADDR_EUTF8,		/* invalid UTF-8 */
	ADDR_ELITERAL,		/* bad or unsupported address literal */
	ADDR_ENULL		/* "<>" where it is not allowed */
};

struct addr {
	char	local[ADDR_LOCAL_MAX + 1];	/* unquoted content */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* lowercased ASCII; literal
						   kept with its brackets */
	int	null;		/* the null path "<>" */
	int	utf8;		/* has non-ASCII bytes */
	int	literal;	/* domain is an address literal */
};

/* A path "<...>" at s (len bytes available).  *end is set past the '>'.
 * A source route "<@a,@b:u@d>" is accepted and ignored. */
enum addr_err	addr_parse_path(const char *s, size_t len, unsigned flags,
		    struct addr *, size_t *end);
/* A bare mailbox "local@domain" occupying all len bytes (command-line
 * arguments, header addr-specs). */
enum addr_err	addr_parse(const char *s, size_t len, unsigned flags,
		    struct addr *);
/* "local@domain" with the local part quoted when it is not a Dot-string;
 * "" for the null path; "postmaster" alone when there is no domain.
 * Returns the length, or -1 if out is too small. */
int		addr_format(const struct addr *, char *out, size_t);
const char	*addr_strerror(enum addr_err);
/* 1 if c is RFC 5322 §3.2.3 atext (ASCII: letters, digits and
 * !#$%&'*+-/=?^_`{|}~). */
int		addr_is_atext(int c);
/* 1 if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int		addr_utf8_valid(const char *s, size_t len);

#endif
