#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Nothing lost without a count: a ring buffer too small for a slow consumer,
# 20,000 idle connections, 100 containers coming and going under --all, and
# kill -9. Each test takes seconds.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A 16 KB ring buffer and a consumer that does not read for 3 s: the kernel
# side drops, says so while it runs and at exit, and every request nginx
# logged is a span or one of the dropped records.
test_small_ringbuf_slow_consumer() {
	zt_pair
	local out=$ZT_TMP/spans.json err=$ZT_TMP/spans.err logged spans dropped pid
	# The reader sleeps, so ztrace's writes block and the ring fills.
	env --default-signal=INT "$ZTRACE" --container pong --json --ringbuf-size 16K 2>"$err" 9>&- |
		{ sleep 3; cat; } >"$out" &
	zt_wait_for 20 "ztrace to start" grep -qs '^ztrace: tracing ' "$err"
	pid=$(pgrep -n -f -- "--ringbuf-size 16K")
	ct_exec ping wrk -c 8 -t 2 -d 7s --timeout 2s "$PONG_URL/" >"$ZT_TMP/wrk.log" 2>&1 ||
		fail "wrk failed: $(cat "$ZT_TMP/wrk.log")"
	sleep 0.5
	zt_alive "$pid" || fail "ztrace died: $(tail -n 5 "$err")"
	grep -q '^ztrace: status: .*ringbuf_data=[1-9]' "$err" ||
		fail "no status line with drops while running: $(cat "$err")"
	pass "drops reported while running: $(grep -m1 '^ztrace: status: ' "$err" | cut -c1-160)"
	kill -INT "$pid"
	wait
	ZT_SUMMARY=$(grep '^ztrace: summary: ' "$err" | tail -n 1) || fail "no summary: $(tail -n 3 "$err")"
	zt_log "$ZT_SUMMARY"
	assert_valid_spans "$out"
	logged=$(nginx_log_count "$PONG_LOG")
	spans=$(jcount "$out" '.kind == "server"')
	dropped=$(zt_summary_get ringbuf_data)
	assert_gt "records dropped for the ring buffer" 0 "$dropped"
	assert_eq "spans in the summary = JSON lines" "$(zt_summary_get spans)" "$(grep -c '' "$out")"
	# A request lost is one with a record lost; a record lost loses at most
	# one request (records are one per message, and wrk does not pipeline).
	[ "$spans" -le "$logged" ] || fail "more spans ($spans) than requests ($logged)"
	[ $((spans + dropped)) -ge "$logged" ] ||
		fail "spans ($spans) + dropped records ($dropped) < requests ($logged): a silent loss"
	pass "spans ($spans) <= requests ($logged) <= spans + dropped records ($((spans + dropped)))"
	# What it did emit is right: statuses and targets of real requests.
	assert_eq "spans that are not GET / 200" 0 \
		"$(jcount "$out" '.kind == "server" and (.target != "/" or (.status != 200 and .status != 0))')"
}

# 20,000 idle connections to a traced server, then closed: no failure, each
# one tracked and then freed.
test_idle_connections() {
	zt_pair
	local out=$ZT_TMP/spans.json n=20000 rss
	cat >"$ZT_TMP/hold.py" <<'PY'
# Holds n connections open, in 4 processes (the file limit here is 20,000
# per process, and raising it takes CAP_SYS_RESOURCE), until d/close exists.
import os, socket, sys, time
role, host, port, n, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
P = 4
def wait_for(name):
    while not os.path.exists(os.path.join(d, name)):
        time.sleep(0.05)
if role == "server":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, port))
    l.listen(4096)
