#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# One trace across containers, linked on the host without touching the wire:
# curl in ping -> haproxy in lb -> nginx in pong1 / pong2 (round robin). Each
# request is one trace of four spans: ping client -> lb server -> lb client
# -> pongN server; the critical path names the pong; a traceparent curl sends
# is kept. And a Python handler that calls pong1 on its own thread (a parent
# by thread), or from a pool thread (no parent invented).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TRACE_CTS=(--container ping --container lb --container pong1 --container pong2)

# haproxy_start GLOBAL DEFAULTS SERVER...: haproxy in container lb (.3) on
# 8080, HTTP mode, round robin over SERVER ("addr:port" each), with extra
# lines in its global and defaults sections. Sets LB_URL.
haproxy_start() {
	local global=$1 defaults=$2 d=$ZT_TMP/haproxy i=0 srv
	shift 2
	mkdir -p "$d"
	{
		printf 'global\n\tpidfile %s/haproxy.pid\n\t%s\n' "$d" "$global"
		printf 'defaults\n\tmode http\n\ttimeout connect 2s\n\ttimeout client 10s\n'
		printf '\ttimeout server 10s\n\t%s\n' "$defaults"
		printf 'frontend fe\n\tbind %s.3:8080\n\tdefault_backend be\n' "$ZT_NET4"
		printf 'backend be\n\tbalance roundrobin\n'
		for srv in "$@"; do
			i=$((i + 1))
			printf '\tserver p%d %s\n' "$i" "$srv"
		done
	} >"$d/haproxy.cfg"
	ct_bg lb haproxy -db -f "$d/haproxy.cfg" >"$d/stderr.log" 2>&1
	zt_wait_for 10 "haproxy listening" \
		sh -c "ip netns exec zt-lb ss -Hltn 'sport = :8080' | grep -q ."
	LB_URL=http://$ZT_NET4.3:8080
}

# trace_lb [KEEPALIVE]: containers ping .2, lb .3 (haproxy on 8080), pong1 .4
# and pong2 .5 (nginx on 8080; /slow sends 200 KB at 1 MB/s). KEEPALIVE=0:
# haproxy closes every connection to a pong after its request.
trace_lb() {
	local ka=${1:-1} n
	ct_create ping "$ZT_NET4.2"
	ct_create lb "$ZT_NET4.3"
	for n in 1 2; do
		ct_create "pong$n" "$ZT_NET4.$((3 + n))"
		nginx_start "pong$n" "$ZT_NET4.$((3 + n))" 8080 \
			"location = /slow { alias $ZT_TMP/nginx-pong$n-8080/www/big; limit_rate 1m; }"
	done
	haproxy_start "" "$([ "$ka" = 1 ] || echo "option httpclose")" "$ZT_NET4.4:8080" "$ZT_NET4.5:8080"
}

