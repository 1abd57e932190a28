#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nginx in container pong serves curl in container ping over one keep-alive
# connection; ztrace --container pong. Exactly one server span per request, in
# order, each the request nginx itself logged: method, target, status, bytes,
# both addresses, cgroup, process. ping is not traced: no client spans.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_keepalive_statuses() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL t0 t1 port
	local paths=(/ /status/404 /status/503 /big /status/204 /status/201 /chunked
		"/index.html?q=1&r=2" /status/301 /status/304 /status/418)
	ztrace_start "$out" --container pong
	t0=$(date +%s%N)
	ct_exec ping curl -sS "${paths[@]/#/$b}" >/dev/null
	t1=$(date +%s%N)
	ztrace_stop

	# The premise: nginx served them all, on one connection.
	assert_eq "statuses nginx logged" "200 404 503 200 204 201 200 200 301 304 418" \
		"$(nginx_log_col "$PONG_LOG" 1)"
	assert_eq "connections nginx saw" 1 "$(awk '{print $8}' "$PONG_LOG" | sort -u | wc -l)"

	assert_eq "server spans" "${#paths[@]}" "$(jcount "$out" '.kind == "server"')"
	assert_eq "client spans (ping is not traced)" 0 "$(jcount "$out" '.kind == "client"')"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$PONG_LOG" server
	port=$(awk 'NR == 1 {print $7}' "$PONG_LOG")
	assert_spans "$out" true ".peer == \"$(ct_ip ping):$port\"" "peer is curl's socket in ping"
	assert_spans "$out" true ".local == \"$(ct_ip pong):8080\"" "local is nginx's listener in pong"
	assert_spans "$out" true '.cgroup == "ztrace-test/pong" and .container == "pong"' "cgroup and container"
	assert_spans "$out" true ".cgroup_id == $(ct_cgid pong)" "cgroup_id is pong's cgroup2 inode"
	local workers
	workers=$(nginx_workers "$PONG_PID" | tr ' ' ',')
	assert_spans "$out" true ".comm == \"nginx\" and ([.pid] | inside([$workers])) and .tid == .pid" \
		"pid/tid/comm of an nginx worker"
	assert_spans "$out" true '.protocol == "http" and .bytes_out > 0 and .bytes_in > 0' "protocol and bytes"
	assert_spans "$out" true '.flags == []' "no data-quality flags"
	assert_span_times "$out" true "$t0" "$t1"
	assert_unique_ids "$out" true
	assert_eq "distinct trace_ids (each request its own trace)" "${#paths[@]}" \
		"$(jq -s 'map(.trace_id) | unique | length' "$out")"
}

# HEAD responses announce a body they do not carry: the next request on the
# connection must still be found.
test_head_then_get() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS -I "$b/big" "$b/" --next "$b/status/404" "$b/big" "$b/status/202" >/dev/null
	ztrace_stop
	assert_eq "methods nginx logged" "HEAD HEAD GET GET GET" "$(nginx_log_col "$PONG_LOG" 2)"
	assert_eq "connections nginx saw" 1 "$(awk '{print $8}' "$PONG_LOG" | sort -u | wc -l)"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$PONG_LOG" server
}

# A request with a W3C traceparent: its span joins that trace under that
# parent; a request without one starts a new trace.
test_traceparent() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL
	local tid=0af7651916cd43dd8448eb211c80319c pid=b7ad6b7169203331
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS -H "traceparent: 00-$tid-$pid-01" "$b/" "$b/status/404" \
		--next "$b/status/201" >/dev/null
	ztrace_stop
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_spans "$out" '.target != "/status/201"' ".trace_id == \"$tid\" and .parent_span_id == \"$pid\" and .span_id != \"$pid\"" \
		"requests with traceparent keep its trace id and parent"
	assert_spans "$out" '.target == "/status/201"' ".trace_id != \"$tid\" and .parent_span_id == \"\"" \
		"a request without traceparent starts its own trace"
}

zt_main "$@"
