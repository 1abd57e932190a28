#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What ztrace costs (`make bench`, root). nginx (one worker, keep-alive, a
# 13-byte static file: the worst case, where a request is nearly free) in
# container pong, wrk in container ping. Three sides, interleaved (A B C C B A
# ...) in one run so that drift hits them alike:
#
#   off    no ztrace
#   json   ztrace --container pong --json >file
#   text   ztrace --container pong >/dev/null
#   nosched  json with --no-sched: json less nosched is what the scheduler
#          hooks (the time breakdown) cost, on a line of its own
#   idle   ztrace --container on an empty cgroup: every hook attached, every
#          message filtered out: what ztrace costs the processes it does
#          not trace (to the nanosecond in the message loop below)
#
# Per side: requests/s and its ratio to off; CPU per request of the server's
# and the client's cgroups (cgroup2 cpu.stat: what the BPF side adds to the
# traced applications); ztrace's own CPU per span (utime+stime); its peak RSS;
# spans/requests (requests as nginx logged them); drops. Then one more json
# round with kernel.bpf_stats_enabled: the programs' own run time per
# request, by program (exact where the cgroups' CPU is noisy), and an idle
# one likewise. Then fixed-rate rounds per side: scripts/pace.c sends one
# request every 1/BENCH_RATE s over BENCH_CONNS keep-alive connections and
# times each from its send to its response (wrk's delay() would send the connections'
# requests together at each millisecond, each then waiting for the others:
# what ztrace adds to a request would show multiplied by the burst), nginx
# and the client on CPUs of their own; p50/p99 are the medians of the rounds
# (one bad round moves a mean by tens of us here). Then one socket message's
# cost to its process, to the nanosecond, from a loop of sends and receives
# (scripts/msgloop.c): untraced beside ztrace, and traced, against none
# (the hooks' dispatch, which the programs' counted time leaves out, is the
# difference between the added time and the programs'). Then ztrace's
# userspace per span without the kernel (scripts/spancost.c: nginx's records
# replayed through the drain's code into each writer; instructions under
# callgrind, which repeat to the instruction, and ns natively). Then TLS: a
# second nginx in pong serving a 1 KiB file over HTTPS, wrk over TLS, sides tls_off,
# tls_json (probes per library file: wrk, untraced, maps the same libssl and
# takes the traps too) and tls_proc (--tls-attach process: only nginx is
# probed) interleaved. The table goes to stdout and to bench/.
#
# Environment: ZTRACE (default build/ztrace), BENCH_ROUNDS (per side, 4),
# BENCH_SECONDS (per round, 5), BENCH_CONNS (wrk connections, 16),
# BENCH_RATE (fixed-rate requests/s, 10000), BENCH_PARTS (default
# "plain fixed msg user tls": which parts run).
#
# BENCH_PARTS=ab BENCH_AB="OLD-BINARY NEW-BINARY": only the programs' run
# time of two builds, rounds interleaved (A B B A ...) under
# kernel.bpf_stats_enabled, a line per round: how a change to the BPF side
# is judged, where the cgroups' CPU moves by more than the change.
# BENCH_PARTS="ab tls": the same over HTTPS (the TLS rounds' nginx).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZTRACE=$(realpath "${ZTRACE:-$ROOT/build/ztrace}")
ROUNDS=${BENCH_ROUNDS:-4}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-16}
RATE=${BENCH_RATE:-10000}
PARTS=" ${BENCH_PARTS:-plain fixed msg user tls} "
SPANCOST=$ROOT/build/spancost
# The idle side's selection: a cgroup with no process in it (made below).
IDLE_CT=idle
export ZTRACE NGINX_WORKERS=1

[ "$(id -u)" -eq 0 ] || { echo "bench: must run as root" >&2; exit 2; }
[ -x "$ZTRACE" ] || { echo "bench: no $ZTRACE: run make" >&2; exit 2; }
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true

# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
[ -n "$ZT_CG2" ] || { echo "bench: no cgroup2 mounted" >&2; exit 2; }
mkdir -p /run/netns

# Sums of a side's rounds, by key: "SIDE.KEY".
declare -A SUM

cg_usec() { awk '$1 == "usage_usec" {print $2}' "$(ct_cgroup "$1")/cpu.stat"; }

# proc_cpu_ticks PID: utime + stime.
proc_cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

add() { SUM[$1]=$(awk -v a="${SUM[$1]:-0}" -v b="$2" 'BEGIN {print a + b}'); }

# run_round SIDE WRK-ARGS...: one wrk run with ztrace as SIDE says; adds its figures.
run_round() {
	local side=$1 out=$ZT_TMP/spans.$1.${SUM[$1.rounds]:-0} zpid="" wlog=$ZT_TMP/wrk.log
	local req0 req1 s0 s1 c0 c1 t0 t1 spans=0 drops=0 rss=0 ticks=0 rate v
	shift
	case ${side#*_} in
	fentry | kprobe | tracepoint) ztrace_bg "$out" "$out.err" --json --hooks "${side#*_}" ;;
	json | bpfstat | ab*) ztrace_bg "$out" "$out.err" --json ;;
	nosched) ztrace_bg "$out" "$out.err" --json --no-sched ;;
	proc) ztrace_bg "$out" "$out.err" --json --tls-attach process ;;
	text) ztrace_bg /dev/null "$out.err" ;;
	idle) ZB_TARGET=$IDLE_CT ztrace_bg /dev/null "$out.err" ;;
	esac
	zpid=${ZB_PID:-}
	[ -z "$zpid" ] || HOOKS=$(sed -n 's/.*hooks: \([^;]*\);.*/\1/p' "$ZB_ERR" | head -1)
	req0=$(nginx_log_count "$RUN_LOG")
	s0=$(cg_usec pong)
	c0=$(cg_usec ping)
	[ -z "$zpid" ] || t0=$(proc_cpu_ticks "$zpid")
	[[ $side != bpfstat* && $side != ab* ]] || sysctl -q kernel.bpf_stats_enabled=1
	if [[ $side == fixed_* ]]; then
		[[ $RUN_URL =~ ^http://([0-9.]+):([0-9]+)(/.*)$ ]] || fail "pace: not an http URL: $RUN_URL"
		# shellcheck disable=SC2086 # PACE is a command with its taskset
		ct_exec ping $PACE "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" \
			"$RATE" "$CONNS" "$SECS" >"$wlog" 2>&1 || fail "pace failed: $(cat "$wlog")"
	else
		ct_exec ping wrk -t 1 -c "$CONNS" -d "${SECS}s" "$@" "$RUN_URL" >"$wlog" 2>&1 ||
			fail "wrk failed: $(cat "$wlog")"
	fi
	sleep 0.3 # the last responses reach the log and the ring buffer
	req1=$(nginx_log_count "$RUN_LOG")
	if [[ $side == bpfstat* || $side == ab* ]]; then
		bpftool -j prog show >"$ZT_TMP/progs.json"
		sysctl -q kernel.bpf_stats_enabled=0
		BPFSTAT=$(bpf_stat_line "$ZT_TMP/progs.json" $((req1 - req0)))
	fi
	s1=$(cg_usec pong)
	c1=$(cg_usec ping)
	local n=$((req1 - req0))
	if [ -n "$zpid" ]; then
		t1=$(proc_cpu_ticks "$zpid")
		ticks=$((t1 - t0))
		rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$zpid/status")
		kill -INT "$zpid"
		wait "$zpid" || fail "ztrace exited with $? (side $side)"
		ZB_PID=
		ZT_SUMMARY=$(grep '^ztrace: summary: ' "$ZB_ERR" | tail -n 1)
		spans=$(zt_summary_get spans)
		drops=$(zt_summary_drops)
		# Nobody reads a round's spans: deleted at once, so that the
		# rounds' files (~0.5 GB each) do not pile up in the page cache
		# and on disk under the later rounds.
		rm -f "$out"
	fi
	rate=$(awk '/^Requests\/sec:/ {print $2}' "$wlog")
	add "$side.n" "$n"
	add "$side.secs" "$SECS"
	add "$side.rate" "$rate"
	add "$side.rounds" 1
	add "$side.srv_us" $((s1 - s0))
	add "$side.cli_us" $((c1 - c0))
	add "$side.zt_ticks" "$ticks"
	add "$side.spans" "$spans"
	add "$side.drops" "$drops"
	[ "${SUM[$side.rss]:-0}" -ge "$rss" ] || SUM[$side.rss]=$rss
	for q in 50 99; do
		v=$(awk -v q="$q%" '$1 == q {print $2}' "$wlog")
		[ -z "$v" ] || { add "$side.p$q" "$(to_us "$v")"; SUM[$side.p$q.all]+=" $(to_us "$v")"; }
	done
	printf 'bench: %-4s %6d requests, %s req/s, spans %s, drops %s\n' "$side" "$n" "$rate" "$spans" "$drops" >&2
}

# bpf_stat_line PROGS-JSON REQUESTS [total]: the run time of ztrace's
# programs per request, by program, as the kernel counted it
# (kernel.bpf_stats_enabled); with "total", only the ns per request.
# Exact where the cgroups' CPU is noisy, but the counting itself adds two
# clock reads to every run (measured ~60 ns here: an empty program), and
# the attach trampolines are not in it.
bpf_stat_line() {
	/usr/bin/python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
progs, n = json.load(open(sys.argv[1])), int(sys.argv[2])
if sys.argv[3] == 'total':
    print('%.0f' % (sum(p['run_time_ns'] for p in progs
                        if p.get('name', '').startswith('zt_') and p.get('run_cnt')) / n))
    sys.exit(0)
rows, total, runs = [], 0, 0
for p in progs:
    if not p.get('name', '').startswith('zt_') or not p.get('run_cnt'):
        continue
    total += p['run_time_ns']
    runs += p['run_cnt']
    rows.append((p['run_time_ns'], '%s %.0f ns (%.2f runs x %.0f ns)' % (
        p['name'], p['run_time_ns'] / n, p['run_cnt'] / n, p['run_time_ns'] / p['run_cnt'])))
rows.sort(reverse=True)
print('%.0f ns/request in %.2f runs (%.0f ns of it the counting, at ~60 ns a run): %s' % (
    total / max(n, 1), runs / max(n, 1), 60 * runs / max(n, 1), '; '.join(r for _, r in rows)))
PY
}

# to_us 1.23ms: wrk's latency in microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		u = v; sub(/[0-9.]+/, "", u); x = v + 0
		if (u == "us") print x; else if (u == "ms") print x * 1000; else if (u == "s") print x * 1e6
	}'
}

