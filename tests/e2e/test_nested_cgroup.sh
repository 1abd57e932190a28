#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# A cgroup made below the traced container's after ztrace started (as a
# runtime does for an exec'd process, or systemd for a sub-unit): a server
# started in it is traced, labelled with its own cgroup.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_nested_cgroup() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL s=http://$ZT_NET4.2:8081 slog
	ztrace_start "$out" --container pong
	ct_subcg pong/sub
	nginx_start pong/sub "$(ct_ip pong)" 8081
	slog=$NGINX_LOG
	assert_eq "the new nginx's cgroup" "0::/ztrace-test/pong/sub" "$(grep '^0::' "/proc/$NGINX_PID/cgroup")"
	ct_exec ping curl -sS "$s/" "$s/status/404" >/dev/null
	ct_exec ping curl -sS "$b/status/201" >/dev/null
	ct_subcg pong/sub/deeper
	nginx_start pong/sub/deeper "$(ct_ip pong)" 8082
	ct_exec ping curl -sS "http://$ZT_NET4.2:8082/status/202" >/dev/null
	ztrace_stop

	assert_eq "spans" 4 "$(jcount "$out")"
	assert_log_requests "$out" '.cgroup == "ztrace-test/pong/sub"' "$slog"
	assert_log_requests "$out" '.cgroup == "ztrace-test/pong"' "$PONG_LOG"
	assert_log_requests "$out" '.cgroup == "ztrace-test/pong/sub/deeper"' "$NGINX_LOG"
	assert_spans "$out" '.cgroup == "ztrace-test/pong/sub"' \
		".cgroup_id == $(ct_cgid pong/sub) and .local == \"$(ct_ip pong):8081\" and .kind == \"server\"" \
		"the sub-cgroup's spans"
	assert_spans "$out" '.cgroup == "ztrace-test/pong/sub/deeper"' ".cgroup_id == $(ct_cgid pong/sub/deeper)" \
		"the sub-sub-cgroup's spans"
}

zt_main "$@"
