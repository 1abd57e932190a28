# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A gRPC server and client for ztrace's HTTP/2 tests, without protoc:
generic handlers with raw-bytes (de)serializers.

  http2_grpc.py server HOST:PORT LOG
  http2_grpc.py client HOST:PORT CALL...

Service pkg.Svc: Echo (unary: echoes the request), Missing (unary: aborts
with NOT_FOUND), Stream (server streaming: N messages, N = the request's
first byte), Chat (bidi: one reply per request message).
CALL is echo, missing, stream:N, chat:N, or wait:FILE (no call: waits for
FILE to exist, the connection kept open). The client makes the calls in
order on one channel (one HTTP/2 connection) and prints one line per call:
"<method> <status code name> <messages received>". The server appends the
same to LOG per call it handled.
"""
import os
import sys
import time
from concurrent import futures

import grpc

SVC = "pkg.Svc"


def ident(b):
    return b


def serve(addr, log):
    def note(method, code, n):
        with open(log, "a") as f:
            f.write("%s %s %d\n" % (method, code, n))

    def echo(req, ctx):
        note("Echo", "OK", 1)
        return req

    def missing(req, ctx):
        note("Missing", "NOT_FOUND", 0)
        ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    def stream(req, ctx):
        n = req[0] if req else 1
        for i in range(n):
            yield bytes([i]) * 10
        note("Stream", "OK", n)

    def chat(reqs, ctx):
        n = 0
        for r in reqs:
            n += 1
            yield r + b"!"
        note("Chat", "OK", n)

    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo, ident, ident),
        "Missing": grpc.unary_unary_rpc_method_handler(missing, ident, ident),
        "Stream": grpc.unary_stream_rpc_method_handler(stream, ident, ident),
        "Chat": grpc.stream_stream_rpc_method_handler(chat, ident, ident),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SVC, handlers),))
    server.add_insecure_port(addr)
    server.start()
    print("listening", flush=True)
    server.wait_for_termination()


def client(addr, calls):
    with grpc.insecure_channel(addr) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        for call in calls:
            kind, _, arg = call.partition(":")
            if kind == "wait":
                while not os.path.exists(arg):
                    time.sleep(0.02)
                continue
            n = int(arg) if arg else 0
            try:
                if kind == "echo":
                    ch.unary_unary("/%s/Echo" % SVC, ident, ident)(b"hello")
                    got = 1
                elif kind == "missing":
                    ch.unary_unary("/%s/Missing" % SVC, ident, ident)(b"x")
                    got = 1
                elif kind == "stream":
                    got = sum(1 for _ in ch.unary_stream("/%s/Stream" % SVC, ident, ident)(bytes([n])))
                elif kind == "chat":
                    reqs = iter([b"m%d" % i for i in range(n)])
                    got = sum(1 for _ in ch.stream_stream("/%s/Chat" % SVC, ident, ident)(reqs))
                else:
                    raise SystemExit("unknown call " + call)
                print("%s OK %d" % (kind, got), flush=True)
            except grpc.RpcError as e:
                print("%s %s 0" % (kind, e.code().name), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], sys.argv[3])
    else:
        client(sys.argv[2], sys.argv[3:])
