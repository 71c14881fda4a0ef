/* report.c — the aggregate TLS report of one policy domain for one day
 * (report.h).  The counts file holds one line per session; sorted, the
 * lines of a domain are together, those of one policy type within it,
 * and those of one failure (result, addresses, MX host, reason code)
 * within that, so each level of RFC 8460 §4.4's JSON is one run of
 * equal lines and nothing needs a table. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>
#include <zlib.h>

#include "addr.h"
#include "date.h"
#include "fileread.h"
#include "dns.h"
#include "report.h"
#include "str.h"
#include "sts.h"

#define REPORT_BOUNDARY_PREFIX	"posthorn-tlsrpt-"

enum {
	/* Per failure-detail group and per policy: the JSON around its
	 * fields, which are TLSRPT_FIELD_MAX at most (escaped: x6). */
	REPORT_GROUP_MAX = 8 * 6 * (TLSRPT_FIELD_MAX + 1) + 512,
	REPORT_HEAD_MAX = 4096
};

static int
cmp_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Domain, policy type, then the failure's fields. */
static int
cmp_ev(const void *pa, const void *pb)
{
	const struct tlsrpt_event *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->policy_domain, b->policy_domain)) != 0 ||
	    (c = strcmp(a->policy_type, b->policy_type)) != 0 ||
	    (c = strcmp(a->result, b->result)) != 0 ||
	    (c = cmp_str(a->sending_ip, b->sending_ip)) != 0 ||
	    (c = cmp_str(a->mx_host, b->mx_host)) != 0 ||
	    (c = cmp_str(a->receiving_ip, b->receiving_ip)) != 0)
		return c;
	return cmp_str(a->reason_code, b->reason_code);
}

static int
same_failure(const struct tlsrpt_event *a, const struct tlsrpt_event *b)
{
	return cmp_ev(a, b) == 0;
}

int
report_load(const char *path, struct report_day *d)
{
	const char *base;
	struct tm tm;
	size_t len, lines = 0, i;
	char *p, *eol;

	memset(d, 0, sizeof(*d));
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	memset(&tm, 0, sizeof(tm));
	if (strlen(base) != 10 || str_copy(d->name, sizeof(d->name), base) ==
	    -1 || strptime(base, "%Y-%m-%d", &tm) == NULL) {
		errno = EINVAL;
		return -1;
	}
	d->start = timegm(&tm);
	if (fileread_all(path, TLSRPT_DAY_MAX + TLSRPT_LINE_MAX, &d->text,
	    &len) == -1)
		return -1;
	for (i = 0; i < len; i++)
		lines += d->text[i] == '\n';
	if ((d->ev = calloc(lines + 1, sizeof(*d->ev))) == NULL) {
		report_free(d);
		return -1;
	}
	for (p = d->text; p < d->text + len; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(d->text + len - p))) ==
		    NULL)
			break;	/* a line being written: the next day's run */
		*eol = '\0';
		if (tlsrpt_parse(p, &d->ev[d->n]) == 0)
			d->n++;
	}
	qsort(d->ev, d->n, sizeof(*d->ev), cmp_ev);
	return 0;
}

void
report_free(struct report_day *d)
{
	free(d->text);
	free(d->ev);
	memset(d, 0, sizeof(*d));
}

int
report_domain(const struct report_day *d, size_t k, size_t *first,
    size_t *count)
{
	size_t i = 0, j;

	for (;;) {
		if (i >= d->n)
			return -1;
		for (j = i + 1; j < d->n && strcmp(d->ev[j].policy_domain,
		    d->ev[i].policy_domain) == 0; j++)
			;
		if (k-- == 0) {
			*first = i;
			*count = j - i;
			return 0;
		}
		i = j;
	}
}

