/* fuzzsession.h — one whole SMTP session of smtp-in on a fuzzer's input,
 * for the three harnesses session_mx, session_submission and
 * session_submissions. */
#ifndef POSTHORN_FUZZSESSION_H
#define POSTHORN_FUZZSESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../smtp-in/session.h"

/* The AUTH PLAIN response that the stub accepts (alice@example.com,
 * "secret"), and one it calls malformed. */
#define FZS_PLAIN_OK	"AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA=="
#define FZS_PLAIN_BAD	"AAAA"

/* Run a session in mode on data (fuzzutil.h's split reads: data[0]
 * chooses them), then throw away what it queued.  STARTTLS "succeeds"
 * with the session going on in plaintext; AUTH accepts FZS_PLAIN_OK (and
 * LOGIN with the same user and password); an SRS recipient passes when
 * its local part holds "=GOOD=", is temporary with "=TEMP=", and is
 * refused otherwise. */
void	fzs_run(const uint8_t *data, size_t size, enum session_mode mode);

#endif
