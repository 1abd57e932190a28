#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# A client in ping opens a connection to nginx in pong and makes one request
# before ztrace starts, then three more on the same socket: exactly those
# three are spans (server side, then client side), the one before is not.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The client: one request, "ready", waits for "go", three requests, "done",
# then holds the connection until "quit". Content-Length responses only.
zt_write_client() {
	cat >"$ZT_TMP/client.py" <<'PY'
import os, socket, sys, time

host, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=20)
buf = b""

def recv_more():
    global buf
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("server closed the connection")
    buf += chunk

def request(path):
    global buf
    s.sendall(("GET %s HTTP/1.1\r\nHost: pong\r\nUser-Agent: zt-client\r\n\r\n" % path).encode())
    while b"\r\n\r\n" not in buf:
        recv_more()
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
        if k.strip().lower() == b"transfer-encoding":
            sys.exit("unexpected chunked response")
    while len(buf) < length:
        recv_more()
    buf = buf[length:]
    print(path, status, flush=True)

def wait_for(name):
    for _ in range(600):
        if os.path.exists(os.path.join(d, name)):
            return
        time.sleep(0.05)
    sys.exit("timed out waiting for " + name)

request("/status/202")
open(os.path.join(d, "ready"), "w").close()
wait_for("go")
for p in ("/status/201", "/status/404", "/big"):
    request(p)
open(os.path.join(d, "done"), "w").close()
wait_for("quit")
PY
}

# zt_preexisting SELECTION...: runs the client around ztrace SELECTION.
zt_preexisting() {
	zt_pair
	zt_write_client
	ct_bg ping "$ZT_PY" "$ZT_TMP/client.py" "$(ct_ip pong)" 8080 "$ZT_TMP" >"$ZT_TMP/client.log" 2>&1
	local client=$BG_PID
	zt_wait_for 10 "the client's first request" test -e "$ZT_TMP/ready"
	ztrace_start "$ZT_TMP/spans.json" "$@"
	touch "$ZT_TMP/go"
	zt_wait_for 10 "the client's other requests" test -e "$ZT_TMP/done"
	ztrace_stop
	touch "$ZT_TMP/quit"
	zt_wait_for 10 "the client to exit" eval "! kill -0 $client 2>/dev/null"
	assert_eq "client's log" "/status/202 202 /status/201 201 /status/404 404 /big 200" \
		"$(paste -sd' ' "$ZT_TMP/client.log")"
	assert_eq "connections nginx saw" 1 "$(awk '{print $8}' "$PONG_LOG" | sort -u | wc -l)"
	# The request made before ztrace started is not expected.
	sed -i 1d "$PONG_LOG"
}

test_preexisting_server() {
	local out=$ZT_TMP/spans.json port
	zt_preexisting --container pong
	assert_eq "spans" 3 "$(jcount "$out")"
	assert_eq "spans of the request before ztrace started" 0 "$(jcount "$out" '.target == "/status/202"')"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$PONG_LOG" server
	port=$(awk 'NR == 1 {print $7}' "$PONG_LOG")
	assert_spans "$out" true ".peer == \"$(ct_ip ping):$port\" and .local == \"$(ct_ip pong):8080\"" \
		"addresses of the connection"
	assert_spans "$out" true '.container == "pong" and .comm == "nginx"' "nginx in pong"
	zt_log "flags: $(jvals "$out" true '.flags | join(",")')"
}

test_preexisting_client() {
	local out=$ZT_TMP/spans.json
	zt_preexisting --container ping
	assert_eq "spans" 3 "$(jcount "$out")"
	assert_eq "spans of the request before ztrace started" 0 "$(jcount "$out" '.target == "/status/202"')"
	assert_log_requests "$out" '.kind == "client"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "client"' "$PONG_LOG" client
	assert_spans "$out" true ".peer == \"$(ct_ip pong):8080\"" "peer is nginx in pong"
	assert_spans "$out" true '.container == "ping" and .comm == "python3"' "the client in ping"
	zt_log "flags: $(jvals "$out" true '.flags | join(",")')"
}

zt_main "$@"
