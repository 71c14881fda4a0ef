/* sendmail_test.c — what sendmail(8) does to a header block: where it
 * ends, -t taking To:/Cc:/Bcc: (folded, grouped, with display names),
 * Bcc: leaving no trace, the fields added when missing, and the classic
 * lone "." line. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../queue-run/sendmail.h"
#include "date.h"
#include "str.h"

#define HOST	"mx.example.net"

static char outmem[SENDMAIL_OUT_MAX];

static void
opts_init(struct sendmail_opts *o, int extract)
{
	memset(o, 0, sizeof *o);
	o->extract = extract;
	o->hostname = HOST;
	o->from = "cron@" HOST;
	o->msgid = "<1.2@" HOST ">";
	o->now = 1700000000;
}

/* Run sendmail_headers on a C string; the output is in out. */
static int
headers(const struct sendmail_opts *o, const char *hdr, struct str *out,
    struct sendmail_rcpts *r)
{
	str_init(out, outmem, sizeof outmem);
	return sendmail_headers(o, hdr, strlen(hdr), out, r);
}

static void
test_split_ends_at_the_empty_line(void **state)
{
	const char lf[] = "To: a\nSubject: x\n\nbody\n";
	const char crlf[] = "To: a\r\nSubject: x\r\n\r\nbody\r\n";
	struct sendmail_split sp = { 0 };

	(void)state;
	assert_int_equal(sendmail_split(lf, strlen(lf), 0, 1, &sp), 1);
	assert_int_equal(sp.hdrlen, strlen("To: a\nSubject: x\n"));
	assert_int_equal(sp.body, strlen("To: a\nSubject: x\n\n"));
	assert_int_equal(sp.end, 0);
	assert_int_equal(sendmail_split(crlf, strlen(crlf), 0, 1, &sp), 1);
	assert_int_equal(sp.hdrlen, strlen("To: a\r\nSubject: x\r\n"));
	assert_int_equal(sp.body, strlen("To: a\r\nSubject: x\r\n\r\n"));
}

static void
test_split_waits_for_a_whole_line(void **state)
{
	const char part[] = "To: a\nSubject: x\nX-Long: still goi";
	struct sendmail_split sp = { 0 };

	(void)state;
	assert_int_equal(sendmail_split(part, strlen(part), 0, 1, &sp), 0);
	/* At the end of input the header block is all there is. */
	assert_int_equal(sendmail_split(part, strlen(part), 1, 1, &sp), 1);
	assert_int_equal(sp.hdrlen, strlen(part));
	assert_int_equal(sp.body, strlen(part));
}

static void
test_split_resumes_as_the_buffer_grows(void **state)
{
	const char text[] = "To: a\r\n b\r\nSubject: x\r\n\r\nbody\r\n";
	struct sendmail_split sp = { 0 };
	size_t len;

	(void)state;
	/* One byte more per call, as a slow writer's reads would come. */
	for (len = 0; len < strlen(text); len++)
		if (sendmail_split(text, len, 0, 1, &sp) == 1)
			break;
	assert_int_equal(len, strlen("To: a\r\n b\r\nSubject: x\r\n\r\n"));
	assert_int_equal(sp.hdrlen, strlen("To: a\r\n b\r\nSubject: x\r\n"));
	assert_int_equal(sp.body, len);
}

static void
test_split_of_a_message_without_header_starts_the_body(void **state)
{
	const char text[] = "Hello, this is cron.\nTo: nobody\n";
	const char second[] = "Subject: x\nnot a header\nmore\n";
	struct sendmail_split sp = { 0 };

	(void)state;
	assert_int_equal(sendmail_split(text, strlen(text), 0, 1, &sp), 1);
	assert_int_equal(sp.hdrlen, 0);
	assert_int_equal(sp.body, 0);
	assert_int_equal(sendmail_split(second, strlen(second), 0, 1, &sp),
	    1);
	assert_int_equal(sp.hdrlen, strlen("Subject: x\n"));
	assert_int_equal(sp.body, strlen("Subject: x\n"));
}

