/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One data record out: header, a bounded prefix of the user's bytes and the
 * last few bytes of a message too long to capture whole. Shared by the
 * socket hooks (the bytes are the syscall's) and the TLS probes (the bytes
 * are the plaintext the application handed to its TLS library).
 */
#ifndef ZT_EMIT_BPF_H
#define ZT_EMIT_BPF_H

#include "maps.bpf.h"
#include "userbuf.bpf.h"
#include "sched.bpf.h"

struct zt_emit {
	__u64 conn_id;
	__u64 cgroup_id;
	__u64 offset;   /* stream offset of the message's first byte */
	__u64 ts;
	__u64 pid_tgid;
	__u32 len;      /* bytes in the message */
	__u8 dir;       /* enum zt_dir */
	__u8 flags;     /* ZT_DF_* known before capture */
	__u8 pad[2];
	__u32 srtt_us;  /* with ZT_DF_TCPINFO in flags */
	__u32 retrans;
};

/* The record, with slot `slot` of this CPU's zt_scratch claimed. */
static __always_inline bool zt_emit_record(const struct zt_emit *m, struct zt_ubuf *ub, __u32 slot,
					   struct task_struct *task)
{
	struct zt_data_scratch *s;
	__u32 cap = 0;

	s = bpf_map_lookup_elem(&zt_scratch, &slot);
	if (!s)
		return false;
	s->ev.hdr.type = ZT_EV_DATA;
	s->ev.hdr.ts_ns = m->ts;
	s->ev.hdr.conn_id = m->conn_id;
	s->ev.cgroup_id = m->cgroup_id;
	s->ev.offset = m->offset;
	s->ev.pid = m->pid_tgid >> 32;
	s->ev.tid = (__u32)m->pid_tgid;
	s->ev.len = m->len;
	s->ev.dir = m->dir;
	s->ev.flags = m->flags;
	s->ev.tail_len = 0;
	s->ev.srtt_us = m->srtt_us;
	s->ev.retrans = m->retrans;
	s->ev.cpu_ns = s->ev.runq_ns = 0;
	if (zt_sched_stamp(task, (__u32)m->pid_tgid, m->ts, &s->ev.cpu_ns, &s->ev.runq_ns))
		s->ev.flags |= ZT_DF_SCHED;
	/* The name only when userspace cannot have it already (a helper
	 * call per record otherwise, for a name that rarely changes). */
	if (!(m->flags & ZT_DF_SAME_COMM))
		bpf_get_current_comm(s->ev.comm, sizeof(s->ev.comm));

	if (ub) {
		int got = zt_user_gather(ub, m->len < zt_capture_bytes ? m->len : zt_capture_bytes,
					 s->payload);

		if (got < 0) {
			zt_count(ZT_CNT_READ_USER_FAIL);
			s->ev.flags |= ZT_DF_READ_FAIL;
		} else {
			cap = got & (2 * ZT_CAPTURE_MAX - 1);
			if (cap < m->len)
				s->ev.tail_len = zt_user_tail(ub, m->len, s->ev.tail);
		}
	} else {
		s->ev.flags |= ZT_DF_NO_PAYLOAD;
	}
	s->ev.cap = cap;
	if (bpf_ringbuf_output(&zt_events, s, sizeof(s->ev) + cap, zt_rb_flags_data(s))) {
		zt_count(ZT_CNT_RB_FULL_DATA);
		return false;
	}
	/* Not counted in ZT_CNT_EV_DATA: userspace counts the records it
	 * reads, and an atomic add per message bought nothing. */
	return true;
}

/* `ub`: where the bytes are, or NULL when they are not in user memory;
 * `atomic`: the calling program can be preempted (zt_scratch_claim);
 * `task`: the current task from zt_current_task(), or NULL.
 * Returns whether the record went out; one that could not have a slot of
 * this CPU's scratch (see zt_cpu_busy) is lost and counted. */
static __always_inline bool zt_emit_data(const struct zt_emit *m, struct zt_ubuf *ub, bool atomic,
					 struct task_struct *task)
{
	__u32 slot, *busy = zt_scratch_claim(ZT_SCRATCH_REC, &slot, atomic);
	bool sent;

	if (!busy) {
		zt_count(ZT_CNT_CPU_BUSY);
		return false;
	}
	sent = zt_emit_record(m, ub, slot, task);
	zt_scratch_release(busy, atomic);
	return sent;
}

#endif
