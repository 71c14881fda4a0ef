/* bench/tlssink.c — an SMTP sink that offers STARTTLS, for bench/relay.sh.
 *
 * Postfix's smtp-sink has no TLS, and the relay bench must also say what
 * a next hop that offers STARTTLS (every large mail provider does) costs
 * each relay.  This sink takes any envelope, offers PIPELINING and
 * STARTTLS, discards what it is sent, and keeps the two counters
 * smtp-sink -c keeps: sessions ended and messages taken, printed as
 * "sess=N mesg=N" on standard output each time one changes.
 *
 *   tlssink CERT KEY ADDR:PORT
 *
 * One thread per connection, at most SINK_CONN_MAX at once; replies are
 * written when the client has no complete command left in the buffer, so
 * a pipelining client gets one write per group as from a real server.
 * A bench tool, not a part of posthorn: it trusts its arguments. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum {
	SINK_CONN_MAX = 512,	/* sessions at once: beyond, the accept waits */
	SINK_LINE_MAX = 8192,	/* input buffered: a long line is kept short */
	SINK_OUT_MAX = 4096,	/* replies waiting for the end of a group */
	SINK_IDLE_S = 60,	/* a client silent this long is dropped */
	SINK_HANDSHAKE_MS = 10000
};

static gnutls_certificate_credentials_t sink_cred;
static gnutls_priority_t sink_prio;
static gnutls_datum_t sink_ticket_key;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sink_room = PTHREAD_COND_INITIALIZER;
static unsigned long sink_sess, sink_mesg;
static int sink_live;

struct conn {
	int			 fd;
	gnutls_session_t	 tls;	/* NULL: plain */
	char			 in[SINK_LINE_MAX];
	size_t			 inlen, inpos;
	char			 out[SINK_OUT_MAX];
	size_t			 outlen;
};

static void
counters(int sess, int mesg)
{
	pthread_mutex_lock(&sink_lock);
	sink_sess += (unsigned long)sess;
	sink_mesg += (unsigned long)mesg;
	printf("sess=%lu mesg=%lu\n", sink_sess, sink_mesg);
	fflush(stdout);
	pthread_mutex_unlock(&sink_lock);
}

static ssize_t
conn_read(struct conn *c, char *buf, size_t len)
{
	ssize_t n;

	if (c->tls == NULL) {
		do
			n = read(c->fd, buf, len);
		while (n == -1 && errno == EINTR);
		return n;
	}
	do
		n = gnutls_record_recv(c->tls, buf, len);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	return n < 0 ? -1 : n;
}

static int
conn_flush(struct conn *c)
{
	size_t off = 0;
	ssize_t n;

	while (off < c->outlen) {
		if (c->tls == NULL)
			n = write(c->fd, c->out + off, c->outlen - off);
		else
			n = gnutls_record_send(c->tls, c->out + off,
			    c->outlen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	c->outlen = 0;
	return 0;
}

static int
has_line(const struct conn *c)
{
	return memchr(c->in + c->inpos, '\n', c->inlen - c->inpos) != NULL;
}

/* The next line, without its CRLF, into line; -1 at the end of input.
 * Replies wait until the client has nothing complete left to say. */
static int
conn_line(struct conn *c, char *line, size_t size)
{
	char *nl;
	size_t n;
	ssize_t r;

	while (!has_line(c)) {
		if (c->outlen > 0 && conn_flush(c) == -1)
			return -1;
		if (c->inpos > 0) {
			memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
			c->inlen -= c->inpos;
			c->inpos = 0;
		}
		if (c->inlen == sizeof(c->in))
			c->inlen = 0;	/* an overlong line: keep its end */
		r = conn_read(c, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r <= 0)
			return -1;
		c->inlen += (size_t)r;
	}
	nl = memchr(c->in + c->inpos, '\n', c->inlen - c->inpos);
	n = (size_t)(nl - (c->in + c->inpos));
	if (n > 0 && c->in[c->inpos + n - 1] == '\r')
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(line, c->in + c->inpos, n);
	line[n] = '\0';
	c->inpos = (size_t)(nl - c->in) + 1;
	return 0;
}

static int
reply(struct conn *c, const char *text)
{
	size_t n = strlen(text);

	if (c->outlen + n > sizeof(c->out) && conn_flush(c) == -1)
		return -1;
	memcpy(c->out + c->outlen, text, n);
	c->outlen += n;
	return 0;
}

static int
starttls(struct conn *c)
{
	int r;

	if (reply(c, "220 2.0.0 go ahead\r\n") == -1 || conn_flush(c) == -1)
		return -1;
	/* A client may not pipeline past STARTTLS (RFC 3207 §4.2). */
	c->inlen = c->inpos = 0;
	if (gnutls_init(&c->tls, GNUTLS_SERVER) != 0)
		return -1;
	if (gnutls_priority_set(c->tls, sink_prio) != 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
	    sink_cred) != 0)
		return -1;
	/* Session tickets, as large providers issue them: a client that
	 * keeps a session cache (Postfix does, as Debian ships it) resumes
	 * instead of a full handshake. */
	if (gnutls_session_ticket_enable_server(c->tls,
	    &sink_ticket_key) != 0)
		return -1;
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, SINK_HANDSHAKE_MS);
	do
		r = gnutls_handshake(c->tls);
	while (r < 0 && gnutls_error_is_fatal(r) == 0);
	return r < 0 ? -1 : 0;
}

