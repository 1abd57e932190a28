#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh [--kernels "5.10 6.1 6.12 unstable"] [--cgroup "v2 v1 hybrid"] [--timeout SECONDS]
#        [--append "zt_x=y ..."] [-v] -- FILE[:DEST]...
#
# Boots each stock Debian kernel (fetched by fetch-kernels.sh) under qemu with TCG (KVM here
# crashes stock kernels) with an initramfs from mkinitramfs.sh holding FILES (default DEST
# /tests/<basename>; the test entry point is /tests/run-in-vm.sh, e.g.
# tests/vm/smoke.sh:/tests/run-in-vm.sh), once per cgroup layout, and prints one line each:
#   <kernel> <cgroup-layout> pass|fail|skipped <detail>
# pass means the console showed "ZT-VM-EXIT 0". Consoles go to build/vmtest/<kernel>-<layout>.log.
# Kernels: 5.10, 6.1, 6.12, unstable (also "7", "7.x", "sid"); default all. Layouts: v2 (default),
# v1, hybrid; several may be given. Exit status 1 if any run failed (skipped is fine), 2 on
# usage errors.
# Environment: ZT_VM_TIMEOUT (default 300), ZT_VM_MODULES (extra modules for the initramfs),
# ZT_VM_FLAVOUR (see fetch-kernels.sh), ZT_VM_QEMU_ARGS (extra qemu arguments).
set -euo pipefail
# shellcheck source=scripts/vmtest/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KERNELS="5.10 6.1 6.12 unstable"
LAYOUTS="v2"
TIMEOUT=${ZT_VM_TIMEOUT:-300}
APPEND=""
VERBOSE=0
usage() { sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
	case $1 in
	--kernels) KERNELS=$2; shift 2 ;;
	--kernels=*) KERNELS=${1#*=}; shift ;;
	--cgroup) LAYOUTS=$2; shift 2 ;;
	--cgroup=*) LAYOUTS=${1#*=}; shift ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	--append) APPEND=$2; shift 2 ;;
	--append=*) APPEND=${1#*=}; shift ;;
	-v | --verbose) VERBOSE=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	*) break ;;
	esac
done
FILES=("$@")
KERNELS=${KERNELS//,/ }
LAYOUTS=${LAYOUTS//,/ }
for l in $LAYOUTS; do
	case $l in v2 | v1 | hybrid) ;; *) log "run.sh: unknown cgroup layout $l (v2, v1, hybrid)"; exit 2 ;; esac
done

mkdir -p "$VM_BUILD"
need_pkgs qemu-system-x86_64:qemu-system-x86 timeout:coreutils

# Requested kernel -> fetch target.
target_of() {
	case $1 in
	7 | 7.* | sid | unstable) echo unstable ;;
	*) echo "$1" ;;
	esac
}
targets=()
for k in $KERNELS; do targets+=("$(target_of "$k")"); done

declare -A DIR_OF=() WHY=()
fetch_out=$("$VMTEST_DIR/fetch-kernels.sh" "${targets[@]}") || log "run.sh: warning: fetch-kernels.sh failed (exit $?)"
while read -r t d status rest; do
	[[ -n $t ]] || continue
	[[ $t == have: ]] && continue
	if [[ $status == skipped* ]]; then WHY[$t]="${status#skipped} $rest"; else DIR_OF[$t]=$d; fi
	log "fetch: $t $d $status $rest"
done <<<"$fetch_out"

npass=0 nfail=0 nskip=0
result() { echo "$*"; }

# How a guest's kernel died, in one line, from its console: the panic's
# reason, the first oops or BUG line and where in the kernel it was (the
# first RIP in kernel code, segment 0010). Empty if the console shows no
# death.
kernel_death() {
	tr -d '\r' <"$1" | awk '
		!oops && /(BUG|Oops|general protection fault|kernel BUG at)[: ]/ { sub(/^\[[ 0-9.]*\] /, ""); oops = $0 }
		!rip && /RIP: 0010:/ { sub(/.*RIP: 0010:/, "RIP "); rip = $1 " " $2 }
		!panic && /Kernel panic - not syncing/ { sub(/.*Kernel panic - not syncing/, "panic"); panic = $0 }
		END { s = panic; if (oops != "") s = s (s == "" ? "" : "; ") oops; if (rip != "") s = s (s == "" ? "" : "; ") rip; print substr(s, 1, 200) }'
}

