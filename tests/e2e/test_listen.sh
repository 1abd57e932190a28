#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The live views (--listen): curl in ping calls nginx in pong (200s, 500s,
# 404s on /items/<id>) and a Python server in slow that holds /hang open.
# /tracez, read in headless Chromium, shows the request hanging with its age
# while it hangs, the latency buckets, an error sample linking to its trace
# tree, and the owners (--owners); /servicez the edges; /metrics is valid
# (promtool) and a real Prometheus scraping it returns the counts this test
# made. Malformed and huge requests get a clean 4xx, only GET and HEAD are
# served, and no secret the traced requests or the listener's clients sent
# comes back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECRET=zt-secret-4242

# free_port: a TCP port nothing listens on, on the host.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return 0; }
	done
}

# get PATH [CURL ARGS...]: the body of a page; fails on a non-200.
get() {
	local path=$1
	shift
	curl -sS --fail --max-time 5 "$@" "http://127.0.0.1:$ZL_PORT$path"
}

# status METHOD PATH [CURL ARGS...]: the status a request gets.
status() {
	local m=$1 path=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is -X "$m" "$@" \
		"http://127.0.0.1:$ZL_PORT$path"
}

# raw BYTES: sends BYTES (with \r, \n, \xNN escapes) on a fresh
# connection, prints the status line of the answer ("" when it closes).
raw() {
	"$ZT_PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin1"))
data = b""
while b"\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n")[0].decode("latin1") if b"\r\n" in data else "")
' "$ZL_PORT" "$1"
}

# wait_metric LINE: /metrics has this exact line (10 s at most: spans wait
# for their peers before they go out).
wait_metric() {
	local deadline=$((SECONDS + 10))
	until get /metrics | grep -qxF "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no line '$1' in /metrics: $(get /metrics | grep -F "${1%%\{*}" | head -n 8)"
		sleep 0.2
	done
	pass "/metrics: $1"
}

# chrome OUT.png URL: a screenshot in headless Chromium; the DOM it rendered
# in OUT.png.html and its text in OUT.png.txt.
chrome() {
	local png=$1 url=$2
	rm -f "$png"
	timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$ZT_TMP/chrome" --window-size=1800,1300 --screenshot="$png" "$url" \
		>"$ZT_TMP/chrome.log" 2>&1 || fail "chromium --screenshot failed: $(tail -n 3 "$ZT_TMP/chrome.log")"
	[ -s "$png" ] || fail "no screenshot in $png"
	timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$ZT_TMP/chrome" \
		--dump-dom "$url" >"$png.html" 2>>"$ZT_TMP/chrome.log" ||
		fail "chromium --dump-dom failed: $(tail -n 3 "$ZT_TMP/chrome.log")"
	sed 's/<[^>]*>/ /g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g; s/  */ /g' "$png.html" >"$png.txt"
	zt_log "screenshot: $png ($(wc -c <"$png") bytes)"
}

# age_ms TEXT: "262 ms" / "1.23 s" / "12.5 us" in ms.
age_ms() {
	awk '{ v = $1; u = $2; if (u == "s") v *= 1000; else if (u == "us") v /= 1000; else if (u == "ns") v /= 1e6; printf "%d\n", v }' <<<"$1"
}

# hang_age: the age /tracez shows for the request in flight to /hang, as
# the server in slow sees it.
hang_age() {
	get /tracez | grep -o 'server</td><td class="l">http</td><td class="l">GET /hang</td><td class="l">[^<]*</td><td>[^<]*</td>' |
		sed 's/.*<td>//; s/<\/td>$//'
}

listen_setup() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	ct_create slow "$ZT_NET4.4"
	ZT_STATUSES=500 nginx_start pong "$ZT_NET4.2" 8080
	ct_bg slow "$ZT_PY" "$ZT_E2E_DIR/slow_server.py" "$ZT_NET4.4" 8081 "$ZT_TMP/release" \
		>"$ZT_TMP/slow.log" 2>&1
	zt_wait_for 10 "slow server listening" \
		sh -c "ip netns exec zt-slow ss -Hltn 'sport = :8081' | grep -q ."
	cat >"$ZT_TMP/owners" <<-'EOF'
		# who to page for what
		pong  team=team-pong  source=https://git.example/pong  pager=pong-oncall@example.org
		slow  team=team-slow  pager=@slow-oncall
	EOF
	ZL_PORT=$(free_port)
	ztrace_start "$ZT_TMP/spans.json" --container pong --container ping --container slow \
		--owners "$ZT_TMP/owners" --listen "127.0.0.1:$ZL_PORT"
	grep -q "^ztrace: live views on http://127.0.0.1:$ZL_PORT/tracez" "$ZT_TMP/spans.json.err" ||
		fail "no 'live views on' line: $(cat "$ZT_TMP/spans.json.err")"
}

