/* command_test.c — the SMTP command parser: verbs, arguments, MAIL FROM
 * and RCPT TO with every parameter, and the reply codes of each refusal. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtp-in/command.h"

static enum cmd_err
parse(const char *line, struct cmd *c)
{
	return cmd_parse(line, strlen(line), c);
}

static enum cmd_err
mail(const char *arg, int esmtp, uint64_t max, struct cmd_path *p)
{
	return cmd_parse_mail(arg, strlen(arg), esmtp, max, p);
}

static enum cmd_err
rcpt(const char *arg, int esmtp, int utf8, struct cmd_path *p)
{
	return cmd_parse_rcpt(arg, strlen(arg), esmtp, utf8, p);
}

/* The reply of an error starts with "CODE ENH". */
static void
assert_reply(enum cmd_err e, enum cmd_verb v, enum addr_err ae,
    const char *prefix)
{
	char buf[512];

	assert_int_equal(cmd_reply(e, v, ae, buf, sizeof(buf)), 0);
	if (strncmp(buf, prefix, strlen(prefix)) != 0)
		fail_msg("reply \"%s\" does not start with \"%s\"", buf, prefix);
}

static void
test_each_verb_is_recognized(void **state)
{
	static const struct {
		const char	*line;
		enum cmd_verb	 verb;
	} t[] = {
		{ "HELO a.example", CMD_HELO }, { "EHLO a.example", CMD_EHLO },
		{ "MAIL FROM:<>", CMD_MAIL }, { "RCPT TO:<a@b>", CMD_RCPT },
		{ "DATA", CMD_DATA }, { "RSET", CMD_RSET }, { "NOOP", CMD_NOOP },
		{ "NOOP anything", CMD_NOOP }, { "QUIT", CMD_QUIT },
		{ "VRFY bob", CMD_VRFY }, { "EXPN list", CMD_EXPN },
		{ "HELP", CMD_HELP }, { "HELP MAIL", CMD_HELP },
		{ "GET / HTTP/1.1", CMD_HTTP }, { "POST /x HTTP/1.0", CMD_HTTP },
		{ "HEAD /", CMD_HTTP }, { "PUT /", CMD_HTTP },
		{ "CONNECT a:25 HTTP/1.1", CMD_HTTP },
	};
	struct cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(parse(t[i].line, &c), CMD_OK);
		assert_int_equal(c.verb, t[i].verb);
	}
}

static void
test_verbs_are_case_insensitive(void **state)
{
	struct cmd c;

	(void)state;
	assert_int_equal(parse("quit", &c), CMD_OK);
	assert_int_equal(c.verb, CMD_QUIT);
	assert_int_equal(parse("eHlO x.example", &c), CMD_OK);
	assert_int_equal(c.verb, CMD_EHLO);
	assert_string_equal(c.name, "EHLO");
	assert_int_equal(parse("mail from:<a@b.example>", &c), CMD_OK);
	assert_int_equal(c.verb, CMD_MAIL);
}

static void
test_argument_is_split_and_trimmed(void **state)
{
	struct cmd c;

	(void)state;
	assert_int_equal(parse("EHLO client.example  ", &c), CMD_OK);
	assert_int_equal(c.arglen, strlen("client.example"));
	assert_memory_equal(c.arg, "client.example", c.arglen);
	assert_int_equal(parse("DATA ", &c), CMD_OK);
	assert_int_equal(c.arglen, 0);
}

static void
test_unknown_verb_is_500(void **state)
{
	struct cmd c;

	(void)state;
	assert_int_equal(parse("BOGUS x", &c), CMD_EUNKNOWN);
	assert_int_equal(c.verb, CMD_UNKNOWN);
	assert_string_equal(c.name, "BOGUS");
	assert_int_equal(parse("", &c), CMD_EUNKNOWN);
	assert_int_equal(parse("MAILFROM:<a@b>", &c), CMD_EUNKNOWN);
	assert_int_equal(parse("QUITX", &c), CMD_EUNKNOWN);
	assert_reply(CMD_EUNKNOWN, CMD_UNKNOWN, ADDR_OK, "500 5.5.2 ");
}

