#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# In-VM smoke test of the vmtest harness, run by the initramfs's /init as /tests/run-in-vm.sh:
#   scripts/vmtest/run.sh -- tests/vm/smoke.sh:/tests/run-in-vm.sh [/usr/sbin/bpftool:/usr/sbin/bpftool]
# Checks what the harness promises: BTF, tracefs, bpffs, the cgroup layout asked for (ZT_CGROUP),
# that a process can be put in a cgroup, and a netns + veth pair that pings both ways.
# With bpftool (and/or a static /tests/hookprobe) in the image it also reports, never failing
# on it, which hook kinds this kernel has.
# Traffic stays on a veth pair between this VM's own namespaces.

fails=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; fails=$((fails + 1)); }
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi; }

echo "kernel: $(uname -r)"
check "BTF: /sys/kernel/btf/vmlinux" test -s /sys/kernel/btf/vmlinux
check "tracefs at /sys/kernel/tracing" test -d /sys/kernel/tracing/events
check "bpffs at /sys/fs/bpf" grep -q ' /sys/fs/bpf bpf ' /proc/mounts

echo "cgroup mounts (layout ${ZT_CGROUP:-?}):"
grep -E ' (cgroup|cgroup2|tmpfs) ' /proc/mounts | grep ' /sys/fs/cgroup' | sed 's/^/  /'
v1=$(grep -c ' /sys/fs/cgroup/[^ ]* cgroup ' /proc/mounts)
case ${ZT_CGROUP:-v2} in
v2)
	check "v2: cgroup2 at /sys/fs/cgroup" grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts
	check "v2: no v1 hierarchy" test "$v1" = 0 ;;
v1)
	check "v1: tmpfs at /sys/fs/cgroup" grep -q ' /sys/fs/cgroup tmpfs ' /proc/mounts
	check "v1: no cgroup2" sh -c '! grep -q " cgroup2 " /proc/mounts'
	check "v1: name=systemd and pids hierarchies" sh -c 'grep -q "/sys/fs/cgroup/systemd cgroup" /proc/mounts && grep -q "/sys/fs/cgroup/pids cgroup" /proc/mounts' ;;
hybrid)
	check "hybrid: cgroup2 at /sys/fs/cgroup/unified" grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/mounts
	check "hybrid: v1 hierarchies too" test "$v1" -ge 2 ;;
esac
[ -n "$ZT_CGROUP_V1_MISSING" ] && echo "note: v1 controllers this kernel lacks: $ZT_CGROUP_V1_MISSING"

# Join a fresh cgroup (cgroup2 if mounted, else the v1 pids hierarchy) and come back.
if [ -n "$ZT_CGROUP2" ]; then cgdir=$ZT_CGROUP2/zt-smoke; else cgdir=/sys/fs/cgroup/pids/zt-smoke; fi
if mkdir "$cgdir" && sh -c 'echo $$ > "$1/cgroup.procs" && cat /proc/self/cgroup' sh "$cgdir" | grep -q zt-smoke; then
	ok "a process joins $cgdir (cgroup id $(stat -c %i "$cgdir"))"
else
	bad "a process joins $cgdir"
fi
rmdir "$cgdir" 2>/dev/null

# netns + veth, ping across both ways.
ns=zt-smoke
if ip netns add $ns &&
	ip link add zt-smoke0 type veth peer name zt-smoke1 &&
	ip link set zt-smoke1 netns $ns &&
	ip addr add 10.231.7.1/30 dev zt-smoke0 && ip link set zt-smoke0 up &&
	ip -n $ns addr add 10.231.7.2/30 dev zt-smoke1 && ip -n $ns link set zt-smoke1 up &&
	ip -n $ns link set lo up; then
	ok "netns $ns with a veth pair"
	check "ping host -> netns over veth" ping -c 1 -W 3 10.231.7.2
	check "ping netns -> host (ip netns exec)" ip netns exec $ns ping -c 1 -W 3 10.231.7.1
else
	bad "netns $ns with a veth pair"
fi
ip link del zt-smoke0 2>/dev/null
ip netns del $ns 2>/dev/null

# Hook kinds (informational).
if [ -d /sys/kernel/tracing/events/sock/sock_send_length ]; then tp=yes; else tp=no; fi
echo "hooks: tracepoint sock:sock_send_length in tracefs: $tp"
if command -v bpftool >/dev/null 2>&1; then
	n_send=$(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null | grep -c btf_trace_sock_send_length)
	n_recv=$(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null | grep -c btf_trace_sock_recv_length)
	echo "hooks: btf_trace_sock_send_length in BTF: $n_send, btf_trace_sock_recv_length: $n_recv"
	if bpftool feature probe kernel >/tmp/probe.txt 2>/tmp/probe.err; then
		echo "hooks: bpftool feature probe kernel: ran ($(wc -l </tmp/probe.txt) lines)"
		for t in kprobe tracepoint raw_tracepoint tracing sock_ops cgroup_skb lsm; do
			echo "hooks:   program type $t: $(grep -E "^eBPF program_type $t is" /tmp/probe.txt | sed 's/.* is //')"
		done
		for t in ringbuf sk_storage; do
			echo "hooks:   map type $t: $(grep -E "^eBPF map_type $t is" /tmp/probe.txt | sed 's/.* is //')"
		done
	else
		echo "hooks: bpftool feature probe kernel: FAILED: $(head -c 300 /tmp/probe.err)"
	fi
fi

# A hook prober (load + attach of one program per hook kind), if the run put one in the image.
[ -x /tests/hookprobe ] && /tests/hookprobe | sed 's/^/hooks: /'

echo "smoke: $fails failed"
[ "$fails" = 0 ]
