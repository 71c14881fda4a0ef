/* log.h — one line per event on stderr, as key=value pairs; journald
 * takes it from there.  Values with spaces, quotes or control bytes are
 * quoted and escaped so that a line always parses back.  Never give it a
 * password or a message body. */
#ifndef POSTHORN_LOG_H
#define POSTHORN_LOG_H

/* Set the program name.  Lines are prefixed "prog[pid]: " unless stderr
 * goes to the journal (JOURNAL_STREAM), which records both itself. */
void	log_init(const char *prog);
/* log_event("accepted", "id", id, "from", from, (char *)NULL): event=...
 * then each key=value; a NULL value skips its pair.  One write(2). */
void	log_event(const char *event, ...) __attribute__((sentinel));

#endif
