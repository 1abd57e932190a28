#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Two nginx containers, pong and other, both busy; ztrace --container pong
# sees pong's requests only, including one that other makes to pong, and
# nothing of other's own.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_untraced_neighbour() {
	zt_trio
	local olog=$OTHER_LOG out=$ZT_TMP/spans.json b=$PONG_URL o=$OTHER_URL
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS "$o/" "$o/status/404" >/dev/null
	ct_exec ping curl -sS "$b/" "$b/status/503" "$b/big" >/dev/null
	ct_exec ping curl -sS "$o/big" "$o/status/201" >/dev/null
	ct_exec other curl -sS "$b/status/202" >/dev/null
	ztrace_stop

	assert_eq "requests pong logged" 4 "$(nginx_log_count "$PONG_LOG")"
	assert_eq "requests other logged" 4 "$(nginx_log_count "$olog")"
	assert_eq "spans" 4 "$(jcount "$out")"
	assert_eq "spans of container other" 0 "$(jcount "$out" '.container == "other" or (.cgroup | test("other"))')"
	assert_eq "client spans" 0 "$(jcount "$out" '.kind == "client"')"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_spans "$out" true ".container == \"pong\" and .local == \"$(ct_ip pong):8080\"" "all in pong"
	assert_eq "peers" "$(ct_ip ping) $(ct_ip ping) $(ct_ip ping) $(ct_ip other)" \
		"$(jvals "$out" true '.peer | sub(":[0-9]+$"; "")')"
}

zt_main "$@"
