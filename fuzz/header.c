/* header.c — libFuzzer harness: the readers of a message's header.  The
 * input is a header block, as each reader gets it:
 *   - lib/mailhdr: every field's name (mailhdr_is) and, for To, Cc, From,
 *     its addresses (mailhdr_addresses);
 *   - dkimsign: the split into fields, the From: domain, the h= list and
 *     the relaxed hash of those fields (dkimsign/sign.c);
 *   - sendmail -t: the end of the block, Bcc: removed, recipients taken,
 *     missing fields added (queue-run/sendmail.c);
 *   - smtp-in's From: capture for the submission check, fed once whole
 *     and once in pieces that the first byte chooses (fuzzutil.h): what
 *     it captures must not depend on the cuts;
 *   - lib/arname, the judge of Authentication-Results in our name, as
 *     queue-inject drives it (CR or LF ends a line): what comes out must
 *     be the input with the renamed prefix before some lines. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arname.h"
#include "fuzzutil.h"
#include "mailhdr.h"
#include "policy.h"
#include "sendmail.h"
#include "sign.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum { CAPTURE_MAX = 4096 };	/* smtp-in's SMTP_FROM_MAX */

static int
count(void *arg, const char *a, size_t n)
{
	size_t *k = arg;

	if (memchr(a, '\0', n) != NULL)
		abort();
	(*k)++;
	return 0;
}

static void
mailhdr(const char *s, size_t n)
{
	static const char *names[] = { "To", "Cc", "Bcc", "From" };
	const char *line = s, *end = s + n, *lf, *v;
	size_t k, i;

	while (line < end) {
		lf = memchr(line, '\n', (size_t)(end - line));
		if (lf == NULL)
			lf = end;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (mailhdr_is(line, (size_t)(lf - line), names[i],
			    &v)) {
				if (v < line || v > lf)
					abort();
				k = 0;
				(void)mailhdr_addresses(v, (size_t)(lf - v),
				    count, &k);
			}
		line = lf + 1;
	}
	/* The whole input as one folded value too. */
	k = 0;
	(void)mailhdr_addresses(s, n, count, &k);
}

static void
dkim(const char *s, size_t n)
{
	static struct hdr h;
	static struct sign_hname hn[SIGN_H_MAX];
	crypto_hash_sha256_state st;
	char dom[256];
	size_t nh;

	if (hdr_parse(&h, s, n) == -1)
		return;
	(void)sign_from_domain(&h, dom, sizeof(dom));
	nh = sign_hlist(&h, hn, SIGN_H_MAX);
	if (nh > SIGN_H_MAX)
		abort();
	(void)sign_header_hash(&h, hn, nh, &st);
}

static void
sendmail(const char *s, size_t n)
{
	static char mem[SENDMAIL_OUT_MAX + 1];
	struct sendmail_split sp;
	struct sendmail_rcpts r;
	struct sendmail_opts o;
	struct str out;
	int dots;

	for (dots = 0; dots < 2; dots++) {
		memset(&sp, 0, sizeof(sp));
		if (sendmail_split(s, n, 1, dots, &sp) != 1 ||
		    sp.hdrlen > n || sp.body > n)
			abort();
		memset(&o, 0, sizeof(o));
		o.extract = 1;
		o.hostname = FZ_HOST;
		o.from = "root@" FZ_HOST;
		o.fullname = "Fuzz \"Root\"";
		o.msgid = "<1.2@" FZ_HOST ">";
		o.now = 1700000000;
		memset(&r, 0, sizeof(r));
		str_init(&out, mem, sizeof(mem));
		(void)sendmail_headers(&o, s, sp.hdrlen, &out, &r);
		sendmail_rcpts_free(&r);
	}
}

static void
capture(const uint8_t *data, size_t size)
{
	static char a[CAPTURE_MAX + 1], b[CAPTURE_MAX + 1];
	struct policy_from_capture whole, cut;
	struct fz_io f;
	size_t off = 0, k;

	if (size == 0)
		return;
	policy_capture_init(&whole, a, sizeof(a));
	policy_capture(&whole, data + 1, size - 1);
	policy_capture_init(&cut, b, sizeof(b));
	fz_io_init(&f, data, size);
	while (off < size - 1) {
		k = fz_io_next(&f, size - 1 - off);
		policy_capture(&cut, data + 1 + off, k);
		off += k;
	}
	if (whole.len != cut.len || whole.nfrom != cut.nfrom ||
	    whole.overflow != cut.overflow ||
	    memcmp(whole.buf, cut.buf, whole.len) != 0) {
		fprintf(stderr, "header: From: capture differs when cut "
		    "(%zu/%d bytes/fields whole, %zu/%d cut)\n", whole.len,
		    whole.nfrom, cut.len, cut.nfrom);
		abort();
	}
}

static char	*ar_out;
static size_t	 ar_len;

static void
ar_put(void *arg, const char *p, size_t n)
{
	(void)arg;
	memcpy(ar_out + ar_len, p, n);
	ar_len += n;
}

/* The input's lines in order in ar_out, each as it was or after the
 * prefix, and as many prefixes as fields renamed. */
static void
ar_check(const char *s, size_t n, unsigned renamed)
{
	const size_t plen = sizeof(ARNAME_PREFIX) - 1;
	size_t i = 0, j = 0, len, k = 0;

	while (i < n) {
		for (len = 0; i + len < n && s[i + len] != '\n' &&
		    s[i + len] != '\r'; len++)
			;
		if (i + len < n)
			len++;		/* and its line end */
		if (ar_len - j >= len && memcmp(ar_out + j, s + i, len) == 0)
			j += len;
		else if (ar_len - j >= plen + len && memcmp(ar_out + j,
		    ARNAME_PREFIX, plen) == 0 &&
		    memcmp(ar_out + j + plen, s + i, len) == 0) {
			j += plen + len;
			k++;
		} else
			abort();
		i += len;
	}
	if (j != ar_len || k != renamed)
		abort();
}

static void
arname(const char *s, size_t n)
{
	struct arname a;
	size_t i;

	if ((ar_out = malloc(2 * n + 64)) == NULL)
		abort();
	ar_len = 0;
	arname_init(&a, FZ_HOST, ar_put, NULL);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r') {
			arname_end(&a);
			ar_put(NULL, s + i, 1);
			arname_line(&a);
		} else if (!arname_busy(&a) ||
		    !arname_byte(&a, (unsigned char)s[i]))
			ar_put(NULL, s + i, 1);
	}
	arname_end(&a);
	ar_check(s, n, a.renamed);
	free(ar_out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	mailhdr(s, size);
	dkim(s, size);
	sendmail(s, size);
	capture(data, size);
	arname(s, size);
	return 0;
}
