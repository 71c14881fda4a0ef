/* doctor.c — the checks of posthorn-doctor(8).  Each check prints one
 * line, "ok", "WARN" or "FAIL", the thing checked and what was found;
 * a line that is not ok is followed by indented lines that say what to
 * publish or fix, in zone-file form where it is a record.  The lookups
 * are smtp-out's (dns.h), so the doctor sees what smtp-out and the
 * resolvers of other servers see through /etc/resolv.conf. */

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "dns.h"
#include "doctor.h"
#include "fileread.h"
#include "io.h"
#include "keys.h"
#include "line.h"
#include "send.h"
#include "spf.h"
#include "str.h"
#include "sts.h"
#include "sts_fetch.h"

enum {
	DOCTOR_WHY_MAX = 512,
	/* A certificate chain file: a few certificates of ~2 KB. */
	DOCTOR_CERT_FILE_MAX = 256 * 1024,
	DOCTOR_RECORD_MAX = 2048,	/* dkimsign's record of one key */
	DOCTOR_SMTP_PORT = 25,
	/* smtp-in greets at once; a listener that makes a client wait
	 * longer is broken for the doctor's purpose. */
	DOCTOR_GREETING_TIMEOUT = 30	/* seconds */
};

static const char *const level_word[] = { "ok", "WARN", "FAIL" };
enum level { OK, WARN, FAIL };

