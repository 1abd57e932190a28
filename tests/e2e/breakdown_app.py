# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Servers that each inject one cause of latency, for test_breakdown.sh.

usage: breakdown_app.py ADDR PORT cpu MS
       breakdown_app.py ADDR PORT redis HOST:PORT SECONDS
       breakdown_app.py ADDR PORT accept GOFILE

cpu: each request burns MS ms of its thread's CPU, and says in headers how
much CPU its handler used and how long it took (X-Cpu-Ns, X-Wall-Ns, from
the thread's own clocks), so a test can compare with what ztrace found.
redis: each request runs DEBUG SLEEP SECONDS on a redis server, from the
handler's own thread, over a fresh connection (a slow dependency).
accept: listens, and accepts nothing until GOFILE exists (the connection
waits in the listen queue); then serves each request at once.
"""
import http.server
import os
import socket
import sys
import time

addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def burn(ms):
    end = time.thread_time_ns() + ms * 1000000
    x = 0
    while time.thread_time_ns() < end:
        x += 1
    return x


def redis_sleep(hostport, seconds):
    host, p = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(p)), timeout=10) as s:
        arg = str(seconds).encode()
        s.sendall(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$%d\r\n%s\r\n" % (len(arg), arg))
        reply = s.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError("redis said %r" % reply)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        c0, w0 = time.thread_time_ns(), time.monotonic_ns()
        if mode == "cpu":
            burn(int(sys.argv[4]))
        elif mode == "redis":
            redis_sleep(sys.argv[4], sys.argv[5])
        body = b"done\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Cpu-Ns", str(time.thread_time_ns() - c0))
        self.send_header("X-Wall-Ns", str(time.monotonic_ns() - w0))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4

    def server_activate(self):
        super().server_activate()
        if mode == "accept":
            while not os.path.exists(sys.argv[4]):
                time.sleep(0.005)


Server((addr, port), Handler).serve_forever()
