#!/usr/bin/env python3
"""The https site takedownd checks inside the VM (loopback only; the VM has no network card).

  testsite.py CERT KEY STATEDIR

/ok/...    200 with a small page          /gone/...  404          /legal/...  451
/slow/...  waits SLOW seconds (default 4), then 404; each start and finish is appended to
           STATEDIR/slow-started and STATEDIR/slow-done (one path per line), so the test can wait
           until checks are really in flight, and count the ones that were answered.
"""
import http.server
import os
import ssl
import sys
import threading
import time

cert, key, state = sys.argv[1], sys.argv[2], sys.argv[3]
SLOW = float(os.environ.get("SLOW", "4"))
lock = threading.Lock()


def note(name, path):
    with lock, open(os.path.join(state, name), "a") as f:
        f.write(path + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        p = self.path
        if p.startswith("/ok/"):
            self.answer(200, b"<html><body>still here</body></html>\n")
        elif p.startswith("/gone/"):
            self.answer(404, b"not found\n")
        elif p.startswith("/legal/"):
            self.answer(451, b"unavailable for legal reasons\n")
        elif p.startswith("/slow/"):
            note("slow-started", p)
            time.sleep(SLOW)
            self.answer(404, b"not found, slowly\n")
            note("slow-done", p)
        else:
            self.answer(400, b"unknown test path\n")

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


class Server(http.server.ThreadingHTTPServer):
    """TLS handshakes in the connection's own thread: done in accept(), one at a time, 25 handshakes
    under emulation took longer than takedownd's connect timeout."""

    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        request.do_handshake()
        super().finish_request(request, client_address)


server = Server(("127.0.0.1", 443), Handler)
print("testsite listening on https://127.0.0.1:443", flush=True)
server.serve_forever()