# ztrace_bg OUT ERR ARGS...: ztrace on pong (or on ZB_TARGET) in the
# background; ZB_PID, ZB_ERR.
ztrace_bg() {
	local out=$1
	ZB_ERR=$2
	shift 2
	"$ZTRACE" --container "${ZB_TARGET:-pong}" "$@" >"$out" 2>"$ZB_ERR" 9>&- &
	ZB_PID=$!
	local deadline=$((SECONDS + 20))
	until grep -qs '^ztrace: tracing ' "$ZB_ERR"; do
		kill -0 "$ZB_PID" 2>/dev/null || fail "ztrace did not start: $(cat "$ZB_ERR")"
		[ "$SECONDS" -lt "$deadline" ] || fail "ztrace did not start within 20s"
		sleep 0.05
	done
}

bench_main() {
	local order s r
	zt_pair
	mkdir -p "$(ct_cgroup "$IDLE_CT")"
	RUN_URL=$PONG_URL/
	RUN_LOG=$PONG_LOG
	# Warm up nginx, the page cache and the veths.
	ct_exec ping wrk -t 1 -c "$CONNS" -d 1s "$RUN_URL" >/dev/null 2>&1 || true
	if [[ $PARTS == *" ab "* ]]; then
		[[ $PARTS != *" tls "* ]] || tls_setup
		bench_ab
		return
	fi
	# Each hook kind this kernel offers gets json rounds of its own, against
	# the same off rounds.
	MODES=()
	for s in fentry kprobe tracepoint; do
		! "$ZTRACE" --all --hooks "$s" -d 0.1 >/dev/null 2>&1 || MODES+=("mode_$s")
	done
	for ((r = 0; r < ROUNDS; r++)); do
		[[ $PARTS == *" plain "* ]] || break
		if ((r % 2 == 0)); then order=(off json text nosched idle "${MODES[@]}"); else order=("${MODES[@]}" idle nosched text json off); fi
		for s in "${order[@]}"; do run_round "$s" --latency; done
	done
	# The BPF programs' own run time, counted by the kernel: one json
	# round of its own (the counting slows it), not in the table.
	if [[ $PARTS == *" plain "* ]]; then
		run_round bpfstat --latency
		BPFSTAT_JSON=$BPFSTAT
		run_round bpfstat_idle --latency
		BPFSTAT_IDLE=$BPFSTAT
	fi
	# Fixed rate, well below saturation: the latency of a request that
	# does not queue behind others, with and without ztrace. Eight rounds a
	# side, reported as medians: single rounds swing by +-50 us at p99.
	# nginx on the last CPU, the client on the first: left to the
	# scheduler, the two share a CPU in some rounds and not in others,
	# and a wakeup across CPUs costs ~20 us here (p50 30 or 50 us by
	# round, whatever the side).
	if [[ $PARTS == *" fixed "* ]]; then
		PACE=$ZT_TMP/pace
		cc -O2 -Wall -Wextra -Werror -o "$PACE" "$ROOT/scripts/pace.c" || fail "could not build scripts/pace.c"
		pin_nginx "$(($(nproc) - 1))"
		PACE="taskset -c 0 $PACE"
	fi
	for ((r = 0; r < 8; r++)); do
		[[ $PARTS == *" fixed "* ]] || break
		if ((r % 2 == 0)); then order=(off json text); else order=(text json off); fi
		for s in "${order[@]}"; do run_round "fixed_$s"; done
	done
	[[ $PARTS != *" fixed "* ]] || pin_nginx "0-$(($(nproc) - 1))"
	if [[ $PARTS == *" msg "* ]]; then bench_msg; fi
	if [[ $PARTS == *" user "* ]]; then bench_user; fi
	# TLS: 1 KiB responses over HTTPS (keep-alive, so the handshakes are few).
	if [[ $PARTS == *" tls "* ]]; then bench_tls; fi
	report | tee "$REPORT"
	echo "bench: table written to ${REPORT#"$ROOT"/}" >&2
}