static void
test_argument_where_none_is_taken_is_501(void **state)
{
	struct cmd c;

	(void)state;
	assert_int_equal(parse("QUIT now", &c), CMD_EARGS);
	assert_int_equal(c.verb, CMD_QUIT);
	assert_int_equal(parse("DATA x", &c), CMD_EARGS);
	assert_int_equal(parse("RSET x", &c), CMD_EARGS);
	assert_reply(CMD_EARGS, CMD_QUIT, ADDR_OK, "501 5.5.4 ");
}

static void
test_missing_argument_is_501(void **state)
{
	struct cmd c;

	(void)state;
	assert_int_equal(parse("HELO", &c), CMD_EARGS);
	assert_int_equal(parse("EHLO ", &c), CMD_EARGS);
	assert_int_equal(parse("MAIL", &c), CMD_EARGS);
	assert_int_equal(parse("RCPT", &c), CMD_EARGS);
	assert_int_equal(parse("VRFY", &c), CMD_EARGS);
	assert_reply(CMD_EARGS, CMD_EHLO, ADDR_OK, "501 5.5.4 ");
}

static void
test_mail_from_forms(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<bob@remote.example>", 1, 0, &p), CMD_OK);
	assert_string_equal(p.addr.local, "bob");
	assert_string_equal(p.addr.domain, "remote.example");
	assert_int_equal(mail("from:<bob@remote.example>", 0, 0, &p), CMD_OK);
	/* One space after the colon, as Postfix accepts. */
	assert_int_equal(mail("FROM: <bob@remote.example>", 1, 0, &p), CMD_OK);
	assert_string_equal(p.addr.local, "bob");
	assert_int_equal(mail("FROM:<>", 1, 0, &p), CMD_OK);
	assert_true(p.addr.null);
}

static void
test_mail_syntax_errors(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("TO:<bob@remote.example>", 1, 0, &p),
	    CMD_ESYNTAX);
	assert_int_equal(mail("FROM <bob@remote.example>", 1, 0, &p),
	    CMD_ESYNTAX);
	assert_reply(CMD_ESYNTAX, CMD_MAIL, ADDR_OK, "501 5.5.4 ");
	assert_int_equal(mail("FROM:bob@remote.example", 1, 0, &p), CMD_EPATH);
	assert_int_equal(mail("FROM:<bob@remote.example", 1, 0, &p),
	    CMD_EPATH);
	assert_int_equal(mail("FROM:<bob@remote.example>x", 1, 0, &p),
	    CMD_EPATH);
	assert_reply(CMD_EPATH, CMD_MAIL, p.aerr, "553 5.1.7 ");
}

static void
test_mail_size_parameter(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.example> SIZE=1000", 1, 1000, &p),
	    CMD_OK);
	assert_int_equal(p.size, 1000);
	assert_int_equal(mail("FROM:<a@b.example> size=1001", 1, 1000, &p),
	    CMD_ESIZE);
	assert_reply(CMD_ESIZE, CMD_MAIL, ADDR_OK, "552 5.3.4 ");
	assert_int_equal(mail("FROM:<a@b.example> SIZE=12x", 1, 1000, &p),
	    CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> SIZE=", 1, 1000, &p),
	    CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> SIZE", 1, 1000, &p),
	    CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> SIZE=99999999999999999999999",
	    1, 0, &p), CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> SIZE=1 SIZE=2", 1, 1000, &p),
	    CMD_EPARAMVAL);
	assert_reply(CMD_EPARAMVAL, CMD_MAIL, ADDR_OK, "501 5.5.4 ");
}

