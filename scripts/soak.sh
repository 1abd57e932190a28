#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The long run (`make soak`, root; not in CI): ztrace --container pong --json
# to /dev/null while wrk loads nginx for SOAK_SECONDS (default 300), with new
# connections now and then (wrk restarts every 30 s). ztrace's RSS is sampled
# every 10 s; the run fails if the last third of the samples grew by more
# than 10% over the first third, or if spans != requests or anything dropped.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZTRACE=$(realpath "${ZTRACE:-$ROOT/build/ztrace}")
SECS=${SOAK_SECONDS:-300}
export ZTRACE

[ "$(id -u)" -eq 0 ] || { echo "soak: must run as root" >&2; exit 2; }
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
mkdir -p /run/netns
exec 9>"$ZT_LOCK"
flock -w 600 9 || { echo "soak: could not take $ZT_LOCK" >&2; exit 2; }
export ZT_E2E_LOCKED=1
zt_reap_stale >/dev/null 2>&1 || true

soak() {
	local err=$ZT_TMP/ztrace.err t0=$SECONDS samples=() n third a b logged spans wpid zpid
	zt_pair
	# JSON to /dev/null: minutes at load write gigabytes, and the e2e
	# helpers would check every line of them.
	env --default-signal=INT "$ZTRACE" --container pong --json >/dev/null 2>"$err" 9>&- &
	zpid=$!
	ZT_PID=$zpid # killed by the cleanup if the soak fails
	zt_wait_for 20 "ztrace tracing" grep -qs '^ztrace: tracing ' "$err"
	while ((SECONDS - t0 < SECS)); do
		ct_exec ping wrk -t 1 -c 8 -d 30s "$PONG_URL/" >/dev/null 2>&1 &
		wpid=$!
		for _ in 1 2 3; do
			sleep 10
			samples+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$zpid/status")")
			printf 'soak: %4ss RSS %s kB\n' $((SECONDS - t0)) "${samples[-1]}" >&2
		done
		# wrk only: ztrace and nginx are background jobs too.
		wait "$wpid" || true
	done
	sleep 0.5
	kill -INT "$zpid"
	wait "$zpid" || fail "ztrace exited with $? after SIGINT: $(tail -n 3 "$err")"
	ZT_PID=
	ZT_SUMMARY=$(grep '^ztrace: summary: ' "$err" | tail -n 1) || fail "no summary: $(tail -n 3 "$err")"
	zt_log "$ZT_SUMMARY"
	n=${#samples[@]}
	third=$((n / 3 > 0 ? n / 3 : 1))
	a=$(printf '%s\n' "${samples[@]:0:third}" | awk '{s += $1} END {print s / NR}')
	b=$(printf '%s\n' "${samples[@]:n-third}" | awk '{s += $1} END {print s / NR}')
	awk -v a="$a" -v b="$b" 'BEGIN {exit !(b <= a * 1.10)}' || fail "RSS grew: first third ${a} kB, last third ${b} kB"
	pass "RSS flat: first third ${a} kB, last third ${b} kB"
	logged=$(nginx_log_count "$PONG_LOG")
	spans=$(zt_summary_get spans)
	assert_eq "spans = requests nginx logged" "$logged" "$spans"
	assert_eq "drops" 0 "$(zt_summary_drops)"
}

(
	zt_begin_test
	soak
)