# One socket message's cost to the process that sends or receives it
# (scripts/msgloop.c, on CPU 0; ztrace on the last CPU): without ztrace
# (msg_off), beside a ztrace that traces the empty cgroup (msg_idle: every
# message filtered out) and inside that cgroup (msg_traced: a record per
# message). ROUNDS rounds a side, A B C C B A; then one round of each
# ztrace side under kernel.bpf_stats_enabled: the programs' share.
declare -A MSG
bench_msg() {
	local loop=$ZT_TMP/msgloop r s order last=$(($(nproc) - 1))
	cc -O2 -Wall -Wextra -Werror -o "$loop" "$ROOT/scripts/msgloop.c" || fail "could not build scripts/msgloop.c"
	for ((r = 0; r <= ROUNDS; r++)); do
		if ((r % 2 == 0)); then order=(off idle traced); else order=(traced idle off); fi
		# The last round: the programs' run time, counted by the kernel.
		((r < ROUNDS)) || order=(idle traced)
		for s in "${order[@]}"; do
			if [ "$s" != off ]; then
				ZB_TARGET=$IDLE_CT ztrace_bg /dev/null "$ZT_TMP/msg.err"
				HOOKS=$(sed -n 's/.*hooks: \([^;]*\);.*/\1/p' "$ZB_ERR" | head -1)
				taskset -apc "$last" "$ZB_PID" >/dev/null || fail "taskset $ZB_PID failed"
			fi
			((r < ROUNDS)) || sysctl -q kernel.bpf_stats_enabled=1
			# A subshell moves itself into the traced cgroup before it
			# becomes the loop.
			MSG[$s.out]=$(
				[ "$s" != traced ] || echo "$BASHPID" >"$(ct_cgroup "$IDLE_CT")/cgroup.procs"
				exec taskset -c 0 "$loop" 200000 5
			) || fail "msgloop failed (side $s)"
			if ((r < ROUNDS)); then
				MSG[$s]+=" ${MSG[$s.out]%% *}"
			else
				bpftool -j prog show >"$ZT_TMP/progs.json"
				sysctl -q kernel.bpf_stats_enabled=0
				# All of ztrace's programs over the loop's messages (a
				# kprobe message runs two); the rest of the host adds
				# little in a round.
				MSG[$s.progs]=$(bpf_stat_line "$ZT_TMP/progs.json" $((2 * 200000 * 5)) total)
			fi
			if [ "$s" != off ]; then
				kill -INT "$ZB_PID"
				wait "$ZB_PID" || fail "ztrace exited with $? (side msg_$s)"
				ZB_PID=
			fi
			printf 'bench: msg_%-6s %s\n' "$s" "${MSG[$s.out]}" >&2
		done
	done
}

