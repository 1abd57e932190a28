#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Where ztrace's BPF programs spend their time (root; perf and objdump): the
# bench's worst case (nginx, one worker, keep-alive, a tiny file, in
# container pong; wrk in ping) traced by $ZTRACE, the whole host sampled by
# perf (cpu-clock, with call chains) for BPFPROF_SECONDS (default 5), and the
# programs' JIT images taken while they are loaded (scripts/jitdump.c). For
# each program with samples it prints its share of all programs' samples,
# what the helpers and kernel functions it calls took (by callee, from the
# call chains), and its own instructions' samples by stretch of code, each
# stretch named by the call or locked instruction that ends it: a stretch
# of plain loads that takes many samples is waiting on memory.
#
# make bench says how much (the programs' run time, counted by the kernel);
# this says where. Samples land on the instruction after a stall, and
# instructions that wait for earlier ones (a locked add, rdtsc in the clock
# helper) collect the wait: read stretches, not single instructions.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZTRACE=$(realpath "${ZTRACE:-$ROOT/build/ztrace}")
SECS=${BPFPROF_SECONDS:-5}
export ZTRACE NGINX_WORKERS=1

[ "$(id -u)" -eq 0 ] || { echo "bpfprof: must run as root" >&2; exit 2; }
[ -x "$ZTRACE" ] || { echo "bpfprof: no $ZTRACE: run make" >&2; exit 2; }
for t in perf objdump bpftool; do
	command -v "$t" >/dev/null || { echo "bpfprof: $t is not installed" >&2; exit 2; }
done

# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
[ -n "$ZT_CG2" ] || { echo "bpfprof: no cgroup2 mounted" >&2; exit 2; }
mkdir -p /run/netns