# A kernel that died in code of ours: a ztrace program on the dying stacks
# (JITed programs are "bpf_prog_<tag>_<name>", ours all named zt_*; never
# patched once loaded, unlike the trampolines that call them), or the
# tests' own init gone.
died_of_ours() {
	tr -d '\r' <"$1" | grep -a -q -E 'bpf_prog_[0-9a-f]+_zt_|Attempted to kill init'
}
for k in $KERNELS; do
	t=$(target_of "$k")
	d=${DIR_OF[$t]:-}
	if [[ -z $d || ! -f $KERNELS_DIR/$d/vmlinuz ]]; then
		why=${WHY[$t]:-not fetched}; why=${why# }; why=${why#(}; why=${why%)}
		for l in $LAYOUTS; do result "$k $l skipped $why"; nskip=$((nskip + 1)); done
		continue
	fi
	rel=$(cat "$KERNELS_DIR/$d/release")
	initrd=$VM_BUILD/initramfs-$d.cpio.gz
	if ! "$VMTEST_DIR/mkinitramfs.sh" "$initrd" "$KERNELS_DIR/$d" "${FILES[@]}" >"$VM_BUILD/mkinitramfs-$d.log" 2>&1; then
		for l in $LAYOUTS; do result "$d $l fail initramfs: $(tail -1 "$VM_BUILD/mkinitramfs-$d.log")"; nfail=$((nfail + 1)); done
		continue
	fi
	for l in $LAYOUTS; do
		logf=$VM_BUILD/$d-$l.log
		retried=
		for attempt in 1 2 3; do
			start=$(date +%s.%N)
			set +e
			# loglevel=5 after quiet: the stacks of an oops, a soft lockup
			# or an RCU stall reach the console (quiet alone keeps only
			# their first lines), with every CPU's for a soft lockup.
			# shellcheck disable=SC2086
			qemu=(timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 1G
				-nographic -no-reboot -nic none -kernel "$KERNELS_DIR/$d/vmlinuz" -initrd "$initrd"
				-append "console=ttyS0 quiet loglevel=5 softlockup_all_cpu_backtrace=1 panic=-1 rdinit=/init zt_cgroup=$l $APPEND"
				${ZT_VM_QEMU_ARGS:-})
			if ((VERBOSE)); then
				"${qemu[@]}" </dev/null 2>&1 | tee "$logf" >&2
				qrc=${PIPESTATUS[0]}
			else
				"${qemu[@]}" </dev/null >"$logf" 2>&1
				qrc=$?
			fi
			set -e
			# A guest that hangs without a word from the tests, or whose
			# kernel dies before the tests begin or later in code not
			# ours, is booted again, up to twice; each console is kept
			# and the line says so, with how the kernel died. Under TCG,
			# kernel text patched while another vCPU runs it goes wrong now
			# and then: 5.10 hung about once in ten boots (the hang caught
			# with stacks was a deadlock in text_poke_bp, ztrace's hook
			# probe detaching from sched_switch in __schedule; probes no
			# longer attach tracepoints, see user/hooks.c), 7.2 and 6.12
			# oopsed at an int3 in sched_clock_cpu ~1-2 s into boot, and
			# 6.12 panicked once 68 s in, during the busy cell (most
			# likely as ztrace detached or attached its fentry
			# trampolines: text patched; no console was kept to say).
			# A second boot alone let one CI run in ~30 fail. A kernel
			# that died with a ztrace program on its stacks, or because
			# the tests' init ended, is not booted again: that failure is
			# ours.
			why= kept= death=$(kernel_death "$logf")
			if ((attempt < 3)) && ! tr -d '\r' <"$logf" | grep -aq 'ZT-VM-EXIT [0-9]*'; then
				if ((qrc == 124 || qrc == 137)); then
					why="no exit marker after ${TIMEOUT}s" kept=hung
				elif ! tr -d '\r' <"$logf" | grep -aq 'zt-init: kernel'; then
					why="the kernel died before the tests began: $death" kept=boot
				elif [[ -n $death ]] && ! died_of_ours "$logf"; then
					why="the kernel died in the tests, not in ztrace's code: $death" kept=died
				fi
			fi
			if [[ -n $why ]]; then
				mv "$logf" "$logf.$kept$attempt"
				retried="$retried (booted again, $why: ${logf#"$REPO_ROOT"/}.$kept$attempt)"
				log "$d $l: $why, booting again"
				continue
			fi
			break
		done
		secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
		marker=$(tr -d '\r' <"$logf" | grep -a -o 'ZT-VM-EXIT [0-9]*' | tail -1 || true)
		if [[ $marker == "ZT-VM-EXIT 0" ]]; then
			result "$d $l pass $rel ${secs}s$retried"; npass=$((npass + 1))
			continue
		fi
		if [[ -n $marker ]]; then detail="tests exited ${marker#ZT-VM-EXIT }"
		elif ((qrc == 124 || qrc == 137)); then detail="timeout after ${TIMEOUT}s, no exit marker"
		else
			detail="no exit marker (qemu rc=$qrc): ${death:-$(tr -d '\r' <"$logf" | grep -a . | tail -1 | cut -c1-120)}"
		fi
		result "$d $l fail $rel ${secs}s $detail (console: ${logf#"$REPO_ROOT"/})$retried"
		nfail=$((nfail + 1))
		((VERBOSE)) || { log "--- last lines of $logf:"; tr -d '\r' <"$logf" | tail -25 >&2; log "---"; }
	done
done
echo "vmtest: $npass passed, $nfail failed, $nskip skipped"
((nfail == 0))
