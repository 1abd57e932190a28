#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# --otlp: spans of nginx (pong) and curl (ping) reach an OTLP/HTTP receiver
# (tests/e2e/otlp_receiver.js) that decodes them with the OpenTelemetry
# project's generated protobuf code, from the npm package
# @opentelemetry/otlp-transformer 0.52.1, installed under build/npm on first
# use. Every field of every span is compared with ztrace's own --json output
# of the same run (otlp_compare.js); a collector that is down, then answers
# 503, loses nothing; a queue too small drops, and counts what it dropped.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck source=otlp_lib.sh
. "$ZT_E2E_DIR/otlp_lib.sh"
otlp_answered() { [ -s "$OTLP_DIR/requests.jsonl" ] && grep -q "\"status\":$1" "$OTLP_DIR/requests.jsonl"; }
zt_json_spans() { [ "$(grep -c '' "$ZT_OUT")" -ge "$1" ]; }

# otlp_stat KEY: a count from the "ztrace: otlp:" exit line.
otlp_stat() {
	local line
	line=$(grep '^ztrace: otlp: ' "$ZT_OUT.err" | tail -n 1) || fail "no 'ztrace: otlp:' line on stderr"
	sed -n "s/.* $1=\([0-9][0-9]*\).*/\1/p" <<<"$line"
}

# otlp_usage_error MESSAGE ARGS...: ztrace ARGS exits 2 saying MESSAGE (argp
# adds its "Try --help" line).
otlp_usage_error() {
	local msg=$1 rc=0
	shift
	timeout 10 "$ZTRACE" "$@" >"$ZT_TMP/usage.out" 2>"$ZT_TMP/usage.err" 9>&- || rc=$?
	assert_eq "exit status of ztrace $*" 2 "$rc"
	assert_eq "its first line" "ztrace: $msg" "$(head -n 1 "$ZT_TMP/usage.err")"
	assert_eq "its stdout" "" "$(cat "$ZT_TMP/usage.out")"
}

otlp_compare() {
	local res
	res=$(node "$ZT_E2E_DIR/otlp_compare.js" "$ZT_OUT" "$OTLP_DIR/spans.jsonl" "$(hostname)") ||
		fail "OTLP spans differ from ztrace's --json: $res"
	pass "$res: every field as in --json"
}

# Requests the receiver answered 200: all protobuf (or JSON), all to
# /v1/traces, and (protobuf) each body byte for byte what the official
# encoder makes of what the official decoder read.
otlp_assert_requests() {
	local f=$OTLP_DIR/requests.jsonl ctype=$1
	assert_eq "requests the receiver could not decode" 0 "$(jcount "$f" 'has("error")')"
	assert_spans "$f" '.status == 200' ".url == \"/v1/traces\" and .method == \"POST\" and .ctype == \"$ctype\"" \
		"POST /v1/traces, $ctype"
	if [ "$ctype" = application/x-protobuf ]; then
		assert_spans "$f" '.status == 200' '.reencodeEqual == true' \
			"bodies re-encode to the same bytes (no field unknown to the schema)"
	fi
}

otlp_traffic() {
	local b=$PONG_URL
	ct_exec ping curl -sS "$b/" "$b/status/404" "$b/status/503" "$b/index.html?x=1&y=2" "$b/big" >/dev/null
	ct_exec ping curl -sS -H "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" \
		"$b/" >/dev/null
}

