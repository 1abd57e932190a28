/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and load-time settings shared by every BPF object. Each object
 * includes this header; the definitions are weak so `bpftool gen object`
 * merges them into one map each.
 */
#ifndef ZT_MAPS_BPF_H
#define ZT_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "ztrace.h"

/*
 * A field of a kernel object on a hot path. Where the object is a BTF-typed
 * argument (tp_btf, fentry/fexit) a plain load does: the JIT makes it one
 * guarded instruction, where BPF_CORE_READ is a call to
 * bpf_probe_read_kernel() (~30 ns each on the bench machine). kprobe and
 * raw_tp programs hold bare addresses and keep the helper. `btf` is a
 * constant at every call site, so each program keeps one of the two.
 */
#define ZT_BTF_READ(btf, p, field) ((btf) ? (p)->field : BPF_CORE_READ(p, field))

char LICENSE[] SEC("license") __weak = "Dual BSD/GPL";

/* Settings, fixed before load so the verifier can prune what is off. */
const volatile bool zt_trace_all __weak = false;           /* --all: skip the cgroup filter */
const volatile __u32 zt_capture_bytes __weak = ZT_CAPTURE_DEFAULT; /* <= ZT_CAPTURE_MAX */
/* ztrace's own process: never traced, or its exports would feed on themselves. */
const volatile __u32 zt_self_tgid __weak = 0;
/* bpf_get_current_task_btf() exists (5.11+; false on compat loads). */
const volatile bool zt_task_btf __weak = false;

/*
 * The current task on a hot path: a BTF pointer where `btf` (tp_btf,
 * fentry/fexit programs) and the kernel has one, its fields read with plain
 * loads; else NULL, and the helpers below answer. Each helper call the
 * loads replace (bpf_get_current_cgroup_id, bpf_get_current_pid_tgid, a
 * second bpf_get_current_task_btf) cost ~20-40 ns on the bench machine,
 * whose kernel guards every return (retpolines, SRSO).
 */
static __always_inline struct task_struct *zt_current_task(bool btf)
{
	return btf && zt_task_btf ? bpf_get_current_task_btf() : NULL;
}

/* bpf_get_current_cgroup_id(): task_dfl_cgroup(current)->kn->id. */
static __always_inline __u64 zt_current_cgroup_id(struct task_struct *t)
{
	return t ? t->cgroups->dfl_cgrp->kn->id : bpf_get_current_cgroup_id();
}

/* bpf_get_current_pid_tgid(): tgid << 32 | pid. */
static __always_inline __u64 zt_current_pid_tgid(struct task_struct *t)
{
	return t ? (__u64)(__u32)t->tgid << 32 | (__u32)t->pid : bpf_get_current_pid_tgid();
}

/* Has t (a BTF task pointer) storage of any task-storage map? Most tasks
 * have none, which a load from the task says where bpf_task_storage_get
 * would be a helper call; kernels without the field say yes. */
static __always_inline bool zt_task_may_have_storage(struct task_struct *t)
{
	return !bpf_core_field_exists(t->bpf_storage) || t->bpf_storage;
}

/*
 * Records to userspace. Size set by --ringbuf-size (power of two, page
 * multiple). Producers never wake the consumer per record (an IPI each in a
 * VM): the consumer polls on a short timer, and a producer forces a wakeup
 * only when the ring is half full.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} zt_events SEC(".maps") __weak;

/*
 * Selected cgroups. key: cgroup2 id (u64); value: u8, 1. Bound:
 * ZT_MAX_TRACED_CGROUPS. Filled by userspace before attach, then read-only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZT_MAX_TRACED_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} zt_traced_cgroups SEC(".maps") __weak;

/*
 * Verdict cache: is this cgroup, or one of its ancestors, selected?
 * key: cgroup2 id (u64); value: u8, 1 traced, 2 not. Bound: 16384, LRU; an
 * evicted entry only costs one ancestor walk. Never stale: the selection is
 * fixed at start and cgroup ids are not reused.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} zt_cgroup_verdict SEC(".maps") __weak;

/*
 * The last verdict on each CPU: the same cgroup's threads tend to run
 * back to back on a CPU, and an array slot is cheaper than the LRU hash.
 * key: 0; value: struct zt_verdict_last per CPU. Bound: 1 per CPU.
 */
