"""A receiving SMTP peer for posthorn's remote-delivery tests.

python3-aiosmtpd on the addresses given, storing every accepted message
in a directory so that a test can read what arrived and how:

    STORE/NNNNNN.eml    the message exactly as received (dot-stuffing
                        undone, line endings untouched: a bare CR or LF
                        that reached the wire is still there)
    STORE/NNNNNN.json   the envelope and the session: peer address,
                        HELO/EHLO name, MAIL FROM and its options, RCPT
                        TOs, TLS version and cipher (or null), the AUTH
                        login (or null)

The .json is renamed into place last, so a reader that lists *.json sees
only complete messages.  With --cert/--key it offers STARTTLS; with
--auth USER:PASS it requires AUTH (PLAIN or LOGIN, after STARTTLS only)
before MAIL, the way a submission server does.  --rcpt-reply CODE:TEXT
answers every RCPT with that reply (for a 4xx/5xx with our own words);
without it, a recipient whose local part starts with "soft-" gets
SOFT_REPLY and one starting with "hard-" gets HARD_REPLY, so that one
transaction can mix results.  --no-smtputf8 leaves SMTPUTF8 out of EHLO.
--dsn offers DSN (RFC 3461), which aiosmtpd lacks, and keeps the RET and
ENVID of MAIL and the NOTIFY and ORCPT of each RCPT (as sent) in the
.json, as "dsn_mail" and "dsn_rcpt".

It prints "listening ADDR:PORT" on stderr for every socket once bound and
runs until SIGTERM or SIGINT.
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

SOFT_REPLY = "452 4.2.2 mailbox full, try later"
HARD_REPLY = "550 5.1.1 no such mailbox here"


def parse_listen(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class Store:
    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        existing = [int(n[:6]) for n in os.listdir(path)
                    if n.endswith(".json") and n[:6].isdigit()]
        self.seq = itertools.count(max(existing, default=0) + 1)

    def save(self, meta, data):
        n = next(self.seq)
        base = os.path.join(self.path, f"{n:06d}")
        with open(base + ".eml", "wb") as f:
            f.write(data)
        with open(base + ".tmp", "w") as f:
            json.dump(meta, f, indent=1)
        os.rename(base + ".tmp", base + ".json")


class Handler:
    def __init__(self, store, rcpt_reply):
        self.store = store
        self.rcpt_reply = rcpt_reply

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        local = address.rpartition("@")[0].lower()
        if local.startswith("soft-"):
            return SOFT_REPLY
        if local.startswith("hard-"):
            return HARD_REPLY
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        tls = None
        if session.ssl:
            obj = session.ssl.get("ssl_object")
            if obj is not None:
                tls = {"version": obj.version(), "cipher": obj.cipher()[0]}
        auth = None
        if session.authenticated and isinstance(session.auth_data,
                                                LoginPassword):
            auth = session.auth_data.login.decode("utf-8", "replace")
        meta = {
            "peer": list(session.peer[:2]),
            "helo": session.host_name,
            "esmtp": session.extended_smtp,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "dsn_mail": getattr(session, "dsn_mail", []),
            "dsn_rcpt": getattr(session, "dsn_rcpt", []),
            "tls": tls,
            "auth": auth,
        }
        self.store.save(meta, envelope.original_content)
        return "250 2.0.0 Ok: stored"


class DsnHandler(Handler):
    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        return responses[:-1] + ["250-DSN", responses[-1]]


class DsnSMTP(SMTP):
    """aiosmtpd refuses parameters it does not know (555): RFC 3461's
    are taken off each MAIL and RCPT line and kept in the session."""

    @staticmethod
    def split(arg, names):
        keep, dsn = [], []
        for w in arg.split(" "):
            (dsn if w.split("=", 1)[0].upper() in names else keep).append(w)
        return " ".join(keep), dsn

    async def smtp_MAIL(self, arg):
        if arg:
            arg, self.session.dsn_mail = self.split(arg, ("RET", "ENVID"))
            self.session.dsn_rcpt = []
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        if arg:
            arg, dsn = self.split(arg, ("NOTIFY", "ORCPT"))
            self.session.dsn_rcpt = getattr(self.session, "dsn_rcpt",
                                            []) + [dsn]
        await super().smtp_RCPT(arg)


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, auth_data=auth_data if ok else None)
    return check


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--hostname", default="peer.test")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--rcpt-reply")
    ap.add_argument("--no-smtputf8", action="store_true")
    ap.add_argument("--dsn", action="store_true")
    args = ap.parse_args()

    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    kw = {}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kw = dict(authenticator=authenticator(user, password),
                  auth_required=True, auth_require_tls=True)
    reply = None
    if args.rcpt_reply:
        code, _, text = args.rcpt_reply.partition(":")
        reply = f"{code} {text}"
    handler = (DsnHandler if args.dsn else Handler)(Store(args.store), reply)
    server = DsnSMTP if args.dsn else SMTP

    def factory():
        return server(handler, hostname=args.hostname, tls_context=ctx,
                    require_starttls=False, data_size_limit=None,
                    enable_SMTPUTF8=not args.no_smtputf8, **kw)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    servers = []
    for spec in args.listen:
        host, port = parse_listen(spec)
        servers.append(await loop.create_server(factory, host=host,
                                                port=port, reuse_address=True))
        print(f"listening {spec}", file=sys.stderr, flush=True)
    await stop.wait()
    for s in servers:
        s.close()
        await s.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
