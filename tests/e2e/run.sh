#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# End-to-end tests: real servers and clients in containers made here (cgroup2
# directory, network namespace, veth on a bridge), traced by $ZTRACE.
#
#   sudo ZTRACE=build/san/ztrace tests/e2e/run.sh [PATTERN...]
#
# Runs every tests/e2e/test_*.sh (or those whose name contains a PATTERN),
# each under a time limit, prints PASS/FAIL per test function and then the
# line "N passed, N failed"; exits 1 if any failed. Needs root.
#
# Environment: ZTRACE (default build/san/ztrace, else build/ztrace),
# ZT_E2E_TIMEOUT (seconds per script, default 240), ZT_KEEP=1 (keep every
# test's temp dir, not only failed ones').
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

die() { printf 'e2e: error: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo $0)"

if [ -z "${ZTRACE:-}" ]; then
	for z in "$ROOT/build/san/ztrace" "$ROOT/build/ztrace"; do
		[ -x "$z" ] && { ZTRACE=$z; break; }
	done
fi
[ -n "${ZTRACE:-}" ] || die "no ztrace binary: run make, or set ZTRACE"
ZTRACE=$(realpath "$ZTRACE")
[ -x "$ZTRACE" ] || die "ZTRACE=$ZTRACE is not executable"
export ZTRACE

for cmd in ip nginx curl wrk jq python3 pgrep ss flock timeout setpriv; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd missing: run scripts/install-deps.sh"
done

# What the tests and ztrace need mounted. cgroup2 is found, never assumed;
# only a host with none at all gets one (hybrid-style, next to the v1 ones).
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
if [ -z "$ZT_CG2" ]; then
	mkdir -p /sys/fs/cgroup/unified
	mount -t cgroup2 none /sys/fs/cgroup/unified || die "no cgroup2 and cannot mount one"
	ZT_CG2=$(cg2_root)
	ZT_CG_BASE=$ZT_CG2/ztrace-test
fi
if [ ! -e /sys/kernel/tracing/trace_pipe ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
		echo "e2e: warning: could not mount tracefs at /sys/kernel/tracing" >&2
fi
mkdir -p /run/netns

# One run at a time: the containers' names are fixed.
exec 9>"$ZT_LOCK"
if ! flock -n 9; then
	echo "e2e: waiting for another e2e run or demo (lock $ZT_LOCK)" >&2
	flock -w 600 9 || die "could not take $ZT_LOCK"
fi
export ZT_E2E_LOCKED=1

stale=$(zt_reap_stale 2>&1)
[ -z "$stale" ] || printf 'e2e: removed leftovers of an earlier run:\n%s\n' "$stale" >&2

tests=()
for t in "$HERE"/test_*.sh; do
	[ -e "$t" ] || continue
	if [ "$#" -gt 0 ]; then
		match=0
		for pat in "$@"; do [[ $(basename "$t") == *"$pat"* ]] && match=1; done
		[ "$match" -eq 1 ] || continue
	fi
	tests+=("$t")
done
[ "${#tests[@]}" -gt 0 ] || die "no test matches: $*"

echo "e2e: ZTRACE=$ZTRACE, cgroup2 at $ZT_CG2, ${#tests[@]} scripts" >&2

results=$(mktemp /tmp/zt-e2e-results.XXXXXX)
trap 'rm -f "$results"' EXIT
export ZT_RESULTS=$results
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	before=$(grep -c '' "$results" || true)
	rc=0
	timeout -k 10 "${ZT_E2E_TIMEOUT:-240}" bash "$t" || rc=$?
	after=$(grep -c '' "$results" || true)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL $name: timed out after ${ZT_E2E_TIMEOUT:-240}s" | tee -a "$results"
	elif [ "$rc" -ne 0 ] && ! tail -n "$((after - before))" "$results" | grep -q '^FAIL'; then
		# It died outside any test function (a syntax error, say).
		echo "FAIL $name: exited with $rc" | tee -a "$results"
	elif [ "$after" -eq "$before" ]; then
		echo "FAIL $name: ran no test" | tee -a "$results"
	fi
	left=$(zt_leftovers)
	if [ -n "$left" ]; then
		echo "FAIL $name: left behind: $(echo "$left" | paste -sd, -)" | tee -a "$results"
		zt_reap_stale >/dev/null 2>&1 || true
	fi
done

passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
if [ "$failed" -gt 0 ]; then
	echo
	echo "failed:"
	grep '^FAIL' "$results" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