static void
test_split_lone_dot_ends_input_unless_i(void **state)
{
	const char text[] = "Subject: x\n.\nX-After: y\n\n";
	struct sendmail_split sp = { 0 };

	(void)state;
	assert_int_equal(sendmail_split(text, strlen(text), 0, 1, &sp), 1);
	assert_int_equal(sp.end, 1);
	assert_int_equal(sp.hdrlen, strlen("Subject: x\n"));
	/* -i: the "." is a line of the body. */
	assert_int_equal(sendmail_split(text, strlen(text), 0, 0, &sp), 1);
	assert_int_equal(sp.end, 0);
	assert_int_equal(sp.hdrlen, strlen("Subject: x\n"));
	assert_int_equal(sp.body, strlen("Subject: x\n"));
}

static void
test_t_takes_to_cc_and_folded_bcc_with_groups_and_names(void **state)
{
	const char hdr[] =
	    "From: Me <me@example.org>\n"
	    "To: \"Bob, the builder\" <bob@example.com>, carol@example.com"
	    " (Carol)\n"
	    "Cc: friends: dave@example.net, Eve <eve@example.net>;,\n"
	    "\tfrank@example.net\n"
	    "Bcc: secret@example.org,\n"
	    " \"Hidden Person\" <hidden@example.org>\n"
	    "Subject: test\n";
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 1);
	assert_int_equal(headers(&o, hdr, &out, &r), 0);
	assert_int_equal(r.n, 7);
	assert_string_equal(r.v[0], "bob@example.com");
	assert_string_equal(r.v[1], "carol@example.com");
	assert_string_equal(r.v[2], "dave@example.net");
	assert_string_equal(r.v[3], "eve@example.net");
	assert_string_equal(r.v[4], "frank@example.net");
	assert_string_equal(r.v[5], "secret@example.org");
	assert_string_equal(r.v[6], "hidden@example.org");
	/* The Bcc: field and its continuation are gone, nothing else. */
	assert_null(strstr(out.s, "Bcc"));
	assert_null(strstr(out.s, "secret"));
	assert_null(strstr(out.s, "Hidden"));
	assert_non_null(strstr(out.s, "\tfrank@example.net\nSubject: test\n"));
	assert_non_null(strstr(out.s, "From: Me <me@example.org>\n"));
	sendmail_rcpts_free(&r);
}

static void
test_bcc_is_removed_even_without_t(void **state)
{
	const char hdr[] = "To: a@example.com\nbcc:b@example.com,\n"
	    "  c@example.com\nSubject: s\n";
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 0);
	assert_int_equal(headers(&o, hdr, &out, &r), 0);
	assert_int_equal(r.n, 0);	/* no -t: no recipients from here */
	assert_null(strstr(out.s, "b@example.com"));
	assert_null(strstr(out.s, "c@example.com"));
	assert_non_null(strstr(out.s, "To: a@example.com\nSubject: s\n"));
}

static void
test_resent_bcc_is_removed_and_not_taken(void **state)
{
	const char hdr[] = "To: a@example.com\nResent-Bcc: r@example.com\n"
	    "Subject: s\n";
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 1);
	assert_int_equal(headers(&o, hdr, &out, &r), 0);
	assert_int_equal(r.n, 1);
	assert_null(strstr(out.s, "r@example.com"));
	assert_non_null(strstr(out.s, "To: a@example.com\nSubject: s\n"));
	sendmail_rcpts_free(&r);
}

static void
test_t_adds_to_command_line_recipients_without_duplicates(void **state)
{
	const char hdr[] = "To: root, admin@example.com\nCc: root\n";
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 1);
	assert_int_equal(sendmail_rcpt_add(&r, "admin@example.com", 17,
	    HOST), 0);
	assert_int_equal(headers(&o, hdr, &out, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0], "admin@example.com");
	/* cron's "To: root": the host name completes it. */
	assert_string_equal(r.v[1], "root@" HOST);
	sendmail_rcpts_free(&r);
}