kids = []
for k in range(P):
    pid = os.fork()
    if pid:
        kids.append(pid)
        continue
    if role == "server":
        held = [l.accept()[0] for _ in range(n // P)]
    else:
        held = [socket.create_connection((host, port)) for _ in range(n // P)]
        open(os.path.join(d, "connected.%d" % k), "w").close()
    wait_for("close")
    for c in held:
        c.close()
    os._exit(0)
if role == "server":
    open(os.path.join(d, "listening"), "w").close()
for pid in kids:
    os.waitpid(pid, 0)
PY
	ztrace_start "$out" --container pong
	ct_bg pong "$ZT_PY" "$ZT_TMP/hold.py" server "$ZT_NET4.2" 9000 "$n" "$ZT_TMP"
	zt_wait_for 10 "the holder to listen" test -e "$ZT_TMP/listening"
	ct_bg ping "$ZT_PY" "$ZT_TMP/hold.py" client "$ZT_NET4.2" 9000 "$n" "$ZT_TMP"
	zt_wait_for 60 "$n connections" sh -c "[ \$(ls $ZT_TMP | grep -c '^connected\.') = 4 ]"
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$ZT_PID/status")
	zt_log "ztrace RSS with $n connections open: $((rss / 1024)) MB (sanitizer build)"
	touch "$ZT_TMP/close"
	# Closed means past LAST-ACK and FIN-WAIT too: only TIME-WAIT may remain.
	zt_wait_for 30 "the connections to close" sh -c "! ip netns exec zt-pong ss -Htan '( sport = :9000 )' | grep -v TIME-WAIT | grep -q ."
	sleep 1
	ztrace_stop
	assert_eq "connections announced" "$n" "$(zt_summary_get conn)"
	# Every connection is either seen closed or still held in the bounded
	# table (counted): none vanishes. Known issue (issue 3): of 20,000
	# simultaneous closes, 0.2-1% show no TCP_CLOSE transition here.
	local closed open
	closed=$(zt_summary_get close)
	open=$(zt_summary_get conns_open)
	assert_eq "connections closed + still in the table" "$n" "$((closed + open))"
	[ "$closed" -ge $((n * 98 / 100)) ] || fail "only $closed of $n closes seen"
	pass "closes seen: $closed of $n"
	assert_eq "drops" 0 "$(zt_summary_drops)"
	assert_eq "spans (no request was made)" 0 "$(wc -l <"$out")"
}

# A one-shot HTTP server: binds ADDR:8000, touches FILE when listening,
# answers one request and exits.
zt_once_server() {
	cat >"$ZT_TMP/once.py" <<'PY'
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 8000))
l.listen(1)
open(sys.argv[2], "w").close()
c = l.accept()[0]
c.recv(65536)
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
c.close()
PY
}

# --all while 100 containers are made, called once (a one-shot server and
# curl, both inside) and destroyed, ten at a time: each exchange is a server
# and a client span of its own container, and the dead cgroups' names go.
test_container_churn() {
	local out=$ZT_TMP/spans.json i j name ip bad=0 live
	zt_once_server
	ztrace_start "$out" --all
	local t0=$SECONDS
	for ((i = 0; i < 100; i += 10)); do
		for ((j = i; j < i + 10; j++)); do ct_create "c$j" "$ZT_NET4.$((j + 2))"; done
		for ((j = i; j < i + 10; j++)); do
			ip=$ZT_NET4.$((j + 2))
			ct_bg "c$j" sh -c "$ZT_PY $ZT_TMP/once.py $ip $ZT_TMP/up.$j & while [ ! -e $ZT_TMP/up.$j ]; do sleep 0.02; done; curl -sS -o /dev/null http://$ip:8000/c$j; wait"
		done
		zt_log "batch $i: created and started at $((SECONDS - t0))s"
		for ((j = i; j < i + 10; j++)); do
			zt_wait_for 20 "container c$j's exchange" zt_cg_empty "$(ct_cgroup "c$j")"
		done
		zt_log "batch $i: exchanged at $((SECONDS - t0))s"
		for ((j = i; j < i + 10; j++)); do ct_destroy "c$j"; done
		zt_log "batch $i: destroyed at $((SECONDS - t0))s"
	done
	# One housekeeping pass (every 5 s) forgets the dead cgroups.
	sleep 6
	ztrace_stop
	for ((j = 0; j < 100; j++)); do
		name=ztrace-test/c$j
		ip=$ZT_NET4.$((j + 2))
		if [ "$(jcount "$out" ".cgroup == \"$name\" and .kind == \"server\" and .local == \"$ip:8000\" and .target == \"/c$j\" and .status == 200")" != 1 ] ||
			[ "$(jcount "$out" ".cgroup == \"$name\" and .kind == \"client\" and .peer == \"$ip:8000\" and .target == \"/c$j\" and .status == 200")" != 1 ]; then
			bad=$((bad + 1))
			zt_log "container c$j: $(jq -c "select(.target == \"/c$j\") | [.kind, .cgroup, .local, .peer]" "$out" | paste -sd' ')"
		fi
	done
	assert_eq "containers without exactly their server and client span" 0 "$bad"
	assert_eq "spans of the churn attributed elsewhere" 0 \
		"$(jcount "$out" '(.target | test("^/c[0-9]+$")) and (.cgroup | test("^ztrace-test/c[0-9]+$") | not)')"
	live=$(find "$ZT_CG2" -type d | wc -l)
	local names
	names=$(zt_summary_get cgroup_names)
	[ "$names" -le "$live" ] || fail "ztrace still names $names cgroups; $live exist"
	pass "cgroup names held ($names) <= cgroups that exist ($live)"
}

# Containers made, called and destroyed while ztrace reads nothing (stopped
# with SIGSTOP, its records waiting in the ring buffer): their directories
# are gone when it reads their records, so only the kernel's cgroup_mkdir
# record can name them. Every span still names its container.
test_container_gone_before_read() {
	local out=$ZT_TMP/spans.json j ip bad=0
	zt_once_server
	ztrace_start "$out" --all
	kill -STOP "$ZT_PID"
	for ((j = 0; j < 5; j++)); do
		ip=$ZT_NET4.$((j + 2))
		ct_create "g$j" "$ip"
		ct_bg "g$j" sh -c "$ZT_PY $ZT_TMP/once.py $ip $ZT_TMP/up.$j & while [ ! -e $ZT_TMP/up.$j ]; do sleep 0.02; done; curl -sS -o /dev/null http://$ip:8000/g$j; wait"
	done
	for ((j = 0; j < 5; j++)); do
		zt_wait_for 20 "container g$j's exchange" zt_cg_empty "$(ct_cgroup "g$j")"
		ct_destroy "g$j"
		[ ! -d "$ZT_CG2/ztrace-test/g$j" ] || fail "g$j's cgroup is still there"
	done
	kill -CONT "$ZT_PID"
	ztrace_stop
	for ((j = 0; j < 5; j++)); do
		if [ "$(jcount "$out" ".cgroup == \"ztrace-test/g$j\" and .target == \"/g$j\"")" != 2 ]; then
			bad=$((bad + 1))
			zt_log "container g$j: $(jq -c "select(.target == \"/g$j\") | [.kind, .cgroup]" "$out" | paste -sd' ')"
		fi
	done
	assert_eq "containers gone before ztrace read them, without both spans named" 0 "$bad"
	[ "$(zt_summary_get cgroup)" -ge 5 ] || fail "cgroup records: $(zt_summary_get cgroup), expected >= 5"
	pass "cgroup records: $(zt_summary_get cgroup)"
}

# kill -9 leaves nothing behind: no BPF program or map of ours, nothing
# pinned, no probe event; a new ztrace traces at once.
test_kill9() {
	zt_pair
	local out=$ZT_TMP/spans.json before
	before=$(zt_bpf_objects)
	ztrace_start "$out" --container pong
	[ "$(zt_bpf_objects)" != "$before" ] || fail "no BPF object of ztrace's seen while it runs"
	kill -KILL "$ZT_PID"
	wait "$ZT_PID" 2>/dev/null || true
	ZT_PID=
	zt_wait_for 10 "ztrace's BPF objects to go" sh -c "[ \"\$(bpftool prog show 2>/dev/null | grep -c ' name zt_')\" = 0 ]"
	assert_eq "BPF programs and maps of ztrace's after kill -9" "$before" "$(zt_bpf_objects)"
	assert_eq "pinned objects" "" "$(find /sys/fs/bpf -mindepth 1 2>/dev/null | grep -i ztrace || true)"
	assert_eq "probe events" "" "$(cat /sys/kernel/tracing/kprobe_events /sys/kernel/tracing/uprobe_events 2>/dev/null | grep -i zt || true)"
	ztrace_start "$out.2" --container pong
	ct_exec ping curl -sS -o /dev/null "$PONG_URL/status/201"
	ztrace_stop
	assert_eq "the new ztrace's spans" 201 "$(jvals "$out.2" '.kind == "server"' .status)"
}

# Our programs and maps by name (zt_ prefix), counted.
zt_bpf_objects() {
	printf 'progs=%s maps=%s\n' "$(bpftool prog show 2>/dev/null | grep -c ' name zt_' || true)" \
		"$(bpftool map show 2>/dev/null | grep -c ' name zt_' || true)"
}

zt_main "$@"