# assert_chains FILE N: N traces of 4 spans each, ping client -> lb server ->
# lb client -> pong server, ids equal within, distinct across.
assert_chains() {
	local f=$1 n=$2 bad
	assert_eq "spans" "$((4 * n))" "$(jcount "$f" '.type == null')"
	assert_eq "traces" "$n" "$(jq -s 'map(select(.type == null) | .trace_id) | unique | length' "$f")"
	assert_eq "trace records" "$n" "$(jcount "$f" '.type == "trace"')"
	# Per trace: the four spans, by kind and container, each the child of
	# the one before.
	bad=$(jq -s -c '
		map(select(.type == null)) | group_by(.trace_id)[] |
		(map({key: .span_id, value: .}) | from_entries) as $by |
		(map(select(.container == "ping" and .kind == "client"))) as $c1 |
		(map(select(.container == "lb" and .kind == "server"))) as $s2 |
		(map(select(.container == "lb" and .kind == "client"))) as $c2 |
		(map(select((.container | startswith("pong")) and .kind == "server"))) as $s3 |
		select(length != 4 or ($c1 | length) != 1 or ($s2 | length) != 1 or
		       ($c2 | length) != 1 or ($s3 | length) != 1 or
		       $s2[0].parent_span_id != $c1[0].span_id or
		       $c2[0].parent_span_id != $s2[0].span_id or
		       $s3[0].parent_span_id != $c2[0].span_id or
		       $s3[0].peer != $c2[0].local or $s2[0].peer != $c1[0].local or
		       ($s3[0].target != $c1[0].target)) |
		map({container, kind, target, span_id, parent_span_id, no_parent})' "$f" | head -n 2)
	[ -z "$bad" ] || fail "traces that are not ping -> lb -> lb -> pong: $bad"
	pass "$n traces: ping client -> lb server -> lb client -> pong server"
	assert_eq "pongs serving (round robin)" "pong1 pong2" \
		"$(jq -r -s 'map(select(.kind == "server" and .type == null and (.container | startswith("pong"))) | .container) | unique | join(" ")' "$f")"
	assert_eq "span ids distinct" "$((4 * n))" "$(jq -s 'map(select(.type == null) | .span_id) | unique | length' "$f")"
}

# assert_trace_records FILE: each trace record lists its trace's spans, root
# first; its critical path runs from the root to the pong server; the time
# by container sums to the duration; the verdict says it.
assert_trace_records() {
	local f=$1 bad
	bad=$(jq -s -c '
		(map(select(.type == null)) | map({key: .span_id, value: .}) | from_entries) as $by |
		map(select(.type == "trace"))[] |
		select((.spans | length) != 4 or
		       (.spans | map($by[.].trace_id) | unique) != [.trace_id] or
		       $by[.spans[0]].container != "ping" or
		       .duration_ns != $by[.spans[0]].duration_ns or
		       (.critical_path | length) != 4 or
		       ($by[.critical_path[-1]].container | startswith("pong") | not) or
		       ([.by_container[]] | add) != .duration_ns or
		       (.verdict | test("^[0-9.]+ ms: [0-9.]+ ms in ping, [0-9.]+ ms in lb, [0-9.]+ ms in pong[12]$") | not))' \
		"$f" | head -n 2)
	[ -z "$bad" ] || fail "trace records that do not describe their trace: $bad"
	pass "trace records: spans, critical path ending in the pong, time by container, verdict"
}

trace_requests() {
	local i
	for i in $(seq 1 "$1"); do
		ct_exec ping curl -sS -o /dev/null "$LB_URL/$2"
	done
}

test_lb_keepalive() {
	trace_lb 1
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" "${TRACE_CTS[@]}" --traces
	# One connection from curl, three requests on it; then three more, one
	# connection each: haproxy reuses its connections to the pongs.
	ct_exec ping curl -sS -o /dev/null "$LB_URL/" -o /dev/null "$LB_URL/index.html" -o /dev/null "$LB_URL/"
	trace_requests 3 ""
	ztrace_stop
	assert_chains "$out" 6
	assert_trace_records "$out"
	assert_spans "$out" '.type == null and .kind == "client" and .container == "ping"' \
		'.no_parent == "root" and .parent_span_id == ""' "curl's spans start their traces"
	assert_eq "links by peer" 12 "$(zt_summary_get linked_peer)"
	assert_eq "links by thread" 6 "$(zt_summary_get linked_local)"
	assert_eq "expired waits" 0 "$(zt_summary_get expired)"
}

test_lb_close_and_slow() {
	trace_lb 0
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" "${TRACE_CTS[@]}" --traces
	trace_requests 4 slow
	ztrace_stop
	assert_chains "$out" 4
	assert_trace_records "$out"
	# 200 KB at 1 MB/s: nginx's throttled send is most of each request.
	assert_spans "$out" '.type == "trace"' \
		'(.by_container | to_entries | max_by(.value) | .key | startswith("pong")) and .duration_ns > 100000000' \
		"the critical path's longest share is the pong's"
	assert_eq "expired waits" 0 "$(zt_summary_get expired)"
}

test_traceparent_kept() {
	trace_lb 1
	local out=$ZT_TMP/spans.json tid=4bf92f3577b34da6a3ce929d0e0e4736 pid=00f067aa0ba902b7
	ztrace_start "$out" "${TRACE_CTS[@]}" --traces
	ct_exec ping curl -sS -o /dev/null -H "traceparent: 00-$tid-$pid-01" "$LB_URL/"
	# Malformed (upper case): ignored, counted, never half-trusted.
	ct_exec ping curl -sS -o /dev/null -H "traceparent: 00-${tid^^}-$pid-01" "$LB_URL/"
	ztrace_stop
	assert_chains "$out" 2
	assert_eq "spans of the header's trace" 4 "$(jcount "$out" ".type == null and .trace_id == \"$tid\"")"
	# curl's span is the request that carried the header: the header's
	# parent is its parent; below, every parent is the span ztrace saw.
	assert_spans "$out" ".type == null and .trace_id == \"$tid\" and .container == \"ping\"" \
		".parent_span_id == \"$pid\"" "curl's span keeps the header's parent"
	assert_eq "spans whose parent is the header's" 1 "$(jcount "$out" ".type == null and .parent_span_id == \"$pid\"")"
	# Three spans see the bad header (curl's, haproxy's two sides, nginx's:
	# four), each ignores it.
	assert_eq "traceparent_bad" 4 "$(zt_summary_get traceparent_bad)"
}