# ztrace's userspace cost per span, replayed without the kernel: USER[json],
# USER[text] (native ns per span), USER[json.ir], USER[text.ir] (callgrind).
declare -A USER
bench_user() {
	local f out
	[ -x "$SPANCOST" ] || fail "no $SPANCOST: make build/spancost"
	for f in json text; do
		out=$("$SPANCOST" "$f") || fail "spancost $f failed: $out"
		USER[$f]=$(sed -n 's/.*: \([0-9]*\) ns per span/\1/p' <<<"$out")
		# The measured round only (CALLGRIND_START/STOP_INSTRUMENTATION).
		out=$(valgrind --tool=callgrind --instr-atstart=no \
			--callgrind-out-file="$ZT_TMP/callgrind.$f" "$SPANCOST" "$f" 20000 1 2>&1) ||
			fail "spancost $f under callgrind failed: $out"
		USER[$f.ir]=$(awk '/Collected :/ {printf "%.0f", $4 / 20000}' <<<"$out")
		printf 'bench: user_%s %s ns, %s instructions per span\n' "$f" "${USER[$f]}" "${USER[$f.ir]}" >&2
	done
}

report_user() {
	printf "\nztrace userspace per span, replayed (scripts/spancost.c: nginx's records for wrk's\n"
	printf "requests through the drain's code and a writer into /dev/null; no kernel, no ring):\n\n"
	printf '| output | instructions per span (callgrind) | ns per span (best of 5) |\n'
	printf '|---|---|---|\n'
	printf '| json | %s | %s |\n| text | %s | %s |\n' "${USER[json.ir]:-?}" "${USER[json]:-?}" \
		"${USER[text.ir]:-?}" "${USER[text]:-?}"
}

