/* alias.h — where an address goes.  The aliases(5) file of each local
 * domain, in chasquid's syntax ("user: target, target", "user: | command",
 * "*: target"), the users file, drop characters and suffix separators
 * from posthorn.conf, and recursion to ALIAS_DEPTH_MAX.  One module for
 * smtp-in's RCPT check, queue-run's expansion and the aliases(8) tool, so
 * the three can never disagree about an address.
 *
 * Lookup of a local part, in order: the name exactly (case-insensitive)
 * as an alias, then as a user; the name with its suffix (from the first
 * suffix separator on) and its drop characters removed, as an alias,
 * then as a user; the catch-all "*"; postmaster, which always exists (its
 * Maildir when the domain has no such user or alias).  Alias names are
 * compared without their drop characters, as chasquid does.  A target that is
 * already being expanded on the way to it is not expanded again: a user
 * gets the mail ("alice: alice, alice@gmail.example" keeps a copy), and
 * anything else is a loop. */
#ifndef POSTHORN_ALIAS_H
#define POSTHORN_ALIAS_H

#include <stddef.h>

#include "addr.h"
#include "conf.h"

#define ALIAS_FILE	"aliases"
#define ALIAS_CATCH_ALL	"*"
#define ALIAS_POSTMASTER "postmaster"	/* RFC 5321 §4.5.1 */

enum {
	ALIAS_DEPTH_MAX = 10,		/* nested aliases, as chasquid */
	ALIAS_CMD_MAX = 1024,		/* a pipe command */
	ALIAS_LINE_MAX = 4096,		/* a line of the file, LF excluded */
	ALIAS_LINES_MAX = 100000,	/* lines in one file */
	ALIAS_WHY_MAX = 512		/* room for a reason */
};

enum alias_kind {
	ALIAS_MAILBOX,		/* a user's Maildir (or the domain's MDA) */
	ALIAS_PIPE,		/* "| command" */
	ALIAS_REMOTE		/* an address of another domain */
};

struct alias_target {
	enum alias_kind	kind;
	/* MAILBOX: "user@domain", the user as the users file names it;
	 * PIPE: the address of the alias whose line holds the command;
	 * REMOTE: the address to send to, as addr_format() writes it. */
	char	addr[ADDR_TEXT_MAX + 1];
	char	user[ADDR_LOCAL_MAX + 1];	/* MAILBOX, PIPE: local part */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* MAILBOX, PIPE: lowercase */
	char	cmd[ALIAS_CMD_MAX + 1];		/* PIPE: after the '|' */
};

enum alias_result {
	ALIAS_OK,		/* every target was emitted */
	ALIAS_NOUSER,		/* a local domain has no such address */
	ALIAS_TEMPFAIL,		/* a file could not be read, or emit said
				   stop: try later */
	ALIAS_BROKEN		/* a loop, too deep, a bad line: the
				   configuration must change */
};

/* Called once per final target; non-zero stops the resolution with
 * ALIAS_TEMPFAIL.  The same target may come twice (two lists that share a
 * member): de-duplicating is the caller's. */
typedef int alias_emit(const struct alias_target *, void *arg);

/* Resolve address ("local@domain", as addr_format writes it; "postmaster"
 * alone is postmaster of the hostname).  An address of a domain that is
 * not local is one ALIAS_REMOTE target.  Except for ALIAS_OK, why holds a
 * sentence for a log line, an SMTP reply or a DSN. */
enum alias_result alias_resolve(const struct conf *, const char *address,
		    alias_emit *, void *arg, char *why, size_t whysize);

/* May login ("user@domain", a user of the users file) send as address
 * by the aliases alone?  1 when address resolves to the login's mailbox
 * and nothing else: the login itself, its suffixes and drop characters,
 * an alias whose one target is the login ("sales: alice", also through
 * other such aliases), or anything the login's own line leads to
 * ("alice: alice, alice@gmail.example" for alice+lists@).  Never through
 * a catch-all, never for a postmaster address, never for an alias that
 * another user receives too ("bob: bob, alice" gives alice nothing).
 * 0 when not (why may say why resolution failed), -1 with errno when a
 * file could not be read. */
int		alias_sendas(const struct conf *, const char *login,
		    const char *address, char *why, size_t whysize);

/* Check the aliases file of one local domain: syntax, local targets that
 * exist, loops and depth.  Each problem is reported once through cb with
 * the file, the line number (0: the whole file) and the reason.  Returns
 * the number of problems, or -1 with errno when the file or the
 * configuration cannot be read. */
typedef void alias_report(const char *file, size_t line, const char *why,
		    void *arg);
int		alias_check(const struct conf *, const char *domain,
		    alias_report *, void *arg);

/* Who says whether name is a user of domain, when the users files are
 * not for this process to read (smtp-in under smtp-listen asks
 * smtp-keeper, keeper.h): 1 yes, 0 no, -1 with errno when it cannot
 * tell now, ALIAS_ASK_FILE when it was not asked (the file is read as
 * without it).  NULL: the file. */
enum { ALIAS_ASK_FILE = -2 };
typedef int	alias_user_oracle(const char *domain, const char *name);
void		alias_set_user_oracle(alias_user_oracle *);

#endif
