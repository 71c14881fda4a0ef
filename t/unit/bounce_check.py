#!/usr/bin/python3
"""bounce_check.py — read a DSN that bounce_send() queued the way a mail
client would, with Python's email package, and check it against what the
cmocka test (t/unit/bounce_test.c) expects.  Exit status 0 when every
check holds; 1 with the failed checks on stderr otherwise.

usage: bounce_check.py QUEUEFILE --to ADDR --host HOST --id NEWID
           --orig-id ID --arrival EPOCH
           [--rcpt ORIG FINAL STATUS DIAGTYPE DIAG REMOTE]...
           [--double] [--global] [--global-headers]
           [--header-has S]... [--header-lacks S]... [--lacks S]...
           [--header-max N] [--header-line-re RE] [--text-has S]...
           [--kind failure|delay|success] [--envid ENVID]
ORIG or REMOTE "-": the field must be absent; DIAG "-": no Diagnostic-Code.
"""

import argparse
import email
import email.policy
import email.utils
import re
import sys

LINE_MAX = 998          # RFC 5322 §2.1.1

failures = []
RCPT_FIELDS = {"original-recipient", "final-recipient", "action", "status",
               "remote-mta", "diagnostic-code", "last-attempt-date",
               "will-retry-until"}
SUBJECT = {"failure": "Undelivered Mail Returned to Sender",
           "delay": "Delayed Mail (still being retried)",
           "success": "Successful Mail Delivery Report"}