/* A JSON string (RFC 8259 §7). */
static void
json_str(struct str *s, const char *v, size_t len)
{
	size_t i;

	(void)str_appendc(s, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\') {
			(void)str_appendc(s, '\\');
			(void)str_appendc(s, (char)c);
		} else if (c < 0x20 || c == 0x7f)
			(void)str_appendf(s, "\\u%04x", c);
		else
			(void)str_appendc(s, (char)c);
	}
	(void)str_appendc(s, '"');
}

static void
json_key(struct str *s, const char *key, const char *v)
{
	json_str(s, key, strlen(key));
	(void)str_appendc(s, ':');
	json_str(s, v, strlen(v));
}

static void
iso(char *buf, size_t size, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		str_fmt_cut(buf, size, "1970-01-01T00:00:00Z");
}

/* The policy object of a run of one policy type. */
static void
json_policy(struct str *s, const char *type, const char *domain,
    const char *policy, size_t policylen)
{
	struct sts_policy pol;
	const char *p, *end, *eol;
	char why[64];
	size_t i;

	(void)str_appends(s, "{");
	json_key(s, "policy-type", type);
	(void)str_appends(s, ",");
	json_key(s, "policy-domain", domain);
	if (strcmp(type, "sts") == 0 && policy != NULL &&
	    sts_parse(policy, policylen, &pol, why, sizeof(why)) == 0) {
		/* §4.4: the policy's lines as fetched, one string each. */
		(void)str_appends(s, ",\"policy-string\":[");
		end = policy + policylen;
		for (p = policy, i = 0; p < end; p = eol + 1) {
			size_t n;

			if ((eol = memchr(p, '\n', (size_t)(end - p))) ==
			    NULL)
				eol = end;
			n = (size_t)(eol - p);
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n == 0)
				continue;
			if (i++ > 0)
				(void)str_appendc(s, ',');
			json_str(s, p, n);
		}
		(void)str_appends(s, "],\"mx-host\":[");
		for (i = 0; i < pol.nmx; i++) {
			if (i > 0)
				(void)str_appendc(s, ',');
			json_str(s, pol.mx[i], strlen(pol.mx[i]));
		}
		(void)str_appends(s, "]");
	}
	(void)str_appends(s, "}");
}

