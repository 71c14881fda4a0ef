/* policy.h — what an authenticated user may send as: the envelope sender
 * and every address of From:, Sender:, Resent-From: and Resent-Sender:
 * must be the user's own by the rule of lib/sendas.h (the login, an
 * alias that leads to the user alone, an address the senders file gives
 * it), unless the user's domain says any_sender = yes in its
 * domain.conf.  chasquid's users asked for the exception for years;
 * without it a user who relays the mail of a shared address could not
 * send at all.  With refuse_address_in_name = yes a display name or a
 * comment may hold no address but the field's own ("ceo@example.org"
 * <alice@example.org> is refused): many readers show only the name. */
#ifndef POSTHORN_POLICY_H
#define POSTHORN_POLICY_H

#include <stddef.h>

#include "conf.h"

enum policy_result {
	POLICY_OK,
	POLICY_NOT_OWNED,	/* 550 5.7.1 */
	POLICY_TEMPFAIL		/* a file could not be read: 451 */
};

enum {
	/* Sender fields kept per message: one From:, one Sender:, and a
	 * Resent-From: and a Resent-Sender: per forwarding; more is
	 * refused rather than checked in part. */
	POLICY_FIELDS_MAX = 16,
	/* Addresses of one field that the display-name check compares
	 * against; more is refused under that check. */
	POLICY_FIELD_ADDRS_MAX = 32
};

/* May login send as address ("" for the null sender: yes)? */
enum policy_result policy_owns(const struct conf *, const char *login,
		    const char *address);

/* Capturing the sender fields of a message as it streams past: feed
 * every message byte (LF line ends, after DATA's unstuffing); the
 * header's From:, Sender:, Resent-From: and Resent-Sender: values
 * collect in buf, folded lines joined, each field a segment. */
struct policy_field {
	size_t	off;		/* its value's first byte in buf */
	int	kind;		/* which name (policy.c) */
};
struct policy_from_capture {
	char	*buf;
	size_t	 size, len;
	int	 state;		/* where in the header we are */
	int	 cur;		/* the current field is kept: its kind */
	int	 nfrom;		/* From: fields seen: RFC 5322 wants one */
	int	 nsender;	/* Sender: fields seen: one at most */
	int	 overflow;	/* buf or the fields were too small: refuse */
	char	 name[16];	/* the field name so far, "resent-sender" fits */
	size_t	 namelen;
	int	 wsp;		/* blanks after the name (RFC 5322 §4.5.8) */
	int	 notours;	/* the name cannot be one of ours */
	struct policy_field field[POLICY_FIELDS_MAX];
	size_t	 nfield;
};
void	policy_capture_init(struct policy_from_capture *, char *buf,
	    size_t size);
void	policy_capture(struct policy_from_capture *, const void *, size_t);

/* Every captured field of a message (after its last byte): POLICY_OK,
 * or POLICY_NOT_OWNED with *field the field's name ("From", ...) and
 * bad the first address not owned ("" when the field does not parse;
 * why says more), or POLICY_TEMPFAIL. */
enum policy_result policy_fields(const struct conf *, const char *login,
		    const struct policy_from_capture *, const char **field,
		    char *bad, size_t badsize, char *why, size_t whysize);

#endif
