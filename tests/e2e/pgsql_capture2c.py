#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Turns what pgsql_proxy.py recorded (JSON lines: connection, direction F/B,
# hex bytes of one recv) into C arrays for tests/unit/test_pgsql.c:
#   pgsql_capture2c.py NAME FILE CONN
import json, sys

name, path, conn = sys.argv[1], sys.argv[2], int(sys.argv[3])
recs = [r for r in map(json.loads, open(path)) if r["c"] == conn]
print("static const struct rec %s[] = {" % name)
for r in recs:
    b = bytes.fromhex(r["x"])
    lines, cur = [], ""
    for ch in b:
        cur += "\\x%02x" % ch
        if len(cur) >= 88:
            lines.append('"%s"' % cur)
            cur = ""
    if cur:
        lines.append('"%s"' % cur)
    print("\t{ %s, %d,\n\t  %s },"
          % ("FE" if r["d"] == "F" else "BE", len(b), "\n\t  ".join(lines)))
print("};")