static void
test_mail_body_parameter(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.example> BODY=8BITMIME", 1, 0, &p),
	    CMD_OK);
	assert_int_equal(p.body, CMD_BODY_8BITMIME);
	assert_int_equal(mail("FROM:<a@b.example> body=7bit", 1, 0, &p),
	    CMD_OK);
	assert_int_equal(p.body, CMD_BODY_7BIT);
	assert_int_equal(mail("FROM:<a@b.example> BODY=BINARYMIME", 1, 0, &p),
	    CMD_EPARAMVAL);
}

static void
test_mail_smtputf8_parameter(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>"
	    " SMTPUTF8 BODY=8BITMIME", 1, 0, &p), CMD_OK);
	assert_true(p.smtputf8);
	assert_true(p.addr.utf8);
	assert_int_equal(mail("FROM:<j\xc3\xb6rg@b.example>", 1, 0, &p),
	    CMD_EPATH);
	assert_int_equal(p.aerr, ADDR_E8BIT);
	assert_reply(CMD_EPATH, CMD_MAIL, p.aerr, "553 5.6.7 ");
	assert_int_equal(mail("FROM:<a@b.example> SMTPUTF8=yes", 1, 0, &p),
	    CMD_EPARAMVAL);
}

static void
test_mail_auth_parameter_is_ignored(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.example> AUTH=<>", 1, 0, &p), CMD_OK);
	assert_int_equal(mail("FROM:<a@b.example> AUTH=a+40b.example", 1, 0,
	    &p), CMD_OK);
	assert_int_equal(mail("FROM:<a@b.example> AUTH=", 1, 0, &p),
	    CMD_EPARAMVAL);
}

static void
test_unknown_parameter_is_555(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.example> MT-PRIORITY=3", 1, 0, &p),
	    CMD_EPARAM);
	assert_reply(CMD_EPARAM, CMD_MAIL, ADDR_OK, "555 5.5.4 ");
	assert_int_equal(rcpt("TO:<a@b.example> RRVS=2026-01-01", 1, 0, &p),
	    CMD_EPARAM);
	assert_reply(CMD_EPARAM, CMD_RCPT, ADDR_OK, "555 5.5.4 ");
	/* DSN's parameters where they belong, not elsewhere. */
	assert_int_equal(mail("FROM:<a@b.example> NOTIFY=NEVER", 1, 0, &p),
	    CMD_EPARAM);
	assert_int_equal(rcpt("TO:<a@b.example> RET=HDRS", 1, 0, &p),
	    CMD_EPARAM);
}

/* RFC 3461: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT, xtext
 * decoded, each once, bad values 501. */
static void
test_dsn_parameters(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.example> RET=hdrs ENVID=QQ+2B1 "
	    "SIZE=10", 1, 0, &p), CMD_OK);
	assert_int_equal(p.ret, DSN_RET_HDRS);
	assert_string_equal(p.envid, "QQ+1");
	assert_int_equal(p.size, 10);
	assert_int_equal(rcpt("TO:<a@b.example> NOTIFY=SUCCESS,DELAY "
	    "ORCPT=rfc822;x+2By@c.example", 1, 0, &p), CMD_OK);
	assert_int_equal(p.notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY);
	assert_string_equal(p.orcpt, "rfc822;x+y@c.example");
	assert_int_equal(rcpt("TO:<a@b.example>", 1, 0, &p), CMD_OK);
	assert_int_equal(p.notify, 0);
	assert_string_equal(p.orcpt, "");
	/* Bad or repeated: 501. */
	assert_int_equal(mail("FROM:<a@b.example> RET=BODY", 1, 0, &p),
	    CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> RET=FULL RET=HDRS", 1, 0,
	    &p), CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> ENVID=a+2", 1, 0, &p),
	    CMD_EPARAMVAL);
	assert_int_equal(mail("FROM:<a@b.example> ENVID", 1, 0, &p),
	    CMD_EPARAMVAL);
	assert_int_equal(rcpt("TO:<a@b.example> NOTIFY=NEVER,DELAY", 1, 0,
	    &p), CMD_EPARAMVAL);
	assert_int_equal(rcpt("TO:<a@b.example> NOTIFY=DELAY NOTIFY=DELAY", 1,
	    0, &p), CMD_EPARAMVAL);
	assert_int_equal(rcpt("TO:<a@b.example> ORCPT=bob@c.example", 1, 0,
	    &p), CMD_EPARAMVAL);
	assert_reply(CMD_EPARAMVAL, CMD_RCPT, ADDR_OK, "501 5.5.4 ");
	/* After HELO, none. */
	assert_int_equal(rcpt("TO:<a@b.example> NOTIFY=NEVER", 0, 0, &p),
	    CMD_ENOESMTP);
}