# jit_images DIR: each loaded zt_ program's JIT image (DIR/ID.bin) and
# where the kernel put it (DIR/progs.txt: "ID ADDRESS SYMBOL").
jit_images() {
	local dir=$1 id name tag addr
	: >"$dir/progs.txt"
	while read -r id name tag; do
		addr=$(awk -v s="bpf_prog_${tag}_${name}" '$3 == s {print $1; exit}' /proc/kallsyms)
		[ -n "$addr" ] || continue
		"$dir/jitdump" "$id" "$dir/$id.bin" || continue
		printf '%s %s bpf_prog_%s_%s\n' "$id" "$addr" "$tag" "$name" >>"$dir/progs.txt"
	done < <(bpftool -j prog show | /usr/bin/python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("zt_"):
        print(p["id"], p["name"], p["tag"])')
}

profile() {
	local dir=$ZT_TMP/prof zpid
	mkdir -p "$dir"
	cc -O2 -Wall -Wextra -Werror -o "$dir/jitdump" "$ROOT/scripts/jitdump.c" -lbpf ||
		fail "could not build scripts/jitdump.c"
	zt_pair
	ct_exec ping wrk -t 1 -c 16 -d 1s "$PONG_URL/" >/dev/null 2>&1 || true
	# The text view to /dev/null: the disk stays out of the profile.
	env --default-signal=INT "$ZTRACE" --container pong >/dev/null 2>"$dir/ztrace.err" 9>&- &
	zpid=$!
	PROF_ZPID=$zpid
	zt_wait_for 20 "ztrace to start" grep -qs '^ztrace: tracing ' "$dir/ztrace.err"
	ct_exec ping wrk -t 1 -c 16 -d "$((SECS + 2))s" "$PONG_URL/" >"$dir/wrk.log" 2>&1 &
	local wrk=$!
	sleep 1
	perf record -q -e cpu-clock -F 25000 -a -g -o "$dir/perf.data" -- sleep "$SECS" >/dev/null 2>&1 ||
		fail "perf record failed"
	wait "$wrk" || fail "wrk failed: $(cat "$dir/wrk.log")"
	jit_images "$dir"
	kill -INT "$zpid"
	wait "$zpid" || fail "ztrace exited with $?: $(cat "$dir/ztrace.err")"
	PROF_ZPID=
	zt_log "wrk: $(grep -m1 'Requests/sec' "$dir/wrk.log")"
	perf script -i "$dir/perf.data" -F ip,sym 2>/dev/null >"$dir/chains.txt"
	/usr/bin/python3 - "$dir" <<'PY'
import collections, re, subprocess, sys

d = sys.argv[1]
ksyms = {}
for line in open('/proc/kallsyms'):
    a, t, n = line.split()[:3]
    if t in 'tT':
        ksyms[int(a, 16)] = n
progs = {}
for line in open(d + '/progs.txt'):
    pid, addr, sym = line.split()
    progs[sym] = (int(addr, 16), d + '/' + pid + '.bin')

# Per program: samples in its own code by address, and in what it called
# (the frame it called directly, from the call chain), by callee.
own = collections.defaultdict(collections.Counter)
called = collections.defaultdict(collections.Counter)
total = 0
for block in open(d + '/chains.txt').read().split('\n\n'):
    frames = [l.split(None, 1) for l in block.strip().split('\n') if l.strip()]
    frames = [(f[0], f[1].strip() if len(f) > 1 else '?') for f in frames]
    if not frames:
        continue
    total += 1
    for i, (ip, sym) in enumerate(frames):
        if sym in progs:
            if i == 0:
                own[sym][int(ip, 16)] += 1
            else:
                called[sym][frames[i - 1][1]] += 1
            break

def stretches(sym):
    """Own samples by stretch of code, each ending at a call or a locked op."""
    base, img = progs[sym]
    out = subprocess.run(['objdump', '-D', '-b', 'binary', '-mi386:x86-64',
                          '--adjust-vma=%#x' % base, img],
                         capture_output=True, text=True).stdout
    acc, start, res = 0, None, []
    for line in out.split('\n'):
        m = re.match(r'\s*([0-9a-f]+):\s', line)
        if not m:
            continue
        a = int(m.group(1), 16)
        start = a if start is None else start
        acc += own[sym].get(a, 0)
        c = re.search(r'call\s+0x([0-9a-f]+)', line)
        if c or ' lock ' in line:
            end = ksyms.get(int(c.group(1), 16), 'a call') if c else 'a locked op'
            res.append((acc, '+%#x..+%#x, up to %s' % (start - base, a - base, end)))
            acc, start = 0, None
    res.append((acc, '+%#x.., to the end' % ((start or base) - base)))
    return sorted(res, reverse=True)

all_bpf = sum(sum(own[s].values()) + sum(called[s].values()) for s in progs)
print('samples: %d in all, %d in ztrace\'s programs (%.1f%%)' % (
    total, all_bpf, 100.0 * all_bpf / max(total, 1)))
for sym in sorted(progs, key=lambda s: -(sum(own[s].values()) + sum(called[s].values()))):
    mine, sub = sum(own[sym].values()), sum(called[sym].values())
    if mine + sub < all_bpf / 100:
        continue
    print('\n%s: %.1f%% of the programs\' samples; its own instructions %.1f%%' % (
        sym.split('_', 3)[-1], 100.0 * (mine + sub) / all_bpf, 100.0 * mine / all_bpf))
    for callee, n in called[sym].most_common(10):
        print('  called %-36s %5.1f%%' % (callee, 100.0 * n / all_bpf))
    for n, where in stretches(sym)[:8]:
        if n:
            print('  own    %-36s %5.1f%%' % (where, 100.0 * n / all_bpf))
PY
}

exec 9>"$ZT_LOCK"
flock -w 600 9 || { echo "bpfprof: could not take $ZT_LOCK" >&2; exit 2; }
export ZT_E2E_LOCKED=1
zt_reap_stale >/dev/null 2>&1 || true
(
	zt_begin_test
	PROF_ZPID=
	trap 'rc=$?; [ -z "$PROF_ZPID" ] || kill -KILL "$PROF_ZPID" 2>/dev/null; (exit $rc); zt_cleanup' EXIT
	profile
)
