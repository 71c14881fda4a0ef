/* lmtp.c — the LMTP destination of a local domain (lmtp.h), as
 * Postfix's users write it for lmtp(8): "unix:/run/dovecot/lmtp",
 * "inet:[127.0.0.1]:24", or the same without "inet:". */

#include <arpa/inet.h>
#include <string.h>

#include "conf.h"
#include "lmtp.h"
#include "str.h"

const char *
lmtp_target_parse(const char *s, struct lmtp_target *t)
{
	unsigned char bytes[16];
	const char *colon, *end;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (strncmp(s, "unix:", 5) == 0 || s[0] == '/') {
		if (s[0] != '/')
			s += 5;
		/* A relative path would depend on where smtp-out runs. */
		if (s[0] != '/')
			return "a UNIX socket's path must be absolute";
		if (str_copy(t->path, sizeof(t->path), s) == -1)
			return "a UNIX socket's path is 107 bytes at most";
		t->unix_socket = 1;
		return NULL;
	}
	if (strncmp(s, "inet:", 5) == 0)
		s += 5;
	t->port = LMTP_PORT_DEFAULT;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return "'[' without ']'";
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= sizeof(t->host))
			return "bad address in brackets";
		memcpy(t->host, s + 1, len);
		t->host[len] = '\0';
		if (inet_pton(AF_INET6, t->host, bytes) != 1 &&
		    inet_pton(AF_INET, t->host, bytes) != 1)
			return "not an IPv6 or IPv4 address in brackets";
		colon = end[1] == '\0' ? NULL : end + 1;
		if (colon != NULL && *colon != ':')
			return "junk after ']'";
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return "an IPv6 address goes in brackets, [::1]:24";
		len = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (len == 0 || len >= sizeof(t->host))
			return "not unix:/PATH, [ADDRESS]:PORT or HOST:PORT";
		memcpy(t->host, s, len);
		t->host[len] = '\0';
		if (!conf_valid_hostname(t->host))
			return "not a host name or an address";
		str_lower(t->host);
	}
	if (colon != NULL && str_port(colon + 1, &t->port) == -1)
		return "port must be a number from 1 to 65535";
	return NULL;
}

int
lmtp_target_format(const struct lmtp_target *t, char *out, size_t size)
{
	unsigned char b[16];
	char a[INET6_ADDRSTRLEN];
	int af = strchr(t->host, ':') != NULL ? AF_INET6 : AF_INET;

	if (t->unix_socket)
		return str_fmt(out, size, "unix:%s", t->path);
	/* An address in the one spelling inet_ntop gives it, so that
	 * [::1] and [0::1], or 127.0.0.1 and [127.0.0.1], are one. */
	if (inet_pton(af, t->host, b) == 1) {
		if (inet_ntop(af, b, a, sizeof(a)) == NULL)
			return -1;
		return str_fmt(out, size, "[%s]:%u", a, t->port);
	}
	return str_fmt(out, size, "%s:%u", t->host, t->port);
}
