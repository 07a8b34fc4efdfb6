#!/usr/bin/env python3
"""fs-slow-readers.py PORT PATH COUNT SECONDS RATE: COUNT concurrent downloads of PATH from
127.0.0.1:PORT by slow readers, for tests/perf/fs.sh's backpressure measurement.

Every connection (receive buffer capped at 64 KiB, so the kernel holds little on our side)
sends one GET and then reads at most RATE bytes a second, in ten slices a second, for
SECONDS after the last one connected: the server has far more to send than the clients
take, so whatever it does not hold back piles up in its memory. Prints "ready COUNT" once
every connection has its response head (status 200 and a Content-Length, checked), then at
the end "done COUNT_OK BYTES_READ COUNT_CLOSED_EARLY" and closes them all. Exits 1 when a
response is not a 200 or the server closes a connection before the end."""
import selectors
import socket
import sys
import time

port, path, count, seconds, rate = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                     float(sys.argv[4]), int(sys.argv[5]))
request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
deadline = time.monotonic() + 60  # connecting and the response heads


class Download:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(request)
        self.sock.setblocking(False)
        self.head = b""
        self.status = None
        self.body = 0
        self.closed = False

    def read(self, limit):
        """Reads up to `limit` bytes without blocking; returns how many."""
        got = 0
        while got < limit:
            try:
                data = self.sock.recv(min(65536, limit - got))
            except BlockingIOError:
                break
            except ConnectionError:
                data = b""
            if not data:
                self.closed = True
                break
            got += len(data)
            if self.status is None:
                self.head += data
                end = self.head.find(b"\r\n\r\n")
                if end >= 0:
                    lines = self.head[:end].decode("latin-1").split("\r\n")
                    self.status = int(lines[0].split()[1])
                    length = [l for l in lines if l.lower().startswith("content-length:")]
                    if not length:
                        self.status = -1
                    self.body = len(self.head) - end - 4
                    self.head = b""
            else:
                self.body += len(data)
        return got


downloads = []
batch = 100  # connect in batches, so the listen backlog never overflows
sel = selectors.DefaultSelector()
for start in range(0, count, batch):
    for _ in range(min(batch, count - start)):
        d = Download()
        downloads.append(d)
        sel.register(d.sock, selectors.EVENT_READ, d)
    # Each new connection's response head (and the first slice of body) before the next batch.
    while any(d.status is None and not d.closed for d in downloads):
        if time.monotonic() > deadline:
            sys.exit("fs-slow-readers: no response head on some connections after 60 s")
        for key, _ in sel.select(timeout=1):
            d = key.data
            d.read(max(1, rate // 10))
            if d.status is not None or d.closed:
                sel.unregister(d.sock)
bad = [d for d in downloads if d.status != 200 or d.closed]
if bad:
    sys.exit(f"fs-slow-readers: {len(bad)} of {count} downloads failed "
             f"(statuses {sorted({d.status for d in bad}, key=str)}, closed {sum(d.closed for d in bad)})")
print(f"ready {count}", flush=True)

tick = 0.1
end = time.monotonic() + seconds
next_tick = time.monotonic()
while time.monotonic() < end:
    for d in downloads:
        if not d.closed:
            d.read(int(rate * tick))
    next_tick += tick
    pause = next_tick - time.monotonic()
    if pause > 0:
        time.sleep(pause)

total = sum(d.body for d in downloads)
closed = sum(d.closed for d in downloads)
ok = sum(1 for d in downloads if d.status == 200 and not d.closed)
print(f"done {ok} {total} {closed}", flush=True)
for d in downloads:
    d.sock.close()
sys.exit(1 if closed else 0)
