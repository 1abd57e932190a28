#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Where did the time go: each test injects one cause of latency into a real
# server and asserts that the span's breakdown attributes it, within 20% of
# what was injected (measured independently: by the handler's own thread
# clocks, by curl, or from the shaping rate), and names it in one word.
#   cpu starvation (a CPU quota)           -> runq
#   a shaped link (tc tbf), a large body   -> net, and a grown RTT
#   a slow dependency (redis DEBUG SLEEP)  -> deps, on the critical path
#   a listener that does not accept        -> accept_wait
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APP=$ZT_E2E_DIR/breakdown_app.py

# within DESC EXPECTED FOUND: FOUND is EXPECTED +- 20% (integers, ns).
within() {
	local desc=$1 want=$2 got=$3
	zt_is_int "$want" && zt_is_int "$got" || fail "$desc: not numbers: expected '$want', found '$got'"
	[ "$want" -gt 0 ] || fail "$desc: nothing was injected (expected $want)"
	if [ $((got * 100)) -lt $((want * 80)) ] || [ $((got * 100)) -gt $((want * 120)) ]; then
		fail "$desc: found $got ns, injected $want ns (not within 20%)"
	fi
	pass "$desc: injected $((want / 1000000)).$((want / 1000 % 1000 / 100)) ms, found $((got / 1000000)).$((got / 1000 % 1000 / 100)) ms"
}

# app_start NAME IP ARGS...: breakdown_app.py on IP:8080 in container NAME.
app_start() {
	local name=$1 ip=$2
	shift 2
	ct_bg "$name" "$ZT_PY" "$APP" "$ip" 8080 "$@"
	APP_PID=$BG_PID
	zt_wait_for 10 "breakdown_app.py listening" \
		sh -c "ip netns exec zt-$name ss -Hltn 'sport = :8080' | grep -q ."
}

# cpu_cap PID NAME: caps PID's process to 10% of one CPU. cgroup2 with the
# cpu controller: cpu.max on the container's cgroup; a hybrid host (cpu on
# v1): a v1 cpu cgroup of its own, cfs_quota_us. Says which.
cpu_cap() {
	local pid=$1 name=$2 cg v1
	cg=$(ct_cgroup "$name")
	if [ -f "$cg/cpu.max" ]; then
		echo "10000 100000" >"$cg/cpu.max"
		zt_log "cpu starvation: cgroup2 cpu.max 10000 100000 on $cg"
		return
	fi
	v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)
	[ -n "$v1" ] || fail "no cpu controller: neither cpu.max in $cg nor a v1 cpu hierarchy"
	zt_mkdir_tracked "$v1/ztrace-test-bd"
	echo 100000 >"$v1/ztrace-test-bd/cpu.cfs_period_us"
	echo 10000 >"$v1/ztrace-test-bd/cpu.cfs_quota_us"
	echo "$pid" >"$v1/ztrace-test-bd/cgroup.procs"
	zt_log "cpu starvation: cgroup v1 $v1/ztrace-test-bd, cfs_quota_us 10000 of 100000 (the host's cpu controller is v1)"
}

# The handler burns 40 ms of CPU under a 10% quota: ~360 ms waiting for a
# CPU. Injected: the handler's wall time less its thread's CPU time.
test_cpu_starvation() {
	local f=$ZT_TMP/spans.json i hdr cpu wall want_runq=0 want_cpu=0 got
	ct_create app "$ZT_NET4.2"
	ct_create cli "$ZT_NET4.3"
	app_start app "$ZT_NET4.2" cpu 40
	cpu_cap "$APP_PID" app
	ztrace_start "$f" --container app --container cli
	for i in 1 2 3; do
		hdr=$(ct_exec cli curl -sf -D - -o /dev/null "http://$ZT_NET4.2:8080/burn$i" | tr -d '\r')
		cpu=$(sed -n 's/^X-Cpu-Ns: //p' <<<"$hdr")
		wall=$(sed -n 's/^X-Wall-Ns: //p' <<<"$hdr")
		want_runq=$((want_runq + wall - cpu))
		want_cpu=$((want_cpu + cpu))
	done
	ztrace_stop
	local sel='.kind == "server" and .container == "app"'
	assert_eq "app's server spans" 3 "$(jcount "$f" "$sel")"
	assert_spans "$f" "$sel" '.breakdown.sched == "ok"' "the same thread read and answered"
	assert_spans "$f" "$sel" '.cause == "runq"' "cause=runq"
	got=$(jq -s "map(select($sel) | .breakdown.runq_ns) | add" "$f")
	within "run-queue wait (3 requests)" "$want_runq" "$got"
	got=$(jq -s "map(select($sel) | .breakdown.cpu_ns) | add" "$f")
	within "on-CPU time (3 requests)" "$want_cpu" "$got"
	zt_log "spans: $(jq -c "select($sel) | {duration_ns, breakdown}" "$f" | head -n 3 | paste -sd' ')"
}

