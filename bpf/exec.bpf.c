// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process in a traced cgroup exec'd: userspace looks at what it maps, to
 * attach the TLS probes to a library file no traced process had mapped yet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"

static __always_inline int zt_handle_exec(void)
{
	struct zt_exec_event *e;
	__u64 cgid, pid_tgid = bpf_get_current_pid_tgid();

	if (!zt_current_cgroup_traced(&cgid) || (pid_tgid >> 32) == zt_self_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&zt_events, sizeof(*e), 0);
	if (!e) {
		zt_count(ZT_CNT_RB_FULL_EXEC);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->hdr.type = ZT_EV_EXEC;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = cgid;
	e->pid = pid_tgid >> 32;
	bpf_ringbuf_submit(e, zt_rb_flags());
	zt_count(ZT_CNT_EV_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(zt_tp_btf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return zt_handle_exec();
}