static void
line(struct doctor *d, enum level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line(struct doctor *d, enum level l, const char *fmt, ...)
{
	va_list ap;

	if (l == OK)
		d->ok++;
	else if (l == WARN)
		d->warn++;
	else
		d->fail++;
	fprintf(d->out, "%-4s  ", level_word[l]);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

/* What to do, under the line it belongs to. */
static void
fix(struct doctor *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fix(struct doctor *d, const char *fmt, ...)
{
	va_list ap;

	fputs("      ", d->out);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

static int
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* The addresses as "a, b, c" into buf. */
static void
addr_list(const struct dns_addr *a, size_t n, char *buf, size_t size)
{
	struct str s;
	size_t i;

	str_init(&s, buf, size);
	for (i = 0; i < n; i++)
		if (str_appendf(&s, "%s%s", i > 0 ? ", " : "", a[i].text) == -1)
			break;
}

/* The value of tag in a "tag=value; tag=value" list (RFC 6376 §3.2,
 * RFC 7489 §6.4), white space removed, into val: 1, or 0 if absent. */
static int
tag_value(const char *list, const char *tag, char *val, size_t size)
{
	const char *p = list, *end, *eq;
	size_t tl = strlen(tag), n;

	while (*p != '\0') {
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			const char *k = eq;

			while (k > p && (k[-1] == ' ' || k[-1] == '\t'))
				k--;
			if ((size_t)(k - p) == tl &&
			    strncasecmp(p, tag, tl) == 0) {
				n = 0;
				for (k = eq + 1; k < end; k++)
					if (*k != ' ' && *k != '\t' &&
					    n + 1 < size)
						val[n++] = *k;
				if (size > 0)
					val[n] = '\0';
				return 1;
			}
		}
		p = *end == ';' ? end + 1 : end;
	}
	return 0;
}

int
doctor_init(void)
{
	return gnutls_global_init() < 0 || keys_init() == -1 ? -1 : 0;
}

/* --- the host name ------------------------------------------------------ */

static void
check_ptr(struct doctor *d, const struct dns_addr *a)
{
	const char *host = d->conf->hostname;
	struct dns_name names[DNS_PTRS_MAX];
	char why[DOCTOR_WHY_MAX];
	size_t n, i;
	enum dns_result r;

	r = dns_ptr(a, names, DNS_PTRS_MAX, &n, why, sizeof(why));
	if (r == DNS_TEMP) {
		line(d, FAIL, "PTR   %s: cannot be checked: %s", a->text, why);
		return;
	}
	if (r != DNS_OK) {
		line(d, FAIL, "PTR   %s: no PTR record", a->text);
		fix(d, "ask whoever gives you the address (the hosting "
		    "provider's panel) for a PTR record of %s giving %s",
		    a->text, host);
		return;
	}
	for (i = 0; i < n; i++)
		if (same_name(names[i].name, host))
			break;
	if (i == n) {
		line(d, FAIL, "PTR   %s: gives %s, not %s", a->text,
		    names[0].name, host);
		fix(d, "set the PTR record of %s to %s (where the address "
		    "comes from), or hostname = %s in posthorn.conf if that "
		    "is this machine's name", a->text, host, names[0].name);
		return;
	}
	if (n > 1) {
		line(d, WARN, "PTR   %s: %zu PTR records; some receivers take "
		    "only one", a->text, n);
		fix(d, "keep the one that gives %s", host);
		return;
	}
	/* a is one of the host name's addresses: forward-confirmed. */
	line(d, OK, "PTR   %s: %s, which resolves back to %s", a->text, host,
	    a->text);
}

/* check_host() of domain for each address, as a receiver would run
 * it for mail from postmaster@domain after HELO hostname; one line
 * each, with the term or the problem that decided. */
static void
check_spf(struct doctor *d, const char *domain, const struct dns_addr *a,
    size_t n)
{
	struct spf_request req;
	struct spf_answer *ans;
	char sender[DNS_NAME_MAX + 16], why[DOCTOR_WHY_MAX];
	enum spf_result r;
	size_t i;

	if ((ans = malloc(sizeof(*ans))) == NULL) {
		line(d, FAIL, "SPF   %s: cannot be checked: out of memory",
		    domain);
		return;
	}
	str_fmt_cut(sender, sizeof(sender), "postmaster@%s", domain);
	for (i = 0; i < n; i++) {
		memset(&req, 0, sizeof(req));
		req.ip = a[i];
		req.helo = d->conf->hostname;
		req.sender = sender;
		req.receiver = d->conf->hostname;
		req.now = (long long)d->now;
		r = spf_check_host(&req, domain, ans);
		if (r == SPF_TEMPERROR || r == SPF_PERMERROR || r == SPF_NONE)
			str_fmt_cut(why, sizeof(why), "%s", ans->problem);
		else if (strcmp(ans->mechanism, "default") == 0)
			str_fmt_cut(why, sizeof(why), "%s: nothing matched",
			    ans->domain);
		else
			/* The qualifier written out, "+" too. */
			str_fmt_cut(why, sizeof(why), "%s matched %s%s",
			    ans->domain, strchr("+-~?", ans->mechanism[0]) ==
			    NULL ? "+" : "", ans->mechanism);
		if (r == SPF_PASS) {
			line(d, OK, "SPF   %s for %s: pass (%s)", domain,
			    a[i].text, why);
			continue;
		}
		line(d, FAIL, "SPF   %s for %s: %s (%s)", domain, a[i].text,
		    spf_result_name(r), why);
		if (r == SPF_NONE)
			fix(d, "publish: %s. IN TXT \"v=spf1 %s -all\"",
			    domain, same_name(domain, d->conf->hostname) ?
			    "a" : "mx");
		else if (r == SPF_PERMERROR)
			fix(d, "correct the SPF record of %s: receivers "
			    "treat it as no record, or worse", domain);
		else if (r != SPF_TEMPERROR)
			fix(d, "add %s:%s to the SPF record of %s (or an a or "
			    "mx term that gives it)",
			    a[i].family == AF_INET ? "ip4" : "ip6", a[i].text,
			    domain);
	}
	free(ans);
}

static void
check_cert(struct doctor *d)
{
	const char *path = d->conf->tls_cert, *host = d->conf->hostname;
	gnutls_x509_crt_t *crts = NULL;
	unsigned ncrt = 0, i;
	gnutls_datum_t pem;
	char *buf = NULL;
	size_t len;
	time_t exp;
	long days;

	if (fileread_all(path, DOCTOR_CERT_FILE_MAX, &buf, &len) == -1) {
		line(d, FAIL, "TLS   %s: %s", path, strerror(errno));
		fix(d, "install a certificate for %s there (README.md, "
		    "\"TLS certificates\")", host);
		return;
	}
	pem.data = (unsigned char *)buf;
	pem.size = (unsigned)len;
	if (gnutls_x509_crt_list_import2(&crts, &ncrt, &pem,
	    GNUTLS_X509_FMT_PEM, 0) < 0 || ncrt == 0) {
		line(d, FAIL, "TLS   %s: no certificate in PEM form", path);
		goto out;
	}
	/* The first is the server's own; the rest is the chain. */
	exp = gnutls_x509_crt_get_expiration_time(crts[0]);
	days = (long)((exp - d->now) / 86400);
	if (!gnutls_x509_crt_check_hostname(crts[0], host)) {
		line(d, FAIL, "TLS   %s: does not name %s", path, host);
		fix(d, "get a certificate for %s (acme.sh --issue -d %s, or "
		    "certbot certonly -d %s)", host, host, host);
	} else if (exp <= d->now) {
		line(d, FAIL, "TLS   %s: names %s, expired %ld days ago", path,
		    host, -days);
		fix(d, "renew it (and check why renewal did not run)");
	} else if (ncrt == 1 && gnutls_x509_crt_check_issuer(crts[0],
	    crts[0])) {
		/* install.sh's stand-in until a real one is installed. */
		line(d, WARN, "TLS   %s: names %s, self-signed", path, host);
		fix(d, "Gmail's \"send mail as\" and some senders refuse it: "
		    "get one from a CA (README.md, \"TLS certificates\")");
	} else if (days < DOCTOR_CERT_WARN_DAYS) {
		line(d, WARN, "TLS   %s: names %s, expires in %ld days", path,
		    host, days);
		fix(d, "renew it (and check why renewal did not run)");
	} else
		line(d, OK, "TLS   %s: names %s, expires in %ld days", path,
		    host, days);
out:
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	free(buf);
}

/* Our greeting on port 25 of a, as a client sees it: its first line
 * names the host name (what receivers compare with the PTR record and
 * the HELO).  self: a is this machine's, where a listener must answer;
 * another address (NAT) may not take a connection from inside. */
static void
check_greeting(struct doctor *d, const struct dns_addr *a, int self)
{
	const char *host = d->conf->hostname;
	char buf[CLIENT_REPLY_LINE_MAX + 1], first[CLIENT_REPLY_LINE_MAX + 1];
	struct line *l = NULL;
	struct io io;
	struct str s;
	enum line_status st = LINE_OK;
	int64_t deadline;
	unsigned flags;
	size_t n, wl;
	int fd;

	if ((fd = send_connect(d->conf, a, DOCTOR_SMTP_PORT)) == -1) {
		line(d, self ? FAIL : WARN, "SMTP  %s port %d: %s", a->text,
		    DOCTOR_SMTP_PORT, strerror(errno));
		fix(d, "start the listener (systemctl status posthorn-smtp."
		    "socket), and open port %d to the world",
		    DOCTOR_SMTP_PORT);
		return;
	}
	if ((l = malloc(sizeof(*l))) == NULL) {
		line(d, FAIL, "SMTP  %s: out of memory", a->text);
		goto out;
	}
	io_fd_init(&io, fd, fd);
	line_init(l, &io);
	str_init(&s, buf, sizeof(buf));
	first[0] = '\0';
	deadline = clock_ms() + DOCTOR_GREETING_TIMEOUT * 1000LL;
	/* RFC 5321 §4.2.1: "220-" lines go on, "220 " ends the reply. */
	for (n = 0; n < CLIENT_REPLY_LINES_MAX; n++) {
		st = line_get(l, &s, CLIENT_REPLY_LINE_MAX, deadline, &flags);
		if (st != LINE_OK)
			break;
		if (n == 0)
			(void)str_copy(first, sizeof(first), s.s);
		if (s.len < 4 || s.s[3] != '-')
			break;
	}
	/* The peer's bytes go to a terminal: no escape sequence, no
	 * control byte, as client.c's text_add treats a reply. */
	for (n = 0; first[n] != '\0'; n++)
		if ((unsigned char)first[n] < ' ' || first[n] == 0x7f)
			first[n] = '?';
	if (first[0] == '\0') {
		line(d, self ? FAIL : WARN, "SMTP  %s port %d: no greeting "
		    "(%s)", a->text, DOCTOR_SMTP_PORT,
		    st == LINE_TIMEOUT ? "timeout" : "connection closed");
		goto out;
	}
	/* The name: the first word after "220 " or "220-". */
	wl = strlen(first) > 4 ? strcspn(first + 4, " ") : 0;
	if (strncmp(first, "220", 3) != 0) {
		line(d, FAIL, "SMTP  %s port %d: greets with \"%s\"", a->text,
		    DOCTOR_SMTP_PORT, first);
		fix(d, "a 220 greeting is what other servers wait for");
	} else if (wl != strlen(host) || strncasecmp(first + 4, host, wl)
	    != 0) {
		line(d, FAIL, "SMTP  %s port %d: greets as %.*s, not %s",
		    a->text, DOCTOR_SMTP_PORT, (int)wl, first + 4, host);
		fix(d, "smtp-in greets with the hostname of posthorn.conf: "
		    "is another server listening on port %d?",
		    DOCTOR_SMTP_PORT);
	} else
		line(d, OK, "SMTP  %s port %d: greets as %s", a->text,
		    DOCTOR_SMTP_PORT, host);
	/* A courtesy; its failure tells nothing more. */
	(void)io_write_all(&io, "QUIT\r\n", 6, deadline);
out:
	free(l);
	fd_close(&fd);
}

void
doctor_host(struct doctor *d)
{
	const char *host = d->conf->hostname;
	struct dns_addr a[DNS_ADDRS_MAX];
	char why[DOCTOR_WHY_MAX], list[DOCTOR_WHY_MAX];
	size_t n, i, ours = 0;
	enum dns_result r;

	r = dns_addrs(host, a, DNS_ADDRS_MAX, &n, why, sizeof(why));
	if (r != DNS_OK) {
		line(d, FAIL, "HOST  %s: %s", host, why);
		fix(d, "publish its A record (and AAAA if it has IPv6): "
		    "%s. IN A <this machine's public IPv4 address>", host);
		n = 0;
	} else {
		addr_list(a, n, list, sizeof(list));
		for (i = 0; i < n; i++)
			ours += dns_is_self(d->conf, NULL, &a[i]) != 0;
		if (ours == n)
			line(d, OK, "HOST  %s: %s, this machine's", host,
			    list);
		else {
			/* Behind NAT none is, and mail still arrives:
			 * a warning, the reader knows which it is. */
			line(d, WARN,
			    "HOST  %s: %s: %zu of them not this machine's",
			    host, list, n - ours);
			fix(d, "the A/AAAA records of %s must be the addresses "
			    "of this machine (behind NAT: the public one "
			    "that forwards port 25 here)", host);
		}
		for (i = 0; i < n; i++)
			check_ptr(d, &a[i]);
		check_spf(d, host, a, n);
		for (i = 0; i < n; i++)
			check_greeting(d, &a[i],
			    dns_is_self(d->conf, NULL, &a[i]));
	}
	check_cert(d);
}

/* --- a mail domain ------------------------------------------------------ */

/* One MX host: 1 when it is this machine, 0 when not, with the line
 * printed for the FAIL cases of its own (no address, a CNAME); *bad set
 * then. */
static int
mx_host_self(struct doctor *d, const char *domain, const struct dns_target *t,
    char *addrs, size_t size, int *bad)
{
	struct dns_addr a[DNS_ADDRS_MAX];
	struct dns_name cn;
	char why[DOCTOR_WHY_MAX];
	size_t n, i;
	int self = 0;

	*bad = 1;
	addrs[0] = '\0';
	if (dns_cname(t->host, &cn, why, sizeof(why)) == DNS_OK) {
		line(d, FAIL, "MX    %s: %d %s is a CNAME (to %s)", domain,
		    t->pref, t->host, cn.name);
		fix(d, "name a host with A/AAAA records of its own (RFC 2181 "
		    "§10.3): %s. IN MX 10 %s.", domain, d->conf->hostname);
		return 0;
	}
	if (dns_addrs(t->host, a, DNS_ADDRS_MAX, &n, why, sizeof(why)) !=
	    DNS_OK) {
		line(d, FAIL, "MX    %s: %d %s: %s", domain, t->pref, t->host,
		    why);
		fix(d, "publish the A/AAAA records of %s, or name %s in "
		    "the MX record", t->host, d->conf->hostname);
		return 0;
	}
	*bad = 0;
	addr_list(a, n, addrs, size);
	if (dns_is_self(d->conf, t->host, NULL))
		self = 1;
	for (i = 0; i < n && !self; i++)
		self = dns_is_self(d->conf, NULL, &a[i]);
	return self;
}

static void
check_mx(struct doctor *d, const char *domain)
{
	struct dns_target t[DNS_HOSTS_MAX];
	char why[DOCTOR_WHY_MAX], addrs[DNS_HOSTS_MAX][DOCTOR_WHY_MAX];
	int self[DNS_HOSTS_MAX], bad[DNS_HOSTS_MAX];
	size_t n, i, nself = 0;
	enum dns_result r;

	r = dns_mx(domain, t, DNS_HOSTS_MAX, &n, why, sizeof(why));
	if (r == DNS_OK && n == 1 && t[0].implicit) {
		line(d, FAIL, "MX    %s: no MX record", domain);
		fix(d, "publish: %s. IN MX 10 %s.", domain, d->conf->hostname);
		return;
	}
	if (r != DNS_OK) {
		line(d, FAIL, "MX    %s: %s", domain, why);
		fix(d, "publish: %s. IN MX 10 %s.", domain, d->conf->hostname);
		return;
	}
	for (i = 0; i < n; i++) {
		self[i] = mx_host_self(d, domain, &t[i], addrs[i],
		    sizeof(addrs[i]), &bad[i]);
		nself += self[i] != 0;
	}
	for (i = 0; i < n; i++) {
		if (bad[i])
			continue;
		if (self[i])
			line(d, OK, "MX    %s: %d %s (%s), this host", domain,
			    t[i].pref, t[i].host, addrs[i]);
		else if (nself > 0) {
			line(d, WARN, "MX    %s: %d %s (%s) is not this host",
			    domain, t[i].pref, t[i].host, addrs[i]);
			fix(d, "a backup MX must accept the domain's mail and "
			    "relay it here; remove it otherwise");
		} else {
			line(d, FAIL, "MX    %s: %d %s (%s) is not this host",
			    domain, t[i].pref, t[i].host, addrs[i]);
			fix(d, "publish: %s. IN MX 10 %s.", domain,
			    d->conf->hostname);
		}
	}
}

/* One key: its record looked up and compared with the key on disk. */
static void
check_dkim_key(struct doctor *d, const char *domain, const struct keys_key *k,
    struct dns_text *txt)
{
	const char *file = k->type == KEYS_RSA ? "rsa" : "ed25519";
	char name[DNS_NAME_MAX + 1], why[DOCTOR_WHY_MAX];
	char want[KEYS_VALUE_MAX], wantp[KEYS_VALUE_MAX], wantk[16];
	char p[DNS_TXT_LEN_MAX + 1], kt[16], v[16], rec[DOCTOR_RECORD_MAX];
	struct str s;
	size_t n, i, keys = 0;
	enum dns_result r;

	str_init(&s, rec, sizeof(rec));
	if (str_fmt(name, sizeof(name), "%s._domainkey.%s", k->selector,
	    domain) == -1 || keys_record_value(k, want, sizeof(want)) == -1 ||
	    keys_record(k, domain, &s) == -1) {
		line(d, FAIL, "DKIM  %s.%s: %s", k->selector, file,
		    strerror(errno));
		return;
	}
	(void)tag_value(want, "p", wantp, sizeof(wantp));
	(void)tag_value(want, "k", wantk, sizeof(wantk));
	r = dns_txt(name, txt, DNS_TXTS_MAX, &n, why, sizeof(why));
	if (r == DNS_TEMP) {
		line(d, FAIL, "DKIM  %s: cannot be checked: %s", name, why);
		return;
	}
	if (r != DNS_OK)
		n = 0;
	for (i = 0; i < n; i++) {
		if (!tag_value(txt[i].text, "p", p, sizeof(p)))
			continue;
		keys++;
		if (tag_value(txt[i].text, "v", v, sizeof(v)) &&
		    strcmp(v, "DKIM1") != 0)
			continue;
		if (!tag_value(txt[i].text, "k", kt, sizeof(kt)))
			(void)str_copy(kt, sizeof(kt), "rsa");
		if (!txt[i].cut && strcmp(p, wantp) == 0 &&
		    str_casecmp(kt, wantk) == 0)
			break;
	}
	if (i < n)
		line(d, OK, "DKIM  %s: matches the key %s.%s", name,
		    k->selector, file);
	else {
		if (keys == 0)
			line(d, FAIL, "DKIM  %s: no DKIM record (key %s.%s)",
			    name, k->selector, file);
		else
			line(d, FAIL, "DKIM  %s: does not match the key %s.%s "
			    "on disk", name, k->selector, file);
		fix(d, "publish (dkimsign -p %s prints it again):", domain);
		/* keys_record's lines, indented under the fix. */
		for (char *l = rec, *nl; *l != '\0'; l = nl) {
			nl = strchr(l, '\n');
			if (nl == NULL)
				nl = l + strlen(l);
			fix(d, "  %.*s", (int)(nl - l), l);
			if (*nl == '\n')
				nl++;
		}
	}
}

static void
check_dkim(struct doctor *d, const char *domain)
{
	struct keys_key k[KEYS_MAX];
	struct dns_text *txt;
	char dir[CONF_PATH_MAX + DNS_NAME_MAX + 32], err[DOCTOR_WHY_MAX];
	size_t n, i;

	if (conf_domain_path(d->conf, domain, "dkim", dir, sizeof(dir)) ==
	    -1) {
		line(d, FAIL, "DKIM  %s: %s", domain, strerror(errno));
		return;
	}
	if (keys_load_dir(dir, k, KEYS_MAX, &n, err, sizeof(err)) == -1) {
		line(d, FAIL, "DKIM  %s: %s", domain, err);
		return;
	}
	if (n == 0) {
		line(d, WARN, "DKIM  %s: no keys in %s: mail leaves unsigned",
		    domain, dir);
		fix(d, "make them: dkimsign -g %s, and publish what it "
		    "prints", domain);
		return;
	}
	if ((txt = malloc(DNS_TXTS_MAX * sizeof(*txt))) == NULL)
		line(d, FAIL, "DKIM  %s: out of memory", domain);
	else
		for (i = 0; i < n; i++)
			check_dkim_key(d, domain, &k[i], txt);
	free(txt);
	for (i = 0; i < n; i++)
		keys_free(&k[i]);
}

static void
check_dmarc(struct doctor *d, const char *domain)
{
	struct dns_text *txt;
	char name[DNS_NAME_MAX + 1], why[DOCTOR_WHY_MAX], p[32];
	size_t n, i, found = 0, which = 0;
	enum dns_result r;

	if (str_fmt(name, sizeof(name), "_dmarc.%s", domain) == -1) {
		line(d, FAIL, "DMARC %s: name too long", domain);
		return;
	}
	if ((txt = malloc(DNS_TXTS_MAX * sizeof(*txt))) == NULL) {
		line(d, FAIL, "DMARC %s: out of memory", name);
		return;
	}
	r = dns_txt(name, txt, DNS_TXTS_MAX, &n, why, sizeof(why));
	if (r == DNS_TEMP) {
		line(d, FAIL, "DMARC %s: cannot be checked: %s", name, why);
		goto out;
	}
	if (r != DNS_OK)
		n = 0;
	/* RFC 7489 §6.6.3: records that start with "v=DMARC1"; one. */
	for (i = 0; i < n; i++)
		if (dns_txt_tagged(txt[i].text, "v=DMARC1")) {
			found++;
			which = i;
		}
	if (found == 0) {
		line(d, FAIL, "DMARC %s: no DMARC record", name);
		fix(d, "publish, once SPF and DKIM pass: %s. IN TXT "
		    "\"v=DMARC1; p=none; rua=mailto:postmaster@%s\"", name,
		    domain);
	} else if (found > 1) {
		line(d, FAIL, "DMARC %s: %zu DMARC records: receivers apply "
		    "none (RFC 7489 §6.6.3)", name, found);
		fix(d, "keep one");
	} else if (!tag_value(txt[which].text, "p", p, sizeof(p)) ||
	    (strcmp(p, "none") != 0 && strcmp(p, "quarantine") != 0 &&
	    strcmp(p, "reject") != 0)) {
		line(d, FAIL, "DMARC %s: no valid p= tag in \"%s\"", name,
		    txt[which].text);
		fix(d, "p=none, p=quarantine or p=reject (RFC 7489 §6.3)");
	} else
		line(d, OK, "DMARC %s: p=%s (\"%s\")", name, p,
		    txt[which].text);
out:
	free(txt);
}

/* A record of a kind the tutorial does not ask for, checked only when
 * published: 1 when name has a TXT record starting with version (then
 * in *rec), 0 when none, -1 after a FAIL line of its own. */
static int
optional_txt(struct doctor *d, const char *what, const char *name,
    const char *version, struct dns_text *txt, size_t *which)
{
	char why[DOCTOR_WHY_MAX];
	size_t n, i, found = 0;
	enum dns_result r;

	r = dns_txt(name, txt, DNS_TXTS_MAX, &n, why, sizeof(why));
	if (r == DNS_TEMP) {
		line(d, FAIL, "%-5s %s: cannot be checked: %s", what, name,
		    why);
		return -1;
	}
	if (r != DNS_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (dns_txt_tagged(txt[i].text, version)) {
			found++;
			*which = i;
		}
	if (found > 1) {
		line(d, FAIL, "%-5s %s: %zu records; receivers use none",
		    what, name, found);
		fix(d, "keep one");
		return -1;
	}
	return found == 1;
}

/* How to publish MTA-STS for domain: the policy file and the record. */
static void
sts_howto(struct doctor *d, const char *domain)
{
	fix(d, "to publish (RFC 8461): serve this file as text/plain at");
	fix(d, "  https://mta-sts.%s/.well-known/mta-sts.txt", domain);
	fix(d, "  from any static HTTPS host with a certificate valid for "
	    "mta-sts.%s:", domain);
	fix(d, "    version: STSv1");
	fix(d, "    mode: testing");
	fix(d, "    mx: %s", d->conf->hostname);
	fix(d, "    max_age: 604800");
	fix(d, "  then: _mta-sts.%s. IN TXT \"v=STSv1; id=%s\"", domain,
	    "20260101T000000");
	fix(d, "  (a new id= with every change of the file; mode: enforce "
	    "once the reports are clean)");
}

/* The policy that _mta-sts announces, fetched as smtp-out fetches it:
 * it must parse, and every MX host of the domain must match it, or the
 * senders that enforce it defer the domain's mail. */
static void
check_sts_policy(struct doctor *d, const char *domain)
{
	struct dns_target t[DNS_HOSTS_MAX];
	struct sts_policy pol;
	char why[DOCTOR_WHY_MAX], *body, mx[DOCTOR_WHY_MAX];
	size_t len = 0, n = 0, i;
	enum sts_fetch_result fr;
	struct str s;
	int bad = 0;

	if ((body = malloc(STS_POLICY_MAX + 1)) == NULL) {
		line(d, FAIL, "STS   %s: out of memory", domain);
		return;
	}
	why[0] = '\0';
	fr = sts_fetch(d->conf, domain, d->conf->mta_sts_ca, body,
	    STS_POLICY_MAX + 1, &len, why, sizeof(why));
	if (fr != STS_FETCH_OK) {
		line(d, FAIL, "STS   https://mta-sts.%s/.well-known/"
		    "mta-sts.txt: %s", domain, why);
		if (fr == STS_FETCH_WEBPKI)
			fix(d, "a certificate that a public CA signed for "
			    "mta-sts.%s", domain);
		sts_howto(d, domain);
		goto out;
	}
	if (sts_parse(body, len, &pol, why, sizeof(why)) == -1) {
		line(d, FAIL, "STS   mta-sts.%s policy: %s", domain, why);
		sts_howto(d, domain);
		goto out;
	}
	str_init(&s, mx, sizeof(mx));
	for (i = 0; i < pol.nmx; i++)
		(void)str_appendf(&s, "%s%s", i > 0 ? " " : "", pol.mx[i]);
	if (pol.mode != STS_MODE_NONE &&
	    dns_mx(domain, t, DNS_HOSTS_MAX, &n, why, sizeof(why)) ==
	    DNS_OK)
		for (i = 0; i < n; i++)
			if (!sts_mx_match(&pol, t[i].host)) {
				line(d, FAIL, "STS   mta-sts.%s policy: MX "
				    "host %s matches no mx: line (%s)",
				    domain, t[i].host, mx);
				fix(d, "add \"mx: %s\" to the policy and "
				    "change the record's id=", t[i].host);
				bad = 1;
			}
	if (!bad)
		line(d, OK, "STS   mta-sts.%s policy: mode %s, max_age %ld, "
		    "mx %s", domain, sts_mode_name(pol.mode), pol.max_age,
		    pol.nmx > 0 ? mx : "(none)");
out:
	free(body);
}

/* MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3): the records parse
 * and the policy they announce is served and fits the MX records; when
 * they are not published, how to publish them (both are optional). */
static void
check_sts(struct doctor *d, const char *domain)
{
	struct dns_text *txt;
	char name[DNS_NAME_MAX + 1], val[DNS_TXT_LEN_MAX + 1];
	size_t w = 0, k, idlen;
	int ok, r = -1;

	val[0] = '\0';
	if ((txt = malloc(DNS_TXTS_MAX * sizeof(*txt))) == NULL) {
		line(d, FAIL, "STS   %s: out of memory", domain);
		return;
	}
	if (str_fmt(name, sizeof(name), "_mta-sts.%s", domain) == 0 &&
	    (r = optional_txt(d, "STS", name, "v=STSv1", txt, &w)) == 1) {
		ok = tag_value(txt[w].text, "id", val, sizeof(val));
		idlen = strlen(val);
		for (k = 0; ok && k < idlen; k++)
			ok = isalnum((unsigned char)val[k]);
		if (ok && idlen >= 1 && idlen <= 32) {
			line(d, OK, "STS   %s: id=%s", name, val);
			check_sts_policy(d, domain);
		} else {
			line(d, FAIL, "STS   %s: no valid id= in \"%s\"",
			    name, txt[w].text);
			fix(d, "id= of 1 to 32 letters and digits, changed "
			    "with each new policy (RFC 8461 §3.1)");
		}
	} else if (r == 0) {
		line(d, OK, "STS   %s: not published (optional: senders "
		    "that honour it never deliver here in clear)", name);
		sts_howto(d, domain);
	}
	r = -1;
	if (str_fmt(name, sizeof(name), "_smtp._tls.%s", domain) == 0 &&
	    (r = optional_txt(d, "TLSRPT", name, "v=TLSRPTv1", txt, &w)) ==
	    1) {
		if (tag_value(txt[w].text, "rua", val, sizeof(val)) &&
		    (strncmp(val, "mailto:", 7) == 0 ||
		    strncmp(val, "https:", 6) == 0))
			line(d, OK, "TLSRPT %s: rua=%s", name, val);
		else {
			line(d, FAIL, "TLSRPT %s: no valid rua= in \"%s\"",
			    name, txt[w].text);
			fix(d, "rua=mailto:ADDRESS or rua=https://URL "
			    "(RFC 8460 §3)");
		}
	} else if (r == 0) {
		line(d, OK, "TLSRPT %s: not published (optional: other "
		    "servers' daily reports of their TLS to you)", name);
		fix(d, "to publish (RFC 8460): %s. IN TXT "
		    "\"v=TLSRPTv1; rua=mailto:tlsrpt@%s\"", name, domain);
	}
	free(txt);
}

void
doctor_domain(struct doctor *d, const char *domain)
{
	struct dns_addr a[DNS_ADDRS_MAX];
	char why[DOCTOR_WHY_MAX];
	size_t n;

	check_mx(d, domain);
	/* SPF for the addresses mail leaves from: the host name's. */
	if (dns_addrs(d->conf->hostname, a, DNS_ADDRS_MAX, &n, why,
	    sizeof(why)) == DNS_OK)
		check_spf(d, domain, a, n);
	else
		line(d, FAIL, "SPF   %s: cannot be checked: %s", domain, why);
	check_dkim(d, domain);
	check_dmarc(d, domain);
	check_sts(d, domain);
}