# nginx sends 2 MiB over a link shaped to 16 Mbit/s (tbf on the server's
# side; its send buffer held to 32 KiB so it waits for the link rather than
# handing the body to the kernel whole). Injected: size / rate.
test_network() {
	local f=$ZT_TMP/spans.json size=2097152 rate=16 want got out tt ts
	ct_create web "$ZT_NET4.2"
	ct_create cli "$ZT_NET4.3"
	nginx_start web "$ZT_NET4.2" 8080
	head -c "$size" /dev/zero >"$NGINX_DIR/www/big2"
	ip netns exec zt-web sysctl -qw net.ipv4.tcp_wmem="4096 16384 32768"
	ip netns exec zt-web tc qdisc add dev eth0 root tbf rate "${rate}mbit" burst 16kb latency 20ms
	ztrace_start "$f" --container web --container cli
	out=$(ct_exec cli curl -sf -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}' \
		"http://$ZT_NET4.2:8080/big2")
	ztrace_stop
	read -r ts tt got <<<"$out"
	assert_eq "bytes curl got" "$size" "$got"
	want=$((size * 8 * 1000 / rate))
	local sel='.kind == "server" and .container == "web" and .target == "/big2"'
	assert_eq "web's /big2 span" 1 "$(jcount "$f" "$sel")"
	assert_spans "$f" "$sel" '.cause == "net"' "cause=net"
	within "network time of the server span" "$want" "$(jvals "$f" "$sel" .breakdown.net_ns)"
	assert_spans "$f" "$sel" '.net.srtt_us >= 2000' "smoothed RTT grew past 2 ms (the tbf queue)"
	zt_log "server span: $(jq -c "select($sel) | {duration_ns, breakdown, net}" "$f")"
	local csel='.kind == "client" and .container == "cli" and .target == "/big2"'
	assert_spans "$f" "$csel" '.cause == "net"' "the client span: cause=net"
	want=$(awk -v a="$ts" -v b="$tt" 'BEGIN { printf "%d", (b - a) * 1e9 }')
	within "the client span's download phase vs curl's" "$want" "$(jvals "$f" "$csel" .phases.download_ns)"
	assert_spans "$f" "$csel" '.phases.connect_ns > 0 and .phases.connect_ns < 1000000000' \
		"connect phase measured"
	zt_log "client span: $(jq -c "select($csel) | {duration_ns, phases, net}" "$f")"
}

# The handler calls redis DEBUG SLEEP 0.3 on its own thread. Injected: 300 ms.
test_slow_dependency() {
	local f=$ZT_TMP/spans.json i d=$ZT_TMP/redis
	ct_create app "$ZT_NET4.2"
	ct_create db "$ZT_NET4.3"
	ct_create cli "$ZT_NET4.4"
	mkdir -p "$d"
	ct_bg db redis-server --port 6379 --bind "$ZT_NET4.3" --save '' --appendonly no \
		--protected-mode no --enable-debug-command yes --dir "$d" --logfile "$d/redis.log"
	zt_wait_for 10 "redis-server listening" \
		sh -c "ip netns exec zt-db ss -Hltn 'sport = :6379' | grep -q ."
	app_start app "$ZT_NET4.2" redis "$ZT_NET4.3:6379" 0.3
	ztrace_start "$f" --container app --container db --container cli --traces
	for i in 1 2 3; do
		ct_exec cli curl -sf -o /dev/null "http://$ZT_NET4.2:8080/dep$i"
	done
	sleep 1.5 # the linker holds spans a second for their parents
	ztrace_stop
	local sel='.type == null and .kind == "server" and .container == "app"'
	assert_eq "app's server spans" 3 "$(jcount "$f" "$sel")"
	assert_spans "$f" "$sel" '.cause == "deps"' "cause=deps"
	for i in 1 2 3; do
		within "downstream time of /dep$i" 300000000 \
			"$(jvals "$f" "$sel and .target == \"/dep$i\"" .breakdown.deps_ns)"
	done
	# The critical path of each trace runs through the redis call.
	local bad
	bad=$(jq -s -c '
		(map(select(.type == null)) | map({key: .span_id, value: .}) | from_entries) as $by |
		map(select(.type == "trace")) | map(select(
			[.critical_path[] | $by[.] | select(.protocol == "redis")] | length == 0)) |
		map(.verdict)' "$f")
	assert_eq "traces whose critical path misses redis" "[]" "$bad"
	assert_eq "traces" 3 "$(jcount "$f" '.type == "trace"')"
	zt_log "a verdict: $(jq -r 'select(.type == "trace") | .verdict' "$f" | head -n 1)"
}