static void
test_missing_date_message_id_and_from_are_added(void **state)
{
	const char hdr[] = "To: a@example.com\r\nSubject: s\r\n";
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;
	char date[DATE_MAX], want[256];

	(void)state;
	opts_init(&o, 0);
	o.fullname = "Cron Daemon";
	assert_int_equal(headers(&o, hdr, &out, &r), 0);
	assert_int_equal(date_rfc5322(date, sizeof date, o.now), 0);
	snprintf(want, sizeof want, "To: a@example.com\nSubject: s\n"
	    "Date: %s\nMessage-ID: <1.2@" HOST ">\n"
	    "From: \"Cron Daemon\" <cron@" HOST ">\n", date);
	assert_string_equal(out.s, want);
}

static void
test_present_fields_are_not_added_again(void **state)
{
	const char hdr[] = "from: x@example.com\nDATE: Tue, 14 Nov 2023 "
	    "22:13:20 +0000\nmessage-id: <x@y>\n";
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 0);
	assert_int_equal(headers(&o, hdr, &out, &r), 0);
	assert_string_equal(out.s, hdr);
}

static void
test_a_message_without_header_gets_one(void **state)
{
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 0);
	assert_int_equal(headers(&o, "", &out, &r), 0);
	assert_true(strncmp(out.s, "Date: ", 6) == 0);
	assert_non_null(strstr(out.s, "\nFrom: cron@" HOST "\n"));
}

static void
test_an_address_field_that_does_not_parse_is_einval(void **state)
{
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;

	(void)state;
	opts_init(&o, 1);
	errno = 0;
	assert_int_equal(headers(&o, "To: <unclosed@example.com\n", &out, &r),
	    -1);
	assert_int_equal(errno, EINVAL);
	sendmail_rcpts_free(&r);
}

static void
test_a_header_over_the_output_bound_is_enobufs(void **state)
{
	struct sendmail_opts o;
	struct sendmail_rcpts r = { NULL, 0, 0 };
	struct str out;
	char small[64];

	(void)state;
	opts_init(&o, 0);
	str_init(&out, small, sizeof small);
	errno = 0;
	assert_int_equal(sendmail_headers(&o, "Subject: a subject that is "
	    "long\nX: y\n", 36, &out, &r), -1);
	assert_int_equal(errno, ENOBUFS);
}

static void
test_recipient_control_bytes_are_refused(void **state)
{
	struct sendmail_rcpts r = { NULL, 0, 0 };

	(void)state;
	errno = 0;
	assert_int_equal(sendmail_rcpt_add(&r, "a\n@b", 4, HOST), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sendmail_rcpt_add(&r, "\"x@y\"", 5, HOST), 0);
	assert_string_equal(r.v[0], "\"x@y\"@" HOST);
	sendmail_rcpts_free(&r);
}

/* The dot filter over chunks given as a NULL-terminated list. */
static void
dot_run(const char *const *chunks, char *out, size_t size, int *end)
{
	struct sendmail_dot d = { 0, 0 };
	char tmp[256];
	size_t n, o = 0;

	for (; *chunks != NULL; chunks++) {
		n = sendmail_dot(&d, *chunks, strlen(*chunks), tmp);
		assert_true(o + n < size);
		memcpy(out + o, tmp, n);
		o += n;
	}
	n = sendmail_dot_end(&d, tmp);
	memcpy(out + o, tmp, n);
	o += n;
	out[o] = '\0';
	*end = d.end;
}

