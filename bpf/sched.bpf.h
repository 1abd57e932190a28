/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a traced thread's time goes: per-thread accumulators of time on a
 * CPU and time waiting in a run queue, kept by the scheduler hooks
 * (sched.bpf.c) and stamped on every data record (emit.bpf.h). The kernel
 * keeps sums, never a record per scheduler event: userspace takes
 * differences between two records of the same thread.
 */
#ifndef ZT_SCHED_BPF_H
#define ZT_SCHED_BPF_H

#include "maps.bpf.h"

/* The scheduler hooks are loaded (not with --no-sched, not where no hook
 * attaches): set at load. */
const volatile bool zt_sched_on __weak = false;

enum zt_thread_state {
	ZT_TS_BLOCKED = 0,  /* asleep, or not known */
	ZT_TS_RUNNING = 1,  /* on a CPU since last_ns */
	ZT_TS_RUNNABLE = 2, /* woken or preempted, waiting for a CPU since last_ns */
};

struct zt_thread {
	__u64 cpu_ns;  /* cumulative on-CPU time */
	__u64 runq_ns; /* cumulative run-queue wait */
	__u64 last_ns; /* when `state` was entered */
	__u32 state;   /* enum zt_thread_state */
	__u32 pad;
};

/*
 * The threads accounted for: only those that did traced I/O (the data path
 * creates the entry after the cgroup filter passed), so for every other
 * task the scheduler hooks cost one failed lookup. key: tid (u32); value:
 * struct zt_thread. Bound: 16384 threads, LRU: an exited thread's entry
 * ages out; a tid reused by an untraced thread is accounted for, unread,
 * until then. Used where zt_threads_in_task is not set.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct zt_thread);
} zt_threads SEC(".maps") __weak;

/*
 * The same in task storage, where every program that touches it has the
 * task as a BTF pointer and task storage is safe in tracing programs (6.2+,
 * scheduler hooks on tp_btf: zt_threads_in_task, set at load). key: the
 * task; value: struct zt_thread. Bound: one per thread that did traced I/O,
 * freed with the thread. A context switch of an untraced task, the common
 * case on a host, is then a load from the task the scheduler just touched,
 * where the hash was a bucket's cache miss; ~20% of the programs' time per
 * request went to the scheduler's side before.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct zt_thread);
} zt_threads_task SEC(".maps") __weak;

const volatile bool zt_threads_in_task __weak = false;

/* The current thread's sums up to `now` (it is running: its current slice
 * counts). Its entry is made on its first traced I/O. `task`: the current
 * task from zt_current_task(), or NULL. */
static __always_inline bool zt_sched_stamp(struct task_struct *task, __u32 tid, __u64 now,
					   __u64 *cpu, __u64 *runq)
{
	struct zt_thread *t;

	if (!zt_sched_on)
		return false;
	if (zt_threads_in_task) {
		struct zt_thread fresh = { .last_ns = now, .state = ZT_TS_RUNNING };

		/* Made with its first values in one call: the storage copies
		 * `fresh` in when it creates the entry, and returns the
		 * existing one untouched otherwise. */
		t = bpf_task_storage_get(&zt_threads_task, task ? task : bpf_get_current_task_btf(),
					 &fresh, BPF_LOCAL_STORAGE_GET_F_CREATE);
	} else {
		t = bpf_map_lookup_elem(&zt_threads, &tid);
		if (!t) {
			struct zt_thread fresh = { .last_ns = now, .state = ZT_TS_RUNNING };

			bpf_map_update_elem(&zt_threads, &tid, &fresh, BPF_NOEXIST);
			t = bpf_map_lookup_elem(&zt_threads, &tid);
		}
	}
	if (!t)
		return false;
	*cpu = t->cpu_ns;
	*runq = t->runq_ns;
	if (t->state == ZT_TS_RUNNING && now > t->last_ns)
		*cpu += now - t->last_ns;
	return true;
}

#endif