test_otlp_protobuf_fields() {
	otlp_npm
	zt_pair
	otlp_port
	otlp_rx_start
	ztrace_start "$ZT_TMP/spans.json" --container ping --container pong --otlp "127.0.0.1:$OTLP_PORT"
	otlp_traffic
	zt_wait_for 10 "12 spans on stdout" zt_json_spans 12
	ztrace_stop

	assert_eq "ztrace's spans" 12 "$(jcount "$ZT_OUT")"
	# curl's span takes the header's parent; nginx's, linked, curl's span.
	assert_eq "client spans with the traceparent's parent" 1 \
		"$(jcount "$ZT_OUT" '.kind == "client" and .parent_span_id == "00f067aa0ba902b7" and
			.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"')"
	assert_eq "server spans in the traceparent's trace, under curl's span" 1 \
		"$(jq -s '[.[] | select(.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736")] as $t |
			[$t[] | select(.kind == "server" and .parent_span_id == ($t[] | select(.kind == "client") | .span_id))] |
			length' "$ZT_OUT")"
	assert_eq "linked pairs (server span under its client span)" 6 \
		"$(jq -s '[.[] | select(.kind == "client") | .span_id] as $c |
			[.[] | select(.kind == "server" and (.parent_span_id as $p | $c | index($p)))] | length' "$ZT_OUT")"
	assert_eq "spans received" 12 "$(otlp_rx_spans)"
	otlp_assert_requests application/x-protobuf
	otlp_compare
	assert_eq "otlp sent" 12 "$(otlp_stat sent)"
	assert_eq "otlp retries" 0 "$(otlp_stat retries)"
	assert_eq "otlp dropped_queue_full" 0 "$(otlp_stat dropped_queue_full)"
	assert_eq "otlp dropped_rejected" 0 "$(otlp_stat dropped_rejected)"
	assert_eq "otlp dropped_at_exit" 0 "$(otlp_stat dropped_at_exit)"
	assert_eq "otlp batches = requests answered" "$(otlp_stat batches)" \
		"$(jcount "$OTLP_DIR/requests.jsonl" '.status == 200')"
	# One resource per process: nginx's workers and each curl.
	assert_eq "resources named pong run nginx" "nginx" \
		"$(jq -r 'select(.resource["service.name"] == "pong") | .resource["process.executable.name"]' \
			"$OTLP_DIR/spans.jsonl" | sort -u | paste -sd' ')"
}

test_otlp_json_fields() {
	otlp_npm
	zt_pair
	otlp_port
	otlp_rx_start
	ztrace_start "$ZT_TMP/spans.json" --container ping --container pong \
		--otlp "http://127.0.0.1:$OTLP_PORT/v1/traces" --otlp-json
	otlp_traffic
	zt_wait_for 10 "12 spans on stdout" zt_json_spans 12
	ztrace_stop

	assert_eq "spans received" 12 "$(otlp_rx_spans)"
	otlp_assert_requests application/json
	otlp_compare
	assert_eq "otlp sent" 12 "$(otlp_stat sent)"
}

# Redis: db.* attributes, an error reply's status, through the same decoder.
test_otlp_redis_fields() {
	local d=$ZT_TMP/redis
	otlp_npm
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	mkdir -p "$d"
	ct_bg pong redis-server --port 6379 --bind "$ZT_NET4.2" --save '' --appendonly no \
		--protected-mode no --dir "$d" --logfile "$d/redis.log"
	zt_wait_for 10 "redis-server to listen" \
		sh -c "ip netns exec zt-pong ss -Hltn 'sport = :6379' | grep -q ."
	otlp_port
	otlp_rx_start
	ztrace_start "$ZT_TMP/spans.json" --container ping --container pong --otlp "127.0.0.1:$OTLP_PORT"
	ct_exec ping redis-cli -h "$ZT_NET4.2" SET k v >/dev/null
	ct_exec ping redis-cli -h "$ZT_NET4.2" INCR k >/dev/null || true
	ct_exec ping redis-cli -h "$ZT_NET4.2" CLIENT SETNAME zt >/dev/null
	zt_wait_for 10 "a failed INCR on stdout" \
		sh -c "grep -q '\"method\":\"INCR\".*\"failed\":true' '$ZT_TMP/spans.json'"
	sleep 0.5
	ztrace_stop

	assert_eq "INCR spans (client and server), failed with ERR" "2" \
		"$(jcount "$ZT_OUT" '.protocol == "redis" and .method == "INCR" and .failed and .error == "ERR"')"
	assert_eq "spans received" "$(jcount "$ZT_OUT")" "$(otlp_rx_spans)"
	otlp_assert_requests application/x-protobuf
	otlp_compare
	assert_eq "db.system of every span" "redis" \
		"$(jq -r '.attributes["db.system"]' "$OTLP_DIR/spans.jsonl" | sort -u | paste -sd' ')"
	assert_eq "CLIENT SETNAME's db.query.text" "CLIENT SETNAME CLIENT SETNAME" \
		"$(jq -r 'select(.attributes["db.operation.name"] == "CLIENT") | .attributes["db.query.text"]' \
			"$OTLP_DIR/spans.jsonl" | paste -sd' ')"
}

