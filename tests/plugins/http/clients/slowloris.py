#!/usr/bin/env python3
"""A slowloris client: N connections, each sending a request head one header line every
INTERVAL ms, never finishing it. Prints "all N cut after S s" once the server closed every
one (within 10 s), and exits 0; else exits 1.
Usage: slowloris.py PORT N INTERVAL_MS"""
import selectors
import socket
import sys
import time

port, count, interval = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0
start = time.monotonic()
socks = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /who HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    socks.append(s)
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)
open_socks = set(socks)
statuses = {}
while open_socks and time.monotonic() - start < 10:
    for key, _ in sel.select(timeout=interval):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        if data:
            statuses[s] = data.split(b" ")[1] if data.startswith(b"HTTP/1.1 ") else b"?"
            continue
        sel.unregister(s)
        open_socks.discard(s)
        s.close()
    for s in list(open_socks):
        try:
            s.send(b"X-Slow: 1\r\n")
        except OSError:
            pass
elapsed = time.monotonic() - start
if open_socks:
    print(f"{len(open_socks)} of {count} still open after {elapsed:.1f} s")
    sys.exit(1)
print(f"all {count} cut after {elapsed:.1f} s; statuses {sorted(set(v.decode() for v in statuses.values()))}")
