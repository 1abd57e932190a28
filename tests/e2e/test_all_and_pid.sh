#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The other ways to select: --all (every cgroup, each span labelled with its
# own), --pid (that process's cgroup), --cgroup (absolute, relative to the
# cgroup2 root, a parent with everything below, and on a hybrid host the
# cgroup v1 twin path); and the usage errors: exit 2, one line on stderr.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

test_all() {
	zt_trio
	local olog=$OTHER_LOG out=$ZT_TMP/spans.json b=$PONG_URL o=$OTHER_URL
	ztrace_start "$out" --all
	ct_exec ping curl -sS "$b/" "$b/status/404" "$b/big" >/dev/null
	ct_exec ping curl -sS "$o/" "$o/status/201" >/dev/null
	ztrace_stop
	# Other processes on the host may show up too: count ours by cgroup.
	assert_log_requests "$out" '.kind == "server" and .cgroup == "ztrace-test/pong"' "$PONG_LOG"
	assert_log_requests "$out" '.kind == "server" and .cgroup == "ztrace-test/other"' "$olog"
	assert_spans "$out" '.cgroup == "ztrace-test/pong"' ".container == \"pong\" and .cgroup_id == $(ct_cgid pong)" "pong's labels"
	assert_spans "$out" '.cgroup == "ztrace-test/other"' ".container == \"other\" and .cgroup_id == $(ct_cgid other)" "other's labels"
	assert_eq "client spans of ping" 5 "$(jcount "$out" '.kind == "client" and .cgroup == "ztrace-test/ping"')"
	assert_spans "$out" '.cgroup == "ztrace-test/ping"' ".kind == \"client\" and .comm == \"curl\" and .container == \"ping\" and .cgroup_id == $(ct_cgid ping)" "ping's labels"
	assert_eq "server spans of ping" 0 "$(jcount "$out" '.kind == "server" and .cgroup == "ztrace-test/ping"')"
}

test_pid() {
	zt_pair
	local out=$ZT_TMP/spans.json b=$PONG_URL worker
	worker=$(nginx_workers "$PONG_PID" | cut -d' ' -f1)
	[ -n "$worker" ] || fail "no nginx worker"
	ztrace_start "$out" --pid "$worker"
	ct_exec ping curl -sS "$b/" "$b/status/404" >/dev/null
	ct_exec ping curl -sS "$b/status/503" >/dev/null
	ztrace_stop
	# Its cgroup: both workers' requests.
	assert_eq "spans" 3 "$(jcount "$out")"
	assert_log_requests "$out" '.kind == "server"' "$PONG_LOG"
	assert_spans "$out" true ".cgroup == \"ztrace-test/pong\" and .cgroup_id == $(ct_cgid pong)" "pong's cgroup"
}

# zt_cgroup_run ARG N_SERVER N_CLIENT: ztrace --cgroup ARG around two
# requests from ping to pong.
zt_cgroup_run() {
	local out=$ZT_TMP/spans-$RANDOM.json
	ztrace_start "$out" --cgroup "$1"
	ct_exec ping curl -sS "$PONG_URL/" "$PONG_URL/status/404" >/dev/null
	ztrace_stop
	assert_eq "server spans with --cgroup $1" "$2" "$(jcount "$out" '.kind == "server" and .cgroup == "ztrace-test/pong"')"
	assert_eq "client spans with --cgroup $1" "$3" "$(jcount "$out" '.kind == "client" and .cgroup == "ztrace-test/ping"')"
	assert_eq "other spans with --cgroup $1" 0 "$(jcount "$out" '.cgroup != "ztrace-test/pong" and .cgroup != "ztrace-test/ping"')"
	jq -r 'select(.kind == "server") | "\(.status) \(.target)"' "$out" | paste -sd' ' >"$out.req"
	[ "$2" -eq 0 ] || assert_eq "requests with --cgroup $1" "200 / 404 /status/404" "$(cat "$out.req")"
}

test_cgroup_paths() {
	zt_pair
	zt_cgroup_run "$(ct_cgroup pong)" 2 0
	zt_cgroup_run "ztrace-test/pong" 2 0
	zt_cgroup_run "/ztrace-test/ping" 0 2
	# A parent: everything below it.
	zt_cgroup_run "$ZT_CG_BASE" 2 2
	local v1
	v1=$(cg1_root)
	if [ -n "$v1" ]; then
		# A v1 directory of the same path, as a hybrid host's runtime makes.
		zt_mkdir_tracked "$v1/ztrace-test/pong"
		zt_cgroup_run "$v1/ztrace-test/pong" 2 0
	else
		zt_log "no cgroup v1 hierarchy mounted: the v1 path form is not checked"
	fi
}

test_errors() {
	local dead
	sleep 0 &
	dead=$!
	wait "$dead"
	ztrace_expect_error --cgroup /nonexistent/zt-e2e
	ztrace_expect_error --cgroup "$ZT_CG2/zt-e2e-no-such-cgroup"
	ztrace_expect_error --cgroup /tmp
	ztrace_expect_error --pid "$dead"
	ztrace_expect_error --container zt-e2e-no-such-container
	if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$ZTRACE"; then
		zt_expect_exit2 "ztrace --all as nobody" \
			setpriv --reuid=65534 --regid=65534 --clear-groups "$ZTRACE" --all
	else
		zt_log "$ZTRACE is not executable by nobody: the not-root error is not checked"
	fi
}

zt_main "$@"
