// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket data: one record per send or receive on a traced TCP socket, with
 * a bounded prefix of its bytes. The logic lives once in zt_handle_io; each
 * hook flavour is a two-line wrapper, and userspace keeps only the flavour
 * the running kernel supports best (user/hooks.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"
#include "sock.bpf.h"
#include "userbuf.bpf.h"

#define ZT_MSG_PEEK 2

static __always_inline int zt_handle_io(struct sock *sk, int ret, int flags, __u8 dir)
{
	struct zt_data_scratch *s;
	struct zt_ubuf ub = {};
	struct zt_sock *st;
	__u64 cgid, ts, pid_tgid, offset;
	__u32 zero = 0, cap = 0;

	if (ret <= 0 || (dir == ZT_DIR_IN && (flags & ZT_MSG_PEEK)))
		return 0;
	if (!zt_sock_is_tcp(sk) || !zt_current_cgroup_traced(&cgid))
		return 0;

	pid_tgid = bpf_get_current_pid_tgid();
	if ((pid_tgid >> 32) == zt_self_tgid)
		return 0;

	st = bpf_sk_storage_get(&zt_socks, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		zt_count(ZT_CNT_SK_STORAGE_FAIL);
		return 0;
	}
	ts = bpf_ktime_get_ns();
	/* The offset advances whether or not the record gets out. */
	offset = st->bytes[dir & 1];
	st->bytes[dir & 1] = offset + ret;
	if (!zt_sock_announce(sk, st, ts, cgid, ZT_ORIGIN_FIRST_IO)) {
		/* Without its connection the record means nothing: the ring is
		 * full anyway, count it with the data records it would join. */
		zt_count(ZT_CNT_RB_FULL_DATA);
		return 0;
	}

	s = bpf_map_lookup_elem(&zt_scratch, &zero);
	if (!s)
		return 0;
	s->ev.hdr.type = ZT_EV_DATA;
	s->ev.hdr.ts_ns = ts;
	s->ev.hdr.conn_id = st->conn_id;
	s->ev.cgroup_id = cgid;
	s->ev.offset = offset;
	s->ev.pid = pid_tgid >> 32;
	s->ev.tid = (__u32)pid_tgid;
	s->ev.len = ret;
	s->ev.dir = dir;
	s->ev.flags = 0;
	s->ev.tail_len = 0;
	bpf_get_current_comm(s->ev.comm, sizeof(s->ev.comm));

	if (zt_user_buf(&ub)) {
		int got = zt_user_gather(&ub, ret < zt_capture_bytes ? ret : zt_capture_bytes,
					 s->payload);

		if (got < 0) {
			zt_count(ZT_CNT_READ_USER_FAIL);
			s->ev.flags |= ZT_DF_READ_FAIL;
		} else {
			cap = got & (2 * ZT_CAPTURE_MAX - 1);
			if (cap < ret)
				s->ev.tail_len = zt_user_tail(&ub, ret, s->ev.tail);
		}
	} else {
		s->ev.flags |= ZT_DF_NO_PAYLOAD;
	}
	s->ev.cap = cap;
	if (bpf_ringbuf_output(&zt_events, s, sizeof(s->ev) + cap, zt_rb_flags())) {
		zt_count(ZT_CNT_RB_FULL_DATA);
		return 0;
	}
	zt_count(ZT_CNT_EV_DATA);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(zt_tp_btf_send, struct sock *sk, int ret, int flags)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_OUT);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(zt_tp_btf_recv, struct sock *sk, int ret, int flags)
{
	return zt_handle_io(sk, ret, flags, ZT_DIR_IN);
}