static void
test_lone_dot_ends_the_body_across_chunks(void **state)
{
	const char *const a[] = { "one\n.", "\r", "\nlost\n", NULL };
	const char *const b[] = { "one\n..\n.x\n .\n", ".\r\r\n", NULL };
	const char *const c[] = { "last line\n.", NULL };
	const char *const d[] = { ".", "\n", NULL };
	char out[256];
	int end;

	(void)state;
	dot_run(a, out, sizeof out, &end);
	assert_string_equal(out, "one\n");
	assert_int_equal(end, 1);
	/* Only a line of exactly "." counts; nothing is unstuffed. */
	dot_run(b, out, sizeof out, &end);
	assert_string_equal(out, "one\n..\n.x\n .\n.\r\r\n");
	assert_int_equal(end, 0);
	/* A "." on the last line, its LF missing: the end all the same. */
	dot_run(c, out, sizeof out, &end);
	assert_string_equal(out, "last line\n");
	dot_run(d, out, sizeof out, &end);
	assert_string_equal(out, "");
	assert_int_equal(end, 1);
}

static void
test_display_names_are_quoted_or_encoded(void **state)
{
	struct str s;
	char mem[1024], name[SENDMAIL_FULLNAME_MAX + 1];
	const char *w, *e;
	int i;

	(void)state;
	str_init(&s, mem, sizeof mem);
	assert_int_equal(sendmail_phrase(&s, "Ann \"The\" O\\Brien"), 0);
	assert_string_equal(s.s, "\"Ann \\\"The\\\" O\\\\Brien\"");
	str_reset(&s);
	assert_int_equal(sendmail_phrase(&s, "J\xc3\xb6rg =?x"), 0);
	assert_string_equal(s.s, "=?UTF-8?Q?J=C3=B6rg_=3D=3Fx?=");
	/* A long name: several encoded-words, each at most 75 characters,
	 * never splitting a character. */
	for (i = 0; i + 2 <= SENDMAIL_FULLNAME_MAX; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	name[i] = '\0';
	str_reset(&s);
	assert_int_equal(sendmail_phrase(&s, name), 0);
	for (w = s.s; w != NULL; w = e == NULL ? NULL : e + 4) {
		assert_true(strncmp(w, "=?UTF-8?Q?", 10) == 0);
		e = strstr(w, "?=\n ");
		assert_true((e != NULL ? (size_t)(e - w) :
		    strlen(w) - 2) + 2 <= 75);
		assert_true(strncmp((e != NULL ? e : w + strlen(w) - 2) - 6,
		    "=C3=A9", 6) == 0);
	}
}

static void
test_message_ids_are_fresh(void **state)
{
	char a[SENDMAIL_MSGID_MAX], b[SENDMAIL_MSGID_MAX];

	(void)state;
	assert_int_equal(sendmail_msgid(a, sizeof a, HOST, 1700000000), 0);
	assert_int_equal(sendmail_msgid(b, sizeof b, HOST, 1700000000), 0);
	assert_true(strncmp(a, "<20231114221320.", 16) == 0);
	assert_non_null(strstr(a, "@" HOST ">"));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_ends_at_the_empty_line),
		cmocka_unit_test(test_split_waits_for_a_whole_line),
		cmocka_unit_test(test_split_resumes_as_the_buffer_grows),
		cmocka_unit_test(
		    test_split_of_a_message_without_header_starts_the_body),
		cmocka_unit_test(test_split_lone_dot_ends_input_unless_i),
		cmocka_unit_test(
		    test_t_takes_to_cc_and_folded_bcc_with_groups_and_names),
		cmocka_unit_test(test_bcc_is_removed_even_without_t),
		cmocka_unit_test(test_resent_bcc_is_removed_and_not_taken),
		cmocka_unit_test(
		    test_t_adds_to_command_line_recipients_without_duplicates),
		cmocka_unit_test(
		    test_missing_date_message_id_and_from_are_added),
		cmocka_unit_test(test_present_fields_are_not_added_again),
		cmocka_unit_test(test_a_message_without_header_gets_one),
		cmocka_unit_test(
		    test_an_address_field_that_does_not_parse_is_einval),
		cmocka_unit_test(test_a_header_over_the_output_bound_is_enobufs),
		cmocka_unit_test(test_recipient_control_bytes_are_refused),
		cmocka_unit_test(test_lone_dot_ends_the_body_across_chunks),
		cmocka_unit_test(test_display_names_are_quoted_or_encoded),
		cmocka_unit_test(test_message_ids_are_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
