/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cgroup filter: the first and cheapest check on every data hook, so
 * processes outside the selection pay one map lookup and nothing else.
 */
#ifndef ZT_FILTER_BPF_H
#define ZT_FILTER_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>

enum { ZT_VERDICT_TRACED = 1, ZT_VERDICT_SKIP = 2 };

/*
 * Pure cgroup v1 hosts (no cgroup2 mounted): bpf_get_current_cgroup_id()
 * names the default hierarchy's root for every task there, so containers
 * are told apart by the task's cgroup in one v1 hierarchy instead, read
 * with CO-RE: task->cgroups->subsys[ssid]->cgroup->kn. Set at load: the
 * controller's subsystem id, or -1 (cgroup2).
 */
const volatile int zt_v1_ssid __weak = -1;

static __always_inline struct kernfs_node *zt_v1_current_kn(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cgs = BPF_CORE_READ(t, cgroups);

	if (!cgs)
		return NULL;
	bpf_core_read(&css, sizeof(css), &cgs->subsys[zt_v1_ssid & 15]);
	return css ? BPF_CORE_READ(css, cgroup, kn) : NULL;
}

/* 6.15 renamed kernfs_node.parent to __parent (RCU-protected now). */
struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *zt_kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(((struct kernfs_node___new *)kn)->__parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ(kn, parent);
}

/* The ancestors walk by kernfs node, the cgroup and its parents: for v1,
 * and for cgroup2 where tracing programs lack
 * bpf_get_current_ancestor_cgroup_id() (before 5.12; zt_cgroup_walk, set
 * at load). */
const volatile bool zt_cgroup_walk __weak = false;
static __always_inline __u8 zt_kn_verdict(struct kernfs_node *kn)
{
	for (int lvl = 0; lvl < ZT_CGROUP_MAX_DEPTH && kn; lvl++) {
		__u64 anc = BPF_CORE_READ(kn, id);

		if (bpf_map_lookup_elem(&zt_traced_cgroups, &anc))
			return ZT_VERDICT_TRACED;
		kn = zt_kn_parent(kn);
	}
	return ZT_VERDICT_SKIP;
}

/*
 * Bumped by every cgroup made (cgroup.bpf.c, before the cgroup can hold a
 * task). The per-CPU verdicts by address trust an entry of this generation
 * only: the memory of a freed cgroup can be a new cgroup's, and cgroup2's
 * are only made by mkdir. By address, a task's cgroup is two loads away
 * (task->cgroups->dfl_cgrp) where its id is four, the last three cache
 * misses under load: ~6% of the programs' time in the bench.
 */
volatile __u64 zt_cgroup_gen __weak = 0;

/*
 * A cgroup seen for the first time (say, created under a selected container
 * after ztrace started) is judged by walking the current task's ancestors,
 * then cached. `task`: the current task from zt_current_task(), or NULL;
 * `preemptible`: the calling program can be preempted (user/hooks.c), when
 * the verdicts by address, three words each, could be left torn.
 */
static __always_inline bool zt_current_task_cgroup_traced(struct task_struct *task, __u64 *cgid,
							  bool preemptible)
{
	struct zt_verdict_by_addr *hit = NULL;
	struct kernfs_node *kn = NULL;
	__u8 verdict = ZT_VERDICT_SKIP, *cached;
	struct zt_verdict_last *last;
	__u64 id, cgrp = 0, gen = 0;
	__u32 zero = 0;

	last = zt_trace_all ? NULL : bpf_map_lookup_elem(&zt_verdict_last, &zero);
	if (zt_v1_ssid >= 0) {
		kn = zt_v1_current_kn();
		id = kn ? BPF_CORE_READ(kn, id) : 0;
	} else if (task && !preemptible && last) {
		struct cgroup *cg = task->cgroups->dfl_cgrp;

		cgrp = (__u64)cg;
		gen = zt_cgroup_gen;
		if (last->traced.cgrp == cgrp && last->traced.gen == gen) {
			*cgid = last->traced.id;
			return true;
		}
		if (last->skipped.cgrp == cgrp && last->skipped.gen == gen) {
			*cgid = last->skipped.id;
			return false;
		}
		id = cg->kn->id;
	} else {
		id = zt_current_cgroup_id(task);
	}
	*cgid = id;
	if (zt_trace_all)
		return true;
	/* Through `out`: a hit by id (the entries by address retired by a
	 * mkdir, say) makes the entry by address again. */
	if (last && last->traced1 == id + 1) {
		verdict = ZT_VERDICT_TRACED;
		goto out;
	}
	if (last && last->skipped1 == id + 1)
		goto out;
	cached = bpf_map_lookup_elem(&zt_cgroup_verdict, &id);
	if (cached) {
		verdict = *cached;
		goto out;
	}

	if (zt_v1_ssid >= 0) {
		verdict = zt_kn_verdict(kn);
		goto store;
	}
	if (zt_cgroup_walk) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();

		verdict = zt_kn_verdict(BPF_CORE_READ(t, cgroups, dfl_cgrp, kn));
		goto store;
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
store:
	bpf_map_update_elem(&zt_cgroup_verdict, &id, &verdict, BPF_ANY);
out:
	if (last && verdict == ZT_VERDICT_TRACED) {
		last->traced1 = id + 1;
		hit = &last->traced;
	} else if (last) {
		last->skipped1 = id + 1;
		hit = &last->skipped;
	}
	if (hit && cgrp) {
		hit->cgrp = cgrp;
		hit->gen = gen;
		hit->id = id;
	}
	return verdict == ZT_VERDICT_TRACED;
}

static __always_inline bool zt_current_cgroup_traced(__u64 *cgid)
{
	return zt_current_task_cgroup_traced(NULL, cgid, true);
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
