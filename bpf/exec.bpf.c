// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process in a traced cgroup exec'd or was forked: userspace looks at what
 * it maps, to attach the TLS probes (to a library file no traced process had
 * mapped yet, or to a new process: probes are per process).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "filter.bpf.h"

/* Set before load: execs matter only when TLS libraries are probed, forks
 * only when that is done process by process (--tls-attach process). */
const volatile bool zt_announce_execs = false;
const volatile bool zt_announce_forks = false;

static __always_inline int zt_announce_process(__u32 pid, __u8 forked)
{
	struct zt_exec_event *e;
	__u64 cgid;

	if (!zt_current_cgroup_traced(&cgid) || pid == zt_self_tgid)
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
	e->pid = pid;
	e->forked = forked;
	bpf_ringbuf_submit(e, zt_rb_flags());
	zt_count(ZT_CNT_EV_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(zt_tp_btf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!zt_announce_execs)
		return 0;
	return zt_announce_process(bpf_get_current_pid_tgid() >> 32, 0);
}

/* The child runs in its parent's cgroup, the current task's. Threads are
 * not processes: they share the probes of their process. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(zt_tp_btf_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!zt_announce_forks || BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	return zt_announce_process(BPF_CORE_READ(child, tgid), 1);
}
