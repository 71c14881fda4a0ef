/* dns.c — libFuzzer harness: smtp-out's DNS answer parsers
 * (smtp-out/dns.c) on the input as a whole response to a query for
 * example.com: MX, then AAAA and A into one list, as dns_addrs fills it. */

#include <arpa/nameser.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_target t[DNS_HOSTS_MAX];
	static struct dns_addr a[DNS_ADDRS_MAX];
	char why[512];
	size_t n = 0, i;

	if (dns_parse_mx(data, size, "example.com", t, DNS_HOSTS_MAX, &n,
	    why, sizeof(why)) == DNS_OK) {
		if (n > DNS_HOSTS_MAX)
			abort();
		for (i = 0; i < n; i++)
			if (memchr(t[i].host, '\0', sizeof(t[i].host)) == NULL)
				abort();
	}
	n = 0;
	(void)dns_parse_addrs(data, size, "example.com", ns_t_aaaa, a,
	    DNS_ADDRS_MAX, &n, why, sizeof(why));
	(void)dns_parse_addrs(data, size, "example.com", ns_t_a, a,
	    DNS_ADDRS_MAX, &n, why, sizeof(why));
	if (n > DNS_ADDRS_MAX)
		abort();
	/* A query name that the answer's names may or may not match. */
	n = 0;
	(void)dns_parse_mx(data, size, "mx.example.com", t, 2, &n, why,
	    sizeof(why));
	return 0;
}
