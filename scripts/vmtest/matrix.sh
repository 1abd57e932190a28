#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# matrix.sh [--kernels "5.10 6.1 6.12 unstable"] [--cgroup "v2 hybrid v1"]   (`make vmtest`)
#
# ztrace's end-to-end test (tests/vm/e2e.sh: nginx and curl in two cgroup+netns
# "containers") in every hook mode, under each stock Debian kernel booted by
# run.sh, in each cgroup layout; then the host kernel natively. Prints the
# matrix, kernel x layout x hook mode -> result, and writes it to
# build/vmtest/matrix.txt. Exit status 1 if any cell failed (a kernel that
# could not be fetched is skipped, a mode the kernel lacks is unsupported).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KERNELS="5.10 6.1 6.12 unstable"
LAYOUTS="v2 hybrid v1"
while (($#)); do
	case $1 in
	--kernels) KERNELS=$2; shift 2 ;;
	--cgroup) LAYOUTS=$2; shift 2 ;;
	*) echo "usage: $0 [--kernels LIST] [--cgroup LIST]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "vmtest: must run as root" >&2; exit 2; }
VM=$ROOT/build/vmtest
mkdir -p "$VM/etc"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$VM/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$VM/etc/group"
[ -s "$VM/etc/cert.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -days 3650 -subj /CN=ztrace-vm -keyout "$VM/etc/key.pem" -out "$VM/etc/cert.pem" 2>/dev/null
rm -f "$VM"/*-v1.log* "$VM"/*-v2.log* "$VM"/*-hybrid.log*

# Every guest's console, one after another, without the serial line's CRs.
consoles() {
	local log
	for log in "$VM"/*-v1.log "$VM"/*-v2.log "$VM"/*-hybrid.log; do
		[ -e "$log" ] && tr -d '\r' <"$log"
	done
	return 0
}

rc=0
"$ROOT/scripts/vmtest/run.sh" --kernels "$KERNELS" --cgroup "$LAYOUTS" --timeout "${ZT_VM_TIMEOUT:-180}" -- \
	"$ROOT/tests/vm/e2e.sh:/tests/run-in-vm.sh" "$ROOT/build/ztrace:/tests/ztrace" \
	"$(command -v nginx):/tests/nginx" "$(command -v curl):/tests/curl" "$(command -v jq):/tests/jq" \
	"$(command -v dnsmasq):/tests/dnsmasq" \
	"$VM/etc/passwd:/etc/passwd" "$VM/etc/group:/etc/group" \
	"$VM/etc/cert.pem:/tests/cert.pem" "$VM/etc/key.pem:/tests/key.pem" >"$VM/run.out" 2>&1 || rc=1

{
	printf '%-24s %-7s %-11s %-12s %s\n' KERNEL LAYOUT MODE RESULT DETAIL
	# Kernels that did not boot or were skipped have no cells: run.sh's own line.
	{ grep -E '^[^ ]+ [^ ]+ (fail|skipped) ' "$VM/run.out" || true; } | while read -r k l res detail; do
		printf '%-24s %-7s %-11s %-12s %s\n' "$k" "$l" - "$res" "$detail"
	done
	consoles | { grep -a '^ZT-MATRIX ' || true; } | while read -r _ k l m res detail; do
		printf '%-24s %-7s %-11s %-12s %s\n' "$k" "$l" "$m" "$res" "${detail:0:110}"
	done
	# The host kernel, natively: the e2e suite runs there in `make e2e`;
	# here its hook choice per mode.
	for m in auto fentry kprobe tracepoint; do
		st=0
		"$ROOT/build/ztrace" --all --hooks "$m" -d 0.2 >/dev/null 2>"$VM/host.err" || st=$?
		out=$(head -1 "$VM/host.err")
		case $st in
		0) res=pass; detail=$(sed -n 's/.*hooks: \([^;]*\);.*/\1/p' <<<"$out") ;;
		2) res=unsupported; detail=${out#ztrace: } ;;
		*) res=fail; detail=$out ;;
		esac
		[[ $detail == *"implementation of"* ]] && res=not-built
		printf '%-24s %-7s %-11s %-12s %s\n' "$(uname -r) (host)" native "$m" "$res" "$detail"
	done
} | tee "$VM/matrix.txt"
grep -qE ' fail ' "$VM/matrix.txt" && rc=1
# Flakes that a second run or another boot got past: passes, but in sight.
consoles | { grep -a -F ' pass [second run] ' || true; } | cut -c1-400 |
	sed 's/^ZT-MATRIX /vmtest: passed on a second run: /'
{ grep -E '^[^ ]+ [^ ]+ pass .*\(booted again' "$VM/run.out" || true; } | cut -c1-300 | sed 's/^/vmtest: passed after booting again: /'
# The failures once more, last and whole, with the failed run's own words: a
# CI console often keeps only the end of the output, where the table's last
# rows (passing ones) would otherwise be all there is to read.
if ((rc)); then
	echo "vmtest: FAILED (console logs under build/vmtest/):"
	{ grep -E '^[^ ]+ [^ ]+ fail ' "$VM/run.out" || true; } | cut -c1-300
	consoles | { grep -a -E '^ZT-MATRIX [^ ]+ [^ ]+ [^ ]+ fail |^ztrace: summary' || true; } | cut -c1-600
fi
exit $rc
