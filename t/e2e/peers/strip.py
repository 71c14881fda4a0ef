"""A STARTTLS-stripping man in the middle for the MTA-STS tests: listens
on --listen, connects each client to --to, and passes the bytes both
ways, except that in the server's replies the word STARTTLS becomes
XXXXXXXA (what middleboxes that strip it do), so the client sees a
server without STARTTLS.  "listening ADDR:PORT" on stderr when ready,
"stripped" each time it removed the word, "session" per connection.
"""

import argparse
import asyncio
import sys


async def pump(reader, writer, strip):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if strip and b"STARTTLS" in line.upper():
                line = line.replace(b"STARTTLS", b"XXXXXXXA")
                print("stripped", file=sys.stderr, flush=True)
            writer.write(line)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--to", required=True)
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    thost, _, tport = a.to.rpartition(":")

    async def handle(creader, cwriter):
        print("session", file=sys.stderr, flush=True)
        sreader, swriter = await asyncio.open_connection(thost, int(tport))
        await asyncio.gather(pump(sreader, cwriter, True),
                             pump(creader, swriter, False))

    srv = await asyncio.start_server(handle, host, int(port))
    print(f"listening {a.listen}", file=sys.stderr, flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