ACTION = {"failure": "failed", "delay": "delayed", "success": "delivered"}


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def u(s):
    """Raw UTF-8 in a header comes back from email as surrogates."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8")


def fields(block):
    """A status block as {name-lowercased: [values]}."""
    out = {}
    for k, v in block.items():
        out.setdefault(k.lower(), []).append(str(v))
    return out


def one(f, name, where):
    v = f.get(name.lower(), [])
    check(len(v) == 1, f"{where}: {name} present once, got {v!r}")
    return v[0] if v else None


def status_blocks(part, is_global):
    """Per-message fields, then the per-recipient blocks, as dicts."""
    payload = part.get_payload()
    if not is_global:
        # email parses message/delivery-status into one Message per block.
        return [fields(b) for b in payload]
    # message/global-delivery-status is not special to email: it comes
    # as one message whose header is the per-message block and whose
    # body holds the recipient blocks (RFC 6533 §3, UTF-8 allowed).
    sub = payload[0]
    blocks = [fields(sub)]
    rest = sub.get_payload(decode=True).decode("utf-8")
    for text in re.split(r"\n\s*\n", rest.strip("\n")):
        if text.strip():
            blocks.append(fields(email.message_from_string(text + "\n")))
    return blocks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--to", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--orig-id", required=True)
    ap.add_argument("--arrival", type=int, required=True)
    ap.add_argument("--rcpt", nargs=6, action="append", default=[])
    ap.add_argument("--double", action="store_true")
    ap.add_argument("--global", dest="is_global", action="store_true")
    ap.add_argument("--global-headers", action="store_true")
    ap.add_argument("--header-has", action="append", default=[])
    ap.add_argument("--header-lacks", action="append", default=[])
    ap.add_argument("--lacks", action="append", default=[])
    ap.add_argument("--header-max", type=int)
    ap.add_argument("--header-line-re")
    ap.add_argument("--text-has", action="append", default=[])
    ap.add_argument("--kind", choices=sorted(SUBJECT), default="failure")
    ap.add_argument("--envid")
    a = ap.parse_args()

    with open(a.file, "rb") as f:
        raw = f.read()
    for i, line in enumerate(raw.split(b"\n")):
        check(len(line) <= LINE_MAX, f"line {i + 1} is {len(line)} bytes")
        check(b"\r" not in line and b"\0" not in line,
              f"line {i + 1} holds a CR or NUL")
    env, sep, body = raw.partition(b"\n\n")
    check(sep == b"\n\n", "no envelope end")
    for s in a.lacks:
        check(s.encode() not in body, f"the DSN holds {s!r}")

    msg = email.message_from_bytes(body, policy=email.policy.default)
    check(not msg.defects, f"defects: {msg.defects}")
    check(f"MAILER-DAEMON@{a.host}" in str(msg["From"]),
          f"From: {msg['From']}")
    check(u(msg["To"].addresses[0].addr_spec) == a.to and
          str(msg["To"].addresses[0].display_name) == "",
          f"To: {msg['To']}")
    subject = ("Undelivered Mail: postmaster copy" if a.double
               else SUBJECT[a.kind])
    check(str(msg["Subject"]) == subject, f"Subject: {msg['Subject']}")
    check(str(msg["Message-ID"]) == f"<{a.id}@{a.host}>",
          f"Message-ID: {msg['Message-ID']}")
    check(str(msg["Auto-Submitted"]) == "auto-replied",
          f"Auto-Submitted: {msg['Auto-Submitted']}")
    check(str(msg["MIME-Version"]) == "1.0", "MIME-Version")
    check(email.utils.parsedate_to_datetime(str(msg["Date"])) is not None,
          "Date")

    check(msg.get_content_type() == "multipart/report",
          f"type {msg.get_content_type()}")
    check(msg.get_param("report-type") == "delivery-status",
          f"report-type {msg.get_param('report-type')}")
    parts = msg.get_payload()
    if not check(isinstance(parts, list) and len(parts) == 3,
                 f"{len(parts) if isinstance(parts, list) else 0} parts"):
        return report()
    text, status, headers = parts

    check(text.get_content_type() == "text/plain", "part 1 type")
    check(text.get_content_charset() == "utf-8", "part 1 charset")
    human = text.get_content()
    for s in a.text_has:
        check(s in human, f"part 1 lacks {s!r}")

    want = ("message/global-delivery-status" if a.is_global
            else "message/delivery-status")
    check(status.get_content_type() == want,
          f"part 2 type {status.get_content_type()}")
    blocks = status_blocks(status, a.is_global)
    per_msg = blocks[0]
    check(one(per_msg, "Reporting-MTA", "per-message") == f"dns; {a.host}",
          "Reporting-MTA")
    check(one(per_msg, "X-Posthorn-Queue-ID", "per-message") == a.orig_id,
          "X-Posthorn-Queue-ID")
    if a.envid is None:
        check("original-envelope-id" not in per_msg, "Original-Envelope-Id")
    else:
        check(one(per_msg, "Original-Envelope-Id", "per-message") ==
              a.envid, f"Original-Envelope-Id {per_msg}")
    arr = one(per_msg, "Arrival-Date", "per-message")
    check(arr is not None and
          email.utils.parsedate_to_datetime(arr).timestamp() == a.arrival,
          f"Arrival-Date {arr!r} is not {a.arrival}")
    check(len(blocks) - 1 == len(a.rcpt),
          f"{len(blocks) - 1} recipient blocks, want {len(a.rcpt)}")
    for i, (orig, final, st, dtype, diag, remote) in enumerate(a.rcpt):
        if i + 1 >= len(blocks):
            break
        b, w = blocks[i + 1], f"recipient {i + 1}"
        check(set(b) <= RCPT_FIELDS,
              f"{w}: stray fields {set(b) - RCPT_FIELDS}")

        def addr(x):
            kind = "rfc822" if x.isascii() else "utf-8"
            return f"{kind};{x}"
        check(one(b, "Final-Recipient", w) == addr(final),
              f"{w}: Final-Recipient {b.get('final-recipient')}")
        if orig == "-":
            check("original-recipient" not in b,
                  f"{w}: Original-Recipient present")
        else:
            check(one(b, "Original-Recipient", w) == addr(orig),
                  f"{w}: Original-Recipient {b.get('original-recipient')}")
        check(one(b, "Action", w) == ACTION[a.kind], f"{w}: Action")
        retry = b.get("will-retry-until")
        check((retry is not None) == (a.kind == "delay"),
              f"{w}: Will-Retry-Until {retry!r}")
        check(one(b, "Status", w) == st,
              f"{w}: Status {b.get('status')}, want {st}")
        if diag == "-":
            check("diagnostic-code" not in b, f"{w}: Diagnostic-Code")
        else:
            check(one(b, "Diagnostic-Code", w) == f"{dtype}; {diag}",
                  f"{w}: Diagnostic-Code {b.get('diagnostic-code')!r}")
            # The human part keeps the UTF-8 that an ASCII report
            # replaces by "?"; --text-has checks it there.
            check("?" in diag or diag in human,
                  f"part 1 lacks the reason {diag!r}")
        if remote == "-":
            check("remote-mta" not in b, f"{w}: Remote-MTA present")
        else:
            check(one(b, "Remote-MTA", w) == f"dns; {remote}",
                  f"{w}: Remote-MTA {b.get('remote-mta')}")
        last = one(b, "Last-Attempt-Date", w)
        check(last is not None and
              email.utils.parsedate_to_datetime(last) is not None,
              f"{w}: Last-Attempt-Date")
        check(final in human, f"part 1 lacks {final!r}")

    want = ("message/global-headers" if a.global_headers
            else "text/rfc822-headers")
    check(headers.get_content_type() == want,
          f"part 3 type {headers.get_content_type()}")
    if a.global_headers:
        sub = headers.get_payload()[0]
        quoted = "".join(f"{k}: {v}\n" for k, v in sub.items()).encode()
    else:
        quoted = headers.get_payload(decode=True)
    for s in a.header_has:
        check(s.encode() in quoted, f"part 3 lacks {s!r}")
    for s in a.header_lacks:
        check(s.encode() not in quoted, f"part 3 holds {s!r}")
    if a.header_max is not None:
        check(len(quoted) <= a.header_max,
              f"part 3 is {len(quoted)} bytes, over {a.header_max}")
        check(quoted.endswith(b"\n"), "part 3 does not end a line")
    if a.header_line_re is not None:
        r = re.compile(a.header_line_re.encode())
        for line in quoted.split(b"\n"):
            if line:
                check(r.fullmatch(line), f"part 3 line {line[:60]!r}...")
    return report()


def report():
    for f in failures:
        print(f"bounce_check: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
