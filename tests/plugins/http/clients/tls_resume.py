#!/usr/bin/env python3
"""TLS session resumption, TLS 1.2 (session ids) and 1.3 (tickets): a second connection
offers the first one's session. Prints "TLSv1.x reused True|False" for each.
Usage: tls_resume.py PORT CA_FILE"""
import socket
import ssl
import sys

port, cafile = int(sys.argv[1]), sys.argv[2]
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    ctx.minimum_version = ctx.maximum_version = version
    session = None
    reused = None
    for _ in range(2):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="a.test", session=session)
        s.sendall(b"GET /who HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK"), data
        reused = s.session_reused
        session = s.session
        s.close()
    print(f"{'TLSv1.2' if version == ssl.TLSVersion.TLSv1_2 else 'TLSv1.3'} reused {reused}")
