/* lmtp.h — where a local domain's mail goes by LMTP (RFC 2033): the
 * value of domain.conf's "lmtp" key (posthorn.conf(5)), read by
 * queue-run, which hands the domain's mailboxes to smtp-out with it, and
 * by smtp-out, which connects there.  One parser, so that what the
 * configuration check accepts is what smtp-out can use. */
#ifndef POSTHORN_LMTP_H
#define POSTHORN_LMTP_H

#include <stddef.h>

enum {
	/* RFC 2033 §4 names no port; 24 is IANA's "any private mail
	 * system", where Dovecot's inet_listener lmtp goes by habit. */
	LMTP_PORT_DEFAULT = 24,
	LMTP_HOST_MAX = 255,		/* RFC 1035 name length */
	/* sun_path of struct sockaddr_un is 108 bytes with its NUL. */
	LMTP_PATH_MAX = 107,
	/* The value as written: "unix:" and a path, or "inet:", a host
	 * in brackets and a port. */
	LMTP_TARGET_MAX = 8 + LMTP_HOST_MAX + 8
};

struct lmtp_target {
	int		unix_socket;		/* 1: path; 0: host and port */
	char		path[LMTP_PATH_MAX + 1];
	char		host[LMTP_HOST_MAX + 1];	/* a name, or an
				   address without its brackets */
	unsigned	port;
};

/* Parse s: "unix:/PATH" (or "/PATH"), "[ADDRESS]:PORT", "HOST:PORT",
 * "[ADDRESS]" or "HOST" (port 24), each TCP form also with Postfix's
 * "inet:" in front.  NULL, or why it is wrong. */
const char	*lmtp_target_parse(const char *s, struct lmtp_target *);
/* t in one spelling for each server: "unix:/PATH", "[ADDRESS]:PORT" or
 * "host:port", which lmtp_target_parse reads back as t; domconf keeps
 * this one.  0, or -1 (size is short). */
int	lmtp_target_format(const struct lmtp_target *t, char *out,
	    size_t size);

#endif
