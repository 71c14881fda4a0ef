/* log.h — one line per event on stderr, as key=value pairs; journald
 * takes it from there.  Values with spaces, quotes or control bytes are
 * quoted and escaped so that a line always parses back.  Never give it a
 * password or a message body. */
#ifndef POSTHORN_LOG_H
#define POSTHORN_LOG_H

enum {
	LOG_LINE_MAX = 4096,	/* PIPE_BUF: one write(2) is never split */
	LOG_VALUE_MAX = 1024,	/* one value, quoted and escaped */
	/* A child's datagram to the relay: a line with its time stamp and
	 * prefix, or a few lines; a longer one is cut. */
	LOG_RELAY_DGRAM_MAX = LOG_LINE_MAX + 256,
	LOG_RELAY_BURST = 64,	/* datagrams relayed per call */
	/* A value that a peer chose (an address, a command's argument, a
	 * HELO name), quoted and escaped: enough to recognise it, and not
	 * enough for a client to write kilobytes of log per command. */
	LOG_PEER_VALUE_MAX = 200
};

/* Before a key, "arg" as LOG_PEER "arg": its value is the peer's and is
 * cut at LOG_PEER_VALUE_MAX.  The mark is not written. */
#define LOG_PEER	"~"

/* The environment variable that asks for a time stamp before each line
 * that goes to a file ("1"): install.sh sets it for the programs it
 * starts without systemd, whose logs are files. */
#define LOG_TIME_ENV	"POSTHORN_LOG_TIME"

/* Set the program name.  Lines are prefixed "prog[pid]: " (after a UTC
 * time stamp when LOG_TIME_ENV is "1") unless stderr goes to the journal
 * (JOURNAL_STREAM), which records all of that itself. */
void	log_init(const char *prog);
/* log_event("accepted", "id", id, "from", from, (char *)NULL): event=...
 * then each key=value; a NULL value skips its pair.  One write(2), errno
 * preserved.  A value that is empty or holds a space, '"', '=', '\\', a
 * control byte or DEL is written in double quotes, with \" \\ and \xHH
 * escapes; other bytes (UTF-8) go as they are.  Keys go as they are.  A
 * value longer than LOG_VALUE_MAX (LOG_PEER_VALUE_MAX for a key marked
 * LOG_PEER), or than what is left of LOG_LINE_MAX, is cut (never inside a
 * UTF-8 sequence) and ends in "..."; pairs that do not fit at all are
 * left out. */
void	log_event(const char *event, ...) __attribute__((sentinel));

/* The relay (log.c says why): only when stderr is the journal, our end
 * of a datagram socket whose other end, *child_end, children get as
 * their stderr; else -1.  Both close-on-exec. */
int	log_relay_open(int *child_end);
/* Send what children wrote (at most LOG_RELAY_BURST datagrams) to the
 * journal, each "prog[pid]: " line as prog's with SYSLOG_PID=pid. */
void	log_relay_pump(int fd);

#endif
