#!/usr/bin/env python3
"""Keep-alive load on /who and /slow from C threads until the server stops listening.
A request is failed when it was sent on a fresh connection and got no complete response,
or got part of a response, or a status other than 200. A request sent on a reused
connection that the server closed before answering (it was idle when the stop began) is
retried on a new connection, as HTTP clients do. A refused connection ends the thread.
Prints "running" once the first responses came, then "requests N failed F".
Usage: load.py PORT C"""
import socket
import sys
import threading

port, count = int(sys.argv[1]), int(sys.argv[2])
lock = threading.Lock()
totals = {"requests": 0, "failed": 0}
started = threading.Event()


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return None if not data else ("partial", data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            return ("partial", data)
        body += chunk
    status = int(head.split(b" ")[1])
    return (status, head.lower())


def worker(n):
    s, reused, i = None, False, 0
    while True:
        if s is None:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError:
                return  # the server stopped listening
            reused = False
        path = b"/slow" if (i + n) % 4 == 0 else b"/who"
        try:
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            result = read_response(s)
        except OSError:
            result = None
        if result is None:
            s.close()
            s = None
            if reused:
                continue  # closed while idle: retry on a new connection
            with lock:
                totals["requests"] += 1
                totals["failed"] += 1
            continue
        i += 1
        with lock:
            totals["requests"] += 1
            if result[0] != 200:
                totals["failed"] += 1
        started.set()
        if result[0] == "partial" or b"connection: close" in result[1]:
            s.close()
            s = None
        else:
            reused = True


threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
for t in threads:
    t.start()
started.wait(10)
print("running", flush=True)
for t in threads:
    t.join()
print(f"requests {totals['requests']} failed {totals['failed']}", flush=True)