static void
test_parameters_need_ehlo(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(mail("FROM:<a@b.example> SIZE=10", 0, 0, &p),
	    CMD_ENOESMTP);
	assert_int_equal(rcpt("TO:<a@b.example> X=1", 0, 0, &p), CMD_ENOESMTP);
	assert_reply(CMD_ENOESMTP, CMD_MAIL, ADDR_OK, "555 5.5.4 ");
}

static void
test_rcpt_forms(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(rcpt("TO:<alice@example.com>", 1, 0, &p), CMD_OK);
	assert_string_equal(p.addr.local, "alice");
	assert_int_equal(rcpt("to: <alice@example.com>", 0, 0, &p), CMD_OK);
	assert_int_equal(rcpt("TO:<Postmaster>", 1, 0, &p), CMD_OK);
	assert_string_equal(p.addr.domain, "");
	assert_int_equal(rcpt("FROM:<alice@example.com>", 1, 0, &p),
	    CMD_ESYNTAX);
	assert_reply(CMD_ESYNTAX, CMD_RCPT, ADDR_OK, "501 5.5.4 ");
}

static void
test_rcpt_address_errors_are_553_513(void **state)
{
	struct cmd_path p;

	(void)state;
	assert_int_equal(rcpt("TO:<>", 1, 0, &p), CMD_EPATH);
	assert_reply(CMD_EPATH, CMD_RCPT, p.aerr, "553 5.1.3 ");
	assert_int_equal(rcpt("TO:<a b@example.com>", 1, 0, &p), CMD_EPATH);
	assert_reply(CMD_EPATH, CMD_RCPT, p.aerr, "553 5.1.3 ");
	assert_int_equal(rcpt("TO:<\xc3\xa4@example.com>", 1, 0, &p),
	    CMD_EPATH);
	assert_reply(CMD_EPATH, CMD_RCPT, p.aerr, "553 5.6.7 ");
	assert_int_equal(rcpt("TO:<\xc3\xa4@example.com>", 1, 1, &p), CMD_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_verb_is_recognized),
		cmocka_unit_test(test_verbs_are_case_insensitive),
		cmocka_unit_test(test_argument_is_split_and_trimmed),
		cmocka_unit_test(test_unknown_verb_is_500),
		cmocka_unit_test(test_argument_where_none_is_taken_is_501),
		cmocka_unit_test(test_missing_argument_is_501),
		cmocka_unit_test(test_mail_from_forms),
		cmocka_unit_test(test_mail_syntax_errors),
		cmocka_unit_test(test_mail_size_parameter),
		cmocka_unit_test(test_mail_body_parameter),
		cmocka_unit_test(test_mail_smtputf8_parameter),
		cmocka_unit_test(test_mail_auth_parameter_is_ignored),
		cmocka_unit_test(test_unknown_parameter_is_555),
		cmocka_unit_test(test_dsn_parameters),
		cmocka_unit_test(test_parameters_need_ehlo),
		cmocka_unit_test(test_rcpt_forms),
		cmocka_unit_test(test_rcpt_address_errors_are_553_513),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