# trace_app MODE: container app (.6) runs tests/e2e/trace_app.py, which for
# each request calls pong1 on its own thread (MODE=same) or from a pool
# thread (MODE=pool).
trace_app() {
	ct_create ping "$ZT_NET4.2"
	ct_create pong1 "$ZT_NET4.4"
	ct_create app "$ZT_NET4.6"
	nginx_start pong1 "$ZT_NET4.4" 8080
	ct_bg app "$ZT_PY" "$ZT_E2E_DIR/trace_app.py" "$ZT_NET4.6" 8080 "http://$ZT_NET4.4:8080/" "$1" \
		>"$ZT_TMP/app.log" 2>&1
	zt_wait_for 10 "app listening" sh -c "ip netns exec zt-app ss -Hltn 'sport = :8080' | grep -q ."
}

test_app_same_thread() {
	trace_app same
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container ping --container app --container pong1 --traces
	trace_requests_app 3
	ztrace_stop
	assert_eq "spans" 12 "$(jcount "$out" '.type == null')"
	assert_eq "traces" 3 "$(jq -s 'map(select(.type == null) | .trace_id) | unique | length' "$out")"
	assert_spans "$out" '.type == null and .container == "app" and .kind == "client"' \
		'.parent_span_id != "" and .no_parent == null' "app's calls are children of its requests"
	assert_eq "links by thread" 3 "$(zt_summary_get linked_local)"
	assert_eq "links by peer" 6 "$(zt_summary_get linked_peer)"
}

test_app_thread_pool() {
	trace_app pool
	local out=$ZT_TMP/spans.json
	ztrace_start "$out" --container ping --container app --container pong1 --traces
	trace_requests_app 3
	ztrace_stop
	assert_eq "spans" 12 "$(jcount "$out" '.type == null')"
	# ping -> app is one trace, app's call (and pong1's span under it)
	# another: nothing ties the pool thread to the request.
	assert_eq "traces" 6 "$(jq -s 'map(select(.type == null) | .trace_id) | unique | length' "$out")"
	assert_spans "$out" '.type == null and .container == "app" and .kind == "client"' \
		'.parent_span_id == "" and .no_parent == "thread_pool"' "app's pool calls say why they have no parent"
	assert_eq "thread_pool" 3 "$(zt_summary_get thread_pool)"
}

