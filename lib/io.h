/* io.h — the byte channel under the line reader and the reply writer.
 * Plain descriptors today; the TLS issue slides a GnuTLS session under
 * the same ops after STARTTLS, so callers never know which one they use.
 * Every operation takes an absolute deadline (clock_ms() time base);
 * IO_NO_DEADLINE (INT64_MAX) waits for ever. */
#ifndef POSTHORN_IO_H
#define POSTHORN_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define IO_NO_DEADLINE	INT64_MAX

struct io;

struct io_ops {
	/* Like read(2)/write(2) without blocking semantics: they may return
	 * -1 with EAGAIN, and io_* then waits for the descriptor with poll. */
	ssize_t	(*read)(struct io *, void *, size_t);
	ssize_t	(*write)(struct io *, const void *, size_t);
	/* Bytes already decoded below us (TLS records) that poll cannot see. */
	size_t	(*pending)(struct io *);
};

struct io {
	const struct io_ops	*ops;
	void			*ctx;	/* the layer's own state (TLS session) */
	int			 rfd;	/* polled before a read */
	int			 wfd;	/* polled before a write */
};

/* Monotonic milliseconds, the time base of every deadline. */
int64_t	clock_ms(void);
/* clock_gettime(2), by system call where the C library would first look
 * the vDSO up (static musl: smtp-in), since that first look costs a
 * process more than all its clock reads by system call; the vDSO where
 * the dynamic loader has done so already (glibc). */
int	clock_now(clockid_t, struct timespec *);
/* Plain descriptors: read from rfd, write to wfd (both 0 under inetd). */
void	io_fd_init(struct io *, int rfd, int wfd);
/* Up to n bytes: >0 read, 0 end of file, -1 with errno (ETIMEDOUT when
 * the deadline passed).  EINTR is retried. */
ssize_t	io_read(struct io *, void *, size_t, int64_t deadline);
/* All n bytes or -1 with errno (ETIMEDOUT, EPIPE, ...). */
int	io_write_all(struct io *, const void *, size_t, int64_t deadline);
/* write(2) of all bytes to a file or pipe, retrying EINTR and short
 * writes, without a deadline: io_write_all on a plain descriptor. */
int	fd_write_all(int fd, const void *, size_t);
/* close(2) *fd unless it is -1, then set it to -1; errno is kept, so a
 * cleanup path can call it after the failure it reports. */
void	fd_close(int *fd);
/* A stream socket connected to the UNIX socket at path, non-blocking
 * and close-on-exec, or -1 with errno (ENAMETOOLONG: path does not fit
 * sun_path).  A local connect does not wait: EAGAIN is a full backlog,
 * for the caller to take as temporarily as a refusal. */
int	fd_connect_unix(const char *path);
/* Set O_NONBLOCK on fd (nothing to do when it is set already): 0, or -1
 * with fcntl(2)'s errno. */
int	fd_nonblock(int fd);
/* Move *fd to a close-on-exec descriptor of min or more, when it is
 * below: a later dup2 onto a low number (a child's 0..2, or the 3 that
 * smtp-listen gives its sessions) must not replace the descriptor it
 * copies.  0, or -1 with errno (*fd unchanged). */
int	fd_move_above(int *fd, int min);
/* Make fd 0, 1 and 2 exist (on /dev/null where closed), so that no
 * descriptor opened later takes their place: a log line must never land
 * in a queue file or a delivery's pipe.  0, or -1 with errno. */
int	fd_std_open(void);

#endif
