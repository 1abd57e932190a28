// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduler hooks: keep the accumulators of sched.bpf.h for the threads
 * that did traced I/O. A task not accounted for costs a lookup per switch
 * or wakeup, nothing more (task storage where zt_threads_in_task, else a
 * hash). tp_btf where it attaches, raw_tp otherwise (user/hooks.c picks,
 * "sched=" on the start line).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sched.bpf.h"

/* 5.14 renamed task_struct.state to __state. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* `btf`: the tasks are BTF-typed arguments (tp_btf), read with plain loads
 * (ZT_BTF_READ): these hooks run on every context switch of the host. */
static __always_inline bool zt_task_running(struct task_struct *p, bool btf)
{
	if (bpf_core_field_exists(p->__state))
		return ZT_BTF_READ(btf, p, __state) == 0;
	return ZT_BTF_READ(btf, (struct task_struct___old *)p, state) == 0;
}

/* p's accumulators, NULL when it has none (the common case: a task that
 * did no traced I/O). `btf`: as for zt_task_running; the task storage only
 * then (zt_threads_in_task is set only where the hooks are tp_btf). */
static __always_inline struct zt_thread *zt_thread_of(struct task_struct *p, bool btf)
{
	__u32 tid;

	if (btf && zt_threads_in_task) {
		if (!zt_task_may_have_storage(p))
			return NULL;
		return bpf_task_storage_get(&zt_threads_task, p, NULL, 0);
	}
	tid = ZT_BTF_READ(btf, p, pid);
	return bpf_map_lookup_elem(&zt_threads, &tid);
}

static __always_inline int zt_on_switch(bool preempt, struct task_struct *prev,
					struct task_struct *next, bool btf)
{
	struct zt_thread *p = zt_thread_of(prev, btf), *n = zt_thread_of(next, btf);
	__u64 now = 0;

	/* The clock only for a thread accounted for (the common case is
	 * neither). */
	if (p) {
		now = bpf_ktime_get_ns();
		if (p->state == ZT_TS_RUNNING && now > p->last_ns)
			p->cpu_ns += now - p->last_ns;
		/* Still runnable (preempted, throttled, yielded): it waits
		 * for a CPU from now on. */
		p->state = preempt || zt_task_running(prev, btf) ? ZT_TS_RUNNABLE : ZT_TS_BLOCKED;
		p->last_ns = now;
	}
	if (n) {
		if (!now)
			now = bpf_ktime_get_ns();
		if (n->state == ZT_TS_RUNNABLE && now > n->last_ns)
			n->runq_ns += now - n->last_ns;
		n->state = ZT_TS_RUNNING;
		n->last_ns = now;
	}
	return 0;
}

static __always_inline int zt_on_wakeup(struct task_struct *p, bool btf)
{
	struct zt_thread *t = zt_thread_of(p, btf);

	/* A wakeup of a thread not yet switched out changes nothing. */
	if (t && t->state == ZT_TS_BLOCKED) {
		t->state = ZT_TS_RUNNABLE;
		t->last_ns = bpf_ktime_get_ns();
	}
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(zt_tp_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return zt_on_switch(preempt, prev, next, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(zt_tp_btf_wakeup, struct task_struct *p)
{
	return zt_on_wakeup(p, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(zt_tp_btf_wakeup_new, struct task_struct *p)
{
	return zt_on_wakeup(p, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(zt_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return zt_on_switch(preempt, prev, next, false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(zt_raw_wakeup, struct task_struct *p)
{
	return zt_on_wakeup(p, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(zt_raw_wakeup_new, struct task_struct *p)
{
	return zt_on_wakeup(p, false);
}
