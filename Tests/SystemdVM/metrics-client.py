#!/usr/bin/env python3
"""Scrapes the metrics endpoint the way real clients can (issue 21 item 4).

  metrics-client.py split HOST PORT   the request in two writes a second apart, the first "GET /met"
  metrics-client.py big HOST PORT     one request with 6 KB of headers (a long Cookie, say)
  metrics-client.py slow HOST PORT    the whole request, then read 64 bytes at a time, slowly

Exit 0 and "ok <bytes>" when the full answer (status 200, Content-Length bytes of body holding
takedown_checks_in_flight) arrived without a connection reset; otherwise exit 1 with what went wrong.
"""
import socket
import sys
import time

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
request = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: vm-test\r\nAccept: */*\r\n"
if mode == "big":
    request += b"Cookie: " + b"c" * 6000 + b"\r\n"
request += b"\r\n"
try:
    s = socket.create_connection((host, port), timeout=20)
    if mode == "split":
        s.sendall(request[:8])
        time.sleep(1.0)
        s.sendall(request[8:])
        time.sleep(0.5)
    elif mode == "big":
        s.sendall(request)
        time.sleep(0.5)
    else:
        s.sendall(request)
        time.sleep(1.0)
    data = b""
    while True:
        chunk = s.recv(64 if mode == "slow" else 65536)
        if not chunk:
            break
        data += chunk
        if mode == "slow":
            time.sleep(0.01)
    s.close()
except OSError as e:
    print(f"{type(e).__name__}: {e}")
    sys.exit(1)
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
length = next((int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:")), None)
if not lines[0].startswith("HTTP/1.1 200") or length != len(body) or b"takedown_checks_in_flight" not in body:
    print(f"incomplete answer: status line {lines[0]!r}, content-length {length}, body {len(body)} bytes")
    sys.exit(1)
print(f"ok {len(body)}")
