"""A DNS server that answers every query with SERVFAIL (RFC 1035 RCODE 2).

dnsmasq forwards the test's "temporary DNS failure" zone here, so that a
resolver inside the test namespace gets a real SERVFAIL at once instead
of a timeout.  Usage: servfail.py ADDR PORT; prints "listening" on stderr
once bound; runs until killed.  UDP and TCP.
"""

import socket
import struct
import sys
import threading


def answer(query):
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    # Echo the question; QR=1, opcode and RD kept, RA=1, RCODE=2.
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | 2
    return struct.pack("!HHHHHH", ident, flags, qdcount, 0, 0, 0) + query[12:]


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        with conn:
            try:
                conn.settimeout(5)
                head = conn.recv(2)
                if len(head) < 2:
                    continue
                (n,) = struct.unpack("!H", head)
                q = b""
                while len(q) < n:
                    chunk = conn.recv(n - len(q))
                    if not chunk:
                        break
                    q += chunk
                r = answer(q)
                if r:
                    conn.sendall(struct.pack("!H", len(r)) + r)
            except OSError:
                pass


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, port))
    tcp.listen(16)
    threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
    print("listening", file=sys.stderr, flush=True)
    while True:
        q, peer = udp.recvfrom(4096)
        r = answer(q)
        if r:
            udp.sendto(r, peer)


if __name__ == "__main__":
    main()
