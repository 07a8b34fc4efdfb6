#!/usr/bin/env python3
"""http-idle.py PORT N [PATH]: opens N keep-alive connections to 127.0.0.1:PORT, sends one
GET PATH (default /plain) on each and reads its response, then keeps them all open and idle.
Prints "ready N" once every connection had its response, then waits until stdin closes (or
the process is killed), and closes them. For tests/perf/http.sh's memory-per-connection
measurement: the server's RSS is read while this waits."""
import selectors
import socket
import sys

port, count = int(sys.argv[1]), int(sys.argv[2])
path = sys.argv[3] if len(sys.argv) > 3 else "/plain"
request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
socks = []
batch = 200  # connect and ask in batches, so the listen backlog never overflows
for start in range(0, count, batch):
    sel = selectors.DefaultSelector()
    waiting = {}
    for _ in range(min(batch, count - start)):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        waiting[s] = b""
        socks.append(s)
    while waiting:
        for key, _ in sel.select(timeout=10):
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                sys.exit(f"connection closed before its response ({len(socks)} open)")
            waiting[s] += data
            head, sep, body = waiting[s].partition(b"\r\n\r\n")
            if sep and len(body) >= int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]):
                sel.unregister(s)
                del waiting[s]
    sel.close()
print(f"ready {len(socks)}", flush=True)
sys.stdin.read()
for s in socks:
    s.close()
