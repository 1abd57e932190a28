#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# wrk in ping loads nginx in pong (8 keep-alive connections, 2 threads, 3 s,
# a mix of paths); ztrace --container pong. Every request nginx logged is
# exactly one span, per status and target, and nothing was dropped.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_wrk_every_request() {
	zt_pair
	local out=$ZT_TMP/spans.json lua=$ZT_TMP/paths.lua logged spans drops
	cat >"$lua" <<'LUA'
local paths = { "/", "/status/404", "/status/201", "/chunked", "/", "/index.html?wrk=1" }
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
	ztrace_start "$out" --container pong
	ct_exec ping wrk -c 8 -t 2 -d 3s --timeout 2s -s "$lua" "$PONG_URL/" >"$ZT_TMP/wrk.log" 2>&1 ||
		fail "wrk failed: $(cat "$ZT_TMP/wrk.log")"
	# Requests in flight when wrk stopped are logged (and traced) a moment later.
	sleep 0.5
	ztrace_stop
	zt_log "wrk: $(grep -E 'requests in|Requests/sec' "$ZT_TMP/wrk.log" | paste -sd' ' | tr -s ' ')"

	drops=$(zt_summary_drops)
	[ "$drops" -eq 0 ] || fail "ztrace dropped $drops records (the default ring buffer should hold this): $ZT_SUMMARY"
	pass "no drops"
	logged=$(nginx_log_count "$PONG_LOG")
	assert_ge "requests nginx logged" 1000 "$logged"
	spans=$(jcount "$out" '.kind == "server"')
	assert_eq "server spans = requests nginx logged" "$logged" "$spans"
	assert_eq "spans in the summary = JSON lines" "$(wc -l <"$out" | tr -d ' ')" "$(zt_summary_get spans)"
	assert_eq "spans per status and target = nginx's" \
		"$(awk '{print $1, $3}' "$PONG_LOG" | sort | uniq -c | awk '{print $1 "x" $2 $3}' | paste -sd' ')" \
		"$(jq -r 'select(.kind == "server") | "\(.status) \(.target)"' "$out" | sort | uniq -c | awk '{print $1 "x" $2 $3}' | paste -sd' ')"
	assert_eq "distinct peers = wrk's connections" "$(awk '{print $7}' "$PONG_LOG" | sort -u | wc -l)" \
		"$(jq -r 'select(.kind == "server") | .peer' "$out" | sort -u | wc -l)"
	assert_eq "spans outside pong or with flags" 0 \
		"$(jcount "$out" '.container != "pong" or .flags != [] or .method != "GET"')"
}

zt_main "$@"
