# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A service that calls another for each request it serves, for test_trace.sh.

usage: trace_app.py ADDR PORT UPSTREAM_URL same|pool|sleep

same: the handler's own thread makes the call (ztrace links it to the
request by thread); pool: a worker thread makes it while the handler waits
(a hand-off ztrace cannot see: no parent is invented); sleep: no call,
an answer 300 ms late (a slow backend).
"""
import concurrent.futures
import http.server
import sys
import time
import urllib.request

addr, port, upstream, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)


def call():
    with urllib.request.urlopen(upstream, timeout=5) as r:
        return r.read()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if mode == "sleep":
            time.sleep(0.3)
            body = b"late\n"
        else:
            body = call() if mode == "same" else pool.submit(call).result()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((addr, port), Handler).serve_forever()
