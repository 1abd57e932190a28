// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A cgroup was made: its id and path go to userspace, which names spans by
 * cgroup id. Without this, a container created and destroyed before its
 * records are read (a burst, a slow consumer, a job that lives a second)
 * could no longer be named: its directory is gone by then.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "filter.bpf.h"

/* The hierarchy whose ids the other records carry: cgroup2's (hierarchy
 * 0), or on pure v1 hosts the one of controller zt_v1_ssid. */
static __always_inline bool zt_cgroup_ours(struct cgroup *cgrp)
{
	struct cgroup_root *root = BPF_CORE_READ(cgrp, root);

	if (zt_v1_ssid < 0)
		return BPF_CORE_READ(root, hierarchy_id) == 0;
	return BPF_CORE_READ(root, subsys_mask) & (1u << (zt_v1_ssid & 15));
}

/* Rare (one per container made), so every one goes out, filtered or not:
 * a cgroup made below a traced one is traced too. */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(zt_tp_btf_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct zt_cgroup_event *e;
	long n;

	/* Any hierarchy's: cached verdicts by address are not trusted after
	 * it (zt_cgroup_gen), whichever the new cgroup's memory was. */
	__sync_fetch_and_add(&zt_cgroup_gen, 1);
	if (!zt_cgroup_ours(cgrp))
		return 0;
	e = bpf_ringbuf_reserve(&zt_events, sizeof(*e), 0);
	if (!e) {
		zt_count(ZT_CNT_RB_FULL_CGROUP);
		return 0;
	}
	__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
	e->hdr.type = ZT_EV_CGROUP;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	/* A cut path would name the wrong cgroup: none then (userspace asks
	 * the kernel by id while the directory exists). */
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	if (n < 0 || n >= (long)sizeof(e->path))
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	zt_count(ZT_CNT_EV_CGROUP);
	return 0;
}
