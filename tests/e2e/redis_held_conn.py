# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A Redis client whose connection predates ztrace: connects and PINGs,
writes DIR/ready, waits for DIR/go, then sends GET, SET and three pipelined
GETs, reads every reply, writes DIR/done.  Usage: redis_held_conn.py HOST PORT DIR"""
import os
import socket
import sys
import time

host, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_replies(s, want):
    buf = b""
    while buf.count(b"\r\n") < want:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed")
        buf += chunk
    return buf


s = socket.create_connection((host, port))
s.sendall(cmd(b"PING"))
read_replies(s, 1)
open(os.path.join(d, "ready"), "w").close()
deadline = time.time() + 20
while not os.path.exists(os.path.join(d, "go")):
    if time.time() > deadline:
        sys.exit("no go")
    time.sleep(0.02)
s.sendall(cmd(b"GET", b"k1"))
read_replies(s, 1)          # $-1
s.sendall(cmd(b"SET", b"k1", b"hello"))
read_replies(s, 1)          # +OK
s.sendall(cmd(b"GET", b"k1") * 3)
read_replies(s, 6)          # three $5 hello
s.close()
open(os.path.join(d, "done"), "w").close()
