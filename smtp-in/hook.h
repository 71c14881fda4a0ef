/* hook.h — the content filter of smtp-in (posthorn.conf's filter key,
 * the post-data hook of chasquid and qmail-queue wrappers): a program of
 * the administrator's that reads the message on standard input, learns
 * the envelope from its environment, and says by its exit status and
 * standard output whether the message is taken, with header fields
 * added, or refused for good or for now.  The protocol is in smtp-in(8).
 * Only a session whose mail is filtered runs any of this. */
#ifndef POSTHORN_HOOK_H
#define POSTHORN_HOOK_H

#include <stddef.h>
#include <stdint.h>

enum {
	/* What a filter may print: header fields to add, or the reason
	 * of a refusal.  SpamAssassin's report fields, the biggest in
	 * common use, come to 2-3 KB; more is a broken filter. */
	HOOK_OUTPUT_MAX = 16 * 1024,
	/* A line of a header field: RFC 5322 §2.1.1. */
	HOOK_FIELD_LINE_MAX = 998,
	/* Header fields a filter may add. */
	HOOK_FIELDS_MAX = 50,
	/* The filter's own text in a refusal, after sanitising: a reply
	 * line stays under RFC 5321 §4.5.3.1.5's 512 octets. */
	HOOK_TEXT_MAX = 200,
	HOOK_REPLY_MAX = HOOK_TEXT_MAX + 16,	/* "550 5.7.1 " + text */
	HOOK_WHY_MAX = 256,
	/* The program and its arguments; and the environment's bytes:
	 * every recipient (smtp-in's 100 of up to ~550 bytes each). */
	HOOK_ARGS_MAX = 32,
	HOOK_ENV_BYTES = 64 * 1024,
	HOOK_ENV_MAX = 16
};

/* The exit statuses of the protocol (smtp-in(8), FILTERS).  20 and the
 * last line as the reason are chasquid's; 75 is sysexits.h's
 * EX_TEMPFAIL. */
enum {
	HOOK_EXIT_ACCEPT = 0,
	HOOK_EXIT_SPAM = 1,
	HOOK_EXIT_REFUSE = 20,
	HOOK_EXIT_TEMPFAIL = 75
};

enum hook_verdict {
	HOOK_ACCEPT,		/* 0: take it, with fields */
	HOOK_SPAM,		/* 1: take it as spam, with fields */
	HOOK_REFUSE,		/* 20: reply holds the 5xx */
	HOOK_TEMPFAIL,	/* 75: reply holds the 4xx */
	HOOK_FAILED		/* anything else: reply is a 451, why says */
};

struct hook_result {
	enum hook_verdict verdict;
	/* The header fields to add, LF line ends, checked. */
	char		 fields[HOOK_OUTPUT_MAX + 1];
	size_t		 fieldslen;
	unsigned	 nfields;
	/* The whole reply line for REFUSE, TEMPFAIL and FAILED. */
	char		 reply[HOOK_REPLY_MAX];
	/* For the log: the exit status or signal, why it failed. */
	char		 why[HOOK_WHY_MAX];
};

/* The envelope and session, for the filter's environment. */
struct hook_env {
	const char		*sender;	/* "" for <> */
	const char *const	*rcpts;
	size_t			 nrcpts;
	const char		*peer;		/* "unknown" if unknown */
	const char		*helo;
	const char		*tls_version;	/* "" without TLS */
	const char		*tls_cipher;
	const char		*login;		/* "" without AUTH */
	const char		*id;		/* the queue id */
	const char		*mode;		/* "mx", "submission", ... */
	const char		*hostname;
	const char		*confdir;
};

/* Run cmd (a program's absolute path and its arguments, separated by
 * blanks) with msgfd as its standard input, its standard output read
 * into the result, its standard error left as ours (the log), in a session and process group of its own and a clean
 * environment made of env.  After timeout_ms, or once it has printed
 * more than HOOK_OUTPUT_MAX, its process group is killed and it is
 * reaped: HOOK_FAILED.  Never fails otherwise: a program that cannot
 * be started is HOOK_FAILED too. */
void	hook_run(const char *cmd, int msgfd, const struct hook_env *,
	    int64_t timeout_ms, struct hook_result *);

/* The verdict of a filter that ended with status (as waitpid gives it)
 * having printed out[0..n): the protocol's parser, for the tests. */
void	hook_parse(int status, const char *out, size_t n,
	    struct hook_result *);

/* Header fields as a filter prints them (LF or CR LF line ends, the
 * last line end optional): checked and copied into r->fields with LF
 * ends.  0, or -1 with r->why. */
int	hook_fields(const char *out, size_t n, struct hook_result *);

#endif
