/* policy.h — what an authenticated user may send as: the envelope sender
 * and every address of From: must be the user's own (the login, or an
 * address whose aliases lead to the user's mailbox), unless the user's
 * domain says any_sender = yes in its domain.conf.  chasquid's users
 * asked for the exception for years; without it a user who relays the
 * mail of a shared address could not send at all. */
#ifndef POSTHORN_POLICY_H
#define POSTHORN_POLICY_H

#include <stddef.h>

#include "conf.h"

enum policy_result {
	POLICY_OK,
	POLICY_NOT_OWNED,	/* 550 5.7.1 */
	POLICY_TEMPFAIL		/* a file could not be read: 451 */
};

/* May login send as address ("" for the null sender: yes)? */
enum policy_result policy_owns(const struct conf *, const char *login,
		    const char *address);
/* Every address of a From: field value (unfolded or not); *bad gets the
 * first one that is not owned, or "" when the field does not parse. */
enum policy_result policy_from(const struct conf *, const char *login,
		    const char *value, size_t len, char *bad, size_t badsize);

/* Capturing the From: fields of a message as it streams past, for
 * policy_from: feed every message byte (LF line ends, after DATA's
 * unstuffing); the header's From: fields collect in buf, folded lines
 * joined, several From: fields one after the other (each is checked). */
struct policy_from_capture {
	char	*buf;
	size_t	 size, len;
	int	 state;		/* where in the header we are */
	int	 from;		/* the current field is a From: */
	int	 nfrom;		/* From: fields seen: RFC 5322 wants one */
	int	 overflow;	/* buf was too small: refuse */
	char	 name[6];	/* the field name so far, "from" fits */
	size_t	 namelen;
	int	 wsp;		/* blanks after the name (RFC 5322 §4.5.8) */
	int	 notfrom;	/* the name cannot be From */
};
void	policy_capture_init(struct policy_from_capture *, char *buf,
	    size_t size);
void	policy_capture(struct policy_from_capture *, const void *, size_t);

#endif
