/* dsn.h — the parameters of the SMTP extension for delivery status
 * notifications (RFC 3461): NOTIFY and ORCPT on RCPT, RET and ENVID on
 * MAIL, and the xtext encoding (§4) their values travel in.  smtp-in
 * parses them, the queue keeps them (decoded), queue-run's DSNs honour
 * them and smtp-out encodes them again for the next hop. */
#ifndef POSTHORN_DSN_H
#define POSTHORN_DSN_H

#include <stddef.h>

enum {
	/* RFC 3461 §4.4: an ENVID is at most 100 characters. */
	DSN_ENVID_MAX = 100,
	/* RFC 3461 §4.2: ORCPT's value (its address type, ";" and the
	 * xtext address) is at most 500 characters. */
	DSN_ORCPT_MAX = 500,
	/* "SUCCESS,FAILURE,DELAY" and its NUL */
	DSN_NOTIFY_TEXT_MAX = 24
};

/* NOTIFY (RFC 3461 §4.1): NEVER alone, or any of the other three.  0:
 * not given, which is FAILURE and DELAY (the usual default, §4.1). */
enum dsn_notify {
	DSN_NOTIFY_NEVER = 1 << 0,
	DSN_NOTIFY_SUCCESS = 1 << 1,
	DSN_NOTIFY_FAILURE = 1 << 2,
	DSN_NOTIFY_DELAY = 1 << 3
};

/* RET (RFC 3461 §4.3): what a DSN returns of the message. */
enum dsn_ret {
	DSN_RET_NONE = 0,	/* not given: the headers (our choice) */
	DSN_RET_FULL,
	DSN_RET_HDRS
};

/* Decode the xtext in[len] into out[size], NUL-terminated.  A decoded
 * byte must be printable ASCII (0x20-0x7e: RFC 3461 §4.2, §4.4); a
 * character outside xtext's ("!" to "~" but "+" and "="), a "+" not
 * followed by two upper-case hex digits, or a value that does not fit is
 * -1 (EINVAL, or ENOBUFS).  Returns the decoded length. */
int	dsn_xtext_decode(const char *in, size_t len, char *out, size_t size);
/* Encode the NUL-terminated in as xtext into out[size]: -1 ENOBUFS. */
int	dsn_xtext_encode(const char *in, char *out, size_t size);
/* NOTIFY's value s[len], case-insensitive, each keyword once, NEVER
 * alone: 0 with *mask, or -1. */
int	dsn_notify_parse(const char *s, size_t len, unsigned *mask);
/* mask as NOTIFY's value ("SUCCESS,FAILURE", "NEVER") into
 * buf[DSN_NOTIFY_TEXT_MAX]; "" for 0. */
void	dsn_notify_format(unsigned mask, char *buf, size_t size);
/* The recipient's wish, with 0 (not given) as FAILURE and DELAY: 1 if
 * a DSN of the kind (DSN_NOTIFY_SUCCESS, _FAILURE or _DELAY) is
 * wanted. */
int	dsn_notify_wants(unsigned mask, unsigned kind);
/* RET's value, case-insensitive: 0 with *ret, or -1. */
int	dsn_ret_parse(const char *s, size_t len, enum dsn_ret *ret);
/* "FULL", "HDRS", or "" for DSN_RET_NONE. */
const char	*dsn_ret_name(enum dsn_ret);
/* ORCPT's value s[len], "addr-type;xtext" (RFC 3461 §4.2), at most
 * DSN_ORCPT_MAX characters, into out[size] as "addr-type;decoded": the
 * type an atom of letters, digits and "-", the address not empty.  0, or
 * -1. */
int	dsn_orcpt_parse(const char *s, size_t len, char *out, size_t size);
/* The other way, for the next hop: "type;decoded" into "type;xtext".
 * 0, or -1 (EINVAL: no ";", ENOBUFS). */
int	dsn_orcpt_encode(const char *decoded, char *out, size_t size);
/* ENVID's value s[len]: xtext of at most DSN_ENVID_MAX characters, not
 * empty, decoded into out[size].  0, or -1. */
int	dsn_envid_parse(const char *s, size_t len, char *out, size_t size);

#endif