# One haproxy thread serving two requests at once, its backend slow to
# answer: the second request's call to the backend leaves while both are
# open on that thread. Which caused it is not certain: no parent is guessed.
test_lb_ambiguous() {
	local out=$ZT_TMP/spans.json p1
	ct_create ping "$ZT_NET4.2"
	ct_create lb "$ZT_NET4.3"
	ct_create pong1 "$ZT_NET4.4"
	ct_bg pong1 "$ZT_PY" "$ZT_E2E_DIR/trace_app.py" "$ZT_NET4.4" 8080 - sleep >"$ZT_TMP/app.log" 2>&1
	zt_wait_for 10 "pong1 listening" sh -c "ip netns exec zt-pong1 ss -Hltn 'sport = :8080' | grep -q ."
	haproxy_start "nbthread 1" "" "$ZT_NET4.4:8080"
	ztrace_start "$out" --container ping --container lb --container pong1 --traces
	ct_exec ping curl -sS -o /dev/null "$LB_URL/a" &
	p1=$!
	sleep 0.1
	ct_exec ping curl -sS -o /dev/null "$LB_URL/b"
	wait "$p1"
	ztrace_stop
	assert_eq "spans" 8 "$(jcount "$out" '.type == null')"
	# /a: ping -> lb -> lb -> pong1; /b: ping -> lb, and lb -> pong1 apart.
	assert_eq "traces" 3 "$(jcount "$out" '.type == "trace"')"
	assert_eq "spans of /a's trace" 4 "$(jq -s 'map(select(.type == null)) | (map(select(.target == "/a" and .kind == "client" and .container == "ping"))[0].trace_id) as $t | map(select(.trace_id == $t)) | length' "$out")"
	assert_spans "$out" '.type == null and .container == "lb" and .kind == "client" and .target == "/b"' \
		'.parent_span_id == "" and .no_parent == "ambiguous"' "the second call says why it has no parent"
	assert_spans "$out" '.type == null and .container == "lb" and .kind == "client" and .target == "/a"' \
		'.parent_span_id != ""' "the first call, alone on the thread when it left, has its parent"
	assert_eq "ambiguous" 1 "$(zt_summary_get ambiguous)"
}

trace_requests_app() {
	local i
	for i in $(seq 1 "$1"); do
		ct_exec ping curl -sS -o /dev/null "http://$ZT_NET4.6:8080/"
	done
}

test_traces_text() {
	trace_lb 1
	local out=$ZT_TMP/trees.txt pid deadline
	env --default-signal=INT "$ZTRACE" "${TRACE_CTS[@]}" --traces >"$out" 2>"$out.err" 9>&- &
	ZT_PID=$!
	ZT_OUT=$out
	zt_wait_for 20 "ztrace tracing" grep -qs '^ztrace: tracing ' "$out.err"
	trace_requests 2 slow
	pid=$ZT_PID
	kill -INT "$pid"
	deadline=$((SECONDS + 15))
	while zt_alive "$pid"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "ztrace did not exit"
		sleep 0.05
	done
	wait "$pid"
	ZT_PID=
	zt_log "$(head -n 5 "$out")"
	assert_eq "trees" 2 "$(grep -c '^trace [0-9a-f]\{32\}  [0-9.]* ms: [0-9.]* ms in ping, [0-9.]* ms in lb, [0-9.]* ms in pong[12]$' "$out")"
	assert_eq "lines" 10 "$(grep -c '' "$out")"
	# Indented by depth, all four on the critical path.
	assert_eq "tree shape" "$(printf '%s\n' '* ping client' '*   lb server' '*     lb client' '*       pong server' \
		'* ping client' '*   lb server' '*     lb client' '*       pong server')" \
		"$(grep -v '^trace ' "$out" | sed -E 's/^(\* +[a-z]+)[0-9]? +(client|server).*/\1 \2/')"
	grep -q 'ERROR: \|runtime error:' "$out.err" && fail "sanitizer report: $(cat "$out.err")"
	pass "text trees"
}

zt_main "$@"
