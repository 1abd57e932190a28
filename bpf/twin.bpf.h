/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Twin programs: a message on a CPU where the kernel skips our program.
 *
 * The kernel never runs a BPF program on a CPU where a run of the same
 * program is under way (bpf_prog_info.recursion_misses counts the skips).
 * Where programs can be preempted (fentry/fexit on PREEMPT_LAZY/FULL
 * kernels, tracepoints too from 7.0, which call them under SRCU-fast), a
 * run preempted mid-record makes the next task on that CPU to reach the hook
 * lose its message: nginx's response, on the CPU where curl's send was
 * preempted after waking nginx.
 *
 * So each such hook has two programs on it, the primary and its twin, the
 * same handler. The primary marks its run on this CPU (zt_running); the
 * twin does nothing unless it finds that mark, that is unless the primary
 * was skipped for this message because another task's run of it is under
 * way here. The primary must run first (it does: a tracepoint calls its
 * programs in the order they were attached, a trampoline the last attached
 * first: ZT_TWINS_TP and ZT_TWINS_TRAMP define them in the order each needs,
 * and the skeleton attaches in that order). Userspace loads twins only where
 * the socket hooks can be preempted (zt_preemptible, user/hooks.c) and
 * counts a loss as a primary's skip that no twin took up (ZT_CNT_RESCUED).
 *
 * The mark says that some task's primary is under way here, not that this
 * task's was skipped: a task preempted between its primary and its twin
 * (a tracepoint calls them one after the other, preemptible from 7.0; so
 * does a trampoline) can come back to another task's mark and take its own
 * message a second time. Seen on 7.2: a request twice in the records, its
 * span "pipelined" with no response, nothing counted; worse, the extra
 * rescue hides a real loss from the count. So a primary that took a
 * message for a traced thread says so in the thread's task storage
 * (zt_twin_ran), and its twin takes that word back before it looks at
 * the mark: only a twin whose own primary did not run rescues.
 */
#ifndef ZT_TWIN_BPF_H
#define ZT_TWIN_BPF_H

#include "maps.bpf.h"

enum zt_run_id {
	ZT_RUN_SEND = 0,
	ZT_RUN_RECV,
	ZT_RUN_STATE,
	ZT_RUN_UDP_SEND,
	ZT_RUN_UDP6_SEND,
	ZT_RUN_UDP_RECV,
	ZT_RUN_UDP6_RECV,
	ZT_RUN_MAX,
};

/*
 * A primary's run under way on this CPU. key: enum zt_run_id (one id per
 * hook: of a hook's flavours only one is loaded); value: u32 per CPU, 1
 * from the primary's first instruction to its last. Bound: ZT_RUN_MAX per
 * CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZT_RUN_MAX);
	__type(key, __u32);
	__type(value, __u32);
} zt_running SEC(".maps") __weak;

/*
 * The socket hooks whose primary took the current thread's message in
 * flight, a bit per zt_run_id, set at the primary's end and taken by its
 * twin. key: the task; value: u32. Bound: one per traced thread, freed
 * with the thread. Where task storage is not safe in these programs
 * (zt_twin_tokens unset at load: before 6.2, see user/loader.c) the twins
 * go by the mark alone.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} zt_twin_ran SEC(".maps") __weak;

const volatile bool zt_twin_tokens __weak = false;

/* The primary took the current thread's message (its handler said 1). */
static __always_inline void zt_twin_token_set(__u32 id)
{
	__u32 *t;

	if (!zt_twin_tokens)
		return;
	t = bpf_task_storage_get(&zt_twin_ran, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t)
		*t |= 1u << id;
}

/* Did this thread's primary take the message? Takes the word back. */
static __always_inline bool zt_twin_token_take(__u32 id)
{
	struct task_struct *task;
	__u32 *t;

	if (!zt_twin_tokens)
		return false;
	task = bpf_get_current_task_btf();
	if (!zt_task_may_have_storage(task))
		return false;
	t = bpf_task_storage_get(&zt_twin_ran, task, NULL, 0);
	if (!t || !(*t & (1u << id)))
		return false;
	*t &= ~(1u << id);
	return true;
}

static __always_inline __u32 *zt_run_begin(__u32 id)
{
	__u32 *r;

	/* No twins loaded, no mark needed. */
	if (!zt_preemptible)
		return NULL;
	r = bpf_map_lookup_elem(&zt_running, &id);
	if (r)
		*r = 1;
	asm volatile("" ::: "memory");
	return r;
}

static __always_inline void zt_run_end(__u32 *r)
{
	asm volatile("" ::: "memory");
	if (r)
		*r = 0;
}

/* The primary's run is under way here: it skipped this message. */
static __always_inline bool zt_run_taken(__u32 id)
{
	__u32 *r = bpf_map_lookup_elem(&zt_running, &id);

	return r && *r;
}

/* `call`: 1 when it took the message for a traced thread, else 0. The
 * programs return 0 (fexit programs must). */
#define ZT_PRIMARY_BODY(id, call)                \
	{                                        \
		__u32 *__run = zt_run_begin(id); \
		int __rc = (call);               \
		if (__rc > 0)                    \
			zt_twin_token_set(id);   \
		zt_run_end(__run);               \
		return 0;                        \
	}

#define ZT_TWIN_BODY(id, call)                   \
	{                                        \
		if (zt_twin_token_take(id))      \
			return 0;                \
		if (!zt_run_taken(id))           \
			return 0;                \
		zt_count(ZT_CNT_RESCUED);        \
		(call);                          \
		return 0;                        \
	}

/* A twin is named by its primary's name and "_twin" (ZT_TWIN_SUFFIX in
 * user/hooks.h, which finds it by that name). */

/* tp_btf: the primary attached first, so it runs first. */
#define ZT_TWINS_TP(sec, name, id, call, ...)                             \
	SEC(sec) int BPF_PROG(name, __VA_ARGS__) ZT_PRIMARY_BODY(id, call) \
	SEC(sec) int BPF_PROG(name##_twin, __VA_ARGS__) ZT_TWIN_BODY(id, call)

/* fentry/fexit: a trampoline runs the last attached first, so the twin is
 * defined (and attached) first. */
#define ZT_TWINS_TRAMP(sec, name, id, call, ...)                            \
	SEC(sec) int BPF_PROG(name##_twin, __VA_ARGS__) ZT_TWIN_BODY(id, call) \
	SEC(sec) int BPF_PROG(name, __VA_ARGS__) ZT_PRIMARY_BODY(id, call)

#endif