report_msg() {
	local s b p
	# shellcheck disable=SC2086 # the lists are of numbers
	b=$(median ${MSG[off]})
	printf '\none message (scripts/msgloop.c: a 16-byte send and its recv over loopback TCP, on one CPU,\n'
	printf 'nothing blocking; best of 5 x 200000 pairs a round, medians of %s rounds):\n\n' "$ROUNDS"
	printf '| side | ns per pair | added per message | programs per message (counted) |\n'
	printf '|---|---|---|---|\n'
	for s in off idle traced; do
		# shellcheck disable=SC2086
		p=$(median ${MSG[$s]})
		awk -v s="$s" -v p="$p" -v b="$b" -v c="${MSG[$s.progs]:-}" 'BEGIN {
			printf "| msg_%s | %.0f | %s | %s |\n", s, p, s == "off" ? "-" : sprintf("%.0f ns", (p - b) / 2),
				s == "off" ? "-" : c " ns"
		}'
	done
	printf 'per round, ns per pair: off%s; idle%s; traced%s\n' "${MSG[off]}" "${MSG[idle]}" "${MSG[traced]}"
}

# Two builds' programs, A B B A ...: a line per round, and the sums.
bench_ab() {
	local bins r i order
	read -r -a bins <<<"${BENCH_AB:-}"
	[ "${#bins[@]}" -eq 2 ] || fail "BENCH_AB must name two ztrace binaries"
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2 == 0)); then order=(0 1); else order=(1 0); fi
		for i in "${order[@]}"; do
			ZTRACE=$(realpath "${bins[$i]}")
			run_round "ab$i" --latency
			printf 'ab: %s: %s\n' "${bins[$i]}" "$BPFSTAT" | tee -a "$ZT_TMP/ab.txt"
		done
	done
	printf '\nab summary (ns/request by round):\n'
	for i in 0 1; do
		printf '%s:' "${bins[$i]}"
		grep -F "ab: ${bins[$i]}: " "$ZT_TMP/ab.txt" | sed 's/.*: \([0-9]*\) ns\/request.*/ \1/' | tr -d '\n'
		printf '\n'
	done
}

# pin_nginx CPUS: pong's nginx workers onto CPUS (taskset's list).
pin_nginx() {
	local w
	for w in $(pgrep -P "$(cat "$(dirname "$PONG_LOG")/nginx.pid")"); do
		taskset -pc "$1" "$w" >/dev/null || fail "taskset $1 $w failed"
	done
}

# A second nginx in pong serving 1 KiB over HTTPS; the rounds' URL and log.
tls_setup() {
	NGINX_TLS=1 nginx_start pong "$ZT_NET4.2" 8443
	head -c 1024 /dev/zero | tr '\0' 'x' >"$NGINX_DIR/www/1k"
	RUN_URL=https://$ZT_NET4.2:8443/1k
	RUN_LOG=$NGINX_LOG
	ct_exec ping wrk -t 1 -c "$CONNS" -d 1s "$RUN_URL" >/dev/null 2>&1 || true
}

bench_tls() {
	local r s order
	tls_setup
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2 == 0)); then order=(tls_off tls_json tls_proc); else order=(tls_proc tls_json tls_off); fi
		for s in "${order[@]}"; do run_round "$s" --latency; done
	done
}

report() {
	local hz s n
	hz=$(getconf CLK_TCK)
	printf '# ztrace bench, %s\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
	printf 'host: %s, kernel %s, %s CPUs; nginx 1 worker, wrk -t1 -c%s, %s x %ss per side\n' \
		"$(hostname)" "$(uname -r)" "$(nproc)" "$CONNS" "$ROUNDS" "$SECS"
	printf 'ztrace %s\n' "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	report_hooks
	printf '\n'
	[[ $PARTS != *" plain "* ]] || report_plain
	[[ $PARTS != *" plain "* ]] || report_sched
	[[ $PARTS != *" plain "* ]] || printf '\nBPF programs, counted by the kernel (one json round): %s\n' "${BPFSTAT_JSON:-?}"
	[[ $PARTS != *" plain "* ]] || printf '\nthe same, idle (one round; every message filtered out): %s\n' "${BPFSTAT_IDLE:-?}"
	[[ $PARTS != *" fixed "* ]] || report_fixed
	[[ $PARTS != *" msg "* ]] || report_msg
	[[ $PARTS != *" user "* ]] || report_user
	[[ $PARTS != *" tls "* ]] || report_tls
	printf '\ngoals: BPF extra <= 1 us/request, ztrace <= 2 us/span, RSS <= 30 MB, spans == requests,\n'
	printf 'ratio >= 0.85, p99 added at a fixed rate <= 10 us; TLS ratio >= 0.85.\n'
}