struct zt_verdict_last {
	/* cgroup id + 1 (0: none) last judged traced, and last judged
	 * skipped. One word each, written in one store: a program preempted
	 * halfway by another on the same CPU (preemptible kernels) never
	 * leaves an id paired with another id's verdict. */
	__u64 traced1;
	__u64 skipped1;
	/* The same by the cgroup's address, for programs that are never
	 * preempted (three words an entry: see zt_cgroup_gen). */
	struct zt_verdict_by_addr {
		__u64 cgrp; /* struct cgroup address, 0: none */
		__u64 gen;  /* zt_cgroup_gen when it was judged */
		__u64 id;
	} traced, skipped;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zt_verdict_last);
} zt_verdict_last SEC(".maps") __weak;

/*
 * Per-socket state. key: the socket; value: struct zt_sock. Bound: freed by
 * the kernel with the socket, so it cannot outlive the connection.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct zt_sock);
} zt_socks SEC(".maps") __weak;

/* Counters. key: enum zt_counter; value: u64 per CPU. Bound: ZT_CNT_MAX. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZT_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} zt_counters SEC(".maps") __weak;

/*
 * Slots per CPU of each scratch space below: a program preempted while it
 * holds one (see zt_cpu_busy) leaves the other to the program that
 * preempted it, so only a third at once on one CPU loses its record.
 * Two: zt_scratch_claim picks between them without a branch.
 */
#define ZT_SCRATCH_SLOTS 2

/*
 * Scratch space for a data record: the BPF stack is 512 bytes, a record with
 * its payload is up to ~4 KiB. key: slot (0..ZT_SCRATCH_SLOTS-1); value: one
 * record per CPU and slot.
 */
struct zt_data_scratch {
	struct zt_data_event ev;
	/* Twice the bound, so `len & (2 * ZT_CAPTURE_MAX - 1)` is provably in
	 * range for the verifier whatever the compiler did to the clamp. */
	__u8 payload[2 * ZT_CAPTURE_MAX];
	__u32 rb_tick;    /* records made in this slot (zt_rb_flags_data) */
	__u32 rb_filling; /* the ring was over a quarter full when last asked */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZT_SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct zt_data_scratch);
} zt_scratch SEC(".maps") __weak;

/*
 * This CPU's scratch spaces in use (zt_io_scratch, zt_scratch), one claim
 * count per slot. BPF programs run with migration disabled, not preemption:
 * on kernels that preempt kernel code (7.x's PREEMPT_LAZY, PREEMPT_FULL) a
 * program can be preempted mid-record by another task whose program takes
 * the same per-CPU scratch, each then sending the other's bytes, lengths or
 * times. A program claims a free slot before using it; one that finds every
 * slot claimed gives up the record and counts it (ZT_CNT_CPU_BUSY).
 * key: enum zt_scratch_id * ZT_SCRATCH_SLOTS + slot; value: u32 per CPU.
 * Bound: 2 * ZT_SCRATCH_SLOTS per CPU.
 */
enum zt_scratch_id { ZT_SCRATCH_IO = 0, ZT_SCRATCH_REC = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * ZT_SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} zt_cpu_busy SEC(".maps") __weak;

/*
 * Where the kernel preempts a program mid-run, its claims are atomic
 * (`atomic`): an atomic increment, owned when it made the count 1, and
 * released by an atomic decrement. A test and a store would let a program
 * preempted between the two share the slot with the one that preempted it
 * (seen on 7.2: one request's record sent with another connection's
 * header). A program that is not preempted has only programs in
 * interrupts come between the two, and they end before it goes on: the
 * plain test and store do, without locked instructions (each a barrier
 * that waits for the record's stores to reach the cache: ~2% of the
 * programs' time here). The two kinds mix safely on one CPU: a plain
 * claim runs to its release before any preempted program resumes. Atomic
 * add is all 5.10 has (no fetch, no cmpxchg).
 *
 * Which programs are preempted is set at load (user/hooks.c): the socket
 * hooks' where their kind runs preemptible (zt_preemptible: fentry on a
 * preemptible kernel, tracepoints too from 7.0; exactly where their twins
 * are loaded, bpf/twin.bpf.h), uprobes wherever the kernel preempts kernel
 * code (zt_uprobe_preemptible).
 */