test_listen_pages() {
	local url=http://$ZT_NET4.2:8080 i age1 age2 shot=$ZT_ROOT/build/listen-tracez.png
	local sshot=$ZT_ROOT/build/listen-servicez.png
	listen_setup

	for i in 1 2 3 4 5; do
		ct_exec ping curl -sf -o /dev/null -H "Authorization: Bearer $SECRET" \
			-H "Cookie: session=$SECRET" "$url/index.html"
	done
	for i in 1 2 3; do
		ct_exec ping curl -s -o /dev/null -H "Authorization: Bearer $SECRET" "$url/status/500"
	done
	ct_exec ping curl -s -o /dev/null "$url/items/123"
	ct_exec ping curl -s -o /dev/null "$url/items/9f8e7d6c5b4a"

	# A request that hangs: on /tracez while it hangs, its age growing.
	ct_bg ping curl -s -o "$ZT_TMP/hang.out" -H "Authorization: Bearer $SECRET" \
		"http://$ZT_NET4.4:8081/hang?token=$SECRET"
	local hang_pid=$BG_PID
	zt_wait_for 10 "/hang in flight on /tracez" sh -c "curl -s http://127.0.0.1:$ZL_PORT/tracez | grep -q 'GET /hang<'"
	age1=$(hang_age)
	sleep 1.2
	age2=$(hang_age)
	zt_log "/hang in flight: age $age1, then $age2"
	assert_ge "age of the hanging request after 1.2 s (ms)" "$(($(age_ms "$age1") + 1000))" "$(age_ms "$age2")"

	wait_metric 'ztrace_requests_total{container="pong",operation="GET /index.html",protocol="http",status_class="2xx",kind="server"} 5'
	wait_metric 'ztrace_requests_total{container="ping",operation="GET /index.html",protocol="http",status_class="2xx",kind="client"} 5'
	wait_metric 'ztrace_requests_total{container="pong",operation="GET /status/{id}",protocol="http",status_class="5xx",kind="server"} 3'
	wait_metric 'ztrace_request_errors_total{container="pong",operation="GET /status/{id}",protocol="http",status_class="5xx",kind="server"} 3'
	wait_metric 'ztrace_requests_total{container="pong",operation="GET /items/{id}",protocol="http",status_class="4xx",kind="server"} 2'
	wait_metric 'ztrace_request_duration_seconds_count{container="pong",operation="GET /index.html",protocol="http",status_class="2xx",kind="server"} 5'
	wait_metric 'ztrace_request_duration_seconds_bucket{container="pong",operation="GET /index.html",protocol="http",status_class="2xx",kind="server",le="+Inf"} 5'

	chrome "$shot" "http://127.0.0.1:$ZL_PORT/tracez"
	local t=$shot.txt
	# Both ends of it: curl in ping waiting, the server in slow holding it.
	assert_eq "tracez: in flight" 'Requests in flight: 2' "$(grep -o 'Requests in flight: [0-9]*' "$t")"
	assert_match "tracez: the hanging request served, query dropped" \
		'^slow team-slow \(page @slow-oncall\) server http GET /hang 10\.231\.0\.3:[0-9]+ [0-9.]+ [mu]?s $' \
		"$(grep -oE 'slow team-slow \([^)]*\) server http GET /hang [0-9.:]+ [0-9.]+ [mu]?s ' "$t" | head -n 1)"
	assert_match "tracez: the hanging request made" \
		'^ping - client http GET /hang 10\.231\.0\.4:8081 [0-9.]+ [mu]?s $' \
		"$(grep -oE 'ping - client http GET /hang [0-9.:]+ [0-9.]+ [mu]?s ' "$t" | head -n 1)"
	for b in '<10us' '10us-100us' '100us-1ms' '1ms-10ms' '10ms-100ms' '100ms-1s' '1s-10s' '10s-100s' '>=100s' errors; do
		grep -qF " $b " "$t" || fail "tracez: no bucket column '$b'"
	done
	pass "tracez: the nine latency buckets and errors"
	assert_match "tracez: pong's 500s, 3 errors, its owner" \
		'pong team-pong \(page pong-oncall@example.org\) source server http GET /status/\{id\} .* 3 3 ' \
		"$(grep -o 'pong team-pong[^|]*GET /status/{id} [0-9 ]*' "$t" | head -n 1)"

	# The error sample links to its trace tree: ping -> pong, the critical
	# path and its breakdown.
	local link tree
	link=$(get /tracez | grep -o 'b9"><td class="l err">error</td>.\{0,400\}' | grep -o '/trace?id=[0-9a-f]\{32\}' | head -n 1)
	[ -n "$link" ] || fail "no error sample linking to a trace on /tracez"
	tree=$(get "$link" | sed -n '/<pre>/,/<\/pre>/p')
	# The verdict pages pong's owner when pong holds most of the path, else
	# it is the time by container (which holds more varies run to run).
	local verdict='critical path ([0-9.]+ ms: [0-9.]+ ms in ping, [0-9.]+ ms in pong|page pong-oncall@example.org: [0-9.]+ ms of [0-9.]+ ms in pong)'
	assert_match "the error's trace tree: critical path" "$verdict" "$tree"
	assert_match "the error's trace tree: ping client" '\* ping client http GET /status/500' "$tree"
	assert_match "the error's trace tree: pong server under it" '\*   pong server http GET /status/500 .* status 500' "$tree"
	assert_match "the error's trace tree: where pong's time went" \
		'\*   pong server http GET /status/500 .* status 500 .*\[(cpu|deps) [0-9.]+ ' "$tree"
	assert_match "the error's trace tree: ping's phases" \
		'\* ping client http GET /status/500 .*\[(connect [0-9.]+ )?ttfb [0-9.]+ download [0-9.]+\]' "$tree"

	local tshot=$ZT_ROOT/build/listen-trace.png
	chrome "$tshot" "http://127.0.0.1:$ZL_PORT$link"
	assert_match "the error's trace tree in the browser" "$verdict" "$(cat "$tshot.txt")"

	chrome "$sshot" "http://127.0.0.1:$ZL_PORT/servicez"
	assert_match "servicez: ping -> pong, owner, locality, totals" \
		'ping - pong team-pong \(page pong-oncall@example.org\) source http this host, other netns [0-9.]+ 30.0% [0-9.]+ [mu]?s 10 3' \
		"$(grep -o 'ping - pong team-pong.*' "$sshot.txt" | head -n 1)"

	# The request hanging goes out when answered.
	touch "$ZT_TMP/release"
	local deadline=$((SECONDS + 25))
	while zt_alive "$hang_pid"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "the hanging curl did not finish"
		sleep 0.05
	done
	assert_eq "hang answered" done "$(cat "$ZT_TMP/hang.out")"
	wait_metric 'ztrace_requests_total{container="slow",operation="GET /hang",protocol="http",status_class="2xx",kind="server"} 1'
	zt_wait_for 5 "nothing in flight" sh -c "curl -s http://127.0.0.1:$ZL_PORT/tracez | grep -q 'Requests in flight: 0'"
	pass "tracez: nothing in flight once answered"

	get /metrics >"$ZT_TMP/metrics.txt"
	promtool check metrics <"$ZT_TMP/metrics.txt" >"$ZT_TMP/promtool.log" 2>&1 ||
		fail "promtool check metrics: $(head -n 5 "$ZT_TMP/promtool.log")"
	pass "promtool check metrics: $(grep -c '' "$ZT_TMP/metrics.txt") lines, no complaint"
	grep -q '^ztrace_info{hooks="io=' "$ZT_TMP/metrics.txt" || fail "no ztrace_info{hooks=...}"
	grep -qE '^ztrace_ringbuf_fill_ratio 0\.[0-9]+$' "$ZT_TMP/metrics.txt" || fail "no ztrace_ringbuf_fill_ratio"
	grep -qE '^process_resident_memory_bytes [1-9][0-9]{6,}$' "$ZT_TMP/metrics.txt" || fail "no RSS"
	# Every kind the exit summary lists (drain.c's list_drops), prog_skipped
	# the last added.
	assert_eq "ztrace_drops_total kinds" 16 "$(grep -c '^ztrace_drops_total{kind=' "$ZT_TMP/metrics.txt")"
	grep -q '^ztrace_drops_total{kind="cpu_busy"} 0$' "$ZT_TMP/metrics.txt" || fail "no cpu_busy drops kind"
	grep -q '^ztrace_drops_total{kind="prog_skipped"} 0$' "$ZT_TMP/metrics.txt" || fail "no prog_skipped drops kind"

	# A real Prometheus scrapes it.
	local pport pdir=$ZT_TMP/prom v
	pport=$(free_port)
	mkdir -p "$pdir/data"
	cat >"$pdir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: ztrace
		    static_configs:
		      - targets: ['127.0.0.1:$ZL_PORT']
	EOF
	prometheus --config.file="$pdir/prometheus.yml" --storage.tsdb.path="$pdir/data" \
		--web.listen-address="127.0.0.1:$pport" >"$pdir/log" 2>&1 9>&- &
	local prom_pid=$!
	ZT_BG_PIDS+=("$prom_pid")
	zt_wait_for 20 "prometheus ready" curl -sf -o /dev/null "http://127.0.0.1:$pport/-/ready"
	promq() {
		curl -s --max-time 5 --data-urlencode "query=$1" "http://127.0.0.1:$pport/api/v1/query" |
			jq -r "$2"
	}
	local q='ztrace_requests_total{job="ztrace",container="pong",operation="GET /index.html",kind="server"}'
	zt_wait_for 20 "prometheus has scraped ztrace" sh -c \
		"curl -s --data-urlencode 'query=$q' http://127.0.0.1:$pport/api/v1/query | grep -q '\"5\"'"
	assert_eq "prometheus: $q" "1 5 http 2xx" \
		"$(promq "$q" '[(.data.result | length), .data.result[0].value[1], .data.result[0].metric.protocol, .data.result[0].metric.status_class] | join(" ")')"
	assert_eq "prometheus: errors in pong" 3 "$(promq 'sum(ztrace_request_errors_total{container="pong"})' '.data.result[0].value[1]')"
	assert_eq "prometheus: requests ping made" 11 "$(promq 'sum(ztrace_requests_total{container="ping",kind="client"})' '.data.result[0].value[1]')"
	assert_eq "prometheus: pong's 500s under 1 s" 3 \
		"$(promq 'sum(ztrace_request_duration_seconds_bucket{container="pong",operation="GET /status/{id}",le="1"})' '.data.result[0].value[1]')"
	assert_eq "prometheus: up" 1 "$(promq 'up{job="ztrace"}' '.data.result[0].value[1]')"

	kill -TERM "$prom_pid"
	wait "$prom_pid" || true

	# Nothing the clients sent as a secret comes back on any page.
	{ get /; get /tracez; get /servicez; get /metrics; get "$link"; } >"$ZT_TMP/pages.txt"
	assert_eq "pages mentioning the secret" 0 "$(grep -c "$SECRET" "$ZT_TMP/pages.txt" || true)"
	ztrace_stop
	assert_eq "spans in JSON" 22 "$(jcount "$ZT_OUT" '.type == null')"
}

