/* proxy.h — the HAProxy PROXY protocol header (versions 1 and 2) that a
 * load balancer sends before the client's first byte, read by smtp-in
 * when the listener says the connection comes from a configured proxy
 * (POSTHORN_PROXY=1).  Exactly the header's bytes are consumed, never one
 * more: what follows is the client's SMTP, for the session's line
 * reader. */
#ifndef POSTHORN_PROXY_H
#define POSTHORN_PROXY_H

#include <stddef.h>
#include <stdint.h>

enum {
	/* The longest version 1 line, "PROXY TCP6 " and two full IPv6
	 * addresses and ports, CR LF included (the specification, 2.1). */
	PROXY_V1_MAX = 107,
	/* Version 2: the fixed part (signature, version and command,
	 * family, length), then at most this many bytes of addresses and
	 * TLVs: HAProxy's own receive bound.  Longer is refused. */
	PROXY_V2_HEAD = 16,
	PROXY_V2_LEN_MAX = 536,
	/* Seconds for the whole header: a proxy sends it at once, so a
	 * slow one is broken or is not the proxy. */
	PROXY_TIMEOUT = 10,
	PROXY_ADDR_MAX = 64	/* text of an address, as SMTP_PEER_MAX */
};

struct proxy_info {
	int		version;	/* 1 or 2 */
	/* UNKNOWN (v1) or LOCAL (v2, a health check): no address is
	 * given, the connection's own ones stand. */
	int		local;
	/* The client as the proxy saw it, normalized as peer_normalize
	 * does (an IPv4-mapped IPv6 address in its IPv4 form). */
	char		src[PROXY_ADDR_MAX];
	char		dst[PROXY_ADDR_MAX];
	unsigned	sport, dport;
};

/* Read the header from fd (a socket) by the absolute deadline (clock_ms
 * time base): 0 with *info set, or -1 with *why a short reason for the
 * log ("timeout", "eof", "signature", "too-long", "syntax", "address",
 * "port", "version", "command", "family", "length", "read") and errno
 * set for "read". */
int	proxy_read(int fd, int64_t deadline, struct proxy_info *,
	    const char **why);

/* The same on bytes already in memory, for the tests and the reader: 0
 * when buf[0..len) is a whole valid header (*used its length), 1 when
 * more bytes are needed to know, -1 with *why when it cannot become
 * one. */
int	proxy_parse(const unsigned char *buf, size_t len, size_t *used,
	    struct proxy_info *, const char **why);

#endif