# The listener accepts nothing until told; curl's connection waits in the
# listen queue. Injected: curl's time from connected to first byte.
test_accept_wait() {
	local f=$ZT_TMP/spans.json go=$ZT_TMP/go out tc ts want
	ct_create app "$ZT_NET4.2"
	ct_create cli "$ZT_NET4.3"
	app_start app "$ZT_NET4.2" accept "$go"
	ztrace_start "$f" --container app --container cli
	ct_bg cli curl -sf -o /dev/null -w '%{time_connect} %{time_starttransfer}\n' \
		"http://$ZT_NET4.2:8080/queued" >"$ZT_TMP/curl.out"
	local cpid=$BG_PID
	sleep 0.5
	touch "$go"
	zt_wait_for 10 "curl to finish" sh -c "! kill -0 $cpid 2>/dev/null"
	ztrace_stop
	read -r tc ts <"$ZT_TMP/curl.out"
	want=$(awk -v a="$tc" -v b="$ts" 'BEGIN { printf "%d", (b - a) * 1e9 }')
	local sel='.kind == "server" and .container == "app"'
	assert_eq "app's server spans" 1 "$(jcount "$f" "$sel")"
	within "accept_wait" "$want" "$(jvals "$f" "$sel" .accept_wait_ns)"
}

# A TLS server that takes 300 ms over its handshake (its SNI callback
# sleeps): the client span's tls phase is that handshake, as curl measured
# it (appconnect - connect), and the phases after it stay small.
test_tls_handshake() {
	local f=$ZT_TMP/spans.json tc ta want
	zt_tls_cert
	cat >"$ZT_TMP/slow_tls.py" <<'PY'
import http.server, ssl, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer((sys.argv[1], 8443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
ctx.sni_callback = lambda sock, name, c: time.sleep(0.3)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
	ct_create app "$ZT_NET4.2"
	ct_create cli "$ZT_NET4.3"
	ct_bg app "$ZT_PY" "$ZT_TMP/slow_tls.py" "$ZT_NET4.2" "$ZT_TMP/tls/cert.pem" "$ZT_TMP/tls/key.pem"
	zt_wait_for 10 "slow_tls.py listening" \
		sh -c "ip netns exec zt-app ss -Hltn 'sport = :8443' | grep -q ."
	ztrace_start "$f" --container app --container cli
	ct_exec cli curl -skf -o /dev/null -w '%{time_connect} %{time_appconnect}\n' \
		--resolve "slow.test:8443:$ZT_NET4.2" "https://slow.test:8443/hs" >"$ZT_TMP/curl.out"
	ztrace_stop
	read -r tc ta <"$ZT_TMP/curl.out"
	want=$(awk -v a="$tc" -v b="$ta" 'BEGIN { printf "%d", (b - a) * 1e9 }')
	local sel='.kind == "client" and .container == "cli" and .target == "/hs"'
	assert_eq "curl's client spans over TLS" 1 "$(jcount "$f" "$sel and .tls == true")"
	within "tls phase" "$want" "$(jvals "$f" "$sel" .phases.tls_ns)"
	assert_spans "$f" "$sel" '.phases.connect_ns < 50000000 and .phases.ttfb_ns < 100000000' \
		"connect and ttfb without the handshake's 300 ms"
}

# --no-sched: the scheduler hooks are not loaded (the start line says so)
# and spans carry no cpu/runq figures rather than made-up ones.
test_no_sched() {
	local f=$ZT_TMP/spans.json
	ct_create app "$ZT_NET4.2"
	ct_create cli "$ZT_NET4.3"
	app_start app "$ZT_NET4.2" cpu 20
	ztrace_start "$f" --container app --container cli --no-sched
	assert_match "start line" 'sched=off' "$(grep -m1 '^ztrace: tracing ' "$f.err")"
	ct_exec cli curl -sf -o /dev/null "http://$ZT_NET4.2:8080/nosched"
	ztrace_stop
	local sel='.kind == "server" and .container == "app"'
	assert_eq "app's server spans" 1 "$(jcount "$f" "$sel")"
	assert_spans "$f" "$sel" '.breakdown.sched == "none" and .breakdown.cpu_ns == null and
		.breakdown.runq_ns == null and .breakdown.rest_ns > 0 and .cause == null' \
		"no cpu/runq without the scheduler hooks, no cause word for the unknown rest"
}

zt_main "$@"