# The hooks ztrace chose, and which kinds this kernel offers (each measured
# as a mode_KIND side; a kind it lacks cannot be measured here).
report_hooks() {
	local m out
	printf 'hooks chosen: %s; ' "${HOOKS:-?}"
	for m in fentry kprobe tracepoint; do
		if out=$("$ZTRACE" --all --hooks "$m" -d 0.1 2>&1 >/dev/null); then
			printf '%s: available; ' "$m"
		else
			printf '%s: %s; ' "$m" "$(grep -m1 -o 'no .* works on this kernel\|no .* implementation[^(]*' <<<"$out")"
		fi
	done
	printf '\n'
}

report_plain() {
	local hz s n
	hz=$(getconf CLK_TCK)
	printf '| side | req/s | ratio | server CPU/req | client CPU/req | BPF extra/req | ztrace CPU/span | ztrace peak RSS | spans/requests | drops |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|\n'
	for s in off json text nosched idle "${MODES[@]}"; do
		n=${SUM[$s.n]}
		awk -v s="$s" -v n="$n" -v rate="${SUM[$s.rate]}" -v rounds="${SUM[$s.rounds]}" \
			-v rate0="${SUM[off.rate]}" -v srv="${SUM[$s.srv_us]}" -v cli="${SUM[$s.cli_us]}" \
			-v srv0="${SUM[off.srv_us]}" -v cli0="${SUM[off.cli_us]}" -v n0="${SUM[off.n]}" \
			-v ticks="${SUM[$s.zt_ticks]}" -v hz="$hz" -v rss="${SUM[$s.rss]:-0}" \
			-v spans="${SUM[$s.spans]}" -v drops="${SUM[$s.drops]}" 'BEGIN {
			per = (srv + cli) / n; per0 = (srv0 + cli0) / n0
			printf "| %s | %.0f | %.3f | %.2f us | %.2f us | %s | %s | %s | %s | %s |\n", s,
				rate / rounds, rate / rate0, srv / n, cli / n,
				s == "off" ? "-" : sprintf("%.2f us", per - per0),
				s == "off" || !spans ? "-" : sprintf("%.2f us", ticks / hz * 1e6 / spans),
				s == "off" ? "-" : sprintf("%.1f MB", rss / 1024),
				s == "off" ? "-" : sprintf("%d/%d", spans, n),
				s == "off" ? "-" : drops
		}'
	done
}

# The scheduler hooks on their own: json (with them) less nosched (without),
# per request, in the traced cgroups' CPU and in ztrace's per span.
report_sched() {
	awk -v n="${SUM[json.n]}" -v srv="${SUM[json.srv_us]}" -v cli="${SUM[json.cli_us]}" \
		-v n1="${SUM[nosched.n]}" -v srv1="${SUM[nosched.srv_us]}" -v cli1="${SUM[nosched.cli_us]}" \
		-v t="${SUM[json.zt_ticks]}" -v sp="${SUM[json.spans]}" -v t1="${SUM[nosched.zt_ticks]}" \
		-v sp1="${SUM[nosched.spans]}" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		printf "\nscheduler hooks (json less nosched): %.2f us/request in the traced cgroups, %.2f us/span in ztrace\n",
			(srv + cli) / n - (srv1 + cli1) / n1, t / hz * 1e6 / sp - t1 / hz * 1e6 / sp1
	}'
}

# median V...: the middle value (the mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

