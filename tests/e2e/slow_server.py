#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""An HTTP server that holds /hang open until a file exists (20 s at most),
so that a request stays in flight while a test looks at it; anything else
gets 200 at once. Usage: slow_server.py ADDR PORT RELEASE_FILE"""
import http.server
import os
import sys
import time

ADDR, PORT, RELEASE = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/hang"):
            deadline = time.monotonic() + 20
            while not os.path.exists(RELEASE) and time.monotonic() < deadline:
                time.sleep(0.02)
        body = b"done\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((ADDR, PORT), Handler).serve_forever()
