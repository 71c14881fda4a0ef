/* str.h — bounded strings: a length travels with the data and nothing
 * grows past the capacity the caller chose.  Exceeding it is an error the
 * caller turns into a protocol reply, never a realloc. */
#ifndef POSTHORN_STR_H
#define POSTHORN_STR_H

#include <stdarg.h>
#include <stddef.h>

struct str {
	char	*s;	/* always NUL-terminated */
	size_t	 len;	/* bytes before the NUL */
	size_t	 cap;	/* size of s, the NUL included */
};

/* Use caller memory mem[cap] (cap >= 1) as the backing store. */
void	str_init(struct str *, char *mem, size_t cap);
void	str_reset(struct str *);
/* Each returns 0, or -1 with errno = ENOBUFS and the string unchanged. */
int	str_append(struct str *, const void *, size_t);
int	str_appends(struct str *, const char *);
int	str_appendc(struct str *, char);
int	str_appendf(struct str *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	str_vappendf(struct str *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* snprintf that fails (-1, ENOBUFS) instead of truncating. */
int	str_fmt(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* snprintf for a message where a cut is better than nothing: a reason
 * truncated by a small buffer is still a reason.  Always NUL-terminated
 * (empty if formatting fails); size 0 writes nothing. */
void	str_fmt_cut(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	str_vfmt_cut(char *, size_t, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));
/* Cut sp back to its first len bytes (an append that failed halfway
 * undone); errno is kept. */
void	str_truncate(struct str *, size_t len);
/* Split s in place at every sep into exactly n fields f[0..n): -1 when
 * it has fewer or more. */
int	str_split(char *s, int sep, char **f, size_t n);
/* Copy a NUL-terminated string; -1 with ENOBUFS if it does not fit. */
int	str_copy(char *, size_t, const char *);
/* ASCII-only case folding: addresses and domains are compared this way. */
int	str_tolower(int);
void	str_lower(char *);
int	str_casecmp(const char *, const char *);
/* ASCII letters and digits, whatever the locale: the grammars of DNS
 * records (SPF, DKIM tags) are ASCII. */
int	str_isalpha(int);
int	str_isdigit(int);
/* A TCP port as routes(5) and domain.conf's lmtp write it: 1 to 65535,
 * decimal digits only: 0, or -1. */
int	str_port(const char *s, unsigned *port);
/* The next word of *s, words separated by blanks (space, tab): its first
 * byte, its length in *len, and *s moved past it; NULL when only blanks
 * are left.  For the lists of posthorn.conf (dnsbl's zones, filter's
 * command and arguments). */
const char *str_word(const char **s, size_t *len);

#endif
