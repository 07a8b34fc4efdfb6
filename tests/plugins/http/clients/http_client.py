#!/usr/bin/env python3
"""Python's http.client against the server: keep-alive reuse, bodies, HEAD, HTTP/1.0.
Usage: http_client.py PORT  (prints "ok", or raises)"""
import http.client
import sys

port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for _ in range(5):
    conn.request("GET", "/who")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"t", r.status
    assert r.getheader("Content-Length") == "1"
    assert r.getheader("X-Request-Id")
sock = conn.sock
conn.request("POST", "/echo", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
r = conn.getresponse()
body = r.read()
assert r.status == 200 and b'"body":"{\\"a\\": 1}"' in body, body
# A generator body goes out chunked.
conn.request("POST", "/echo", body=(p for p in [b"ab", b"cd"]), encode_chunked=True)
r = conn.getresponse()
body = r.read()
assert b'"body":"abcd"' in body, body
conn.request("HEAD", "/who")
r = conn.getresponse()
assert r.status == 200 and r.read() == b"" and r.getheader("Content-Length") == "1"
conn.request("GET", "/nowhere")
r = conn.getresponse()
assert r.status == 404 and b'"code":"NOT_FOUND"' in r.read()
assert conn.sock is sock, "the connection was not kept alive"
conn.close()

http.client.HTTPConnection._http_vsn = 10
http.client.HTTPConnection._http_vsn_str = "HTTP/1.0"
old = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
old.request("GET", "/who")
r = old.getresponse()
assert r.version == 10 and r.read() == b"t", r.version
print("ok")
