/* utf8.h — is this UTF-8?  Shared by the address parser (SMTPUTF8) and the
 * logger (which escapes whatever is not, so journald keeps lines as text). */
#ifndef POSTHORN_UTF8_H
#define POSTHORN_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the well-formed UTF-8 sequence at s[0..len), or 0:
 * overlongs, surrogates, code points above U+10FFFF and truncated
 * sequences are not well-formed (RFC 3629 §4). */
size_t	utf8_seq(const unsigned char *s, size_t len);

#endif