test_listen_bad_requests() {
	ct_create pong "$ZT_NET4.2"
	nginx_start pong "$ZT_NET4.2" 8080
	ZL_PORT=$(free_port)
	ztrace_start "$ZT_TMP/spans.json" --container pong --listen ":$ZL_PORT"
	grep -q "^ztrace: live views on http://127.0.0.1:$ZL_PORT/" "$ZT_TMP/spans.json.err" ||
		fail ":PORT is not 127.0.0.1: $(cat "$ZT_TMP/spans.json.err")"

	assert_eq "POST /tracez" 405 "$(status POST /tracez --data x=1)"
	assert_eq "PUT /metrics" 405 "$(status PUT /metrics --data x=1)"
	assert_eq "DELETE /" 405 "$(status DELETE /)"
	assert_match "405 says what is allowed" '^Allow: GET, HEAD' \
		"$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$ZL_PORT/tracez" | tr -d '\r' | grep -i '^allow:')"
	assert_eq "HEAD /tracez" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$ZL_PORT/tracez")"
	assert_eq "unknown path" 404 "$(status GET /nope)"
	assert_eq "path traversal" 404 "$(status GET /../../etc/passwd)"
	assert_eq "trace id not hex" 400 "$(status GET '/trace?id=zz')"
	assert_eq "trace id missing" 400 "$(status GET /trace)"
	assert_eq "trace id of no kept trace" 404 "$(status GET "/trace?id=$(printf '%032d' 0)")"
	assert_eq "20 KB URL" 414 "$(status GET "/tracez?q=$(head -c 20000 /dev/zero | tr '\0' a)")"
	assert_eq "20 KB header" 431 "$(status GET /tracez -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)")"
	assert_match "no target" '^HTTP/1.1 400 ' "$(raw 'GET  HTTP/1.1\r\nHost: x\r\n\r\n')"
	assert_match "no version" '^HTTP/1.1 400 ' "$(raw 'GET /tracez\r\n\r\n')"
	assert_match "HTTP/1.1 without Host" '^HTTP/1.1 400 ' "$(raw 'GET /tracez HTTP/1.1\r\n\r\n')"
	assert_match "unknown method" '^HTTP/1.1 405 ' "$(raw 'BLAH /tracez HTTP/1.1\r\nHost: x\r\n\r\n')"
	# A line that is not a request line at all (no space: libmicrohttpd
	# cannot split it) is closed on without an answer.
	assert_eq "garbage request line: closed, no answer" "" "$(raw 'BLAH\r\n\r\n')"
	assert_eq "TLS bytes: closed, no answer" "" "$(raw '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n')"
	assert_match "a header without a colon" '^HTTP/1.1 400 ' "$(raw 'GET /tracez HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n')"

	# Secrets sent to the traced server and to the listener are not
	# echoed: not in bodies, not in response headers.
	ct_exec pong curl -sf -o /dev/null -H "Authorization: Bearer $SECRET" \
		"http://$ZT_NET4.2:8080/index.html?api_key=$SECRET"
	wait_metric 'ztrace_requests_total{container="pong",operation="GET /index.html",protocol="http",status_class="2xx",kind="client"} 1'
	local p all=
	for p in / /tracez /servicez /metrics "/nope?x=$SECRET" "/trace?id=$SECRET"; do
		all+=$(curl -s -D - --max-time 5 -H "Authorization: Bearer $SECRET" -H "X-Token: $SECRET" \
			-H "Cookie: s=$SECRET" "http://127.0.0.1:$ZL_PORT$p")
	done
	assert_eq "responses mentioning the secret" 0 "$(grep -c "$SECRET" <<<"$all" || true)"
	# Still serving, still tracing.
	assert_eq "GET /tracez after all that" 200 "$(status GET /tracez)"
	# A port in use (this ztrace's): said once, exit 2.
	ztrace_expect_error --container pong --listen "127.0.0.1:$ZL_PORT"
	ztrace_stop
	assert_eq "spans (curl and nginx in pong)" 2 "$(jcount "$ZT_OUT" '.type == null')"

	# Bad addresses are usage errors (argp's: the message and a hint).
	local arg rc
	for arg in nonsense 127.0.0.1:0 '::1:80' 127.0.0.1:65536 '[::1]' 'host.example:80'; do
		rc=0
		timeout 10 "$ZTRACE" --container pong --listen "$arg" >"$ZT_TMP/bad.out" 2>"$ZT_TMP/bad.err" || rc=$?
		assert_eq "exit status of --listen '$arg'" 2 "$rc"
		assert_match "message for --listen '$arg'" "^ztrace: --listen " "$(head -n 1 "$ZT_TMP/bad.err")"
	done
}

