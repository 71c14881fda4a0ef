/* command.h — delivery to a command, under local.h: a pipe alias's
 * "| command" or the domain's MDA, run as the domain's command_user
 * through queue-runas(8). */
#ifndef POSTHORN_COMMAND_H
#define POSTHORN_COMMAND_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "alias.h"
#include "deliver.h"

/* A command under way, started by posix_spawn(3) and driven by the
 * caller's poll(2) loop.  The caller ignores SIGPIPE. */
struct command;

enum command_start {
	COMMAND_NONE,		/* command_mda: the domain has no MDA */
	COMMAND_DONE,		/* r is set: nothing runs */
	COMMAND_RUNNING		/* *cp runs: command_step until 1 */
};

/* Start path with argv, the message (pre first) on its stdin, under the
 * command timeout: 0 with *cp running, or 1 with r set when it could not
 * start.  m and pre must stay until *cp is freed.  The caller has set
 * r->where. */
int	command_start(const struct deliver_msg *, const struct alias_target *,
	    const char *path, char *const argv[], const char *pre,
	    size_t prelen, struct deliver_result *r, struct command **cp);
/* The descriptors to poll for it, into pfd[0..n) (n at most
 * DELIVER_POLLFDS), and *due, the clock_ms() by which command_step must
 * be called even without an event (its deadline). */
size_t	command_pollset(struct command *, struct pollfd *pfd, int64_t *due);
/* After poll(2) on what command_pollset gave (pfd NULL: no poll): 1 when
 * it is over, reaped, with r set; 0 while it runs. */
int	command_step(struct command *, const struct pollfd *pfd,
	    struct deliver_result *r);
pid_t	command_pid(const struct command *);
/* Kill it (and its group) if it runs, reap it, free it. */
void	command_free(struct command *);
/* The domain's MDA, when DIR/domains/DOMAIN/mda exists: COMMAND_NONE
 * when there is none (r untouched), else started as command_start. */
int	command_mda(const struct deliver_msg *, const struct alias_target *,
	    const char *pre, size_t prelen, struct deliver_result *,
	    struct command **cp);

#endif
