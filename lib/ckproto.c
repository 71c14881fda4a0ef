/* ckproto.c — the requests and answers between a session and the
 * resident checker (ckproto.h): their text, each carried with its
 * descriptors by fdpass.  The decoders trust nothing: a datagram of
 * another form is refused whole. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ckproto.h"
#include "fdpass.h"
#include "str.h"

enum {
	REQ_LINES = 7,
	ANS_LINES = 8,
	HEAD_MAX = 64	/* "posthorn-check 1 msg" */
};

static const char *const kinds[] = { [CKP_SPF] = "spf", [CKP_MSG] = "msg" };

/* A value as one line: no LF, CR or NUL, shorter than max. */
static int
put(struct str *o, const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n > max || strpbrk(v, "\r\n") != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (str_appendc(o, '\n') == -1 || str_append(o, v, n) == -1) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}

static int
head(struct str *o, enum ckp_kind k)
{
	if ((unsigned)k > CKP_MSG) {
		errno = EINVAL;
		return -1;
	}
	if (str_appendf(o, "%s %d %s", CKP_MAGIC, CKP_VERSION, kinds[k]) ==
	    -1) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}

int
ckp_request_encode(const struct ckp_request *r, char *buf, size_t size,
    size_t *len)
{
	struct str o;

	str_init(&o, buf, size);
	if (head(&o, r->kind) == -1 ||
	    put(&o, r->authserv, CKP_NAME_MAX) == -1 ||
	    put(&o, r->id, CKP_ID_MAX) == -1 ||
	    put(&o, r->ip, CKP_IP_MAX) == -1 ||
	    put(&o, r->helo, CKP_NAME_MAX) == -1 ||
	    put(&o, r->sender, CKP_SENDER_MAX) == -1 ||
	    put(&o, r->spf, CKP_WORD_MAX) == -1)
		return -1;
	*len = o.len;
	return 0;
}

int
ckp_answer_encode(const struct ckp_answer *a, char *buf, size_t size,
    size_t *len)
{
	struct str o;

	str_init(&o, buf, size);
	if (head(&o, a->kind) == -1 ||
	    put(&o, a->spf, CKP_WORD_MAX) == -1 ||
	    put(&o, a->spf_exp, CKP_EXP_MAX) == -1 ||
	    put(&o, a->dkim, CKP_WORD_MAX) == -1 ||
	    put(&o, a->dmarc, CKP_WORD_MAX) == -1 ||
	    put(&o, a->policy, CKP_WORD_MAX) == -1 ||
	    put(&o, a->disposition, CKP_WORD_MAX) == -1 ||
	    put(&o, a->authres, CKP_AR_MAX) == -1)
		return -1;
	*len = o.len;
	return 0;
}

/* Split buf[0..len) into exactly n lines, copied into the fields (dst[i]
 * of size cap[i]); the first is the head, its kind into *k. */
static int
split(const char *buf, size_t len, size_t n, char *const *dst,
    const size_t *cap, enum ckp_kind *k)
{
	char h[HEAD_MAX];
	const char *p = buf, *e = buf + len, *nl;
	size_t i, l;
	int found = 0;

	if (memchr(buf, '\0', len) != NULL || memchr(buf, '\r', len) != NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		if (p > e)
			goto bad;
		nl = memchr(p, '\n', (size_t)(e - p));
		if ((nl == NULL) != (i == n - 1))
			goto bad;	/* too few lines, or too many */
		l = nl != NULL ? (size_t)(nl - p) : (size_t)(e - p);
		if (i == 0) {
			if (l >= sizeof(h))
				goto bad;
			memcpy(h, p, l);
			h[l] = '\0';
		} else {
			if (l >= cap[i - 1])
				goto bad;
			memcpy(dst[i - 1], p, l);
			dst[i - 1][l] = '\0';
		}
		p += l + 1;
	}
	for (i = 0; i <= CKP_MSG; i++) {
		char want[HEAD_MAX];

		(void)str_fmt(want, sizeof(want), "%s %d %s", CKP_MAGIC,
		    CKP_VERSION, kinds[i]);
		if (strcmp(h, want) == 0) {
			*k = (enum ckp_kind)i;
			found = 1;
		}
	}
	if (!found)
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
ckp_request_decode(const char *buf, size_t len, struct ckp_request *r)
{
	char *const dst[] = { r->authserv, r->id, r->ip, r->helo, r->sender,
	    r->spf };
	const size_t cap[] = { sizeof(r->authserv), sizeof(r->id),
	    sizeof(r->ip), sizeof(r->helo), sizeof(r->sender),
	    sizeof(r->spf) };

	_Static_assert(sizeof(dst) / sizeof(dst[0]) == REQ_LINES - 1,
	    "a request's lines");
	memset(r, 0, sizeof(*r));
	return split(buf, len, REQ_LINES, dst, cap, &r->kind);
}

int
ckp_answer_decode(const char *buf, size_t len, struct ckp_answer *a)
{
	char *const dst[] = { a->spf, a->spf_exp, a->dkim, a->dmarc,
	    a->policy, a->disposition, a->authres };
	const size_t cap[] = { sizeof(a->spf), sizeof(a->spf_exp),
	    sizeof(a->dkim), sizeof(a->dmarc), sizeof(a->policy),
	    sizeof(a->disposition), sizeof(a->authres) };

	_Static_assert(sizeof(dst) / sizeof(dst[0]) == ANS_LINES - 1,
	    "an answer's lines");
	memset(a, 0, sizeof(*a));
	return split(buf, len, ANS_LINES, dst, cap, &a->kind);
}

void
ckp_temperror(const struct ckp_request *r, const char *spf,
    const char *reason, struct ckp_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = r->kind;
	(void)str_copy(a->spf, sizeof(a->spf), spf != NULL && spf[0] != '\0' ?
	    spf : "temperror");
	if (r->kind == CKP_MSG) {
		(void)str_copy(a->dkim, sizeof(a->dkim), "temperror");
		(void)str_copy(a->dmarc, sizeof(a->dmarc), "temperror");
	}
	(void)str_copy(a->policy, sizeof(a->policy), "none");
	(void)str_copy(a->disposition, sizeof(a->disposition), "none");
	/* RFC 8601 §2.2: a method's result needs no property; the reason
	 * is a comment, of words that need no escape. */
	str_fmt_cut(a->authres, sizeof(a->authres), "%s; spf=%s (%s); "
	    "dkim=temperror; dmarc=temperror", r->authserv[0] != '\0' ?
	    r->authserv : "localhost", a->spf, reason);
}

int
ckp_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	if (nfds > CKP_NFDS_MAX || len > CKP_DGRAM_MAX) {
		errno = EINVAL;
		return -1;
	}
	return fdpass_send(sock, buf, len, fds, nfds);
}

ssize_t
ckp_recv(int sock, void *buf, size_t size, int *fds, size_t *nfds)
{
	int got[FDPASS_MAX], trunc;
	size_t ngot;
	ssize_t n;

	*nfds = 0;
	if ((n = fdpass_recv(sock, buf, size, got, &ngot, &trunc)) == -1)
		return -1;
	if (trunc || ngot > CKP_NFDS_MAX || (n == 0 && ngot > 0)) {
		fdpass_close(got, ngot);
		errno = EMSGSIZE;
		return -1;
	}
	if (n == 0 && !fdpass_hung_up(sock)) {
		errno = EMSGSIZE;	/* an empty datagram: not the end */
		return -1;
	}
	memcpy(fds, got, ngot * sizeof(int));
	*nfds = ngot;
	return n;
}
