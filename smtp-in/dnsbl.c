/* dnsbl.c — asking DNS blocklists about a client (dnsbl.h), through
 * lib/dns's lookups: in smtp-in they run on musl's res_send, with the
 * timeouts of /etc/resolv.conf. */

#include <sys/socket.h>

#include <string.h>

#include "dnsbl.h"
#include "str.h"

int
dnsbl_name(const char *addr, const char *zone, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	struct dns_addr a;
	struct str n;
	int i;

	if (dns_addr_parse(addr, &a) == -1)
		return -1;
	str_init(&n, buf, size);
	if (a.family == AF_INET) {
		if (str_appendf(&n, "%u.%u.%u.%u.", a.addr[3], a.addr[2],
		    a.addr[1], a.addr[0]) == -1)
			return -1;
	} else
		for (i = 15; i >= 0; i--)
			if (str_appendc(&n, hex[a.addr[i] & 0xf]) == -1 ||
			    str_appendc(&n, '.') == -1 ||
			    str_appendc(&n, hex[a.addr[i] >> 4]) == -1 ||
			    str_appendc(&n, '.') == -1)
				return -1;
	if (str_appends(&n, zone) == -1 || n.len > DNS_NAME_MAX)
		return -1;
	return 0;
}

enum dnsbl_result
dnsbl_classify(const struct dns_addr *a, size_t n, char *why, size_t whysize)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i].family != AF_INET || a[i].addr[0] != 127) {
			str_fmt_cut(why, whysize, "answer %s is outside "
			    "127.0.0.0/8: not a listing", a[i].text);
			return DNSBL_ERROR;
		}
		if (a[i].addr[1] == 255 && a[i].addr[2] == 255) {
			str_fmt_cut(why, whysize, "answer %s is the list's "
			    "error code: not a listing", a[i].text);
			return DNSBL_ERROR;
		}
	}
	return n > 0 ? DNSBL_LISTED : DNSBL_NOT_LISTED;
}

enum dnsbl_result
dnsbl_check(const char *addr, const char *zone, char *reason,
    size_t reasonsize, char *why, size_t whysize)
{
	struct dns_addr a[DNSBL_ANSWERS_MAX];
	static struct dns_text t;	/* 4 KB: out of the stack */
	char name[DNS_NAME_MAX + 1];
	enum dnsbl_result r;
	size_t n = 0;

	reason[0] = '\0';
	why[0] = '\0';
	if (dnsbl_name(addr, zone, name, sizeof(name)) == -1) {
		str_fmt_cut(why, whysize, "cannot make a query name of %s",
		    addr);
		return DNSBL_ERROR;
	}
	switch (dns_addrs_family(NULL, name, AF_INET, a, DNSBL_ANSWERS_MAX,
	    &n, why, whysize)) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		why[0] = '\0';
		return DNSBL_NOT_LISTED;
	default:
		return DNSBL_ERROR;
	}
	if ((r = dnsbl_classify(a, n, why, whysize)) != DNSBL_LISTED)
		return r;
	/* The reason is a courtesy: without it, still listed. */
	n = 0;
	if (dns_txt(name, &t, 1, &n, why, whysize) == DNS_OK && n > 0 &&
	    t.text[0] != '\0')
		str_fmt_cut(reason, reasonsize, "%.*s", DNSBL_REASON_MAX,
		    t.text);
	else
		str_fmt_cut(reason, reasonsize, "listed by %s", zone);
	why[0] = '\0';
	return DNSBL_LISTED;
}