int
report_json(const struct report_day *d, size_t first, size_t count,
    const struct report_meta *m, const char *policy, size_t policylen,
    char **out, size_t *outlen)
{
	const struct tlsrpt_event *ev = d->ev + first;
	char start[32], end[32], id[2 * TLSRPT_FIELD_MAX + 64], *mem;
	size_t cap, i, j, k, np = 0;
	struct str s;

	cap = (count + 2) * REPORT_GROUP_MAX + 7 * (size_t)policylen +
	    REPORT_HEAD_MAX;
	if ((mem = malloc(cap)) == NULL)
		return -1;
	str_init(&s, mem, cap);
	iso(start, sizeof(start), d->start);
	iso(end, sizeof(end), d->start + 86399);
	(void)str_appends(&s, "{");
	json_key(&s, "organization-name", m->org);
	(void)str_appendf(&s, ",\"date-range\":{\"start-datetime\":\"%s\","
	    "\"end-datetime\":\"%s\"},", start, end);
	json_key(&s, "contact-info", m->contact);
	str_fmt_cut(id, sizeof(id), "%sT000000Z_%s@%s", d->name,
	    ev[0].policy_domain, m->hostname);
	(void)str_appendc(&s, ',');
	json_key(&s, "report-id", id);
	(void)str_appends(&s, ",\"policies\":[");
	for (i = 0; i < count; i = j) {
		unsigned long long ok = 0, bad = 0;

		/* One policy type: ev[i..j). */
		for (j = i; j < count && strcmp(ev[j].policy_type,
		    ev[i].policy_type) == 0; j++) {
			if (strcmp(ev[j].result, "success") == 0)
				ok++;
			else
				bad++;
		}
		if (np++ > 0)
			(void)str_appendc(&s, ',');
		(void)str_appends(&s, "{\"policy\":");
		json_policy(&s, ev[i].policy_type, ev[i].policy_domain,
		    policy, policylen);
		(void)str_appendf(&s, ",\"summary\":{"
		    "\"total-successful-session-count\":%llu,"
		    "\"total-failure-session-count\":%llu}", ok, bad);
		if (bad > 0) {
			size_t nf = 0;

			(void)str_appends(&s, ",\"failure-details\":[");
			for (k = i; k < j; ) {
				size_t e = k + 1;

				while (e < j && same_failure(&ev[k], &ev[e]))
					e++;
				if (strcmp(ev[k].result, "success") == 0) {
					k = e;
					continue;
				}
				if (nf++ > 0)
					(void)str_appendc(&s, ',');
				(void)str_appends(&s, "{");
				json_key(&s, "result-type", ev[k].result);
				if (ev[k].sending_ip != NULL) {
					(void)str_appendc(&s, ',');
					json_key(&s, "sending-mta-ip",
					    ev[k].sending_ip);
				}
				if (ev[k].mx_host != NULL) {
					(void)str_appendc(&s, ',');
					json_key(&s, "receiving-mx-hostname",
					    ev[k].mx_host);
				}
				if (ev[k].receiving_ip != NULL) {
					(void)str_appendc(&s, ',');
					json_key(&s, "receiving-ip",
					    ev[k].receiving_ip);
				}
				if (ev[k].reason_code != NULL) {
					(void)str_appendc(&s, ',');
					json_key(&s, "failure-reason-code",
					    ev[k].reason_code);
				}
				(void)str_appendf(&s, ",\"failed-session-"
				    "count\":%zu}", e - k);
				k = e;
			}
			(void)str_appends(&s, "]");
		}
		(void)str_appends(&s, "}");
	}
	if (str_appends(&s, "]}") == -1) {
		/* The bound above is wrong if this happens: no report
		 * rather than a cut one. */
		free(mem);
		errno = ENOBUFS;
		return -1;
	}
	*out = mem;
	*outlen = s.len;
	return 0;
}

