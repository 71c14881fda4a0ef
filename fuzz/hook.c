/* hook.c — libFuzzer harness: the verdict of smtp-in's content filter
 * (smtp-in/hook.c, hook_parse) from any exit status and any output.
 * data[0] is the exit status (0, 1, 20 and 75 are the protocol's; a
 * value over 200 a signal), data[1..] what the filter printed.  Checked
 * beyond "no crash": the fields that pass are what the protocol allows
 * (printable ASCII, tab, LF ends, no empty line, lines of at most 998
 * octets, within the bound), and a reply is one line of a 4xx or 5xx of
 * the right class, within its bound. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_fields(const struct hook_result *r)
{
	size_t i, line = 0;

	if (r->fieldslen > HOOK_OUTPUT_MAX + 1 ||
	    strlen(r->fields) != r->fieldslen ||
	    (r->fieldslen > 0 && r->fields[r->fieldslen - 1] != '\n'))
		abort();
	for (i = 0; i < r->fieldslen; i++) {
		unsigned char c = (unsigned char)r->fields[i];

		if (c == '\n') {
			if (line == 0 || line > HOOK_FIELD_LINE_MAX)
				abort();
			line = 0;
			continue;
		}
		if ((c < ' ' || c > '~') && c != '\t')
			abort();
		line++;
	}
}

static void
check_reply(const struct hook_result *r, char cls)
{
	size_t i, n = strlen(r->reply);

	if (n < 10 || n >= sizeof(r->reply) || r->reply[0] != cls ||
	    r->reply[1] != '5' || r->reply[3] != ' ' || r->reply[4] != cls ||
	    r->reply[5] != '.')
		abort();
	for (i = 0; i < n; i++)
		if (r->reply[i] < ' ' || r->reply[i] > '~')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hook_result r;
	int status;

	if (size < 1 || size > HOOK_OUTPUT_MAX + 1)
		return 0;
	/* An exit status in the high byte, or a signal in the low. */
	status = data[0] > 200 ? data[0] - 200 : data[0] << 8;
	hook_parse(status, (const char *)data + 1, size - 1, &r);
	switch (r.verdict) {
	case HOOK_ACCEPT:
	case HOOK_SPAM:
		check_fields(&r);
		break;
	case HOOK_REFUSE:
		check_reply(&r, '5');
		break;
	case HOOK_TEMPFAIL:
		check_reply(&r, '4');
		break;
	case HOOK_FAILED:
		if (strncmp(r.reply, "451 4.", 6) != 0 || r.fieldslen != 0)
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
