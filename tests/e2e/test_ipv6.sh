#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# IPv6: nginx on fd00:231::2 in pong, curl from ping; addresses are written
# "[addr]:port" on both sides. And a dual-stack listener reached over IPv4:
# v4-mapped addresses are shown as IPv4.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

zt_v6_pair() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	nginx_start pong "$(ct_ip6 pong)" 8080
	PONG_LOG=$NGINX_LOG
	PONG_URL="http://[$(ct_ip6 pong)]:8080"
}

test_ipv6_server() {
	zt_v6_pair
	local out=$ZT_TMP/spans.json port
	ztrace_start "$out" --container pong
	ct_exec ping curl -sSg "$PONG_URL/" "$PONG_URL/status/404" "$PONG_URL/big" >/dev/null
	ztrace_stop
	assert_eq "remote address nginx logged" "$(ct_ip6 ping)" "$(awk 'NR == 1 {print $6}' "$PONG_LOG")"
	assert_eq "spans" 3 "$(jcount "$out")"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_log_bytes "$out" '.kind == "server"' "$PONG_LOG" server
	port=$(awk 'NR == 1 {print $7}' "$PONG_LOG")
	assert_spans "$out" true ".peer == \"[$(ct_ip6 ping)]:$port\"" "peer is [addr]:port"
	assert_spans "$out" true ".local == \"[$(ct_ip6 pong)]:8080\"" "local is [addr]:port"
}

test_ipv6_client() {
	zt_v6_pair
	local out=$ZT_TMP/spans.json port
	ztrace_start "$out" --container ping
	ct_exec ping curl -sSg "$PONG_URL/status/201" "$PONG_URL/" >/dev/null
	ztrace_stop
	assert_eq "spans" 2 "$(jcount "$out")"
	assert_log_requests "$out" '.kind == "client"' "$PONG_LOG"
	port=$(awk 'NR == 1 {print $7}' "$PONG_LOG")
	assert_spans "$out" true ".local == \"[$(ct_ip6 ping)]:$port\" and .peer == \"[$(ct_ip6 pong)]:8080\"" \
		"addresses are [addr]:port"
}

test_v4_mapped() {
	ct_create pong "$ZT_NET4.2"
	ct_create ping "$ZT_NET4.3"
	nginx_start pong :: 8080
	local out=$ZT_TMP/spans.json port b=http://$ZT_NET4.2:8080
	ztrace_start "$out" --container pong
	ct_exec ping curl -sS "$b/" "$b/status/404" >/dev/null
	ztrace_stop
	assert_eq "remote address nginx logged (an IPv6 socket)" "::ffff:$(ct_ip ping)" \
		"$(awk 'NR == 1 {print $6}' "$NGINX_LOG")"
	assert_eq "spans" 2 "$(jcount "$out")"
	assert_log_requests "$out" '.kind == "server"' "$NGINX_LOG"
	port=$(awk 'NR == 1 {print $7}' "$NGINX_LOG")
	assert_spans "$out" true ".peer == \"$(ct_ip ping):$port\" and .local == \"$(ct_ip pong):8080\"" \
		"v4-mapped addresses shown as IPv4"
}

zt_main "$@"