int
report_gzip(const char *in, size_t len, unsigned char **out,
    size_t *outlen)
{
	z_stream z;
	size_t cap;
	int r;

	memset(&z, 0, sizeof(z));
	/* 15 window bits, +16: a gzip header and trailer (zlib.h). */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	cap = deflateBound(&z, len) + 64;
	if ((*out = malloc(cap)) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		errno = EIO;
		return -1;
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
report_rua(const char *txt, char addrs[][REPORT_ADDR_MAX], size_t max,
    int *https)
{
	const char *p = txt, *v, *e;
	struct addr a;
	size_t n = 0, i, k;
	int have_rua = 0;

	*https = 0;
	/* §3: "v=TLSRPTv1" first, then "; field"s. */
	if (!dns_txt_tagged(p, "v=TLSRPTv1"))
		return -1;
	for (p += 10; *p != '\0'; ) {
		while (*p == ';' || *p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "rua=", 4) != 0) {
			while (*p != '\0' && *p != ';')
				p++;
			continue;
		}
		have_rua = 1;
		for (p += 4; *p != '\0' && *p != ';'; ) {
			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			v = p;
			while (*p != '\0' && *p != ',' && *p != ';' &&
			    *p != ' ' && *p != '\t')
				p++;
			e = p;
			if (e - v > 7 && strncmp(v, "mailto:", 7) == 0 &&
			    n < max) {
				/* %XX escapes; "!" and what follows (a size
				 * limit, in DMARC's style) dropped. */
				for (i = 7, k = 0; v + i < e && v[i] != '!' &&
				    k + 1 < REPORT_ADDR_MAX; i++) {
					int hi, lo;

					if (v[i] == '%' && v + i + 2 < e &&
					    (hi = hexval(v[i + 1])) >= 0 &&
					    (lo = hexval(v[i + 2])) >= 0) {
						addrs[n][k++] = (char)(hi * 16
						    + lo);
						i += 2;
					} else
						addrs[n][k++] = v[i];
				}
				addrs[n][k] = '\0';
				/* It goes on To: and to queue-inject: a
				 * mailbox, or nothing (a stray byte of the
				 * DNS record's, a space, a second address). */
				if (addr_parse(addrs[n], k, 0, &a) == ADDR_OK)
					n++;
			} else if (e - v > 8 && strncmp(v, "https://", 8) ==
			    0)
				*https = 1;
		}
	}
	return have_rua ? (int)n : -1;
}

int
report_mail(const struct report_day *d, const char *domain,
    const struct report_meta *m, char addrs[][REPORT_ADDR_MAX],
    size_t naddrs, const unsigned char *gz, size_t gzlen, time_t now,
    char **out, size_t *outlen)
{
	char date[DATE_MAX], *b64 = NULL, *mem;
	unsigned char rnd[8];
	size_t b64len, cap, i;
	struct str s;
	long long t0 = (long long)d->start;

	if (date_rfc5322(date, sizeof(date), now) == -1)
		return -1;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	b64len = sodium_base64_ENCODED_LEN(gzlen,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64len)) == NULL)
		return -1;
	sodium_bin2base64(b64, b64len, gz, gzlen,
	    sodium_base64_VARIANT_ORIGINAL);
	cap = b64len + b64len / 76 + REPORT_MAIL_OVERHEAD +
	    naddrs * (REPORT_ADDR_MAX + 4);
	if ((mem = malloc(cap)) == NULL) {
		free(b64);
		return -1;
	}
	str_init(&s, mem, cap);
	/* §5.3: the subject and the two fields that name the report. */
	(void)str_appendf(&s, "From: %s\n", m->contact);
	(void)str_appends(&s, "To: ");
	for (i = 0; i < naddrs; i++)
		(void)str_appendf(&s, "%s%s", i > 0 ? ",\n " : "", addrs[i]);
	(void)str_appendf(&s, "\nDate: %s\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: "
	    "<%sT000000Z_%s@%s>\n"
	    "TLS-Report-Domain: %s\n"
	    "TLS-Report-Submitter: %s\n"
	    "Message-ID: <tlsrpt.%s.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\n"
	    "\tboundary=\"" REPORT_BOUNDARY_PREFIX "%s\"\n"
	    "\n"
	    "This is a multipart message in MIME format.\n"
	    "\n"
	    "--" REPORT_BOUNDARY_PREFIX "%s\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "This is an aggregate TLS report (RFC 8460) from %s\n"
	    "for the mail it sent to %s on %s (UTC).\n"
	    "\n"
	    "--" REPORT_BOUNDARY_PREFIX "%s\n"
	    "Content-Type: application/tlsrpt+gzip\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n"
	    "\tfilename=\"%s!%s!%lld!%lld!%02x%02x%02x%02x.json.gz\"\n"
	    "\n",
	    date, domain, m->org, d->name, domain, m->hostname, domain,
	    m->org, d->name, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	    rnd[6], rnd[7], m->hostname, d->name, d->name, m->org, domain,
	    d->name, d->name, m->org, domain, t0, t0 + 86399, rnd[0],
	    rnd[1], rnd[2], rnd[3]);
	for (i = 0; i < b64len - 1; i += 76) {
		size_t n = b64len - 1 - i < 76 ? b64len - 1 - i : 76;

		(void)str_append(&s, b64 + i, n);
		(void)str_appendc(&s, '\n');
	}
	if (str_appendf(&s, "\n--" REPORT_BOUNDARY_PREFIX "%s--\n", d->name)
	    == -1) {
		free(mem);
		free(b64);
		errno = ENOBUFS;
		return -1;
	}
	free(b64);
	*out = mem;
	*outlen = s.len;
	return 0;
}
