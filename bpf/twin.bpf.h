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

#define ZT_PRIMARY_BODY(id, call)                \
	{                                        \
		__u32 *__run = zt_run_begin(id); \
		int __rc = (call);               \
		zt_run_end(__run);               \
		return __rc;                     \
	}

#define ZT_TWIN_BODY(id, call)                   \
	{                                        \
		if (!zt_run_taken(id))           \
			return 0;                \
		zt_count(ZT_CNT_RESCUED);        \
		return (call);                   \
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
