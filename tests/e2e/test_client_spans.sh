#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# ztrace --container ping, where curl calls nginx in pong: one client span per
# request, from curl's side, matching what nginx logged; no server spans.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_client_spans() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL t0 t1
	ztrace_start "$out" --container ping
	t0=$(date +%s%N)
	ct_exec ping curl -sS "$b/" "$b/status/404" "$b/big" "$b/chunked" "$b/status/204" >/dev/null
	ct_exec ping curl -sS "$b/status/503" "$b/index.html?x=1" >/dev/null
	t1=$(date +%s%N)
	ztrace_stop

	assert_eq "connections nginx saw" 2 "$(awk '{print $8}' "$PONG_LOG" | sort -u | wc -l)"
	assert_eq "client spans" 7 "$(jcount "$out" '.kind == "client"')"
	assert_eq "server spans" 0 "$(jcount "$out" '.kind == "server"')"
	assert_log_requests "$out" '.kind == "client"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "client"' "$PONG_LOG" client
	assert_spans "$out" true ".peer == \"$(ct_ip pong):8080\"" "peer is nginx in pong"
	assert_eq "local ports (nginx's remote_port)" "$(nginx_log_col "$PONG_LOG" 7)" \
		"$(jvals "$out" true ".local | ltrimstr(\"$(ct_ip ping):\")")"
	assert_spans "$out" true '.comm == "curl" and .container == "ping" and .cgroup == "ztrace-test/ping"' \
		"curl in ping"
	assert_spans "$out" true ".cgroup_id == $(ct_cgid ping)" "cgroup_id is ping's"
	assert_spans "$out" true '.flags == []' "no data-quality flags"
	assert_span_times "$out" true "$t0" "$t1"
	assert_unique_ids "$out" true
}

zt_main "$@"
