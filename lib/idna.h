/* idna.h — a domain's two spellings: U-labels (UTF-8, as a person writes
 * bücher.example) and A-labels (xn--bcher-kva.example, what DNS, EHLO and
 * DKIM d= carry), by the Punycode of RFC 3492 and the label rules of RFC
 * 5890/5891 that need no Unicode tables.
 *
 * It needs no library, so the static smtp-in can tell a local domain in
 * either spelling.  What needs the Unicode tables of IDNA 2008 (which
 * code points a label may hold, NFC, the case mapping of UTS #46) is done
 * by libidn2 in the glibc programs: posthorn-config check for the
 * configuration, smtp-out for the domains it looks up.  Here only ASCII
 * letters are lowercased: a U-label is lowercase and NFC already when it
 * is valid IDNA 2008 (RFC 5892 disallows upper case), so a valid name in
 * either spelling maps to the one A-label. */
#ifndef POSTHORN_IDNA_H
#define POSTHORN_IDNA_H

#include <stddef.h>

enum {
	IDNA_LABEL_MAX = 63,	/* octets of a label, RFC 1035 §2.3.4 */
	IDNA_DOMAIN_MAX = 253	/* octets of a name without its root dot */
};

enum idna_err {
	IDNA_OK = 0,
	IDNA_EEMPTY,		/* an empty label ("a..b", ".a") */
	IDNA_EUTF8,		/* not well-formed UTF-8 */
	IDNA_ELABEL_LONG,	/* a label over IDNA_LABEL_MAX as an A-label */
	IDNA_EDOMAIN_LONG,	/* over IDNA_DOMAIN_MAX, or out too small */
	IDNA_EHYPHEN,		/* "--" in places 3-4 of a U-label, or a
				   leading or trailing hyphen (RFC 5891
				   §4.2.3.1) */
	IDNA_EPUNYCODE		/* an "xn--" label that is not the Punycode
				   of a U-label (RFC 5891 §5.4) */
};

/* 1 if domain has a byte above 0x7f or a label starting "xn--" (in any
 * case): a name that has another spelling.  0 for every other name,
 * without looking further: the ASCII path pays one scan. */
int		 idna_is_intl(const char *domain);
/* domain with each U-label as its A-label and ASCII lowercased, into out
 * (size bytes with the NUL).  An "xn--" label is checked as in
 * idna_to_utf8 and kept.  A trailing root dot is dropped. */
enum idna_err	 idna_to_ascii(const char *domain, char *out, size_t size);
/* domain with each A-label decoded to its U-label (UTF-8), ASCII
 * lowercased.  An A-label must decode to some non-ASCII and encode back
 * to itself. */
enum idna_err	 idna_to_utf8(const char *domain, char *out, size_t size);
/* The other spelling of an international domain: idna_to_ascii if it has
 * non-ASCII, else idna_to_utf8. */
enum idna_err	 idna_other(const char *domain, char *out, size_t size);
const char	*idna_why(enum idna_err);

#endif
