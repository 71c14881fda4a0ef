/* idnlook.c — libidn2's lookup conversion (RFC 5891 §5, UTS #46 mapping)
 * behind one function, for smtp-out's DNS names, DKIM's d= and
 * posthorn-config's check.  Kept out of the static library: libidn2 has
 * no musl build here, and smtp-in needs none of it (lib/idna.h). */

#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "conf.h"
#include "idna.h"
#include "idnlook.h"
#include "str.h"

int
idnlook_to_ascii(const char *domain, char *out, size_t size, char *why,
    size_t whysize)
{
	char *a = NULL;
	int r, rc = -1;

	if (!idna_is_intl(domain)) {
		if (str_copy(out, size, domain) == -1) {
			str_fmt_cut(why, whysize, "%s: name too long", domain);
			return -1;
		}
		str_lower(out);
		return 0;
	}
	if ((r = idn2_to_ascii_8z(domain, &a, IDN2_NFC_INPUT |
	    IDN2_NONTRANSITIONAL)) != IDN2_OK) {
		str_fmt_cut(why, whysize, "%s: not a valid international "
		    "domain name (IDNA 2008): %s", domain, idn2_strerror(r));
		goto out;
	}
	/* UTS #46 without its STD3 rules (which libidn2 2.3 applies by
	 * dropping the characters, so that "a_b" would become "ab") maps
	 * U+FF0F to '/', U+FF0E to '.', U+3000 to ' ', U+FF1E to '>': a
	 * name of ours must come out letters, digits, hyphens and dots,
	 * or it would carry "a> NOTIFY=..." into a RCPT line or d=. */
	if (!conf_valid_hostname(a)) {
		str_fmt_cut(why, whysize, "%s: not a valid international "
		    "domain name (IDNA 2008): maps to characters other than "
		    "letters, digits, hyphens and dots", domain);
		goto out;
	}
	if (str_copy(out, size, a) == -1) {
		str_fmt_cut(why, whysize, "%s: name too long", domain);
		goto out;
	}
	str_lower(out);
	rc = 0;
out:
	idn2_free(a);
	return rc;
}
