"""A scripted SMTP peer for the connection-reuse tests (test_reuse.py).

A small ESMTP server (PIPELINING, 8BITMIME, SMTPUTF8, SIZE; STARTTLS
with --cert/--key; AUTH PLAIN and LOGIN under TLS with --auth, offered, not required) that
numbers its connections and can misbehave on cue, so that a test can
count the connections a client opened and break one at a chosen point:

  --fault KIND:CONN:AFTER   on connection CONN (1, 2, ... or * for
                            every one), once AFTER messages went over it:
      421       answer the next command 421 and close
      drop      close at the next command, without a word
      stall     read the next command and never answer
      dropdata  close on the DATA of the next message, before the 354
      dropdot   take the next message whole, then close without
                answering it (nothing is stored)
  --max-rcpts N             452 4.5.3 to every RCPT past the N-th of a
                            transaction (RFC 5321 4.5.3.1.10)

It stores every accepted message as STORE/NNNNNN.eml (as received,
dot-stuffing undone) and STORE/NNNNNN.json (the envelope, the connection
number, its TLS version and AUTH login), the .json renamed into place
last, the same layout as peers/smtpd.py.  STORE/connections holds one
line per connection, written when it is accepted.  It prints "listening
ADDR:PORT" on stderr once bound and runs until SIGTERM.
"""

import argparse
import asyncio
import base64
import itertools
import json
import os
import signal
import ssl
import sys


class Peer:
    def __init__(self, args):
        self.args = args
        self.store = args.store
        os.makedirs(self.store, exist_ok=True)
        self.conns = itertools.count(1)
        self.msgs = itertools.count(1)
        self.faults = []
        for f in args.fault or []:
            kind, conn, after = f.split(":")
            self.faults.append((kind, conn, int(after)))
        self.ctx = None
        if args.cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.cert, args.key)

    def fault(self, conn, done, kinds):
        for kind, c, after in self.faults:
            if kind in kinds and (c == "*" or int(c) == conn) \
                    and after == done:
                return kind
        return None

    def save(self, meta, data):
        n = next(self.msgs)
        base = os.path.join(self.store, f"{n:06d}")
        with open(base + ".eml", "wb") as f:
            f.write(data)
        with open(base + ".tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".tmp", base + ".json")
        return n

    async def session(self, reader, writer):
        conn = next(self.conns)
        peer = writer.get_extra_info("peername")
        with open(os.path.join(self.store, "connections"), "a") as f:
            f.write(f"{conn} {peer[0]} {peer[1]}\n")
        try:
            await self.dialogue(conn, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError,
                ssl.SSLError):
            pass
        finally:
            writer.close()

    async def dialogue(self, conn, reader, writer):
        done = 0            # messages over this connection
        tls = auth = None
        mail, opts, rcpts = None, [], []
        fired = set()

        async def say(text):
            writer.write(text.encode() + b"\r\n")
            await writer.drain()

        await say("220 scripted.test ESMTP")
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            between = mail is None and verb not in ("QUIT",)
            kind = self.fault(conn, done, ("421", "drop", "stall")) \
                if between and done not in fired else None
            if kind is not None:
                fired.add(done)
                if kind == "421":
                    await say("421 4.4.2 scripted.test closing now")
                    return
                if kind == "drop":
                    return
                await asyncio.Event().wait()        # stall: forever
            if verb in ("EHLO", "HELO"):
                if verb == "HELO":
                    await say("250 scripted.test")
                    continue
                caps = ["PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 0"]
                if self.ctx is not None and tls is None:
                    caps.append("STARTTLS")
                if self.args.auth and tls is not None:
                    caps.append("AUTH PLAIN LOGIN")
                lines = ["scripted.test"] + caps
                for i, l in enumerate(lines):
                    sep = " " if i == len(lines) - 1 else "-"
                    writer.write(f"250{sep}{l}\r\n".encode())
                await writer.drain()
            elif verb == "STARTTLS" and self.ctx is not None:
                await say("220 2.0.0 go ahead")
                await writer.start_tls(self.ctx)
                tls = writer.get_extra_info("ssl_object").version()
            elif verb == "AUTH":
                auth = await self.login(cmd, reader, say)
                if auth is None:
                    await say("535 5.7.8 bad credentials")
                else:
                    await say("235 2.7.0 ok")
            elif verb == "MAIL":
                rest = cmd[10:]
                addr, _, o = rest.partition(">")
                mail, opts, rcpts = addr.lstrip("<"), o.split(), []
                await say("250 2.1.0 ok")
            elif verb == "RCPT":
                if mail is None:
                    await say("503 5.5.1 MAIL first")
                elif self.args.max_rcpts and \
                        len(rcpts) >= self.args.max_rcpts:
                    await say("452 4.5.3 too many recipients")
                else:
                    rcpts.append(cmd[8:].strip().strip("<>"))
                    await say("250 2.1.5 ok")
            elif verb == "DATA":
                if mail is None or not rcpts:
                    await say("554 5.5.1 no valid recipients")
                    continue
                kind = self.fault(conn, done, ("dropdata", "dropdot"))
                if kind == "dropdata":
                    return
                await say("354 go ahead")
                data = bytearray()
                while True:
                    l = await reader.readline()
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data += l
                if kind == "dropdot":
                    return
                meta = {"conn": conn, "mail_from": mail,
                        "mail_options": opts, "rcpt_tos": rcpts,
                        "tls": tls, "auth": auth, "peer": None}
                n = self.save(meta, bytes(data))
                done += 1
                mail, opts, rcpts = None, [], []
                await say(f"250 2.0.0 Ok: stored {n}")
            elif verb == "RSET":
                mail, opts, rcpts = None, [], []
                await say("250 2.0.0 ok")
            elif verb == "NOOP":
                await say("250 2.0.0 ok")
            elif verb == "QUIT":
                await say("221 2.0.0 bye")
                return
            else:
                await say("502 5.5.2 not implemented")

    async def login(self, cmd, reader, say):
        """AUTH PLAIN or LOGIN: the login if the password is right."""
        user, _, password = self.args.auth.partition(":")
        words = cmd.split()
        if len(words) >= 2 and words[1].upper() == "PLAIN":
            if len(words) == 3:
                raw = words[2]
            else:
                await say("334 ")
                raw = (await reader.readline()).decode().strip()
            parts = base64.b64decode(raw).split(b"\0")
            got = (parts[1].decode(), parts[2].decode()) \
                if len(parts) == 3 else ("", "")
        elif len(words) == 2 and words[1].upper() == "LOGIN":
            await say("334 VXNlcm5hbWU6")
            u = base64.b64decode((await reader.readline()).strip()).decode()
            await say("334 UGFzc3dvcmQ6")
            p = base64.b64decode((await reader.readline()).strip()).decode()
            got = (u, p)
        else:
            return None
        return got[0] if got == (user, password) else None


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth", help="USER:PASSWORD, offered under TLS")
    ap.add_argument("--fault", action="append")
    ap.add_argument("--max-rcpts", type=int, default=0)
    args = ap.parse_args()
    peer = Peer(args)
    host, _, port = args.listen.rpartition(":")
    server = await asyncio.start_server(peer.session, host.strip("[]"),
                                        int(port), reuse_address=True)
    print(f"listening {args.listen}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
