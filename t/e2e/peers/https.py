"""An HTTPS server for the MTA-STS tests: Python's http.server under ssl
with a certificate of the test CA, serving ROOT/HOST/.well-known/... by
the Host header (one server for every mta-sts.DOMAIN of the tests).

ROOT/HOST/redirect, when it exists, makes every answer for HOST a 301 to
its contents (smtp-out must not follow it).  Each request is logged on
stderr as "request HOST PATH" so that a test can count the fetches;
"listening ADDR:PORT" says that it is ready.  HTTP/1.0 answers, with a
Content-Length and Content-Type text/plain.
"""

import argparse
import http.server
import os
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    root = None

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        print(f"request {host} {self.path}", file=sys.stderr, flush=True)
        base = os.path.join(self.root, os.path.basename(host))
        redirect = os.path.join(base, "redirect")
        if os.path.exists(redirect):
            with open(redirect) as f:
                where = f.read().strip()
            self.send_response(301)
            self.send_header("Location", where)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = os.path.join(base, self.path.lstrip("/"))
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)     # ADDR:PORT
    ap.add_argument("--root", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    a = ap.parse_args()
    addr, _, port = a.listen.rpartition(":")
    Handler.root = a.root
    srv = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"listening {a.listen}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