const volatile bool zt_preemptible __weak = false;
const volatile bool zt_uprobe_preemptible __weak = false;

/* A free slot's claim, and the slot in *slot; NULL (the caller counts it)
 * when other programs hold both slots. */
static __always_inline __u32 *zt_scratch_claim(enum zt_scratch_id which, __u32 *slot, bool atomic)
{
	__u32 key = which * ZT_SCRATCH_SLOTS, *busy = bpf_map_lookup_elem(&zt_cpu_busy, &key);
	__u32 s;

	if (!busy)
		return NULL;
	if (atomic) {
		/* Slot 0 if this increment made the count 1, else slot 1:
		 * s = count > 1, in arithmetic the compiler cannot turn back
		 * into a branch (each branch on it would have the verifier walk
		 * what follows twice, once per slot). */
		__sync_fetch_and_add(busy, 1);
		s = *(volatile __u32 *)busy - 2;
		asm volatile("" : "+r"(s));
		s = (s >> 31) ^ 1;
		__sync_fetch_and_add(busy, -s);
		key += s;
		busy = bpf_map_lookup_elem(&zt_cpu_busy, &key);
		if (!busy)
			return NULL;
		/* Slot 0 is ours already (s = 0 adds nothing); slot 1 is
		 * claimed the same way. */
		__sync_fetch_and_add(busy, s);
		if (*(volatile __u32 *)busy != 1) {
			__sync_fetch_and_add(busy, -1);
			return NULL;
		}
		*slot = s;
		asm volatile("" ::: "memory");
		return busy;
	}
	/* Slot 1 when slot 0 is held (by a count of one, or more while
	 * preempted atomic claims are under way): computed, not branched on,
	 * so the verifier walks what follows once for both slots (twice
	 * would cost 5.10's verifier seconds under TCG). */
	s = *busy;
	asm volatile("" : "+r"(s));
	*slot = (s | -s) >> 31;
	key += *slot;
	busy = bpf_map_lookup_elem(&zt_cpu_busy, &key);
	if (!busy || *busy)
		return NULL;
	*busy = 1;
	asm volatile("" ::: "memory");
	return busy;
}

static __always_inline void zt_scratch_release(__u32 *busy, bool atomic)
{
	asm volatile("" ::: "memory");
	if (atomic)
		__sync_fetch_and_add(busy, -1);
	else
		*busy = 0;
}

static __always_inline void zt_count(enum zt_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&zt_counters, &key);

	/* Atomic although per CPU: a preempted increment (see zt_cpu_busy)
	 * would lose another program's. */
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Half the ring's size in bytes, set at load: past it a record wakes the
 * consumer. A constant spares every record a second helper call asking the
 * ring its size. */
const volatile __u64 zt_rb_wake_at __weak = 0;

/* Wake the consumer only when the ring is filling up (see zt_events):
 * `avail`, the bytes in the ring. */
static __always_inline __u64 zt_rb_wake(__u64 avail)
{
	return avail > zt_rb_wake_at ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 zt_rb_flags(void)
{
	return zt_rb_wake(bpf_ringbuf_query(&zt_events, BPF_RB_AVAIL_DATA));
}

/*
 * zt_rb_flags for data records, which ask the ring its fill (a helper call,
 * ~25 ns here) on every 16th record of a CPU's scratch slot while the ring
 * is under a quarter full, and on every record once it is over: past half
 * full, the forced wakeups come exactly as when every record asked. Below
 * a quarter a wakeup is not due anyway, and the crossing is seen at most 16
 * records per CPU late.
 */
static __always_inline __u64 zt_rb_flags_data(struct zt_data_scratch *s)
{
	__u64 avail;

	if (!s->rb_filling && (++s->rb_tick & 15))
		return BPF_RB_NO_WAKEUP;
	avail = bpf_ringbuf_query(&zt_events, BPF_RB_AVAIL_DATA);
	s->rb_filling = avail > zt_rb_wake_at / 2;
	return zt_rb_wake(avail);
}

#endif