# Nothing listens at first, then the collector answers 503 for a while: every
# span arrives once, after retries.
test_otlp_collector_away() {
	local b i urls=()
	otlp_npm
	zt_pair
	otlp_port
	b=$PONG_URL
	for i in $(seq 1 20); do urls+=("$b/?n=$i"); done
	ztrace_start "$ZT_TMP/spans.json" --container ping --otlp "127.0.0.1:$OTLP_PORT"
	ct_exec ping curl -sS "${urls[@]}" >/dev/null
	sleep 2 # the first batch is due after 1 s: it meets a closed port
	: >"$ZT_TMP/fail"
	otlp_rx_start --fail-file "$ZT_TMP/fail"
	zt_wait_for 15 "a 503 from the receiver" otlp_answered 503
	ct_exec ping curl -sS "${urls[@]:0:10}" >/dev/null
	sleep 1
	rm -f "$ZT_TMP/fail"
	zt_wait_for 20 "30 spans at the receiver" otlp_has_spans 30
	ztrace_stop

	assert_eq "ztrace's spans" 30 "$(jcount "$ZT_OUT")"
	assert_eq "spans received" 30 "$(otlp_rx_spans)"
	otlp_compare
	assert_ge "503 answers" 1 "$(jcount "$OTLP_DIR/requests.jsonl" '.status == 503')"
	assert_eq "otlp sent" 30 "$(otlp_stat sent)"
	assert_ge "otlp retries (connection refused, then 503)" 2 "$(otlp_stat retries)"
	assert_eq "otlp dropped_queue_full" 0 "$(otlp_stat dropped_queue_full)"
	assert_eq "otlp dropped_at_exit" 0 "$(otlp_stat dropped_at_exit)"
}

# A queue of 8 while the collector is down: 8 in the batch being retried,
# 8 queued, the rest dropped and counted; once it is up, what was kept
# arrives, and sent + dropped == spans.
test_otlp_queue_full() {
	local b i urls=() sent full
	otlp_npm
	zt_pair
	otlp_port
	b=$PONG_URL
	for i in $(seq 1 50); do urls+=("$b/?n=$i"); done
	ztrace_start "$ZT_TMP/spans.json" --container ping --otlp "127.0.0.1:$OTLP_PORT" --otlp-queue 8
	ct_exec ping curl -sS "${urls[@]}" >/dev/null
	zt_wait_for 10 "50 spans on stdout" zt_json_spans 50
	otlp_rx_start
	zt_wait_for 20 "8 spans at the receiver" otlp_has_spans 8
	sleep 1
	ztrace_stop

	sent=$(otlp_stat sent)
	full=$(otlp_stat dropped_queue_full)
	assert_eq "ztrace's spans" 50 "$(jcount "$ZT_OUT")"
	assert_eq "spans received = sent" "$sent" "$(otlp_rx_spans)"
	assert_ge "sent (the batch in flight and the queue)" 8 "$sent"
	assert_ge "dropped_queue_full" 34 "$full"
	assert_eq "sent + dropped_queue_full" 50 "$((sent + full))"
	assert_eq "otlp dropped_at_exit" 0 "$(otlp_stat dropped_at_exit)"
	# What arrived is what ztrace printed, field for field.
	jq -r '"\"span_id\":\"" + .spanId + "\""' "$OTLP_DIR/spans.jsonl" >"$ZT_TMP/kept.ids"
	grep -F -f "$ZT_TMP/kept.ids" "$ZT_OUT" >"$ZT_TMP/kept.json"
	ZT_OUT=$ZT_TMP/kept.json otlp_compare
}

# wrk's load with a live collector and a queue of 64: the queue overflows
# while a batch is on its way; every span is sent or counted as dropped, and
# what was sent arrived once, field for field.
test_otlp_load() {
	local sent full n
	otlp_npm
	zt_pair
	otlp_port
	otlp_rx_start
	ztrace_start "$ZT_TMP/spans.json" --container ping --otlp "127.0.0.1:$OTLP_PORT" --otlp-queue 64
	ct_exec ping wrk -c 4 -t 1 -d 1s --timeout 2s "$PONG_URL/" >"$ZT_TMP/wrk.log" 2>&1 ||
		fail "wrk failed: $(cat "$ZT_TMP/wrk.log")"
	zt_log "wrk: $(grep -E 'requests in' "$ZT_TMP/wrk.log" | tr -s ' ')"
	sleep 2
	ztrace_stop

	n=$(jcount "$ZT_OUT")
	sent=$(otlp_stat sent)
	full=$(otlp_stat dropped_queue_full)
	assert_eq "ztrace's spans = nginx's requests" "$(nginx_log_count "$PONG_LOG")" "$n"
	assert_gt "dropped_queue_full" 0 "$full"
	assert_gt "sent" 0 "$sent"
	assert_eq "sent + dropped" "$n" "$((sent + full + $(otlp_stat dropped_at_exit) + $(otlp_stat dropped_rejected)))"
	assert_eq "spans received = sent" "$sent" "$(otlp_rx_spans)"
	jq -r '"\"span_id\":\"" + .spanId + "\""' "$OTLP_DIR/spans.jsonl" >"$ZT_TMP/kept.ids"
	grep -F -f "$ZT_TMP/kept.ids" "$ZT_OUT" >"$ZT_TMP/kept.json"
	ZT_OUT=$ZT_TMP/kept.json otlp_compare
}

