/* tls.h — what the two ends of posthorn's TLS share around a GnuTLS
 * session: smtp-tlsd's server side (smtp-in/tlsd.c) and smtp-out's client
 * side (smtp-out/tlsc.c).  GnuTLS: listed in the Makefile's CRYPTO_SRC,
 * so that it never reaches smtp-in. */
#ifndef POSTHORN_TLS_H
#define POSTHORN_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

/* Wait until s can go on in the direction it last asked for (rfd
 * readable, or wfd writable): 0, or -1 with ETIMEDOUT once the deadline
 * (clock_ms() time base) has passed, or poll(2)'s errno. */
int	tls_wait(gnutls_session_t s, int rfd, int wfd, int64_t deadline);
/* The protocol of s as OpenSSL, Postfix and most Received: fields say
 * it, "TLSv1.3" (GnuTLS says "TLS1.3"), or "-", into buf[size]. */
void	tls_version(gnutls_session_t s, char *buf, size_t size);
/* The IANA name of the cipher suite of s, or "-". */
const char *tls_cipher(gnutls_session_t s);

#endif
