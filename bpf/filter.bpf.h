/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cgroup filter: the first and cheapest check on every data hook, so
 * processes outside the selection pay one map lookup and nothing else.
 */
#ifndef ZT_FILTER_BPF_H
#define ZT_FILTER_BPF_H

#include "maps.bpf.h"

enum { ZT_VERDICT_TRACED = 1, ZT_VERDICT_SKIP = 2 };

/*
 * A cgroup seen for the first time (say, created under a selected container
 * after ztrace started) is judged by walking the current task's ancestors,
 * then cached.
 */
static __always_inline bool zt_current_cgroup_traced(__u64 *cgid)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u8 verdict = ZT_VERDICT_SKIP, *cached;
	struct zt_verdict_last *last;
	__u32 zero = 0;

	*cgid = id;
	if (zt_trace_all)
		return true;
	last = bpf_map_lookup_elem(&zt_verdict_last, &zero);
	if (last && last->verdict && last->id == id)
		return last->verdict == ZT_VERDICT_TRACED;
	cached = bpf_map_lookup_elem(&zt_cgroup_verdict, &id);
	if (cached) {
		verdict = *cached;
		goto out;
	}

	for (int lvl = 0; lvl < ZT_CGROUP_MAX_DEPTH; lvl++) {
		__u64 anc = bpf_get_current_ancestor_cgroup_id(lvl);

		if (!anc)
			break;
		if (bpf_map_lookup_elem(&zt_traced_cgroups, &anc)) {
			verdict = ZT_VERDICT_TRACED;
			break;
		}
		if (anc == id)
			break;
	}
	bpf_map_update_elem(&zt_cgroup_verdict, &id, &verdict, BPF_ANY);
out:
	if (last) {
		last->id = id;
		last->verdict = verdict;
	}
	return verdict == ZT_VERDICT_TRACED;
}

/*
 * Below the syscall layer (softirq) the current task is unrelated to the
 * socket: judge by the cgroup the socket was created in. Only the cache and
 * the selection are consulted; a miss is settled later by the data path.
 */
static __always_inline bool zt_cgroup_id_traced(__u64 id)
{
	__u8 *cached;

	if (zt_trace_all)
		return true;
	cached = bpf_map_lookup_elem(&zt_cgroup_verdict, &id);
	if (cached)
		return *cached == ZT_VERDICT_TRACED;
	return bpf_map_lookup_elem(&zt_traced_cgroups, &id) != NULL;
}

#endif