# A collector that never comes: stop waits its 5 s, then counts the loss.
test_otlp_down_at_exit() {
	local t0 t1
	zt_pair
	otlp_port
	ztrace_start "$ZT_TMP/spans.json" --container ping --otlp "127.0.0.1:$OTLP_PORT"
	ct_exec ping curl -sS "$PONG_URL/" "$PONG_URL/big" >/dev/null
	zt_wait_for 10 "2 spans on stdout" zt_json_spans 2
	t0=$(date +%s%N)
	ztrace_stop
	t1=$(date +%s%N)
	assert_eq "otlp sent" 0 "$(otlp_stat sent)"
	assert_eq "otlp dropped_at_exit" 2 "$(otlp_stat dropped_at_exit)"
	assert_ge "otlp retries" 1 "$(otlp_stat retries)"
	assert_ge "stop waited (ms)" 4900 "$(((t1 - t0) / 1000000))"
}

# A collector that takes the connection and never answers: the POST in
# progress is abandoned at the exit deadline (5 s), not at its own timeout.
test_otlp_hung_at_exit() {
	local t0 t1 ms
	zt_pair
	otlp_port
	"$ZT_PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); open(sys.argv[2], "w").close()
time.sleep(120)' "$OTLP_PORT" "$ZT_TMP/hung" 9>&- &
	ZT_BG_PIDS+=("$!")
	disown "$!"
	zt_wait_for 10 "the silent listener" test -e "$ZT_TMP/hung"
	ztrace_start "$ZT_TMP/spans.json" --container ping --otlp "127.0.0.1:$OTLP_PORT"
	ct_exec ping curl -sS "$PONG_URL/" >/dev/null
	zt_wait_for 10 "1 span on stdout" zt_json_spans 1
	sleep 1.5 # the batch is posted after 1 s, and hangs
	t0=$(date +%s%N)
	ztrace_stop
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	assert_eq "otlp sent" 0 "$(otlp_stat sent)"
	assert_eq "otlp dropped_at_exit" 1 "$(otlp_stat dropped_at_exit)"
	assert_ge "stop waited (ms)" 4900 "$ms"
	[ "$ms" -lt 7000 ] || fail "stop took ${ms} ms: the hung POST held it past the 5 s deadline"
	pass "stop took $ms ms (< 7000)"
}

# A collector that refuses the data (400): dropped, counted, not retried.
test_otlp_rejected() {
	otlp_npm
	zt_pair
	otlp_port
	otlp_rx_start --status 400
	ztrace_start "$ZT_TMP/spans.json" --container ping --otlp "127.0.0.1:$OTLP_PORT"
	ct_exec ping curl -sS "$PONG_URL/" "$PONG_URL/status/404" "$PONG_URL/" >/dev/null
	zt_wait_for 10 "a request at the receiver" otlp_answered 400
	ztrace_stop
	assert_eq "otlp sent" 0 "$(otlp_stat sent)"
	assert_eq "otlp dropped_rejected" 3 "$(otlp_stat dropped_rejected)"
	assert_eq "otlp retries" 0 "$(otlp_stat retries)"
	otlp_usage_error "--otlp-json and --otlp-queue go with --otlp URL" --all --otlp-json
	otlp_usage_error "--otlp-queue 0: 1 to 1048576" --all --otlp 127.0.0.1:1 --otlp-queue 0
	otlp_usage_error "--otlp ftp://c:4318: host:port, or an http:// or https:// URL" --all --otlp ftp://c:4318
}

zt_main "$@"
