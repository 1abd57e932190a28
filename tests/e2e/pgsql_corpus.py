#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Seeds for fuzz_pgsql from what pgsql_proxy.py recorded: one file per
# connection, as the server sees it (frontend bytes received), in the
# fuzzer's record format (tests/fuzz/fuzz_pgsql.c).
#   pgsql_corpus.py OUTDIR FILE...
import json, os, sys, hashlib, struct

out = sys.argv[1]
for path in sys.argv[2:]:
    conns = {}
    for r in map(json.loads, open(path)):
        conns.setdefault(r["c"], []).append(r)
    for cid, recs in conns.items():
        b = bytearray([4])  # role unknown, port 5432
        for i, r in enumerate(recs):
            x = bytes.fromhex(r["x"])
            for k in range(0, len(x), 0xffff):
                part = x[k:k + 0xffff]
                ctl = (0 if r["d"] == "F" else 1) | (0x80 if i == 0 else 0)
                b += bytes([ctl]) + struct.pack("<H", len(part)) + b"\0" + part
        name = hashlib.sha1(b).hexdigest()
        open(os.path.join(out, name), "wb").write(b)