# wrk loads nginx while the pages are read back to back: tracing loses
# nothing (the server never holds it up) and /metrics counts every request.
test_listen_under_load() {
	zt_pair
	local out=$ZT_TMP/spans.json logged pages=0 drops
	ZL_PORT=$(free_port)
	ztrace_start "$out" --container pong --listen "$ZL_PORT"
	ct_exec ping wrk -c 8 -t 2 -d 3s --timeout 2s "$PONG_URL/index.html" >"$ZT_TMP/wrk.log" 2>&1 &
	local wrk_pid=$!
	while kill -0 "$wrk_pid" 2>/dev/null; do
		for p in /tracez /metrics /servicez; do
			get "$p" >/dev/null
			pages=$((pages + 1))
		done
	done
	wait "$wrk_pid" || fail "wrk failed: $(cat "$ZT_TMP/wrk.log")"
	zt_log "wrk: $(grep -E 'requests in|Requests/sec' "$ZT_TMP/wrk.log" | paste -sd' ' | tr -s ' '); $pages pages read meanwhile"
	assert_ge "pages read during the load" 9 "$pages"
	sleep 0.5
	logged=$(nginx_log_count "$PONG_LOG")
	assert_ge "requests nginx logged" 1000 "$logged"
	wait_metric "ztrace_requests_total{container=\"pong\",operation=\"GET /index.html\",protocol=\"http\",status_class=\"2xx\",kind=\"server\"} $logged"
	ztrace_stop
	drops=$(zt_summary_drops)
	assert_eq "drops" 0 "$drops"
	assert_eq "server spans = requests nginx logged" "$logged" "$(jcount "$out" '.kind == "server"')"
}

zt_main "$@"
