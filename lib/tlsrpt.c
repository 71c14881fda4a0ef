/* tlsrpt.c — the per-day counts file of TLS sessions (tlsrpt.h). */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "str.h"
#include "tlsrpt.h"

int
tlsrpt_day_path(const char *spool, time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return str_fmt(buf, size, "%s/" TLSRPT_DIR "/%04d-%02d-%02d", spool,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* A field as it may go on a line: no tab or control byte, "-" for
 * nothing, at most TLSRPT_FIELD_MAX bytes. */
static void
put(struct str *s, const char *v)
{
	size_t i;

	(void)str_appendc(s, '\t');
	if (v == NULL || v[0] == '\0') {
		(void)str_appendc(s, '-');
		return;
	}
	for (i = 0; v[i] != '\0' && i < TLSRPT_FIELD_MAX; i++)
		(void)str_appendc(s, (unsigned char)v[i] < ' ' ||
		    v[i] == 0x7f ? ' ' : v[i]);
}

int
tlsrpt_count(const char *spool, const struct tlsrpt_event *ev, time_t now)
{
	char path[4096], dir[4096], mem[TLSRPT_LINE_MAX];
	struct str s;
	struct stat st;
	int fd = -1, rc = -1;

	if (str_fmt(dir, sizeof(dir), "%s/" TLSRPT_DIR, spool) == -1 ||
	    tlsrpt_day_path(spool, now, path, sizeof(path)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	str_init(&s, mem, sizeof(mem));
	(void)str_appends(&s, "v1");
	put(&s, ev->policy_type);
	put(&s, ev->policy_domain);
	put(&s, ev->result);
	put(&s, ev->sending_ip);
	put(&s, ev->mx_host);
	put(&s, ev->receiving_ip);
	put(&s, ev->reason_code);
	if (str_appendc(&s, '\n') == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	do
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (st.st_size >= TLSRPT_DAY_MAX) {
		errno = EFBIG;
		goto out;
	}
	/* One write(2): O_APPEND places it whole at the end. */
	if (fd_write_all(fd, s.s, s.len) == -1)
		goto out;
	rc = 0;
out:
	fd_close(&fd);
	return rc;
}

int
tlsrpt_parse(char *line, struct tlsrpt_event *ev)
{
	char *f[8];

	if (str_split(line, '\t', f, 8) == -1 || strcmp(f[0], "v1") != 0)
		return -1;
	ev->policy_type = f[1];
	ev->policy_domain = f[2];
	ev->result = f[3];
	ev->sending_ip = strcmp(f[4], "-") == 0 ? NULL : f[4];
	ev->mx_host = strcmp(f[5], "-") == 0 ? NULL : f[5];
	ev->receiving_ip = strcmp(f[6], "-") == 0 ? NULL : f[6];
	ev->reason_code = strcmp(f[7], "-") == 0 ? NULL : f[7];
	if (ev->policy_type[0] == '\0' || ev->policy_domain[0] == '\0' ||
	    ev->result[0] == '\0')
		return -1;
	return 0;
}