static int
data(struct conn *c)
{
	char line[SINK_LINE_MAX];

	if (reply(c, "354 go ahead\r\n") == -1)
		return -1;
	for (;;) {
		if (conn_line(c, line, sizeof(line)) == -1)
			return -1;
		if (strcmp(line, ".") == 0)
			break;
	}
	counters(0, 1);
	return reply(c, "250 2.0.0 taken\r\n");
}

static int
command(struct conn *c, const char *line)
{
	if (strncasecmp(line, "EHLO", 4) == 0)
		return reply(c, c->tls != NULL ?
		    "250-sink.tls.example\r\n250-PIPELINING\r\n"
		    "250 8BITMIME\r\n" :
		    "250-sink.tls.example\r\n250-PIPELINING\r\n"
		    "250-8BITMIME\r\n250 STARTTLS\r\n");
	if (strncasecmp(line, "HELO", 4) == 0)
		return reply(c, "250 sink.tls.example\r\n");
	if (strncasecmp(line, "STARTTLS", 8) == 0 && c->tls == NULL)
		return starttls(c);
	if (strncasecmp(line, "MAIL", 4) == 0 ||
	    strncasecmp(line, "RCPT", 4) == 0 ||
	    strncasecmp(line, "RSET", 4) == 0 ||
	    strncasecmp(line, "NOOP", 4) == 0)
		return reply(c, "250 2.0.0 ok\r\n");
	if (strncasecmp(line, "DATA", 4) == 0)
		return data(c);
	if (strncasecmp(line, "QUIT", 4) == 0) {
		(void)reply(c, "221 2.0.0 bye\r\n");
		(void)conn_flush(c);
		return -1;
	}
	return reply(c, "500 5.5.1 unknown command\r\n");
}

static void *
session(void *arg)
{
	struct conn *c = arg;
	char line[SINK_LINE_MAX];

	if (reply(c, "220 sink.tls.example ESMTP\r\n") == 0)
		while (conn_line(c, line, sizeof(line)) == 0 &&
		    command(c, line) == 0)
			;
	if (c->tls != NULL) {
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
	}
	close(c->fd);
	free(c);
	counters(1, 0);
	pthread_mutex_lock(&sink_lock);
	sink_live--;
	pthread_cond_signal(&sink_room);
	pthread_mutex_unlock(&sink_lock);
	return NULL;
}

static int
listen_on(const char *spec)
{
	struct sockaddr_in sin;
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, SINK_CONN_MAX) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct timeval idle = { .tv_sec = SINK_IDLE_S };
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;
	int lfd, fd, one = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: tlssink CERT KEY ADDR:PORT\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_certificate_allocate_credentials(&sink_cred) != 0 ||
	    gnutls_certificate_set_x509_key_file(sink_cred, argv[1], argv[2],
	    GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_priority_init(&sink_prio, "NORMAL", NULL) != 0 ||
	    gnutls_session_ticket_key_generate(&sink_ticket_key) != 0) {
		fprintf(stderr, "tlssink: cannot load %s and %s\n", argv[1],
		    argv[2]);
		return 1;
	}
	if ((lfd = listen_on(argv[3])) == -1) {
		fprintf(stderr, "tlssink: cannot listen on %s: %s\n", argv[3],
		    strerror(errno));
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	counters(0, 0);
	for (;;) {
		pthread_mutex_lock(&sink_lock);
		while (sink_live >= SINK_CONN_MAX)
			pthread_cond_wait(&sink_room, &sink_lock);
		pthread_mutex_unlock(&sink_lock);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "tlssink: accept: %s\n",
			    strerror(errno));
			return 1;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle,
		    sizeof(idle));
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		pthread_mutex_lock(&sink_lock);
		sink_live++;
		pthread_mutex_unlock(&sink_lock);
		if (pthread_create(&t, &attr, session, c) != 0) {
			close(fd);
			free(c);
			pthread_mutex_lock(&sink_lock);
			sink_live--;
			pthread_mutex_unlock(&sink_lock);
		}
	}
}