report_fixed() {
	local s b50 b99
	# shellcheck disable=SC2086 # the lists are of numbers
	b50=$(median ${SUM[fixed_off.p50.all]}) b99=$(median ${SUM[fixed_off.p99.all]})
	printf '\nfixed rate (scripts/pace.c: %s req/s over %s connections, latency from send to response;\n' "$RATE" "$CONNS"
	printf 'nginx on CPU %s, the client on CPU 0, ztrace anywhere; medians of %s rounds):\n\n' \
		"$(($(nproc) - 1))" "${SUM[fixed_off.rounds]}"
	printf '| side | req/s | p50 | p99 | p50 added | p99 added | spans/requests |\n'
	printf '|---|---|---|---|---|---|---|\n'
	for s in off json text; do
		# shellcheck disable=SC2086
		awk -v s="$s" -v rate="${SUM[fixed_$s.rate]}" -v rounds="${SUM[fixed_$s.rounds]}" \
			-v p50="$(median ${SUM[fixed_$s.p50.all]})" -v p99="$(median ${SUM[fixed_$s.p99.all]})" \
			-v b50="$b50" -v b99="$b99" \
			-v spans="${SUM[fixed_$s.spans]}" -v n="${SUM[fixed_$s.n]}" 'BEGIN {
			printf "| %s | %.0f | %.1f us | %.1f us | %s | %s | %s |\n", s, rate / rounds,
				p50, p99,
				s == "off" ? "-" : sprintf("%.1f us", p50 - b50),
				s == "off" ? "-" : sprintf("%.1f us", p99 - b99),
				s == "off" ? "-" : sprintf("%d/%d", spans, n)
		}'
	done
	printf 'per round, p99 (us): off%s; json%s; text%s\n' "${SUM[fixed_off.p99.all]}" \
		"${SUM[fixed_json.p99.all]}" "${SUM[fixed_text.p99.all]}"
}

report_tls() {
	local hz s
	hz=$(getconf CLK_TCK)
	printf '\nTLS (nginx over HTTPS, 1 KiB responses, OpenSSL probes):\n\n'
	printf '| side | req/s | ratio | server CPU/req | client CPU/req | ztrace CPU/span | spans/requests | drops |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
	for s in tls_off tls_json tls_proc; do
		awk -v s="$s" -v n="${SUM[$s.n]}" -v rate="${SUM[$s.rate]}" -v rounds="${SUM[$s.rounds]}" \
			-v rate0="${SUM[tls_off.rate]}" -v srv="${SUM[$s.srv_us]}" -v cli="${SUM[$s.cli_us]}" \
			-v ticks="${SUM[$s.zt_ticks]}" -v hz="$hz" -v spans="${SUM[$s.spans]}" \
			-v drops="${SUM[$s.drops]}" 'BEGIN {
			printf "| %s | %.0f | %.3f | %.2f us | %.2f us | %s | %s | %s |\n", s,
				rate / rounds, rate / rate0, srv / n, cli / n,
				s == "tls_off" ? "-" : sprintf("%.2f us", ticks / hz * 1e6 / spans),
				s == "tls_off" ? "-" : sprintf("%d/%d", spans, n),
				s == "tls_off" ? "-" : drops
		}'
	done
}

mkdir -p "$ROOT/bench"
REPORT=$ROOT/bench/$(date -u +%Y%m%dT%H%M%SZ).md
ZB_PID=
# The e2e life cycle: its lock, temp dir, and cleanup of whatever was made.
exec 9>"$ZT_LOCK"
flock -w 600 9 || { echo "bench: could not take $ZT_LOCK" >&2; exit 2; }
export ZT_E2E_LOCKED=1
zt_reap_stale >/dev/null 2>&1 || true
(
	zt_begin_test
	trap 'rc=$?; [ -z "${ZB_PID:-}" ] || kill -KILL "$ZB_PID" 2>/dev/null; sysctl -q kernel.bpf_stats_enabled=0; rmdir "$(ct_cgroup "$IDLE_CT")" 2>/dev/null; (exit $rc); zt_cleanup' EXIT
	bench_main
)
